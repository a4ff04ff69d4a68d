//! `-s NAME` beside keepalived 2.2.7 (issue #13): started in the host's
//! namespace, the daemon runs its instances in network namespace NAME
//! (the VIP appears there, not on the host), keeps its pid files under
//! `/run/keepalived/NAME/` (its private mount of `/run/keepalived`),
//! changes its syslog ident, and leaves nothing there at stop; the same
//! with `net_namespace NAME` in the configuration. A missing
//! namespace ends it as keepalived ends: exit 0 with its three lines.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;
use common::lab::{keepalived_bin, wait_for, with_keepalived, Impl, Ns};

const CONF: &str = "vrrp_instance VI_1 {\n  state BACKUP\n  interface ka0\n  virtual_router_id 51\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    10.99.0.100/32\n  }\n}\n";

fn binary(which: Impl) -> String {
    match which {
        Impl::Keepalived => keepalived_bin(),
        Impl::Ours => env!("CARGO_BIN_EXE_keepalived").to_string(),
    }
}

/// A daemon in the host's namespace, killed on drop.
struct Run {
    child: Option<Child>,
    log: PathBuf,
}

impl Run {
    fn start(which: Impl, dir: &Path, args: &[&str]) -> Run {
        Self::start_conf(which, dir, args, CONF)
    }

    fn start_conf(which: Impl, dir: &Path, args: &[&str], text: &str) -> Run {
        let conf = dir.join("k.conf");
        std::fs::write(&conf, text).unwrap();
        let log = dir.join(format!("{}.log", which.name()));
        let child = Command::new(binary(which))
            .args(["-n", "-l", "-f"])
            .arg(&conf)
            .args(args)
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn");
        Run {
            child: Some(child),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM, then the exit code.
    fn stop(&mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.pid() as i32, libc::SIGTERM) };
        self.wait()
    }

    fn wait(&mut self) -> Option<i32> {
        let mut c = self.child.take()?;
        let ok = wait_for(Duration::from_secs(10), || {
            c.try_wait().ok().flatten().is_some()
        });
        if ok.is_none() {
            let _ = c.kill();
        }
        c.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Files under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// What one implementation shows: files in the pid directory while it
/// runs (and whether they hold its pid), whether the VIP is in the
/// namespace and not on the host, the ident line, what is left after stop.
/// `by_config`: `net_namespace` in the configuration instead of `-s`.
fn observe(which: Impl, by_config: bool) -> Vec<String> {
    let ns = Ns::new(&format!("s{}", which.name().len()));
    ns.ip(&["link", "add", "ka0", "type", "veth", "peer", "name", "ka1"]);
    ns.ip(&["link", "set", "ka0", "up"]);
    ns.ip(&["link", "set", "ka1", "up"]);
    ns.ip(&["addr", "add", "10.99.0.1/24", "dev", "ka0"]);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(&ns.name);
    std::fs::create_dir_all(&dir).unwrap();
    let pid_dir = Path::new("/run/keepalived").join(&ns.name);
    let mut d = if by_config {
        // A root keyword in 2.2.7 (inside global_defs it is unknown).
        let conf = format!("net_namespace {}\n{CONF}", ns.name);
        Run::start_conf(which, &dir, &[], &conf)
    } else {
        Run::start(which, &dir, &["-s", &ns.name])
    };
    let master = wait_for(Duration::from_secs(8), || {
        d.log().contains("Entering MASTER STATE")
    });
    assert!(master.is_some(), "{which:?}: no MASTER:\n{}", d.log());
    let mut seen = vec![format!("pid dir: {:?}", files(&pid_dir))];
    let main_pid = std::fs::read_to_string(pid_dir.join("keepalived.pid")).unwrap_or_default();
    seen.push(format!(
        "main pid right: {}",
        main_pid.trim() == d.pid().to_string()
    ));
    let in_ns = ns.ip(&["-o", "addr"]).contains(" 10.99.0.100/");
    seen.push(format!("VIP in namespace: {in_ns}"));
    let host = Command::new("ip").args(["-o", "addr"]).output().unwrap();
    let on_host = String::from_utf8_lossy(&host.stdout).contains("10.99.0.100/");
    seen.push(format!("VIP on host: {on_host}"));
    let ident = format!("Changing syslog ident to Keepalived_{}", ns.name);
    seen.push(format!("ident line: {}", d.log().contains(&ident)));
    seen.push(format!("exit: {:?}", d.stop()));
    seen.push(format!("left: {:?}", files(&pid_dir)));
    seen.push(format!("pid dir left: {}", pid_dir.exists()));
    // Whatever a failed run left (only empty directories are removed).
    let _ = std::fs::remove_dir(&pid_dir);
    let _ = std::fs::remove_dir("/run/keepalived");
    let _ = std::fs::remove_dir_all(&dir);
    seen
}

#[test]
fn dash_s_runs_in_the_namespace_with_pid_files_under_its_name() {
    if !with_keepalived("netns") {
        return;
    }
    let k = observe(Impl::Keepalived, false);
    let o = observe(Impl::Ours, false);
    assert_eq!(k, o, "keepalived (left) and ours (right) differ");
    let kc = observe(Impl::Keepalived, true);
    let oc = observe(Impl::Ours, true);
    assert_eq!(
        kc, oc,
        "net_namespace: keepalived (left) and ours (right) differ"
    );
    assert!(o.contains(&"VIP in namespace: true".to_string()), "{o:?}");
    assert!(o.contains(&"VIP on host: false".to_string()), "{o:?}");
    assert!(
        o[0].contains("keepalived.pid") && o[0].contains("vrrp.pid"),
        "{o:?}"
    );
}

#[test]
fn a_missing_namespace_ends_the_daemon_as_keepalived() {
    if !with_keepalived("netns") {
        return;
    }
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("nons-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lines = |which: Impl| {
        let mut d = Run::start(which, &dir, &["-s", "karslab-no-such-ns"]);
        let code = d.wait();
        let log = d.log();
        let tail: Vec<String> = log
            .lines()
            .filter_map(|l| l.get(26..))
            .skip_while(|l| !l.starts_with("Changing syslog ident"))
            .map(str::to_string)
            .collect();
        (code, tail)
    };
    let (k, o) = (lines(Impl::Keepalived), lines(Impl::Ours));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(k.0, o.0);
    assert_eq!(k.1, o.1);
}
