//! Dispatching one VRRP state notification ([`NotifyEvent`]) the way
//! keepalived does: the state-specific script (`notify_master` ...) with
//! exactly its configured argv, the generic `notify` script with
//! `INSTANCE|GROUP NAME STATE PRIORITY` appended (both forked back to
//! back, fire-and-forget), and the FIFO line.

use super::exec::{ExecError, Notifier, ScriptCommand};
use super::fifo::NotifyFifo;
use crate::vrrp::action::NotifyEvent;

/// Starts the scripts for `ev` and writes its FIFO line. Errors starting
/// a script are returned (to be logged) after the others were tried.
pub fn dispatch(
    notifier: &Notifier,
    ev: &NotifyEvent,
    specific: Option<&ScriptCommand>,
    generic: Option<&ScriptCommand>,
    fifos: &mut [&mut NotifyFifo],
) -> Vec<ExecError> {
    let mut errs = Vec::new();
    if let Some(s) = specific {
        if let Err(e) = notifier.spawn_notify(s) {
            errs.push(e);
        }
    }
    if let Some(g) = generic {
        if let Err(e) = notifier.spawn_notify(&g.with_args(&ev.notify_args())) {
            errs.push(e);
        }
    }
    let line = ev.fifo_line();
    for f in fifos.iter_mut() {
        if let Err(e) = f.write_line(line.as_bytes()) {
            errs.push(ExecError::Io(e));
        }
    }
    errs
}
