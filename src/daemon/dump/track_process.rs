//! The `vrrp_track_process` section of `keepalived.data`, line for line
//! as keepalived 2.2.7's `dump_vprocess`.

use std::fmt::Write as _;

use crate::config::vrrp::ParamMatch;
use crate::vrrp::track_process::ProcessTracker;

/// An instance tracking a process: name, weight, `reverse`.
pub type TrackedBy = (String, i32, bool);

/// `------< VRRP Track processes >------` and a block per spec;
/// `tracking[i]` lists the instances tracking spec `i`. Empty without
/// specs.
pub fn section(tr: &ProcessTracker, tracking: &[Vec<TrackedBy>]) -> String {
    let mut s = String::new();
    if tr.specs().is_empty() {
        return s;
    }
    s.push_str("------< VRRP Track processes >------\n");
    for (i, p) in tr.specs().iter().enumerate() {
        let st = tr.state(i);
        let _ = writeln!(s, " VRRP Track process = {}", p.name);
        let _ = writeln!(s, "   Process = {}", String::from_utf8_lossy(&p.path));
        if let Some(params) = &p.params {
            let text = params.strip_suffix(&[0]).unwrap_or(params);
            let text: Vec<u8> = text
                .iter()
                .map(|&c| if c == 0 { b' ' } else { c })
                .collect();
            let _ = writeln!(s, "   Parameters = {}", String::from_utf8_lossy(&text));
        }
        match p.param_match {
            ParamMatch::None => {}
            ParamMatch::Exact => s.push_str("   Param match\n"),
            ParamMatch::Partial => s.push_str("   Param match = partial\n"),
            ParamMatch::Initial => s.push_str("   Param match = initial\n"),
        }
        let _ = writeln!(s, "   Min processes = {}", p.quorum);
        if p.quorum_max < u32::MAX {
            let _ = writeln!(s, "   Max processes = {}", p.quorum_max);
        }
        let _ = writeln!(s, "   Current processes = {}", st.count);
        let _ = writeln!(s, "   Have quorum = {}", st.have_quorum);
        let rev = if p.reverse { " reverse" } else { "" };
        let _ = writeln!(s, "   Weight = {}{rev}", p.weight);
        let secs = |us: u64| us as f64 / 1e6;
        let _ = writeln!(s, "   Terminate delay = {:.6}s", secs(p.terminate_delay));
        let _ = writeln!(s, "   Fork delay = {:.6}s", secs(p.fork_delay));
        let running = |r: bool| if r { "" } else { "not " };
        let _ = writeln!(
            s,
            "   Fork delay timer {}running",
            running(st.fork_timer_running())
        );
        let _ = writeln!(
            s,
            "   Terminate delay timer {}running",
            running(st.terminate_timer_running())
        );
        let _ = writeln!(s, "   Full command = {}", p.full_command);
        let by = tracking.get(i).map_or(&[][..], Vec::as_slice);
        if !by.is_empty() {
            s.push_str("   Tracking instances :\n");
            for (name, w, reverse) in by {
                let rev = if *reverse { " reverse" } else { "" };
                let _ = writeln!(s, "     {name}, weight {w}{rev}");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::vrrp::TrackProcess;
    use crate::vrrp::track_process::{ProcInfo, ProcessSpec};

    /// keepalived 2.2.7's block for `process katp_probe` tracked with
    /// weight 0 while one such process runs.
    #[test]
    fn lines_match_keepalived() {
        let spec = ProcessSpec::from_config(&TrackProcess {
            name: "tp".into(),
            process: vec!["katp_probe".into()],
            quorum: 1,
            ..Default::default()
        });
        let mut tr = ProcessTracker::new(vec![spec]);
        let info = ProcInfo {
            comm: Some(b"katp_probe".to_vec()),
            cmdline: Vec::new(),
        };
        tr.scan([(5, info)]);
        tr.initial_quorum();
        let got = section(&tr, &[vec![("VI_1".into(), 0, false)]]);
        let want = "------< VRRP Track processes >------
 VRRP Track process = tp
   Process = katp_probe
   Min processes = 1
   Current processes = 1
   Have quorum = true
   Weight = 0
   Terminate delay = 0.000000s
   Fork delay = 0.000000s
   Fork delay timer not running
   Terminate delay timer not running
   Full command = false
   Tracking instances :
     VI_1, weight 0
";
        assert_eq!(got, want);
    }

    #[test]
    fn parameters_and_limits() {
        let spec = ProcessSpec::from_config(&TrackProcess {
            name: "full".into(),
            process: vec!["sleep".into(), "10".into(), "x".into()],
            param_match: ParamMatch::Initial,
            full_command: true,
            quorum: 2,
            quorum_max: Some(3),
            fork_delay: Some(std::time::Duration::from_millis(1500)),
            ..Default::default()
        });
        let got = section(&ProcessTracker::new(vec![spec]), &[]);
        assert!(got.contains("   Parameters = 10 x\n   Param match = initial\n   Min processes = 2\n   Max processes = 3\n"));
        assert!(got.contains("   Fork delay = 1.500000s\n"));
        assert!(!got.contains("Tracking instances"));
    }
}
