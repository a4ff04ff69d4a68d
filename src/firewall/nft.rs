//! nf_tables netlink messages, encoded by hand: the few objects and
//! expressions keepalived's firewall uses. rustables is GPL-3.0 and nftnl
//! binds the C libnftnl, neither fits an MIT/Apache binary; the encoding is
//! the kernel's uapi (`linux/netfilter/nf_tables.h`), every integer
//! attribute big-endian.

/// `NFNL_SUBSYS_NFTABLES`.
const SUBSYS: u16 = 10;
const NLM_F_REQUEST: u16 = 0x1;
/// Asks for an acknowledgement.
pub const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;

/// Protocol families of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NfProto {
    /// `table ip`.
    Ipv4 = 2,
    /// `table ip6`.
    Ipv6 = 10,
}

/// Message types (`enum nf_tables_msg_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    /// NFT_MSG_NEWTABLE.
    NewTable = 0,
    /// NFT_MSG_GETTABLE.
    GetTable = 1,
    /// NFT_MSG_DELTABLE.
    DelTable = 2,
    /// NFT_MSG_NEWCHAIN.
    NewChain = 3,
    /// NFT_MSG_NEWRULE.
    NewRule = 6,
    /// NFT_MSG_NEWSET.
    NewSet = 9,
    /// NFT_MSG_NEWSETELEM.
    NewSetElem = 12,
    /// NFT_MSG_DELSETELEM.
    DelSetElem = 14,
}

/// Data types nft displays set keys with (nftables' `datatypes.h`).
pub mod datatype {
    /// `ipv4_addr`.
    pub const IPADDR: u32 = 7;
    /// `ipv6_addr`.
    pub const IP6ADDR: u32 = 8;
    /// `iface_index`.
    pub const IFINDEX: u32 = 20;
    /// `icmpv6_type`.
    pub const ICMPV6_TYPE: u32 = 29;
    /// `ifname`.
    pub const IFNAME: u32 = 41;
    /// Bits per member of a concatenation.
    pub const BITS: u32 = 6;
}

/// Registers.
pub mod reg {
    /// The verdict register.
    pub const VERDICT: u32 = 0;
    /// NFT_REG_1.
    pub const R1: u32 = 1;
    /// NFT_REG_2.
    pub const R2: u32 = 2;
}

/// Payload bases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The network header.
    Network = 1,
    /// The transport header.
    Transport = 2,
}

/// Meta keys (`enum nft_meta_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    /// Input interface index.
    Iif = 4,
    /// Output interface index.
    Oif = 5,
    /// Input interface name.
    IifName = 6,
    /// Output interface name.
    OifName = 7,
    /// Layer-4 protocol.
    L4Proto = 16,
    /// Output interface kind (`macvlan`).
    OifKind = 27,
}

/// Verdicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// NF_DROP.
    Drop,
    /// NF_ACCEPT.
    Accept,
    /// NFT_GOTO a chain.
    Goto(String),
}

/// One rule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Load `len` bytes at `offset` of a header into `dreg`.
    Payload {
        /// Header.
        base: Base,
        /// Byte offset.
        offset: u32,
        /// Byte count.
        len: u32,
        /// Destination register.
        dreg: u32,
    },
    /// Load a meta key into `dreg`.
    Meta(Meta, u32),
    /// `sreg == data`.
    CmpEq(u32, Vec<u8>),
    /// `reg = (reg & mask) ^ 0`.
    Mask(u32, Vec<u8>),
    /// Look `sreg` up in a set (a map writes its value to `dreg`).
    Lookup {
        /// Set name.
        set: String,
        /// Source register.
        sreg: u32,
        /// Destination register, for maps.
        dreg: Option<u32>,
        /// The set's id in the transaction that creates it, if any.
        set_id: u32,
    },
    /// Duplicate the packet to address `sreg_addr` on device `sreg_dev`.
    Dup(u32, u32),
    /// A counter (`nftables_counters`).
    Counter,
    /// The verdict.
    Verdict(Verdict),
}

/// Netlink attributes being written, with nesting.
struct Attrs<'a> {
    buf: &'a mut Vec<u8>,
}

impl Attrs<'_> {
    fn put(&mut self, ty: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }
    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }
    fn str(&mut self, ty: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.put(ty, &v);
    }
    fn u32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_be_bytes());
    }
    fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Attrs)) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        f(&mut Attrs { buf: self.buf });
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }
    /// `NFTA_DATA_VALUE` inside `ty`.
    fn value(&mut self, ty: u16, data: &[u8]) {
        self.nest(ty, |a| a.put(1, data));
    }
}

/// A batch of messages the kernel applies atomically.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    buf: Vec<u8>,
    /// BATCH_BEGIN's sequence number; messages follow it.
    first: u32,
    msgs: u32,
}

impl Batch {
    /// An empty batch whose first sequence number is `seq`.
    pub fn new(seq: u32) -> Batch {
        Batch {
            buf: Vec::new(),
            first: seq,
            msgs: 0,
        }
    }

    /// Whether the batch holds any message.
    pub fn is_empty(&self) -> bool {
        self.msgs == 0
    }

    /// Number of messages (each acknowledged).
    pub fn len(&self) -> u32 {
        self.msgs
    }

    /// The sequence number after BATCH_END's.
    pub fn next_seq(&self) -> u32 {
        self.first.wrapping_add(self.msgs + 2)
    }

    /// The sequence numbers of the messages.
    pub fn seqs(&self) -> std::ops::Range<u32> {
        self.first + 1..self.first + 1 + self.msgs
    }

    /// The bytes to send: the messages between BATCH_BEGIN and BATCH_END.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + 40);
        header(&mut out, 16, NLM_F_REQUEST, self.first, 0, SUBSYS);
        out.extend_from_slice(&self.buf);
        let end = self.first.wrapping_add(self.msgs + 1);
        header(&mut out, 17, NLM_F_REQUEST, end, 0, SUBSYS);
        out
    }

    fn msg(&mut self, ty: MsgType, family: NfProto, flags: u16, f: impl FnOnce(&mut Attrs)) {
        let seq = self.first.wrapping_add(self.msgs + 1);
        let start = self.buf.len();
        let kind = (SUBSYS << 8) | ty as u16;
        header(
            &mut self.buf,
            kind,
            NLM_F_REQUEST | flags,
            seq,
            family as u8,
            0,
        );
        f(&mut Attrs { buf: &mut self.buf });
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
        self.msgs += 1;
    }

    /// `add table FAMILY NAME`.
    pub fn new_table(&mut self, family: NfProto, table: &str) {
        self.msg(MsgType::NewTable, family, NLM_F_CREATE | NLM_F_ACK, |a| {
            a.str(1, table)
        });
    }

    /// `delete table FAMILY NAME`.
    pub fn del_table(&mut self, family: NfProto, table: &str) {
        self.msg(MsgType::DelTable, family, NLM_F_ACK, |a| a.str(1, table));
    }

    /// A base chain (`hook` = Some((hooknum, priority))) or a regular one.
    pub fn new_chain(
        &mut self,
        family: NfProto,
        table: &str,
        name: &str,
        hook: Option<(u32, i32)>,
    ) {
        self.msg(MsgType::NewChain, family, NLM_F_CREATE | NLM_F_ACK, |a| {
            a.str(1, table);
            a.str(3, name);
            if let Some((num, prio)) = hook {
                a.nest(4, |h| {
                    h.u32(1, num);
                    h.u32(2, prio as u32);
                });
                a.u32(5, 1); // policy accept
                a.str(7, "filter");
            }
        });
    }

    /// A set; `map` gives the data type and length of a map's values.
    pub fn new_set(&mut self, family: NfProto, table: &str, set: &SetDef) {
        self.msg(MsgType::NewSet, family, NLM_F_CREATE | NLM_F_ACK, |a| {
            a.str(1, table);
            a.str(2, set.name);
            if set.flags != 0 {
                a.u32(3, set.flags);
            }
            a.u32(4, set.key_type);
            a.u32(5, set.key_len);
            if let Some((ty, len)) = set.map {
                a.u32(6, ty);
                a.u32(7, len);
            }
            a.u32(10, set.id);
            // libnftnl user data nft reads the byte order from:
            // KEYBYTEORDER (0), and DATABYTEORDER (1) for maps.
            let mut ud = vec![0, 4];
            ud.extend_from_slice(&set.key_byteorder.to_ne_bytes());
            if set.map.is_some() {
                ud.extend_from_slice(&[1, 4]);
                ud.extend_from_slice(&1u32.to_ne_bytes());
            }
            a.put(13, &ud);
        });
    }

    /// Adds (`add`) or deletes elements `(key, value)` of a set or map.
    pub fn set_elems(
        &mut self,
        add: bool,
        family: NfProto,
        table: &str,
        set: &str,
        elems: &[(Vec<u8>, Option<Vec<u8>>)],
        excl: bool,
    ) {
        let (ty, flags) = match (add, excl) {
            (true, true) => (MsgType::NewSetElem, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK),
            (true, false) => (MsgType::NewSetElem, NLM_F_CREATE | NLM_F_ACK),
            (false, _) => (MsgType::DelSetElem, NLM_F_ACK),
        };
        self.msg(ty, family, flags, |a| {
            a.str(1, table);
            a.str(2, set);
            a.nest(3, |l| {
                for (k, v) in elems {
                    l.nest(1, |e| {
                        e.value(1, k);
                        if let Some(v) = v {
                            e.value(2, v);
                        }
                    });
                }
            });
        });
    }

    /// Appends a rule to `chain`.
    pub fn new_rule(&mut self, family: NfProto, table: &str, chain: &str, exprs: &[Expr]) {
        self.msg(
            MsgType::NewRule,
            family,
            NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK,
            |a| {
                a.str(1, table);
                a.str(2, chain);
                a.nest(4, |l| {
                    for e in exprs {
                        l.nest(1, |x| expr(x, e));
                    }
                });
            },
        );
    }
}

/// A set's definition.
#[derive(Debug, Clone)]
pub struct SetDef {
    /// Name.
    pub name: &'static str,
    /// NFT_SET_* flags.
    pub flags: u32,
    /// Key data type (concatenations: 6 bits per member).
    pub key_type: u32,
    /// Key length in bytes.
    pub key_len: u32,
    /// Maps: value data type and length.
    pub map: Option<(u32, u32)>,
    /// Transaction-unique id.
    pub id: u32,
    /// nftables' byte order of the key: 1 host, 2 big-endian.
    pub key_byteorder: u32,
}

/// NFT_SET_CONSTANT.
pub const SET_CONSTANT: u32 = 0x2;
/// NFT_SET_MAP.
pub const SET_MAP: u32 = 0x8;

fn expr(a: &mut Attrs, e: &Expr) {
    let name = match e {
        Expr::Payload { .. } => "payload",
        Expr::Meta(..) => "meta",
        Expr::CmpEq(..) => "cmp",
        Expr::Mask(..) => "bitwise",
        Expr::Lookup { .. } => "lookup",
        Expr::Dup(..) => "dup",
        Expr::Counter => "counter",
        Expr::Verdict(_) => "immediate",
    };
    a.str(1, name);
    a.nest(2, |d| match e {
        Expr::Payload {
            base,
            offset,
            len,
            dreg,
        } => {
            d.u32(1, *dreg);
            d.u32(2, *base as u32);
            d.u32(3, *offset);
            d.u32(4, *len);
        }
        Expr::Meta(key, dreg) => {
            d.u32(2, *key as u32);
            d.u32(1, *dreg);
        }
        Expr::CmpEq(sreg, data) => {
            d.u32(1, *sreg);
            d.u32(2, 0);
            d.value(3, data);
        }
        Expr::Mask(r, mask) => {
            d.u32(1, *r);
            d.u32(2, *r);
            d.u32(3, mask.len() as u32);
            d.value(4, mask);
            d.value(5, &vec![0; mask.len()]);
        }
        Expr::Lookup {
            set,
            sreg,
            dreg,
            set_id,
        } => {
            d.str(1, set);
            d.u32(2, *sreg);
            if let Some(r) = dreg {
                d.u32(3, *r);
            }
            if *set_id != 0 {
                d.u32(4, *set_id);
            }
        }
        Expr::Dup(addr, dev) => {
            d.u32(1, *addr);
            d.u32(2, *dev);
        }
        Expr::Counter => {}
        Expr::Verdict(v) => {
            d.u32(1, reg::VERDICT);
            d.nest(2, |data| {
                data.nest(2, |vd| {
                    let (code, chain) = match v {
                        Verdict::Drop => (0u32, None),
                        Verdict::Accept => (1, None),
                        Verdict::Goto(c) => ((-4i32) as u32, Some(c)),
                    };
                    vd.u32(1, code);
                    if let Some(c) = chain {
                        vd.str(2, c);
                    }
                })
            });
        }
    });
}

/// `nlmsghdr` and `nfgenmsg`.
fn header(out: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, family: u8, res_id: u16) {
    out.extend_from_slice(&20u32.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&[family, 0]);
    out.extend_from_slice(&res_id.to_be_bytes());
}

/// A GETTABLE request for `table` in `family`, acknowledged.
pub fn get_table(family: NfProto, table: &str, seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    header(
        &mut out,
        (SUBSYS << 8) | MsgType::GetTable as u16,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        family as u8,
        0,
    );
    Attrs { buf: &mut out }.str(1, table);
    let len = out.len() as u32;
    out[..4].copy_from_slice(&len.to_ne_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_is_framed_by_begin_and_end_with_consecutive_sequence_numbers() {
        let mut b = Batch::new(100);
        b.new_table(NfProto::Ipv4, "keepalived");
        b.del_table(NfProto::Ipv6, "keepalived");
        let bytes = b.finish();
        let mut seqs = Vec::new();
        let mut types = Vec::new();
        let mut off = 0;
        while off < bytes.len() {
            let len = u32::from_ne_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
            types.push(u16::from_ne_bytes([bytes[off + 4], bytes[off + 5]]));
            seqs.push(u32::from_ne_bytes(
                bytes[off + 8..off + 12].try_into().unwrap(),
            ));
            off += len;
        }
        assert_eq!(off, bytes.len());
        assert_eq!(types, vec![16, 0x0a00, 0x0a02, 17]);
        assert_eq!(seqs, vec![100, 101, 102, 103]);
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn table_message_matches_libnftnl() {
        // nft add table ip keepalived, as libnftnl encodes it.
        let mut b = Batch::new(0);
        b.new_table(NfProto::Ipv4, "keepalived");
        let m = &b.buf;
        assert_eq!(m.len(), 20 + 16);
        assert_eq!(&m[16..20], &[2, 0, 0, 0]);
        assert_eq!(&m[20..24], &[15, 0, 1, 0]);
        assert_eq!(&m[24..35], b"keepalived\0");
    }
}
