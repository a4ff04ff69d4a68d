//! Rate limit for the log lines of dropped packets. keepalived 2.2.7 logs
//! one line per invalid packet, so a flood of them floods the log (and
//! the disk); beyond keepalived, at most [`LogLimit::BURST`] lines of one
//! kind are logged per [`LogLimit::WINDOW`], and the first line let
//! through after a window that suppressed some is preceded by one line
//! with their count (as the kernel's "callbacks suppressed").

use std::time::Duration;

use super::time::Instant;

/// The budget of one kind of log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogLimit {
    /// Start of the current window.
    since: Option<Instant>,
    /// Lines logged in it.
    shown: u32,
    /// Lines suppressed since the last one logged.
    suppressed: u32,
}

impl LogLimit {
    /// Lines let through per window.
    pub const BURST: u32 = 5;
    /// The window.
    pub const WINDOW: Duration = Duration::from_secs(1);

    /// One more occurrence at `now`: `None` if its line is suppressed,
    /// else `Some(n)`: log it, after a line saying `n` were suppressed
    /// when `n > 0`.
    pub fn admit(&mut self, now: Instant) -> Option<u32> {
        if self.since.is_none_or(|s| now >= s + Self::WINDOW) {
            self.since = Some(now);
            self.shown = 0;
        }
        if self.shown >= Self::BURST {
            self.suppressed += 1;
            return None;
        }
        self.shown += 1;
        Some(std::mem::take(&mut self.suppressed))
    }

    /// The lines to log for one more occurrence of `kind`: none while
    /// suppressed, else the count of those suppressed before (if any) and
    /// `line()`, which is built only then.
    pub fn lines(
        &mut self,
        now: Instant,
        kind: &str,
        line: impl FnOnce() -> Option<String>,
    ) -> Vec<String> {
        let Some(suppressed) = self.admit(now) else {
            return Vec::new();
        };
        let count =
            (suppressed > 0).then(|| format!("{suppressed} similar log lines suppressed ({kind})"));
        count.into_iter().chain(line()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_a_second_then_the_count() {
        let mut l = LogLimit::default();
        let t = |us| Instant(us);
        for i in 0..5 {
            assert_eq!(l.admit(t(i * 1000)), Some(0));
        }
        for i in 5..100 {
            assert_eq!(l.admit(t(i * 1000)), None);
        }
        // 1 s after the window opened: the count, then the line.
        assert_eq!(l.admit(t(1_000_000)), Some(95));
        assert_eq!(l.admit(t(1_000_001)), Some(0));
    }
}
