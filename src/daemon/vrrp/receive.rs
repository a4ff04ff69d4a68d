//! The receive path: a packet from a VRRP socket, parsed to the IP facts
//! the core checks (and AH verified), handed to the core once.

use super::*;

impl Driver {
    pub(super) async fn received(&mut self, rx: RxAdvert) {
        let family = if rx.src.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        let ifindex = IfIndex(rx.ifindex);
        let plain = |src: IpAddr, dst: IpAddr, ttl: u8, msg| Received {
            ifindex,
            src,
            dst,
            ttl,
            ah: false,
            ah_valid: false,
            msg,
        };
        let r = match family {
            Family::V4 => match Ipv4Repr::parse(&rx.bytes) {
                Ok((h, ihl)) if h.protocol == IPPROTO_AH => {
                    let Ok(a) = AhRepr::parse(&rx.bytes[ihl..]) else {
                        self.too_short("IPv4 VRRP packet with AH", rx.bytes.len());
                        return;
                    };
                    let msg = &rx.bytes[ihl + AhRepr::LEN..];
                    let mut r = plain(h.src.into(), h.dst.into(), h.ttl, msg);
                    r.ah = true;
                    // The key is the one of the instance the advert is for.
                    let key = self.cur.router.lookup(&r, family).and_then(|id| {
                        match &self.cur.router.instance(id).config().auth {
                            AuthConfig::Ah(k) => Some(*k),
                            _ => None,
                        }
                    });
                    r.ah_valid = key.is_some_and(|k| {
                        ah_icv(&rx.bytes, ihl, &k, !h.dst.is_multicast()) == a.icv
                    });
                    r
                }
                Ok((h, ihl)) => plain(h.src.into(), h.dst.into(), h.ttl, &rx.bytes[ihl..]),
                Err(_) => {
                    self.too_short("IPv4 VRRP packet", rx.bytes.len());
                    return;
                }
            },
            Family::V6 => plain(rx.src, rx.dst, rx.ttl, &rx.bytes[..]),
        };
        let mut out = Vec::new();
        let now = self.now();
        // The instance logs its own drops; only a packet too short to
        // name one is the driver's to log.
        if let Err(DropReason::TooShort { .. }) =
            self.cur.router.handle_advert(now, family, &r, &mut out)
        {
            let what = match family {
                Family::V4 => "IPv4 VRRP packet",
                Family::V6 => "IPv6 VRRP packet",
            };
            self.too_short(what, rx.bytes.len());
        }
        self.execute(out).await;
    }

    /// keepalived's line for a packet too short to carry a VRRP header
    /// (no instance, no counter), rate-limited like the instances' drops.
    pub(super) fn too_short(&mut self, what: &str, len: usize) {
        let now = self.now();
        let line = || Some(format!("{what} too short - {len} bytes"));
        for l in self.short_log.lines(now, "too short", line) {
            log_line(&l);
        }
    }
}

/// Forwards the adverts one socket receives to the main loop.
pub(super) async fn receive(s: Arc<VrrpSocket>, tx: mpsc::Sender<RxAdvert>) {
    loop {
        match s.recv().await {
            Ok(a) => {
                if tx.send(a).await.is_err() {
                    break;
                }
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}
