//! An in-worker [`Handler`] run as an [`App`] on any host that polls apps (the
//! simulator's [`StackHost`](crate::sim::StackHost)), so the services the workers run can
//! be tested on virtual time: the same callbacks in the same order as on a worker.

use super::handler::{dispatch_event, Ctx, Handler};
use super::App;
use crate::socket::{Readiness, SocketHandle, SocketSet};
use crate::time::Instant;

/// `handler` on one host's sockets, as worker 0.
#[derive(Debug)]
pub struct HandlerApp<H> {
    pub handler: H,
    started: bool,
    events: Vec<(SocketHandle, Readiness)>,
    connecting: Vec<SocketHandle>,
    closed_now: Vec<SocketHandle>,
}

impl<H: Handler> HandlerApp<H> {
    pub fn new(handler: H) -> HandlerApp<H> {
        HandlerApp {
            handler,
            started: false,
            events: Vec::new(),
            connecting: Vec::new(),
            closed_now: Vec::new(),
        }
    }
}

impl<H: Handler> App for HandlerApp<H> {
    /// `start` on the first poll (a failure panics: a test setup error), then the events
    /// and the handler's own poll, as one worker iteration does.
    fn poll(&mut self, now: Instant, sockets: &mut SocketSet) {
        let mut ctx = Ctx {
            sockets,
            now,
            worker: 0,
            connecting: &mut self.connecting,
            closed_now: &mut self.closed_now,
        };
        if !self.started {
            self.started = true;
            if let Err(err) = self.handler.start(&mut ctx) {
                panic!("the handler failed to start: {err}");
            }
        }
        ctx.sockets.take_events(&mut self.events);
        for (handle, readiness) in self.events.drain(..) {
            dispatch_event(&mut self.handler, &mut ctx, handle, readiness);
        }
        ctx.closed_now.clear();
        self.handler.poll(&mut ctx);
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        if !self.started {
            return Some(now);
        }
        self.handler.poll_at(now)
    }
}
