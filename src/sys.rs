//! Small read-only queries of the running system.

use std::ffi::CString;

/// Whether a network interface of that name exists in our namespace.
pub fn interface_exists(name: &str) -> bool {
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
    std::fs::read_to_string(format!("/sys/class/net/{name}/type")).is_ok_and(|t| t.trim() == "772")
}
