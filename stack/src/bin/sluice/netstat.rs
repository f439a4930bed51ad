//! `sluice netstat`: the sockets of a running `sluice serve`, read through its control
//! socket ([`sluice::control`]), in the columns of `netstat -ano` plus the send and
//! receive queues and the worker that owns each socket.

use std::io::{self, Write};

use anyhow::{Context, Result};
use clap::Args;

use sluice::control::render::sorted_sockets;
use sluice::control::{fetch, render_netstat};

use crate::stat::Target;

#[derive(Args, Debug)]
pub struct Options {
    #[command(flatten)]
    target: Target,
    /// Print the sockets as a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(options: &Options) -> Result<()> {
    let snapshot = fetch(&options.target.resolve()?)?;
    let text = if options.json {
        let mut json =
            serde_json::to_string(&sorted_sockets(&snapshot)).context("cannot encode the sockets")?;
        json.push('\n');
        json
    } else {
        render_netstat(&snapshot)
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
