//! Invariants of the socket set, checked after every poll: the table and every buffer
//! within their configured limits, and each connection's sequence space consistent
//! (RFC 9293 §3.3.1) and moving only forward.

use std::collections::HashMap;

use sluice_core::socket::{Socket, SocketHandle, SocketSet, TcpSocket};
use sluice_core::tcp::{SeqSnapshot, State};
use sluice_core::wire::SeqNumber;

/// What was last seen of one connection, to check that it only moves forward.
#[derive(Debug, Clone, Copy)]
struct Track {
    local_port: u16,
    remote_port: u16,
    iss: SeqNumber,
    /// Once the peer's SYN is known: its ISN, RCV.NXT and the window's right edge.
    receive: Option<(SeqNumber, SeqNumber, SeqNumber)>,
}

#[derive(Debug, Default)]
pub struct Invariants {
    tracks: HashMap<SocketHandle, Track>,
}

/// The peer's SYN has been received: IRS, RCV.NXT and RCV.ADV mean something.
fn receive_known(s: &SeqSnapshot) -> bool {
    s.state != State::SynSent
        && !(s.state == State::Closed && s.irs == SeqNumber(0) && s.rcv_nxt == SeqNumber(0))
}

impl Invariants {
    /// Checks every socket; `max_sockets` is the table's configured size.
    pub fn check(&mut self, sockets: &SocketSet, max_sockets: usize) {
        assert!(sockets.len() <= max_sockets, "{} sockets in a table of {max_sockets}", sockets.len());
        let mut live = 0;
        let mut seen = Vec::new();
        for (handle, socket) in sockets.iter() {
            live += 1;
            let Socket::Tcp(TcpSocket::Connection(_)) = socket else { continue };
            let Ok(conn) = sockets.connection(handle) else { continue };
            seen.push(handle);
            let config = conn.config();
            let (send_queued, recv_queued) = conn.queued();
            assert!(
                send_queued <= config.send_buffer,
                "{send_queued} bytes queued in a {}-byte send buffer",
                config.send_buffer
            );
            assert!(
                recv_queued <= config.recv_buffer,
                "{recv_queued} bytes queued in a {}-byte receive buffer",
                config.recv_buffer
            );
            let s = conn.seq_snapshot();
            let what = format!("{handle} {} -> {} in {}: {s:?}", conn.local(), conn.remote(), s.state);
            assert!(s.snd_una.le(s.snd_nxt), "SND.UNA beyond SND.NXT on {what}");
            assert!(s.snd_nxt.le(s.snd_max), "SND.NXT beyond SND.MAX on {what}");
            assert!(s.snd_una.ge(s.iss), "SND.UNA before ISS on {what}");
            // In flight: at most the send buffer, the SYN and the FIN.
            assert!(
                s.snd_max - s.snd_una <= config.send_buffer + 2,
                "more in flight than the send buffer holds on {what}"
            );

            let receive = receive_known(&s).then_some((s.irs, s.rcv_nxt, s.rcv_adv));
            let fresh = Track {
                local_port: conn.local().port(),
                remote_port: conn.remote().port(),
                iss: s.iss,
                receive,
            };
            let track = self.tracks.entry(handle).or_insert(fresh);
            let same_endpoints = (track.local_port, track.remote_port, track.iss)
                == (fresh.local_port, fresh.remote_port, fresh.iss);
            // A new handshake may take the same ISS at the same instant (RFC 6528), but it
            // answers another SYN.
            let new_handshake = s.state == State::SynReceived
                && track.receive.map(|(irs, ..)| irs) != receive.map(|(irs, ..)| irs);
            if !same_endpoints || new_handshake {
                // The descriptor was freed and reused for another connection.
                *track = fresh;
                continue;
            }
            match (track.receive, receive) {
                (Some((irs, rcv_nxt, rcv_adv)), Some((new_irs, new_nxt, new_adv))) => {
                    assert_eq!(irs, new_irs, "IRS changed on {what}");
                    assert!(new_nxt.ge(rcv_nxt), "RCV.NXT moved back from {} on {what}", rcv_nxt.0);
                    assert!(
                        new_adv.ge(rcv_adv),
                        "the receive window's right edge moved left from {} on {what} (RFC 9293 §3.8.6)",
                        rcv_adv.0
                    );
                }
                (Some(_), None) => panic!("the peer's SYN was forgotten on {what}"),
                _ => {}
            }
            track.receive = receive;
        }
        assert_eq!(live, sockets.len(), "the table counts {} sockets but holds {live}", sockets.len());
        self.tracks.retain(|handle, _| seen.contains(handle));
    }
}
