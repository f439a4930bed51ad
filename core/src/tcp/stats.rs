//! TCP counters, in the spirit of Linux's `netstat -s` / `nstat` TcpExt counters.

use core::fmt;

macro_rules! tcp_counters {
    ($($(#[doc = $doc:literal])* $field:ident,)*) => {
        /// Counters across every connection of a stack instance.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct TcpStats {
            $($(#[doc = $doc])* pub $field: u64,)*
        }

        impl TcpStats {
            /// (name, value) for every counter, in declaration order.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> {
                [$((stringify!($field), self.$field),)*].into_iter()
            }
        }
    };
}

tcp_counters! {
    /// Segments received and handed to a connection or listener.
    segments_in,
    /// Segments sent, retransmissions included.
    segments_out,
    /// Data segments sent again (any cause).
    retransmitted_segments,
    /// Fast retransmissions (three duplicate ACKs or SACK loss detection).
    fast_retransmits,
    /// Retransmission timeouts.
    timeouts,
    /// Tail loss probes sent (RFC 8985 §7.3), new data or a retransmission.
    tlp_probes,
    /// Losses a retransmitted tail loss probe repaired by itself (RFC 8985 §7.4).
    tlp_recoveries,
    /// Segments RACK deemed lost by their transmit time (RFC 8985 §6.2).
    rack_losses,
    /// Active opens (connect).
    active_opens,
    /// Passive opens (SYNs accepted by a listener).
    passive_opens,
    /// Connections that reached ESTABLISHED.
    established,
    /// Connections that failed to open (refused, timed out).
    failed_opens,
    /// RSTs sent; those answering segments no socket wants are then rate limited by the
    /// interface, and the ones it suppresses counted as drop `tcp_reset_rate_limited`.
    resets_sent,
    /// RSTs received and acted on.
    resets_received,
    /// Challenge ACKs sent (RFC 5961 §3.2, §4.2, §5.2).
    challenge_acks,
    /// Challenge ACKs not sent: the connection sent an ACK to an invalid segment less than
    /// `invalid_ack_interval` ago (Linux TCPACKSkippedChallenge).
    challenge_acks_limited_connection,
    /// Challenge ACKs not sent: this second's stack-wide budget was spent (RFC 5961 §7).
    challenge_acks_limited_global,
    /// ACKs not sent in reply to a segment outside the window, failing PAWS or
    /// acknowledging data never sent, because the connection sent one less than
    /// `invalid_ack_interval` ago (Linux TCPACKSkippedSeq, TCPACKSkippedPAWS).
    invalid_acks_limited,
    /// Segments outside the receive window (answered with an ACK, then dropped).
    out_of_window,
    /// Segments failing the PAWS check (RFC 7323 §5).
    paws_rejected,
    /// ACKs for data never sent, or too old (RFC 5961 §5).
    bad_acks,
    /// Out-of-order segments queued.
    out_of_order,
    /// Out-of-order segments dropped because the gap limit was reached.
    out_of_order_dropped,
    /// SYNs or handshake-completing ACKs dropped because the accept queue was full
    /// (Linux ListenOverflows).
    listen_overflows,
    /// SYNs dropped because the SYN queue was full and cookies are off (Linux ListenDrops).
    syn_queue_overflows,
    /// SYN-ACKs carrying a SYN cookie (RFC 4987 §3.6; Linux SyncookiesSent).
    syn_cookies_sent,
    /// ACKs returning a valid cookie, each a connection made (Linux SyncookiesRecv).
    syn_cookies_accepted,
    /// ACKs at a listener whose cookie failed the check (Linux SyncookiesFailed).
    syn_cookies_rejected,
    /// SYN-ACKs sent again by the SYN queue's timer.
    synack_retransmits,
    /// Handshakes dropped from the SYN queue after their last SYN-ACK went unanswered.
    half_open_expired,
    /// TIME_WAIT connections freed early because TIME_WAIT was at its limit.
    time_wait_recycled,
    /// Connections reset on close because orphans were at their limit.
    orphans_reset,
    /// Orphans reset because they had not finished closing within the orphan timeout.
    orphans_timed_out,
    /// Connections made with smaller buffers because buffer memory was under pressure.
    memory_pressure_reduced,
    /// SYNs, handshakes and connects refused because buffer memory was at its limit.
    memory_refused,
    /// Segments to a port with no listener (answered with RST).
    no_listener,
    /// Window probes sent (persist timer).
    window_probes,
    /// Keepalive probes sent.
    keepalive_probes,
    /// Connections aborted by keepalive.
    keepalive_timeouts,
    /// Delayed ACKs sent when their timer fired.
    delayed_acks,
    /// TIME_WAIT connections replaced by a new SYN (RFC 6191).
    time_wait_reused,
    /// Segments with bad checksums or malformed headers.
    malformed,
}

impl fmt::Display for TcpStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in self.iter().filter(|&(_, v)| v > 0) {
            writeln!(f, "tcp {name}: {value}")?;
        }
        Ok(())
    }
}
