//! Wire formats: one file per protocol header.
//!
//! Each format offers two levels, after smoltcp's design (STYLE.md):
//!
//! - a **view** (`Frame`, `Packet`) over any `T: AsRef<[u8]>` with one getter per header
//!   field, and for `T: AsMut<[u8]>` one in-place setter per field. Views never copy.
//! - a **representation** (`...Repr`) holding only valid, decoded values, with
//!   `parse(&view)`, `buffer_len()` and `emit(&mut view)`.
//!
//! The contract for untrusted input: build the view with `new_checked`. It validates every
//! length the getters rely on, once; after it succeeds **no getter, setter or `parse` can
//! panic**, whatever the bytes are. `new_unchecked` is for buffers the caller sized itself,
//! typically right before `emit`, which needs at least `buffer_len()` bytes.
//!
//! Checksums are verified by `parse` when asked to and never by `new_checked`, so a caller
//! can count a bad checksum separately from a truncated header.

use thiserror::Error;

pub mod arp;
pub mod checksum;
pub mod dns;
pub mod ethernet;
pub mod icmpv4;
pub mod ipv4;
pub mod tcp;
pub mod udp;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use icmpv4::{DstUnreachable, Icmpv4Packet, Icmpv4Repr, TimeExceeded};
pub use ipv4::{IpProtocol, Ipv4Cidr, Ipv4Packet, Ipv4Repr};
pub use tcp::{SackBlocks, SeqNumber, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr};
pub use udp::{UdpPacket, UdpRepr};

pub use core::net::Ipv4Addr;

/// Why bytes could not be read as a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum Error {
    /// The buffer is shorter than a length the header needs or declares.
    #[error("truncated: the buffer is shorter than the header requires")]
    Truncated,
    /// A field holds a value the format forbids (bad version, bad option length...).
    #[error("malformed: a header field holds a value the format forbids")]
    Malformed,
    /// The checksum does not verify.
    #[error("bad checksum")]
    Checksum,
    /// Well-formed, but a variant this stack does not handle.
    #[error("unsupported: well-formed but not handled by this stack")]
    Unsupported,
}

pub type Result<T> = core::result::Result<T, Error>;

/// Whether `parse` verifies a checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// Verify it and fail with [`Error::Checksum`] when it does not match.
    #[default]
    Verify,
    /// Do not verify it: the device reports the checksum was left partial by TX offload
    /// (a kernel veth peer), or already verified it in hardware.
    Trust,
}
