//! VRRP advertisements on the wire: a checked view over bytes
//! ([`Packet`]) and a parsed representation ([`Repr`]), in smoltcp's style.
//! Once [`Packet::new_checked`] succeeded no accessor can panic; unknown
//! field values survive parsing as `Unknown(n)`.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Adver Int   |          Checksum             |  v2 (RFC 3768)
//! |(rsvd) |     Max Adver Int     |          Checksum             |  v3 (RFC 5798)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    IP Address(es) (4 or 16 bytes each)        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Authentication Data (v2 only, 8 bytes)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::types::{Centiseconds, Family, Priority, Vrid};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// Length of the fixed VRRP header.
pub const HEADER_LEN: usize = 8;
/// Length of VRRPv2 authentication data.
pub const AUTH_LEN: usize = 8;

/// A malformed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its header and addresses.
    #[error("packet too short")]
    Truncated,
    /// The version nibble is neither 2 nor 3.
    #[error("unknown VRRP version {0}")]
    Version(u8),
    /// The checksum does not match.
    #[error("invalid checksum")]
    Checksum,
    /// A VRID of 0.
    #[error("virtual router id 0")]
    Vrid,
}

/// The version nibble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768.
    V2,
    /// RFC 5798.
    V3,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for Version {
    fn from(v: u8) -> Self {
        match v {
            2 => Version::V2,
            3 => Version::V3,
            n => Version::Unknown(n),
        }
    }
}

impl From<Version> for u8 {
    fn from(v: Version) -> u8 {
        match v {
            Version::V2 => 2,
            Version::V3 => 3,
            Version::Unknown(n) => n,
        }
    }
}

/// VRRPv2 authentication type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// 0: none.
    None,
    /// 1: simple text password.
    Pass,
    /// 2: IPsec AH.
    Ah,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for AuthType {
    fn from(v: u8) -> Self {
        match v {
            0 => AuthType::None,
            1 => AuthType::Pass,
            2 => AuthType::Ah,
            n => AuthType::Unknown(n),
        }
    }
}

impl From<AuthType> for u8 {
    fn from(v: AuthType) -> u8 {
        match v {
            AuthType::None => 0,
            AuthType::Pass => 1,
            AuthType::Ah => 2,
            AuthType::Unknown(n) => n,
        }
    }
}

mod field {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIO: usize = 2;
    pub const COUNT: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT: usize = 5;
    pub const MAX_ADVER: core::ops::Range<usize> = 4..6;
    pub const CHECKSUM: core::ops::Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
}

/// A view over the bytes of a VRRP message (without the IP header).
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps bytes without checking them.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps bytes, checking that the header and the addresses it announces
    /// (and v2 authentication data) fit.
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>, DecodeError> {
        let p = Packet::new_unchecked(buffer);
        p.check_len(family)?;
        Ok(p)
    }

    /// Checks the length against the header.
    pub fn check_len(&self, family: Family) -> Result<(), DecodeError> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Truncated);
        }
        if b.len() < self.expected_len(family) {
            return Err(DecodeError::Truncated);
        }
        Ok(())
    }

    /// The length the header announces: header, addresses, v2 auth data.
    pub fn expected_len(&self, family: Family) -> usize {
        let alen = match family {
            Family::V4 => 4,
            Family::V6 => 16,
        };
        // keepalived 2.2.7: the 8 authentication bytes only over IPv4.
        let auth = if self.version() == Version::V2 && family == Family::V4 {
            AUTH_LEN
        } else {
            0
        };
        HEADER_LEN + self.addr_count() as usize * alen + auth
    }

    /// Consumes the view.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version nibble.
    pub fn version(&self) -> Version {
        Version::from(self.buffer.as_ref()[field::VER_TYPE] >> 4)
    }

    /// Type nibble (1 = ADVERTISEMENT).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// Virtual router id.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    /// Priority.
    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIO]
    }

    /// Count of addresses.
    pub fn addr_count(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// v2 authentication type.
    pub fn auth_type(&self) -> AuthType {
        AuthType::from(self.buffer.as_ref()[field::AUTH_TYPE])
    }

    /// v2 advertisement interval, seconds.
    pub fn adver_int_v2(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// v3 maximum advertisement interval, centiseconds (12 bits).
    pub fn max_adver_int_v3(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MAX_ADVER];
        u16::from_be_bytes([b[0], b[1]]) & 0x0fff
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Address `i` (caller checked the length).
    pub fn addr(&self, family: Family, i: usize) -> IpAddr {
        let b = &self.buffer.as_ref()[field::ADDRS..];
        match family {
            Family::V4 => {
                let o = i * 4;
                IpAddr::V4(Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]))
            }
            Family::V6 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[i * 16..i * 16 + 16]);
                IpAddr::V6(Ipv6Addr::from(a))
            }
        }
    }

    /// v2 authentication data (caller checked the length).
    pub fn auth_data(&self, family: Family) -> [u8; AUTH_LEN] {
        let start = self.expected_len(family) - AUTH_LEN;
        let mut a = [0u8; AUTH_LEN];
        a.copy_from_slice(&self.buffer.as_ref()[start..start + AUTH_LEN]);
        a
    }

    /// The message bytes the header covers (trailing padding excluded).
    pub fn message(&self, family: Family) -> &[u8] {
        &self.buffer.as_ref()[..self.expected_len(family)]
    }

    /// Whether the checksum is right for this checksum context.
    pub fn verify_checksum(&self, family: Family, ctx: &ChecksumCtx) -> bool {
        checksum(self.message(family), ctx) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn b(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets version and type.
    pub fn set_version_type(&mut self, v: Version, t: u8) {
        self.b()[field::VER_TYPE] = (u8::from(v) << 4) | (t & 0x0f);
    }

    /// Sets the VRID.
    pub fn set_vrid(&mut self, v: u8) {
        self.b()[field::VRID] = v;
    }

    /// Sets the priority.
    pub fn set_priority(&mut self, v: u8) {
        self.b()[field::PRIO] = v;
    }

    /// Sets the address count.
    pub fn set_addr_count(&mut self, v: u8) {
        self.b()[field::COUNT] = v;
    }

    /// Sets the v2 auth type.
    pub fn set_auth_type(&mut self, v: AuthType) {
        self.b()[field::AUTH_TYPE] = v.into();
    }

    /// Sets the v2 interval (seconds).
    pub fn set_adver_int_v2(&mut self, v: u8) {
        self.b()[field::ADVER_INT] = v;
    }

    /// Sets the v3 interval (centiseconds, 12 bits; reserved bits zero).
    pub fn set_max_adver_int_v3(&mut self, v: u16) {
        self.b()[field::MAX_ADVER].copy_from_slice(&(v & 0x0fff).to_be_bytes());
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, v: u16) {
        self.b()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }

    /// Fills the checksum for this context.
    pub fn fill_checksum(&mut self, family: Family, ctx: &ChecksumCtx) {
        self.set_checksum(0);
        let c = checksum(self.message(family), ctx);
        self.set_checksum(c);
    }
}

/// What the checksum covers besides the message: keepalived computes v3
/// over IPv4 with the pseudo-header unless `v3_checksum_as_v2` is set, and
/// v3 over IPv6 always with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumCtx {
    /// The message alone (v2, or v3 with `v3_checksum_as_v2`).
    Plain,
    /// The message and the IPv4 or IPv6 pseudo-header.
    Pseudo {
        /// IP source.
        src: IpAddr,
        /// IP destination.
        dst: IpAddr,
    },
}

/// Internet checksum (RFC 1071) of `data` with an optional pseudo-header;
/// 0 means a received message verifies.
pub fn checksum(data: &[u8], ctx: &ChecksumCtx) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(*last) << 8;
        }
    };
    if let ChecksumCtx::Pseudo { src, dst } = ctx {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                add(&s.octets());
                add(&d.octets());
                add(&[0, IPPROTO_VRRP]);
                add(&(data.len() as u16).to_be_bytes());
            }
            (s, d) => {
                let o = |a: &IpAddr| match a {
                    IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
                    IpAddr::V6(a) => a.octets(),
                };
                add(&o(s));
                add(&o(d));
                add(&(data.len() as u32).to_be_bytes());
                add(&[0, 0, 0, IPPROTO_VRRP]);
            }
        }
    }
    add(data);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// VRRPv2 authentication as carried in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No authentication data (v3, or v2 type 0).
    None,
    /// Simple password: the 8 bytes on the wire.
    Pass([u8; AUTH_LEN]),
    /// IPsec AH (the VRRP auth data is zero; the AH header carries the ICV).
    Ah,
    /// An unknown type and its data.
    Unknown(u8, [u8; AUTH_LEN]),
}

/// A parsed advertisement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    /// 2 or 3.
    pub version: Version,
    /// Message type (1 = ADVERTISEMENT; others survive for counting).
    pub msg_type: u8,
    /// Virtual router id.
    pub vrid: Vrid,
    /// Sender's priority.
    pub priority: Priority,
    /// Advertisement interval (v2: whole seconds × 100).
    pub adver_int: Centiseconds,
    /// The virtual addresses.
    pub addrs: Vec<IpAddr>,
    /// v2 authentication.
    pub auth: Auth,
}

impl Repr {
    /// Parses a checked packet, verifying its checksum.
    pub fn parse<T: AsRef<[u8]>>(
        p: &Packet<T>,
        family: Family,
        ctx: &ChecksumCtx,
    ) -> Result<Repr, DecodeError> {
        p.check_len(family)?;
        let version = p.version();
        let adver_int = match version {
            Version::V2 => Centiseconds::from_secs(p.adver_int_v2()),
            Version::V3 => Centiseconds(p.max_adver_int_v3()),
            Version::Unknown(n) => return Err(DecodeError::Version(n)),
        };
        if !p.verify_checksum(family, ctx) {
            return Err(DecodeError::Checksum);
        }
        let vrid = Vrid::new(p.vrid()).ok_or(DecodeError::Vrid)?;
        let addrs = (0..p.addr_count() as usize)
            .map(|i| p.addr(family, i))
            .collect();
        let auth = if version == Version::V2 {
            let data = p.auth_data(family);
            match p.auth_type() {
                AuthType::None => Auth::None,
                AuthType::Pass => Auth::Pass(data),
                AuthType::Ah => Auth::Ah,
                AuthType::Unknown(n) => Auth::Unknown(n, data),
            }
        } else {
            Auth::None
        };
        Ok(Repr {
            version,
            msg_type: p.msg_type(),
            vrid,
            priority: Priority(p.priority()),
            adver_int,
            addrs,
            auth,
        })
    }

    /// Bytes needed to emit this message.
    pub fn buffer_len(&self) -> usize {
        let alen: usize = self
            .addrs
            .iter()
            .map(|a| if a.is_ipv4() { 4 } else { 16 })
            .sum();
        HEADER_LEN
            + alen
            + if self.version == Version::V2 {
                AUTH_LEN
            } else {
                0
            }
    }

    fn family(&self) -> Family {
        match self.addrs.first() {
            Some(IpAddr::V6(_)) => Family::V6,
            _ => Family::V4,
        }
    }

    /// Writes the message, with its checksum, into a buffer of
    /// [`Repr::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>, ctx: &ChecksumCtx) {
        p.set_version_type(self.version, self.msg_type);
        p.set_vrid(self.vrid.get());
        p.set_priority(self.priority.0);
        p.set_addr_count(self.addrs.len() as u8);
        match self.version {
            Version::V3 | Version::Unknown(_) => p.set_max_adver_int_v3(self.adver_int.0),
            Version::V2 => {
                let (t, _) = self.auth_wire();
                p.set_auth_type(t);
                p.set_adver_int_v2((self.adver_int.0 / 100) as u8);
            }
        }
        let mut off = HEADER_LEN;
        for a in &self.addrs {
            let buf = p.b();
            match a {
                IpAddr::V4(a) => {
                    buf[off..off + 4].copy_from_slice(&a.octets());
                    off += 4;
                }
                IpAddr::V6(a) => {
                    buf[off..off + 16].copy_from_slice(&a.octets());
                    off += 16;
                }
            }
        }
        if self.version == Version::V2 {
            let (_, data) = self.auth_wire();
            p.b()[off..off + AUTH_LEN].copy_from_slice(&data);
        }
        p.fill_checksum(self.family(), ctx);
    }

    fn auth_wire(&self) -> (AuthType, [u8; AUTH_LEN]) {
        match self.auth {
            Auth::None => (AuthType::None, [0; AUTH_LEN]),
            Auth::Pass(d) => (AuthType::Pass, d),
            Auth::Ah => (AuthType::Ah, [0; AUTH_LEN]),
            Auth::Unknown(t, d) => (AuthType::Unknown(t), d),
        }
    }

    /// Emits into a fresh vector.
    pub fn to_bytes(&self, ctx: &ChecksumCtx) -> Vec<u8> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut Packet::new_unchecked(&mut v[..]), ctx);
        v
    }
}

/// The password as keepalived stores it: truncated to 8 bytes, zero padded.
pub fn pass_bytes(pass: &str) -> [u8; AUTH_LEN] {
    let mut a = [0u8; AUTH_LEN];
    let b = pass.as_bytes();
    let n = b.len().min(AUTH_LEN);
    a[..n].copy_from_slice(&b[..n]);
    a
}

/// Constant-time comparison of password bytes (no early exit on mismatch).
pub fn pass_matches(a: &[u8; AUTH_LEN], b: &[u8; AUTH_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
