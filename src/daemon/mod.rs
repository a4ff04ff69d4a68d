//! The running daemon: kernel interfaces and process plumbing.

pub mod netlink;
