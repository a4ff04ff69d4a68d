//! When keepalived sends an SMTP alert, and with what settings (reference
//! §4.11, §3.2): the SMTP settings with keepalived's defaults, the
//! `smtp_alert` inheritance of instances, sync groups, virtual and real
//! servers, and which VRRP notifications mail. Sans-IO: sending is
//! [`super::mail::Mailer`]'s.

use std::collections::HashMap;
use std::time::Duration;

use super::mail::SmtpConfig;
use crate::config::global::GlobalDefs;
use crate::config::Config;
use crate::vrrp::action::{NotifyEvent, NotifyState, Target};

/// keepalived's default `smtp_connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a stopping daemon lets alerts in flight finish (keepalived
/// exits without waiting; a short grace lets the stop alert out).
pub const STOP_GRACE: Duration = Duration::from_secs(1);

/// The SMTP settings of `g`, or `None` when keepalived would send nothing
/// (no `notification_email` or no `smtp_server`). Defaults as keepalived's:
/// HELO (our EHLO) name the host name, sender `<user>@<host name>`, 30 s timeout.
pub fn smtp_config(g: &GlobalDefs) -> Option<SmtpConfig> {
    let (server, port) = g.smtp_server.clone()?;
    if g.notification_email.is_empty() {
        return None;
    }
    let host = crate::sys::nodename();
    let from = g.notification_email_from.clone().unwrap_or_else(|| {
        let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map_or_else(|| "root".to_string(), |u| u.name);
        format!("{user}@{host}")
    });
    Some(SmtpConfig {
        server,
        port,
        helo_name: g.smtp_helo_name.clone().unwrap_or(host),
        connect_timeout: g.smtp_connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        from,
        to: g.notification_email.clone(),
    })
}

/// Whether a VRRP instance or sync group with this `smtp_alert` mails:
/// its own setting, else `smtp_alert_vrrp`, else `smtp_alert`, else no.
pub fn vrrp_enabled(g: &GlobalDefs, own: Option<bool>) -> bool {
    own.or(g.smtp_alert_vrrp).or(g.smtp_alert).unwrap_or(false)
}

/// Default `smtp_alert` of (real servers, virtual servers): the global
/// `smtp_alert_checker`, else `smtp_alert`, else on for real servers
/// (keepalived keeps that for backwards compatibility) and off for
/// virtual servers.
pub fn checker_defaults(g: &GlobalDefs) -> (bool, bool) {
    match g.smtp_alert_checker.or(g.smtp_alert) {
        Some(b) => (b, b),
        None => (true, false),
    }
}

/// The VRRP child's alert policy: which instances and groups mail.
#[derive(Debug, Clone, Default)]
pub struct VrrpAlerts {
    router_id: String,
    no_email_faults: bool,
    enabled: HashMap<Target, bool>,
}

impl VrrpAlerts {
    /// The policy of `cfg`.
    pub fn new(cfg: &Config) -> VrrpAlerts {
        let g = &cfg.global;
        let inst = cfg.vrrp.instances.iter().map(|i| {
            (
                Target::Instance(i.name.clone()),
                vrrp_enabled(g, i.smtp_alert),
            )
        });
        let groups = cfg
            .vrrp
            .sync_groups
            .iter()
            .map(|s| (Target::Group(s.name.clone()), vrrp_enabled(g, s.smtp_alert)));
        VrrpAlerts {
            router_id: g.router_id.clone().unwrap_or_else(crate::sys::nodename),
            no_email_faults: g.no_email_faults,
            enabled: inst.chain(groups).collect(),
        }
    }

    /// A reload's policy: `cfg`'s, and for the targets `cfg` no longer
    /// has, the old setting (their last alerts come after the switch).
    pub fn update(&mut self, cfg: &Config) {
        let mut new = VrrpAlerts::new(cfg);
        for (t, on) in self.enabled.drain() {
            new.enabled.entry(t).or_insert(on);
        }
        *self = new;
    }

    /// The subject and body of the alert `ev` calls for, if any: state
    /// changes and stop of a target with `smtp_alert`, FAULT not with
    /// `no_email_faults`.
    pub fn mail(&self, ev: &NotifyEvent) -> Option<(String, String)> {
        if !self.enabled.get(&ev.target).copied().unwrap_or(false) {
            return None;
        }
        if ev.state == NotifyState::Fault && self.no_email_faults {
            return None;
        }
        ev.mail(&self.router_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_str, ReaderOptions};
    use crate::vrrp::types::Priority;

    fn conf(globals: &str, inst: &str, group: &str) -> Config {
        let text = format!(
            "global_defs {{\n router_id r1\n notification_email {{\n a@x\n }}\n smtp_server 127.0.0.1 2525\n{globals}\n}}\n\
             vrrp_sync_group G {{\n group {{\n VI_1\n }}\n{group}\n}}\n\
             vrrp_instance VI_1 {{\n interface lo\n virtual_router_id 1\n priority 100\n{inst}\n virtual_ipaddress {{\n 10.0.0.1\n }}\n}}\n"
        );
        load_str("t.conf", &text, ReaderOptions::default()).config
    }

    fn ev(target: Target, state: NotifyState) -> NotifyEvent {
        NotifyEvent {
            target,
            state,
            priority: Priority(100),
        }
    }

    fn vi(state: NotifyState) -> NotifyEvent {
        ev(Target::Instance("VI_1".into()), state)
    }

    #[test]
    fn inheritance() {
        assert!(VrrpAlerts::new(&conf("", "", ""))
            .mail(&vi(NotifyState::Master))
            .is_none());
        assert!(VrrpAlerts::new(&conf("smtp_alert", "", ""))
            .mail(&vi(NotifyState::Master))
            .is_some());
        // smtp_alert_vrrp beats smtp_alert; the instance beats both.
        let c = conf("smtp_alert\n smtp_alert_vrrp off", "", "smtp_alert");
        let a = VrrpAlerts::new(&c);
        assert!(a.mail(&vi(NotifyState::Master)).is_none());
        assert!(a
            .mail(&ev(Target::Group("G".into()), NotifyState::Master))
            .is_some());
        let c = conf("smtp_alert off", "smtp_alert", "");
        assert!(VrrpAlerts::new(&c).mail(&vi(NotifyState::Backup)).is_some());
    }

    #[test]
    fn reload_keeps_removed_targets() {
        let mut a = VrrpAlerts::new(&conf("", "smtp_alert", ""));
        let mut c = conf("smtp_alert", "", "");
        c.vrrp.instances[0].name = "VI_9".into();
        a.update(&c);
        // VI_1 is gone but still mails (its deletion); VI_9 inherits.
        assert!(a.mail(&vi(NotifyState::Fault)).is_some());
        assert!(a
            .mail(&ev(Target::Instance("VI_9".into()), NotifyState::Master))
            .is_some());
        assert!(a
            .mail(&ev(Target::Group("G".into()), NotifyState::Master))
            .is_some());
    }

    #[test]
    fn subjects_and_faults() {
        let a = VrrpAlerts::new(&conf("", "smtp_alert", ""));
        assert_eq!(
            a.mail(&vi(NotifyState::Master)),
            Some((
                "[r1] VRRP Instance VI_1 - Entering MASTER state".into(),
                "=> VRRP Instance is now owning VRRP VIPs <=".into()
            ))
        );
        assert!(a.mail(&vi(NotifyState::Fault)).is_some());
        assert!(a.mail(&vi(NotifyState::MasterRxLowerPri)).is_none());
        let a = VrrpAlerts::new(&conf("no_email_faults", "smtp_alert", ""));
        assert!(a.mail(&vi(NotifyState::Fault)).is_none());
        assert!(a.mail(&vi(NotifyState::Stop)).is_some());
    }

    #[test]
    fn settings_and_defaults() {
        let c = conf("", "", "");
        let s = smtp_config(&c.global).unwrap();
        assert_eq!((s.server.as_str(), s.port), ("127.0.0.1", 2525));
        assert_eq!(s.helo_name, crate::sys::nodename());
        assert_eq!(s.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert!(s.from.ends_with(&format!("@{}", crate::sys::nodename())));
        let mut g = c.global.clone();
        g.notification_email.clear();
        assert!(smtp_config(&g).is_none());
        assert_eq!(checker_defaults(&g), (true, false));
        g.smtp_alert = Some(false);
        assert_eq!(checker_defaults(&g), (false, false));
        g.smtp_alert_checker = Some(true);
        assert_eq!(checker_defaults(&g), (true, true));
    }
}
