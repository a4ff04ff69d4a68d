//! Units and ranges of VRRP, as types: no bare integers for priorities or
//! intervals, and no floating-point seconds anywhere in the core.

use std::fmt;

/// A Virtual Router Identifier, 1..=255 (RFC 5798 §5.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid(u8);

impl Vrid {
    /// A VRID, or `None` for 0.
    pub const fn new(v: u8) -> Option<Vrid> {
        if v == 0 {
            None
        } else {
            Some(Vrid(v))
        }
    }

    /// The wire value.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A VRRP priority. 0 means "the master is resigning", 255 "address owner".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub u8);

impl Priority {
    /// Sent by a master that stops (RFC 5798 §6.4.3).
    pub const RESIGN: Priority = Priority(0);
    /// The address owner (RFC 5798 §5.2.4).
    pub const OWNER: Priority = Priority(255);
    /// keepalived's default.
    pub const DEFAULT: Priority = Priority(100);

    /// Whether this is the owner priority.
    pub const fn is_owner(self) -> bool {
        self.0 == 255
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An advertisement interval in centiseconds (VRRPv3 carries 12 bits of
/// it; VRRPv2 carries whole seconds, i.e. multiples of 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Centiseconds(pub u16);

impl Centiseconds {
    /// The largest VRRPv3 interval, 40.95 s.
    pub const MAX_V3: Centiseconds = Centiseconds(0x0fff);

    /// From whole seconds (VRRPv2's unit).
    pub const fn from_secs(s: u8) -> Centiseconds {
        Centiseconds(s as u16 * 100)
    }

    /// In microseconds, the core's time unit.
    pub const fn as_micros(self) -> u64 {
        self.0 as u64 * 10_000
    }
}

/// Address family of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// The interface an advert arrived on (a kernel ifindex): a VRID names a
/// virtual router on one LAN only, so demultiplexing starts here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IfIndex(pub u32);

impl fmt::Display for IfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_second_is_100_centiseconds_is_1_000_000_us() {
        assert_eq!(Centiseconds::from_secs(1), Centiseconds(100));
        assert_eq!(Centiseconds(100).as_micros(), 1_000_000);
        assert_eq!(Centiseconds(1).as_micros(), 10_000);
    }

    #[test]
    fn vrid_zero_is_invalid() {
        assert_eq!(Vrid::new(0), None);
        assert_eq!(Vrid::new(51).map(Vrid::get), Some(51));
    }
}
