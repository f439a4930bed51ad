//! Which local ports the socket set uses, for a filter in front of the stack (the XDP
//! program steers only registered ports to Sluice; everything else stays with the kernel).
//!
//! A port counts as used while anything holds it: a bound or listening socket, or a
//! connection whose local end it is (active opens included). The ledger records which
//! ports crossed between used and unused since the last `take_changes`, each port once,
//! so a bind followed at once by a connect on the same port reports nothing to undo.

use std::collections::HashMap;

/// The transport a port belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Tcp,
    Udp,
}

/// A port whose use changed: `open` says whether it is in use now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortChange {
    pub transport: Transport,
    pub port: u16,
    pub open: bool,
}

#[derive(Debug, Default)]
struct PortUse {
    users: u32,
    /// On the changed list already.
    changed: bool,
    /// In use as last reported.
    reported: bool,
}

#[derive(Debug, Default)]
pub struct PortLedger {
    ports: HashMap<(Transport, u16), PortUse>,
    changed: Vec<(Transport, u16)>,
}

impl PortLedger {
    pub fn acquire(&mut self, transport: Transport, port: u16) {
        let entry = self.ports.entry((transport, port)).or_default();
        entry.users += 1;
        if entry.users == 1 && !entry.changed {
            entry.changed = true;
            self.changed.push((transport, port));
        }
    }

    pub fn release(&mut self, transport: Transport, port: u16) {
        let Some(entry) = self.ports.get_mut(&(transport, port)) else { return };
        entry.users = entry.users.saturating_sub(1);
        if entry.users == 0 && !entry.changed {
            entry.changed = true;
            self.changed.push((transport, port));
        }
    }

    /// Appends the ports whose use differs from what was last reported, and forgets
    /// ports nobody uses any more.
    pub fn take_changes(&mut self, out: &mut Vec<PortChange>) {
        for key in self.changed.drain(..) {
            let Some(entry) = self.ports.get_mut(&key) else { continue };
            entry.changed = false;
            let open = entry.users > 0;
            if open != entry.reported {
                entry.reported = open;
                out.push(PortChange { transport: key.0, port: key.1, open });
            }
            if !open {
                self.ports.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(ledger: &mut PortLedger) -> Vec<PortChange> {
        let mut out = Vec::new();
        ledger.take_changes(&mut out);
        out
    }

    #[test]
    fn reports_each_transition_once() {
        let mut ledger = PortLedger::default();
        ledger.acquire(Transport::Tcp, 80);
        ledger.acquire(Transport::Tcp, 80);
        assert_eq!(changes(&mut ledger), [PortChange { transport: Transport::Tcp, port: 80, open: true }]);
        ledger.release(Transport::Tcp, 80);
        assert_eq!(changes(&mut ledger), []);
        ledger.release(Transport::Tcp, 80);
        assert_eq!(changes(&mut ledger), [PortChange { transport: Transport::Tcp, port: 80, open: false }]);
        assert!(ledger.ports.is_empty(), "unused ports are forgotten");
    }

    #[test]
    fn a_release_and_reacquire_between_takes_reports_nothing() {
        let mut ledger = PortLedger::default();
        ledger.acquire(Transport::Udp, 53);
        changes(&mut ledger);
        ledger.release(Transport::Udp, 53);
        ledger.acquire(Transport::Udp, 53);
        assert_eq!(changes(&mut ledger), []);
        ledger.release(Transport::Tcp, 53);
        assert_eq!(changes(&mut ledger), [], "an unknown port is ignored");
    }
}
