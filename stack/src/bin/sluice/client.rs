//! `sluice client`: connections through Sluice's blocking API that send a deterministic
//! byte stream to an echo server and verify every byte that comes back.

use core::net::SocketAddrV4;
use std::io::{Read, Write};

use anyhow::{bail, Context, Result};
use clap::Args;
use sluice::worker::{NoHandler, TcpStream};

use crate::datapath::{Datapath, LinkOptions};

#[derive(Args, Debug)]
pub struct Options {
    #[command(flatten)]
    pub link: LinkOptions,
    /// The echo server, IP:PORT.
    #[arg(long, value_name = "IP:PORT")]
    pub connect: SocketAddrV4,
    /// Bytes each connection sends (and expects back).
    #[arg(long, value_name = "N")]
    pub bytes: u64,
    /// Connections at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub connections: u32,
}

/// The byte stream of connection `id`: xorshift64, so any prefix can be regenerated.
struct Pattern(u64);

impl Pattern {
    fn new(id: u32) -> Pattern {
        Pattern((u64::from(id) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for byte in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *byte = self.0 as u8;
        }
    }
}

fn one_connection(
    rt: &sluice::worker::RuntimeHandle,
    id: u32,
    remote: SocketAddrV4,
    bytes: u64,
) -> Result<()> {
    let mut stream =
        TcpStream::connect(rt, remote).with_context(|| format!("connection {id}: connect to {remote}"))?;
    let mut writer = stream.try_clone()?;
    let sender = std::thread::spawn(move || -> Result<()> {
        let mut pattern = Pattern::new(id);
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            pattern.fill(&mut buf[..n]);
            writer.write_all(&buf[..n])?;
            left -= n as u64;
        }
        writer.shutdown_write()?;
        Ok(())
    });
    let mut expected = Pattern::new(id);
    let mut buf = vec![0u8; 64 * 1024];
    let mut want = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    loop {
        let n =
            stream.read(&mut buf).with_context(|| format!("connection {id}: read after {received} bytes"))?;
        if n == 0 {
            break;
        }
        expected.fill(&mut want[..n]);
        if buf[..n] != want[..n] {
            let at = buf[..n].iter().zip(&want[..n]).position(|(a, b)| a != b).unwrap_or(0);
            bail!("connection {id}: byte {} differs from what was sent", received + at as u64);
        }
        received += n as u64;
        if received > bytes {
            bail!("connection {id}: more bytes came back ({received}) than were sent ({bytes})");
        }
    }
    sender.join().map_err(|_| anyhow::anyhow!("connection {id}: the sending thread panicked"))??;
    if received != bytes {
        bail!("connection {id}: {received} of {bytes} bytes came back before end of stream");
    }
    Ok(())
}

pub fn run(options: &Options) -> Result<()> {
    let datapath = Datapath::start(&options.link, |_| NoHandler)?;
    let rt = datapath.handle();
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..options.connections)
        .map(|id| {
            let rt = rt.clone();
            let (remote, bytes) = (options.connect, options.bytes);
            std::thread::spawn(move || one_connection(&rt, id, remote, bytes))
        })
        .collect();
    let mut failures = Vec::new();
    for thread in threads {
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => failures.push(format!("{err:#}")),
            Err(_) => failures.push("a connection thread panicked".to_owned()),
        }
    }
    let elapsed = started.elapsed();
    drop(datapath);
    if !failures.is_empty() {
        bail!(
            "{} of {} connections failed:\n  {}",
            failures.len(),
            options.connections,
            failures.join("\n  ")
        );
    }
    let total = options.bytes * u64::from(options.connections);
    eprintln!(
        "sluice client: {total} bytes each way in {:.2} s ({:.1} Mbit/s each way)",
        elapsed.as_secs_f64(),
        total as f64 * 8.0 / elapsed.as_secs_f64() / 1e6
    );
    println!("ok {} connections {} bytes", options.connections, options.bytes);
    Ok(())
}
