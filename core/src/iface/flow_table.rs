//! The directory of which worker owns each connection, shared by the workers of a
//! multi-queue link (the AF_XDP runtime's, and the simulator's multi-worker hosts'). Consulted only when a segment reaches a worker that does not have its
//! connection (a kernel peer may move a flow to another transmit queue, and so to another
//! of our receive queues, in mid-connection); updated when connections come and go. The
//! common path, a segment whose connection is local, never touches it.

use std::collections::HashMap;
use std::sync::RwLock;

use super::FlowDirectory;
use crate::socket::FourTuple;

/// Shards, so that workers updating different connections rarely meet.
const SHARDS: usize = 16;

#[derive(Debug)]
pub struct FlowTable {
    shards: Vec<RwLock<HashMap<FourTuple, u16>>>,
}

impl FlowTable {
    pub fn new() -> FlowTable {
        FlowTable { shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect() }
    }

    fn shard(&self, tuple: &FourTuple) -> &RwLock<HashMap<FourTuple, u16>> {
        let key =
            u32::from(*tuple.remote.ip()) ^ u32::from(tuple.remote.port()) ^ u32::from(tuple.local.port());
        &self.shards[(key as usize).wrapping_mul(0x9e37_79b9) % SHARDS]
    }

    /// A connection appeared on `worker` (`open`), or went away from it. A removal by a
    /// worker that no longer owns the endpoints (another took them over) changes nothing.
    pub fn set(&self, tuple: FourTuple, worker: u16, open: bool) {
        let mut shard = self.shard(&tuple).write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if open {
            shard.insert(tuple, worker);
        } else if shard.get(&tuple) == Some(&worker) {
            shard.remove(&tuple);
        }
    }
}

impl Default for FlowTable {
    fn default() -> FlowTable {
        FlowTable::new()
    }
}

impl FlowDirectory for FlowTable {
    fn owner(&self, tuple: &FourTuple) -> Option<u16> {
        self.shard(tuple).read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(tuple).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn owners_come_and_go() {
        let table = FlowTable::new();
        let tuple = FourTuple {
            local: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80),
            remote: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40_000),
        };
        assert_eq!(table.owner(&tuple), None);
        table.set(tuple, 1, true);
        assert_eq!(table.owner(&tuple), Some(1));
        table.set(tuple, 0, true);
        table.set(tuple, 1, false);
        assert_eq!(table.owner(&tuple), Some(0), "worker 1 let go of endpoints worker 0 took over");
        table.set(tuple, 0, false);
        assert_eq!(table.owner(&tuple), None);
    }
}
