//! The serving side: a thread answering snapshot requests on a unix socket.
//!
//! One process serves a path. A lock file next to the socket (`<path>.lock`, held with
//! `flock` for the server's life) tells a second server that the first is alive, and a
//! socket file nobody answers on is a stale one left by a crash and is replaced. Each
//! client gets its own thread, up to [`MAX_CLIENTS`] at once (more wait in the listen
//! backlog until one leaves); requests are bounded by [`MAX_REQUEST_BYTES`] and an idle
//! client is dropped after [`CLIENT_IDLE_TIMEOUT`].

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::Shutdown;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::protocol::{read_line, Line, Request, Resource, Response, MAX_REQUEST_BYTES};
use super::{ControlError, Snapshot};

/// Clients served at once; further connections wait to be accepted.
pub const MAX_CLIENTS: usize = 8;

/// A client that sends no complete request for this long is disconnected.
pub const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Input discarded after an oversized request before hanging up regardless.
const DRAIN_LIMIT: u64 = 1 << 20;

/// Permissions of the socket file: the serving user and its group may connect.
const SOCKET_MODE: u32 = 0o660;

/// Where the data comes from: the worker runtime implements it. Called from the control
/// thread (or a client thread) whenever a client asks, so it must not wait long.
pub trait SnapshotSource: Send + Sync {
    fn snapshot(&self) -> Snapshot;
}

/// A running control server; dropping it stops its threads and removes the socket file.
pub struct ControlServer {
    path: PathBuf,
    /// (device, inode) of the socket file we bound, so Drop removes only our own.
    identity: (u64, u64),
    listener: UnixListener,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
    /// Held (locked) for the server's life.
    _lock: File,
}

struct Shared {
    stop: AtomicBool,
    clients: Mutex<Clients>,
    /// Signalled when a client leaves, and on stop.
    client_left: Condvar,
}

#[derive(Default)]
struct Clients {
    next_id: u64,
    /// A second handle on each client's stream, to shut it down on stop.
    streams: HashMap<u64, UnixStream>,
    threads: Vec<JoinHandle<()>>,
}

impl Shared {
    fn clients(&self) -> MutexGuard<'_, Clients> {
        // A client thread that panicked leaves consistent data: the map is only ever
        // updated in single calls.
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ControlServer {
    /// Creates the socket at `path` (and its directory) and starts answering requests.
    ///
    /// Fails with [`ControlError::AlreadyServed`] when another live process serves `path`,
    /// and [`ControlError::NotASocket`] when `path` is some other kind of file. A socket
    /// file left by a process that died is removed and replaced.
    pub fn start(
        path: impl Into<PathBuf>,
        source: Arc<dyn SnapshotSource>,
    ) -> Result<ControlServer, ControlError> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| ControlError::io("cannot create the directory of", &path, e))?;
        }
        let lock = take_lock(&path)?;
        remove_stale_socket(&path)?;
        let listener = UnixListener::bind(&path).map_err(|e| match e.kind() {
            io::ErrorKind::AddrInUse => ControlError::AlreadyServed { path: path.clone() },
            _ => ControlError::io("cannot create the control socket", &path, e),
        })?;
        ControlServer::serve(path.clone(), listener, source, lock).inspect_err(|_| {
            let _ = fs::remove_file(&path);
        })
    }

    /// Finishes setting up the socket bound at `path` and starts the accept thread.
    fn serve(
        path: PathBuf,
        listener: UnixListener,
        source: Arc<dyn SnapshotSource>,
        lock: File,
    ) -> Result<ControlServer, ControlError> {
        let metadata = fs::metadata(&path).map_err(|e| ControlError::io("cannot inspect", &path, e))?;
        let identity = (metadata.dev(), metadata.ino());
        fs::set_permissions(&path, fs::Permissions::from_mode(SOCKET_MODE))
            .map_err(|e| ControlError::io("cannot set the permissions of", &path, e))?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            clients: Mutex::new(Clients::default()),
            client_left: Condvar::new(),
        });
        let accept_listener = listener
            .try_clone()
            .map_err(|e| ControlError::io("cannot share the control socket", &path, e))?;
        let thread_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("sluice-control".into())
            .spawn(move || accept_loop(&accept_listener, &source, &thread_shared))
            .map_err(|e| ControlError::io("cannot start the thread serving", &path, e))?;
        tracing::info!(path = %path.display(), "control socket ready");
        Ok(ControlServer {
            path,
            identity,
            listener,
            shared,
            accept_thread: Some(accept_thread),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for ControlServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlServer").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        {
            // Under the lock, so the accept thread cannot miss the wake-up.
            let _clients = self.shared.clients();
            self.shared.stop.store(true, Ordering::SeqCst);
            self.shared.client_left.notify_all();
        }
        // shutdown(2) on a listening socket wakes the thread blocked in accept(2).
        if let Err(e) = socket2::SockRef::from(&self.listener).shutdown(Shutdown::Both) {
            tracing::warn!(error = %e, "cannot shut down the control socket");
        }
        if let Some(thread) = self.accept_thread.take() {
            let _ = thread.join();
        }
        let threads = {
            let mut clients = self.shared.clients();
            for stream in clients.streams.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut clients.threads)
        };
        for thread in threads {
            let _ = thread.join();
        }
        let ours = fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            if let Err(e) = fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the control socket");
            }
        }
    }
}

/// Locks `<path>.lock`; a lock held elsewhere means a live server.
fn take_lock(path: &Path) -> Result<File, ControlError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| ControlError::io("cannot open the lock file", &lock_path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(ControlError::AlreadyServed { path: path.to_owned() }),
        Err(TryLockError::Error(e)) => Err(ControlError::io("cannot lock", &lock_path, e)),
    }
}

/// Removes a socket file at `path` if nothing answers on it.
fn remove_stale_socket(path: &Path) -> Result<(), ControlError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ControlError::io("cannot inspect", path, e)),
    };
    if !metadata.file_type().is_socket() {
        return Err(ControlError::NotASocket { path: path.to_owned() });
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(ControlError::AlreadyServed { path: path.to_owned() }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing a stale control socket");
            fs::remove_file(path).map_err(|e| ControlError::io("cannot remove the stale socket", path, e))
        }
        Err(e) => Err(ControlError::io("cannot probe the existing socket", path, e)),
    }
}

fn accept_loop(listener: &UnixListener, source: &Arc<dyn SnapshotSource>, shared: &Arc<Shared>) {
    loop {
        {
            let mut clients = shared.clients();
            while clients.streams.len() >= MAX_CLIENTS && !shared.stop.load(Ordering::SeqCst) {
                clients = shared.client_left.wait(clients).unwrap_or_else(PoisonError::into_inner);
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) => admit(stream, source, shared),
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => {}
            Err(e) => {
                // Out of descriptors or memory: wait rather than spin, then carry on.
                tracing::warn!(error = %e, "control socket accept failed");
                thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Starts a thread for a new client (the accept loop keeps their number bounded).
fn admit(stream: UnixStream, source: &Arc<dyn SnapshotSource>, shared: &Arc<Shared>) {
    let mut clients = shared.clients();
    let (finished, running): (Vec<_>, Vec<_>) =
        std::mem::take(&mut clients.threads).into_iter().partition(|t| t.is_finished());
    clients.threads = running;
    for thread in finished {
        let _ = thread.join();
    }
    let Ok(handle) = stream.try_clone() else { return };
    let id = clients.next_id;
    clients.next_id += 1;
    clients.streams.insert(id, handle);
    let source = Arc::clone(source);
    let thread_shared = Arc::clone(shared);
    let spawned = thread::Builder::new().name("sluice-control-client".into()).spawn(move || {
        // Frees the slot even if the snapshot source panics.
        let _slot = ClientSlot { shared: &thread_shared, id };
        serve_client(&stream, &*source, &thread_shared.stop);
    });
    match spawned {
        Ok(thread) => clients.threads.push(thread),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start a control client thread");
            clients.streams.remove(&id);
        }
    }
}

/// A served client's place in [`Clients`], given up when its thread ends.
struct ClientSlot<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for ClientSlot<'_> {
    fn drop(&mut self) {
        self.shared.clients().streams.remove(&self.id);
        self.shared.client_left.notify_all();
    }
}

/// Answers requests from one client until it hangs up, idles or misbehaves.
fn serve_client(stream: &UnixStream, source: &dyn SnapshotSource, stop: &AtomicBool) {
    if stream.set_read_timeout(Some(CLIENT_IDLE_TIMEOUT)).is_err()
        || stream.set_write_timeout(Some(CLIENT_IDLE_TIMEOUT)).is_err()
    {
        return;
    }
    let mut reader = BufReader::new(stream);
    while !stop.load(Ordering::SeqCst) {
        let response = match read_line(&mut reader, MAX_REQUEST_BYTES) {
            Ok(Line::Complete(line)) => answer(&line, source),
            Ok(Line::TooLong) => {
                let message = format!("request longer than {MAX_REQUEST_BYTES} bytes");
                let _ = write_response(stream, &Response::Error(message));
                // Closing a unix socket with input unread resets it, and the client
                // would never see the answer: hang up our side, then discard the rest.
                let _ = stream.shutdown(Shutdown::Write);
                let _ = io::copy(&mut (&mut reader).take(DRAIN_LIMIT), &mut io::sink());
                return;
            }
            Ok(Line::End) | Err(_) => return,
        };
        if write_response(stream, &response).is_err() {
            return;
        }
    }
}

fn answer(line: &[u8], source: &dyn SnapshotSource) -> Response {
    match serde_json::from_slice::<Request>(line) {
        Ok(Request { get: Resource::Snapshot }) => Response::Snapshot(source.snapshot()),
        Err(e) => Response::Error(format!("not a valid request ({e}); send {{\"get\":\"snapshot\"}}")),
    }
}

fn write_response(stream: &UnixStream, response: &Response) -> io::Result<()> {
    let mut writer = BufWriter::with_capacity(64 * 1024, stream);
    serde_json::to_writer(&mut writer, response)?;
    writer.write_all(b"\n")?;
    writer.flush()
}
