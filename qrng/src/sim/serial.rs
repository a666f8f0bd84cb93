//! A serial QRNG on a pseudo terminal: the simulator writes the noise into the master side,
//! the source under test opens the slave through a stable symlink (so an unplug and replug,
//! which makes a new pty, keeps the configured path). Owns the pty; never touches a real
//! serial device.

use super::{Fault, Generator};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How the simulated device behaves.
#[derive(Debug, Clone)]
pub struct SerialOptions {
    pub fault: Fault,
    /// Stream only after the host writes this (OneRNG's "cmdO").
    pub start_command: Option<String>,
    /// With [`Fault::Disconnect`]: unplug after this many bytes were written into the pty
    /// (bytes buffered before the host opened and flushed the port count too), replug after `replug_after`
    /// as a good device.
    pub disconnect_after: u64,
    pub replug_after: Duration,
    /// With [`Fault::Slow`]: one byte per this interval.
    pub slow_interval: Duration,
}

impl Default for SerialOptions {
    fn default() -> Self {
        SerialOptions {
            fault: Fault::Good,
            start_command: None,
            disconnect_after: 4096,
            replug_after: Duration::from_millis(200),
            slow_interval: Duration::from_millis(20),
        }
    }
}

/// A running simulated serial QRNG.
pub struct SerialSim {
    link: PathBuf,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    replugs: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

struct Pty {
    master: File,
    _slave: OwnedFd,
    name: PathBuf,
}

impl Pty {
    fn open() -> io::Result<Pty> {
        let (mut master, mut slave) = (-1, -1);
        // SAFETY: openpty writes two descriptors into the given ints; name, termios and
        // winsize may be null.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just returned by openpty and are owned here alone.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: `name` is a writable buffer of the length passed.
        let rc = unsafe { libc::ttyname_r(slave.as_raw_fd(), name.as_mut_ptr(), name.len()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: ttyname_r succeeded, so `name` holds a NUL-terminated string.
        let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
        let name = PathBuf::from(name.to_string_lossy().into_owned());
        // SAFETY: termios is plain data; tcgetattr fills it from a valid tty descriptor, and
        // fcntl only changes flags of a descriptor owned here.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(slave.as_raw_fd(), &mut t) == 0 {
                // Raw before anyone opens it: no echo, no CR/LF translation of the noise.
                libc::cfmakeraw(&mut t);
                libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
            }
            let flags = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        Ok(Pty {
            master,
            _slave: slave,
            name,
        })
    }
}

fn link(pty: &Pty, link: &Path) -> io::Result<()> {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(&pty.name, link)
}

impl SerialSim {
    /// Start the device; the host opens `link_path` (a symlink to the current pty).
    pub fn start(link_path: &Path, opts: SerialOptions) -> io::Result<SerialSim> {
        let pty = Pty::open()?;
        link(&pty, link_path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let replugs = Arc::new(AtomicU64::new(0));
        let (s, w, r, l) = (
            stop.clone(),
            written.clone(),
            replugs.clone(),
            link_path.to_path_buf(),
        );
        let thread = std::thread::Builder::new()
            .name("qrng-sim-serial".into())
            .spawn(move || run(pty, &l, opts, &s, &w, &r))?;
        Ok(SerialSim {
            link: link_path.to_path_buf(),
            stop,
            written,
            replugs,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.link
    }

    /// Bytes written into the pty so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Times the device was unplugged and plugged back in.
    pub fn replugs(&self) -> u64 {
        self.replugs.load(Ordering::SeqCst)
    }
}

impl Drop for SerialSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.link);
    }
}

fn run(
    mut pty: Pty,
    link_path: &Path,
    opts: SerialOptions,
    stop: &AtomicBool,
    written: &AtomicU64,
    replugs: &AtomicU64,
) {
    let mut fault = opts.fault;
    let mut gen = Generator::new(fault);
    let mut waiting = opts.start_command.clone().map(String::into_bytes);
    let mut heard = Vec::new();
    let mut chunk = [0u8; 256];
    let pause = Duration::from_millis(2);
    while !stop.load(Ordering::SeqCst) {
        if let Some(cmd) = &waiting {
            let mut b = [0u8; 64];
            match pty.master.read(&mut b) {
                Ok(n) if n > 0 => heard.extend_from_slice(&b[..n]),
                _ => std::thread::sleep(pause),
            }
            if heard.windows(cmd.len()).any(|w| w == cmd.as_slice()) {
                waiting = None;
            }
            continue;
        }
        if fault == Fault::Disconnect && written.load(Ordering::SeqCst) >= opts.disconnect_after {
            drop(pty);
            let _ = std::fs::remove_file(link_path);
            std::thread::sleep(opts.replug_after);
            pty = match Pty::open().and_then(|p| link(&p, link_path).map(|()| p)) {
                Ok(p) => p,
                Err(_) => return,
            };
            replugs.fetch_add(1, Ordering::SeqCst);
            fault = Fault::Good;
            gen = Generator::new(fault);
            continue;
        }
        let len = if fault == Fault::Slow { 1 } else { chunk.len() };
        gen.fill(&mut chunk[..len]);
        let mut off = 0;
        while off < len && !stop.load(Ordering::SeqCst) {
            match pty.master.write(&chunk[off..len]) {
                Ok(n) => {
                    off += n;
                    written.fetch_add(n as u64, Ordering::SeqCst);
                }
                // Nobody reads, or the reader is slower: wait for room.
                Err(_) => std::thread::sleep(pause),
            }
        }
        if fault == Fault::Slow {
            std::thread::sleep(opts.slow_interval);
        }
    }
}
