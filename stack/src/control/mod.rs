//! The control channel: how `sluice stat` and `sluice netstat` read a running
//! `sluice serve` (DESIGN.md, principle 6).
//!
//! The serving process runs a [`ControlServer`] on a unix stream socket, by default
//! `/run/sluice/<IF>.sock`. A client writes one JSON request per line (`{"get":"snapshot"}`)
//! and reads one JSON response per line ([`protocol`]). The worker runtime provides the
//! data by implementing [`SnapshotSource`]; [`snapshot`] has the helpers that build a
//! worker's reading from its interface and socket table.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub mod client;
pub mod protocol;
pub mod render;
pub mod server;
pub mod snapshot;
mod table;

pub use client::{discover, fetch};
pub use render::{render_netstat, render_stat};
pub use server::{ControlServer, SnapshotSource};
pub use snapshot::{
    Snapshot, SocketProto, SocketRow, WorkerSnapshot, XdpCountersSnapshot, MODE_COPY, MODE_ZERO_COPY,
};

/// Where control sockets live, one per served interface.
pub const CONTROL_DIR: &str = "/run/sluice";

/// The control socket of the process serving `iface`: `/run/sluice/<iface>.sock`.
pub fn socket_path(iface: &str) -> PathBuf {
    Path::new(CONTROL_DIR).join(format!("{iface}.sock"))
}

/// Errors of the control channel, on either side.
#[derive(Debug, Error)]
pub enum ControlError {
    #[error(
        "no sluice process is serving {}: start `sluice serve --iface IF ...` or pass --control PATH",
        path.display()
    )]
    NotServing { path: PathBuf },
    #[error(
        "another process is already serving {}: stop it first (one `sluice serve` per interface), \
         or give this one another control path",
        path.display()
    )]
    AlreadyServed { path: PathBuf },
    #[error("{} exists and is not a unix socket; remove it or choose another control path", path.display())]
    NotASocket { path: PathBuf },
    #[error(
        "permission denied on {}: run as the user running `sluice serve` (usually root)",
        path.display()
    )]
    PermissionDenied { path: PathBuf },
    #[error(
        "no sluice process is running: {dir} holds no control socket; start `sluice serve --iface IF ...`"
    )]
    NoneRunning { dir: PathBuf },
    #[error(
        "several sluice processes are running ({}): pick one with --iface IF or --control PATH",
        ifaces.join(", ")
    )]
    Ambiguous { ifaces: Vec<String> },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the sluice process at {} sent a reply this program cannot read ({detail}); \
         are `sluice` and the serving process the same version?",
        path.display()
    )]
    BadReply { path: PathBuf, detail: String },
    #[error("the sluice process at {} refused the request: {message}", path.display())]
    Refused { path: PathBuf, message: String },
}

impl ControlError {
    /// An I/O error on `path`, with the failing step named.
    pub(crate) fn io(what: &'static str, path: &Path, source: io::Error) -> ControlError {
        if source.kind() == io::ErrorKind::PermissionDenied {
            return ControlError::PermissionDenied { path: path.to_owned() };
        }
        ControlError::Io { what, path: path.to_owned(), source }
    }
}
