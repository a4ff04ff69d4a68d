//! The NETLINK_NETFILTER socket the firewall's batches go through. Each
//! message asks for an acknowledgement; a batch is applied or rejected as a
//! whole by the kernel, and a reply that does not come within a second
//! ends the wait (the state machine never waits longer).

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

use super::nft::{self, Batch, NfProto};
use super::Probe;

/// Why a batch or query failed.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The kernel refused a message.
    #[error("netlink error {0} on message {1}")]
    Refused(io::Error, u32),
}

/// A bound NETLINK_NETFILTER socket.
pub struct NftSocket {
    sock: Socket,
    seq: u32,
}

impl NftSocket {
    /// Opens and binds the socket, with a one-second receive timeout.
    pub fn open() -> io::Result<NftSocket> {
        let mut sock = Socket::new(NETLINK_NETFILTER)?;
        sock.bind_auto()?;
        let tv = libc::timeval {
            tv_sec: Duration::from_secs(1).as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: a valid fd and a timeval of the size given.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs() as u32);
        Ok(NftSocket { sock, seq })
    }

    /// Sends `batch` and waits for every acknowledgement; the first error
    /// the kernel reports is returned.
    pub fn apply(&mut self, batch: &Batch) -> Result<(), NftError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.sock.send(&batch.finish(), 0)?;
        let mut pending: Vec<u32> = batch.seqs().collect();
        let mut first_err = None;
        while !pending.is_empty() {
            let (buf, _) = self.sock.recv_from_full()?;
            for (seq, err) in acks(&buf) {
                pending.retain(|&s| s != seq);
                if err != 0 && first_err.is_none() {
                    first_err = Some(NftError::Refused(io::Error::from_raw_os_error(-err), seq));
                }
            }
            if first_err.is_some() {
                // A refused batch is aborted: no further acknowledgement.
                break;
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Probe for NftSocket {
    fn has_table(&mut self, family: NfProto, table: &str) -> bool {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        if self
            .sock
            .send(&nft::get_table(family, table, seq), 0)
            .is_err()
        {
            return false;
        }
        let mut found = false;
        loop {
            let Ok((buf, _)) = self.sock.recv_from_full() else {
                return found;
            };
            for (kind, s, err) in messages(&buf) {
                if s != seq {
                    continue;
                }
                match kind {
                    libc::NLMSG_ERROR => return found && err == 0,
                    libc::NLMSG_DONE => return found,
                    _ => found = true,
                }
            }
        }
    }
}

/// (type, seq, error) of each message in `buf`; error is the
/// NLMSG_ERROR's code (0: an acknowledgement).
fn messages(buf: &[u8]) -> Vec<(i32, u32, i32)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= buf.len() {
        let word = |i: usize| u32::from_ne_bytes(buf[off + i..off + i + 4].try_into().unwrap());
        let len = word(0) as usize;
        let kind = i32::from(u16::from_ne_bytes([buf[off + 4], buf[off + 5]]));
        let seq = word(8);
        let err = if kind == libc::NLMSG_ERROR && off + 20 <= buf.len() {
            word(16) as i32
        } else {
            0
        };
        out.push((kind, seq, err));
        if len < 16 {
            break;
        }
        off += (len + 3) & !3;
    }
    out
}

/// (seq, error) of the acknowledgements in `buf`.
fn acks(buf: &[u8]) -> Vec<(u32, i32)> {
    messages(buf)
        .into_iter()
        .filter(|m| m.0 == libc::NLMSG_ERROR)
        .map(|m| (m.1, m.2))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_are_read_with_their_sequence_and_code() {
        let mut buf = Vec::new();
        for (seq, err) in [(7u32, 0i32), (8, -17)] {
            buf.extend_from_slice(&36u32.to_ne_bytes());
            buf.extend_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
            buf.extend_from_slice(&0u16.to_ne_bytes());
            buf.extend_from_slice(&seq.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&err.to_ne_bytes());
            buf.extend_from_slice(&[0; 16]);
        }
        assert_eq!(acks(&buf), vec![(7, 0), (8, -17)]);
    }
}
