//! The Address Resolution Protocol (RFC 826), over Ethernet for IPv4 only.
//!
//! ```text
//!  0        2        4    5    6        8                                      (Ethernet/IPv4)
//! +--------+--------+----+----+--------+------------+--------+------------+--------+
//! | htype  | ptype  |hlen|plen| oper   | sender MAC | sender | target MAC | target |
//! |        |        |    |    |        | (hlen)     | IP     | (hlen)     | IP     |
//! +--------+--------+----+----+--------+------------+--------+------------+--------+
//!                                      8            14       18           24       28
//! ```
//!
//! The view reads any hardware and protocol lengths; [`ArpRepr`] accepts only
//! Ethernet (6-byte) hardware addresses with IPv4 (4-byte) protocol addresses.

use core::fmt;
use core::net::Ipv4Addr;

use super::{Error, EtherType, EthernetAddress, Result};

/// RFC 826 `ar$hrd` for Ethernet (IANA ARP parameters: hardware type 1).
pub const HARDWARE_ETHERNET: u16 = 1;

/// RFC 826 `ar$op`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ArpOperation {
    Request,
    Reply,
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(value: u16) -> ArpOperation {
        match value {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(value: ArpOperation) -> u16 {
        match value {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

impl fmt::Display for ArpOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArpOperation::Request => write!(f, "Request"),
            ArpOperation::Reply => write!(f, "Reply"),
            ArpOperation::Unknown(op) => write!(f, "op {op}"),
        }
    }
}

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    /// Start of the addresses, whose offsets depend on `hlen` and `plen`.
    pub const ADDRESSES: usize = 8;
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = 28;

/// A view over an ARP packet.
#[derive(Debug, Clone)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking it; getters may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wraps untrusted bytes: after this succeeds no method can panic.
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the buffer holds the fixed part and the four addresses its lengths declare.
    /// Longer buffers (Ethernet padding to 60 bytes) are fine.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::ADDRESSES || len < self.addresses_end() {
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

    /// `ar$hrd`: 1 for Ethernet.
    pub fn hardware_type(&self) -> u16 {
        self.read_u16(field::HTYPE)
    }

    /// `ar$pro`: an EtherType, 0x0800 for IPv4.
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(self.read_u16(field::PTYPE))
    }

    /// `ar$hln`: bytes per hardware address.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// `ar$pln`: bytes per protocol address.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(self.read_u16(field::OPER))
    }

    fn hlen(&self) -> usize {
        usize::from(self.hardware_len())
    }

    fn plen(&self) -> usize {
        usize::from(self.protocol_len())
    }

    fn addresses_end(&self) -> usize {
        field::ADDRESSES + 2 * self.hlen() + 2 * self.plen()
    }

    fn sha(&self) -> core::ops::Range<usize> {
        let start = field::ADDRESSES;
        start..start + self.hlen()
    }

    fn spa(&self) -> core::ops::Range<usize> {
        let start = field::ADDRESSES + self.hlen();
        start..start + self.plen()
    }

    fn tha(&self) -> core::ops::Range<usize> {
        let start = field::ADDRESSES + self.hlen() + self.plen();
        start..start + self.hlen()
    }

    fn tpa(&self) -> core::ops::Range<usize> {
        let start = field::ADDRESSES + 2 * self.hlen() + self.plen();
        start..start + self.plen()
    }

    /// `ar$sha`: `hardware_len()` bytes.
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.sha()]
    }

    /// `ar$spa`: `protocol_len()` bytes.
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.spa()]
    }

    /// `ar$tha`: `hardware_len()` bytes.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.tha()]
    }

    /// `ar$tpa`: `protocol_len()` bytes.
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[self.tpa()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    fn write_u16(&mut self, range: core::ops::Range<usize>, value: u16) {
        self.buffer.as_mut()[range].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_hardware_type(&mut self, value: u16) {
        self.write_u16(field::HTYPE, value);
    }

    pub fn set_protocol_type(&mut self, value: EtherType) {
        self.write_u16(field::PTYPE, u16::from(value));
    }

    /// Sets `ar$hln`; set the lengths before the addresses, which are placed by them.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets `ar$pln`; set the lengths before the addresses, which are placed by them.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    pub fn set_operation(&mut self, value: ArpOperation) {
        self.write_u16(field::OPER, u16::from(value));
    }

    /// # Panics
    /// If `addr` is not `hardware_len()` bytes long.
    pub fn set_source_hardware_addr(&mut self, addr: &[u8]) {
        let range = self.sha();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }

    /// # Panics
    /// If `addr` is not `protocol_len()` bytes long.
    pub fn set_source_protocol_addr(&mut self, addr: &[u8]) {
        let range = self.spa();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }

    /// # Panics
    /// If `addr` is not `hardware_len()` bytes long.
    pub fn set_target_hardware_addr(&mut self, addr: &[u8]) {
        let range = self.tha();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }

    /// # Panics
    /// If `addr` is not `protocol_len()` bytes long.
    pub fn set_target_protocol_addr(&mut self, addr: &[u8]) {
        let range = self.tpa();
        self.buffer.as_mut()[range].copy_from_slice(addr);
    }
}

impl<T: AsRef<[u8]>> fmt::Display for ArpPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match ArpRepr::parse(self) {
            Ok(repr) => fmt::Display::fmt(&repr, f),
            Err(Error::Unsupported) => write!(
                f,
                "ARP, hardware type {}, protocol type {}, hlen {}, plen {}, {}",
                self.hardware_type(),
                self.protocol_type(),
                self.hardware_len(),
                self.protocol_len(),
                self.operation()
            ),
            Err(err) => write!(f, "ARP, {err}"),
        }
    }
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: ArpOperation,
    pub source_hardware_addr: EthernetAddress,
    pub source_protocol_addr: Ipv4Addr,
    pub target_hardware_addr: EthernetAddress,
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Accepts only Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4); anything else
    /// well-formed is [`Error::Unsupported`]. Any operation code is passed up.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != HARDWARE_ETHERNET
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        let ipv4 = |bytes: &[u8]| Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
        Ok(ArpRepr {
            operation: packet.operation(),
            source_hardware_addr: EthernetAddress::from_bytes(packet.source_hardware_addr()),
            source_protocol_addr: ipv4(packet.source_protocol_addr()),
            target_hardware_addr: EthernetAddress::from_bytes(packet.target_hardware_addr()),
            target_protocol_addr: ipv4(packet.target_protocol_addr()),
        })
    }

    /// 28 bytes.
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Writes the packet; `packet` must hold at least `buffer_len()` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(HARDWARE_ETHERNET);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr.as_bytes());
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(self.target_hardware_addr.as_bytes());
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

/// tcpdump's wording: `ARP, Request who-has 10.0.0.2 tell 10.0.0.1`,
/// `ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02`.
impl fmt::Display for ArpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            ArpOperation::Request => {
                write!(f, "ARP, Request who-has {}", self.target_protocol_addr)?;
                if self.target_hardware_addr != EthernetAddress::UNSPECIFIED {
                    write!(f, " ({})", self.target_hardware_addr)?;
                }
                write!(f, " tell {}", self.source_protocol_addr)
            }
            ArpOperation::Reply => {
                write!(f, "ARP, Reply {} is-at {}", self.source_protocol_addr, self.source_hardware_addr)
            }
            ArpOperation::Unknown(op) => write!(
                f,
                "ARP, op {op} {} ({}) > {} ({})",
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.target_protocol_addr,
                self.target_hardware_addr
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `ARP(op=1, hwsrc='02:00:00:00:00:01', psrc='10.0.0.1', hwdst='00:00:00:00:00:00',
    /// pdst='10.0.0.2')`, built with scapy 2.5.
    const REQUEST: &str = "00010800060400010200000000010a0000010000000000000a000002";
    /// `ARP(op=2, hwsrc='02:00:00:00:00:02', psrc='10.0.0.2', hwdst='02:00:00:00:00:01',
    /// pdst='10.0.0.1')`, built with scapy 2.5.
    const REPLY: &str = "00010800060400020200000000020a0000020200000000010a000001";

    fn mac(last: u8) -> EthernetAddress {
        EthernetAddress([0x02, 0, 0, 0, 0, last])
    }

    #[test]
    fn parses_request_known_answer() {
        let bytes = hex::decode(REQUEST).unwrap();
        let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.hardware_type(), 1);
        assert_eq!(packet.protocol_type(), EtherType::Ipv4);
        assert_eq!(packet.hardware_len(), 6);
        assert_eq!(packet.protocol_len(), 4);
        assert_eq!(packet.operation(), ArpOperation::Request);
        assert_eq!(packet.source_hardware_addr(), mac(1).as_bytes());
        assert_eq!(packet.source_protocol_addr(), [10, 0, 0, 1]);
        assert_eq!(packet.target_hardware_addr(), [0; 6]);
        assert_eq!(packet.target_protocol_addr(), [10, 0, 0, 2]);
        let repr = ArpRepr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            ArpRepr {
                operation: ArpOperation::Request,
                source_hardware_addr: mac(1),
                source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
                target_hardware_addr: EthernetAddress::UNSPECIFIED,
                target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
            }
        );
        assert_eq!(repr.to_string(), "ARP, Request who-has 10.0.0.2 tell 10.0.0.1");
        assert_eq!(packet.to_string(), repr.to_string());
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
    }

    #[test]
    fn parses_reply_known_answer() {
        let bytes = hex::decode(REPLY).unwrap();
        let repr = ArpRepr::parse(&ArpPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(repr.operation, ArpOperation::Reply);
        assert_eq!(repr.source_hardware_addr, mac(2));
        assert_eq!(repr.source_protocol_addr, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(repr.target_hardware_addr, mac(1));
        assert_eq!(repr.target_protocol_addr, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(repr.to_string(), "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02");
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
    }

    #[test]
    fn accepts_ethernet_padding() {
        let mut bytes = hex::decode(REPLY).unwrap();
        bytes.resize(46, 0);
        let repr = ArpRepr::parse(&ArpPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(repr.target_protocol_addr, Ipv4Addr::new(10, 0, 0, 1));
    }

    #[test]
    fn rejects_truncated() {
        let bytes = hex::decode(REQUEST).unwrap();
        assert_eq!(ArpPacket::new_checked(&bytes[..7]).unwrap_err(), Error::Truncated);
        assert_eq!(ArpPacket::new_checked(&bytes[..27]).unwrap_err(), Error::Truncated);
        // Lengths that declare more address bytes than the buffer holds.
        let mut long = bytes.clone();
        long[4] = 255;
        long[5] = 255;
        assert_eq!(ArpPacket::new_checked(&long[..]).unwrap_err(), Error::Truncated);
        // `parse` re-checks a view built unchecked.
        assert_eq!(ArpRepr::parse(&ArpPacket::new_unchecked(&bytes[..20])).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn rejects_other_hardware_and_protocols() {
        let bytes = hex::decode(REQUEST).unwrap();
        for (index, value) in [(1, 6), (2, 0x86), (4, 8), (5, 16)] {
            let mut other = bytes.clone();
            other[index] = value;
            other.resize(8 + 2 * 8 + 2 * 16, 0);
            let packet = ArpPacket::new_checked(&other[..]).unwrap();
            assert_eq!(ArpRepr::parse(&packet).unwrap_err(), Error::Unsupported, "byte {index}");
            assert!(packet.to_string().starts_with("ARP, hardware type"));
        }
    }

    #[test]
    fn reads_other_lengths() {
        // An ARP-shaped packet with 8-byte hardware and 16-byte protocol addresses.
        let mut bytes = vec![0, 1, 0x86, 0xdd, 8, 16, 0, 1];
        bytes.extend((0u8..48).collect::<Vec<_>>());
        let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.source_hardware_addr(), &bytes[8..16]);
        assert_eq!(packet.source_protocol_addr(), &bytes[16..32]);
        assert_eq!(packet.target_hardware_addr(), &bytes[32..40]);
        assert_eq!(packet.target_protocol_addr(), &bytes[40..56]);
    }

    #[test]
    fn unknown_operation() {
        let mut bytes = hex::decode(REQUEST).unwrap();
        bytes[7] = 9;
        let repr = ArpRepr::parse(&ArpPacket::new_checked(&bytes[..]).unwrap()).unwrap();
        assert_eq!(repr.operation, ArpOperation::Unknown(9));
        assert_eq!(u16::from(repr.operation), 9);
        assert_eq!(repr.to_string(), "ARP, op 9 10.0.0.1 (02:00:00:00:00:01) > 10.0.0.2 (00:00:00:00:00:00)");
    }

    fn any_repr() -> impl Strategy<Value = ArpRepr> {
        (any::<u16>(), any::<[u8; 6]>(), any::<[u8; 4]>(), any::<[u8; 6]>(), any::<[u8; 4]>()).prop_map(
            |(op, sha, spa, tha, tpa)| ArpRepr {
                operation: ArpOperation::from(op),
                source_hardware_addr: EthernetAddress(sha),
                source_protocol_addr: Ipv4Addr::from(spa),
                target_hardware_addr: EthernetAddress(tha),
                target_protocol_addr: Ipv4Addr::from(tpa),
            },
        )
    }

    proptest! {
        #[test]
        fn round_trip(repr in any_repr()) {
            let mut buf = vec![0; repr.buffer_len()];
            repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
            let packet = ArpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(ArpRepr::parse(&packet).unwrap(), repr);
            prop_assert_eq!(u16::from(ArpOperation::from(u16::from(repr.operation))), u16::from(repr.operation));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(packet) = ArpPacket::new_checked(&bytes[..]) {
                let _ = ArpRepr::parse(&packet);
                let _ = packet.to_string();
                let _ = (packet.hardware_type(), packet.protocol_type(), packet.operation());
                let _ = (packet.source_hardware_addr(), packet.source_protocol_addr());
                let _ = (packet.target_hardware_addr(), packet.target_protocol_addr());
            }
        }
    }
}
