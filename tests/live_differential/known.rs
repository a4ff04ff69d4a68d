//! The list of accepted differences and the sample list.
//!
//! `tests/live-differential-known.txt`, one difference a line:
//! `<config> <section> <category>: <reason>`, where the section is one of
//! the snapshot's (`run.addr`, `stop.nft`, `run.state`, ...), or a section
//! without its phase (`nft`: both `run.nft` and `stop.nft`), or `*`; the
//! category is `bug` (ours, to be fixed), `keepalived bug` or
//! `improvement` (a deliberate difference described in the README).

use std::collections::BTreeMap;
use std::path::Path;

const CATEGORIES: &[&str] = &["bug:", "keepalived bug:", "improvement:"];

pub struct Known {
    /// (config, section pattern) → reason.
    entries: BTreeMap<(String, String), String>,
}

impl Known {
    pub fn load(path: &Path) -> Known {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut entries = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut w = line.splitn(3, char::is_whitespace);
            let (Some(config), Some(section), Some(reason)) = (w.next(), w.next(), w.next()) else {
                panic!(
                    "{}:{}: `<config> <section> <category>: <reason>` expected",
                    path.display(),
                    n + 1
                );
            };
            let reason = reason.trim();
            assert!(
                CATEGORIES.iter().any(|c| reason.starts_with(c)),
                "{}:{}: the reason must start with one of {CATEGORIES:?}",
                path.display(),
                n + 1
            );
            entries.insert(
                (config.to_string(), section.to_string()),
                reason.to_string(),
            );
        }
        Known { entries }
    }

    /// The reason a difference in `section` of `config` is accepted.
    pub fn reason(&self, config: &str, section: &str) -> Option<&str> {
        let bare = section.split_once('.').map_or(section, |(_, s)| s);
        [section, bare, "*"]
            .iter()
            .find_map(|p| self.entries.get(&(config.to_string(), p.to_string())))
            .map(String::as_str)
    }

    /// Entries of configurations that ran whose sections no longer differ.
    pub fn stale<'a>(
        &'a self,
        ran: impl Iterator<Item = (&'a str, Vec<&'a str>)>,
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (config, differing) in ran {
            for ((c, pattern), _) in self.entries.range((config.to_string(), String::new())..) {
                if c != config {
                    break;
                }
                let used = differing.iter().any(|s| {
                    let bare = s.split_once('.').map_or(*s, |(_, b)| b);
                    pattern == s || pattern == bare || pattern == "*"
                });
                if !used {
                    out.push((c.clone(), pattern.clone()));
                }
            }
        }
        out
    }
}

/// The names in the sample list (first word of each line; `#` comments).
pub fn sample(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}
