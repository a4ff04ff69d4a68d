//! The IPVS client: resolves the family, sends [`Request`]s, waits for the
//! ACK or the end of a dump, and applies keepalived's error policy.
//!
//! Blocking on purpose: every IPVS command is a short synchronous kernel
//! call, as in keepalived; an async caller runs it on a blocking thread.
//! The socket sits behind [`Transport`] so the request/ACK logic and the
//! policy are tested against a scripted kernel.

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::protocols::NETLINK_GENERIC;
use netlink_sys::{Socket, SocketAddr};

use super::error::{Error, Result};
use super::repr::{
    Dest, DestStatus, Info, Service, ServiceKey, ServiceStatus, SyncDaemon, SyncState, Timeouts,
};
use super::request::Request;
use super::wire::{Attr, Message, FAMILY_NAME};

/// Moves whole netlink datagrams.
pub trait Transport {
    /// Sends one datagram.
    fn send(&mut self, buf: &[u8]) -> std::io::Result<()>;
    /// Receives one datagram.
    fn recv(&mut self) -> std::io::Result<Vec<u8>>;
}

/// A `NETLINK_GENERIC` socket.
pub struct NlSocket(Socket);

impl NlSocket {
    /// Opens and binds a generic-netlink socket.
    pub fn open() -> std::io::Result<NlSocket> {
        let mut s = Socket::new(NETLINK_GENERIC)?;
        s.bind_auto()?;
        s.connect(&SocketAddr::new(0, 0))?;
        Ok(NlSocket(s))
    }
}

impl Transport for NlSocket {
    fn send(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.send(buf, 0).map(|_| ())
    }

    fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        self.0.recv_from_full().map(|(b, _)| b)
    }
}

fn decode<E: std::fmt::Display>(e: E) -> Error {
    Error::Decode(e.to_string())
}

/// Splits a datagram into netlink messages (each 4-byte aligned).
fn messages(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        if off + 16 > buf.len() {
            return None;
        }
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().ok()?) as usize;
        if len < 16 || off + len > buf.len() {
            return None;
        }
        let m = &buf[off..off + len];
        off += (len + 3) & !3;
        Some(m)
    })
}

/// An IPVS generic-netlink client.
pub struct Client<T: Transport = NlSocket> {
    t: T,
    family: u16,
    seq: u32,
    info: Info,
}

impl Client<NlSocket> {
    /// Connects to IPVS: resolves the family and asks GET_INFO, as
    /// keepalived does at start. [`Error::NoIpvs`] when it is missing.
    pub fn open() -> Result<Client> {
        Client::with_transport(NlSocket::open()?)
    }

    /// [`Client::open`], and on [`Error::NoIpvs`] runs `modprobe -s -- ip_vs`
    /// (the kernel's modprobe helper) and tries once more, like keepalived.
    pub fn open_loading_module() -> Result<Client> {
        match Client::open() {
            Err(Error::NoIpvs) => {
                let modprobe = std::fs::read_to_string("/proc/sys/kernel/modprobe")
                    .map(|s| s.trim().to_string())
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "/sbin/modprobe".into());
                let _ = std::process::Command::new(modprobe)
                    .args(["-s", "--", "ip_vs"])
                    .status();
                Client::open()
            }
            r => r,
        }
    }
}

impl<T: Transport> Client<T> {
    /// Resolves the family over `t` and asks GET_INFO.
    pub fn with_transport(t: T) -> Result<Client<T>> {
        let mut c = Client {
            t,
            family: 0,
            seq: 0,
            info: Info {
                version: 0,
                conn_tab_size: 0,
            },
        };
        c.family = c.resolve_family()?;
        let reply = c.execute(&Request::GetInfo)?;
        let attrs: Vec<Attr> = reply.into_iter().flat_map(|m| m.attrs).collect();
        c.info = Info::from_attrs(&attrs).map_err(decode)?;
        Ok(c)
    }

    /// What GET_INFO reported at connection.
    pub fn info(&self) -> Info {
        self.info
    }

    /// The transport (tests inspect what was sent).
    pub fn transport(&self) -> &T {
        &self.t
    }

    /// The generic-netlink family id of IPVS.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn resolve_family(&mut self) -> Result<u16> {
        let mut g = GenlMessage::from_payload(GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(FAMILY_NAME.into())],
        });
        g.finalize();
        let mut nl = NetlinkMessage::from(g);
        nl.header.flags = NLM_F_REQUEST;
        nl.header.sequence_number = self.next_seq();
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.t.send(&buf)?;
        let seq = self.seq;
        loop {
            let dgram = self.t.recv()?;
            for raw in messages(&dgram) {
                let m =
                    NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(raw).map_err(decode)?;
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(g) => {
                        for a in g.payload.nlas {
                            if let GenlCtrlAttrs::FamilyId(id) = a {
                                return Ok(id);
                            }
                        }
                        return Err(Error::Decode("family reply without id".into()));
                    }
                    NetlinkPayload::Error(e) if e.raw_code() == -libc::ENOENT => {
                        return Err(Error::NoIpvs)
                    }
                    NetlinkPayload::Error(e) if e.code.is_some() => {
                        return Err(Error::Io(e.to_io()))
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends one request and collects the replies (a dump's entries; none
    /// for a command). Kernel errors are returned as they are: no policy.
    pub fn execute(&mut self, req: &Request) -> Result<Vec<Message>> {
        let mut g = GenlMessage::from_payload(req.to_message());
        g.set_resolved_family_id(self.family);
        g.finalize();
        let mut nl = NetlinkMessage::from(g);
        nl.header.flags = NLM_F_REQUEST | if req.is_dump() { NLM_F_DUMP } else { NLM_F_ACK };
        nl.header.sequence_number = self.next_seq();
        nl.finalize();
        let mut buf = vec![0; nl.buffer_len()];
        nl.serialize(&mut buf);
        self.t.send(&buf)?;
        let seq = self.seq;
        let mut out = Vec::new();
        let kernel = |errno: i32| Error::Kernel {
            cmd: req.cmd(),
            errno,
            context: req.describe(),
        };
        loop {
            let dgram = self.t.recv()?;
            for raw in messages(&dgram) {
                let m = NetlinkMessage::<GenlMessage<Message>>::deserialize(raw).map_err(decode)?;
                if m.header.sequence_number != seq {
                    continue;
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(g) => out.push(g.payload),
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(out),
                        Some(c) => return Err(kernel(-c.get())),
                    },
                    NetlinkPayload::Done(d) if d.code < 0 => return Err(kernel(-d.code)),
                    NetlinkPayload::Done(_) => return Ok(out),
                    _ => {}
                }
            }
        }
    }

    /// [`Client::execute`] with keepalived's policy: EEXIST on an add and
    /// ENOENT on a delete are success; SET_DEST's ENOENT is retried as
    /// NEW_DEST.
    pub fn apply(&mut self, req: &Request) -> Result<()> {
        match self.execute(req) {
            Ok(_) => Ok(()),
            Err(Error::Kernel { errno, .. }) if req.tolerates(errno) => Ok(()),
            Err(Error::Kernel { errno, .. }) if errno == libc::ENOENT => match req {
                Request::SetDest(s, d) => self.apply(&Request::NewDest(s.clone(), *d)),
                _ => Err(Error::Kernel {
                    cmd: req.cmd(),
                    errno,
                    context: req.describe(),
                }),
            },
            Err(e) => Err(e),
        }
    }

    /// NEW_SERVICE (EEXIST is success).
    pub fn add_service(&mut self, s: &Service) -> Result<()> {
        self.apply(&Request::NewService(s.clone()))
    }

    /// SET_SERVICE.
    pub fn update_service(&mut self, s: &Service) -> Result<()> {
        self.apply(&Request::SetService(s.clone()))
    }

    /// DEL_SERVICE (ENOENT is success).
    pub fn del_service(&mut self, s: &Service) -> Result<()> {
        self.apply(&Request::DelService(s.clone()))
    }

    /// NEW_DEST (EEXIST is success).
    pub fn add_dest(&mut self, s: &Service, d: &Dest) -> Result<()> {
        self.apply(&Request::NewDest(s.clone(), *d))
    }

    /// SET_DEST, falling back to NEW_DEST on ENOENT.
    pub fn update_dest(&mut self, s: &Service, d: &Dest) -> Result<()> {
        self.apply(&Request::SetDest(s.clone(), *d))
    }

    /// DEL_DEST (ENOENT is success).
    pub fn del_dest(&mut self, s: &Service, d: &Dest) -> Result<()> {
        self.apply(&Request::DelDest(s.clone(), *d))
    }

    /// FLUSH: removes every service (`lvs_flush`, `lvs_flush_on_stop`).
    pub fn flush(&mut self) -> Result<()> {
        self.apply(&Request::Flush)
    }

    /// NEW_DAEMON (`lvs_sync_daemon`).
    pub fn start_daemon(&mut self, d: &SyncDaemon) -> Result<()> {
        self.apply(&Request::NewDaemon(d.clone()))
    }

    /// DEL_DAEMON.
    pub fn stop_daemon(&mut self, state: SyncState, sync_id: u32) -> Result<()> {
        self.apply(&Request::DelDaemon(state, sync_id))
    }

    /// GET_CONFIG: the current connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts> {
        let reply = self.execute(&Request::GetConfig)?;
        let attrs: Vec<Attr> = reply.into_iter().flat_map(|m| m.attrs).collect();
        Ok(Timeouts::from_attrs(&attrs))
    }

    /// SET_CONFIG (`lvs_timeouts`; zeros leave a value unchanged).
    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<()> {
        self.apply(&Request::SetConfig(*t))
    }

    /// GET_SERVICE dump.
    pub fn services(&mut self) -> Result<Vec<ServiceStatus>> {
        let mut out = Vec::new();
        for m in self.execute(&Request::GetServices)? {
            for a in m.attrs {
                if let Attr::Service(v) = a {
                    let (service, stats) = Service::from_attrs(&v).map_err(decode)?;
                    out.push(ServiceStatus { service, stats });
                }
            }
        }
        Ok(out)
    }

    /// GET_DEST dump of one service.
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<DestStatus>> {
        let mut out = Vec::new();
        for m in self.execute(&Request::GetDests(*key))? {
            for a in m.attrs {
                if let Attr::Dest(v) = a {
                    out.push(Dest::from_attrs(&v, key.family()).map_err(decode)?);
                }
            }
        }
        Ok(out)
    }

    /// GET_DAEMON dump: `(state, interface, sync id)` of running daemons.
    pub fn daemons(&mut self) -> Result<Vec<(u32, String, u32)>> {
        use super::wire::DaemonAttr;
        let mut out = Vec::new();
        for m in self.execute(&Request::GetDaemons)? {
            for a in m.attrs {
                if let Attr::Daemon(v) = a {
                    let (mut st, mut ifn, mut id) = (0, String::new(), 0);
                    for d in v {
                        match d {
                            DaemonAttr::State(s) => st = s,
                            DaemonAttr::McastIfn(s) => ifn = s,
                            DaemonAttr::SyncId(s) => id = s,
                            _ => {}
                        }
                    }
                    out.push((st, ifn, id));
                }
            }
        }
        Ok(out)
    }
}
