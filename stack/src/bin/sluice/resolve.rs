//! `sluice resolve`: a DNS lookup through Sluice's stub resolver on AF_XDP.

use std::net::Ipv4Addr as StdIpv4Addr;

use anyhow::{bail, Result};
use clap::Args;
use crossbeam_channel::Sender;
use sluice::dns::{DnsError, QueryHandle, Resolver, ResolverConfig};
use sluice::socket::{SocketError, SocketHandle};
use sluice::time::Instant;
use sluice::wire::Ipv4Addr;
use sluice::worker::{Ctx, Handler};

use crate::datapath::{Datapath, LinkOptions};

#[derive(Args, Debug)]
pub struct Options {
    /// The name to look up.
    pub name: String,
    /// The DNS server to ask.
    #[arg(long, value_name = "IP")]
    pub server: StdIpv4Addr,
    #[command(flatten)]
    pub link: LinkOptions,
}

/// Runs one lookup on worker 0 and reports its result.
struct Lookup {
    name: String,
    server: Ipv4Addr,
    resolver: Option<(Resolver, QueryHandle)>,
    done: Option<Sender<Result<Vec<Ipv4Addr>, DnsError>>>,
}

impl Handler for Lookup {
    fn start(&mut self, ctx: &mut Ctx<'_>) -> Result<(), SocketError> {
        let seed = u64::from(std::process::id()) ^ ctx.now().total_micros();
        let config = ResolverConfig::new(vec![self.server]);
        let mut resolver = match Resolver::new(ctx.sockets(), config, seed) {
            Ok(resolver) => resolver,
            Err(err) => {
                if let Some(done) = self.done.take() {
                    let _ = done.send(Err(err));
                }
                return Ok(());
            }
        };
        match resolver.start(&self.name) {
            Ok(query) => self.resolver = Some((resolver, query)),
            Err(err) => {
                if let Some(done) = self.done.take() {
                    let _ = done.send(Err(err));
                }
            }
        }
        Ok(())
    }

    fn on_readable(&mut self, _ctx: &mut Ctx<'_>, _conn: SocketHandle) {}

    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some((resolver, query)) = &mut self.resolver else { return };
        resolver.poll(now, ctx.sockets());
        if let Some(result) = resolver.take_result(*query) {
            if let Some(done) = self.done.take() {
                let _ = done.send(result);
            }
        }
    }

    fn poll_at(&self, now: Instant) -> Option<Instant> {
        self.resolver.as_ref().and_then(|(resolver, _)| resolver.poll_at(now))
    }
}

pub fn run(options: &Options) -> Result<()> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let server = Ipv4Addr::from(options.server.octets());
    let mut tx = Some(tx);
    let datapath = Datapath::start(&options.link, |worker| Lookup {
        name: options.name.clone(),
        server,
        resolver: None,
        done: if worker == 0 { tx.take() } else { None },
    })?;
    let result = rx.recv_timeout(std::time::Duration::from_secs(30));
    drop(datapath);
    match result {
        Ok(Ok(addrs)) => {
            for addr in addrs {
                println!("{addr}");
            }
            Ok(())
        }
        Ok(Err(err)) => bail!("looking up {:?} at {}: {err}", options.name, options.server),
        Err(_) => bail!("looking up {:?} at {}: no result within 30 s", options.name, options.server),
    }
}
