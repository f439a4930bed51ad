//! A one-shot timer with nanosecond resolution that an epoll loop can wait on: a Linux
//! timerfd (timerfd_create(2)) on CLOCK_MONOTONIC, the clock behind [`std::time::Instant`].
//!
//! epoll_wait's own timeout counts whole milliseconds; an open-loop client sending every
//! 50 µs needs finer wake-ups, and spinning instead would lose the core to other work on
//! a busy machine (the scheduler punishes a thread that never sleeps).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use mio::unix::SourceFd;

#[derive(Debug)]
pub struct Timer {
    fd: OwnedFd,
    /// The raw descriptor, for [`SourceFd`] (which borrows a `RawFd`).
    raw: RawFd,
}

impl Timer {
    /// A disarmed, non-blocking timer.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a new descriptor
        // that nothing else owns.
        let fd =
            unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        Ok(Timer { fd: unsafe { OwnedFd::from_raw_fd(fd) }, raw: fd })
    }

    /// Fires once, `after` from now (at once if zero), replacing any earlier setting.
    pub fn arm(&self, after: Duration) -> io::Result<()> {
        // A zero it_value would disarm the timer: fire after 1 ns instead.
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec {
                tv_sec: after.as_secs().try_into().unwrap_or(libc::time_t::MAX),
                tv_nsec: after.subsec_nanos().into(),
            },
        };
        // SAFETY: `spec` is a valid itimerspec for the call's duration; the old value is not
        // asked for (null).
        let result = unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if result < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes an expiry so the descriptor stops being readable.
    pub fn clear(&self) -> io::Result<()> {
        let mut expirations = 0u64;
        // SAFETY: reads at most 8 bytes into a live u64.
        let n = unsafe {
            libc::read(self.fd.as_raw_fd(), (&mut expirations as *mut u64).cast(), std::mem::size_of::<u64>())
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
        }
        Ok(())
    }

    /// The descriptor, to register with a [`mio::Poll`] for readability.
    pub fn source(&self) -> SourceFd<'_> {
        SourceFd(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use mio::{Events, Interest, Poll, Token};

    use super::*;

    #[test]
    fn fires_once_after_the_delay_and_clears() {
        let mut poll = Poll::new().unwrap();
        let timer = Timer::new().unwrap();
        poll.registry().register(&mut timer.source(), Token(1), Interest::READABLE).unwrap();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        timer.arm(Duration::from_micros(300)).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5))).unwrap();
        assert!(start.elapsed() >= Duration::from_micros(300));
        assert_eq!(events.iter().map(|e| e.token()).collect::<Vec<_>>(), [Token(1)]);
        timer.clear().unwrap();
        poll.poll(&mut events, Some(Duration::from_millis(20))).unwrap();
        assert!(events.is_empty(), "a one-shot timer fired twice");
    }
}
