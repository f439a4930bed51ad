//! Whole frames into an interface: the input is a sequence of frames (each prefixed by a
//! 16-bit length) received by a host with a UDP echo socket and pending ARP state. The
//! interface must never panic, must count every frame, and must stay within its bounds.
#![no_main]

use core::net::SocketAddrV4;

use libfuzzer_sys::fuzz_target;
use sluice_core::apps::UdpEcho;
use sluice_core::iface::{Interface, InterfaceConfig};
use sluice_core::phy::Device;
use sluice_core::sim::SimDevice;
use sluice_core::socket::{SocketSet, UdpConfig};
use sluice_core::time::{Duration, Instant};
use sluice_core::wire::{EthernetAddress, Ipv4Addr, Ipv4Cidr};

fuzz_target!(|data: &[u8]| {
    let mac = EthernetAddress([0x02, 0, 0, 0, 0, 1]);
    let addr = Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 1), 24).unwrap();
    let mut iface = Interface::new(InterfaceConfig::new(mac, addr)).unwrap();
    let mut device = SimDevice::new(mac, 1500);
    let mut sockets = SocketSet::default();
    let mut echo = UdpEcho::bind(&mut sockets, 7).unwrap();
    // Something waiting for ARP, so replies in the input can resolve it.
    let client = sockets.udp_socket(UdpConfig::default()).unwrap();
    let _ = sockets.send_to(client, b"queued", SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 9));

    let mut now = Instant::ZERO;
    let mut rest = data;
    let mut frames = 0u64;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len()).min(2000);
        let (frame, tail) = tail.split_at(len);
        rest = tail;
        device.inject(frame.to_vec());
        frames += 1;
        iface.poll(now, &mut device, &mut sockets);
        echo.poll(&mut sockets);
        iface.poll(now, &mut device, &mut sockets);
        while device.take_transmitted().is_some() {}
        now += Duration::from_millis(700);
    }
    // Let every timer (ARP retries, reassembly timeouts) run out.
    for _ in 0..64 {
        match iface.poll_at(now, &sockets) {
            Some(t) => now = now.max(t),
            None => break,
        }
        iface.poll(now, &mut device, &mut sockets);
        while device.take_transmitted().is_some() {}
    }
    assert_eq!(iface.stats().rx_frames, frames);
    assert!(device.caps().mtu == 1500);
});
