//! The handler a worker's [`Stack`](crate::stack::Stack) runs: the blocking API's
//! sockets, then the application's in-worker handler. The blocking API is an owner of
//! sockets like any handler: it looks at each event first and takes those of its own
//! sockets; every other event goes to the application.

use super::blocking_state::BlockingSockets;
use crate::apps::{Ctx, Handler};
use crate::socket::{Readiness, SocketHandle};
use crate::time::Instant;

pub(super) struct WorkerHandler<H> {
    pub blocking: BlockingSockets,
    pub app: H,
    /// Where the blocking API's UDP datagrams are read into.
    udp_buf: Box<[u8]>,
}

impl<H: Handler> WorkerHandler<H> {
    pub fn new(app: H) -> WorkerHandler<H> {
        WorkerHandler {
            blocking: BlockingSockets::default(),
            app,
            udp_buf: vec![0; crate::socket::udp::MAX_PAYLOAD].into_boxed_slice(),
        }
    }
}

impl<H: Handler> Handler for WorkerHandler<H> {
    fn start(&mut self, ctx: &mut Ctx<'_>) -> Result<(), crate::socket::SocketError> {
        self.app.start(ctx)
    }

    fn event(&mut self, ctx: &mut Ctx<'_>, handle: SocketHandle, readiness: Readiness) {
        let worker = ctx.worker();
        if self.blocking.on_event(ctx.sockets(), worker, handle) {
            return;
        }
        if H::EVENTS {
            self.app.event(ctx, handle, readiness);
        }
    }

    fn on_readable(&mut self, ctx: &mut Ctx<'_>, conn: SocketHandle) {
        self.app.on_readable(ctx, conn);
    }

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        self.app.poll(ctx);
        self.blocking.poll_udp(ctx.sockets(), &mut self.udp_buf);
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.app.poll_at(now)
    }

    fn counters(&self, out: &mut Vec<(&'static str, u64)>) {
        self.app.counters(out);
    }
}
