//! The asking side: finding a serving process and fetching its [`Snapshot`].

use std::fs;
use std::io::{self, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::protocol::{read_line, Line, Request, Resource, Response, MAX_RESPONSE_BYTES};
use super::{ControlError, Snapshot};

/// How long a client waits for the server to take the request and answer it.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `path`, asks for a snapshot and returns it.
pub fn fetch(path: &Path) -> Result<Snapshot, ControlError> {
    let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
            ControlError::NotServing { path: path.to_owned() }
        }
        _ => ControlError::io("cannot connect to", path, e),
    })?;
    let io_error = |e| ControlError::io("lost the connection to", path, e);
    stream.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(io_error)?;
    stream.set_write_timeout(Some(REPLY_TIMEOUT)).map_err(io_error)?;
    let mut request = serde_json::to_vec(&Request { get: Resource::Snapshot }).expect("a request serialises");
    request.push(b'\n');
    (&stream).write_all(&request).map_err(io_error)?;
    let bad_reply = |detail: String| ControlError::BadReply { path: path.to_owned(), detail };
    let line = match read_line(&mut BufReader::new(&stream), MAX_RESPONSE_BYTES).map_err(io_error)? {
        Line::Complete(line) => line,
        Line::End => return Err(bad_reply("it closed the connection without answering".into())),
        Line::TooLong => {
            return Err(bad_reply(format!("the reply is longer than {MAX_RESPONSE_BYTES} bytes")))
        }
    };
    match serde_json::from_slice::<Response>(&line) {
        Ok(Response::Snapshot(snapshot)) => Ok(snapshot),
        Ok(Response::Error(message)) => Err(ControlError::Refused { path: path.to_owned(), message }),
        Err(e) => Err(bad_reply(e.to_string())),
    }
}

/// The control socket to read: `control` if given, else `<dir>/<iface>.sock`, else the
/// only live control socket in `dir` (normally [`super::CONTROL_DIR`], where
/// [`super::socket_path`] puts them).
pub fn discover(dir: &Path, control: Option<&Path>, iface: Option<&str>) -> Result<PathBuf, ControlError> {
    if let Some(control) = control {
        return Ok(control.to_owned());
    }
    if let Some(iface) = iface {
        return Ok(dir.join(format!("{iface}.sock")));
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ControlError::NoneRunning { dir: dir.to_owned() });
        }
        Err(e) => return Err(ControlError::io("cannot list", dir, e)),
    };
    let mut live = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ControlError::io("cannot list", dir, e))?;
        let path = entry.path();
        let is_socket = entry.file_type().is_ok_and(|t| t.is_socket());
        // A socket nobody answers on was left by a process that died.
        if is_socket
            && path.extension().is_some_and(|ext| ext == "sock")
            && UnixStream::connect(&path).is_ok()
        {
            live.push(path);
        }
    }
    live.sort();
    match live.len() {
        0 => Err(ControlError::NoneRunning { dir: dir.to_owned() }),
        1 => Ok(live.remove(0)),
        _ => Err(ControlError::Ambiguous {
            ifaces: live
                .iter()
                .filter_map(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
                .collect(),
        }),
    }
}
