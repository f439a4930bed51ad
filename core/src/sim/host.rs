//! Hosts attached to the simulated network, and the loop that runs them in virtual time.
//!
//! One [`Network::step`]:
//!
//! 1. polls every host at `now`, in slice order, with its port's device;
//! 2. puts every frame the hosts queued on the wire (departing at `now` or later);
//! 3. moves the clock to the earliest of: the next arrival, each host's `poll_at`, and
//!    `now` itself if a host left frames in its receive queue; and delivers the frames
//!    arriving by then.
//!
//! A step that does not move the clock (an arrival with zero latency, or a host asking to
//! be polled again at once) is a zero-time round. After [`MAX_ZERO_TIME_ROUNDS`] in a row
//! the clock is pushed forward by 1 µs, so a host that keeps asking for an immediate poll
//! cannot stall the simulation.

use super::device::SimDevice;
use super::network::{Network, PortId};
use crate::time::{Duration, Instant};

/// Consecutive steps at one instant before the clock is forced forward by 1 µs.
pub const MAX_ZERO_TIME_ROUNDS: u32 = 1_000;

/// A participant in the simulation: anything that drives a device, such as an interface
/// with its sockets or a scripted test peer.
///
/// `poll` must take every frame waiting in the device (or it is polled again at the same
/// instant) and may queue frames to send. It may be called when nothing is due.
pub trait Host {
    /// The port whose device this host drives.
    fn port(&self) -> PortId;

    /// Processes received frames and timers due at `now`; queues frames on `device`.
    fn poll(&mut self, now: Instant, device: &mut SimDevice);

    /// When the host next needs a poll even if no frame arrives; `None` for never.
    fn poll_at(&self, now: Instant) -> Option<Instant>;
}

/// The end of time, for an unbounded step.
const FOREVER: Instant = Instant::from_micros(u64::MAX);

enum Advance {
    /// The clock moved (or a zero-time round ran); more may happen.
    Moved,
    /// Nothing is in flight and no host has a deadline; the clock did not move.
    Idle,
    /// The next event lies beyond the limit; the clock stands at the limit.
    Limit,
}

impl Network {
    /// Runs one round (see the module documentation): returns `false` when nothing is in
    /// flight and no host has a deadline, so further steps would change nothing.
    pub fn step(&mut self, hosts: &mut [&mut dyn Host]) -> bool {
        self.poll_hosts(hosts);
        matches!(self.advance_to_next(hosts, FOREVER), Advance::Moved)
    }

    /// Steps until `done` holds or virtual time passes `deadline`. `done` is checked first
    /// and then after every round of polls, before the clock moves on, so on `true` the
    /// clock stands at the instant `done` became true. On `false` it stands at `deadline` (or
    /// where it was, if that is later).
    pub fn run_until(
        &mut self,
        hosts: &mut [&mut dyn Host],
        deadline: Instant,
        mut done: impl FnMut(&mut [&mut dyn Host]) -> bool,
    ) -> bool {
        if done(hosts) {
            return true;
        }
        loop {
            self.poll_hosts(hosts);
            if done(hosts) {
                return true;
            }
            match self.advance_to_next(hosts, deadline) {
                Advance::Moved => {}
                Advance::Limit => return false,
                Advance::Idle => {
                    self.advance(deadline);
                    return false;
                }
            }
        }
    }

    /// Steps until nothing is in flight and no host has a deadline, or until `deadline`.
    /// Returns `true` if the network went idle by then.
    pub fn run_until_idle(&mut self, hosts: &mut [&mut dyn Host], deadline: Instant) -> bool {
        loop {
            self.poll_hosts(hosts);
            match self.advance_to_next(hosts, deadline) {
                Advance::Moved => {}
                Advance::Idle => return true,
                Advance::Limit => return false,
            }
        }
    }

    /// Polls every host at now, then puts the frames they queued on the wire.
    fn poll_hosts(&mut self, hosts: &mut [&mut dyn Host]) {
        let now = self.now();
        for host in hosts.iter_mut() {
            let port = host.port();
            host.poll(now, self.device(port));
        }
        self.advance(now);
    }

    /// Moves the clock to the next arrival or host deadline, at most to `limit`.
    fn advance_to_next(&mut self, hosts: &[&mut dyn Host], limit: Instant) -> Advance {
        let now = self.now();
        let mut next = self.next_event();
        for host in hosts.iter() {
            let unread = (self.device_ref(host.port()).rx_pending() > 0).then_some(now);
            let wanted = host.poll_at(now).map(|t| t.max(now));
            for t in [unread, wanted].into_iter().flatten() {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        let Some(mut next) = next else {
            return Advance::Idle;
        };
        if next == now {
            self.zero_time_rounds += 1;
            if self.zero_time_rounds > MAX_ZERO_TIME_ROUNDS {
                self.zero_time_rounds = 0;
                next = now + Duration::from_micros(1);
            }
        } else {
            self.zero_time_rounds = 0;
        }
        if next > limit {
            self.advance(limit);
            return Advance::Limit;
        }
        self.advance(next);
        Advance::Moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::testkit::{mac, Echo, Pinger, Receiver, Sender};
    use crate::sim::LinkConfig;

    fn lan(config: LinkConfig, ports: u8) -> (Network, Vec<PortId>) {
        let mut net = Network::new(3);
        let seg = net.add_segment(config);
        let ports = (1..=ports).map(|n| net.add_port(seg, mac(n))).collect();
        (net, ports)
    }

    #[test]
    fn ping_pong_round_trips_take_two_latencies() {
        let config = LinkConfig::default().with_unlimited_bandwidth().with_latency(Duration::from_micros(50));
        let (mut net, ports) = lan(config, 2);
        let mut pinger = Pinger::new(ports[0], mac(1), mac(2));
        let mut echo = Echo { port: ports[1], echoed: 0 };
        let deadline = Instant::from_secs(1);
        let done = net.run_until(&mut [&mut pinger, &mut echo], deadline, |_| false);
        assert!(!done);
        assert_eq!(net.now(), deadline);
        assert_eq!(pinger.rtts.len(), 10_000);
        assert!(pinger.rtts.iter().all(|&rtt| rtt == Duration::from_micros(100)));
        assert_eq!(echo.echoed, 10_000);
    }

    #[test]
    fn run_until_stops_when_done() {
        let (mut net, ports) = lan(LinkConfig::default().with_unlimited_bandwidth(), 2);
        let mut pinger = Pinger::new(ports[0], mac(1), mac(2));
        let mut echo = Echo { port: ports[1], echoed: 0 };
        let mut checks = 0;
        let done = net.run_until(&mut [&mut pinger, &mut echo], Instant::from_secs(1), |_| {
            checks += 1;
            checks > 7
        });
        assert!(done);
        // Checked before the first poll, then after each round: rounds at 0, 10, 20 ... µs.
        assert_eq!(net.now(), Instant::from_micros(60));
        assert_eq!(pinger.rtts.len(), 3);
    }

    #[test]
    fn hosts_are_polled_at_their_deadlines_and_arrivals() {
        // 125 bytes at 100 Mbit/s: 10 µs serialisation, then 5 µs latency.
        let config =
            LinkConfig::default().with_bandwidth_bps(100_000_000).with_latency(Duration::from_micros(5));
        let (mut net, ports) = lan(config, 2);
        let mut sender = Sender::new(ports[0], mac(1), mac(2), 5);
        sender.len = 125;
        sender.interval = Duration::from_micros(100);
        let mut receiver = Receiver::new(ports[1]);
        assert!(net.run_until_idle(&mut [&mut sender, &mut receiver], Instant::from_secs(1)));
        let expected: Vec<(Instant, u32)> =
            (0..5).map(|k| (Instant::from_micros(100 * k as u64 + 15), k)).collect();
        assert_eq!(receiver.received, expected);
        assert_eq!(net.now(), Instant::from_micros(415));
        assert!(!net.step(&mut [&mut sender, &mut receiver]), "nothing left to do");
        assert_eq!(net.now(), Instant::from_micros(415));
    }

    #[test]
    fn run_until_idle_gives_up_at_the_deadline() {
        let (mut net, ports) = lan(LinkConfig::default(), 2);
        let mut sender = Sender::new(ports[0], mac(1), mac(2), u32::MAX);
        let mut receiver = Receiver::new(ports[1]);
        assert!(!net.run_until_idle(&mut [&mut sender, &mut receiver], Instant::from_millis(1)));
        assert_eq!(net.now(), Instant::from_millis(1));
        // Sent at 0, 10, ... 1000 µs; the last ones are still in flight.
        assert_eq!(sender.next_seq, 101);
        assert_eq!(receiver.received.len(), 99);
    }

    #[test]
    fn zero_latency_round_trips_happen_in_zero_time() {
        let config = LinkConfig::default().with_unlimited_bandwidth().with_latency(Duration::ZERO);
        let (mut net, ports) = lan(config, 2);
        let mut pinger = Pinger::new(ports[0], mac(1), mac(2));
        let mut echo = Echo { port: ports[1], echoed: 0 };
        // Round 1: the ping is sent (and arrives at once); then each round trip takes two
        // rounds, the echo replying in one and the pinger reading it (and pinging) in the next.
        for _ in 0..11 {
            assert!(net.step(&mut [&mut pinger, &mut echo]));
        }
        assert_eq!(net.now(), Instant::ZERO);
        assert_eq!(pinger.rtts, [Duration::ZERO; 5]);
    }

    /// A host that always wants to be polled again at once.
    struct Spinner {
        port: PortId,
        polls: u32,
    }

    impl Host for Spinner {
        fn port(&self) -> PortId {
            self.port
        }
        fn poll(&mut self, _now: Instant, _device: &mut SimDevice) {
            self.polls += 1;
        }
        fn poll_at(&self, now: Instant) -> Option<Instant> {
            Some(now)
        }
    }

    #[test]
    fn endless_immediate_polls_cannot_stall_time() {
        let (mut net, ports) = lan(LinkConfig::default(), 1);
        let mut spinner = Spinner { port: ports[0], polls: 0 };
        let done = net.run_until(&mut [&mut spinner], Instant::from_micros(3), |_| false);
        assert!(!done);
        assert_eq!(net.now(), Instant::from_micros(3));
        // MAX + 1 polls at each of 0, 1, 2 and 3 µs; the push to 4 µs passes the deadline.
        assert_eq!(spinner.polls, 4 * (MAX_ZERO_TIME_ROUNDS + 1));
    }
}
