//! The interface limits a server sets on the command line (`serve`, `client`, `resolve`):
//! the neighbour table and fragment reassembly, the tables spoofed traffic can fill.

use clap::builder::TypedValueParser as _;
use clap::Args;
use sluice::iface::{InterfaceConfig, NeighborConfig, ReassemblyConfig};
use sluice::time::Duration;

use crate::sim::{parse_duration, parse_size};

#[derive(Args, Debug, Clone)]
pub struct IfaceLimits {
    /// Neighbour (ARP) entries per worker; a full table evicts the least recently used
    /// (Linux `gc_thresh3`: 1024).
    #[arg(long, value_name = "N", default_value_t = NeighborConfig::default().max_entries,
          value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub neighbor_entries: usize,
    /// Memory for fragment reassembly per worker, buffers and bookkeeping, e.g. 4Mi (Linux
    /// `ipfrag_high_thresh`); a full budget evicts the oldest datagram.
    #[arg(long, value_name = "BYTES", default_value = "4Mi", value_parser = parse_size)]
    pub reassembly_memory: u64,
    /// Datagrams in reassembly at once per worker; a full table evicts the oldest.
    #[arg(long, value_name = "N", default_value_t = ReassemblyConfig::default().max_datagrams,
          value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub reassembly_datagrams: usize,
    /// Datagrams in reassembly from one source address; the source's oldest goes first.
    #[arg(long, value_name = "N", default_value_t = ReassemblyConfig::default().max_per_source,
          value_parser = clap::value_parser!(u64).range(1..).map(|n| n as usize))]
    pub reassembly_per_source: usize,
    /// How long a datagram may take to reassemble (RFC 1122 §3.3.2; Linux `ipfrag_time`).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub reassembly_timeout: Duration,
}

impl IfaceLimits {
    /// Applies the limits to an interface's configuration.
    pub fn apply(&self, iface: &mut InterfaceConfig) {
        iface.neighbor.max_entries = self.neighbor_entries;
        iface.reassembly.max_bytes = usize::try_from(self.reassembly_memory).unwrap_or(usize::MAX);
        iface.reassembly.max_datagrams = self.reassembly_datagrams;
        iface.reassembly.max_per_source = self.reassembly_per_source;
        iface.reassembly.timeout = self.reassembly_timeout;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        limits: IfaceLimits,
    }

    #[test]
    fn defaults_are_the_librarys() {
        let cli = Cli::parse_from(["sluice"]);
        let base = InterfaceConfig::new(
            sluice::wire::EthernetAddress([2, 0, 0, 0, 0, 1]),
            sluice::wire::Ipv4Cidr::new(sluice::wire::Ipv4Addr::new(10, 0, 0, 1), 24).unwrap(),
        );
        let mut applied = base;
        cli.limits.apply(&mut applied);
        assert_eq!(applied, base);
    }

    #[test]
    fn flags_set_the_limits() {
        let cli = Cli::parse_from([
            "sluice",
            "--neighbor-entries",
            "64",
            "--reassembly-memory",
            "1Mi",
            "--reassembly-datagrams",
            "10",
            "--reassembly-per-source",
            "2",
            "--reassembly-timeout",
            "5s",
        ]);
        let mut config = InterfaceConfig::new(
            sluice::wire::EthernetAddress([2, 0, 0, 0, 0, 1]),
            sluice::wire::Ipv4Cidr::new(sluice::wire::Ipv4Addr::new(10, 0, 0, 1), 24).unwrap(),
        );
        cli.limits.apply(&mut config);
        assert_eq!(config.neighbor.max_entries, 64);
        assert_eq!(config.reassembly.max_bytes, 1 << 20);
        assert_eq!(config.reassembly.max_datagrams, 10);
        assert_eq!(config.reassembly.max_per_source, 2);
        assert_eq!(config.reassembly.timeout, Duration::from_secs(5));
        assert!(Cli::try_parse_from(["sluice", "--neighbor-entries", "0"]).is_err());
    }
}
