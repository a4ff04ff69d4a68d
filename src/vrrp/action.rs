//! What the core asks the outside world to do, and why it dropped a packet.
//! Executors (sockets, netlink, scripts, FIFO, mail) live elsewhere.

use std::net::IpAddr;

use super::instance::{InstanceConfig, Received};
use super::packet::Packet;
use super::types::{Centiseconds, Priority};

/// One side effect requested by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send an advert of this instance with this priority (0 when resigning).
    SendAdvert {
        /// Instance name.
        instance: String,
        /// Priority to advertise.
        priority: Priority,
    },
    /// Add the instance's VIPs, E-VIPs, routes and rules.
    AddVips {
        /// Instance name.
        instance: String,
    },
    /// Remove them.
    RemoveVips {
        /// Instance name.
        instance: String,
    },
    /// One gratuitous ARP (IPv4) or unsolicited NA (IPv6) for `addr`.
    SendGarp {
        /// Instance name.
        instance: String,
        /// The address announced.
        addr: IpAddr,
    },
    /// A state notification: notify scripts, FIFO line, mail.
    Notify(NotifyEvent),
    /// A log line, keepalived's wording.
    Log(String),
    /// A detail line: keepalived prints it only with `-D`.
    Detail(String),
}

/// Who a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A `vrrp_instance`.
    Instance(String),
    /// A `vrrp_sync_group`.
    Group(String),
}

/// The state a notification announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyState {
    /// MASTER.
    Master,
    /// BACKUP.
    Backup,
    /// FAULT.
    Fault,
    /// STOP.
    Stop,
    /// DELETED (removed by a reload, with `notify_deleted`).
    Deleted,
    /// A master received a lower-priority advert.
    MasterRxLowerPri,
    /// `notify_priority_changes`: a MASTER's effective priority changed
    /// (FIFO only, as keepalived's `send_instance_priority_notifies`).
    MasterPriority,
    /// The same in any other state.
    BackupPriority,
}

impl NotifyState {
    /// keepalived's word.
    pub fn word(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
            NotifyState::Deleted => "DELETED",
            NotifyState::MasterRxLowerPri => "MASTER_RX_LOWER_PRI",
            NotifyState::MasterPriority => "MASTER_PRIORITY",
            NotifyState::BackupPriority => "BACKUP_PRIORITY",
        }
    }

    /// A priority change, not a state: no script, no mail, FIFO only.
    pub fn is_priority(self) -> bool {
        matches!(
            self,
            NotifyState::MasterPriority | NotifyState::BackupPriority
        )
    }
}

/// A state notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyEvent {
    /// Instance or group.
    pub target: Target,
    /// New state.
    pub state: NotifyState,
    /// Effective priority (groups: 0).
    pub priority: Priority,
}

impl NotifyEvent {
    fn kind_name(&self) -> (&'static str, &str, u8) {
        match &self.target {
            Target::Instance(n) => ("INSTANCE", n, self.priority.0),
            Target::Group(n) => ("GROUP", n, 0),
        }
    }

    /// The arguments keepalived appends to the generic `notify` script:
    /// `INSTANCE VI_1 MASTER 150` / `GROUP SG1 FAULT 0`.
    pub fn notify_args(&self) -> [String; 4] {
        let (k, n, p) = self.kind_name();
        [
            k.to_string(),
            n.to_string(),
            self.state.word().to_string(),
            p.to_string(),
        ]
    }

    /// The FIFO line: `INSTANCE "VI_1" MASTER 150\n`.
    pub fn fifo_line(&self) -> String {
        let (k, n, p) = self.kind_name();
        format!("{k} \"{n}\" {} {p}\n", self.state.word())
    }

    /// SMTP subject and body, as keepalived's (reference §4.11).
    pub fn mail(&self, router_id: &str) -> Option<(String, String)> {
        let (what, name) = match &self.target {
            Target::Instance(n) => ("Instance", n),
            Target::Group(n) => ("Group", n),
        };
        let group = matches!(self.target, Target::Group(_));
        let (tail, body) = match (self.state, group) {
            (NotifyState::Master, false) => (
                "Entering MASTER state",
                "=> VRRP Instance is now owning VRRP VIPs <=",
            ),
            (NotifyState::Backup, false) => (
                "Entering BACKUP state",
                "=> VRRP Instance is no longer owning VRRP VIPs <=",
            ),
            (NotifyState::Fault, false) => (
                "Entering FAULT state",
                "=> VRRP Instance is no longer owning VRRP VIPs <=",
            ),
            (NotifyState::Stop, false) => ("Stopping", "=> VRRP Instance stopping <="),
            (NotifyState::Deleted, false) => ("Deleted", "=> VRRP Deleted at reload <="),
            (NotifyState::Master, true) => (
                "Entering MASTER state",
                "=> All VRRP group instances are now in MASTER state <=",
            ),
            (NotifyState::Backup, true) => (
                "Entering BACKUP state",
                "=> All VRRP group instances are now in BACKUP state <=",
            ),
            (NotifyState::Fault, true) => (
                "Entering FAULT state",
                "=> All VRRP group instances are now in FAULT state <=",
            ),
            (NotifyState::Stop, true) => ("Stopping", "=> All VRRP group instances stopping <="),
            _ => return None,
        };
        Some((
            format!("[{router_id}] VRRP {what} {name} - {tail}"),
            body.to_string(),
        ))
    }
}

/// Why a received advert was dropped; each feeds a counter named like
/// keepalived's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// AH expected and absent, or the reverse; or v2 auth types differ (`authtype_mismatch`).
    AuthTypeMismatch,
    /// Shorter than the header announces (`packet_len_err`).
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// TTL / hop limit not 255 (`ip_ttl_err`).
    Ttl(u8),
    /// Longer than its header and address count say (`packet_len_err`).
    TooLong {
        /// Bytes received.
        len: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// A unicast peer's TTL outside its `min_ttl`..`max_ttl` (`ip_ttl_err`).
    TtlRange {
        /// Received TTL / hop limit.
        ttl: u8,
        /// `min_ttl`.
        min: u8,
        /// `max_ttl`.
        max: u8,
    },
    /// Not our VRRP version.
    Version(u8),
    /// No instance of the receiving interface has this VRID and family
    /// (counted nowhere, logged only with `log_unknown_vrids`).
    WrongVrid,
    /// The instance is in INIT, FAULT or stopped: keepalived 2.2.7's
    /// dispatcher drops the advert before any check, uncounted and unlogged.
    Inactive,
    /// Unknown v2 auth type (`invalid_authtype`).
    InvalidAuthType(u8),
    /// Wrong password or AH ICV (`auth_failure`).
    AuthFailure,
    /// v2 advert with another interval (`advert_interval_err`).
    IntervalMismatch {
        /// Ours.
        mine: Centiseconds,
        /// Theirs.
        theirs: Centiseconds,
    },
    /// Not an ADVERTISEMENT (`invalid_type_rcvd`).
    InvalidType(u8),
    /// Bad checksum.
    Checksum,
    /// Multicast received by a unicast instance or the reverse (`addr_list_err`).
    UnicastMismatch,
    /// VIP count differs (`addr_list_err`).
    AddrCount {
        /// Count received.
        got: usize,
        /// Count configured.
        expected: usize,
    },
    /// A configured VIP is missing from the advert (`addr_list_err`).
    AddrMissing(IpAddr),
    /// Unicast source not among the peers (`check_unicast_src`).
    NotAPeer,
}

impl DropReason {
    /// A short name of the kind of drop: the rate limiter keeps one budget
    /// per kind and names it in its count line.
    pub fn kind(&self) -> &'static str {
        match self {
            DropReason::AuthTypeMismatch => "auth type mismatch",
            DropReason::TooShort { .. } => "packet too short",
            DropReason::TooLong { .. } => "packet too long",
            DropReason::Ttl(_) => "invalid TTL/HL",
            DropReason::TtlRange { .. } => "TTL/HL out of range",
            DropReason::Version(_) => "wrong version",
            DropReason::WrongVrid => "unknown VRID",
            DropReason::Inactive => "inactive instance",
            DropReason::InvalidAuthType(_) => "invalid auth type",
            DropReason::AuthFailure => "authentication failure",
            DropReason::IntervalMismatch { .. } => "advert interval mismatch",
            DropReason::InvalidType(_) => "invalid packet type",
            DropReason::Checksum => "checksum",
            DropReason::UnicastMismatch => "unicast/multicast mismatch",
            DropReason::AddrCount { .. } => "address count",
            DropReason::AddrMissing(_) => "address missing",
            DropReason::NotAPeer => "not a unicast peer",
        }
    }

    /// keepalived 2.2.7's log line for this drop (without the `(VI)` prefix).
    pub fn log_line(&self, cfg: &InstanceConfig, rx: &Received) -> Option<String> {
        Some(match *self {
            DropReason::AuthTypeMismatch => format!(
                "received a {} auth, expecting {}!",
                u8::from(Packet::new_unchecked(rx.msg).auth_type()),
                u8::from(cfg.auth.auth_type())
            ),
            // keepalived gives IPv4 lengths with the IP (and AH) header.
            DropReason::TooShort { len, expected } | DropReason::TooLong { len, expected } => {
                let ip = match (rx.src, rx.ah) {
                    (IpAddr::V4(_), false) => 20,
                    (IpAddr::V4(_), true) => 20 + 24,
                    _ => 0,
                };
                let how = if len < expected { "short" } else { "long" };
                format!(
                    "vrrp packet too {how}, length {} and expect {}",
                    len + ip,
                    expected + ip
                )
            }
            DropReason::Ttl(t) => format!("invalid TTL/HL. Received {t} and expect 255"),
            DropReason::TtlRange { ttl, min, max } => {
                format!("TTL/HL {ttl} not in range {min} - {max}")
            }
            DropReason::Version(v) => format!(
                "wrong version. Received {v} and expect {}",
                u8::from(cfg.version)
            ),
            DropReason::WrongVrid | DropReason::Inactive => return None,
            DropReason::InvalidAuthType(t) => format!("Invalid auth type: {t}"),
            DropReason::AuthFailure => "received an invalid passwd!".into(),
            DropReason::IntervalMismatch { mine, theirs } => format!(
                "advertisement interval mismatch mine={} sec rcv'd={} sec",
                mine.0 / 100,
                theirs.0 / 100
            ),
            DropReason::InvalidType(t) => format!("Invalid packet type. {t} and expect 1"),
            DropReason::Checksum => format!(
                "Invalid VRRPv{} checksum",
                if cfg.version == super::packet::Version::V2 {
                    2
                } else {
                    3
                }
            ),
            DropReason::UnicastMismatch => format!(
                "Expected unicast packet but received multicast packet from {}",
                rx.src
            ),
            DropReason::AddrCount { got, expected } => {
                format!("received an unexpected ip number count {got}, expected {expected}!")
            }
            DropReason::AddrMissing(a) => format!(
                "ip address associated with VRID {} not present in MASTER advert: {a}",
                cfg.vrid
            ),
            DropReason::NotAPeer => format!("unicast source address {} not a unicast peer", rx.src),
        })
    }
}
