//! A small authoritative DNS server for A records (RFC 1035), for tests and the demo.

use core::net::SocketAddrV4;
use std::collections::BTreeMap;

use crate::socket::{SocketError, SocketHandle, SocketSet, UdpConfig};
use crate::wire::dns::{self, Message, Rcode};
use crate::wire::Ipv4Addr;

const TTL: u32 = 300;

#[derive(Debug)]
pub struct DnsServer {
    socket: SocketHandle,
    /// Lower-case name without trailing dot → addresses.
    records: BTreeMap<String, Vec<Ipv4Addr>>,
    /// Queries answered (with an answer or NXDOMAIN).
    pub answered: u64,
}

impl DnsServer {
    pub fn bind(sockets: &mut SocketSet, port: u16) -> Result<DnsServer, SocketError> {
        let socket = sockets.udp_socket(UdpConfig::default())?;
        sockets.bind(socket, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
        Ok(DnsServer { socket, records: BTreeMap::new(), answered: 0 })
    }

    /// Adds an A record.
    pub fn insert(&mut self, name: &str, addr: Ipv4Addr) {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        self.records.entry(key).or_default().push(addr);
    }

    /// Answers every query received so far; anything that is not a query is ignored.
    pub fn poll(&mut self, sockets: &mut SocketSet) {
        let mut request = [0u8; 512];
        let mut response = [0u8; 512];
        while let Ok((len, from)) = sockets.recv_from(self.socket, &mut request) {
            let Ok(query) = Message::parse(&request[..len]) else { continue };
            if query.is_response() {
                continue;
            }
            let Some(question) = query.questions().next() else { continue };
            let name = question.name.to_string().trim_end_matches('.').to_ascii_lowercase();
            let answers: Vec<(Ipv4Addr, u32)> = match self.records.get(&name) {
                Some(addrs) if question.qtype == dns::TYPE_A => addrs.iter().map(|&a| (a, TTL)).collect(),
                _ => Vec::new(),
            };
            let rcode = if self.records.contains_key(&name) { Rcode::NoError } else { Rcode::NxDomain };
            let Ok(len) = dns::emit_response(&mut response, &query, rcode, &answers) else { continue };
            if sockets.send_to(self.socket, &response[..len], from).is_ok() {
                self.answered += 1;
            }
        }
    }
}
