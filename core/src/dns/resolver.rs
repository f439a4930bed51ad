//! A DNS stub resolver for A records (RFC 1035 §7), over a UDP socket of the stack.
//!
//! Each query is sent to the first server, then retried on timeout against the next one
//! in turn, with the timeout doubling after every round over the server list (the
//! behaviour of glibc's `resolv.conf` `timeout`/`attempts`). ICMP port unreachable from a
//! server moves on at once. Responses are accepted only when they come from a configured
//! server's port 53 and match the query's ID and question (RFC 5452 §4), and query IDs
//! are drawn from the injected seed rather than counted, so they are not guessable.

use core::fmt;
use core::net::SocketAddrV4;

use thiserror::Error;

use crate::socket::{SocketError, SocketHandle, SocketSet, UdpConfig};
use crate::time::{Duration, Instant};
use crate::wire::dns::{self, Message, Rcode, RecordData};
use crate::wire::Ipv4Addr;

/// The DNS port (RFC 1035 §4.2.1).
pub const DNS_PORT: u16 = 53;
/// RFC 1035 §4.2.1: UDP messages are at most 512 bytes (without EDNS).
const MAX_MESSAGE: usize = 512;
/// CNAME hops followed inside one answer.
const MAX_CNAME_CHAIN: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    /// Name servers, tried in order.
    pub servers: Vec<Ipv4Addr>,
    /// The first timeout; doubled after each round over the servers.
    pub timeout: Duration,
    /// Rounds over the server list before giving up.
    pub attempts: u8,
    /// Queries in flight (and finished but not yet taken) at once.
    pub max_queries: usize,
}

impl ResolverConfig {
    pub fn new(servers: Vec<Ipv4Addr>) -> ResolverConfig {
        ResolverConfig { servers, timeout: Duration::from_secs(1), attempts: 3, max_queries: 64 }
    }
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DnsError {
    #[error("no such name (NXDOMAIN): the name does not exist")]
    NoSuchName,
    #[error("the name exists but has no IPv4 address")]
    NoAddress,
    #[error("the server failed to answer ({0:?}); try another server")]
    ServerFailure(Rcode),
    #[error("no answer from any server after every retry; check the server address and the network")]
    TimedOut,
    #[error("the answer was truncated and holds no address; TCP fallback is not available")]
    Truncated,
    #[error("{0:?} is not a valid host name: labels of 1-63 letters, digits or hyphens, 255 bytes at most")]
    InvalidName(String),
    #[error("too many lookups in flight ({0}); take finished results first")]
    TooManyQueries(usize),
    #[error("no DNS server configured")]
    NoServers,
    #[error("socket error: {0}")]
    Socket(SocketError),
}

/// Names one lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryHandle(usize);

impl fmt::Display for QueryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query {}", self.0)
    }
}

#[derive(Debug)]
enum QueryState {
    /// Waiting to be sent (first time, or after a retry fell due).
    Due,
    Sent {
        deadline: Instant,
    },
    Done(Result<Vec<Ipv4Addr>, DnsError>),
}

#[derive(Debug)]
struct Query {
    name: String,
    id: u16,
    /// Transmissions so far; the server is `servers[sent % servers.len()]`.
    sent: u32,
    state: QueryState,
}

#[derive(Debug)]
pub struct Resolver {
    config: ResolverConfig,
    socket: SocketHandle,
    queries: Vec<Option<Query>>,
    rng: u64,
}

impl Resolver {
    /// Opens the resolver's UDP socket on an ephemeral port. `seed` drives query IDs:
    /// take it from the OS RNG in production.
    pub fn new(sockets: &mut SocketSet, config: ResolverConfig, seed: u64) -> Result<Resolver, DnsError> {
        if config.servers.is_empty() {
            return Err(DnsError::NoServers);
        }
        let socket = sockets.udp_socket(UdpConfig::default()).map_err(DnsError::Socket)?;
        sockets.bind(socket, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).map_err(DnsError::Socket)?;
        Ok(Resolver { config, socket, queries: Vec::new(), rng: seed })
    }

    /// The resolver's socket, e.g. to close it with the rest of the application.
    pub fn socket(&self) -> SocketHandle {
        self.socket
    }

    /// SplitMix64: fast, seedable, and good enough to make IDs unpredictable to an
    /// off-path attacker who does not know the seed.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Starts looking up `name`'s IPv4 addresses. A dotted-quad literal resolves at once.
    pub fn start(&mut self, name: &str) -> Result<QueryHandle, DnsError> {
        let state = match name.parse::<Ipv4Addr>() {
            Ok(addr) => QueryState::Done(Ok(vec![addr])),
            Err(_) => {
                dns::query_len(name).map_err(|_| DnsError::InvalidName(name.to_string()))?;
                QueryState::Due
            }
        };
        let live = self.queries.iter().filter(|q| q.is_some()).count();
        if live >= self.config.max_queries {
            return Err(DnsError::TooManyQueries(self.config.max_queries));
        }
        let id = self.next_random() as u16;
        let query = Some(Query { name: name.to_string(), id, sent: 0, state });
        let index = match self.queries.iter().position(Option::is_none) {
            Some(index) => {
                self.queries[index] = query;
                index
            }
            None => {
                self.queries.push(query);
                self.queries.len() - 1
            }
        };
        Ok(QueryHandle(index))
    }

    /// The outcome, once known; `None` while the lookup is in flight.
    pub fn result(&self, handle: QueryHandle) -> Option<&Result<Vec<Ipv4Addr>, DnsError>> {
        match self.queries.get(handle.0) {
            Some(Some(Query { state: QueryState::Done(result), .. })) => Some(result),
            _ => None,
        }
    }

    /// Takes a finished outcome and frees its slot.
    pub fn take_result(&mut self, handle: QueryHandle) -> Option<Result<Vec<Ipv4Addr>, DnsError>> {
        self.result(handle)?;
        match self.queries.get_mut(handle.0).and_then(Option::take) {
            Some(Query { state: QueryState::Done(result), .. }) => Some(result),
            _ => None,
        }
    }

    /// Reads responses, sends due queries and retries, and expires lookups.
    pub fn poll(&mut self, now: Instant, sockets: &mut SocketSet) {
        self.receive(sockets);
        if let Ok(Some(SocketError::ConnectionRefused(server))) = sockets.take_error(self.socket) {
            // That server has nothing on port 53: move its queries on now.
            for query in self.queries.iter_mut().flatten() {
                let current =
                    self.config.servers[(query.sent.max(1) as usize - 1) % self.config.servers.len()];
                if current == server && matches!(query.state, QueryState::Sent { .. }) {
                    query.state = QueryState::Sent { deadline: now };
                }
            }
        }
        let servers = self.config.servers.len() as u32;
        let max_sends = servers * u32::from(self.config.attempts.max(1));
        let mut buf = [0u8; MAX_MESSAGE];
        for query in self.queries.iter_mut().flatten() {
            let due = match query.state {
                QueryState::Due => true,
                QueryState::Sent { deadline } => deadline <= now,
                QueryState::Done(_) => false,
            };
            if !due {
                continue;
            }
            if query.sent >= max_sends {
                query.state = QueryState::Done(Err(DnsError::TimedOut));
                continue;
            }
            let server = self.config.servers[(query.sent % servers) as usize];
            let round = query.sent / servers;
            let len = match dns::emit_query(&mut buf, query.id, &query.name, dns::TYPE_A) {
                Ok(len) => len,
                Err(_) => {
                    query.state = QueryState::Done(Err(DnsError::InvalidName(query.name.clone())));
                    continue;
                }
            };
            match sockets.send_to(self.socket, &buf[..len], SocketAddrV4::new(server, DNS_PORT)) {
                Ok(_) => {
                    query.sent += 1;
                    let timeout = self.config.timeout * (1u32 << round.min(6));
                    query.state = QueryState::Sent { deadline: now + timeout };
                }
                Err(SocketError::WouldBlock) => break,
                Err(error) => query.state = QueryState::Done(Err(DnsError::Socket(error))),
            }
        }
    }

    fn receive(&mut self, sockets: &mut SocketSet) {
        let mut buf = [0u8; MAX_MESSAGE];
        while let Ok((len, from)) = sockets.recv_from(self.socket, &mut buf) {
            if from.port() != DNS_PORT || !self.config.servers.contains(from.ip()) {
                continue;
            }
            let Ok(message) = Message::parse(&buf[..len]) else { continue };
            if !message.is_response() {
                continue;
            }
            let id = message.id();
            for query in self.queries.iter_mut().flatten() {
                if query.id != id || !matches!(query.state, QueryState::Sent { .. }) {
                    continue;
                }
                let asked = message.questions().next().is_some_and(|q| q.name.eq_str(&query.name));
                if asked {
                    query.state = QueryState::Done(answer(&message, &query.name));
                }
                break;
            }
        }
    }

    /// When `poll` next has work to do.
    pub fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.queries
            .iter()
            .flatten()
            .filter_map(|q| match q.state {
                QueryState::Due => Some(now),
                QueryState::Sent { deadline } => Some(deadline),
                QueryState::Done(_) => None,
            })
            .min()
    }
}

/// The addresses an answer gives for `name`, following CNAMEs (RFC 1034 §3.6.2).
fn answer(message: &Message<'_>, name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
    match message.rcode() {
        Rcode::NoError => {}
        Rcode::NxDomain => return Err(DnsError::NoSuchName),
        other => return Err(DnsError::ServerFailure(other)),
    }
    let mut target = name.to_string();
    for _ in 0..MAX_CNAME_CHAIN {
        let alias = message.answers().find_map(|record| match record.data {
            RecordData::Cname(cname) if record.name.eq_str(&target) => Some(cname.to_string()),
            _ => None,
        });
        match alias {
            Some(next) => target = next,
            None => break,
        }
    }
    let addrs: Vec<Ipv4Addr> = message
        .answers()
        .filter_map(|record| match record.data {
            RecordData::A(addr) if record.name.eq_str(&target) => Some(addr),
            _ => None,
        })
        .collect();
    if !addrs.is_empty() {
        Ok(addrs)
    } else if message.truncated() {
        Err(DnsError::Truncated)
    } else {
        Err(DnsError::NoAddress)
    }
}
