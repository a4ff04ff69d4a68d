//! Feeds arbitrary bytes (lossy UTF-8) to the configuration front-end: the
//! preprocessor, lexer, keyword walker and validation must never panic,
//! hang or blow up memory, whatever the input.
#![no_main]

use keepalived_rs::config::{load_str, ReaderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts = ReaderOptions {
        config_id: Some("fuzz".to_string()),
        all_config: false,
        random_seed: Some(1),
        net_namespace: false,
    };
    let loaded = load_str("fuzz.conf", &text, opts);
    let _ = loaded.report.exit_code();
});
