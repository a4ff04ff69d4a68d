//! `genhash`: the MD5 of a web page's body for HTTP_GET/SSL_GET `digest`
//! (keepalived 2.2.7's tool, same options and output).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(keepalived_rs::check::genhash::main_with_args(
        "genhash", &args,
    ));
}
