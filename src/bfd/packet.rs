//! BFD Control packets on the wire (RFC 5880 §4.1): a checked view over
//! bytes ([`Packet`]) and a parsed representation ([`Repr`]), in smoltcp's
//! style. Once [`Packet::new_checked`] succeeded no accessor can panic;
//! [`Repr::parse`] applies the reception checks of RFC 5880 §6.8.6 that do
//! not need a session, as keepalived 2.2.7 does (`bfd_check_packet`).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       My Discriminator                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Your Discriminator                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Desired Min TX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Required Min RX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Required Min Echo RX Interval                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use std::fmt;

/// UDP destination port of single-hop BFD Control packets (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;
/// Lowest UDP source port allowed by RFC 5881 §4.
pub const MIN_SOURCE_PORT: u16 = 49152;
/// Highest UDP source port allowed by RFC 5881 §4.
pub const MAX_SOURCE_PORT: u16 = 65535;
/// Length of a Control packet without authentication.
pub const HEADER_LEN: usize = 24;
/// The protocol version (RFC 5880 §4.1).
pub const VERSION: u8 = 1;

/// Why a received packet is discarded before any session sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than the 24-byte header.
    #[error("Packet is too small: {0} bytes")]
    Truncated(usize),
    /// The Length field differs from the received length.
    #[error("Packet size mismatch: length field: {field} bytes, buffer size: {len} bytes")]
    Length {
        /// The Length field.
        field: u8,
        /// The received length.
        len: usize,
    },
    /// Not version 1.
    #[error("Packet is of unsupported version: {0}")]
    Version(u8),
    /// Detect Mult of zero.
    #[error("Packet 'detection multiplier' field is zero")]
    ZeroMultiplier,
    /// The Multipoint bit is set.
    #[error("Packet has 'multipoint' flag")]
    Multipoint,
    /// My Discriminator of zero.
    #[error("Packet 'my discriminator' field is zero")]
    ZeroMyDiscr,
    /// Your Discriminator of zero while the state is Init or Up.
    #[error(
        "Packet 'your discriminator' field is zero and 'state' field is not Down or AdminDown"
    )]
    ZeroYourDiscr,
    /// Poll and Final both set.
    #[error("Packet has both poll and final flags set")]
    PollAndFinal,
    /// A diagnostic code above 8.
    #[error("Packet has invalid 'diag' field: {0}")]
    Diag(u8),
}

/// A session state (RFC 5880 §4.1, "Sta").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// 0.
    AdminDown,
    /// 1.
    Down,
    /// 2.
    Init,
    /// 3.
    Up,
}

impl State {
    /// From the two-bit field.
    pub fn from_bits(b: u8) -> State {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The two-bit field.
    pub fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// A diagnostic code (RFC 5880 §4.1, "Diag"), 0 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Diag(pub u8);

impl Diag {
    /// No Diagnostic.
    pub const NONE: Diag = Diag(0);
    /// Control Detection Time Expired.
    pub const EXPIRED: Diag = Diag(1);
    /// Neighbor Signaled Session Down.
    pub const NEIGHBOR_DOWN: Diag = Diag(3);
    /// Administratively Down.
    pub const ADMIN_DOWN: Diag = Diag(7);

    /// Whether RFC 5880 defines the code.
    pub fn is_valid(self) -> bool {
        self.0 <= 8
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // keepalived's wording (BFD_DIAG_STR).
        f.write_str(match self.0 {
            0 => "No Diagnostic",
            1 => "Control Detection Time Expired",
            2 => "Echo Function Failed",
            3 => "Neighbor Signaled Session Down",
            4 => "Forwarding Plane Reset",
            5 => "Path Down",
            6 => "Concatenated Path Down",
            7 => "Administratively Down",
            8 => "Reverse Concatenated Path Down",
            _ => "Unknown",
        })
    }
}

mod field {
    pub const VERS_DIAG: usize = 0;
    pub const FLAGS: usize = 1;
    pub const MULT: usize = 2;
    pub const LEN: usize = 3;
    pub const MY_DISCR: usize = 4;
    pub const YOUR_DISCR: usize = 8;
    pub const MIN_TX: usize = 12;
    pub const MIN_RX: usize = 16;
    pub const MIN_ECHO_RX: usize = 20;
}

const F_POLL: u8 = 0x20;
const F_FINAL: u8 = 0x10;
const F_CPI: u8 = 0x08;
const F_AUTH: u8 = 0x04;
const F_DEMAND: u8 = 0x02;
const F_MULTI: u8 = 0x01;

/// A view over the bytes of a Control packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it: accessors panic on a buffer
    /// shorter than [`HEADER_LEN`].
    pub fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer of at least [`HEADER_LEN`] bytes.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, DecodeError> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(DecodeError::Truncated(len));
        }
        Ok(Packet { buffer })
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = self.b();
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// Vers.
    pub fn version(&self) -> u8 {
        self.b()[field::VERS_DIAG] >> 5
    }
    /// Diag.
    pub fn diag(&self) -> Diag {
        Diag(self.b()[field::VERS_DIAG] & 0x1f)
    }
    /// Sta.
    pub fn state(&self) -> State {
        State::from_bits(self.b()[field::FLAGS] >> 6)
    }
    fn flag(&self, f: u8) -> bool {
        self.b()[field::FLAGS] & f != 0
    }
    /// P.
    pub fn poll(&self) -> bool {
        self.flag(F_POLL)
    }
    /// F.
    pub fn final_(&self) -> bool {
        self.flag(F_FINAL)
    }
    /// C.
    pub fn cpi(&self) -> bool {
        self.flag(F_CPI)
    }
    /// A.
    pub fn auth(&self) -> bool {
        self.flag(F_AUTH)
    }
    /// D.
    pub fn demand(&self) -> bool {
        self.flag(F_DEMAND)
    }
    /// M.
    pub fn multipoint(&self) -> bool {
        self.flag(F_MULTI)
    }
    /// Detect Mult.
    pub fn detect_mult(&self) -> u8 {
        self.b()[field::MULT]
    }
    /// Length.
    pub fn length(&self) -> u8 {
        self.b()[field::LEN]
    }
    /// My Discriminator.
    pub fn my_discr(&self) -> u32 {
        self.u32_at(field::MY_DISCR)
    }
    /// Your Discriminator.
    pub fn your_discr(&self) -> u32 {
        self.u32_at(field::YOUR_DISCR)
    }
    /// Desired Min TX Interval, µs.
    pub fn desired_min_tx(&self) -> u32 {
        self.u32_at(field::MIN_TX)
    }
    /// Required Min RX Interval, µs.
    pub fn required_min_rx(&self) -> u32 {
        self.u32_at(field::MIN_RX)
    }
    /// Required Min Echo RX Interval, µs.
    pub fn required_min_echo_rx(&self) -> u32 {
        self.u32_at(field::MIN_ECHO_RX)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn set_u32_at(&mut self, at: usize, v: u32) {
        self.bm()[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// Writes the fixed header (no authentication section).
    fn emit(&mut self, r: &Repr) {
        let b = self.bm();
        b[field::VERS_DIAG] = (VERSION << 5) | (r.diag.0 & 0x1f);
        let mut flags = r.state.bits() << 6;
        for (on, f) in [
            (r.poll, F_POLL),
            (r.final_, F_FINAL),
            (r.cpi, F_CPI),
            (r.demand, F_DEMAND),
        ] {
            if on {
                flags |= f;
            }
        }
        b[field::FLAGS] = flags;
        b[field::MULT] = r.detect_mult;
        b[field::LEN] = HEADER_LEN as u8;
        self.set_u32_at(field::MY_DISCR, r.my_discr);
        self.set_u32_at(field::YOUR_DISCR, r.your_discr);
        self.set_u32_at(field::MIN_TX, r.desired_min_tx);
        self.set_u32_at(field::MIN_RX, r.required_min_rx);
        self.set_u32_at(field::MIN_ECHO_RX, r.required_min_echo_rx);
    }
}

/// A parsed Control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// Diag.
    pub diag: Diag,
    /// Sta.
    pub state: State,
    /// P.
    pub poll: bool,
    /// F.
    pub final_: bool,
    /// C.
    pub cpi: bool,
    /// A (keepalived has no authentication: such packets are discarded
    /// by the session).
    pub auth: bool,
    /// D.
    pub demand: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_discr: u32,
    /// Your Discriminator.
    pub your_discr: u32,
    /// Desired Min TX Interval, µs.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, µs.
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, µs.
    pub required_min_echo_rx: u32,
}

impl Repr {
    /// Parses and checks a packet (RFC 5880 §6.8.6, the checks that do
    /// not need a session, in keepalived's order). Bytes past the header
    /// are allowed only when the Length field covers them.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Result<Repr, DecodeError> {
        let len = p.b().len();
        if len < HEADER_LEN {
            return Err(DecodeError::Truncated(len));
        }
        // keepalived: "If the Length field is greater than the payload of
        // the encapsulating protocol, the packet MUST be discarded" made
        // strict: the field must equal the datagram's length.
        if usize::from(p.length()) != len {
            return Err(DecodeError::Length {
                field: p.length(),
                len,
            });
        }
        if p.version() != VERSION {
            return Err(DecodeError::Version(p.version()));
        }
        if p.detect_mult() == 0 {
            return Err(DecodeError::ZeroMultiplier);
        }
        if p.multipoint() {
            return Err(DecodeError::Multipoint);
        }
        if p.my_discr() == 0 {
            return Err(DecodeError::ZeroMyDiscr);
        }
        if p.your_discr() == 0 && !matches!(p.state(), State::Down | State::AdminDown) {
            return Err(DecodeError::ZeroYourDiscr);
        }
        if p.poll() && p.final_() {
            return Err(DecodeError::PollAndFinal);
        }
        if !p.diag().is_valid() {
            return Err(DecodeError::Diag(p.diag().0));
        }
        Ok(Repr {
            diag: p.diag(),
            state: p.state(),
            poll: p.poll(),
            final_: p.final_(),
            cpi: p.cpi(),
            auth: p.auth(),
            demand: p.demand(),
            detect_mult: p.detect_mult(),
            my_discr: p.my_discr(),
            your_discr: p.your_discr(),
            desired_min_tx: p.desired_min_tx(),
            required_min_rx: p.required_min_rx(),
            required_min_echo_rx: p.required_min_echo_rx(),
        })
    }

    /// Parses bytes (view and checks together).
    pub fn parse_bytes(data: &[u8]) -> Result<Repr, DecodeError> {
        Repr::parse(&Packet::new_checked(data)?)
    }

    /// The packet's length on the wire.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the packet into `buf` (at least [`HEADER_LEN`] bytes).
    /// The Authentication bit is never set: there is no authentication
    /// section to send.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Packet<T>) {
        p.emit(self);
    }

    /// The packet as bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        self.emit(&mut Packet::new_unchecked(&mut b[..]));
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first packet keepalived 2.2.7 sent in a capture (tcpdump -x):
    /// Down, no flags, mult 3, my 0x7530423a, your 0, tx 1 s, rx 100 ms.
    const KEEPALIVED_DOWN: [u8; 24] = [
        0x20, 0x40, 0x03, 0x18, 0x75, 0x30, 0x42, 0x3a, 0, 0, 0, 0, 0x00, 0x0f, 0x42, 0x40, 0x00,
        0x01, 0x86, 0xa0, 0, 0, 0, 0,
    ];
    /// keepalived's Up packet with Poll set, answering discriminator
    /// 0xc077e6da, 100 ms both ways.
    const KEEPALIVED_UP_POLL: [u8; 24] = [
        0x20, 0xe0, 0x03, 0x18, 0x75, 0x30, 0x42, 0x3a, 0xc0, 0x77, 0xe6, 0xda, 0x00, 0x01, 0x86,
        0xa0, 0x00, 0x01, 0x86, 0xa0, 0, 0, 0, 0,
    ];

    #[test]
    fn parses_keepalived_packets_and_emits_them_back() {
        let r = Repr::parse_bytes(&KEEPALIVED_DOWN).unwrap();
        assert_eq!(r.state, State::Down);
        assert_eq!(r.diag, Diag::NONE);
        assert!(!r.poll && !r.final_ && !r.demand && !r.auth);
        assert_eq!(r.detect_mult, 3);
        assert_eq!(r.my_discr, 0x7530_423a);
        assert_eq!(r.your_discr, 0);
        assert_eq!(r.desired_min_tx, 1_000_000);
        assert_eq!(r.required_min_rx, 100_000);
        assert_eq!(r.to_bytes(), KEEPALIVED_DOWN);
        let up = Repr::parse_bytes(&KEEPALIVED_UP_POLL).unwrap();
        assert_eq!(up.state, State::Up);
        assert!(up.poll && !up.final_);
        assert_eq!(up.your_discr, 0xc077_e6da);
        assert_eq!(up.to_bytes(), KEEPALIVED_UP_POLL);
    }

    #[test]
    fn rfc5880_6_8_6_checks() {
        let ok = KEEPALIVED_UP_POLL;
        let with = |f: &dyn Fn(&mut [u8; 24])| {
            let mut b = ok;
            f(&mut b);
            Repr::parse_bytes(&b)
        };
        // "If the version number is not correct (1), the packet MUST be discarded."
        assert_eq!(with(&|b| b[0] = 0x40), Err(DecodeError::Version(2)));
        // "If the Length field is less than the minimum correct value ... discarded."
        assert_eq!(
            with(&|b| b[3] = 20),
            Err(DecodeError::Length { field: 20, len: 24 })
        );
        // "If the Detect Mult field is zero, the packet MUST be discarded."
        assert_eq!(with(&|b| b[2] = 0), Err(DecodeError::ZeroMultiplier));
        // "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
        assert_eq!(with(&|b| b[1] |= 1), Err(DecodeError::Multipoint));
        // "If the My Discriminator field is zero, the packet MUST be discarded."
        assert_eq!(with(&|b| b[4..8].fill(0)), Err(DecodeError::ZeroMyDiscr));
        // "If the Your Discriminator field is zero and the State field is not
        // Down or AdminDown, the packet MUST be discarded."
        assert_eq!(with(&|b| b[8..12].fill(0)), Err(DecodeError::ZeroYourDiscr));
        // RFC 5880 §4.1: "A system MUST NOT set both the Poll and Final bits".
        assert_eq!(with(&|b| b[1] |= F_FINAL), Err(DecodeError::PollAndFinal));
        assert_eq!(with(&|b| b[0] = 0x20 | 9), Err(DecodeError::Diag(9)));
        assert_eq!(
            Repr::parse_bytes(&ok[..23]),
            Err(DecodeError::Truncated(23))
        );
        let mut long = ok.to_vec();
        long.push(0);
        assert_eq!(
            Repr::parse_bytes(&long),
            Err(DecodeError::Length { field: 24, len: 25 })
        );
    }

    #[test]
    fn never_panics_on_short_or_odd_input() {
        for len in 0..40usize {
            for fill in [0u8, 0xff, 0x20, 0x18] {
                let v = vec![fill; len];
                let _ = Repr::parse_bytes(&v);
            }
        }
    }
}
