//! Building a configuration's instances: interfaces, VMACs, sockets,
//! plans and trackers, reusing what the running configuration has.

use super::*;
use crate::daemon::{rx_bufs, track_plan, vmac};
use crate::firewall::nft::NfProto;

impl Driver {
    /// Builds the instances of `config`, reusing the sockets, VMACs and
    /// running scripts the current configuration has where they match.
    pub(super) async fn build(&mut self, config: &Config) -> Built {
        let nl = self.nl.clone();
        let links = nl.links().await.unwrap_or_else(|e| {
            log_line(&format!("Netlink: unable to list interfaces: {e}"));
            Vec::new()
        });
        let by_ifname: HashMap<String, Link> =
            links.into_iter().map(|l| (l.name.clone(), l)).collect();
        let g = &config.global;
        let run_as = run_as(config);
        let mut b = Built {
            cur: Instances::default(),
            watched_files: Vec::new(),
            statics: plan::StaticPlan::default(),
            used_sockets: Vec::new(),
            rx_bufs: HashMap::new(),
            used_vmacs: Vec::new(),
            vmac_links: Vec::new(),
            ifnames: by_ifname
                .values()
                .map(|l| (l.index, l.name.clone()))
                .collect(),
            waiting: Vec::new(),
        };

        b.cur.router.set_log_unknown_vrids(g.log_unknown_vrids);
        b.cur.procs = self.process_tracker(config);
        b.cur.process_trackers = (b.cur.procs.initial_quorum().into_iter())
            .map(|q| b.cur.router.add_tracker(TrackerValue::Process(q)))
            .collect();
        for vi in &config.vrrp.instances {
            self.build_instance(config, vi, &by_ifname, &mut b).await;
        }
        for (key, &size) in b.rx_bufs.iter().filter(|(_, s)| **s != 0) {
            if let Some(Err(e)) = self.res.sockets.get(key).map(|s| s.set_rcvbuf(size)) {
                log_line(&format!(
                    "vrrp set receive socket buffer size error {}",
                    e.raw_os_error().unwrap_or(0)
                ));
            }
        }
        for sg in &config.vrrp.sync_groups {
            let members: Vec<InstanceId> = sg
                .members
                .iter()
                .filter_map(|(n, _)| b.cur.by_name.get(n).copied())
                .collect();
            if members.len() > 1 {
                b.cur.router.add_group(&sg.name, members);
                b.cur
                    .groups
                    .insert(sg.name.clone(), Notify::new(&sg.notify, run_as));
            }
        }
        b.statics = plan::plan_static(&config.vrrp, g, |n| by_ifname.get(n).map(|l| l.index))
            .unwrap_or_else(|e| {
                log_line(&e.to_string());
                plan::StaticPlan::default()
            });
        // Links may have changed while instances were set up (waiting for
        // an address): start from their current state.
        if let Ok(links) = nl.links().await {
            for l in links {
                if let Some(&t) = b.cur.if_trackers.get(&l.index) {
                    b.cur.router.reset_tracker(t, TrackerValue::Up(l.up));
                }
            }
        }
        b
    }

    /// One instance of `config` into `b`; nothing (logged) when it cannot
    /// start, or a place in `b.waiting` when its interface or address is
    /// missing.
    async fn build_instance(
        &mut self,
        config: &Config,
        vi: &VrrpInstance,
        by_ifname: &HashMap<String, Link>,
        b: &mut Built,
    ) {
        let g = &config.global;
        let run_as = run_as(config);
        let Some(ifname) = vi.interface.clone().or_else(|| g.default_interface.clone()) else {
            log_line(&format!("({}) no interface - ignoring instance", vi.name));
            return;
        };
        let Some(link) = by_ifname.get(&ifname).cloned() else {
            if !config.dynamic_interfaces() {
                log_line(&format!(
                    "({}) interface {ifname} not found - ignoring instance",
                    vi.name
                ));
                return;
            }
            self.wait_for(b, vi, &ifname, true);
            return;
        };
        // use_vmac: the private macvlan carries the VIPs and, unless
        // vmac_xmit_base, the adverts (IPv6 ones from the base's
        // link-local address, which the VMAC is given).
        let vmac = match vmac::vmac_of(vi, g) {
            Some((names, mac)) => match self.vmac(vi, &names, mac, &link, b).await {
                Some(v) => Some(v),
                None => return,
            },
            None => None,
        };
        let ipvlan = plan::ipvlan_of(vi, g).filter(|_| vmac.is_none());
        let vmac = match &ipvlan {
            Some(ip) => match self.ipvlan(vi, ip, &link, b).await {
                Some(v) => Some(v),
                None => return,
            },
            None => vmac,
        };
        // promote_secondaries (a VMAC has it already): set if 0, put back
        // at stop, as keepalived's set_promote_secondaries.
        if vi.promote_secondaries && vmac.is_none() {
            if let Err(e) = self.res.sysctls.set(&ifname, "promote_secondaries", "1") {
                log_line(&format!("({}) promote_secondaries: {e}", vi.name));
            }
        }
        let vip_link = vmac.clone().unwrap_or_else(|| link.clone());
        let (sock_ifname, sock_index) = if vmac.is_some() && !vi.vmac_xmit_base {
            (vip_link.name.clone(), vip_link.index)
        } else {
            (ifname.clone(), link.index)
        };
        // keepalived: the ipvlan's address is the advert source unless one
        // is configured.
        let ipvlan_src = ipvlan.and_then(|ip| ip.addr).map(|(a, _)| a);
        let primary = match (plan::configured_source(vi), ipvlan_src) {
            (None, Some(a)) => Some(a),
            _ => self.source_address(vi, &link).await,
        };
        let Some(primary) = primary else {
            self.wait_for(b, vi, &ifname, false);
            return;
        };
        if let (Some(v), IpAddr::V6(src), false) = (&vmac, primary, vi.vmac_xmit_base) {
            self.vmac_link_local(&vi.name, v, src).await;
        }
        let mut vmacs = vmac::Vmacs {
            instance: vmac.as_ref().map(|v| v.index),
            addrs: Vec::new(),
        };
        // Routes and rules may name the VMACs made here.
        let mut made: Vec<Link> = vmac.iter().cloned().collect();
        for (base, v6) in vmac::addr_vmacs(vi, &ifname, vmac.is_some()) {
            if let Some(v) = self.addr_vmac(config, vi, base, v6, by_ifname, b).await {
                vmacs.addrs.push((base.to_string(), v6, v.index));
                made.push(v);
            }
        }
        let group = (config.vrrp.sync_groups.iter())
            .find(|sg| sg.members.iter().any(|(m, _)| *m == vi.name));
        let (tracks, logs) = track_plan::plan_tracks(vi, group.map(|g| &g.track), config);
        logs.iter().for_each(|l| log_line(l));
        let mut p = match plan::plan_instance(vi, g, tracks, primary, &vmacs, |n| {
            (made.iter().find(|l| l.name == n))
                .or_else(|| by_ifname.get(n))
                .map(|l| l.index)
        }) {
            Ok(p) => p,
            Err(e) => {
                log_line(&e.to_string());
                return;
            }
        };
        // notify_priority_changes: the sync group's before the global one
        // (keepalived's vrrp_complete_instance).
        if let (None, Some(v)) = (
            vi.notify_priority_changes,
            group.and_then(|g| g.notify_priority_changes),
        ) {
            p.config.notify_priority_changes = v;
        }
        let key = (
            sock_index,
            p.config.family == Family::V6,
            p.config.wants_ah(),
        );
        let Some(sock) = self.socket(key, &p, primary, &sock_ifname) else {
            return;
        };
        b.used_sockets.push(key);
        *b.rx_bufs.entry(key).or_default() +=
            rx_bufs::instance_share(g, vi.kernel_rx_buf_size, &p.config, link.mtu);
        let tracks = self.trackers(config, &p, &link, by_ifname, run_as, b);
        p.config.ifindex = IfIndex(sock_index);
        let id = b.cur.router.add_instance(p.config.clone(), tracks);
        if self.waiting.iter().any(|(i, _)| *i == vi.name) {
            // Out of FAULT: keepalived's "Entering BACKUP STATE".
            b.cur.router.late_start(id);
        }
        b.cur.by_name.insert(p.config.name.clone(), id);
        // The AH sequence goes on over a reload.
        let (ah_seq, ip_id) = match self.cur.by_name.get(&vi.name) {
            Some(&old) => (self.cur.insts[old].ah_seq, self.cur.insts[old].ip_id),
            None => (
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as u32),
                0,
            ),
        };
        b.cur.insts.push(Inst {
            notify: Notify::new(&p.notify, run_as),
            plan: p,
            link,
            vip_link,
            sock,
            ah_seq,
            ip_id,
        });
    }

    /// The advert source of `vi` on `link`: configured, or kept over a
    /// reload (its interface now also holds its VIPs), or looked up. An
    /// IPv6 link-local still tentative (DAD running) is used at once, as
    /// keepalived does; without one the instance waits in FAULT for the
    /// address event ([`Driver::wait_for`]), the others run meanwhile.
    async fn source_address(&self, vi: &VrrpInstance, link: &Link) -> Option<IpAddr> {
        let kept = self
            .cur
            .by_name
            .get(&vi.name)
            .map(|&id| &self.cur.insts[id])
            .filter(|i| i.link.index == link.index)
            .map(|i| i.plan.config.primary);
        if let Some(p) = plan::configured_source(vi).or(kept) {
            return Some(p);
        }
        let nl = &self.nl;
        if vi.is_v6() {
            nl.link_local_v6(link.index)
                .await
                .ok()
                .flatten()
                .map(IpAddr::V6)
        } else {
            nl.primary_v4(link.index)
                .await
                .ok()
                .flatten()
                .map(IpAddr::V4)
        }
    }

    /// The VRRP socket pair `key` (interface, IPv6, AH) for plan `p` with
    /// source `primary` on `sock_ifname`: the running one, else opened.
    fn socket(
        &mut self,
        key: SockKey,
        p: &InstancePlan,
        primary: IpAddr,
        sock_ifname: &str,
    ) -> Option<Arc<VrrpSocket>> {
        if let Some(s) = self.res.sockets.get(&key) {
            return Some(s.clone());
        }
        let (sock_index, _, is_ah) = key;
        let unicast = !p.config.unicast_peers.is_empty();
        let r = match (primary, p.mcast_group) {
            (IpAddr::V4(src), IpAddr::V4(grp)) if is_ah => {
                VrrpSocket::open_v4_ah(sock_ifname, sock_index, src, (!unicast).then_some(grp))
            }
            (IpAddr::V4(src), IpAddr::V4(grp)) => VrrpSocket::open_v4(
                sock_ifname,
                sock_index,
                src,
                (!unicast).then_some(grp),
                u32::from(p.ttl),
            ),
            (IpAddr::V6(src), IpAddr::V6(grp)) => {
                VrrpSocket::open_v6(sock_ifname, sock_index, src, (!unicast).then_some(grp))
            }
            _ => Err(std::io::Error::other("address family mismatch")),
        };
        match r {
            Ok(s) => {
                let s = Arc::new(s);
                self.res.sockets.insert(key, s.clone());
                Some(s)
            }
            Err(e) => {
                log_line(&format!(
                    "({}) unable to open VRRP socket on {sock_ifname}: {e} - ignoring instance",
                    p.config.name
                ));
                None
            }
        }
    }

    /// The VMAC of `vi` on `link`, set up (sysctls) and recorded in `b`.
    async fn vmac(
        &mut self,
        vi: &VrrpInstance,
        names: &[String],
        mac: [u8; 6],
        link: &Link,
        b: &mut Built,
    ) -> Option<Link> {
        let v = self.vmac_link(&vi.name, names, mac, link).await?;
        // keepalived keeps IPv6 on an IPv4 VMAC only for E-VIPs of IPv6.
        let other_family = vi.evips.iter().any(|e| e.prefix.is_v6() != vi.is_v6());
        if !vi.is_v6() {
            if let Err(e) = self
                .res
                .sysctls
                .setup_vmac(&v.name, &link.name, other_family)
            {
                log_line(&format!("({}) VMAC sysctls: {e}", vi.name));
            }
        }
        // The instance's family, then the other one if E-VIPs have it.
        let fams: &[bool] = if other_family {
            &[vi.is_v6(), !vi.is_v6()]
        } else {
            &[vi.is_v6()]
        };
        self.vmac_in_use(&v, link, fams, b);
        Some(v)
    }

    /// A VMAC made for this configuration: in the firewall's maps of the
    /// families it carries (IPv6 or not) and among what the configuration
    /// uses.
    fn vmac_in_use(&mut self, v: &Link, base: &Link, families: &[bool], b: &mut Built) {
        if let Some(fw) = &mut self.fw {
            let fam = |v6: bool| if v6 { NfProto::Ipv6 } else { NfProto::Ipv4 };
            fw.vmac_up(
                v.index,
                base.index,
                families.iter().map(|&v6| fam(v6)).collect(),
            );
        }
        b.used_vmacs.push(v.name.clone());
        b.ifnames.insert(v.index, v.name.clone());
        b.vmac_links.push(v.clone());
    }

    /// An address VMAC (`use_vmac_addr`, a VIP's `use_vmac`) of family
    /// `v6` over `base`: a private macvlan with the instance's VRRP MAC
    /// there already (keepalived's if_get_by_vmac), else a new one named
    /// as keepalived's create_vmac_name, set up as an instance's VMAC of
    /// that family is (IPv6: the base's link-local, deprecated).
    async fn addr_vmac(
        &mut self,
        config: &Config,
        vi: &VrrpInstance,
        base: &str,
        v6: bool,
        by_ifname: &HashMap<String, Link>,
        b: &mut Built,
    ) -> Option<Link> {
        let base_link = by_ifname.get(base)?;
        let vrid = vi.vrid?.get();
        let mac = vmac::vmac_mac(vi, vrid, v6);
        let found = (by_ifname.values().chain(&b.vmac_links)).find(|l| {
            l.kind.as_deref() == Some("macvlan")
                && l.macvlan_private
                && l.parent == Some(base_link.index)
                && l.mac == mac
        });
        if let Some(l) = found {
            let l = l.clone();
            b.used_vmacs.push(l.name.clone());
            self.res.vmacs.insert(l.name.clone(), l.index);
            return Some(l);
        }
        // Names another instance gives its VMAC are not taken.
        let reserved = |n: &str| {
            by_ifname.contains_key(n)
                || b.vmac_links.iter().any(|l| l.name == n)
                || (config.vrrp.instances.iter())
                    .any(|i| i.vmac.as_ref().and_then(|v| v.name.as_deref()) == Some(n))
        };
        let names: Vec<String> = vmac::vmac_names(vmac::addr_prefix(&config.global), vrid, v6)
            .filter(|n| !reserved(n))
            .take(4)
            .collect();
        let v = self.vmac_link(&vi.name, &names, mac, base_link).await?;
        let set = if v6 {
            if let Ok(Some(ll)) = self.nl.link_local_v6(base_link.index).await {
                self.vmac_link_local(&vi.name, &v, ll).await;
            }
            Ok(())
        } else {
            self.res.sysctls.setup_vmac(&v.name, base, false)
        };
        if let Err(e) = set {
            log_line(&format!("({}) VMAC sysctls: {e}", vi.name));
        }
        self.vmac_in_use(&v, base_link, &[v6], b);
        Some(v)
    }

    /// `use_ipvlan`: the L2 ipvlan on `link`, with its address; when the
    /// kernel refuses it the instance waits in FAULT, as keepalived's
    /// (`Unable to create ipvlan interface`).
    async fn ipvlan(
        &mut self,
        vi: &VrrpInstance,
        ip: &plan::IpvlanPlan,
        link: &Link,
        b: &mut Built,
    ) -> Option<Link> {
        let made = match self.nl.create_ipvlan(link.index, &ip.name, ip.flags).await {
            Ok(_) => self.nl.link_by_name(&ip.name).await.ok().flatten(),
            Err(_) => None,
        };
        let Some(v) = made else {
            if !self.waiting.iter().any(|(i, _)| *i == vi.name) {
                let (n, dev) = (&vi.name, &ip.name);
                log_line(&format!("({n}): Unable to create ipvlan interface {dev}"));
                log_line(&format!(
                    "({n}): entering FAULT state (interface {dev} down)"
                ));
                log_line(&format!("({n}) entering FAULT state"));
            }
            b.waiting.push((vi.name.clone(), ip.name.clone()));
            return None;
        };
        self.res.vmacs.insert(v.name.clone(), v.index);
        if let Some((a, len)) = ip.addr {
            if self
                .nl
                .add_address(&AddrSpec::new(v.index, a, len))
                .await
                .is_err()
            {
                log_line(&format!(
                    "{}: Failed to add interface address to {}",
                    vi.name, v.name
                ));
            }
        }
        b.used_vmacs.push(v.name.clone());
        b.ifnames.insert(v.index, v.name.clone());
        Some(v)
    }

    /// An IPv6 VMAC sends its adverts from the advert source (the base's
    /// link-local address unless configured), which it is given with
    /// prefix 64 as keepalived's `set_link_local_address` does: the VMAC
    /// has no link-local of its own (RFC 5798 §7.4, `addrgenmode none`).
    async fn vmac_link_local(&self, inst: &str, v: &Link, src: std::net::Ipv6Addr) {
        // As keepalived adds it: no DAD (the base holds the same address)
        // and deprecated (preferred_lft 0), so nothing else picks it.
        let spec = AddrSpec {
            nodad: true,
            preferred_lft: Some(0),
            ..AddrSpec::new(v.index, IpAddr::V6(src), 64)
        };
        if self.nl.add_address(&spec).await.is_err() {
            log_line("Adding link-local address to vmac failed");
            log_line(&format!(
                "({inst}) adding link-local address to {} failed",
                v.name
            ));
        }
    }

    /// The VMAC on `link`: the first of `names` ([`plan::vmac_of`]) that is
    /// ours from before a reload (same parent and MAC) or can be created;
    /// a name taken by another VMAC or interface passes to the next.
    async fn vmac_link(
        &mut self,
        inst: &str,
        names: &[String],
        mac: [u8; 6],
        link: &Link,
    ) -> Option<Link> {
        for n in names {
            if let Some(&idx) = self.res.vmacs.get(n) {
                match self.nl.link_by_index(idx).await {
                    Ok(Some(v)) if v.parent == Some(link.index) && v.mac == mac => {
                        log_line(&format!("({inst}) Found matching interface {n}"));
                        return Some(v);
                    }
                    Ok(Some(_)) => continue,
                    _ => {}
                }
            }
            let made = match self.nl.create_vmac(link.index, n, mac).await {
                Ok(idx) => self.nl.link_by_index(idx).await.ok().flatten(),
                Err(crate::daemon::netlink::Error::LinkExists(_)) if names.len() > 1 => continue,
                Err(e) => {
                    log_line(&format!("({inst}) unable to create VMAC {n}: {e}"));
                    None
                }
            }?;
            self.res.vmacs.insert(n.clone(), made.index);
            return Some(made);
        }
        log_line(&format!(
            "({inst}) unable to create VMAC {}: every name is taken",
            names[0]
        ));
        None
    }

    /// The trackers of one instance: its own interface (weight 0) unless
    /// dont_track_primary, then track_interface, track_script, track_file.
    /// A `vrrp_script` whose definition did not change keeps running and
    /// keeps its status over a reload.
    fn trackers(
        &mut self,
        config: &Config,
        p: &InstancePlan,
        link: &Link,
        by_ifname: &HashMap<String, Link>,
        run_as: RunAs,
        b: &mut Built,
    ) -> Vec<TrackRef> {
        let mut tracks = Vec::new();
        let if_tracker = |l: &Link, b: &mut Built| {
            *b.cur
                .if_trackers
                .entry(l.index)
                .or_insert_with(|| b.cur.router.add_tracker(TrackerValue::Up(l.up)))
        };
        if p.no_peer_fault {
            tracks.push(TrackRef {
                tracker: b.cur.router.add_tracker(TrackerValue::Up(false)),
                weight: 0,
                reverse: false,
            });
        }
        if !p.dont_track_primary {
            tracks.push(TrackRef {
                tracker: if_tracker(link, b),
                weight: 0,
                reverse: false,
            });
        }
        for t in &p.tracks.interfaces {
            match by_ifname.get(&t.name) {
                Some(l) => tracks.push(TrackRef {
                    tracker: if_tracker(l, b),
                    weight: t.weight,
                    reverse: t.reverse,
                }),
                None => log_line(&format!(
                    "({}) tracked interface {} not found",
                    p.config.name, t.name
                )),
            }
        }
        for t in &p.tracks.scripts {
            let Some(id) = self.script_tracker(config, &t.name, run_as, b) else {
                continue;
            };
            tracks.push(TrackRef {
                tracker: id,
                weight: t.weight,
                reverse: t.reverse,
            });
        }
        for t in &p.tracks.files {
            let Some(tf) = config.vrrp.track_files.iter().find(|f| f.name == t.name) else {
                continue;
            };
            let Some(path) = tf.file.as_deref().map(PathBuf::from) else {
                continue;
            };
            let id = match b.cur.file_trackers.get(&t.name) {
                Some(&id) => id,
                None => {
                    // A reload does not overwrite the file again.
                    if let (Some((v, overwrite)), false) =
                        (tf.init, self.cur.file_trackers.contains_key(&t.name))
                    {
                        if let Err(e) = track_file::init_file(&path, v, overwrite) {
                            log_line(&format!("track_file {}: {}: {e}", tf.name, path.display()));
                        }
                    }
                    let id = b
                        .cur
                        .router
                        .add_tracker(TrackerValue::File(track_file::read_value(&path)));
                    b.cur.file_trackers.insert(t.name.clone(), id);
                    b.watched_files.push((t.name.clone(), path));
                    id
                }
            };
            tracks.push(TrackRef {
                tracker: id,
                weight: t.weight,
                reverse: t.reverse,
            });
        }
        tracks.extend(self.process_refs(p, b));
        for t in &p.tracks.bfds {
            let id = match b.cur.bfd_trackers.get(&t.name) {
                Some(&id) => id,
                None => {
                    // A session starts down (keepalived: bfd_up = false
                    // until the BFD process says otherwise); a reload
                    // keeps what the BFD process said last.
                    let v = self
                        .cur
                        .bfd_trackers
                        .get(&t.name)
                        .map_or(TrackerValue::Bfd(false), |&old| {
                            self.cur.router.tracker_value(old)
                        });
                    let id = b.cur.router.add_tracker(v);
                    b.cur.bfd_trackers.insert(t.name.clone(), id);
                    id
                }
            };
            tracks.push(TrackRef {
                tracker: id,
                weight: t.weight,
                reverse: t.reverse,
            });
        }
        tracks
    }

    /// The tracker of `vrrp_script NAME` in the configuration being built.
    fn script_tracker(
        &mut self,
        config: &Config,
        name: &str,
        run_as: RunAs,
        b: &mut Built,
    ) -> Option<TrackerId> {
        if let Some(&id) = b.cur.script_trackers.get(name) {
            return Some(id);
        }
        let sc = config.vrrp.scripts.iter().find(|s| s.name == name)?;
        let script = sc.script.as_ref().filter(|_| !sc.disabled)?;
        // Unchanged and running: keep it, with its current status.
        if let (Some((def, _)), Some(&old)) = (
            self.res.scripts.get(name),
            self.cur.script_trackers.get(name),
        ) {
            if def == sc {
                let id = b.cur.router.add_tracker(self.cur.router.tracker_value(old));
                b.cur.script_trackers.insert(name.to_string(), id);
                return Some(id);
            }
        }
        let cmd = match ScriptCommand::from_script(script, run_as) {
            Ok(c) => c,
            Err(e) => {
                log_line(&format!("VRRP_Script({}) {e}", sc.name));
                return None;
            }
        };
        let tracker = ScriptTracker::new(TrackConfig {
            name: sc.name.clone(),
            interval: sc.interval,
            timeout: sc.timeout,
            rise: sc.rise.max(1),
            fall: sc.fall.max(1),
            weight: i32::from(sc.weight.value),
            reverse: sc.weight.reverse,
            init_fail: sc.init_fail,
        });
        let id = b.cur.router.add_tracker(script_value(tracker.status()));
        let runner = TrackRunner::start(cmd, tracker, self.chans.track.clone(), None);
        if let Some((_, old)) = self
            .res
            .scripts
            .insert(name.to_string(), (sc.clone(), runner))
        {
            old.stop();
        }
        b.cur.script_trackers.insert(name.to_string(), id);
        Some(id)
    }
}
