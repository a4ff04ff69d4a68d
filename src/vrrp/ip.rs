//! The IP-layer fields VRRP's receive checks need: the IPv4 header (raw
//! IPv4 sockets deliver it) and keepalived's IPsec AH header. IPv6 raw
//! sockets deliver no header; the driver passes hop limit and addresses.

use std::net::{IpAddr, Ipv4Addr};

use super::packet::DecodeError;

/// IP protocol number of AH.
pub const IPPROTO_AH: u8 = 51;

/// A parsed IPv4 header (no options are emitted; received options are skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Type of service (keepalived sends 0xc0).
    pub tos: u8,
    /// Total length.
    pub total_len: u16,
    /// Identification.
    pub id: u16,
    /// Time to live (must be 255 for multicast adverts).
    pub ttl: u8,
    /// Protocol (112 VRRP, 51 AH).
    pub protocol: u8,
    /// Source.
    pub src: Ipv4Addr,
    /// Destination.
    pub dst: Ipv4Addr,
}

impl Ipv4Repr {
    /// Parses a header; returns it and its length.
    pub fn parse(b: &[u8]) -> Result<(Ipv4Repr, usize), DecodeError> {
        if b.len() < 20 || b[0] >> 4 != 4 {
            return Err(DecodeError::Truncated);
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        if ihl < 20 || b.len() < ihl {
            return Err(DecodeError::Truncated);
        }
        let r = Ipv4Repr {
            tos: b[1],
            total_len: u16::from_be_bytes([b[2], b[3]]),
            id: u16::from_be_bytes([b[4], b[5]]),
            ttl: b[8],
            protocol: b[9],
            src: Ipv4Addr::new(b[12], b[13], b[14], b[15]),
            dst: Ipv4Addr::new(b[16], b[17], b[18], b[19]),
        };
        Ok((r, ihl))
    }

    /// Emits a 20-byte header with its checksum (DF clear, as keepalived).
    pub fn emit(&self, b: &mut [u8]) {
        b[0] = 0x45;
        b[1] = self.tos;
        b[2..4].copy_from_slice(&self.total_len.to_be_bytes());
        b[4..6].copy_from_slice(&self.id.to_be_bytes());
        b[6..8].copy_from_slice(&[0, 0]);
        b[8] = self.ttl;
        b[9] = self.protocol;
        b[10..12].copy_from_slice(&[0, 0]);
        b[12..16].copy_from_slice(&self.src.octets());
        b[16..20].copy_from_slice(&self.dst.octets());
        let c = super::packet::checksum(&b[..20], &super::packet::ChecksumCtx::Plain);
        b[10..12].copy_from_slice(&c.to_be_bytes());
    }
}

/// keepalived's AH header: HMAC-MD5-96, SPI = sender's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AhRepr {
    /// Next header (112).
    pub next_header: u8,
    /// Security parameter index.
    pub spi: u32,
    /// Sequence number.
    pub seq: u32,
    /// Integrity check value.
    pub icv: [u8; 12],
}

impl AhRepr {
    /// Length of the header keepalived sends.
    pub const LEN: usize = 24;

    /// Parses the header.
    pub fn parse(b: &[u8]) -> Result<AhRepr, DecodeError> {
        if b.len() < Self::LEN || b[1] != 4 {
            return Err(DecodeError::Truncated);
        }
        let mut icv = [0u8; 12];
        icv.copy_from_slice(&b[12..24]);
        Ok(AhRepr {
            next_header: b[0],
            spi: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            seq: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            icv,
        })
    }

    /// Emits the header.
    pub fn emit(&self, b: &mut [u8]) {
        b[0] = self.next_header;
        b[1] = 4;
        b[2..4].copy_from_slice(&[0, 0]);
        b[4..8].copy_from_slice(&self.spi.to_be_bytes());
        b[8..12].copy_from_slice(&self.seq.to_be_bytes());
        b[12..24].copy_from_slice(&self.icv);
    }
}

/// Source and destination of a received advert, plus TTL/hop limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpMeta {
    /// Sender.
    pub src: IpAddr,
    /// Destination (multicast group or our unicast address).
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
}

/// keepalived's AH integrity check value: HMAC-MD5 keyed with the 8-byte
/// password, over the IPv4 header with TOS, fragment field and checksum
/// zeroed (and TTL too for unicast), the AH header with a zero ICV, and the
/// VRRP message; truncated to 96 bits (RFC 2404).
pub fn ah_icv(packet: &[u8], ihl: usize, key: &[u8; 8], unicast: bool) -> [u8; 12] {
    use hmac::{Hmac, Mac};
    let mut b = packet.to_vec();
    b[1] = 0;
    b[6] = 0;
    b[7] = 0;
    b[10] = 0;
    b[11] = 0;
    if unicast {
        b[8] = 0;
    }
    if b.len() >= ihl + AhRepr::LEN {
        b[ihl + 12..ihl + 24].fill(0);
    }
    let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&b);
    let d = mac.finalize().into_bytes();
    let mut icv = [0u8; 12];
    icv.copy_from_slice(&d[..12]);
    icv
}

/// A whole AH-protected IPv4 advert as keepalived sends it: IP header
/// (TOS 0xc0, TTL `ttl`, protocol AH), AH header (SPI = source address,
/// sequence `seq`, ICV over the whole packet), then the VRRP message.
/// `id` must not be 0: the kernel would replace it after the ICV is made.
pub fn ah_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    id: u16,
    seq: u32,
    key: &[u8; 8],
    vrrp: &[u8],
) -> Vec<u8> {
    let len = 20 + AhRepr::LEN + vrrp.len();
    let mut b = vec![0u8; len];
    Ipv4Repr {
        tos: 0xc0,
        total_len: len as u16,
        id,
        ttl,
        protocol: IPPROTO_AH,
        src,
        dst,
    }
    .emit(&mut b[..20]);
    let mut ah = AhRepr {
        next_header: super::packet::IPPROTO_VRRP,
        spi: u32::from(src),
        seq,
        icv: [0; 12],
    };
    ah.emit(&mut b[20..20 + AhRepr::LEN]);
    b[20 + AhRepr::LEN..].copy_from_slice(vrrp);
    ah.icv = ah_icv(&b, 20, key, !dst.is_multicast());
    ah.emit(&mut b[20..20 + AhRepr::LEN]);
    b
}
