//! Issue #13: nothing the parser accepts is silently ignored. Every keyword
//! is in src/config/keyword_status.txt as applied (and its file uses it),
//! inert (with why) or unsupported (logged at start), and the table lists
//! nothing the parser does not accept.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use keepalived_rs::config::keyword_status::{keyword_paths, parse_table, Row, Status, TABLE};
use keepalived_rs::config::{load_str, ReaderOptions};

fn rows() -> Vec<Row> {
    parse_table(TABLE).unwrap_or_else(|e| panic!("malformed table: {e}"))
}

#[test]
fn every_accepted_keyword_is_listed() {
    let listed: HashSet<&str> = rows().iter().map(|r| r.path).collect();
    let missing: Vec<String> = keyword_paths()
        .into_iter()
        .filter(|p| !listed.contains(p.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "accepted by the parser but not in src/config/keyword_status.txt: {missing:#?}"
    );
}

#[test]
fn every_listed_keyword_is_accepted_once() {
    let accepted: HashSet<String> = keyword_paths().into_iter().collect();
    let mut seen = BTreeSet::new();
    for r in rows() {
        assert!(
            accepted.contains(r.path),
            "{} is in the table but the parser does not accept it",
            r.path
        );
        assert!(seen.insert(r.path), "{} is listed twice", r.path);
    }
}

/// Whether `token` occurs in `text` as a whole identifier.
fn has_word(text: &str, token: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(token).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + token.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn applied_rows_name_a_file_that_uses_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for r in rows() {
        let Status::Applied { file, token } = r.status else {
            continue;
        };
        let text = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("{}: cannot read {file}: {e}", r.path));
        assert!(
            has_word(&text, token),
            "{}: {file} does not mention {token}",
            r.path
        );
    }
}

#[test]
fn readme_counts_match_the_table() {
    let (mut a, mut i, mut u) = (0, 0, 0);
    for r in rows() {
        match r.status {
            Status::Applied { .. } => a += 1,
            Status::Inert(_) => i += 1,
            Status::Unsupported(_) => u += 1,
        }
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let want = format!("{a} applied, {i} inert, {u} unsupported");
    assert!(readme.contains(&want), "README.md should say: {want}");
}

const CONF: &str = "global_defs {
    router_id r1
    enable_snmp_vrrp
}
vrrp_sync_group G {
    group {
        V
    }
    track_script {
        chk
    }
}
vrrp_instance V {
    interface lo
    virtual_router_id 7
    priority 100
    linkbeat_use_polling
    virtual_ipaddress {
        10.9.9.9/32
    }
}
garp_group {
    garp_interval 1
    interface lo
}
";

#[test]
fn uses_of_unsupported_keywords_are_reported_with_their_line() {
    let l = load_str("keepalived.conf", CONF, ReaderOptions::default());
    assert_eq!(
        l.report.unsupported_lines(),
        [
            "(keepalived.conf: Line 3) enable_snmp_vrrp is not supported by keepalived-rs yet - ignored",
            "(keepalived.conf: Line 17) linkbeat_use_polling is not supported by keepalived-rs yet - ignored",
            // the block's keywords are not repeated
            "(keepalived.conf: Line 22) garp_group is not supported by keepalived-rs yet - ignored",
        ]
    );
    // -t prints the diagnostics only: its output stays keepalived's.
    assert!(l
        .report
        .diags
        .iter()
        .all(|d| !d.message.contains("not supported by keepalived-rs")));
}

/// `preempt` was accepted and ignored; keepalived undoes an earlier
/// `nopreempt` with it (backwards compatibility).
#[test]
fn preempt_undoes_nopreempt() {
    let conf = |extra: &str| {
        format!(
            "vrrp_instance V {{\n interface lo\n virtual_router_id 7\n nopreempt\n{extra}\
             virtual_ipaddress {{\n  10.9.9.9/32\n }}\n}}\n"
        )
    };
    let nopreempt = |text: &str| {
        load_str("k.conf", text, ReaderOptions::default())
            .config
            .vrrp
            .instances[0]
            .nopreempt
    };
    assert!(nopreempt(&conf("")));
    assert!(!nopreempt(&conf(" preempt\n")));
}
