//! Small read-only queries of the running system.

use std::ffi::CString;

thread_local! {
    static INTERFACES: std::cell::RefCell<Option<std::collections::HashMap<String, u32>>> =
        const { std::cell::RefCell::new(None) };
}

/// Takes a fresh snapshot of the namespace's interfaces (name → flags):
/// one `getifaddrs` instead of a syscall per configured interface.
pub fn refresh_interfaces() {
    let mut map = std::collections::HashMap::new();
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates a list we walk read-only and then free.
    unsafe {
        if libc::getifaddrs(&mut ifap) == 0 {
            let mut p = ifap;
            while !p.is_null() {
                let name = std::ffi::CStr::from_ptr((*p).ifa_name)
                    .to_string_lossy()
                    .into_owned();
                map.insert(name, (*p).ifa_flags);
                p = (*p).ifa_next;
            }
            libc::freeifaddrs(ifap);
        }
    }
    INTERFACES.with(|c| *c.borrow_mut() = Some(map));
}

fn interface_flags(name: &str) -> Option<u32> {
    INTERFACES.with(|c| {
        if c.borrow().is_none() {
            refresh_interfaces();
        }
        c.borrow().as_ref().and_then(|m| m.get(name).copied())
    })
}

/// Whether a network interface of that name exists in our namespace (as of
/// the last [`refresh_interfaces`]).
pub fn interface_exists(name: &str) -> bool {
    if interface_flags(name).is_some() {
        return true;
    }
    // Not in the snapshot: ask the kernel (an interface with no address
    // family entry would be missing from getifaddrs).
    let Ok(c) = CString::new(name) else {
        return false;
    };
    // SAFETY: if_nametoindex only reads the NUL-terminated string.
    unsafe { libc::if_nametoindex(c.as_ptr()) != 0 }
}

fn utsname() -> Option<libc::utsname> {
    // SAFETY: uname fills the zeroed struct we own.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        (libc::uname(&mut u) == 0).then_some(u)
    }
}

fn field(f: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = f
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The node name (host name).
pub fn nodename() -> String {
    utsname().map(|u| field(&u.nodename)).unwrap_or_default()
}

/// keepalived's `get_local_name`: the canonical name `getaddrinfo` gives
/// the node name, `None` when it does not resolve (keepalived then says
/// `[unknown]`). Looked up once per process, as keepalived keeps it across
/// reloads: a resolver query must not be repeated on every dump.
pub fn local_name() -> Option<String> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| canonical_name(&nodename())).clone()
}

fn canonical_name(host: &str) -> Option<String> {
    let c = CString::new(host).ok()?;
    // SAFETY: zeroed addrinfo is a valid "no hints" value; we set flags.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_flags = libc::AI_CANONNAME;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: getaddrinfo reads the NUL-terminated name and the hints and
    // allocates a list that we read and then free.
    unsafe {
        if libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut res) != 0 {
            return None;
        }
        let name = (!res.is_null() && !(*res).ai_canonname.is_null()).then(|| {
            std::ffi::CStr::from_ptr((*res).ai_canonname)
                .to_string_lossy()
                .into_owned()
        });
        libc::freeaddrinfo(res);
        name
    }
}

/// The login name of the user we run as (keepalived's default
/// `notification_email_from` is `USER@LOCAL_NAME`).
pub fn user_name() -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// keepalived's default config id: the node name up to the first dot.
pub fn default_config_id() -> String {
    let n = nodename();
    n.split('.').next().unwrap_or("").to_string()
}

/// `Linux 6.1.0 #1 SMP ...` for the version banner.
pub fn uname_line() -> String {
    match utsname() {
        Some(u) => format!(
            "{} {} {}",
            field(&u.sysname),
            field(&u.release),
            field(&u.version)
        ),
        None => "an unknown system".into(),
    }
}

/// Whether the named interface is a loopback interface.
pub fn is_loopback(name: &str) -> bool {
    interface_flags(name).is_some_and(|f| f & libc::IFF_LOOPBACK as u32 != 0)
}

/// Formats a time in local time with a `strftime` format (logs, mail dates).
pub fn strftime_local(t: std::time::SystemTime, fmt: &std::ffi::CStr) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    let mut buf = [0u8; 128];
    // SAFETY: localtime_r fills our zeroed tm; strftime writes at most
    // buf.len() bytes into buf and reads the NUL-terminated format.
    let n = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm)
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The name of the interface with this index, if it exists.
pub fn ifname_of(index: u32) -> Option<String> {
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes (NUL
    // included) into buf, or returns NULL.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}
