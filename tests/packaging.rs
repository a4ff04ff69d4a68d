//! The Debian package: built from the `[package.metadata.deb]` section of
//! Cargo.toml (the assets `cargo deb` would package) with plain
//! `dpkg-deb`, so that CI needs no cargo-deb; then unpacked into a scratch
//! root and checked: the binary, Debian's systemd unit semantics,
//! /etc/default/keepalived, the man page, the maintainer scripts, and
//! `systemd-analyze verify` on the unit when systemd-analyze exists.
//!
//! Needs dpkg-deb (skipped with a message otherwise, unless `CI` is set).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "../examples/manpage.rs"]
#[allow(dead_code)]
mod manpage;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `[package.metadata.deb]` section: simple `key = "value"` pairs and
/// the asset triples.
struct DebMeta {
    fields: Vec<(String, String)>,
    assets: Vec<(String, String, String)>,
    conf_files: Vec<String>,
}

impl DebMeta {
    fn read() -> DebMeta {
        let toml = std::fs::read_to_string(Path::new(MANIFEST).join("Cargo.toml")).unwrap();
        let section: Vec<&str> = toml
            .lines()
            .skip_while(|l| l.trim() != "[package.metadata.deb]")
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .collect();
        assert!(
            !section.is_empty(),
            "no [package.metadata.deb] in Cargo.toml"
        );
        let mut meta = DebMeta {
            fields: Vec::new(),
            assets: Vec::new(),
            conf_files: Vec::new(),
        };
        for l in &section {
            let t = l.trim();
            let quoted: Vec<&str> = t.split('"').collect();
            if t.starts_with("[\"") {
                assert!(quoted.len() >= 7, "asset line {t:?}");
                meta.assets
                    .push((quoted[1].into(), quoted[3].into(), quoted[5].into()));
            } else if let Some(rest) = t.strip_prefix("conf-files") {
                meta.conf_files = rest
                    .split('"')
                    .skip(1)
                    .step_by(2)
                    .map(String::from)
                    .collect();
            } else if let Some((k, v)) = t.split_once(" = \"") {
                if let Some(v) = v.strip_suffix('"') {
                    meta.fields.push((k.trim().into(), v.into()));
                }
            }
        }
        meta
    }

    fn get(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key} in [package.metadata.deb]"))
    }
}

/// Stages the package tree and builds the .deb; returns its path.
fn build_deb(meta: &DebMeta, work: &Path) -> PathBuf {
    let stage = work.join("stage");
    let generated = work.join("generated");
    std::fs::create_dir_all(stage.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(&generated).unwrap();
    for (src, dest, mode) in &meta.assets {
        let from = match src.as_str() {
            "target/release/keepalived" => PathBuf::from(env!("CARGO_BIN_EXE_keepalived")),
            "target/man/keepalived.8" => {
                let p = generated.join("keepalived.8");
                std::fs::write(&p, manpage::render()).unwrap();
                p
            }
            s if s.starts_with("target/") => panic!("unknown generated asset {s}"),
            s => Path::new(MANIFEST).join(s),
        };
        let to = if dest.ends_with('/') {
            stage.join(dest).join(Path::new(src).file_name().unwrap())
        } else {
            stage.join(dest)
        };
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        if src == "target/release/keepalived" {
            // As cargo-deb does by default: the shipped binary carries no
            // debug information (the build keeps its line tables).
            run(Command::new("strip").arg("--strip-debug").arg(&to));
        }
        let mode = u32::from_str_radix(mode, 8).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let scripts = Path::new(MANIFEST).join(meta.get("maintainer-scripts"));
    for s in ["postinst", "prerm", "postrm"] {
        let to = stage.join("DEBIAN").join(s);
        std::fs::copy(scripts.join(s), &to).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut conffiles = meta.conf_files.join("\n");
    conffiles.push('\n');
    std::fs::write(stage.join("DEBIAN/conffiles"), conffiles).unwrap();
    let arch = run(Command::new("dpkg").arg("--print-architecture"));
    let control = format!(
        "Package: {}\nVersion: {}\nArchitecture: {}\nMaintainer: {}\nSection: {}\n\
         Priority: {}\nDepends: libc6\nConflicts: {}\nReplaces: {}\nProvides: {}\n\
         Description: {}\n {}\n",
        meta.get("name"),
        env!("CARGO_PKG_VERSION"),
        arch.trim(),
        meta.get("maintainer"),
        meta.get("section"),
        meta.get("priority"),
        meta.get("conflicts"),
        meta.get("replaces"),
        meta.get("provides"),
        env!("CARGO_PKG_DESCRIPTION"),
        "keepalived-rs, staged by tests/packaging.rs",
    );
    std::fs::write(stage.join("DEBIAN/control"), control).unwrap();
    let deb = work.join("keepalived-rs.deb");
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&stage)
        .arg(&deb));
    deb
}

#[test]
fn debian_package_installs_keepalived_s_layout() {
    if !have("dpkg-deb") {
        assert!(
            std::env::var_os("CI").is_none(),
            "dpkg-deb is needed (CI is set, refusing to skip)"
        );
        eprintln!("skipping packaging test: no dpkg-deb");
        return;
    }
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("packaging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let meta = DebMeta::read();
    let deb = build_deb(&meta, &work);

    // Control data and maintainer scripts.
    let info = run(Command::new("dpkg-deb").arg("-I").arg(&deb));
    for l in [
        "Package: keepalived-rs",
        "Conflicts: keepalived",
        "Replaces: keepalived",
        "Provides: keepalived",
        " postinst",
        " prerm",
        " postrm",
        " conffiles",
    ] {
        assert!(info.contains(l), "missing {l:?}\n{info}");
    }
    let pkg = run(Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Package"));
    assert_eq!(pkg.trim(), "keepalived-rs");
    let contents = run(Command::new("dpkg-deb").arg("-c").arg(&deb));
    assert!(contents.contains("root/root"), "{contents}");

    // Unpack into a scratch root.
    let root = work.join("root");
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root));
    let ctl = work.join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&ctl));
    assert_eq!(
        std::fs::read_to_string(ctl.join("conffiles")).unwrap(),
        "/etc/default/keepalived\n"
    );
    for s in ["postinst", "prerm", "postrm"] {
        run(Command::new("sh").arg("-n").arg(ctl.join(s)));
    }

    // The binary runs and reports keepalived's version (exporters parse it).
    let bin = root.join("usr/sbin/keepalived");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&bin).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    let size = std::fs::metadata(&bin).unwrap().len();
    let built = std::fs::metadata(env!("CARGO_BIN_EXE_keepalived"))
        .unwrap()
        .len();
    assert!(
        size < built / 2 && size < 16 << 20,
        "the packaged binary must be stripped of debug info: {size} bytes (built: {built})"
    );
    let sections = run(Command::new("objdump").arg("-h").arg(&bin));
    // (`.debug_gdb_scripts` is loaded code's gdb hook, not debug info.)
    for s in [".debug_info", ".debug_line"] {
        assert!(!sections.contains(s), "{s} left:\n{sections}");
    }
    let out = Command::new(&bin).arg("-v").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Keepalived v2.2.7"));

    // Debian's unit semantics.
    let unit_path = root.join("lib/systemd/system/keepalived.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    for l in [
        "Type=notify",
        "EnvironmentFile=-/etc/default/keepalived",
        "ExecStart=/usr/sbin/keepalived --dont-fork $DAEMON_ARGS",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ConditionFileNotEmpty=/etc/keepalived/keepalived.conf",
        "WantedBy=multi-user.target",
    ] {
        assert!(unit.lines().any(|u| u == l), "unit lacks {l:?}\n{unit}");
    }
    let default = std::fs::read_to_string(root.join("etc/default/keepalived")).unwrap();
    assert!(
        default.lines().any(|l| l == "DAEMON_ARGS=\"\""),
        "{default}"
    );

    // The man page, generated from the command line; the internal option
    // stays hidden.
    let man = std::fs::read_to_string(root.join("usr/share/man/man8/keepalived.8")).unwrap();
    assert!(
        man.starts_with(".ie"),
        "not roff: {}",
        &man[..man.len().min(80)]
    );
    assert!(man.contains(".TH keepalived 8"), "{}", &man[..200]);
    for opt in ["dont\\-fork", "vrrp_pid", "signum", "config\\-test"] {
        assert!(man.contains(opt), "man page lacks {opt}");
    }
    assert!(!man.contains("rs\\-child") && !man.contains("EXTRA"));

    // A sample configuration, not an active one: the unit only starts
    // once the administrator writes /etc/keepalived/keepalived.conf.
    assert!(!root.join("etc/keepalived/keepalived.conf").exists());
    assert!(root
        .join("usr/share/doc/keepalived-rs/samples/keepalived.conf")
        .exists());

    // systemd's own check, with ExecStart pointing at the unpacked binary.
    if have("systemd-analyze") {
        let dir = work.join("unit");
        std::fs::create_dir_all(&dir).unwrap();
        let local = unit.replace("/usr/sbin/keepalived", bin.to_str().unwrap());
        let f = dir.join("keepalived.service");
        std::fs::write(&f, local).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&f)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !err.contains("keepalived.service:"),
            "systemd-analyze verify: {err}"
        );
    } else {
        eprintln!("systemd-analyze not found: unit not verified");
    }
    let _ = std::fs::remove_dir_all(&work);
}
