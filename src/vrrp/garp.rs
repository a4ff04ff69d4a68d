//! Gratuitous ARP and unsolicited Neighbour Advertisement frames, byte for
//! byte as keepalived 2.2.7 sends them on AF_PACKET (reference §4.7).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::packet::{checksum, ChecksumCtx};

/// A MAC address.
pub type Mac = [u8; 6];

/// Length of a gratuitous ARP frame.
pub const ARP_FRAME_LEN: usize = 42;
/// Length of an unsolicited NA frame.
pub const NA_FRAME_LEN: usize = 86;

/// Ethernet broadcast ARP request `who-has VIP tell VIP`, target hardware
/// address ff:ff:ff:ff:ff:ff.
pub fn arp_frame(mac: Mac, vip: Ipv4Addr) -> [u8; ARP_FRAME_LEN] {
    let mut f = [0u8; ARP_FRAME_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    // htype 1, ptype IPv4, hlen 6, plen 4, request.
    f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&[0xff; 6]);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// Unsolicited NA from the VIP to ff02::1: Override flag, target = VIP,
/// target link-layer address option, hop limit 255.
pub fn na_frame(mac: Mac, vip: Ipv6Addr) -> [u8; NA_FRAME_LEN] {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut f = [0u8; NA_FRAME_LEN];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    let ip = &mut f[14..54];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&32u16.to_be_bytes());
    ip[6] = 58;
    ip[7] = 255;
    ip[8..24].copy_from_slice(&vip.octets());
    ip[24..40].copy_from_slice(&all_nodes.octets());
    let icmp = &mut f[54..86];
    icmp[0] = 136;
    icmp[4] = 0x20; // Override
    icmp[8..24].copy_from_slice(&vip.octets());
    icmp[24] = 2; // target link-layer address
    icmp[25] = 1;
    icmp[26..32].copy_from_slice(&mac);
    let c = icmpv6_checksum(vip, all_nodes, &f[54..86]);
    f[56..58].copy_from_slice(&c.to_be_bytes());
    f
}

fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    // Same pseudo-header layout as VRRP over IPv6, with next header 58.
    let mut pseudo = Vec::with_capacity(40 + msg.len());
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(msg);
    checksum(&pseudo, &ChecksumCtx::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    const MAC: Mac = [0x4e, 0xe2, 0x4b, 0x13, 0x06, 0x7c];

    // Captured from keepalived 2.2.7 becoming MASTER (tcpdump -e on the
    // peer of a veth pair; see tests/golden_adverts.rs for the set-up).
    #[test]
    fn gratuitous_arp_matches_keepalived_capture() {
        let want = hex("ffffffffffff 4ee24b13067c 0806 \
             0001 0800 0604 0001 4ee24b13067c 0a630064 ffffffffffff 0a630064");
        assert_eq!(arp_frame(MAC, Ipv4Addr::new(10, 99, 0, 100)).to_vec(), want);
    }

    #[test]
    fn unsolicited_na_matches_keepalived_capture() {
        let want = hex("333300000001 4ee24b13067c 86dd \
             6000 0000 0020 3aff fd00 0099 0000 0000 0000 0000 0000 0100 ff02 0000 0000 0000 \
             0000 0000 0000 0001 8800 b8fa 2000 0000 fd00 0099 0000 0000 0000 0000 0000 0100 \
             0201 4ee2 4b13 067c");
        assert_eq!(
            na_frame(MAC, "fd00:99::100".parse().unwrap()).to_vec(),
            want
        );
        let ll = na_frame(MAC, "fe80::100".parse().unwrap());
        assert_eq!(&ll[56..58], &[0xb7, 0x2c]);
    }
}
