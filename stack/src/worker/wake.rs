//! Waking a worker that sleeps in `poll()`: an eventfd it watches beside its queue, and a
//! flag that says whether it sleeps, so busy workers are never woken with a syscall.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug)]
pub struct Waker {
    fd: OwnedFd,
    sleeping: AtomicBool,
}

impl Waker {
    pub fn new() -> io::Result<Waker> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor
        // that we own from here on.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` is a fresh descriptor nobody else owns.
        Ok(Waker { fd: unsafe { OwnedFd::from_raw_fd(fd) }, sleeping: AtomicBool::new(false) })
    }

    /// Called by anyone who just gave the worker work (a command, a frame).
    pub fn wake(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to our eventfd. A full counter
            // (EAGAIN) already means "awake", so the result needs no check.
            unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        }
    }

    /// Announces that the worker is about to sleep; it must look for work once more
    /// after this and before sleeping, so a wake between the two is not lost.
    pub fn prepare_sleep(&self) {
        self.sleeping.store(true, Ordering::SeqCst);
    }

    /// The worker is awake again: drains the eventfd.
    pub fn woke(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our non-blocking eventfd.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Sleeps until one of `fds` is readable or `timeout_ms` passes (-1: no timeout).
pub fn poll_readable(fds: &[RawFd], timeout_ms: i32) {
    let mut pollfds: [libc::pollfd; 2] = [libc::pollfd { fd: -1, events: 0, revents: 0 }; 2];
    for (slot, &fd) in pollfds.iter_mut().zip(fds) {
        *slot = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    }
    let n = fds.len().min(2) as libc::nfds_t;
    // SAFETY: `pollfds` is a live array of at least `n` entries.
    unsafe { libc::poll(pollfds.as_mut_ptr(), n, timeout_ms) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_while_sleeping_ends_the_poll() {
        let waker = std::sync::Arc::new(Waker::new().unwrap());
        waker.prepare_sleep();
        let other = waker.clone();
        let t = std::thread::spawn(move || other.wake());
        poll_readable(&[waker.fd()], 5_000);
        waker.woke();
        t.join().unwrap();
    }
}
