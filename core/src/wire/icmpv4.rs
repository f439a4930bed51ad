//! ICMP for IPv4 (RFC 792): echo, destination unreachable (with the RFC 1191 next-hop MTU)
//! and time exceeded.
//!
//! ```text
//!  0       1       2               4               6               8
//! +-------+-------+---------------+---------------+---------------+------------------
//! | type  | code  | checksum      | identifier    | sequence no.  | echo data...        (echo)
//! | type  | code  | checksum      | unused        | next-hop MTU  | IP header + 8 bytes (errors)
//! +-------+-------+---------------+---------------+---------------+------------------
//! ```
//!
//! The checksum covers the whole message, so a view must span exactly the ICMP message
//! (the IPv4 payload), no Ethernet padding.

use core::fmt;

use super::ipv4::{self, Ipv4Packet, Ipv4Repr};
use super::{checksum, ChecksumMode, Error, IpProtocol, Result};

/// The message types this stack handles (RFC 792).
pub mod msg_type {
    pub const ECHO_REPLY: u8 = 0;
    pub const DST_UNREACHABLE: u8 = 3;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
}

/// Destination Unreachable codes (RFC 792; RFC 1812 §5.2.7.1 for 9, 10 and 13).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum DstUnreachable {
    NetUnreachable,
    HostUnreachable,
    ProtoUnreachable,
    PortUnreachable,
    /// Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4).
    FragRequired,
    SrcRouteFailed,
    /// Communication with the destination network administratively prohibited.
    NetProhibited,
    /// Communication with the destination host administratively prohibited.
    HostProhibited,
    /// Communication administratively prohibited (by filtering).
    AdminProhibited,
    Other(u8),
}

impl From<u8> for DstUnreachable {
    fn from(code: u8) -> DstUnreachable {
        match code {
            0 => DstUnreachable::NetUnreachable,
            1 => DstUnreachable::HostUnreachable,
            2 => DstUnreachable::ProtoUnreachable,
            3 => DstUnreachable::PortUnreachable,
            4 => DstUnreachable::FragRequired,
            5 => DstUnreachable::SrcRouteFailed,
            9 => DstUnreachable::NetProhibited,
            10 => DstUnreachable::HostProhibited,
            13 => DstUnreachable::AdminProhibited,
            other => DstUnreachable::Other(other),
        }
    }
}

impl From<DstUnreachable> for u8 {
    fn from(reason: DstUnreachable) -> u8 {
        match reason {
            DstUnreachable::NetUnreachable => 0,
            DstUnreachable::HostUnreachable => 1,
            DstUnreachable::ProtoUnreachable => 2,
            DstUnreachable::PortUnreachable => 3,
            DstUnreachable::FragRequired => 4,
            DstUnreachable::SrcRouteFailed => 5,
            DstUnreachable::NetProhibited => 9,
            DstUnreachable::HostProhibited => 10,
            DstUnreachable::AdminProhibited => 13,
            DstUnreachable::Other(code) => code,
        }
    }
}

/// Time Exceeded codes (RFC 792).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum TimeExceeded {
    /// Time to live exceeded in transit.
    TtlExpired,
    /// Fragment reassembly time exceeded.
    FragReassemblyExpired,
    Other(u8),
}

impl From<u8> for TimeExceeded {
    fn from(code: u8) -> TimeExceeded {
        match code {
            0 => TimeExceeded::TtlExpired,
            1 => TimeExceeded::FragReassemblyExpired,
            other => TimeExceeded::Other(other),
        }
    }
}

impl From<TimeExceeded> for u8 {
    fn from(reason: TimeExceeded) -> u8 {
        match reason {
            TimeExceeded::TtlExpired => 0,
            TimeExceeded::FragReassemblyExpired => 1,
            TimeExceeded::Other(code) => code,
        }
    }
}

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    /// RFC 792: "unused" in error messages; RFC 1191 puts the next-hop MTU in its low half.
    pub const UNUSED: Range<usize> = 4..8;
    pub const NEXT_HOP_MTU: Range<usize> = 6..8;
}

/// Length of the header: type, code, checksum and the four type-specific bytes.
pub const HEADER_LEN: usize = field::UNUSED.end;

/// RFC 792 / RFC 1122 §3.2.2: an error quotes the IP header and at least this many bytes of
/// the original datagram's data.
pub const QUOTED_DATA_LEN: usize = 8;

/// A view over an ICMPv4 message.
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps a buffer without checking it; getters may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> Icmpv4Packet<T> {
        Icmpv4Packet { buffer }
    }

    /// Wraps untrusted bytes: after this succeeds no method can panic.
    pub fn new_checked(buffer: T) -> Result<Icmpv4Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the buffer holds the 8-byte header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
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

    /// The message type (see [`msg_type`]).
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// Echo and echo reply: the identifier.
    pub fn echo_ident(&self) -> u16 {
        self.read_u16(field::ECHO_IDENT)
    }

    /// Echo and echo reply: the sequence number.
    pub fn echo_seq_no(&self) -> u16 {
        self.read_u16(field::ECHO_SEQNO)
    }

    /// RFC 1191 §4: the next-hop MTU of a "fragmentation needed" message (0 from routers
    /// that predate RFC 1191).
    pub fn next_hop_mtu(&self) -> u16 {
        self.read_u16(field::NEXT_HOP_MTU)
    }

    /// The bytes after the 8-byte header: echo data, or the quoted datagram of an error.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// RFC 792: the one's-complement sum over the whole message, checksum included, is all ones.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == !0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    pub fn set_echo_ident(&mut self, value: u16) {
        self.write_u16(field::ECHO_IDENT, value);
    }

    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.write_u16(field::ECHO_SEQNO, value);
    }

    /// Zeroes the four type-specific bytes, "unused" in error messages.
    pub fn clear_unused(&mut self) {
        self.buffer.as_mut()[field::UNUSED].fill(0);
    }

    pub fn set_next_hop_mtu(&mut self, value: u16) {
        self.write_u16(field::NEXT_HOP_MTU, value);
    }

    /// Computes the checksum over the whole buffer and stores it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(!sum);
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Icmpv4Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let view = Icmpv4Packet::new_unchecked(self.buffer.as_ref());
        match Icmpv4Repr::parse(&view, ChecksumMode::Trust) {
            Ok(repr) => fmt::Display::fmt(&repr, f)?,
            Err(_) => write!(
                f,
                "ICMP type {}, code {}, length {}",
                self.msg_type(),
                self.msg_code(),
                self.buffer.as_ref().len()
            )?,
        }
        if !self.verify_checksum() {
            write!(f, ", bad cksum {:04x}", self.checksum())?;
        }
        Ok(())
    }
}

/// A parsed ICMPv4 message of a type this stack handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Repr<'a> {
    EchoRequest {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    EchoReply {
        ident: u16,
        seq_no: u16,
        data: &'a [u8],
    },
    DstUnreachable {
        reason: DstUnreachable,
        /// RFC 1191 §4: set for [`DstUnreachable::FragRequired`] only, 0 otherwise.
        next_hop_mtu: u16,
        /// The quoted header of the original datagram; `payload_len` is the original's.
        header: Ipv4Repr,
        /// Everything after the quoted header: the original's first bytes.
        data: &'a [u8],
    },
    TimeExceeded {
        reason: TimeExceeded,
        /// The quoted header of the original datagram; `payload_len` is the original's.
        header: Ipv4Repr,
        /// Everything after the quoted header: the original's first bytes.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parses echo, echo reply, destination unreachable and time exceeded; other types are
    /// [`Error::Unsupported`]. An error's quoted header must be a valid IPv4 header followed
    /// by the first 8 data bytes of the original (fewer only if the original had fewer);
    /// its own checksum is not verified.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Icmpv4Packet<&'a T>,
        mode: ChecksumMode,
    ) -> Result<Icmpv4Repr<'a>> {
        packet.check_len()?;
        if mode == ChecksumMode::Verify && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let bytes: &'a [u8] = T::as_ref(packet.buffer);
        let data = &bytes[HEADER_LEN..];
        let code = packet.msg_code();
        match packet.msg_type() {
            // RFC 792: echo messages have code 0.
            msg_type::ECHO_REQUEST | msg_type::ECHO_REPLY if code != 0 => Err(Error::Malformed),
            msg_type::ECHO_REQUEST => {
                Ok(Icmpv4Repr::EchoRequest { ident: packet.echo_ident(), seq_no: packet.echo_seq_no(), data })
            }
            msg_type::ECHO_REPLY => {
                Ok(Icmpv4Repr::EchoReply { ident: packet.echo_ident(), seq_no: packet.echo_seq_no(), data })
            }
            msg_type::DST_UNREACHABLE => {
                let (header, data) = parse_quoted(data)?;
                let reason = DstUnreachable::from(code);
                let next_hop_mtu =
                    if reason == DstUnreachable::FragRequired { packet.next_hop_mtu() } else { 0 };
                Ok(Icmpv4Repr::DstUnreachable { reason, next_hop_mtu, header, data })
            }
            msg_type::TIME_EXCEEDED => {
                let (header, data) = parse_quoted(data)?;
                Ok(Icmpv4Repr::TimeExceeded { reason: TimeExceeded::from(code), header, data })
            }
            _ => Err(Error::Unsupported),
        }
    }

    /// The message length: header, then echo data or the quoted header and data.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self {
                Icmpv4Repr::EchoRequest { data, .. } | Icmpv4Repr::EchoReply { data, .. } => data.len(),
                Icmpv4Repr::DstUnreachable { header, data, .. }
                | Icmpv4Repr::TimeExceeded { header, data, .. } => header.buffer_len() + data.len(),
            }
    }

    /// Writes the message and its checksum. `packet` must be exactly `buffer_len()` bytes:
    /// the checksum covers the whole buffer.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) {
        packet.clear_unused();
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, data }
            | Icmpv4Repr::EchoReply { ident, seq_no, data } => {
                let kind = match self {
                    Icmpv4Repr::EchoRequest { .. } => msg_type::ECHO_REQUEST,
                    _ => msg_type::ECHO_REPLY,
                };
                packet.set_msg_type(kind);
                packet.set_msg_code(0);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                packet.data_mut()[..data.len()].copy_from_slice(data);
            }
            Icmpv4Repr::DstUnreachable { reason, next_hop_mtu, ref header, data } => {
                packet.set_msg_type(msg_type::DST_UNREACHABLE);
                packet.set_msg_code(u8::from(reason));
                if reason == DstUnreachable::FragRequired {
                    packet.set_next_hop_mtu(next_hop_mtu);
                }
                emit_quoted(packet.data_mut(), header, data);
            }
            Icmpv4Repr::TimeExceeded { reason, ref header, data } => {
                packet.set_msg_type(msg_type::TIME_EXCEEDED);
                packet.set_msg_code(u8::from(reason));
                emit_quoted(packet.data_mut(), header, data);
            }
        }
        packet.fill_checksum();
    }
}

/// Splits an error's body into the quoted IP header and the data after it.
fn parse_quoted(body: &[u8]) -> Result<(Ipv4Repr, &[u8])> {
    let quoted = Ipv4Packet::new_checked_quoted(body)?;
    let header = Ipv4Repr::parse_quoted(&quoted)?;
    let data = &body[quoted.header_len()..];
    if data.len() < QUOTED_DATA_LEN.min(header.payload_len) {
        return Err(Error::Truncated);
    }
    Ok((header, data))
}

fn emit_quoted(body: &mut [u8], header: &Ipv4Repr, data: &[u8]) {
    let (quoted_header, rest) = body.split_at_mut(ipv4::HEADER_LEN);
    header.emit(&mut Ipv4Packet::new_unchecked(quoted_header));
    rest[..data.len()].copy_from_slice(data);
}

/// tcpdump's wording, e.g. `ICMP echo request, id 4660, seq 1, length 16`,
/// `ICMP 10.0.0.2 udp port 9999 unreachable, length 41`.
impl fmt::Display for Icmpv4Repr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. } => {
                write!(f, "ICMP echo request, id {ident}, seq {seq_no}")?;
            }
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => {
                write!(f, "ICMP echo reply, id {ident}, seq {seq_no}")?;
            }
            Icmpv4Repr::DstUnreachable { reason, next_hop_mtu, ref header, data } => {
                let dst = header.dst_addr;
                match reason {
                    DstUnreachable::NetUnreachable => write!(f, "ICMP net {dst} unreachable")?,
                    DstUnreachable::HostUnreachable => write!(f, "ICMP host {dst} unreachable")?,
                    DstUnreachable::ProtoUnreachable => {
                        write!(f, "ICMP {dst} protocol {} unreachable", u8::from(header.next_header))?
                    }
                    DstUnreachable::PortUnreachable => {
                        let transport = match header.next_header {
                            IpProtocol::Udp => Some("udp"),
                            IpProtocol::Tcp => Some("tcp"),
                            _ => None,
                        };
                        match (transport, data.get(2..4)) {
                            (Some(name), Some(port)) => write!(
                                f,
                                "ICMP {dst} {name} port {} unreachable",
                                u16::from_be_bytes([port[0], port[1]])
                            )?,
                            _ => write!(f, "ICMP {dst} port unreachable")?,
                        }
                    }
                    DstUnreachable::FragRequired => {
                        write!(f, "ICMP {dst} unreachable - need to frag (mtu {next_hop_mtu})")?
                    }
                    DstUnreachable::SrcRouteFailed => {
                        write!(f, "ICMP {dst} unreachable - source route failed")?
                    }
                    DstUnreachable::NetProhibited => {
                        write!(f, "ICMP net {dst} unreachable - admin prohibited")?
                    }
                    DstUnreachable::HostProhibited => {
                        write!(f, "ICMP host {dst} unreachable - admin prohibited")?
                    }
                    DstUnreachable::AdminProhibited => {
                        write!(f, "ICMP host {dst} unreachable - admin prohibited filter")?
                    }
                    DstUnreachable::Other(code) => write!(f, "ICMP {dst} unreachable - code {code}")?,
                }
            }
            Icmpv4Repr::TimeExceeded { reason, ref header, .. } => match reason {
                TimeExceeded::TtlExpired => {
                    write!(f, "ICMP time exceeded in-transit to {}", header.dst_addr)?
                }
                TimeExceeded::FragReassemblyExpired => {
                    write!(f, "ICMP ip reassembly time exceeded for {}", header.dst_addr)?
                }
                TimeExceeded::Other(code) => write!(f, "ICMP time exceeded - code {code}")?,
            },
        }
        write!(f, ", length {}", self.buffer_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    // Whole IPv4 datagrams built with scapy 2.5; the tests read the ICMP message from the
    // IPv4 payload, so the IPv4 view is exercised on the way.

    /// `IP(src='10.0.0.1', dst='10.0.0.2', id=0x1c46, flags='DF', ttl=64)/
    /// ICMP(type=8, id=0x1234, seq=1)/b'abcdefgh'`
    const ECHO_REQUEST: &str = "450000241c46400040010a910a0000010a00000208005435123400016162636465666768";
    /// `IP(src='10.0.0.2', dst='10.0.0.1', id=0x2d57, ttl=64)/
    /// ICMP(type=0, id=0x1234, seq=1)/b'abcdefgh'`
    const ECHO_REPLY: &str = "450000242d570000400139800a0000020a00000100005c35123400016162636465666768";
    /// `IP(src='10.0.0.2', dst='10.0.0.1', id=7, ttl=64, tos=0xc0)/ICMP(type=3, code=3)/
    /// IP(src='10.0.0.1', dst='10.0.0.2', id=1, ttl=64)/UDP(sport=40000, dport=9999)/b'hello'`
    const PORT_UNREACHABLE: &str = "45c0003d00070000400165f70a0000020a0000010303111e000000004500002100010000\
                                    401166c90a0000010a0000029c40270f000de4af68656c6c6f";
    /// `IP(src='192.168.1.1', dst='10.0.0.1', id=9, ttl=255)/ICMP(type=3, code=4,
    /// nexthopmtu=1400)/IP(src='10.0.0.1', dst='10.0.0.99', id=0x4321, flags='DF', len=1500,
    /// proto=17, ttl=63)/Raw(bytes.fromhex('9c4000350fc8abcd'))`: the quote of a 1500-byte
    /// datagram, its header and first 8 bytes.
    const FRAG_NEEDED: &str = "4500003800090000ff01f011c0a801010a00000103049f7800000578450005dc43214000\
                               3f11de8c0a0000010a0000639c4000350fc8abcd";
    /// `IP(src='192.168.1.1', dst='10.0.0.1', ttl=255)/ICMP(type=11, code=0)/
    /// IP(src='10.0.0.1', dst='8.8.8.8', id=0x77, ttl=1, len=60, proto=17)/
    /// Raw(bytes.fromhex('829a829b00288a1b'))`
    const TIME_EXCEEDED: &str = "4500003800010000ff01f019c0a801010a0000010b0065860000000045000\
                                 03c0077000001119f2a0a00000108080808829a829b00288a1b";

    fn icmp_bytes(datagram: &str) -> Vec<u8> {
        let bytes = hex::decode(datagram).unwrap();
        let ip = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        let repr = Ipv4Repr::parse(&ip, ChecksumMode::Verify).unwrap();
        assert_eq!(repr.next_header, IpProtocol::Icmp);
        ip.payload().to_vec()
    }

    fn addr(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
        Ipv4Addr::new(a, b, c, d)
    }

    /// Emits `repr` and checks the bytes are exactly `expected`.
    fn assert_emits(repr: &Icmpv4Repr<'_>, expected: &[u8]) {
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, expected);
    }

    #[test]
    fn parses_echo_request_known_answer() {
        let bytes = icmp_bytes(ECHO_REQUEST);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.msg_type(), msg_type::ECHO_REQUEST);
        assert_eq!(packet.msg_code(), 0);
        assert_eq!(packet.checksum(), 0x5435);
        assert_eq!(packet.echo_ident(), 0x1234);
        assert_eq!(packet.echo_seq_no(), 1);
        assert_eq!(packet.data(), b"abcdefgh");
        assert!(packet.verify_checksum());
        let repr = Icmpv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        assert_eq!(repr, Icmpv4Repr::EchoRequest { ident: 0x1234, seq_no: 1, data: b"abcdefgh" });
        assert_eq!(repr.to_string(), "ICMP echo request, id 4660, seq 1, length 16");
        assert_eq!(packet.to_string(), repr.to_string());
        assert_emits(&repr, &bytes);
    }

    #[test]
    fn parses_echo_reply_known_answer() {
        let bytes = icmp_bytes(ECHO_REPLY);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.msg_type(), msg_type::ECHO_REPLY);
        assert_eq!(packet.checksum(), 0x5c35);
        let repr = Icmpv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        assert_eq!(repr, Icmpv4Repr::EchoReply { ident: 0x1234, seq_no: 1, data: b"abcdefgh" });
        assert_eq!(repr.to_string(), "ICMP echo reply, id 4660, seq 1, length 16");
        assert_emits(&repr, &bytes);
    }

    #[test]
    fn parses_port_unreachable_known_answer() {
        let bytes = icmp_bytes(PORT_UNREACHABLE);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.msg_type(), msg_type::DST_UNREACHABLE);
        assert_eq!(packet.msg_code(), 3);
        assert_eq!(packet.checksum(), 0x111e);
        assert_eq!(packet.data().len(), 33);
        let repr = Icmpv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        let Icmpv4Repr::DstUnreachable { reason, next_hop_mtu, header, data } = repr else {
            panic!("{repr:?}");
        };
        assert_eq!(reason, DstUnreachable::PortUnreachable);
        assert_eq!(next_hop_mtu, 0);
        assert_eq!(
            header,
            Ipv4Repr {
                src_addr: addr(10, 0, 0, 1),
                dst_addr: addr(10, 0, 0, 2),
                next_header: IpProtocol::Udp,
                payload_len: 13,
                hop_limit: 64,
                ident: 1,
                dont_frag: false,
                more_frags: false,
                frag_offset: 0,
                dscp_ecn: 0,
            }
        );
        // The whole UDP datagram was quoted: header (ports 40000 > 9999) and "hello".
        assert_eq!(data, hex::decode("9c40270f000de4af68656c6c6f").unwrap());
        assert_eq!(repr.to_string(), "ICMP 10.0.0.2 udp port 9999 unreachable, length 41");
        assert_emits(&repr, &bytes);
    }

    #[test]
    fn parses_frag_needed_known_answer() {
        let bytes = icmp_bytes(FRAG_NEEDED);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.msg_code(), 4);
        assert_eq!(packet.next_hop_mtu(), 1400);
        let repr = Icmpv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        let Icmpv4Repr::DstUnreachable { reason, next_hop_mtu, header, data } = repr else {
            panic!("{repr:?}");
        };
        assert_eq!(reason, DstUnreachable::FragRequired);
        assert_eq!(next_hop_mtu, 1400);
        assert_eq!(header.payload_len, 1480);
        assert_eq!(header.dst_addr, addr(10, 0, 0, 99));
        assert_eq!(header.ident, 0x4321);
        assert!(header.dont_frag);
        assert_eq!(header.hop_limit, 63);
        assert_eq!(data, hex::decode("9c4000350fc8abcd").unwrap());
        assert_eq!(repr.to_string(), "ICMP 10.0.0.99 unreachable - need to frag (mtu 1400), length 36");
        assert_emits(&repr, &bytes);
    }

    #[test]
    fn parses_time_exceeded_known_answer() {
        let bytes = icmp_bytes(TIME_EXCEEDED);
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        let repr = Icmpv4Repr::parse(&packet, ChecksumMode::Verify).unwrap();
        let Icmpv4Repr::TimeExceeded { reason, header, data } = repr else {
            panic!("{repr:?}");
        };
        assert_eq!(reason, TimeExceeded::TtlExpired);
        assert_eq!((header.dst_addr, header.hop_limit, header.payload_len), (addr(8, 8, 8, 8), 1, 40));
        assert_eq!(data.len(), 8);
        assert_eq!(repr.to_string(), "ICMP time exceeded in-transit to 8.8.8.8, length 36");
        assert_emits(&repr, &bytes);
    }

    #[test]
    fn codes() {
        for code in 0..=255u8 {
            assert_eq!(u8::from(DstUnreachable::from(code)), code);
            assert_eq!(u8::from(TimeExceeded::from(code)), code);
        }
        assert_eq!(DstUnreachable::from(13), DstUnreachable::AdminProhibited);
        assert_eq!(DstUnreachable::from(9), DstUnreachable::NetProhibited);
        assert_eq!(DstUnreachable::from(10), DstUnreachable::HostProhibited);
        assert_eq!(DstUnreachable::from(6), DstUnreachable::Other(6));
        assert_eq!(TimeExceeded::from(1), TimeExceeded::FragReassemblyExpired);
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(Icmpv4Packet::new_checked(&[8u8, 0, 0, 0, 0, 0, 0][..]).unwrap_err(), Error::Truncated);
        let unchecked = Icmpv4Packet::new_unchecked(&[8u8, 0, 0][..]);
        assert_eq!(Icmpv4Repr::parse(&unchecked, ChecksumMode::Trust), Err(Error::Truncated));
    }

    #[test]
    fn checksum_modes() {
        let mut bytes = icmp_bytes(ECHO_REQUEST);
        bytes[15] ^= 0xff;
        let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&packet, ChecksumMode::Verify), Err(Error::Checksum));
        assert!(Icmpv4Repr::parse(&packet, ChecksumMode::Trust).is_ok());
        assert!(packet.to_string().ends_with(", bad cksum 5435"));
    }

    /// Re-checksums a modified message and parses it.
    fn reparse(bytes: &mut [u8]) -> Result<Icmpv4Repr<'_>> {
        Icmpv4Packet::new_unchecked(&mut *bytes).fill_checksum();
        Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&*bytes)?, ChecksumMode::Verify)
    }

    #[test]
    fn rejects_bad_echo_code_and_unknown_types() {
        let mut bytes = icmp_bytes(ECHO_REQUEST);
        bytes[1] = 1;
        assert_eq!(reparse(&mut bytes), Err(Error::Malformed));
        for kind in [4, 5, 12, 13, 14, 42] {
            let mut bytes = icmp_bytes(PORT_UNREACHABLE);
            bytes[0] = kind;
            assert_eq!(reparse(&mut bytes), Err(Error::Unsupported));
            let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(packet.to_string(), format!("ICMP type {kind}, code 3, length 41"));
        }
    }

    #[test]
    fn rejects_bad_quotes() {
        let bytes = icmp_bytes(PORT_UNREACHABLE);
        // No room for the quoted IP header.
        let mut short = bytes[..8 + 19].to_vec();
        assert_eq!(reparse(&mut short), Err(Error::Truncated));
        // A quoted header that is not IPv4.
        let mut not_ipv4 = bytes.clone();
        not_ipv4[8] = 0x60;
        assert_eq!(reparse(&mut not_ipv4), Err(Error::Malformed));
        // A quoted IHL below 5.
        let mut bad_ihl = bytes.clone();
        bad_ihl[8] = 0x43;
        assert_eq!(reparse(&mut bad_ihl), Err(Error::Malformed));
        // A quoted Total Length below the header length.
        let mut bad_total = bytes.clone();
        bad_total[8 + 2..8 + 4].copy_from_slice(&10u16.to_be_bytes());
        assert_eq!(reparse(&mut bad_total), Err(Error::Malformed));
        // Fewer than 8 bytes of the original data.
        let mut seven = bytes[..8 + 20 + 7].to_vec();
        assert_eq!(reparse(&mut seven), Err(Error::Truncated));
        // ...unless the original datagram had fewer: 4 bytes of a 24-byte datagram.
        let mut tiny = bytes[..8 + 20 + 4].to_vec();
        tiny[8 + 2..8 + 4].copy_from_slice(&24u16.to_be_bytes());
        let repr = reparse(&mut tiny).unwrap();
        assert!(matches!(repr, Icmpv4Repr::DstUnreachable { data: [0x9c, 0x40, 0x27, 0x0f], .. }));
        // The quoted header's own checksum is not checked.
        let mut bad_inner_checksum = bytes.clone();
        bad_inner_checksum[8 + 10] ^= 0xff;
        assert!(reparse(&mut bad_inner_checksum).is_ok());
    }

    #[test]
    fn mtu_only_for_frag_required() {
        let mut bytes = icmp_bytes(PORT_UNREACHABLE);
        bytes[6..8].copy_from_slice(&1400u16.to_be_bytes());
        let repr = reparse(&mut bytes).unwrap();
        assert!(matches!(repr, Icmpv4Repr::DstUnreachable { next_hop_mtu: 0, .. }));
    }

    #[test]
    fn setters_write_each_field() {
        let mut buf = [0xffu8; 12];
        let mut packet = Icmpv4Packet::new_unchecked(&mut buf[..]);
        packet.set_msg_type(msg_type::ECHO_REPLY);
        packet.set_msg_code(0);
        packet.set_echo_ident(0xabcd);
        packet.set_echo_seq_no(0x0102);
        packet.data_mut().copy_from_slice(b"ping");
        packet.fill_checksum();
        let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
        assert_eq!((packet.msg_type(), packet.msg_code()), (0, 0));
        assert_eq!((packet.echo_ident(), packet.echo_seq_no()), (0xabcd, 0x0102));
        assert!(packet.verify_checksum());
        let mut packet = Icmpv4Packet::new_unchecked(&mut buf[..]);
        packet.clear_unused();
        packet.set_next_hop_mtu(576);
        assert_eq!((packet.echo_ident(), packet.next_hop_mtu()), (0, 576));
    }

    fn any_header() -> impl Strategy<Value = Ipv4Repr> {
        (
            any::<[u8; 8]>(),
            any::<u8>(),
            0usize..=65515,
            any::<(u8, u16, bool, bool)>(),
            0u16..8192,
            any::<u8>(),
        )
            .prop_map(
                |(a, p, payload_len, (hop_limit, ident, dont_frag, more_frags), off, dscp_ecn)| Ipv4Repr {
                    src_addr: Ipv4Addr::new(a[0], a[1], a[2], a[3]),
                    dst_addr: Ipv4Addr::new(a[4], a[5], a[6], a[7]),
                    next_header: IpProtocol::from(p),
                    payload_len,
                    hop_limit,
                    ident,
                    dont_frag,
                    more_frags,
                    frag_offset: off * 8,
                    dscp_ecn,
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(
            kind in 0u8..4,
            code in any::<u8>(),
            (ident, seq_no, mtu) in any::<(u16, u16, u16)>(),
            header in any_header(),
            data in proptest::collection::vec(any::<u8>(), 8..64),
        ) {
            let repr = match kind {
                0 => Icmpv4Repr::EchoRequest { ident, seq_no, data: &data },
                1 => Icmpv4Repr::EchoReply { ident, seq_no, data: &data },
                2 => {
                    let reason = DstUnreachable::from(code);
                    let next_hop_mtu = if reason == DstUnreachable::FragRequired { mtu } else { 0 };
                    Icmpv4Repr::DstUnreachable { reason, next_hop_mtu, header, data: &data }
                }
                _ => Icmpv4Repr::TimeExceeded { reason: TimeExceeded::from(code), header, data: &data },
            };
            let mut buf = vec![0; repr.buffer_len()];
            repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
            let packet = Icmpv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(packet.verify_checksum());
            prop_assert_eq!(Icmpv4Repr::parse(&packet, ChecksumMode::Verify).unwrap(), repr);
            let _ = packet.to_string();
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(packet) = Icmpv4Packet::new_checked(&bytes[..]) {
                let _ = Icmpv4Repr::parse(&packet, ChecksumMode::Verify);
                if let Ok(repr) = Icmpv4Repr::parse(&packet, ChecksumMode::Trust) {
                    let _ = (repr.to_string(), repr.buffer_len());
                }
                let _ = packet.to_string();
                let _ = (packet.echo_ident(), packet.echo_seq_no(), packet.next_hop_mtu(), packet.data());
            }
        }

        #[test]
        fn never_panics_on_errors(
            kind in prop::sample::select(vec![msg_type::DST_UNREACHABLE, msg_type::TIME_EXCEEDED]),
            ihl in 0u8..16,
            mut bytes in proptest::collection::vec(any::<u8>(), 28..100),
        ) {
            // Reach the quoted-header path most random bytes never get to.
            bytes[0] = kind;
            bytes[8] = 0x40 | ihl;
            let packet = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
            if let Ok(repr) = Icmpv4Repr::parse(&packet, ChecksumMode::Trust) {
                let _ = (repr.to_string(), repr.buffer_len());
            }
            let _ = packet.to_string();
        }
    }
}
