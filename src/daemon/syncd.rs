//! `lvs_sync_daemon`: the kernel's IPVS connection-sync daemon follows one
//! VRRP instance, master while the instance is MASTER and backup in every
//! other state. Measured on keepalived 2.2.7 in the IPVS VM: backup from
//! start-up (also in FAULT), master on entering MASTER (backup stopped
//! first), backup again on leaving it, restarted when a reload changes its
//! parameters, stopped at exit.
//!
//! The kernel calls run on a thread of their own, so IPVS never holds up
//! the VRRP state machine. While the kernel has no IPVS the daemon is
//! retried every few seconds (keepalived 2.2.7's VRRP child crashes with
//! SIGSEGV there, again at every respawn).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::Config;
use crate::ipvs::client::{Client, Transport};
use crate::ipvs::error::Result;
use crate::ipvs::mapping;
use crate::ipvs::repr::{SyncDaemon, SyncState};

use super::log::log_line;

/// How often IPVS is retried while the kernel has none.
const RETRY: Duration = Duration::from_secs(5);

/// The two kernel commands a sync daemon needs.
trait SyncOps {
    /// NEW_DAEMON.
    fn start(&mut self, d: &SyncDaemon) -> Result<()>;
    /// DEL_DAEMON.
    fn stop(&mut self, state: SyncState, sync_id: u32) -> Result<()>;
}

impl<T: Transport> SyncOps for Client<T> {
    fn start(&mut self, d: &SyncDaemon) -> Result<()> {
        self.start_daemon(d)
    }

    fn stop(&mut self, state: SyncState, sync_id: u32) -> Result<()> {
        self.stop_daemon(state, sync_id)
    }
}

/// Takes the kernel from `running` (the daemon we started) to `want`;
/// returns the daemon that runs for us afterwards.
fn step(
    k: &mut impl SyncOps,
    running: Option<SyncDaemon>,
    want: Option<&SyncDaemon>,
    log: &mut impl FnMut(String),
) -> Option<SyncDaemon> {
    if running.as_ref() == want {
        return running;
    }
    if let Some(old) = running {
        if let Err(e) = k.stop(old.state, old.sync_id) {
            log(e.to_string());
        }
    }
    let new = want?;
    match k.start(new) {
        Ok(()) => Some(new.clone()),
        Err(e) => {
            log(e.to_string());
            None
        }
    }
}

/// Stops the daemons a previous run left behind (it crashed, or was
/// killed), so that ours start with our parameters. keepalived 2.2.7 does
/// not: its NEW_DAEMON fails with `Daemon has already run(17)` and the old
/// daemon keeps running with the old parameters.
fn clear_stale(k: &mut impl SyncOps, log: &mut impl FnMut(String)) {
    for state in [SyncState::Master, SyncState::Backup] {
        if let Err(e) = k.stop(state, 0) {
            log(e.to_string());
        }
    }
}

/// `lvs_sync_daemon` in the VRRP child: the instance it follows, and the
/// thread (started when first needed) that talks to the kernel.
#[derive(Default)]
pub struct LvsSync {
    follows: Option<(String, SyncDaemon)>,
    ctl: Option<SyncDaemonCtl>,
}

impl LvsSync {
    /// Takes the (new) configuration's `lvs_sync_daemon`.
    pub fn configure(&mut self, cfg: &Config) {
        self.follows = cfg.global.lvs_sync_daemon.as_ref().and_then(|d| {
            let daemon = mapping::sync_daemon(cfg, SyncState::Backup)?;
            Some((d.instance.clone()?, daemon))
        });
    }

    /// Brings the daemon in line with its instance; `is_master` tells an
    /// instance's state by name (`None`: no such instance running).
    pub fn follow(&mut self, is_master: impl Fn(&str) -> Option<bool>) {
        let want = self.follows.as_ref().and_then(|(inst, d)| {
            let state = match is_master(inst)? {
                true => SyncState::Master,
                false => SyncState::Backup,
            };
            Some(SyncDaemon { state, ..d.clone() })
        });
        if want.is_none() && self.ctl.is_none() {
            return;
        }
        if self.ctl.is_none() {
            match SyncDaemonCtl::spawn() {
                Ok(c) => self.ctl = Some(c),
                Err(e) => {
                    log_line(&format!("lvs_sync_daemon: cannot start its thread: {e}"));
                    return;
                }
            }
        }
        if let Some(c) = self.ctl.as_mut() {
            c.want(want);
        }
    }

    /// Stops our daemon (at exit, before the instances resign: keepalived
    /// 2.2.7 starts the backup daemon there only to stop it).
    pub fn stop(&mut self) {
        self.follows = None;
        if let Some(c) = self.ctl.take() {
            c.stop();
        }
    }
}

/// The thread that owns the IPVS client; [`SyncDaemonCtl::want`] tells it
/// what the kernel should run.
struct SyncDaemonCtl {
    tx: Sender<Option<SyncDaemon>>,
    thread: JoinHandle<()>,
    wanted: Option<SyncDaemon>,
}

impl SyncDaemonCtl {
    /// Starts the thread (no daemon wanted yet).
    fn spawn() -> std::io::Result<SyncDaemonCtl> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("lvs_sync_daemon".into())
            .spawn(move || worker(rx))?;
        Ok(SyncDaemonCtl {
            tx,
            thread,
            wanted: None,
        })
    }

    /// The daemon the kernel should run (`None`: none).
    fn want(&mut self, d: Option<SyncDaemon>) {
        if d != self.wanted {
            self.wanted = d.clone();
            let _ = self.tx.send(d);
        }
    }

    /// Stops our daemon and waits for the thread.
    fn stop(mut self) {
        self.want(None);
        drop(self.tx);
        let _ = self.thread.join();
    }
}

fn worker(rx: Receiver<Option<SyncDaemon>>) {
    let mut client: Option<Client> = None;
    let (mut want, mut running) = (None, None);
    // IPVS was missing at the last attempt: retry on a timer.
    let mut missing = false;
    loop {
        let next = if missing {
            rx.recv_timeout(RETRY)
        } else {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match next {
            Ok(w) => want = w,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // Only the latest wish matters.
        while let Ok(w) = rx.try_recv() {
            want = w;
        }
        if running == want {
            continue;
        }
        if client.is_none() {
            match Client::open_loading_module() {
                Ok(mut c) => {
                    if missing {
                        log_line("IPVS: now available - starting lvs_sync_daemon");
                    }
                    clear_stale(&mut c, &mut |m| log_line(&m));
                    client = Some(c);
                    missing = false;
                }
                Err(e) => {
                    if !missing {
                        log_line(&format!(
                            "{e} - VRRP goes on; lvs_sync_daemon retried every {}s",
                            RETRY.as_secs()
                        ));
                    }
                    missing = want.is_some();
                    continue;
                }
            }
        }
        if let Some(c) = client.as_mut() {
            running = step(c, running, want.as_ref(), &mut |m| log_line(&m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: SyncState) -> &'static str {
        match s {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        }
    }

    /// Records commands.
    #[derive(Default)]
    struct Kernel {
        log: Vec<String>,
    }

    impl SyncOps for Kernel {
        fn start(&mut self, d: &SyncDaemon) -> Result<()> {
            self.log
                .push(format!("start {} {}", name(d.state), d.sync_id));
            Ok(())
        }

        fn stop(&mut self, state: SyncState, sync_id: u32) -> Result<()> {
            self.log.push(format!("stop {} {sync_id}", name(state)));
            Ok(())
        }
    }

    fn daemon(state: SyncState, sync_id: u32) -> SyncDaemon {
        SyncDaemon {
            state,
            ifname: "eth0".into(),
            sync_id,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    /// keepalived's sequence: backup at start, backup stopped before
    /// master starts, the reverse on leaving MASTER, stopped at exit.
    #[test]
    fn follows_the_instance_as_keepalived() {
        let mut k = Kernel::default();
        let mut quiet = |m: String| panic!("unexpected log: {m}");
        let (b, m) = (daemon(SyncState::Backup, 51), daemon(SyncState::Master, 51));
        let r = step(&mut k, None, Some(&b), &mut quiet);
        let r = step(&mut k, r, Some(&b), &mut quiet);
        let r = step(&mut k, r, Some(&m), &mut quiet);
        let r = step(&mut k, r, Some(&b), &mut quiet);
        let r = step(&mut k, r, None, &mut quiet);
        assert_eq!(r, None);
        assert_eq!(
            k.log,
            [
                "start backup 51",
                "stop backup 51",
                "start master 51",
                "stop master 51",
                "start backup 51",
                "stop backup 51"
            ]
        );
    }

    /// A reload that changes the sync id restarts the daemon with it.
    #[test]
    fn new_parameters_restart_the_daemon() {
        let mut k = Kernel::default();
        let mut quiet = |m: String| panic!("unexpected log: {m}");
        let r = step(
            &mut k,
            None,
            Some(&daemon(SyncState::Master, 51)),
            &mut quiet,
        );
        step(&mut k, r, Some(&daemon(SyncState::Master, 3)), &mut quiet);
        assert_eq!(
            k.log,
            ["start master 51", "stop master 51", "start master 3"]
        );
    }

    /// What a crashed run left behind is stopped before ours starts.
    #[test]
    fn stale_daemons_are_stopped() {
        let mut k = Kernel::default();
        clear_stale(&mut k, &mut |m| panic!("unexpected log: {m}"));
        assert_eq!(k.log, ["stop master 0", "stop backup 0"]);
    }
}
