//! Ethernet in and out: frames counted, checked for VLAN and destination, passed to ARP
//! or IPv4; the Ethernet header of every frame sent.

use super::Interface;
use crate::iface::stats::DropReason;
use crate::phy::TxToken;
use crate::socket::SocketSet;
use crate::time::Instant;
use crate::wire::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};

impl Interface {
    pub(super) fn process_frame<T: TxToken>(
        &mut self,
        now: Instant,
        frame: &mut [u8],
        tx: T,
        sockets: &mut SocketSet,
    ) {
        self.stats.rx_frames += 1;
        self.stats.rx_bytes += frame.len() as u64;
        if let Err(reason) = self.process_ethernet(now, frame, tx, sockets) {
            self.stats.count_drop(reason);
        }
    }

    fn process_ethernet<T: TxToken>(
        &mut self,
        now: Instant,
        frame: &[u8],
        tx: T,
        sockets: &mut SocketSet,
    ) -> Result<(), DropReason> {
        let eth = EthernetFrame::new_checked(frame).map_err(|_| DropReason::EthernetTruncated)?;
        let eth_repr = EthernetRepr::parse(&eth).map_err(|_| DropReason::VlanMismatch)?;
        if eth_repr.vlan_id != self.config.vlan_id {
            return Err(DropReason::VlanMismatch);
        }
        if eth_repr.dst_addr != self.config.mac && !eth_repr.dst_addr.is_broadcast() {
            return Err(DropReason::EthernetNotOurs);
        }
        match eth_repr.ethertype {
            EtherType::Arp => self.process_arp(now, eth.payload(), tx),
            EtherType::Ipv4 => self.process_ipv4(now, eth.payload(), tx, sockets),
            _ => Err(DropReason::EthernetUnknownType),
        }
    }

    pub(super) fn count_tx(&mut self, len: usize) {
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += len as u64;
    }

    pub(super) fn eth_header(&self, dst: EthernetAddress, ethertype: EtherType) -> EthernetRepr {
        EthernetRepr { src_addr: self.config.mac, dst_addr: dst, ethertype, vlan_id: self.config.vlan_id }
    }
}
