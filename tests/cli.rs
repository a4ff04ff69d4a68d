//! The command line behaves as keepalived 2.2.7's: exit codes, where output
//! goes, `--signum` numbers.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_goes_to_stderr_and_exits_0() {
    let (rc, out, err) = run(&["-v"]);
    assert_eq!(rc, 0);
    assert!(out.is_empty());
    // Exporters parse the version from the first line of stderr.
    assert!(err.starts_with("Keepalived v2.2.7 "), "{err}");
    assert_eq!(run(&["--version"]).0, 0);
}

#[test]
fn help_goes_to_stderr_and_exits_0() {
    let (rc, out, err) = run(&["-h"]);
    assert_eq!(rc, 0);
    assert!(out.is_empty());
    assert!(err.starts_with("Usage: keepalived [OPTION...]\n"));
    for opt in [
        "--use-file=FILE",
        "--vrrp",
        "--check",
        "--dont-fork",
        "--signum=SIGFUNC",
        "--config-test[=LOG_FILE]",
    ] {
        assert!(err.contains(opt), "{opt} missing from --help");
    }
}

#[test]
fn unknown_option_exits_1() {
    let (rc, _, err) = run(&["--bogus"]);
    assert_eq!(rc, 1);
    assert_eq!(err.trim(), "Unknown option --bogus");
}

#[test]
fn signum_prints_keepalived_numbers() {
    for (name, num) in [
        ("STOP", 15),
        ("RELOAD", 1),
        ("DATA", 10),
        ("STATS", 12),
        ("STATS_CLEAR", 63),
        ("JSON", 36),
    ] {
        let (rc, out, _) = run(&[&format!("--signum={name}")]);
        assert_eq!((rc, out.trim()), (0, num.to_string().as_str()), "{name}");
    }
    let (rc, _, err) = run(&["--signum=NOPE"]);
    assert_eq!(rc, 1);
    assert_eq!(err.trim(), "Unknown sigfunc NOPE");
}

#[test]
fn config_test_exit_codes() {
    let dir = std::env::temp_dir().join(format!("kars-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.conf");
    std::fs::write(&good, "global_defs {\n  router_id test\n}\n").unwrap();
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "global_defs {\n  router_idd test\n}\n").unwrap();
    let fatal = dir.join("fatal.conf");
    std::fs::write(&fatal, "vrrp_script\n").unwrap();
    assert_eq!(run(&["-t", "-f", good.to_str().unwrap()]).0, 0);
    let (rc, _, err) = run(&["--config-test", "--use-file", bad.to_str().unwrap()]);
    assert_eq!(rc, 5);
    assert!(
        err.contains(&format!(
            "({}: Line 2) Unknown keyword 'router_idd'",
            bad.display()
        )),
        "{err}"
    );
    assert!(err.contains("did you mean 'router_id'?"), "{err}");
    let (rc, _, err) = run(&["-t", "-f", fatal.to_str().unwrap()]);
    assert_eq!(rc, 2);
    assert!(
        err.contains("is missing a parameter after keyword `vrrp_script` at word position 2"),
        "{err}"
    );
    // `-t LOGFILE` must be attached: `--config-test=FILE` writes there.
    let log = dir.join("t.log");
    let (rc, _, err) = run(&[
        &format!("--config-test={}", log.display()),
        "-f",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(rc, 5);
    assert!(err.is_empty());
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("Unknown keyword 'router_idd'"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn genhash_usage_names_the_way_it_was_called() {
    // keepalived 2.2.7: `keepalived --genhash` with no command prints
    // `Usage: ARGV0 --genhash COMMAND [OPTIONS]`; as `genhash` (a link to
    // keepalived in Debian) it says `Usage: ARGV0 COMMAND ...`.
    let ours_bin = env!("CARGO_BIN_EXE_keepalived");
    let (rc, _, err) = run(&["-T"]);
    assert_eq!(rc, 1);
    assert!(
        err.starts_with(&format!("Usage: {ours_bin} --genhash COMMAND [OPTIONS]\n")),
        "{err}"
    );
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("genhash-link");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("genhash");
    std::os::unix::fs::symlink(ours_bin, &link).unwrap();
    let out = Command::new(&link).output().unwrap();
    let ours = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1));
    let ours = ours.replacen(link.to_str().unwrap(), "genhash", 1);
    assert!(
        ours.starts_with("Usage: genhash COMMAND [OPTIONS]\n"),
        "{ours}"
    );
    // Same text as keepalived's own, where it is installed.
    if std::path::Path::new("/usr/sbin/keepalived").exists() {
        let k = Command::new("/usr/sbin/keepalived")
            .arg("-T")
            .output()
            .unwrap();
        let theirs =
            String::from_utf8_lossy(&k.stderr).replacen("/usr/sbin/keepalived", ours_bin, 1);
        assert_eq!(err, theirs);
        let g = Command::new("/usr/bin/genhash").output().unwrap();
        let theirs = String::from_utf8_lossy(&g.stderr).replacen("/usr/bin/genhash", "genhash", 1);
        assert_eq!(ours, theirs);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
