//! The XDP program's `ports` map as a [`PortRegistry`] shared by all workers.

use std::collections::HashMap as StdHashMap;
use std::sync::Mutex;

use aya::maps::{HashMap, MapData};

use super::{PortProto, PortRegistry, XdpError};

/// Key of the `ports` map: `struct port_key` in `ebpf/sluice_xdp.bpf.c`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortKey {
    protocol: u8,
    pad: u8,
    /// Host byte order.
    port: u16,
}

// SAFETY: plain old data with no padding bytes (u8, u8, u16), valid for every bit pattern.
unsafe impl aya::Pod for PortKey {}

impl PortKey {
    pub(crate) fn new(proto: PortProto, port: u16) -> PortKey {
        PortKey { protocol: proto.ip_protocol(), pad: 0, port }
    }
}

/// The registered (protocol, port) pairs. Updates are rare (bind, listen, connect), so a
/// mutex guards the map handle and the open counts; the XDP program reads the kernel map
/// without any lock.
pub struct PortMap {
    inner: Mutex<PortMapInner>,
}

struct PortMapInner {
    map: HashMap<MapData, PortKey, u32>,
    opens: StdHashMap<(PortProto, u16), u32>,
}

impl PortMap {
    pub(crate) fn new(map: HashMap<MapData, PortKey, u32>) -> PortMap {
        PortMap { inner: Mutex::new(PortMapInner { map, opens: StdHashMap::new() }) }
    }

    /// The registered ports, sorted.
    pub fn registered(&self) -> Vec<(PortProto, u16)> {
        let inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ports: Vec<_> = inner.opens.keys().copied().collect();
        ports.sort_unstable();
        ports
    }

    /// Whether the kernel map holds `proto`/`port` (reads the map itself).
    pub fn contains(&self, proto: PortProto, port: u16) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.map.get(&PortKey::new(proto, port), 0).is_ok()
    }
}

impl core::fmt::Debug for PortMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PortMap").field("registered", &self.registered()).finish()
    }
}

impl PortRegistry for PortMap {
    fn open(&self, proto: PortProto, port: u16) -> Result<(), XdpError> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let opens = inner.opens.get(&(proto, port)).copied().unwrap_or(0);
        if opens == 0 {
            inner.map.insert(PortKey::new(proto, port), 1, 0).map_err(|e| XdpError::Map {
                map: "ports",
                reason: format!("registering {proto}/{port}: {e}"),
            })?;
        }
        inner.opens.insert((proto, port), opens + 1);
        Ok(())
    }

    fn close(&self, proto: PortProto, port: u16) -> Result<(), XdpError> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match inner.opens.get(&(proto, port)).copied() {
            None => Err(XdpError::PortNotOpen { proto, port }),
            Some(1) => {
                inner.map.remove(&PortKey::new(proto, port)).map_err(|e| XdpError::Map {
                    map: "ports",
                    reason: format!("unregistering {proto}/{port}: {e}"),
                })?;
                inner.opens.remove(&(proto, port));
                Ok(())
            }
            Some(opens) => {
                inner.opens.insert((proto, port), opens - 1);
                Ok(())
            }
        }
    }
}
