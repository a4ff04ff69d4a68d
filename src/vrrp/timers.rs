//! The instances' next deadlines in a heap, so that an event costs
//! O(log N) rather than a scan of every instance (a backup of 1000
//! instances receives 1000 adverts a second).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::time::Instant;

/// Deadlines by instance index. An instance has at most one armed
/// deadline; a replaced one stays in the heap until it reaches the top,
/// where it is recognised as stale and dropped.
#[derive(Debug, Default, Clone)]
pub struct TimerQueue {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
    armed: Vec<Option<Instant>>,
}

impl TimerQueue {
    /// Arms instance `id` at `at` (`None`: disarms it).
    pub fn set(&mut self, id: usize, at: Option<Instant>) {
        if self.armed.len() <= id {
            self.armed.resize(id + 1, None);
        }
        if self.armed[id] == at {
            return;
        }
        self.armed[id] = at;
        if let Some(t) = at {
            self.heap.push(Reverse((t, id)));
        }
        self.purge();
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((t, _))| *t)
    }

    /// Disarms and returns the instances due at `now`, in index order
    /// (keepalived's order for equal deadlines: the configuration's).
    pub fn take_due(&mut self, now: Instant) -> Vec<usize> {
        let mut due = Vec::new();
        while let Some(&Reverse((t, id))) = self.heap.peek() {
            if t > now {
                break;
            }
            self.heap.pop();
            if self.armed[id] == Some(t) {
                self.armed[id] = None;
                due.push(id);
            }
        }
        self.purge();
        due.sort_unstable();
        due
    }

    /// Drops stale entries from the top, so that [`TimerQueue::next`] is exact.
    fn purge(&mut self) {
        while let Some(&Reverse((t, id))) = self.heap.peek() {
            if self.armed[id] == Some(t) {
                break;
            }
            self.heap.pop();
        }
        // Bounded: at most a few stale entries per armed one (each
        // re-arm within one deadline adds one).
        if self.heap.len() > 4 * self.armed.len() + 64 {
            self.heap = self
                .armed
                .iter()
                .enumerate()
                .filter_map(|(id, t)| t.map(|t| Reverse((t, id))))
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_deadlines_are_stale() {
        let mut q = TimerQueue::default();
        q.set(0, Some(Instant(10)));
        q.set(1, Some(Instant(5)));
        q.set(1, Some(Instant(20)));
        assert_eq!(q.next(), Some(Instant(10)));
        q.set(0, None);
        assert_eq!(q.next(), Some(Instant(20)));
        assert!(q.take_due(Instant(19)).is_empty());
        q.set(2, Some(Instant(20)));
        assert_eq!(q.take_due(Instant(20)), [1, 2]);
        assert_eq!(q.next(), None);
    }

    #[test]
    fn the_heap_stays_bounded() {
        let mut q = TimerQueue::default();
        // Each deadline earlier than the last: the replaced ones sink.
        for k in 0..100_000u64 {
            q.set(0, Some(Instant(1_000_000 - k)));
        }
        assert!(q.heap.len() <= 68);
        assert_eq!(q.next(), Some(Instant(900_001)));
    }
}
