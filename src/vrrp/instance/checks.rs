//! The receive checks of one instance, in keepalived 2.2.7's order
//! (`vrrp_check_packet`), with its counters and rate-limited log lines.

use std::net::IpAddr;

use super::{AuthConfig, Instance, Received};
use crate::vrrp::action::{Action, DropReason};
use crate::vrrp::log_limit::LogLimit;
use crate::vrrp::packet::{DecodeError, Packet, Repr, Version, HEADER_LEN};
use crate::vrrp::time::Instant;
use crate::vrrp::types::{Centiseconds, Priority};

impl Instance {
    /// Check 9: the VIP list should match ours. keepalived 2.2.x drops the
    /// advert otherwise, so a reload that adds a VIP on one node only
    /// leaves both nodes MASTER (reference §4.6); like keepalived 2.3.3+
    /// and RFC 9568 §7.1 ("SHOULD log the event") we count it in
    /// `addr_list_err`, log it once per sender and mismatch, and go on.
    /// Skipped with `skip_check_adv_addr` when the sender is the known
    /// master.
    pub(super) fn check_addrs(&mut self, rx: &Received, repr: &Repr, out: &mut Vec<Action>) {
        let cfg = &self.cfg;
        let skip = cfg.skip_check_adv_addr && self.last_master == Some(rx.src);
        if skip || repr.priority == Priority::RESIGN {
            return;
        }
        let mismatch = if repr.addrs.len() != cfg.vips.len() {
            Some(DropReason::AddrCount {
                got: repr.addrs.len(),
                expected: cfg.vips.len(),
            })
        } else {
            cfg.vips
                .iter()
                .find(|v| !repr.addrs.contains(v))
                .map(|a| DropReason::AddrMissing(*a))
        };
        let Some(m) = mismatch else {
            self.addr_warned = None;
            return;
        };
        self.stats.addr_list_err += 1;
        if self.addr_warned != Some((rx.src, m)) {
            self.addr_warned = Some((rx.src, m));
            if let Some(line) = m.log_line(cfg, rx) {
                self.log(out, format!("{line} - accepted (RFC 9568)"));
            }
        }
    }

    /// keepalived's line for a dropped advert, rate-limited per kind
    /// ([`LogLimit`]).
    pub(super) fn log_drop(
        &mut self,
        now: Instant,
        reason: DropReason,
        rx: &Received,
        out: &mut Vec<Action>,
    ) {
        let key = reason.kind();
        let at = match self.drop_logs.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                self.drop_logs.push((key, LogLimit::default()));
                self.drop_logs.len() - 1
            }
        };
        let cfg = &self.cfg;
        for l in self.drop_logs[at]
            .1
            .lines(now, key, || reason.log_line(cfg, rx))
        {
            self.log(out, l);
        }
    }

    pub(super) fn count(&mut self, r: DropReason) {
        let s = &mut self.stats;
        match r {
            DropReason::AuthTypeMismatch => s.authtype_mismatch += 1,
            DropReason::TooShort { .. } | DropReason::TooLong { .. } => s.packet_len_err += 1,
            DropReason::Ttl(_) | DropReason::TtlRange { .. } => s.ip_ttl_err += 1,
            DropReason::Version(_) => s.version_err += 1,
            DropReason::InvalidAuthType(_) => s.invalid_authtype += 1,
            DropReason::AuthFailure => s.auth_failure += 1,
            DropReason::IntervalMismatch { .. } => s.advert_interval_err += 1,
            DropReason::InvalidType(_) => s.invalid_type_rcvd += 1,
            DropReason::Checksum => s.checksum_err += 1,
            DropReason::UnicastMismatch
            | DropReason::AddrCount { .. }
            | DropReason::AddrMissing(_) => s.addr_list_err += 1,
            DropReason::NotAPeer | DropReason::WrongVrid | DropReason::Inactive => {}
        }
    }

    pub(super) fn check(&self, rx: &Received) -> Result<Repr, DropReason> {
        let cfg = &self.cfg;
        // 1. AH expected / not expected.
        if rx.ah != cfg.wants_ah() {
            return Err(DropReason::AuthTypeMismatch);
        }
        // 2. Length against the header and address count.
        let p = Packet::new_unchecked(rx.msg);
        if rx.msg.len() < HEADER_LEN {
            return Err(DropReason::TooShort {
                len: rx.msg.len(),
                expected: HEADER_LEN,
            });
        }
        // keepalived compares for equality: a longer packet is as wrong.
        let expected = p.expected_len(cfg.family);
        if rx.msg.len() < expected {
            return Err(DropReason::TooShort {
                len: rx.msg.len(),
                expected,
            });
        }
        if rx.msg.len() > expected {
            return Err(DropReason::TooLong {
                len: rx.msg.len(),
                expected,
            });
        }
        // 3. TTL / hop limit 255 for multicast (unicast peers may differ).
        if cfg.unicast_peers.is_empty() && rx.ttl != 255 {
            return Err(DropReason::Ttl(rx.ttl));
        }
        // 4. Version.
        if p.version() != cfg.version {
            return Err(DropReason::Version(u8::from(p.version())));
        }
        if p.vrid() != cfg.vrid.get() {
            return Err(DropReason::WrongVrid);
        }
        // 5. v2 authentication.
        if cfg.version == Version::V2 {
            let t = p.auth_type();
            let mine = cfg.auth.auth_type();
            if let crate::vrrp::packet::AuthType::Unknown(n) = t {
                return Err(DropReason::InvalidAuthType(n));
            }
            if t != mine {
                return Err(DropReason::AuthTypeMismatch);
            }
            match cfg.auth {
                AuthConfig::Pass(pw)
                    if !crate::vrrp::packet::pass_matches(&pw, &p.auth_data(cfg.family)) =>
                {
                    return Err(DropReason::AuthFailure)
                }
                AuthConfig::Ah(_) if !rx.ah_valid => return Err(DropReason::AuthFailure),
                _ => {}
            }
            // 6. v2 interval mismatch drops the advert.
            let theirs = p.adver_int_v2();
            if u16::from(theirs) * 100 != cfg.adver_int.0 {
                return Err(DropReason::IntervalMismatch {
                    mine: cfg.adver_int,
                    theirs: Centiseconds::from_secs(theirs),
                });
            }
        }
        // RFC 9568 (erratum 8301): a VRRPv3 advert with a zero interval is
        // discarded.
        if cfg.version == Version::V3 && p.max_adver_int_v3() == 0 {
            return Err(DropReason::IntervalMismatch {
                mine: cfg.adver_int,
                theirs: Centiseconds(0),
            });
        }
        // 7. Type and checksum.
        if p.msg_type() != 1 {
            return Err(DropReason::InvalidType(p.msg_type()));
        }
        let repr = match Repr::parse(&p, cfg.family, &self.checksum_ctx(rx.src, rx.dst)) {
            Ok(r) => r,
            Err(DecodeError::Checksum) => return Err(DropReason::Checksum),
            Err(DecodeError::Truncated) => {
                return Err(DropReason::TooShort {
                    len: rx.msg.len(),
                    expected,
                })
            }
            Err(DecodeError::Version(v)) => return Err(DropReason::Version(v)),
            Err(DecodeError::Vrid) => return Err(DropReason::WrongVrid),
        };
        // 8. Multicast / unicast mismatch.
        let multicast = match rx.dst {
            IpAddr::V4(a) => a.is_multicast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        if multicast != cfg.unicast_peers.is_empty() {
            return Err(DropReason::UnicastMismatch);
        }
        // 10. Unicast source must be a peer (check_unicast_src).
        if cfg.check_unicast_src
            && !cfg.unicast_peers.is_empty()
            && !cfg.unicast_peers.contains(&rx.src)
        {
            return Err(DropReason::NotAPeer);
        }
        if cfg.check_unicast_src {
            if let Some(&(_, min, max)) = cfg.peer_ttl.iter().find(|(a, _, _)| *a == rx.src) {
                if rx.ttl < min || rx.ttl > max {
                    return Err(DropReason::TtlRange {
                        ttl: rx.ttl,
                        min,
                        max,
                    });
                }
            }
        }
        Ok(repr)
    }
}
