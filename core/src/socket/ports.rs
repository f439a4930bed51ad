//! Ephemeral port selection (RFC 6056).
//!
//! Ports come from the IANA dynamic range 49152–65535 (RFC 6335 §6). The search starts at
//! an offset drawn from the injected seed and then walks sequentially, skipping ports in
//! use (RFC 6056 §3.3.2's simple hash-free variant), so consecutive ports are cheap to find
//! and the sequence is not trivially guessable across runs.
//!
//! Several workers split the range by residue: worker `w` of `n` takes the ports `p` with
//! `p % n == w`, so the port a reply arrives on names the worker that owns the connection.

/// First port of the dynamic range.
pub const EPHEMERAL_FIRST: u16 = 49152;
/// Last port of the dynamic range.
pub const EPHEMERAL_LAST: u16 = 65535;

/// One residue class of the ephemeral range: the ports `p` with `p % of == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortShare {
    pub index: u16,
    pub of: u16,
}

impl PortShare {
    /// The whole range, for a single worker.
    pub const WHOLE: PortShare = PortShare { index: 0, of: 1 };

    /// The share a port belongs to among `of` shares.
    pub fn owner_of(port: u16, of: u16) -> u16 {
        port % of.max(1)
    }
}

#[derive(Debug, Clone)]
pub struct EphemeralPorts {
    next: u16,
    share: PortShare,
}

impl EphemeralPorts {
    /// A cursor over `share` of the range. A share with `index >= of` is read as the
    /// whole range.
    pub fn new(seed: u64, share: PortShare) -> EphemeralPorts {
        let share = if share.of == 0 || share.index >= share.of { PortShare::WHOLE } else { share };
        let span = u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        let mut ports = EphemeralPorts { next: EPHEMERAL_FIRST + (seed % span) as u16, share };
        while !ports.is_ours(ports.next) {
            ports.step();
        }
        ports
    }

    fn is_ours(&self, port: u16) -> bool {
        port % self.share.of == self.share.index
    }

    fn step(&mut self) {
        self.next = if self.next == EPHEMERAL_LAST { EPHEMERAL_FIRST } else { self.next + 1 };
    }

    /// The first free port of the share from the cursor on, per `in_use`; `None` if
    /// every port of the share is taken.
    pub fn allocate(&mut self, mut in_use: impl FnMut(u16) -> bool) -> Option<u16> {
        let span = u32::from(EPHEMERAL_LAST - EPHEMERAL_FIRST) + 1;
        for _ in 0..span {
            let port = self.next;
            self.step();
            if self.is_ours(port) && !in_use(port) {
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
        let mut ports = EphemeralPorts::new(u64::from(EPHEMERAL_LAST - EPHEMERAL_FIRST), PortShare::WHOLE);
        assert_eq!(ports.allocate(|_| false), Some(EPHEMERAL_LAST));
        assert_eq!(ports.allocate(|p| p == EPHEMERAL_FIRST), Some(EPHEMERAL_FIRST + 1));
        assert_eq!(ports.allocate(|_| true), None);
    }

    #[test]
    fn a_share_allocates_only_its_residue_class() {
        let share = PortShare { index: 1, of: 3 };
        let mut ports = EphemeralPorts::new(7, share);
        let mut seen = 0;
        while let Some(port) = ports.allocate(|_| false) {
            assert_eq!(port % 3, 1);
            assert_eq!(PortShare::owner_of(port, 3), 1);
            seen += 1;
            if seen == 20_000 {
                break;
            }
        }
        let in_class = (EPHEMERAL_FIRST..=EPHEMERAL_LAST).filter(|p| p % 3 == 1).count();
        let mut ports = EphemeralPorts::new(7, share);
        let mut taken = std::collections::HashSet::new();
        while let Some(port) = ports.allocate(|p| taken.contains(&p)) {
            taken.insert(port);
        }
        assert_eq!(taken.len(), in_class, "every port of the class, then None");
    }

    #[test]
    fn seed_changes_the_start() {
        let a = EphemeralPorts::new(1, PortShare::WHOLE).allocate(|_| false);
        let b = EphemeralPorts::new(2, PortShare::WHOLE).allocate(|_| false);
        assert_ne!(a, b);
    }
}
