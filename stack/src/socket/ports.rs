//! Ephemeral port selection (RFC 6056).
//!
//! Ports come from the IANA dynamic range 49152–65535 (RFC 6335 §6). The search starts at
//! an offset drawn from the injected seed and then walks sequentially, skipping ports in
//! use (RFC 6056 §3.3.2's simple hash-free variant), so consecutive ports are cheap to find
//! and the sequence is not trivially guessable across runs.

/// First port of the dynamic range.
pub const EPHEMERAL_FIRST: u16 = 49152;
/// Last port of the dynamic range.
pub const EPHEMERAL_LAST: u16 = 65535;

#[derive(Debug, Clone)]
pub struct EphemeralPorts {
    next: u16,
}

impl EphemeralPorts {
    pub fn new(seed: u64) -> EphemeralPorts {
        let span = u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        EphemeralPorts { next: EPHEMERAL_FIRST + (seed % span) as u16 }
    }

    /// The first free port from the cursor on, per `in_use`; `None` if every port is taken.
    pub fn allocate(&mut self, mut in_use: impl FnMut(u16) -> bool) -> Option<u16> {
        let span = u32::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        for _ in 0..span {
            let port = self.next;
            self.next = if port == EPHEMERAL_LAST { EPHEMERAL_FIRST } else { port + 1 };
            if !in_use(port) {
                return Some(port);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_the_range_and_skips_used_ports() {
        let mut ports = EphemeralPorts::new(u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST));
        assert_eq!(ports.allocate(|_| false), Some(EPHEMERAL_LAST));
        assert_eq!(ports.allocate(|p| p == EPHEMERAL_FIRST), Some(EPHEMERAL_FIRST + 1));
        assert_eq!(ports.allocate(|_| true), None);
    }

    #[test]
    fn seed_changes_the_start() {
        let a = EphemeralPorts::new(1).allocate(|_| false);
        let b = EphemeralPorts::new(2).allocate(|_| false);
        assert_ne!(a, b);
    }
}
