//! What an interface is: its addresses and the tunables of each part.

use thiserror::Error;

use super::fragment::ReassemblyConfig;
use super::neighbor::NeighborConfig;
use crate::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InterfaceConfig {
    pub mac: EthernetAddress,
    /// Our address and the on-link prefix.
    pub addr: Ipv4Cidr,
    /// Where off-link packets go; without one they are dropped as `no_route`.
    pub gateway: Option<Ipv4Addr>,
    /// An 802.1Q VLAN to tag frames with and to accept; untagged when `None`.
    pub vlan_id: Option<u16>,
    /// TTL of packets the interface originates (RFC 1700 recommends 64).
    pub default_ttl: u8,
    pub neighbor: NeighborConfig,
    pub reassembly: ReassemblyConfig,
    /// ICMP errors per second, on average (Linux: 1000).
    pub icmp_errors_per_sec: u32,
    /// ICMP errors sent back to back at most (Linux: 50).
    pub icmp_errors_burst: u32,
    /// RSTs per second, on average, answering segments no socket wants (closed ports,
    /// RFC 9293 §3.10.7.1), so a flood of spoofed segments is not reflected one for one
    /// (FreeBSD limits these too, `net.inet.icmp.icmplim`).
    pub resets_per_sec: u32,
    /// Such RSTs sent back to back at most.
    pub resets_burst: u32,
    /// Announce our address with gratuitous ARP when starting (RFC 5227 §2.3).
    pub announce: bool,
    /// Frames held for transmission while the device is full, fragments included.
    pub tx_queue_frames: usize,
    /// Start of the IPv4 identification sequence.
    pub ident_seed: u16,
}

impl InterfaceConfig {
    /// A configuration with defaults for everything but the addresses.
    pub fn new(mac: EthernetAddress, addr: Ipv4Cidr) -> InterfaceConfig {
        InterfaceConfig {
            mac,
            addr,
            gateway: None,
            vlan_id: None,
            default_ttl: 64,
            neighbor: NeighborConfig::default(),
            reassembly: ReassemblyConfig::default(),
            icmp_errors_per_sec: 1000,
            icmp_errors_burst: 50,
            resets_per_sec: 1000,
            resets_burst: 50,
            announce: true,
            tx_queue_frames: 256,
            ident_seed: 0,
        }
    }

    pub fn with_gateway(mut self, gateway: Ipv4Addr) -> InterfaceConfig {
        self.gateway = Some(gateway);
        self
    }

    /// Checks the configuration makes sense before an interface runs with it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.mac.is_unicast() || self.mac == EthernetAddress::UNSPECIFIED {
            return Err(ConfigError::MacNotUnicast(self.mac));
        }
        let ip = self.addr.address();
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || Some(ip) == self.addr.broadcast()
        {
            return Err(ConfigError::AddressNotUnicast(ip));
        }
        if let Some(gateway) = self.gateway {
            if !self.addr.contains_addr(&gateway) || gateway == ip {
                return Err(ConfigError::GatewayOffLink { gateway, addr: self.addr });
            }
        }
        if self.vlan_id.is_some_and(|id| id == 0 || id >= 4095) {
            return Err(ConfigError::BadVlan(self.vlan_id.unwrap_or(0)));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("MAC address {0} is not a unicast address; use one with the low bit of the first octet clear")]
    MacNotUnicast(EthernetAddress),
    #[error("address {0} cannot be an interface address (unspecified, broadcast or multicast)")]
    AddressNotUnicast(Ipv4Addr),
    #[error("gateway {gateway} is not on the interface's network {addr}; give a gateway inside the prefix")]
    GatewayOffLink { gateway: Ipv4Addr, addr: Ipv4Cidr },
    #[error("VLAN {0} is out of range; use 1 to 4094")]
    BadVlan(u16),
}
