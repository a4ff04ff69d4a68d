//! Health checkers against real services in network namespaces: a
//! "director" namespace runs the checker driver, a "server" namespace
//! (10.77.0.2, joined by a veth pair to 10.77.0.1) runs nginx (HTTP and
//! HTTPS with a self-signed certificate from the openssl CLI), plain TCP
//! listeners, and tiny SMTP/UDP/DNS responders written here. Needs root;
//! skips outside CI when not root or when nginx/openssl are missing.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{can_run, sh, Netns};
use keepalived_rs::check::driver::{self, DriverOptions};
use keepalived_rs::check::pool::{Action, Pool, PoolOptions, Server};
use keepalived_rs::check::spec::{self, SpecOptions};
use keepalived_rs::config::{load_str, ReaderOptions};
use keepalived_rs::notify::exec::RunAs;

const SRV: &str = "10.77.0.2";

/// Whether a tool the test needs is installed; outside CI its absence skips.
fn have(tool: &str, test: &str) -> bool {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: {tool} is required in CI (apt-get install {tool})"
        );
        eprintln!("SKIP {test}: {tool} not installed");
    }
    ok
}

/// Director and server namespaces joined by a veth pair, plus a scratch dir.
struct Lab {
    dir: Netns,
    srv: Netns,
    tmp: PathBuf,
    children: Vec<Child>,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        let dir = Netns::new(&format!("{tag}d"));
        let srv = Netns::new(&format!("{tag}s"));
        dir.ip(&format!(
            "link add eth0 type veth peer name peer0 netns {}",
            srv.name
        ));
        srv.ip("link set peer0 name eth0");
        dir.ip("addr add 10.77.0.1/24 dev eth0");
        srv.ip(&format!("addr add {SRV}/24 dev eth0"));
        dir.ip("link set eth0 up");
        srv.ip("link set eth0 up");
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&dir.name);
        std::fs::create_dir_all(&tmp).unwrap();
        sh(&format!("chmod 755 {}", tmp.display()));
        Lab {
            dir,
            srv,
            tmp,
            children: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.tmp.join(name).display().to_string()
    }

    fn write(&self, name: &str, content: &str) -> String {
        let p = self.path(name);
        if let Some(d) = std::path::Path::new(&p).parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        p
    }

    /// A TCP listener in the server namespace (the kernel completes
    /// handshakes without accept; dropping it makes connects fail).
    fn listen(&self, port: u16) -> TcpListener {
        self.srv
            .run(move || TcpListener::bind((SRV, port)).expect("listen"))
    }

    fn udp(&self, port: u16) -> UdpSocket {
        self.srv
            .run(move || UdpSocket::bind((SRV, port)).expect("udp bind"))
    }

    /// Starts nginx (daemon off) in the server namespace: port 80 serves
    /// `www/`, the virtual host `vhost.example` serves `www2/`, and 443 is
    /// HTTPS with a self-signed certificate.
    fn nginx(&mut self) {
        self.write("www/index.html", "hello from nginx\n");
        self.write("www2/index.html", "the virtual host\n");
        let key = self.path("key.pem");
        let cert = self.path("cert.pem");
        sh(&format!(
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout {key} -out {cert} \
             -subj /CN=checker.test -days 2 2>/dev/null"
        ));
        let t = self.tmp.display().to_string();
        let conf = format!(
            "daemon off;\nuser root;\nworker_processes 1;\npid {t}/nginx.pid;\n\
             error_log {t}/error.log;\nevents {{ worker_connections 64; }}\n\
             http {{\n access_log off;\n client_body_temp_path {t}/cb;\n proxy_temp_path {t}/px;\n\
             fastcgi_temp_path {t}/fc;\n uwsgi_temp_path {t}/uw;\n scgi_temp_path {t}/sc;\n\
             server {{ listen {SRV}:80 default_server; root {t}/www; }}\n\
             server {{ listen {SRV}:80; server_name vhost.example; root {t}/www2; }}\n\
             server {{ listen {SRV}:443 ssl default_server; ssl_certificate {cert}; \
             ssl_certificate_key {key}; root {t}/www; }}\n\
             server {{ listen {SRV}:443 ssl; server_name vhost.example; ssl_certificate {cert}; \
             ssl_certificate_key {key}; root {t}/www2; }}\n}}\n"
        );
        let c = self.write("nginx.conf", &conf);
        let child = Command::new("ip")
            .args(["netns", "exec", &self.srv.name, "nginx", "-c", &c])
            .spawn()
            .expect("nginx");
        self.children.push(child);
        // Ready when both ports answer.
        let srv = self.srv.name.clone();
        let ok = wait_until(Duration::from_secs(10), || {
            let srv = srv.clone();
            common::run_in(&srv, || {
                [80u16, 443].iter().all(|p| {
                    std::net::TcpStream::connect_timeout(
                        &SocketAddr::new(SRV.parse().unwrap(), *p),
                        Duration::from_millis(200),
                    )
                    .is_ok()
                })
            })
        });
        assert!(ok, "nginx did not start: {}", self.log("error.log"));
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// The whole daemon in the director namespace (`-n -l -C` and `args`)
    /// on the configuration file `conf`, logging to `ka.log` and
    /// `ka.log.err`; its pid. The lab stops it if the test fails first.
    fn daemon(&mut self, conf: &str, args: &[&str]) -> u32 {
        let log = self.path("ka.log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.dir.name])
            .arg(env!("CARGO_BIN_EXE_keepalived"))
            .args(["-n", "-l", "-C"])
            .args(args)
            .args(["-f", conf, "-p"])
            .arg(self.path("ka.pid"))
            .arg("-c")
            .arg(self.path("ka-check.pid"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(format!("{log}.err")).unwrap())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Stops the daemon `pid` started by [`Self::daemon`] (SIGTERM); how it
    /// exited.
    fn stop_daemon(&mut self, pid: u32) -> std::process::ExitStatus {
        let i = self.children.iter().position(|c| c.id() == pid).unwrap();
        let mut c = self.children.remove(i);
        sh(&format!("kill -TERM {pid}"));
        c.wait().unwrap()
    }

    /// Both of the daemon's logs.
    fn daemon_log(&self) -> String {
        self.log("ka.log") + &self.log("ka.log.err")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            // nginx's master stops its workers on SIGTERM.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

fn wait_until(t: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < t {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The checker driver running in the director namespace; actions arrive
/// time-stamped.
struct Run {
    rx: mpsc::Receiver<(Instant, Action)>,
    seen: Vec<(Instant, Action)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn start(lab: &Lab, conf: &str) -> Run {
    let l = load_str("checkers.conf", conf, ReaderOptions::default());
    let cfg = l.config;
    assert!(cfg.has_checker(), "no virtual server in {conf}");
    let (tx, rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let ns = format!("/run/netns/{}", lab.dir.name);
    let thread = std::thread::spawn(move || {
        let f = std::fs::File::open(&ns).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a namespace fd affects only this thread.
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let (specs, warn) = spec::build(
                &cfg,
                SpecOptions {
                    script_user: RunAs::current(),
                },
            );
            assert!(warn.is_empty(), "{warn:?}");
            let pool = Pool::new(
                &cfg.lvs,
                DriverOptions {
                    pool: PoolOptions {
                        router_id: "lab".into(),
                        ..PoolOptions::default()
                    },
                }
                .pool,
            );
            let (atx, mut arx) = tokio::sync::mpsc::unbounded_channel();
            let (handle, fut) = driver::start(specs, pool, &Default::default(), atx);
            let fwd = tokio::spawn(async move {
                while let Some(a) = arx.recv().await {
                    if tx.send((Instant::now(), a)).is_err() {
                        break;
                    }
                }
            });
            let stopper = tokio::spawn(async move {
                let _ = stop_rx.await;
                handle.stop();
            });
            fut.await;
            stopper.abort();
            let _ = fwd.await;
        });
    });
    Run {
        rx,
        seen: Vec::new(),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

impl Run {
    /// Waits for an action matching `f`; panics with every action seen.
    fn wait(&mut self, what: &str, t: Duration, f: impl Fn(&Action) -> bool) -> Instant {
        if let Some((at, _)) = self.seen.iter().find(|(_, a)| f(a)) {
            return *at;
        }
        let deadline = Instant::now() + t;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((at, a)) => {
                    let hit = f(&a);
                    self.seen.push((at, a));
                    if hit {
                        return at;
                    }
                }
                Err(_) => panic!("no {what} within {t:?}; saw {:#?}", self.seen),
            }
        }
    }

    /// Waits for a log line containing `s` (not already consumed by an
    /// earlier wait for the same text when `fresh`).
    fn log(&mut self, s: &str, t: Duration) -> Instant {
        self.wait(s, t, |a| matches!(a, Action::Log(l) if l.contains(s)))
    }

    /// Waits for the next log containing `s` that arrives from now on.
    fn next_log(&mut self, s: &str, t: Duration) -> Instant {
        let n = self.seen.len();
        let deadline = Instant::now() + t;
        loop {
            if let Some((at, _)) = self.seen[n..]
                .iter()
                .find(|(_, a)| matches!(a, Action::Log(l) if l.contains(s)))
            {
                return *at;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(x) => self.seen.push(x),
                Err(_) => panic!("no new {s:?} within {t:?}; saw {:#?}", self.seen),
            }
        }
    }

    fn logs(&mut self) -> Vec<String> {
        while let Ok(x) = self.rx.try_recv() {
            self.seen.push(x);
        }
        self.seen
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Log(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    fn stop(mut self) -> Vec<Action> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("driver thread");
        }
        while let Ok(x) = self.rx.try_recv() {
            self.seen.push(x);
        }
        self.seen.drain(..).map(|(_, a)| a).collect()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

const S: Duration = Duration::from_secs(1);

fn vs(port: u16, body: &str) -> String {
    format!(
        "virtual_server 10.77.0.100 {port} {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n{body}\n}}\n"
    )
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[test]
fn tcp_check_retries_timing_and_recovery() {
    if !can_run("tcp_check_retries_timing_and_recovery") {
        return;
    }
    let lab = Lab::new("ct");
    let l = lab.listen(8080);
    let conf = vs(
        8080,
        "  real_server 10.77.0.2 8080 {
    weight 3
    TCP_CHECK {
      connect_timeout 1
      retry 2
      delay_before_retry 0.4
      delay_loop 1
      warmup 0
      log_all_failures on
    }
  }",
    );
    let mut r = start(&lab, &conf);
    r.wait("AddDest at start", S, |a| {
        *a == Action::AddDest {
            vs: 0,
            server: Server::Real(0),
            weight: 3,
        }
    });
    r.log("TCP connection to [10.77.0.2]:tcp:8080 success.", 3 * S);
    let dropped = Instant::now();
    drop(l);
    // A closed port answers RST: each failed probe is logged (log_all_failures),
    // the retries are delay_before_retry (0.4 s) apart, the third failure
    // takes the checker down.
    let f1 = r.log("TCP connection to [10.77.0.2]:tcp:8080 failed.", 3 * S);
    assert!(
        secs(f1 - dropped) <= 1.3,
        "first failure at the next delay_loop"
    );
    let f2 = r.next_log("TCP connection to [10.77.0.2]:tcp:8080 failed.", 2 * S);
    let f3 = r.next_log("TCP connection to [10.77.0.2]:tcp:8080 failed.", 2 * S);
    let down = r.log(
        "TCP_CHECK on service [10.77.0.2]:tcp:8080 failed after 2 retries.",
        2 * S,
    );
    for (a, b) in [(f1, f2), (f2, f3)] {
        let d = secs(b - a);
        assert!((0.35..0.7).contains(&d), "retry spacing {d}");
    }
    assert!(secs(down - f3) < 0.1);
    r.log(
        "Removing service [10.77.0.2]:tcp:8080 from VS [10.77.0.100]:tcp:8080",
        S,
    );
    r.wait("DelDest", S, |a| {
        *a == Action::DelDest {
            vs: 0,
            server: Server::Real(0),
        }
    });
    r.log("Lost quorum 1-0=1 > 0 for VS [10.77.0.100]:tcp:8080", S);
    // Back: one success within delay_loop (+ connect) brings it up again.
    let _l = lab.listen(8080);
    let back = Instant::now();
    let up = r.next_log("TCP connection to [10.77.0.2]:tcp:8080 success.", 3 * S);
    assert!(secs(up - back) <= 1.6, "recovery within delay_loop");
    r.log(
        "Adding service [10.77.0.2]:tcp:8080 to VS [10.77.0.100]:tcp:8080",
        S,
    );
    r.log("Gained quorum 1+0=1 <= 3 for VS [10.77.0.100]:tcp:8080", S);
    let acts = r.stop();
    assert!(acts.contains(&Action::Log(
        "Shutting down service [10.77.0.2]:tcp:8080 from VS [10.77.0.100]:tcp:8080".into()
    )));
}

#[test]
fn tcp_connect_timeout_is_honoured() {
    if !can_run("tcp_connect_timeout_is_honoured") {
        return;
    }
    let lab = Lab::new("cto");
    // 10.77.0.3 does not exist: SYNs go nowhere until connect_timeout.
    let conf = vs(
        80,
        "  real_server 10.77.0.3 80 {
    TCP_CHECK {
      connect_timeout 0.6
      retry 1
      delay_before_retry 0.2
      delay_loop 5
      warmup 0
      log_all_failures on
    }
  }",
    );
    let mut r = start(&lab, &conf);
    let t0 = Instant::now();
    let f1 = r.log("TCP connection to [10.77.0.3]:tcp:80 timedout.", 3 * S);
    // The first probe decides (keepalived 2.2.7): down with no retry.
    let down = r.log("TCP_CHECK on service [10.77.0.3]:tcp:80 failed.", S);
    let d1 = secs(f1 - t0);
    assert!((0.5..1.0).contains(&d1), "first timeout after {d1}");
    assert!(secs(down - f1) < 0.1);
    r.stop();
}

#[test]
fn alpha_starts_down_and_comes_up() {
    if !can_run("alpha_starts_down_and_comes_up") {
        return;
    }
    let lab = Lab::new("ca");
    let _l = lab.listen(8081);
    let conf = vs(
        8081,
        "  alpha
  sorry_server 10.77.0.9 8081
  real_server 10.77.0.2 8081 {
    TCP_CHECK {
      connect_timeout 1
      delay_loop 1
      warmup 0
    }
  }",
    );
    let mut r = start(&lab, &conf);
    r.log(
        "Starting with quorum down 1-0=1 > 0 for VS [10.77.0.100]:tcp:8081",
        S,
    );
    r.log(
        "Adding sorry server [10.77.0.9]:tcp:8081 to VS [10.77.0.100]:tcp:8081",
        S,
    );
    r.log("TCP connection to [10.77.0.2]:tcp:8081 success.", 3 * S);
    r.log(
        "Adding service [10.77.0.2]:tcp:8081 to VS [10.77.0.100]:tcp:8081",
        S,
    );
    r.log(
        "Removing sorry server [10.77.0.9]:tcp:8081 from VS [10.77.0.100]:tcp:8081",
        S,
    );
    r.stop();
}

fn md5_hex(s: &str) -> String {
    sh(&format!("printf '%s' '{s}' | md5sum | cut -d' ' -f1"))
        .trim()
        .to_string()
}

#[test]
fn http_get_status_digest_and_virtualhost() {
    if !can_run("http_get_status_digest_and_virtualhost")
        || !have("nginx", "http_get_status_digest_and_virtualhost")
        || !have("openssl", "http_get_status_digest_and_virtualhost")
    {
        return;
    }
    let mut lab = Lab::new("ch");
    lab.nginx();
    let good = md5_hex("hello from nginx\n");
    let vhost = md5_hex("the virtual host\n");
    let chk = |body: &str| {
        format!(
            "    HTTP_GET {{\n      connect_timeout 1\n      retry 0\n      delay_loop 1\n      warmup 0\n{body}\n    }}"
        )
    };
    let conf = [
        vs(
            80,
            &format!(
                "  real_server 10.77.0.2 80 {{\n{}\n  }}",
                chk(&format!(
                    "      url {{ path /index.html\n digest {good} }}\n      url {{ path /missing\n status_code 404 }}"
                ))
            ),
        ),
        vs(
            81,
            &format!(
                "  real_server 10.77.0.2 80 {{\n{}\n  }}",
                chk(&format!(
                    "      virtualhost vhost.example\n      url {{ path /index.html\n digest {vhost} }}"
                ))
            ),
        ),
        vs(
            82,
            &format!(
                "  real_server 10.77.0.2 80 {{\n{}\n  }}",
                chk("      url { path /missing }")
            ),
        ),
        vs(
            83,
            &format!(
                "  real_server 10.77.0.2 80 {{\n{}\n  }}",
                chk(&format!("      url {{ path /index.html\n digest {vhost} }}"))
            ),
        ),
        vs(
            84,
            &format!(
                "  real_server 10.77.0.2 80 {{\n{}\n  }}",
                chk("      http_protocol 1.1\n      url { path /index.html\n status_code 200-204 300 }")
            ),
        ),
    ]
    .concat();
    let mut r = start(&lab, &conf);
    // Two urls, both as required: up (reported once both passed).
    r.log(
        "Remote Web server [10.77.0.2]:tcp:80 succeed on service.",
        4 * S,
    );
    // Port 82: 404 is not in the default 200-299; port 83: wrong digest.
    r.log(
        "Removing service [10.77.0.2]:tcp:80 from VS [10.77.0.100]:tcp:82",
        4 * S,
    );
    r.log(
        "Removing service [10.77.0.2]:tcp:80 from VS [10.77.0.100]:tcp:83",
        4 * S,
    );
    std::thread::sleep(2 * S);
    let logs = r.logs();
    for port in [80, 81, 84] {
        let gone = format!("from VS [10.77.0.100]:tcp:{port}");
        assert!(
            !logs.iter().any(|l| l.contains(&gone)),
            "VS {port} must stay up: {logs:#?}"
        );
    }
    assert_eq!(
        logs.iter()
            .filter(|l| *l == "HTTP_CHECK on service [10.77.0.2]:tcp:80 failed.")
            .count(),
        2,
        "{logs:#?}"
    );
    r.stop();
}

#[test]
fn ssl_get_with_self_signed_certificate_and_sni() {
    if !can_run("ssl_get_with_self_signed_certificate_and_sni")
        || !have("nginx", "ssl_get_with_self_signed_certificate_and_sni")
        || !have("openssl", "ssl_get_with_self_signed_certificate_and_sni")
    {
        return;
    }
    let mut lab = Lab::new("cs");
    lab.nginx();
    let good = md5_hex("hello from nginx\n");
    let vhost = md5_hex("the virtual host\n");
    let conf = [
        vs(
            443,
            &format!(
                "  real_server 10.77.0.2 443 {{\n    SSL_GET {{\n      connect_timeout 2\n      retry 0\n      delay_loop 1\n      warmup 0\n      url {{ path /index.html\n digest {good} }}\n    }}\n  }}"
            ),
        ),
        // SNI selects nginx's vhost.example server block.
        vs(
            444,
            &format!(
                "  real_server 10.77.0.2 443 {{\n    SSL_GET {{\n      connect_timeout 2\n      retry 0\n      delay_loop 1\n      warmup 0\n      enable_sni\n      virtualhost vhost.example\n      url {{ path /index.html\n digest {vhost} }}\n    }}\n  }}"
            ),
        ),
        // Plain HTTP to the TLS port fails.
        vs(
            445,
            &format!(
                "  real_server 10.77.0.2 443 {{\n    HTTP_GET {{\n      connect_timeout 1\n      retry 0\n      delay_loop 1\n      warmup 0\n      url {{ path /index.html\n digest {good} }}\n    }}\n  }}"
            ),
        ),
    ]
    .concat();
    let mut r = start(&lab, &conf);
    r.log(
        "Removing service [10.77.0.2]:tcp:443 from VS [10.77.0.100]:tcp:445",
        5 * S,
    );
    std::thread::sleep(2 * S);
    let logs = r.logs();
    assert_eq!(
        logs.iter()
            .filter(|l| *l == "Remote Web server [10.77.0.2]:tcp:443 succeed on service.")
            .count(),
        2,
        "both SSL_GET checkers report their first state as up: {logs:#?}"
    );
    for port in [443, 444] {
        let gone = format!("from VS [10.77.0.100]:tcp:{port}");
        assert!(!logs.iter().any(|l| l.contains(&gone)), "{logs:#?}");
    }
    r.stop();
}

#[test]
fn http_get_regex_and_regex_no_match_follow_the_page() {
    let t = "http_get_regex_and_regex_no_match_follow_the_page";
    if !can_run(t) || !have("nginx", t) || !have("openssl", t) {
        return;
    }
    let mut lab = Lab::new("cr");
    lab.nginx();
    lab.write("www/status.txt", "service: UP\n");
    let chk = |url: &str| {
        format!(
            "  real_server 10.77.0.2 80 {{\n    HTTP_GET {{\n      connect_timeout 1\n      retry 0\n      delay_loop 1\n      warmup 0\n      url {{ path /status.txt\n{url}\n      }}\n    }}\n  }}"
        )
    };
    let conf = [
        // Passes while the page says UP (or DEGRADED), case-insensitively;
        // `\\n` in quotes is a newline, as in keepalived.
        vs(
            80,
            &chk("        regex \"service: (up|degraded)\\n\"\n        regex_options caseless"),
        ),
        // Passes while the page says DOWN.
        vs(81, &chk("        regex \"service: DOWN\"")),
        // Passes while DOWN is nowhere in the response.
        vs(82, &chk("        regex DOWN\n        regex_no_match")),
        // keepalived matches the status line and headers too; min/max
        // offsets count from the start of the status line.
        vs(
            83,
            &chk("        regex \"^HTTP/1\\\\.[01] 200\"\n        regex_max_offset 0"),
        ),
        vs(84, &chk("        regex HTTP\n        regex_min_offset 1")),
    ]
    .concat();
    let mut r = start(&lab, &conf);
    let gone =
        |port: u16| format!("Removing service [10.77.0.2]:tcp:80 from VS [10.77.0.100]:tcp:{port}");
    let back =
        |port: u16| format!("Adding service [10.77.0.2]:tcp:80 to VS [10.77.0.100]:tcp:{port}");
    r.log(&gone(81), 4 * S);
    r.log(&gone(84), 4 * S);
    std::thread::sleep(2 * S);
    let logs = r.logs();
    for port in [80, 82, 83] {
        assert!(
            !logs.iter().any(|l| *l == gone(port)),
            "VS {port} must stay up: {logs:#?}"
        );
    }
    // The page changes: the regex checks follow it.
    lab.write("www/status.txt", "service: DOWN\n");
    r.next_log(&gone(80), 4 * S);
    r.log(&gone(82), 4 * S);
    r.log(&back(81), 4 * S);
    r.log(
        "Regex match success to [10.77.0.2]:tcp:80 url(/status.txt)",
        S,
    );
    lab.write("www/status.txt", "service: degraded\n");
    r.log(&back(80), 4 * S);
    r.log(&back(82), 4 * S);
    let deadline = Instant::now() + 4 * S;
    while r.logs().iter().filter(|l| **l == gone(81)).count() < 2 {
        assert!(
            Instant::now() < deadline,
            "VS 81 not removed again: {:#?}",
            r.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = r.logs();
    for port in [83, 84] {
        assert_eq!(
            logs.iter().filter(|l| **l == gone(port)).count(),
            usize::from(port == 84),
            "VS {port}: {logs:#?}"
        );
        assert!(
            !logs.iter().any(|l| *l == back(port)),
            "VS {port}: {logs:#?}"
        );
    }
    r.stop();
}

#[test]
fn genhash_matches_keepalived_genhash() {
    let t = "genhash_matches_keepalived_genhash";
    if !can_run(t) || !have("nginx", t) || !have("openssl", t) {
        return;
    }
    let mut lab = Lab::new("cg");
    lab.nginx();
    let ours = env!("CARGO_BIN_EXE_genhash");
    let run =
        |bin: &str, args: &str| sh(&format!("ip netns exec {} {bin} {args} 2>&1", lab.dir.name));
    let want = format!("{}\n", md5_hex("hello from nginx\n"));
    let cases = [
        "-s 10.77.0.2 -p 80 -u /index.html",
        "-s 10.77.0.2 -p 80 -u /index.html -V vhost.example -P 1.1",
        "-S -s 10.77.0.2 -p 443 -u /index.html",
        "-S -I -V vhost.example -s 10.77.0.2 -p 443 -u /index.html",
        "-s 10.77.0.2 -p 80 -u /missing",
    ];
    assert_eq!(run(ours, cases[0]), want);
    let oracle = std::path::Path::new("/usr/bin/genhash").exists();
    for c in cases {
        let mine = run(ours, c);
        if oracle {
            assert_eq!(mine, run("/usr/bin/genhash", c), "genhash {c}");
        }
    }
    // Verbose output: same layout up to the (timing) last line.
    if oracle {
        let strip = |s: String| -> String {
            s.lines()
                .filter(|l| !l.starts_with("Global response time") && !l.starts_with("Date:"))
                .filter(|l| !l.contains("44 61 74 65") && !l.contains("Date"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let c = "-s 10.77.0.2 -p 80 -u /index.html -v";
        let mine = strip(run(ours, c));
        let theirs = strip(run("/usr/bin/genhash", c));
        // Header hex lines shift with the Date header; compare the body part.
        let tail = |s: &str| s[s.find("HTML Buffer").unwrap_or(0)..].to_string();
        assert_eq!(tail(&mine), tail(&theirs));
    }
    // No server: keepalived prints "Connection failed" and exits 0.
    assert_eq!(run(ours, "-s 10.77.0.2 -p 9 -u /"), "Connection failed\n");
}

/// A tiny SMTP responder in the server namespace; returns the HELO lines.
fn smtp_server(lab: &Lab, port: u16, banner: &'static str) -> mpsc::Receiver<String> {
    let l = lab.listen(port);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let _ = s.set_read_timeout(Some(S));
            let _ = s.write_all(banner.as_bytes());
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let _ = tx.send(line.trim_end().to_string());
            let _ = s.write_all(b"250-hello\r\n250 ok\r\n");
            line.clear();
            let _ = r.read_line(&mut line);
            let _ = s.write_all(b"221 bye\r\n");
        }
    });
    rx
}

#[test]
fn smtp_check_banner_helo_quit() {
    if !can_run("smtp_check_banner_helo_quit") {
        return;
    }
    let lab = Lab::new("cm");
    let helos = smtp_server(&lab, 2525, "220 test ESMTP\r\n");
    let _bad = smtp_server(&lab, 2526, "554 go away\r\n");
    let conf = [
        vs(
            25,
            "  real_server 10.77.0.2 2525 {\n    SMTP_CHECK {\n      connect_timeout 1\n      delay_loop 1\n      warmup 0\n      helo_name checker.example\n    }\n  }",
        ),
        vs(
            26,
            "  real_server 10.77.0.2 2526 {\n    SMTP_CHECK {\n      connect_timeout 1\n      retry 0\n      delay_loop 1\n      warmup 0\n    }\n  }",
        ),
    ]
    .concat();
    let mut r = start(&lab, &conf);
    r.log(
        "Remote SMTP server [10.77.0.2]:tcp:2525 succeed on service.",
        3 * S,
    );
    r.log("SMTP_CHECK on service [10.77.0.2]:tcp:2526 failed.", 3 * S);
    assert_eq!(helos.recv_timeout(S).unwrap(), "HELO checker.example");
    r.stop();
}

#[test]
fn misc_check_dynamic_weight_and_failure() {
    if !can_run("misc_check_dynamic_weight_and_failure") {
        return;
    }
    let lab = Lab::new("cx");
    let code = lab.write("code", "12\n");
    let script = lab.write("chk.sh", &format!("#!/bin/sh\nexit $(cat {code})\n"));
    sh(&format!("chmod 755 {script}"));
    let slow = lab.write("slow.sh", "#!/bin/sh\nsleep 5\n");
    sh(&format!("chmod 755 {slow}"));
    let conf = [
        vs(
            90,
            &format!(
                "  real_server 10.77.0.2 90 {{\n    weight 1\n    MISC_CHECK {{\n      misc_path \"{script} arg\"\n      misc_dynamic\n      delay_loop 0.5\n      warmup 0\n    }}\n  }}"
            ),
        ),
        vs(
            91,
            &format!(
                "  real_server 10.77.0.2 91 {{\n    MISC_CHECK {{\n      misc_path {slow}\n      misc_timeout 0.5\n      delay_loop 1\n      warmup 0\n    }}\n  }}"
            ),
        ),
    ]
    .concat();
    let mut r = start(&lab, &conf);
    r.log(
        &format!("Misc check to [10.77.0.2] for [{script}] succeeded."),
        2 * S,
    );
    r.log(
        "Changing weight from 1 to 10 for active service [10.77.0.2]:tcp:90 of VS [10.77.0.100]:tcp:90",
        2 * S,
    );
    r.wait("weight 10 in IPVS", S, |a| {
        *a == Action::EditDest {
            vs: 0,
            server: Server::Real(0),
            weight: 10,
        }
    });
    std::fs::write(&code, "1\n").unwrap();
    r.log(
        &format!("Misc check to [10.77.0.2] for [{script}] failed (exited with status 1)."),
        2 * S,
    );
    r.log(
        "Removing service [10.77.0.2]:tcp:90 from VS [10.77.0.100]:tcp:90",
        S,
    );
    // misc_timeout: the sleeping script is killed after 0.5 s.
    let t = r.log(
        &format!("Misc check to [10.77.0.2] for [{slow}] timed out."),
        3 * S,
    );
    let _ = t;
    r.stop();
}

/// Answers every datagram on `port` with `reply(request)`.
fn udp_server(lab: &Lab, port: u16, reply: fn(&[u8]) -> Vec<u8>) {
    let s = lab.udp(port);
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        while let Ok((n, from)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&reply(&buf[..n]), from);
        }
    });
}

fn dns_reply(q: &[u8]) -> Vec<u8> {
    // Same id and question, QR+RD+RA, one answer pointing at the name.
    let mut r = q.to_vec();
    r[2] = 0x81;
    r[3] = 0x80;
    r[7] = 1;
    r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 77, 0, 2]);
    r
}

#[test]
fn udp_and_dns_checks() {
    if !can_run("udp_and_dns_checks") {
        return;
    }
    let lab = Lab::new("cu");
    udp_server(&lab, 5353, dns_reply);
    udp_server(&lab, 7000, |q| [b"pong:".as_slice(), q].concat());
    let conf = [
        vs(
            53,
            "  real_server 10.77.0.2 5353 {\n    DNS_CHECK {\n      type A\n      name www.example.org\n      connect_timeout 1\n      delay_loop 1\n      warmup 0\n    }\n  }",
        ),
        vs(
            70,
            "  real_server 10.77.0.2 7000 {\n    UDP_CHECK {\n      payload 70696e67\n      require_reply 706f6e67\n      connect_timeout 1\n      delay_loop 1\n      warmup 0\n    }\n  }",
        ),
        // Nothing listens on 7001: ICMP port unreachable.
        vs(
            71,
            "  real_server 10.77.0.2 7001 {\n    UDP_CHECK {\n      connect_timeout 1\n      retry 0\n      delay_loop 1\n      warmup 0\n    }\n  }",
        ),
        // The reply does not match.
        vs(
            72,
            "  real_server 10.77.0.2 7000 {\n    UDP_CHECK {\n      require_reply 6e6f\n      connect_timeout 1\n      retry 0\n      delay_loop 1\n      warmup 0\n    }\n  }",
        ),
    ]
    .concat();
    let mut r = start(&lab, &conf);
    r.log("DNS_CHECK to [10.77.0.2]:tcp:5353 succeeded.", 3 * S);
    r.log("UDP connection to [10.77.0.2]:tcp:7000 success.", 3 * S);
    r.log("UDP_CHECK on service [10.77.0.2]:tcp:7001 failed.", 3 * S);
    r.log("from VS [10.77.0.100]:tcp:72", 3 * S);
    std::thread::sleep(S);
    let logs = r.logs();
    for port in [53, 70] {
        let gone = format!("from VS [10.77.0.100]:tcp:{port}");
        assert!(!logs.iter().any(|l| l.contains(&gone)), "{logs:#?}");
    }
    r.stop();
}

#[test]
fn ping_check() {
    if !can_run("ping_check") {
        return;
    }
    let lab = Lab::new("cp");
    let conf = [
        vs(
            1,
            "  real_server 10.77.0.2 1 {\n    PING_CHECK {\n      connect_timeout 1\n      delay_loop 1\n      warmup 0\n    }\n  }",
        ),
        vs(
            2,
            "  real_server 10.77.0.3 1 {\n    PING_CHECK {\n      connect_timeout 0.5\n      retry 0\n      delay_loop 1\n      warmup 0\n    }\n  }",
        ),
    ]
    .concat();
    let mut r = start(&lab, &conf);
    // 6 s: time for a retry when a loaded machine delays the first reply.
    r.log("ICMP connection to [10.77.0.2]:tcp:1 success.", 6 * S);
    r.log("ICMP CHECK on service [10.77.0.3]:tcp:1 failed.", 3 * S);
    r.stop();
}

#[test]
fn many_checkers_on_one_thread() {
    if !can_run("many_checkers_on_one_thread") {
        return;
    }
    let lab = Lab::new("cn");
    let l = lab.listen(9000);
    // Accept (and close) so the accept queue never fills.
    l.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let acceptor = std::thread::spawn(move || {
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            match l.accept() {
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    // 1000 TCP checkers against one listener, on a current-thread runtime.
    let mut conf = String::new();
    for i in 0..10u16 {
        let mut rs = String::new();
        // Distinct real servers: the port differs per real server.
        for j in 0..100u16 {
            rs.push_str(&format!(
                "  real_server 10.77.0.2 {} {{\n    TCP_CHECK {{\n      connect_port 9000\n      connect_timeout 2\n      delay_loop 2\n      warmup 1\n    }}\n  }}\n",
                10000 + i * 100 + j
            ));
        }
        conf.push_str(&vs(100 + i, &rs));
    }
    let mut r = start(&lab, &conf);
    let t0 = Instant::now();
    let mut n = 0;
    while n < 1000 {
        r.next_log("success.", 5 * S);
        n = r.logs().iter().filter(|l| l.ends_with("success.")).count();
    }
    assert!(
        secs(t0.elapsed()) < 4.0,
        "1000 checkers up in {:?}",
        t0.elapsed()
    );
    r.stop();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    acceptor.join().unwrap();
}

#[test]
fn file_check_state_and_weight() {
    if !can_run("file_check_state_and_weight") {
        return;
    }
    let lab = Lab::new("cf");
    let f0 = lab.write("state0", "0\n");
    let f1 = lab.write("state1", "0\n");
    let conf = format!(
        "track_file zero {{\n  file {f0}\n  weight 0\n}}\ntrack_file mult {{\n  file {f1}\n  weight 2\n}}\n{}{}",
        vs(
            10,
            "  real_server 10.77.0.2 10 {\n    FILE_CHECK {\n      track_file zero\n    }\n  }"
        ),
        vs(
            11,
            "  real_server 10.77.0.2 11 {\n    weight 1\n    FILE_CHECK {\n      track_file mult\n    }\n  }"
        ),
    );
    let mut r = start(&lab, &conf);
    r.log("Gained quorum 1+0=1 <= 1 for VS [10.77.0.100]:tcp:10", S);
    // weight 0: a non-zero value takes the server down.
    std::fs::write(&f0, "5\n").unwrap();
    r.log(
        "Removing service [10.77.0.2]:tcp:10 from VS [10.77.0.100]:tcp:10",
        2 * S,
    );
    std::fs::write(&f0, "0\n").unwrap();
    r.log(
        "Adding service [10.77.0.2]:tcp:10 to VS [10.77.0.100]:tcp:10",
        2 * S,
    );
    // weight 2: the value times 2 is added to the configured weight.
    std::fs::write(&f1, "3\n").unwrap();
    r.log(
        "Changing weight from 1 to 7 for active service [10.77.0.2]:tcp:11 of VS [10.77.0.100]:tcp:11",
        2 * S,
    );
    r.stop();
}

/// Reads what is in a FIFO we hold open read-write (non-blocking).
fn drain(f: &mut std::fs::File, into: &mut Vec<u8>) {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        into.extend_from_slice(&buf[..n]);
    }
}

/// The whole daemon (parent and checker child, `-C`) in the director
/// namespace writes keepalived's `lvs_notify_fifo` lines: VS and RS
/// states, fwmark and group forms (a group VS has no port of its own:
/// `[G]:0`, keepalived's FMT_VS), with no NUL after the newline (what
/// keepalived 2.2.7 writes in tests/ipvs_vm.rs), and goes on after a
/// reload. The host has no IPVS: the checkers run without it.
#[test]
fn lvs_notify_fifo_lines_from_the_daemon() {
    if !can_run("lvs_notify_fifo_lines_from_the_daemon") {
        return;
    }
    use std::os::unix::fs::OpenOptionsExt;
    let mut lab = Lab::new("cf");
    let l = lab.listen(8080);
    let fifo = lab.path("lvs.fifo");
    sh(&format!("mkfifo {fifo}"));
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let check = |port: u16| {
        format!(
            "TCP_CHECK {{\n      connect_port {port}\n      connect_timeout 1\n      retry 1\n      delay_before_retry 0.3\n      delay_loop 0.5\n    }}"
        )
    };
    let conf = |extra_rs: &str| {
        format!(
            "global_defs {{\n  lvs_notify_fifo {fifo}\n}}\n\
             virtual_server 10.77.0.100 8080 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
             real_server 10.77.0.2 8080 {{\n    {}\n  }}\n{extra_rs}}}\n\
             virtual_server fwmark 1 {{\n  lb_algo rr\n  lb_kind DR\n\
             real_server 10.77.0.2 {{\n    {}\n  }}\n}}\n\
             virtual_server_group G {{\n  10.77.0.101 8080\n}}\n\
             virtual_server group G {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n\
             real_server 10.77.0.2 8083 {{\n    {}\n  }}\n}}\n",
            check(8080),
            check(8082),
            check(8083)
        )
    };
    let c = lab.write(
        "ka.conf",
        &conf(&format!(
            "real_server 10.77.0.2 8081 {{\n    {}\n  }}\n",
            check(8081)
        )),
    );
    let daemon = lab.daemon(&c, &[]);
    let mut got = Vec::new();
    let until = |want: &[u8], got: &mut Vec<u8>, reader: &mut std::fs::File| {
        let ok = wait_until(6 * S, || {
            drain(reader, got);
            got.windows(want.len()).any(|w| w == want)
        });
        assert!(
            ok,
            "no {:?} in the FIFO: {:?}\nlog:\n{}",
            String::from_utf8_lossy(want),
            String::from_utf8_lossy(got),
            lab.daemon_log()
        );
    };
    // At start every VS has quorum; the servers nobody listens for go down.
    for line in [
        "VS [10.77.0.100]:tcp:8080 UP\n",
        "VS FWM 1 UP\n",
        "VS [G]:0 UP\n",
        "RS [10.77.0.2]:tcp:8081 [10.77.0.100]:tcp:8080 DOWN\n",
        "RS [10.77.0.2]:none:0 FWM 1 DOWN\n",
        "RS [10.77.0.2]:tcp:8083 [G]:0 DOWN\n",
        "VS FWM 1 DOWN\n",
        "VS [G]:0 DOWN\n",
    ] {
        until(line.as_bytes(), &mut got, &mut reader);
    }
    drop(l);
    until(
        b"RS [10.77.0.2]:tcp:8080 [10.77.0.100]:tcp:8080 DOWN\nVS [10.77.0.100]:tcp:8080 DOWN\n",
        &mut got,
        &mut reader,
    );
    let _l = lab.listen(8080);
    until(
        b"RS [10.77.0.2]:tcp:8080 [10.77.0.100]:tcp:8080 UP\nVS [10.77.0.100]:tcp:8080 UP\n",
        &mut got,
        &mut reader,
    );
    assert!(!got.contains(&0), "a NUL byte: {got:?}");
    // Reload: 8081 (down) goes silently, 8084 comes and goes down; the
    // servers that stay are not notified again.
    std::fs::write(
        &c,
        conf(&format!(
            "real_server 10.77.0.2 8084 {{\n    {}\n  }}\n",
            check(8084)
        )),
    )
    .unwrap();
    let mark = got.len();
    sh(&format!("kill -HUP {}", daemon));
    until(
        b"RS [10.77.0.2]:tcp:8084 [10.77.0.100]:tcp:8080 DOWN\n",
        &mut got,
        &mut reader,
    );
    std::thread::sleep(Duration::from_millis(1500));
    drain(&mut reader, &mut got);
    assert_eq!(
        String::from_utf8_lossy(&got[mark..]),
        "RS [10.77.0.2]:tcp:8084 [10.77.0.100]:tcp:8080 DOWN\n",
        "log:\n{}",
        lab.log("ka.log")
    );
    let logs = lab.daemon_log();
    assert!(logs.contains("Reload complete"), "{logs}");
    let st = lab.stop_daemon(daemon);
    assert!(st.success(), "{st}");
}

/// `ha_suspend` in the whole daemon (`-C -D`): the checkers of a virtual
/// server whose address is not on this host do not probe and keep their
/// real servers' states; they start when the address is added and pause
/// again when it is removed, with keepalived 2.2.7's log lines (measured
/// in the IPVS VM: `Deactivating/Activating healthchecker for service RS
/// for VS VS` at start and after each reload, `Netlink reflector reports
/// IP … added/removed` with -D, then `Activating/Suspending …`). The other
/// virtual server is not concerned.
#[test]
fn ha_suspend_follows_the_virtual_address() {
    if !can_run("ha_suspend_follows_the_virtual_address") {
        return;
    }
    let mut lab = Lab::new("ch");
    let l = lab.listen(8085);
    let _l2 = lab.listen(8086);
    let conf = "virtual_server 10.77.0.100 8085 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  \
                ha_suspend\n  alpha\n  delay_loop 0.5\n  real_server 10.77.0.2 8085 {\n    \
                TCP_CHECK {\n      connect_timeout 1\n      retry 0\n    }\n  }\n}\n\
                virtual_server 10.77.0.101 8086 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  \
                alpha\n  delay_loop 0.5\n  real_server 10.77.0.2 8086 {\n    \
                TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n";
    let c = lab.write("ka.conf", conf);
    let daemon = lab.daemon(&c, &["-D"]);
    let logs = || lab.daemon_log();
    let count = |s: &str| logs().matches(s).count();
    let until = |s: &str, n: usize| {
        let ok = wait_until(5 * S, || count(s) >= n);
        assert!(ok, "no {s:?} (x{n}) in:\n{}", logs());
    };
    let rs = "[10.77.0.2]:tcp:8085 for VS [10.77.0.100]:tcp:8085";
    let up = "TCP connection to [10.77.0.2]:tcp:8085 success.";
    until("Registering Kernel netlink reflector", 1);
    until(&format!("Deactivating healthchecker for service {rs}"), 1);
    until(
        "Activating healthchecker for service [10.77.0.2]:tcp:8086 for VS [10.77.0.101]:tcp:8086",
        1,
    );
    // The other virtual server checks; this one does not.
    until("TCP connection to [10.77.0.2]:tcp:8086 success.", 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(count(up), 0, "{}", logs());

    lab.dir.ip("addr add 10.77.0.100/32 dev eth0");
    until("Netlink reflector reports IP 10.77.0.100 added", 1);
    until(&format!("Activating healthchecker for service {rs}"), 1);
    until(up, 1);
    until(
        "Adding service [10.77.0.2]:tcp:8085 to VS [10.77.0.100]:tcp:8085",
        1,
    );

    // Suspended, a real server that stops answering keeps its state.
    lab.dir.ip("addr del 10.77.0.100/32 dev eth0");
    until("Netlink reflector reports IP 10.77.0.100 removed", 1);
    until(&format!("Suspending healthchecker for service {rs}"), 1);
    drop(l);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        count("TCP_CHECK on service [10.77.0.2]:tcp:8085"),
        0,
        "{}",
        logs()
    );

    // A reload logs every checker's state again.
    sh(&format!("kill -HUP {}", daemon));
    until("Reinitializing ipvs", 1);
    until(&format!("Deactivating healthchecker for service {rs}"), 2);

    // Back, the failure is seen (retry 0: at the first failed probe).
    lab.dir.ip("addr add 10.77.0.100/32 dev eth0");
    until(&format!("Activating healthchecker for service {rs}"), 2);
    until("TCP_CHECK on service [10.77.0.2]:tcp:8085 failed.", 1);
    let st = lab.stop_daemon(daemon);
    assert!(st.success(), "{st}");
}
