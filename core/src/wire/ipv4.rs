//! IPv4 headers (RFC 791), with the DSCP/ECN split of the old TOS byte (RFC 2474, RFC 3168).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |   DSCP    |ECN|          Total Length         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Identification        |0|D|M|     Fragment Offset     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       Source Address                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Destination Address                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Options (IHL > 5)                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use super::{checksum, ChecksumMode, Error, Result};

/// The Protocol field (IANA protocol numbers).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum IpProtocol {
    Icmp,
    Tcp,
    Udp,
    Unknown(u8),
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> IpProtocol {
        match value {
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            other => IpProtocol::Unknown(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> u8 {
        match value {
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Unknown(other) => other,
        }
    }
}

/// tcpdump's names: `ICMP`, `TCP`, `UDP`, `ip-proto-47`.
impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::Icmp => write!(f, "ICMP"),
            IpProtocol::Tcp => write!(f, "TCP"),
            IpProtocol::Udp => write!(f, "UDP"),
            IpProtocol::Unknown(p) => write!(f, "ip-proto-{p}"),
        }
    }
}

/// An IPv4 address with a prefix length (RFC 4632 §3.1 notation `10.0.0.1/24`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Ipv4Cidr {
    address: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// Fails with [`Error::Malformed`] if `prefix_len` exceeds 32.
    pub const fn new(address: Ipv4Addr, prefix_len: u8) -> Result<Ipv4Cidr> {
        if prefix_len > 32 {
            Err(Error::Malformed)
        } else {
            Ok(Ipv4Cidr { address, prefix_len })
        }
    }

    pub const fn address(&self) -> Ipv4Addr {
        self.address
    }

    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    const fn mask_bits(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        }
    }

    /// The mask, `255.255.255.0` for a /24.
    pub const fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.mask_bits())
    }

    /// The network itself: the address with its host bits cleared, same prefix length.
    pub const fn network(&self) -> Ipv4Cidr {
        Ipv4Cidr {
            address: Ipv4Addr::from_bits(self.address.to_bits() & self.mask_bits()),
            prefix_len: self.prefix_len,
        }
    }

    /// The directed broadcast address (host bits all ones); none for /31 (RFC 3021) and /32.
    pub const fn broadcast(&self) -> Option<Ipv4Addr> {
        if self.prefix_len >= 31 {
            None
        } else {
            Some(Ipv4Addr::from_bits(self.address.to_bits() | !self.mask_bits()))
        }
    }

    /// Whether `addr` lies in this network.
    pub const fn contains_addr(&self, addr: &Ipv4Addr) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask_bits() == 0
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// Parses `10.0.0.1/24`; the prefix length is required.
impl FromStr for Ipv4Cidr {
    type Err = Error;
    fn from_str(s: &str) -> Result<Ipv4Cidr> {
        let (address, prefix_len) = s.split_once('/').ok_or(Error::Malformed)?;
        let address = address.parse().map_err(|_| Error::Malformed)?;
        if prefix_len.is_empty() || prefix_len.len() > 2 || !prefix_len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Malformed);
        }
        let prefix_len = prefix_len.parse().map_err(|_| Error::Malformed)?;
        Ipv4Cidr::new(address, prefix_len)
    }
}

mod field {
    use core::ops::Range;
    /// Version (4 bits) and IHL (4 bits, in 32-bit words).
    pub const VER_IHL: usize = 0;
    /// DSCP (6 bits) and ECN (2 bits).
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    /// Flags (reserved, DF, MF) and the fragment offset in 8-byte units (13 bits).
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC_ADDR: Range<usize> = 12..16;
    pub const DST_ADDR: Range<usize> = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;
/// Length of a header with the most options IHL can express (15 words).
pub const MAX_HEADER_LEN: usize = 60;

const FLAG_RESERVED: u16 = 0x8000;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view over an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it; getters may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> Ipv4Packet<T> {
        Ipv4Packet { buffer }
    }

    /// Wraps untrusted bytes: after this succeeds no method can panic.
    pub fn new_checked(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Wraps the IP header quoted in an ICMP error (RFC 792), whose Total Length describes
    /// the original datagram, usually longer than the quote: only the header itself must
    /// be present. After this succeeds no method can panic; `payload()` is what was quoted.
    pub fn new_checked_quoted(buffer: T) -> Result<Ipv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_header()?;
        Ok(packet)
    }

    /// Checks version and IHL, and that the buffer holds the header with its options.
    fn check_header(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 || self.header_len() < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if self.header_len() > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// RFC 791 §3.1 / RFC 1122 §3.2.1.1-2: version 4, IHL ≥ 5, and the buffer holds the
    /// whole datagram its Total Length declares. A longer buffer (Ethernet padding) is fine.
    pub fn check_len(&self) -> Result<()> {
        self.check_header()?;
        let total_len = usize::from(self.total_len());
        if total_len < self.header_len() {
            Err(Error::Malformed)
        } else if total_len > self.buffer.as_ref().len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn read_u16(&self, range: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn read_addr(&self, range: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[range];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// RFC 2474 §3: the Differentiated Services codepoint.
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// RFC 3168 §5: the ECN codepoint.
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// The former TOS byte: DSCP and ECN together.
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Header and data, in bytes.
    pub fn total_len(&self) -> u16 {
        self.read_u16(field::LENGTH)
    }

    pub fn ident(&self) -> u16 {
        self.read_u16(field::IDENT)
    }

    /// The reserved flag, which RFC 791 requires to be zero.
    pub fn reserved_flag(&self) -> bool {
        self.read_u16(field::FLG_OFF) & FLAG_RESERVED != 0
    }

    pub fn dont_frag(&self) -> bool {
        self.read_u16(field::FLG_OFF) & FLAG_DF != 0
    }

    pub fn more_frags(&self) -> bool {
        self.read_u16(field::FLG_OFF) & FLAG_MF != 0
    }

    /// The fragment offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (self.read_u16(field::FLG_OFF) & OFFSET_MASK) * 8
    }

    /// Time to Live.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        self.read_addr(field::SRC_ADDR)
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        self.read_addr(field::DST_ADDR)
    }

    /// Whether this is a fragment of a larger datagram (MF set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.read_u16(field::FLG_OFF) & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// The option bytes, between the fixed header and `header_len()`.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The range of the payload: from the header's end to Total Length, clamped to the
    /// buffer (only a quoted header is ever shorter than its Total Length).
    fn payload_range(&self) -> core::ops::Range<usize> {
        let end = usize::from(self.total_len()).min(self.buffer.as_ref().len());
        let start = self.header_len().min(end);
        start..end
    }

    /// The data after the header, up to Total Length: Ethernet padding is excluded.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }

    /// RFC 791 §3.1: the one's-complement sum over the header, checksum included, is all ones.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..self.header_len()]) == !0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    fn write_flag(&mut self, flag: u16, value: bool) {
        let raw = self.read_u16(field::FLG_OFF);
        self.write_u16(field::FLG_OFF, if value { raw | flag } else { raw & !flag });
    }

    /// Sets the version nibble (always 4 for a valid packet).
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Sets IHL from a length in bytes: a multiple of 4 from 20 to 60.
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(len.is_multiple_of(4) && (HEADER_LEN..=MAX_HEADER_LEN).contains(&len), "IHL {len}");
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    pub fn set_dscp(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (value << 2);
    }

    pub fn set_ecn(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (value & 0x03);
    }

    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    pub fn set_total_len(&mut self, value: u16) {
        self.write_u16(field::LENGTH, value);
    }

    pub fn set_ident(&mut self, value: u16) {
        self.write_u16(field::IDENT, value);
    }

    /// Sets the reserved flag (for tests of receivers; senders keep it zero).
    pub fn set_reserved_flag(&mut self, value: bool) {
        self.write_flag(FLAG_RESERVED, value);
    }

    pub fn set_dont_frag(&mut self, value: bool) {
        self.write_flag(FLAG_DF, value);
    }

    pub fn set_more_frags(&mut self, value: bool) {
        self.write_flag(FLAG_MF, value);
    }

    /// Sets the fragment offset from bytes, which must be a multiple of 8 (RFC 791 §3.2).
    pub fn set_frag_offset(&mut self, bytes: u16) {
        debug_assert!(bytes.is_multiple_of(8), "fragment offset {bytes} is not a multiple of 8");
        let raw = self.read_u16(field::FLG_OFF);
        self.write_u16(field::FLG_OFF, (raw & !OFFSET_MASK) | (bytes / 8));
    }

    /// Sets Time to Live.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = u8::from(value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum over `header_len()` bytes and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(!sum);
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The data after the header, up to Total Length (set it first).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.payload_range();
        &mut self.buffer.as_mut()[range]
    }
}

/// tcpdump-like: `10.0.0.1 > 10.0.0.2: UDP, ttl 64, id 1, len 28, DF`.
impl<T: AsRef<[u8]>> fmt::Display for Ipv4Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(
            f,
            &Summary {
                src_addr: self.src_addr(),
                dst_addr: self.dst_addr(),
                next_header: self.next_header(),
                dscp_ecn: self.dscp_ecn(),
                hop_limit: self.hop_limit(),
                ident: self.ident(),
                total_len: usize::from(self.total_len()),
                dont_frag: self.dont_frag(),
                more_frags: self.more_frags(),
                frag_offset: self.frag_offset(),
            },
        )?;
        if self.header_len() > HEADER_LEN {
            write!(f, ", options {}", self.header_len() - HEADER_LEN)?;
        }
        if !self.verify_checksum() {
            write!(f, ", bad cksum {:04x}", self.checksum())?;
        }
        Ok(())
    }
}

/// The fields the packet and repr `Display`s share.
struct Summary {
    src_addr: Ipv4Addr,
    dst_addr: Ipv4Addr,
    next_header: IpProtocol,
    dscp_ecn: u8,
    hop_limit: u8,
    ident: u16,
    total_len: usize,
    dont_frag: bool,
    more_frags: bool,
    frag_offset: u16,
}

fn write_summary(f: &mut fmt::Formatter<'_>, s: &Summary) -> fmt::Result {
    write!(f, "{} > {}: {}", s.src_addr, s.dst_addr, s.next_header)?;
    if s.dscp_ecn != 0 {
        write!(f, ", tos 0x{:x}", s.dscp_ecn)?;
    }
    write!(f, ", ttl {}, id {}, len {}", s.hop_limit, s.ident, s.total_len)?;
    if s.dont_frag {
        write!(f, ", DF")?;
    }
    if s.more_frags {
        write!(f, ", MF")?;
    }
    if s.frag_offset != 0 {
        write!(f, ", offset {}", s.frag_offset)?;
    }
    Ok(())
}

/// A parsed IPv4 header. Options are skipped on parse and never emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub next_header: IpProtocol,
    /// Bytes after the header (Total Length minus the header length).
    pub payload_len: usize,
    /// Time to Live.
    pub hop_limit: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    /// In bytes, a multiple of 8.
    pub frag_offset: u16,
    /// The former TOS byte (RFC 2474 DSCP, RFC 3168 ECN).
    pub dscp_ecn: u8,
}

impl Ipv4Repr {
    /// Parses a checked packet, verifying the header checksum when `mode` says so.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>, mode: ChecksumMode) -> Result<Ipv4Repr> {
        packet.check_len()?;
        if mode == ChecksumMode::Verify && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(Self::read(packet))
    }

    /// Parses the header quoted in an ICMP error (RFC 792): only the header must be present,
    /// its checksum is not verified, and `payload_len` is the original datagram's.
    pub fn parse_quoted<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Ipv4Repr> {
        packet.check_header()?;
        if usize::from(packet.total_len()) < packet.header_len() {
            return Err(Error::Malformed);
        }
        Ok(Self::read(packet))
    }

    /// Reads the fields of a packet whose header and Total Length are already checked.
    fn read<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Ipv4Repr {
        Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            hop_limit: packet.hop_limit(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
            dscp_ecn: packet.dscp_ecn(),
        }
    }

    /// 20: options are never emitted.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes a 20-byte header (IHL 5) with Total Length `20 + payload_len` and its checksum;
    /// `packet` must hold at least `buffer_len()` bytes. The payload is not touched.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let total_len = HEADER_LEN + self.payload_len;
        debug_assert!(total_len <= usize::from(u16::MAX), "IPv4 payload of {} bytes", self.payload_len);
        packet.buffer.as_mut()[field::VER_IHL] = 0x45;
        packet.set_dscp_ecn(self.dscp_ecn);
        packet.set_total_len(total_len as u16);
        packet.set_ident(self.ident);
        packet.write_u16(field::FLG_OFF, 0);
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset);
        packet.set_hop_limit(self.hop_limit);
        packet.set_next_header(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

/// tcpdump-like: `10.0.0.1 > 10.0.0.2: UDP, ttl 64, id 1, len 28, DF`.
impl fmt::Display for Ipv4Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_summary(
            f,
            &Summary {
                src_addr: self.src_addr,
                dst_addr: self.dst_addr,
                next_header: self.next_header,
                dscp_ecn: self.dscp_ecn,
                hop_limit: self.hop_limit,
                ident: self.ident,
                total_len: HEADER_LEN + self.payload_len,
                dont_frag: self.dont_frag,
                more_frags: self.more_frags,
                frag_offset: self.frag_offset,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `IP(src='10.0.0.1', dst='10.0.0.53', id=1, flags='DF')/UDP(sport=40000, dport=53)/
    /// DNS(id=0x1234, rd=1, qd=DNSQR(qname='example.com'))`, built with scapy 2.5.
    const DNS_QUERY: &str = "45000039000140004011267e0a0000010a0000359c40003500256d57123401000001\
                             000000000000076578616d706c6503636f6d0000010001";
    /// `IP(src='10.0.0.1', dst='224.0.0.22', id=0, ttl=1, tos=0xc0, proto=2,
    /// options=[IPOption_Router_Alert()])/Raw(b'\x22\x00\xf9\x02\x00\x00\x00\x00')`,
    /// built with scapy 2.5: an IGMPv3 report with the RFC 2113 Router Alert option (IHL 6).
    const WITH_OPTIONS: &str = "46c000200000000001023a010a000001e0000016940400002200f90200000000";
    /// `IP(src='10.0.0.1', dst='10.0.0.2', id=0x4242, flags='MF', frag=185, proto=17,
    /// ttl=64)/Raw(b'x'*16)`, built with scapy 2.5: a middle fragment at byte 1480.
    const FRAGMENT: &str = "45000024424220b9401103cc0a0000010a00000278787878787878787878787878787878";

    fn addr(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
        Ipv4Addr::new(a, b, c, d)
    }

    #[test]
    fn parses_dns_query_known_answer() {
        let bytes = hex::decode(DNS_QUERY).unwrap();
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.version(), 4);
        assert_eq!(packet.header_len(), 20);
        assert_eq!(packet.dscp(), 0);
        assert_eq!(packet.ecn(), 0);
        assert_eq!(packet.total_len(), 57);
        assert_eq!(packet.ident(), 1);
        assert!(packet.dont_frag());
        assert!(!packet.more_frags());
        assert!(!packet.reserved_flag());
        assert!(!packet.is_fragment());
        assert_eq!(packet.frag_offset(), 0);
        assert_eq!(packet.hop_limit(), 64);
        assert_eq!(packet.next_header(), IpProtocol::Udp);
        assert_eq!(packet.checksum(), 0x267e);
        assert_eq!(packet.src_addr(), addr(10, 0, 0, 1));
        assert_eq!(packet.dst_addr(), addr(10, 0, 0, 53));
        assert!(packet.options().is_empty());
        assert_eq!(packet.payload(), &bytes[20..]);
        assert!(packet.verify_checksum());
        let repr = Ipv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        assert_eq!(
            repr,
            Ipv4Repr {
                src_addr: addr(10, 0, 0, 1),
                dst_addr: addr(10, 0, 0, 53),
                next_header: IpProtocol::Udp,
                payload_len: 37,
                hop_limit: 64,
                ident: 1,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
                dscp_ecn: 0,
            }
        );
        assert_eq!(repr.to_string(), "10.0.0.1 > 10.0.0.53: UDP, ttl 64, id 1, len 57, DF");
        assert_eq!(packet.to_string(), repr.to_string());
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes[..20]);
    }

    #[test]
    fn parses_options_known_answer() {
        let bytes = hex::decode(WITH_OPTIONS).unwrap();
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.header_len(), 24);
        assert_eq!(packet.dscp(), 0x30);
        assert_eq!(packet.ecn(), 0);
        assert_eq!(packet.total_len(), 32);
        assert_eq!(packet.hop_limit(), 1);
        assert_eq!(packet.next_header(), IpProtocol::Unknown(2));
        assert_eq!(packet.checksum(), 0x3a01);
        assert_eq!(packet.dst_addr(), addr(224, 0, 0, 22));
        assert_eq!(packet.options(), [0x94, 0x04, 0x00, 0x00]);
        assert_eq!(packet.payload(), hex::decode("2200f90200000000").unwrap());
        let repr = Ipv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        assert_eq!(repr.payload_len, 8);
        assert_eq!(repr.dscp_ecn, 0xc0);
        assert_eq!(repr.to_string(), "10.0.0.1 > 224.0.0.22: ip-proto-2, tos 0xc0, ttl 1, id 0, len 28");
        assert_eq!(
            packet.to_string(),
            "10.0.0.1 > 224.0.0.22: ip-proto-2, tos 0xc0, ttl 1, id 0, len 32, options 4"
        );
    }

    #[test]
    fn parses_fragment_known_answer() {
        let bytes = hex::decode(FRAGMENT).unwrap();
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(packet.more_frags());
        assert!(!packet.dont_frag());
        assert!(packet.is_fragment());
        assert_eq!(packet.frag_offset(), 1480);
        assert_eq!(packet.ident(), 0x4242);
        assert_eq!(packet.payload(), [b'x'; 16]);
        let repr = Ipv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        assert!(repr.more_frags);
        assert_eq!(repr.frag_offset, 1480);
        assert_eq!(repr.payload_len, 16);
        assert_eq!(repr.to_string(), "10.0.0.1 > 10.0.0.2: UDP, ttl 64, id 16962, len 36, MF, offset 1480");
        let mut out = vec![0; bytes.len()];
        let mut view = Ipv4Packet::new_unchecked(&mut out[..]);
        repr.emit(&mut view);
        view.payload_mut().copy_from_slice(packet.payload());
        assert_eq!(out, bytes);
    }

    #[test]
    fn payload_excludes_ethernet_padding() {
        let mut bytes = hex::decode(FRAGMENT).unwrap();
        bytes.resize(46, 0);
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.payload(), [b'x'; 16]);
    }

    #[test]
    fn rejects_each_invalid_length() {
        let bytes = hex::decode(DNS_QUERY).unwrap();
        let check = |b: &[u8]| Ipv4Packet::new_checked(b).map(|_| ());
        assert_eq!(check(&bytes[..19]), Err(Error::Truncated));
        let mut v6 = bytes.clone();
        v6[0] = 0x65;
        assert_eq!(check(&v6), Err(Error::Malformed));
        let mut ihl4 = bytes.clone();
        ihl4[0] = 0x44;
        assert_eq!(check(&ihl4), Err(Error::Malformed));
        // IHL 15 (60 bytes) in a 40-byte buffer.
        let mut ihl15 = bytes[..40].to_vec();
        ihl15[0] = 0x4f;
        assert_eq!(check(&ihl15), Err(Error::Truncated));
        // Total Length below the header length.
        let mut short_total = bytes.clone();
        short_total[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(check(&short_total), Err(Error::Malformed));
        // Total Length beyond the buffer.
        assert_eq!(check(&bytes[..bytes.len() - 1]), Err(Error::Truncated));
        // `parse` re-checks a view built unchecked.
        let unchecked = Ipv4Packet::new_unchecked(&bytes[..30]);
        assert_eq!(Ipv4Repr::parse(&unchecked, ChecksumMode::Trust), Err(Error::Truncated));
    }

    #[test]
    fn checksum_modes() {
        let mut bytes = hex::decode(DNS_QUERY).unwrap();
        bytes[11] ^= 0x01;
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(!packet.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&packet, ChecksumMode::Verify), Err(Error::Checksum));
        assert_eq!(Ipv4Repr::parse(&packet, ChecksumMode::Trust).unwrap().ident, 1);
        assert!(packet.to_string().ends_with(", bad cksum 267f"));
        assert_eq!(ChecksumMode::default(), ChecksumMode::Verify);
    }

    #[test]
    fn quoted_header_may_describe_a_longer_datagram() {
        let bytes = hex::decode(DNS_QUERY).unwrap();
        let quote = &bytes[..28];
        assert_eq!(Ipv4Packet::new_checked(quote).unwrap_err(), Error::Truncated);
        let packet = Ipv4Packet::new_checked_quoted(quote).unwrap();
        assert_eq!(packet.payload(), &bytes[20..28]);
        let repr = Ipv4Repr::parse_quoted(&packet).unwrap();
        assert_eq!(repr.payload_len, 37);
        // Only the header must be there.
        assert_eq!(Ipv4Packet::new_checked_quoted(&bytes[..19]).unwrap_err(), Error::Truncated);
        let mut options = hex::decode(WITH_OPTIONS).unwrap();
        assert_eq!(Ipv4Packet::new_checked_quoted(&options[..23]).unwrap_err(), Error::Truncated);
        options[0] = 0x56;
        assert_eq!(Ipv4Packet::new_checked_quoted(&options[..]).unwrap_err(), Error::Malformed);
        // A Total Length below the header length.
        let mut short_total = bytes[..28].to_vec();
        short_total[2..4].copy_from_slice(&8u16.to_be_bytes());
        let packet = Ipv4Packet::new_checked_quoted(&short_total[..]).unwrap();
        assert!(packet.payload().is_empty());
        assert_eq!(Ipv4Repr::parse_quoted(&packet), Err(Error::Malformed));
    }

    #[test]
    fn setters_write_each_field() {
        let mut buf = [0u8; 24];
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        packet.set_version(4);
        packet.set_header_len(24);
        packet.set_dscp(46);
        packet.set_ecn(1);
        packet.set_total_len(24);
        packet.set_ident(0xbeef);
        packet.set_reserved_flag(true);
        packet.set_dont_frag(true);
        packet.set_more_frags(true);
        packet.set_frag_offset(65528);
        packet.set_hop_limit(7);
        packet.set_next_header(IpProtocol::Tcp);
        packet.set_src_addr(addr(1, 2, 3, 4));
        packet.set_dst_addr(addr(5, 6, 7, 8));
        packet.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        packet.fill_checksum();
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!((packet.version(), packet.header_len()), (4, 24));
        assert_eq!((packet.dscp(), packet.ecn(), packet.dscp_ecn()), (46, 1, 0xb9));
        assert_eq!(packet.ident(), 0xbeef);
        assert!(packet.reserved_flag() && packet.dont_frag() && packet.more_frags());
        assert_eq!(packet.frag_offset(), 65528);
        assert_eq!(packet.hop_limit(), 7);
        assert_eq!(packet.next_header(), IpProtocol::Tcp);
        assert_eq!((packet.src_addr(), packet.dst_addr()), (addr(1, 2, 3, 4), addr(5, 6, 7, 8)));
        assert_eq!(packet.options(), [1, 1, 1, 0]);
        assert!(packet.verify_checksum());
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        packet.set_dont_frag(false);
        packet.set_frag_offset(8);
        assert!(!packet.dont_frag() && packet.more_frags() && packet.reserved_flag());
        assert_eq!(packet.frag_offset(), 8);
    }

    #[test]
    fn protocol_numbers() {
        for (number, protocol, text) in [
            (1, IpProtocol::Icmp, "ICMP"),
            (6, IpProtocol::Tcp, "TCP"),
            (17, IpProtocol::Udp, "UDP"),
            (47, IpProtocol::Unknown(47), "ip-proto-47"),
        ] {
            assert_eq!(IpProtocol::from(number), protocol);
            assert_eq!(u8::from(protocol), number);
            assert_eq!(protocol.to_string(), text);
        }
    }

    #[test]
    fn cidr() {
        let cidr: Ipv4Cidr = "10.0.0.1/24".parse().unwrap();
        assert_eq!(cidr.address(), addr(10, 0, 0, 1));
        assert_eq!(cidr.prefix_len(), 24);
        assert_eq!(cidr.netmask(), addr(255, 255, 255, 0));
        assert_eq!(cidr.network(), Ipv4Cidr::new(addr(10, 0, 0, 0), 24).unwrap());
        assert_eq!(cidr.broadcast(), Some(addr(10, 0, 0, 255)));
        assert!(cidr.contains_addr(&addr(10, 0, 0, 200)));
        assert!(!cidr.contains_addr(&addr(10, 0, 1, 1)));
        assert_eq!(cidr.to_string(), "10.0.0.1/24");

        let odd = Ipv4Cidr::new(addr(172, 16, 5, 77), 20).unwrap();
        assert_eq!(odd.netmask(), addr(255, 255, 240, 0));
        assert_eq!(odd.network().address(), addr(172, 16, 0, 0));
        assert_eq!(odd.broadcast(), Some(addr(172, 16, 15, 255)));

        let all = Ipv4Cidr::new(addr(1, 2, 3, 4), 0).unwrap();
        assert_eq!(all.netmask(), addr(0, 0, 0, 0));
        assert!(all.contains_addr(&addr(255, 255, 255, 255)));
        assert_eq!(all.broadcast(), Some(Ipv4Addr::BROADCAST));

        let point_to_point = Ipv4Cidr::new(addr(10, 0, 0, 0), 31).unwrap();
        assert_eq!(point_to_point.broadcast(), None);
        assert!(point_to_point.contains_addr(&addr(10, 0, 0, 1)));
        let host = Ipv4Cidr::new(addr(10, 0, 0, 7), 32).unwrap();
        assert_eq!(host.netmask(), Ipv4Addr::BROADCAST);
        assert_eq!(host.broadcast(), None);
        assert!(host.contains_addr(&addr(10, 0, 0, 7)) && !host.contains_addr(&addr(10, 0, 0, 6)));

        assert_eq!(Ipv4Cidr::new(addr(10, 0, 0, 1), 33), Err(Error::Malformed));
        for bad in ["10.0.0.1", "10.0.0.1/", "10.0.0.1/33", "10.0.0.1/+8", "10.0.0/8", "10.0.0.1/24/1", "x/8"]
        {
            assert_eq!(bad.parse::<Ipv4Cidr>(), Err(Error::Malformed), "{bad}");
        }
    }

    fn any_repr() -> impl Strategy<Value = Ipv4Repr> {
        (
            (any::<[u8; 4]>(), any::<[u8; 4]>(), any::<u8>(), 0usize..=65515, any::<u8>()),
            (any::<u16>(), any::<bool>(), any::<bool>(), 0u16..8192, any::<u8>()),
        )
            .prop_map(
                |((s, d, p, payload_len, hop_limit), (ident, dont_frag, more_frags, off, dscp_ecn))| {
                    Ipv4Repr {
                        src_addr: Ipv4Addr::from(s),
                        dst_addr: Ipv4Addr::from(d),
                        next_header: IpProtocol::from(p),
                        payload_len,
                        hop_limit,
                        ident,
                        dont_frag,
                        more_frags,
                        frag_offset: off * 8,
                        dscp_ecn,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(repr in any_repr(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let repr = Ipv4Repr { payload_len: payload.len(), ..repr };
            let mut buf = vec![0; repr.buffer_len() + payload.len()];
            let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
            repr.emit(&mut packet);
            packet.payload_mut().copy_from_slice(&payload);
            let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Ipv4Repr::parse(&packet, ChecksumMode::Verify).unwrap(), repr);
            prop_assert_eq!(packet.payload(), &payload[..]);
        }

        #[test]
        fn quoted_round_trip(repr in any_repr(), quoted in 0usize..16) {
            // An ICMP error quotes the header and the first bytes of a longer datagram.
            let mut buf = vec![0xaa; repr.buffer_len() + quoted.min(repr.payload_len)];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            let packet = Ipv4Packet::new_checked_quoted(&buf[..]).unwrap();
            prop_assert_eq!(Ipv4Repr::parse_quoted(&packet).unwrap(), repr);
            prop_assert_eq!(packet.payload().len(), quoted.min(repr.payload_len));
        }

        #[test]
        fn cidr_text_round_trip(octets in any::<[u8; 4]>(), prefix_len in 0u8..=32) {
            let cidr = Ipv4Cidr::new(Ipv4Addr::from(octets), prefix_len).unwrap();
            prop_assert_eq!(cidr.to_string().parse::<Ipv4Cidr>().unwrap(), cidr);
            prop_assert!(cidr.contains_addr(&cidr.address()));
            prop_assert!(cidr.contains_addr(&cidr.network().address()));
            if let Some(broadcast) = cidr.broadcast() {
                prop_assert!(cidr.contains_addr(&broadcast));
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            for packet in [Ipv4Packet::new_checked(&bytes[..]), Ipv4Packet::new_checked_quoted(&bytes[..])]
                .into_iter()
                .flatten()
            {
                let _ = Ipv4Repr::parse(&packet, ChecksumMode::Verify);
                let _ = Ipv4Repr::parse(&packet, ChecksumMode::Trust);
                let _ = Ipv4Repr::parse_quoted(&packet);
                let _ = packet.to_string();
                let _ = (packet.options(), packet.payload(), packet.verify_checksum(), packet.frag_offset());
            }
        }

        #[test]
        fn never_panics_valid_version(mut bytes in proptest::collection::vec(any::<u8>(), 20..80), ihl in 0u8..16) {
            // Reach past the version check most random bytes fail.
            bytes[0] = 0x40 | ihl;
            for packet in [Ipv4Packet::new_checked(&bytes[..]), Ipv4Packet::new_checked_quoted(&bytes[..])]
                .into_iter()
                .flatten()
            {
                let _ = Ipv4Repr::parse(&packet, ChecksumMode::Trust);
                let _ = Ipv4Repr::parse_quoted(&packet);
                let _ = packet.to_string();
                let _ = (packet.options(), packet.payload(), packet.verify_checksum());
            }
        }
    }
}
