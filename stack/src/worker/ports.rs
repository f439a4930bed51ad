//! Keeping the filter in front of the stack (the XDP program's port map) in step with
//! the ports the workers use. Several workers may use one port (every worker listens on
//! a listening port), so the port stays registered until the last of them lets go.
//! This runs on bind, listen, connect and close, never per packet, so a mutex is fine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::socket::{PortChange, Transport};

/// Where registered ports go: the XDP program's map in production.
pub trait PortFilter: Send + Sync {
    /// Steer (`open`) or stop steering traffic to `port` to the stack.
    fn set_port(&self, transport: Transport, port: u16, open: bool) -> Result<(), String>;
}

#[derive(Default)]
pub struct PortRegistrar {
    filter: Option<Arc<dyn PortFilter>>,
    users: Mutex<HashMap<(Transport, u16), u32>>,
    /// Registrations the filter refused (each logged).
    pub failures: AtomicU64,
}

impl PortRegistrar {
    pub fn new(filter: Option<Arc<dyn PortFilter>>) -> PortRegistrar {
        PortRegistrar { filter, ..PortRegistrar::default() }
    }

    pub fn apply(&self, change: PortChange) {
        let key = (change.transport, change.port);
        let mut users = self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = users.entry(key).or_insert(0);
        let before = *count;
        if change.open {
            *count += 1;
        } else {
            *count = count.saturating_sub(1);
        }
        let after = *count;
        if after == 0 {
            users.remove(&key);
        }
        let Some(filter) = &self.filter else { return };
        if (before == 0) != (after == 0) {
            if let Err(err) = filter.set_port(change.transport, change.port, after > 0) {
                self.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(port = change.port, ?change.transport, "port filter update failed: {err}");
            }
        }
    }

    /// The ports in use now, sorted (for listings and tests).
    pub fn registered(&self) -> Vec<(Transport, u16)> {
        let users = self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ports: Vec<_> = users.keys().copied().collect();
        ports.sort_by_key(|&(t, p)| (t as u8, p));
        ports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(u16, bool)>>);

    impl PortFilter for Recorder {
        fn set_port(&self, _transport: Transport, port: u16, open: bool) -> Result<(), String> {
            self.0.lock().unwrap().push((port, open));
            Ok(())
        }
    }

    #[test]
    fn a_port_shared_by_workers_stays_until_the_last_one_closes() {
        let recorder = Arc::new(Recorder::default());
        let registrar = PortRegistrar::new(Some(recorder.clone()));
        let change = |open| PortChange { transport: Transport::Tcp, port: 7, open };
        registrar.apply(change(true));
        registrar.apply(change(true));
        registrar.apply(change(false));
        assert_eq!(*recorder.0.lock().unwrap(), [(7, true)]);
        registrar.apply(change(false));
        assert_eq!(*recorder.0.lock().unwrap(), [(7, true), (7, false)]);
        assert!(registrar.registered().is_empty());
    }
}
