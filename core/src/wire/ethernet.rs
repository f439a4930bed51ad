//! Ethernet II frames (IEEE 802.3 with EtherType), recognising one IEEE 802.1Q VLAN tag.
//!
//! ```text
//!  0                   6                  12        14         (18 if tagged)
//! +-------------------+-------------------+---------+----------+---------
//! | destination MAC   | source MAC        | type    | [TCI,type] payload
//! +-------------------+-------------------+---------+----------+---------
//! ```

use core::fmt;
use core::str::FromStr;

use super::{Error, Result};

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);
    pub const UNSPECIFIED: EthernetAddress = EthernetAddress([0; 6]);

    /// Reads an address from the first six bytes of `bytes`.
    ///
    /// # Panics
    /// If `bytes` is shorter than six bytes.
    pub fn from_bytes(bytes: &[u8]) -> EthernetAddress {
        let mut octets = [0; 6];
        octets.copy_from_slice(&bytes[..6]);
        EthernetAddress(octets)
    }

    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The I/G bit: group (multicast or broadcast) addresses.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// The U/L bit: locally administered addresses, as the simulator hands out.
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Parses `aa:bb:cc:dd:ee:ff` (or with `-` separators).
impl FromStr for EthernetAddress {
    type Err = Error;
    fn from_str(s: &str) -> Result<EthernetAddress> {
        let mut octets = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for octet in &mut octets {
            let part = parts.next().ok_or(Error::Malformed)?;
            if part.len() != 2 {
                return Err(Error::Malformed);
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| Error::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(Error::Malformed);
        }
        Ok(EthernetAddress(octets))
    }
}

/// The EtherType field (IEEE 802 numbers).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum EtherType {
    Ipv4,
    Arp,
    Ipv6,
    /// IEEE 802.1Q tag protocol identifier.
    Vlan,
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> EtherType {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x8100 => EtherType::Vlan,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> u16 {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Vlan => 0x8100,
            EtherType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => write!(f, "IPv4"),
            EtherType::Arp => write!(f, "ARP"),
            EtherType::Ipv6 => write!(f, "IPv6"),
            EtherType::Vlan => write!(f, "802.1Q"),
            EtherType::Unknown(v) => write!(f, "0x{v:04x}"),
        }
    }
}

mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    /// 802.1Q: priority (3 bits), drop eligible (1), VLAN identifier (12).
    pub const VLAN_TCI: Range<usize> = 14..16;
    pub const VLAN_ETHERTYPE: Range<usize> = 16..18;
}

/// Length of an untagged header.
pub const HEADER_LEN: usize = field::ETHERTYPE.end;
/// Length of a header with one 802.1Q tag.
pub const VLAN_HEADER_LEN: usize = field::VLAN_ETHERTYPE.end;

/// A view over an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking it; getters may panic if it is too short.
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wraps untrusted bytes: after this succeeds no method can panic.
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks the buffer holds the whole header, including a VLAN tag when present.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || (self.is_vlan_tagged() && len < VLAN_HEADER_LEN) {
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

    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DESTINATION])
    }

    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SOURCE])
    }

    fn is_vlan_tagged(&self) -> bool {
        let b = self.buffer.as_ref();
        b.len() >= HEADER_LEN && EtherType::from(self.read_u16(field::ETHERTYPE)) == EtherType::Vlan
    }

    /// The 12-bit VLAN identifier, if the frame carries an 802.1Q tag.
    pub fn vlan_id(&self) -> Option<u16> {
        self.is_vlan_tagged().then(|| self.read_u16(field::VLAN_TCI) & 0x0fff)
    }

    /// The payload's EtherType, looking past an 802.1Q tag.
    pub fn ethertype(&self) -> EtherType {
        if self.is_vlan_tagged() {
            EtherType::from(self.read_u16(field::VLAN_ETHERTYPE))
        } else {
            EtherType::from(self.read_u16(field::ETHERTYPE))
        }
    }

    /// 14, or 18 with a VLAN tag.
    pub fn header_len(&self) -> usize {
        if self.is_vlan_tagged() {
            VLAN_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the outer EtherType field (the tag protocol identifier on a tagged frame).
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(ethertype).to_be_bytes());
    }

    /// Writes an 802.1Q tag (priority 0) carrying `vlan_id` and the inner EtherType.
    pub fn set_vlan(&mut self, vlan_id: u16, inner: EtherType) {
        self.set_ethertype(EtherType::Vlan);
        let b = self.buffer.as_mut();
        b[field::VLAN_TCI].copy_from_slice(&(vlan_id & 0x0fff).to_be_bytes());
        b[field::VLAN_ETHERTYPE].copy_from_slice(&u16::from(inner).to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }
}

/// A parsed Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    pub src_addr: EthernetAddress,
    pub dst_addr: EthernetAddress,
    /// The payload's EtherType (never [`EtherType::Vlan`]).
    pub ethertype: EtherType,
    /// The VLAN identifier of an 802.1Q tag, if any.
    pub vlan_id: Option<u16>,
}

impl EthernetRepr {
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        let ethertype = frame.ethertype();
        if ethertype == EtherType::Vlan {
            // Stacked tags (Q-in-Q with 0x8100 inside) are not handled.
            return Err(Error::Unsupported);
        }
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype,
            vlan_id: frame.vlan_id(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        if self.vlan_id.is_some() {
            VLAN_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Writes the header; `frame` must hold at least `buffer_len()` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        match self.vlan_id {
            Some(id) => frame.set_vlan(id, self.ethertype),
            None => frame.set_ethertype(self.ethertype),
        }
    }
}

impl fmt::Display for EthernetRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} > {}, {}", self.src_addr, self.dst_addr, self.ethertype)?;
        if let Some(id) = self.vlan_id {
            write!(f, ", vlan {id}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An ARP request from a Linux host, captured with tcpdump (Ethernet header only).
    const UNTAGGED: &str = "ffffffffffff0242ac1100020806";
    /// The same with an 802.1Q tag, VLAN 100.
    const TAGGED: &str = "ffffffffffff0242ac110002810000640806";

    #[test]
    fn parses_untagged_known_answer() {
        let bytes = hex::decode(UNTAGGED).unwrap();
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        let repr = EthernetRepr::parse(&frame).unwrap();
        assert_eq!(repr.dst_addr, EthernetAddress::BROADCAST);
        assert_eq!(repr.src_addr, "02:42:ac:11:00:02".parse().unwrap());
        assert_eq!(repr.ethertype, EtherType::Arp);
        assert_eq!(repr.vlan_id, None);
        assert_eq!(frame.payload().len(), 0);
    }

    #[test]
    fn skips_vlan_tag() {
        let bytes = hex::decode(TAGGED).unwrap();
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.header_len(), VLAN_HEADER_LEN);
        assert_eq!(frame.ethertype(), EtherType::Arp);
        assert_eq!(frame.vlan_id(), Some(100));
        let repr = EthernetRepr::parse(&frame).unwrap();
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
    }

    #[test]
    fn rejects_truncated() {
        assert_eq!(EthernetFrame::new_checked(&[0u8; 13][..]).unwrap_err(), Error::Truncated);
        let tagged = hex::decode(TAGGED).unwrap();
        assert_eq!(EthernetFrame::new_checked(&tagged[..17]).unwrap_err(), Error::Truncated);
    }

    #[test]
    fn address_text() {
        let a: EthernetAddress = "02-00-5e-10-00-01".parse().unwrap();
        assert_eq!(a.to_string(), "02:00:5e:10:00:01");
        assert!(a.is_unicast() && a.is_local());
        assert!("02:00:5e:10:00".parse::<EthernetAddress>().is_err());
        assert!("02:00:5e:10:00:01:02".parse::<EthernetAddress>().is_err());
        assert!("0g:00:5e:10:00:01".parse::<EthernetAddress>().is_err());
    }

    fn any_repr() -> impl Strategy<Value = EthernetRepr> {
        (any::<[u8; 6]>(), any::<[u8; 6]>(), any::<u16>(), proptest::option::of(0u16..4096)).prop_map(
            |(s, d, t, vlan_id)| {
                let ethertype = match EtherType::from(t) {
                    EtherType::Vlan => EtherType::Ipv4,
                    other => other,
                };
                EthernetRepr {
                    src_addr: EthernetAddress(s),
                    dst_addr: EthernetAddress(d),
                    ethertype,
                    vlan_id,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn round_trip(repr in any_repr(), payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut buf = vec![0; repr.buffer_len() + payload.len()];
            let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
            repr.emit(&mut frame);
            frame.payload_mut().copy_from_slice(&payload);
            let frame = EthernetFrame::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(EthernetRepr::parse(&frame).unwrap(), repr);
            prop_assert_eq!(frame.payload(), &payload[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(frame) = EthernetFrame::new_checked(&bytes[..]) {
                let _ = EthernetRepr::parse(&frame);
                let _ = (frame.payload(), frame.vlan_id(), frame.dst_addr(), frame.src_addr());
            }
        }
    }
}
