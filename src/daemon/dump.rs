//! The dump files keepalived writes on signals, in its exact formats
//! (reference §4.12), so that exporters and scripts keep parsing them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::vrrp::router::Router;

/// Where SIGUSR2 writes the VRRP statistics.
pub const STATS_FILE: &str = "/tmp/keepalived.stats";

/// `keepalived.stats`: one block per instance, counters as keepalived
/// names them.
pub fn stats(router: &Router) -> String {
    let mut s = String::new();
    for i in router.instances() {
        let st = &i.stats;
        let _ = write!(
            s,
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    \
             Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    \
             Sent: {}\n",
            i.config().name,
            st.advert_rcvd,
            st.advert_sent,
            st.become_master,
            st.release_master,
            st.packet_len_err,
            st.ip_ttl_err,
            st.invalid_type_rcvd,
            st.advert_interval_err,
            st.addr_list_err,
            st.invalid_authtype,
            st.authtype_mismatch,
            st.auth_failure,
            st.pri_zero_rcvd,
            st.pri_zero_sent,
        );
    }
    s
}

/// Writes a dump file with mode 0600, as keepalived does (they may hold
/// passwords), replacing any older one.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::instance::InstanceConfig;

    #[test]
    fn stats_have_keepalived_s_exact_shape() {
        let mut r = Router::new();
        let ip = "10.0.0.1".parse().unwrap();
        r.add_instance(InstanceConfig::new("VI_1", 51, 100, ip, vec![]), vec![]);
        let want = "VRRP Instance: VI_1\n  Advertisements:\n    Received: 0\n    Sent: 0\n  \
                    Became master: 0\n  Released master: 0\n  Packet Errors:\n    Length: 0\n    \
                    TTL: 0\n    Invalid Type: 0\n    Advertisement Interval: 0\n    \
                    Address List: 0\n  Authentication Errors:\n    Invalid Type: 0\n    \
                    Type Mismatch: 0\n    Failure: 0\n  Priority Zero:\n    Received: 0\n    \
                    Sent: 0\n";
        assert_eq!(stats(&r), want);
    }
}
