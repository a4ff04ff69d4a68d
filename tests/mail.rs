//! SMTP alerts end to end (reference §4.11): our daemon in a network
//! namespace mails a real SMTP server (python3-aiosmtpd, tests/mail_sink.py)
//! on that namespace's loopback, with keepalived 2.2.7's envelope, headers
//! and bodies (its dialogue but for `EHLO` in place of `HELO`: lettre has
//! no `HELO`); and an unreachable server delays no failover.
//!
//! Needs root and python3 with aiosmtpd; skipped with a message otherwise,
//! unless `CI` is set (then missing either fails).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
#[path = "common/proclab.rs"]
mod proclab;

use common::lab::{privileged, wait_for, Ns};
use proclab::{Daemon, Lab, VIP};

const SEC: Duration = Duration::from_secs(1);

/// A python3 that has aiosmtpd (the Debian one first: a pyenv or venv
/// python3 on PATH may lack the Debian package).
fn python() -> Option<&'static str> {
    ["/usr/bin/python3", "python3"].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Root and aiosmtpd, or a skip (a failure when `CI` is set).
fn can_run(test: &str) -> Option<&'static str> {
    if !privileged("mail") {
        return None;
    }
    let py = python();
    if py.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: python3 with aiosmtpd is missing (CI is set, refusing to skip)"
        );
        eprintln!("skipping {test}: python3 aiosmtpd is not importable");
    }
    py
}

/// tests/mail_sink.py in a namespace; killed (by its pid) on drop.
struct Sink {
    child: Child,
    dir: PathBuf,
}

impl Sink {
    fn start(py: &str, ns: &Ns, dir: &Path, port: u16) -> Sink {
        let dir = dir.join("mail");
        std::fs::create_dir_all(&dir).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mail_sink.py");
        // `ip netns exec` execs in place: the child's pid is python's.
        let mut child = Command::new("ip")
            .args(["netns", "exec", &ns.name, py, script, "127.0.0.1"])
            .arg(port.to_string())
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        Sink { child, dir }
    }

    /// The messages received so far, oldest first.
    fn mails(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// Waits for a message whose subject is `subject`.
    fn wait_subject(&self, t: Duration, subject: &str) -> String {
        let needle = format!("\r\nSubject: {subject}\r\n");
        let mut found = None;
        wait_for(t, || {
            found = self.mails().into_iter().find(|m| m.contains(&needle));
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("no mail {subject:?}; got {:?}", self.mails()))
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hostname() -> String {
    let o = Command::new("uname").arg("-n").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// The whole dialogue keepalived 2.2.7 has with the server for one alert
/// (as the sink rebuilds it), with the `Date:` line taken out: captured
/// from keepalived 2.2.7 against the same sink. The sink offers 8BITMIME
/// and SMTPUTF8; keepalived's MAIL FROM has no parameter.
fn keepalived_s(helo: &str, subject: &str, body: &str) -> String {
    format!(
        "HELO {helo}\r\nMAIL FROM:<ka@example.com>\r\nRCPT TO:<a@example.com>\r\n\
         RCPT TO:<b@example.com>\r\nDATA\r\nFrom: ka@example.com\r\nSubject: {subject}\r\n\
         X-Mailer: Keepalived\r\nTo: a@example.com, b@example.com\r\n\r\n{body}\r\n\r\n"
    )
}

/// Checks the dialogue `got` (the sink's record, undated) against
/// keepalived 2.2.7's: the same but for the greeting, which is `EHLO` (lettre
/// has no `HELO`) with the name keepalived puts in `HELO`. Envelope (MAIL
/// FROM without parameters, RCPT TO) and message bytes are keepalived's.
fn assert_keepalived_s(got: &str, helo: &str, subject: &str, body: &str) {
    let want = keepalived_s(helo, subject, body);
    let (k_greeting, k_rest) = want.split_once("\r\n").unwrap();
    let (greeting, rest) = got.split_once("\r\n").unwrap();
    assert_eq!(k_greeting, format!("HELO {helo}"));
    assert_eq!(greeting, format!("EHLO {helo}"), "greeting");
    assert_eq!(rest, k_rest, "envelope and message");
}

/// `m` without its `Date:` line, which must be keepalived's format
/// (`Fri, 27 Nov 2026 13:53:33 +0000`).
fn undated(m: &str) -> String {
    let start = m.find("Date: ").expect("Date header");
    let end = start + m[start..].find("\r\n").unwrap() + 2;
    let date = &m[start + 6..end - 2];
    let f: Vec<&str> = date.split(' ').collect();
    assert!(
        f.len() == 6
            && f[0].len() == 4
            && f[0].ends_with(',')
            && f[1].len() == 2
            && f[4].len() == 8
            && (f[5].starts_with('+') || f[5].starts_with('-')),
        "Date: {date}"
    );
    format!("{}{}", &m[..start], &m[end..])
}

fn globals(server: &str, timeout: u32) -> String {
    format!(
        "global_defs {{\n  router_id mailtest\n  notification_email {{\n    a@example.com\n    \
         b@example.com\n  }}\n  notification_email_from ka@example.com\n  \
         smtp_server {server}\n  smtp_connect_timeout {timeout}\n}}\n"
    )
}

fn instance(priority: u8, smtp_alert: bool) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  interface eth0\n  state BACKUP\n  virtual_router_id 66\n  \
         priority {priority}\n  advert_int 1\n{}  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
        if smtp_alert { "  smtp_alert\n" } else { "" }
    )
}

#[test]
fn vrrp_state_changes_mail_keepalived_s_messages() {
    let Some(py) = can_run("vrrp_state_changes_mail_keepalived_s_messages") else {
        return;
    };
    let lab = Lab::new("mailv");
    let sink = Sink::start(py, &lab.ns, &lab.dir, 2525);
    let conf = globals("127.0.0.1 2525", 5) + &instance(100, true);
    let mut d = Daemon::start(&lab, "ka", &conf, &["-n", "-D"], &[]);
    let helo = hostname();
    let backup = sink.wait_subject(
        5 * SEC,
        "[mailtest] VRRP Instance VI_1 - Entering BACKUP state",
    );
    assert_keepalived_s(
        &undated(&backup),
        &helo,
        "[mailtest] VRRP Instance VI_1 - Entering BACKUP state",
        "=> VRRP Instance is no longer owning VRRP VIPs <=",
    );
    let master = sink.wait_subject(
        8 * SEC,
        "[mailtest] VRRP Instance VI_1 - Entering MASTER state",
    );
    assert_keepalived_s(
        &undated(&master),
        &helo,
        "[mailtest] VRRP Instance VI_1 - Entering MASTER state",
        "=> VRRP Instance is now owning VRRP VIPs <=",
    );
    assert!(
        d.wait_log(2 * SEC, "SMTP alert successfully sent.", 2)
            && d.log()
                .contains("Remote SMTP server [127.0.0.1]:2525 connected."),
        "{}",
        d.log()
    );
    // The stop alert goes out too (keepalived queues it but exits first).
    d.signal(libc::SIGTERM);
    assert!(d.wait_exit(5 * SEC).is_some(), "no exit\n{}", d.log());
    let stop = sink.wait_subject(2 * SEC, "[mailtest] VRRP Instance VI_1 - Stopping");
    assert!(
        stop.ends_with("\r\n\r\n=> VRRP Instance stopping <=\r\n\r\n"),
        "{stop}"
    );
    assert_eq!(sink.mails().len(), 3, "{:?}", sink.mails());
}

#[test]
fn no_email_faults_and_smtp_alert_off_send_nothing() {
    let Some(py) = can_run("no_email_faults_and_smtp_alert_off_send_nothing") else {
        return;
    };
    let lab = Lab::new("mailf");
    let sink = Sink::start(py, &lab.ns, &lab.dir, 2525);
    // VI_1 mails (smtp_alert_vrrp), FAULT excepted; VI_2 does not (its own
    // smtp_alert off beats the global).
    let conf = globals("127.0.0.1 2525", 5).replace(
        "smtp_server",
        "no_email_faults\n  smtp_alert_vrrp\n  smtp_server",
    ) + &instance(255, false)
        + &instance(100, false)
            .replace("VI_1", "VI_2")
            .replace("id 66", "id 67")
            .replace(VIP, "10.66.0.101")
            .replace("advert_int 1\n", "advert_int 1\n  smtp_alert off\n");
    let d = Daemon::start(&lab, "ka", &conf, &["-n"], &[]);
    sink.wait_subject(
        5 * SEC,
        "[mailtest] VRRP Instance VI_1 - Entering MASTER state",
    );
    lab.ns.ip(&["link", "set", "eth0", "down"]);
    assert!(
        d.wait_log(5 * SEC, "(VI_1) Entering FAULT STATE", 1),
        "{}",
        d.log()
    );
    lab.ns.ip(&["link", "set", "eth0", "up"]);
    sink.wait_subject(
        8 * SEC,
        "[mailtest] VRRP Instance VI_1 - Entering BACKUP state",
    );
    let subjects: Vec<String> = sink
        .mails()
        .iter()
        .map(|m| {
            m.split("Subject: ")
                .nth(1)
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        !subjects
            .iter()
            .any(|s| s.contains("FAULT") || s.contains("VI_2")),
        "{subjects:?}"
    );
}

#[test]
fn real_server_down_and_up_mail() {
    let Some(py) = can_run("real_server_down_and_up_mail") else {
        return;
    };
    let lab = Lab::new("mailc");
    let sink = Sink::start(py, &lab.ns, &lab.dir, 2525);
    let port = 8081;
    // The real server's smtp_alert is on by default (keepalived's
    // backwards compatibility); nothing is listening yet.
    let conf = globals("127.0.0.1 2525", 5)
        + &format!(
            "virtual_server 10.66.0.200 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  \
             protocol TCP\n  real_server 10.66.0.1 {port} {{\n    TCP_CHECK {{\n      \
             connect_timeout 1\n      retry 0\n      delay_before_retry 0.2\n    }}\n  }}\n}}\n"
        );
    let d = Daemon::start(&lab, "ka", &conf, &["-n", "-C"], &[]);
    let rs = format!(
        "[mailtest] Realserver [10.66.0.1]:tcp:{port} of virtual server [10.66.0.200]:tcp:80"
    );
    let down = sink.wait_subject(10 * SEC, &format!("{rs} - DOWN"));
    assert_keepalived_s(
        &undated(&down),
        &hostname(),
        &format!("{rs} - DOWN"),
        "=> TCP CHECK failed on service <=",
    );
    let ns = lab.ns.name.clone();
    let _listener: TcpListener =
        common::run_in(&ns, move || TcpListener::bind(("10.66.0.1", port)).unwrap());
    let up = sink.wait_subject(10 * SEC, &format!("{rs} - UP"));
    assert!(
        up.ends_with("\r\n\r\n=> TCP CHECK succeed on service <=\r\n\r\n"),
        "{up}\n{}",
        d.log()
    );
}

#[test]
fn unreachable_smtp_server_does_not_delay_failover() {
    let Some(_) = can_run("unreachable_smtp_server_does_not_delay_failover") else {
        return;
    };
    // Master A and backup B on a veth pair (10.66.0.1 / 10.66.0.2).
    let a = Lab::new("mailua");
    let b = Lab {
        ns: Ns::new("mailub"),
        dir: a.dir.join("b"),
    };
    std::fs::create_dir_all(&b.dir).unwrap();
    a.ns.ip(&["link", "set", "peer0", "netns", &b.ns.name]);
    b.ns.ip(&["link", "set", "peer0", "name", "eth0"]);
    b.ns.ip(&["addr", "add", "10.66.0.2/24", "dev", "eth0"]);
    b.ns.ip(&["link", "set", "eth0", "up"]);
    // B's SMTP server 10.66.0.99 "exists" (a permanent neighbour entry)
    // but nobody answers: SYNs vanish and connecting hangs until timeout.
    b.ns.ip(&[
        "neigh",
        "add",
        "10.66.0.99",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "eth0",
        "nud",
        "permanent",
    ]);
    let da = Daemon::start(&a, "a", &instance(200, false), &["-n"], &[]);
    assert!(wait_for(5 * SEC, || a.has_vip()).is_some(), "{}", da.log());
    // The connect timeout (8 s) outlasts the takeover (at most 4.6 s after
    // B's start): an alert that blocked the VRRP loop would delay it.
    let conf_b = globals("10.66.0.99 2525", 8) + &instance(100, true);
    let db = Daemon::start(&b, "b", &conf_b, &["-n", "-D"], &[]);
    assert!(
        db.wait_log(5 * SEC, "(VI_1) Entering BACKUP STATE", 1),
        "{}",
        db.log()
    );
    // The BACKUP alert is now stuck connecting; A crashes.
    std::thread::sleep(SEC);
    let crash = Instant::now();
    drop(da);
    let took = wait_for(10 * SEC, || b.ns.has_addr(VIP)).expect("B never took over");
    let took_at = crash.elapsed();
    // Master down interval 3 * 1 s + (256 - 100) / 256 s = 3.609 s after
    // the last advert, which came at most 1 s before the crash.
    assert!(
        took > Duration::from_millis(2500) && took < Duration::from_millis(4100),
        "takeover after {took:?}\n{}",
        db.log()
    );
    assert!(took_at < 5 * SEC);
    assert!(
        db.wait_log(
            15 * SEC,
            "Timeout opening connection to remote SMTP server [10.66.0.99]:2525.",
            2
        ),
        "{}",
        db.log()
    );
    // Stopping does not wait for a hanging alert longer than a second.
    let mut db = db;
    let t0 = Instant::now();
    db.signal(libc::SIGTERM);
    assert!(db.wait_exit(4 * SEC).is_some(), "no exit\n{}", db.log());
    assert!(
        t0.elapsed() < Duration::from_millis(2500),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn reload_mails_with_the_new_configuration() {
    let Some(py) = can_run("reload_mails_with_the_new_configuration") else {
        return;
    };
    let lab = Lab::new("mailr");
    let sink = Sink::start(py, &lab.ns, &lab.dir, 2525);
    let conf = globals("127.0.0.1 2525", 5) + &instance(100, true);
    let d = Daemon::start(&lab, "ka", &conf, &["-n"], &[]);
    sink.wait_subject(
        5 * SEC,
        "[mailtest] VRRP Instance VI_1 - Entering BACKUP state",
    );
    // The reload adds VI_2 (mailing) and a new router_id.
    let vi2 = instance(100, true)
        .replace("VI_1", "VI_2")
        .replace("id 66", "id 67")
        .replace(VIP, "10.66.0.101");
    let new = conf.replace("router_id mailtest", "router_id reloaded") + &vi2;
    std::fs::write(&d.conf, new).unwrap();
    d.signal(libc::SIGHUP);
    sink.wait_subject(
        5 * SEC,
        "[reloaded] VRRP Instance VI_2 - Entering BACKUP state",
    );
}
