//! UDP datagrams (RFC 768) over IPv4.
//!
//! ```text
//!  0               2               4               6               8
//! +---------------+---------------+---------------+---------------+-----------
//! | source port   | dest. port    | length        | checksum      | data...
//! +---------------+---------------+---------------+---------------+-----------
//! ```
//!
//! The checksum covers an IPv4 pseudo-header, the UDP header and the data; a zero checksum
//! means the sender did not compute one (RFC 768), so a computed zero is sent as `0xffff`.

use core::fmt;
use core::net::Ipv4Addr;

use super::{checksum, ChecksumMode, Error, IpProtocol, Result};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
}

/// Length of the header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A view over a UDP datagram.
#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps a buffer without checking it; getters may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> UdpPacket<T> {
        UdpPacket { buffer }
    }

    /// Wraps untrusted bytes: after this succeeds no method can panic.
    pub fn new_checked(buffer: T) -> Result<UdpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// RFC 768: the Length field counts header and data, so it is at least 8; the buffer must
    /// hold that many bytes. A longer buffer is fine: the datagram ends at Length.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            Err(Error::Truncated)
        } else if usize::from(self.len()) < HEADER_LEN {
            Err(Error::Malformed)
        } else if usize::from(self.len()) > len {
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

    pub fn src_port(&self) -> u16 {
        self.read_u16(field::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        self.read_u16(field::DST_PORT)
    }

    /// The Length field: header and data, in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u16 {
        self.read_u16(field::LENGTH)
    }

    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM)
    }

    /// The data, up to the Length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// The sum over the pseudo-header and the datagram (header and data, up to Length).
    fn sum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let len = self.len();
        let bytes = &self.buffer.as_ref()[..usize::from(len)];
        checksum::pseudo_header_and_data(src, dst, u8::from(IpProtocol::Udp), len, bytes)
    }

    /// RFC 768: true if the checksum verifies for these IPv4 addresses, or is 0 (not computed).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.checksum() == 0 || self.sum(src, dst) == !0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_src_port(&mut self, value: u16) {
        self.write_u16(field::SRC_PORT, value);
    }

    pub fn set_dst_port(&mut self, value: u16) {
        self.write_u16(field::DST_PORT, value);
    }

    pub fn set_len(&mut self, value: u16) {
        self.write_u16(field::LENGTH, value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.write_u16(field::CHECKSUM, value);
    }

    /// Computes the checksum over the pseudo-header and `len()` bytes and stores it; a
    /// computed 0 is stored as `0xffff` (RFC 768), since 0 means "none".
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = !self.sum(src, dst);
        self.set_checksum(if value == 0 { 0xffff } else { value });
    }

    /// The data, up to the Length field (set it first).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// `UDP 40000 > 53, length 29` (the data length, as tcpdump prints it).
impl<T: AsRef<[u8]>> fmt::Display for UdpPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP {} > {}, length {}", self.src_port(), self.dst_port(), self.payload().len())
    }
}

/// A parsed UDP header; the data stays in the packet (`UdpPacket::payload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
}

impl UdpRepr {
    /// Parses a datagram carried from `src` to `dst`, verifying the checksum (unless it is 0)
    /// when `mode` says so. Destination port 0 is reserved: [`Error::Malformed`].
    pub fn parse<T: AsRef<[u8]>>(
        packet: &UdpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        mode: ChecksumMode,
    ) -> Result<UdpRepr> {
        packet.check_len()?;
        if packet.dst_port() == 0 {
            return Err(Error::Malformed);
        }
        if mode == ChecksumMode::Verify && !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        Ok(UdpRepr { src_port: packet.src_port(), dst_port: packet.dst_port() })
    }

    /// 8.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header and `payload`, then the checksum. `packet` must hold at least
    /// `header_len() + payload.len()` bytes, at most 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
    ) {
        self.emit_header(packet, payload.len());
        packet.payload_mut().copy_from_slice(payload);
        packet.fill_checksum(src, dst);
    }

    /// Writes ports and Length with a zero checksum, for a caller that writes `payload_len`
    /// bytes of data in place (`payload_mut`) and then calls `fill_checksum`.
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>, payload_len: usize) {
        let len = HEADER_LEN + payload_len;
        debug_assert!(len <= usize::from(u16::MAX), "UDP payload of {payload_len} bytes");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len as u16);
        packet.set_checksum(0);
    }
}

impl fmt::Display for UdpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP {} > {}", self.src_port, self.dst_port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DNS_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 53);

    /// The UDP part of `IP(src='10.0.0.1', dst='10.0.0.53', id=1, flags='DF')/
    /// UDP(sport=40000, dport=53)/DNS(id=0x1234, rd=1, qd=DNSQR(qname='example.com'))`,
    /// built with scapy 2.5.
    const DNS_QUERY: &str = "9c40003500256d57123401000001000000000000076578616d706c6503636f6d0000010001";
    /// The UDP part of `IP(src='10.0.0.1', dst='10.0.0.2')/UDP(sport=1234, dport=5678)/
    /// Raw(b'\xd0\xd7')`, built with scapy 2.5: the sum computes to 0, sent as 0xffff.
    const COMPUTED_ZERO: &str = "04d2162e000affffd0d7";

    #[test]
    fn parses_dns_query_known_answer() {
        let bytes = hex::decode(DNS_QUERY).unwrap();
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.src_port(), 40000);
        assert_eq!(packet.dst_port(), 53);
        assert_eq!(packet.len(), 37);
        assert_eq!(packet.checksum(), 0x6d57);
        assert_eq!(packet.payload(), &bytes[8..]);
        assert_eq!(&packet.payload()[..2], [0x12, 0x34]);
        assert!(packet.verify_checksum(SRC, DNS_SERVER));
        assert!(!packet.verify_checksum(SRC, Ipv4Addr::new(10, 0, 0, 54)));
        let repr = UdpRepr::parse(&packet, SRC, DNS_SERVER, ChecksumMode::Verify).unwrap();
        assert_eq!(repr, UdpRepr { src_port: 40000, dst_port: 53 });
        assert_eq!(repr.header_len(), 8);
        assert_eq!(repr.to_string(), "UDP 40000 > 53");
        assert_eq!(packet.to_string(), "UDP 40000 > 53, length 29");
        let mut out = vec![0; bytes.len()];
        repr.emit(&mut UdpPacket::new_unchecked(&mut out[..]), SRC, DNS_SERVER, packet.payload());
        assert_eq!(out, bytes);
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        let (src, dst) = (SRC, Ipv4Addr::new(10, 0, 0, 2));
        let bytes = hex::decode(COMPUTED_ZERO).unwrap();
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.checksum(), 0xffff);
        assert!(packet.verify_checksum(src, dst));
        let repr = UdpRepr::parse(&packet, src, dst, ChecksumMode::Verify).unwrap();
        let mut out = vec![0; bytes.len()];
        repr.emit(&mut UdpPacket::new_unchecked(&mut out[..]), src, dst, packet.payload());
        assert_eq!(out, bytes);
    }

    #[test]
    fn zero_checksum_means_none() {
        let mut bytes = hex::decode(DNS_QUERY).unwrap();
        bytes[6..8].fill(0);
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert!(packet.verify_checksum(SRC, DNS_SERVER));
        assert!(UdpRepr::parse(&packet, SRC, DNS_SERVER, ChecksumMode::Verify).is_ok());
    }

    #[test]
    fn checksum_modes() {
        let mut bytes = hex::decode(DNS_QUERY).unwrap();
        bytes[10] ^= 0x01;
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(UdpRepr::parse(&packet, SRC, DNS_SERVER, ChecksumMode::Verify), Err(Error::Checksum));
        assert!(UdpRepr::parse(&packet, SRC, DNS_SERVER, ChecksumMode::Trust).is_ok());
    }

    #[test]
    fn rejects_each_invalid_length() {
        let bytes = hex::decode(DNS_QUERY).unwrap();
        let check = |b: &[u8]| UdpPacket::new_checked(b).map(|_| ());
        assert_eq!(check(&bytes[..7]), Err(Error::Truncated));
        let mut short_len = bytes.clone();
        short_len[4..6].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(check(&short_len), Err(Error::Malformed));
        assert_eq!(check(&bytes[..36]), Err(Error::Truncated));
        let unchecked = UdpPacket::new_unchecked(&bytes[..20]);
        assert_eq!(UdpRepr::parse(&unchecked, SRC, DNS_SERVER, ChecksumMode::Trust), Err(Error::Truncated));
    }

    #[test]
    fn datagram_ends_at_length() {
        // Trailing bytes past Length (IP padding) are neither payload nor checksummed.
        let mut bytes = hex::decode(DNS_QUERY).unwrap();
        bytes.extend([0xde, 0xad]);
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.payload().len(), 29);
        assert!(UdpRepr::parse(&packet, SRC, DNS_SERVER, ChecksumMode::Verify).is_ok());
    }

    #[test]
    fn rejects_destination_port_zero() {
        let repr = UdpRepr { src_port: 1, dst_port: 0 };
        let mut buf = [0u8; 8];
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), SRC, DNS_SERVER, &[]);
        let packet = UdpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(UdpRepr::parse(&packet, SRC, DNS_SERVER, ChecksumMode::Verify), Err(Error::Malformed));
    }

    #[test]
    fn emit_header_then_fill_in_place() {
        let repr = UdpRepr { src_port: 40000, dst_port: 53 };
        let dns = hex::decode(DNS_QUERY).unwrap();
        let mut out = vec![0xee; dns.len()];
        let mut packet = UdpPacket::new_unchecked(&mut out[..]);
        repr.emit_header(&mut packet, dns.len() - 8);
        assert_eq!(packet.checksum(), 0);
        packet.payload_mut().copy_from_slice(&dns[8..]);
        packet.fill_checksum(SRC, DNS_SERVER);
        assert_eq!(out, dns);
    }

    proptest! {
        #[test]
        fn round_trip(
            src_port in any::<u16>(),
            dst_port in 1u16..,
            (src, dst) in any::<([u8; 4], [u8; 4])>(),
            payload in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let repr = UdpRepr { src_port, dst_port };
            let mut buf = vec![0; repr.header_len() + payload.len()];
            repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), src, dst, &payload);
            let packet = UdpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_ne!(packet.checksum(), 0);
            prop_assert_eq!(UdpRepr::parse(&packet, src, dst, ChecksumMode::Verify).unwrap(), repr);
            prop_assert_eq!(packet.payload(), &payload[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..48), addrs in any::<([u8; 4], [u8; 4])>()) {
            let (src, dst) = (Ipv4Addr::from(addrs.0), Ipv4Addr::from(addrs.1));
            if let Ok(packet) = UdpPacket::new_checked(&bytes[..]) {
                let _ = UdpRepr::parse(&packet, src, dst, ChecksumMode::Verify);
                let _ = UdpRepr::parse(&packet, src, dst, ChecksumMode::Trust);
                let _ = (packet.to_string(), packet.payload(), packet.verify_checksum(src, dst));
            }
        }

        #[test]
        fn never_panics_plausible_length(mut bytes in proptest::collection::vec(any::<u8>(), 8..48), len in 0u16..56) {
            bytes[4..6].copy_from_slice(&len.to_be_bytes());
            if let Ok(packet) = UdpPacket::new_checked(&bytes[..]) {
                let _ = UdpRepr::parse(&packet, SRC, DNS_SERVER, ChecksumMode::Verify);
                let _ = (packet.to_string(), packet.payload());
            }
        }
    }
}
