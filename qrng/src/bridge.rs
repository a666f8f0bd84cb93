//! The entropy bridge: one process owns the devices (a serial port has one reader, an HTTP
//! quota is per host) and serves conditioned seeds to module instances over a Unix socket.
//! Owns the wire protocol, the server and the client source; never serves a byte that did not
//! come out of the chain (health-tested and conditioned), and never serves OS RNG output as
//! if it were device entropy.
//!
//! Wire format (all integers big-endian):
//! request  `b"PQRB" | version 1 | op | len: u16` — op 1 = entropy (len 1..=1024 bytes),
//!          op 2 = status (len 0);
//! response `b"PQRB" | code | origin_len: u8 | origin | payload_len: u32 | payload` — code 0 =
//!          ok, 1 = no device can serve now (payload: reason), 2 = bad request (payload: reason).
//!          Status answers carry the chain's JSON status.

use crate::chain::{Chain, ChainStatus};
use crate::sources::Source;
use crate::{Error, Result};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const MAGIC: &[u8; 4] = b"PQRB";
const VERSION: u8 = 1;
const OP_ENTROPY: u8 = 1;
const OP_STATUS: u8 = 2;
const CODE_OK: u8 = 0;
const CODE_NOT_READY: u8 = 1;
const CODE_BAD_REQUEST: u8 = 2;
/// Largest entropy request served at once.
pub const MAX_REQUEST: usize = 1024;
/// What a module asks for at once: one conditioned seed's worth of input, so the bridge
/// spends device entropy only on demand.
const CLIENT_READ: usize = 128;
const MAX_CLIENTS: usize = 64;
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_STATUS: usize = 1 << 20;

struct Shared {
    chain: Mutex<Chain>,
    status: Mutex<ChainStatus>,
    stop: AtomicBool,
    clients: AtomicUsize,
}

/// A bound bridge socket, not yet serving.
pub struct BridgeServer {
    listener: UnixListener,
    path: PathBuf,
    shared: Arc<Shared>,
}

/// A bridge serving on its own thread; dropping it stops the server.
pub struct BridgeHandle {
    path: PathBuf,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl BridgeServer {
    /// Bind `path` (mode 0660; a stale socket nobody answers on is replaced).
    pub fn bind(path: &Path, chain: Chain) -> io::Result<BridgeServer> {
        if path.exists() {
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("a bridge already serves on {}", path.display()),
                ));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
        let status = chain.status();
        let shared = Arc::new(Shared {
            chain: Mutex::new(chain),
            status: Mutex::new(status),
            stop: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
        });
        Ok(BridgeServer {
            listener,
            path: path.to_path_buf(),
            shared,
        })
    }

    /// Serve until stopped (by a [`BridgeHandle`]) or forever.
    pub fn serve(self) {
        tracing::info!("entropy bridge serving on {}", self.path.display());
        for conn in self.listener.incoming() {
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let stream = match conn {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("bridge accept: {e}");
                    continue;
                }
            };
            if self.shared.clients.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
                self.shared.clients.fetch_sub(1, Ordering::SeqCst);
                tracing::warn!("bridge: more than {MAX_CLIENTS} clients, connection refused");
                continue;
            }
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("pqhsm-bridge-client".into())
                .spawn(move || {
                    if let Err(e) = client_loop(stream, &shared) {
                        tracing::debug!("bridge client: {e}");
                    }
                    shared.clients.fetch_sub(1, Ordering::SeqCst);
                });
            if let Err(e) = spawned {
                tracing::warn!("bridge: cannot start a client thread: {e}");
                self.shared.clients.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// Serve on a background thread.
    pub fn spawn(self) -> io::Result<BridgeHandle> {
        let path = self.path.clone();
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("pqhsm-bridge".into())
            .spawn(move || self.serve())?;
        Ok(BridgeHandle {
            path,
            shared,
            thread: Some(thread),
        })
    }
}

impl BridgeHandle {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The served chain's status.
    pub fn status(&self) -> ChainStatus {
        lock(&self.shared.status).clone()
    }
}

impl Drop for BridgeHandle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
        // Client threads may outlive the server for a moment; the devices must not.
        lock(&self.shared.chain).release_all();
    }
}

fn client_loop(mut s: UnixStream, shared: &Shared) -> io::Result<()> {
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    loop {
        let mut head = [0u8; 8];
        match s.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        if shared.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let len = usize::from(u16::from_be_bytes([head[6], head[7]]));
        if &head[..4] != MAGIC || head[4] != VERSION {
            write_response(
                &mut s,
                CODE_BAD_REQUEST,
                "",
                b"not a pqhsm bridge request (v1)",
            )?;
            return Ok(());
        }
        match head[5] {
            OP_ENTROPY if (1..=MAX_REQUEST).contains(&len) => {
                let (code, origin, payload) = serve_entropy(shared, len);
                write_response(&mut s, code, &origin, &payload)?;
            }
            OP_STATUS => {
                let json = serde_json::to_vec(&*lock(&shared.status)).unwrap_or_default();
                write_response(&mut s, CODE_OK, "", &json)?;
            }
            _ => {
                let msg = format!("bad request: op {} length {len}", head[5]);
                write_response(&mut s, CODE_BAD_REQUEST, "", msg.as_bytes())?;
            }
        }
    }
}

/// `len` bytes of conditioned device entropy, or the reason there is none.
fn serve_entropy(shared: &Shared, len: usize) -> (u8, String, zeroize::Zeroizing<Vec<u8>>) {
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(len));
    let mut chain = lock(&shared.chain);
    let mut origin = String::new();
    let mut failure = None;
    while out.len() < len {
        match chain.device_seed() {
            Ok(seed) => {
                let take = (len - out.len()).min(seed.bytes().len());
                out.extend_from_slice(&seed.bytes()[..take]);
                origin = seed.origin().source.clone();
            }
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    *lock(&shared.status) = chain.status();
    match failure {
        Some(reason) => (
            CODE_NOT_READY,
            String::new(),
            zeroize::Zeroizing::new(reason.into_bytes()),
        ),
        None => (CODE_OK, origin, out),
    }
}

fn write_response(s: &mut UnixStream, code: u8, origin: &str, payload: &[u8]) -> io::Result<()> {
    let origin = &origin.as_bytes()[..origin.len().min(255)];
    let mut msg = Vec::with_capacity(10 + origin.len() + payload.len());
    msg.extend_from_slice(MAGIC);
    msg.push(code);
    msg.push(origin.len() as u8);
    msg.extend_from_slice(origin);
    msg.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    msg.extend_from_slice(payload);
    s.write_all(&msg)?;
    zeroize::Zeroize::zeroize(&mut msg);
    Ok(())
}

/// One request/response exchange: (code, origin, payload).
fn exchange(s: &mut UnixStream, op: u8, len: u16, max: usize) -> io::Result<(u8, String, Vec<u8>)> {
    let mut req = Vec::with_capacity(8);
    req.extend_from_slice(MAGIC);
    req.extend_from_slice(&[VERSION, op]);
    req.extend_from_slice(&len.to_be_bytes());
    s.write_all(&req)?;
    let mut head = [0u8; 6];
    s.read_exact(&mut head)?;
    if &head[..4] != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a pqhsm bridge",
        ));
    }
    let mut origin = vec![0u8; usize::from(head[5])];
    s.read_exact(&mut origin)?;
    let mut n = [0u8; 4];
    s.read_exact(&mut n)?;
    let n = u32::from_be_bytes(n) as usize;
    if n > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("answer of {n} bytes"),
        ));
    }
    let mut payload = vec![0u8; n];
    s.read_exact(&mut payload)?;
    Ok((
        head[4],
        String::from_utf8_lossy(&origin).into_owned(),
        payload,
    ))
}

fn connect(path: &Path) -> io::Result<UnixStream> {
    let s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

/// The status of the chain a bridge serves from.
pub fn query_status(path: &Path) -> Result<ChainStatus> {
    let unreachable = |e: io::Error| Error::Unreachable(format!("bridge {}: {e}", path.display()));
    let mut s = connect(path).map_err(unreachable)?;
    let (code, _, payload) = exchange(&mut s, OP_STATUS, 0, MAX_STATUS).map_err(unreachable)?;
    if code != CODE_OK {
        return Err(Error::Rejected(
            String::from_utf8_lossy(&payload).into_owned(),
        ));
    }
    serde_json::from_slice(&payload)
        .map_err(|e| Error::Rejected(format!("bridge {}: bad status: {e}", path.display())))
}

/// A module instance's view of the bridge: a source of conditioned bytes.
pub struct BridgeSource {
    path: PathBuf,
    stream: Option<UnixStream>,
    upstream: Option<String>,
}

impl BridgeSource {
    pub fn new(path: PathBuf) -> BridgeSource {
        BridgeSource {
            path,
            stream: None,
            upstream: None,
        }
    }
}

impl Source for BridgeSource {
    fn name(&self) -> &str {
        "bridge"
    }

    fn kind(&self) -> &'static str {
        "bridge"
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let want = buf.len().min(CLIENT_READ);
        let result = match self.stream.take() {
            Some(s) => Ok(s),
            None => connect(&self.path),
        }
        .and_then(|mut s| {
            let answer = exchange(&mut s, OP_ENTROPY, want as u16, MAX_REQUEST)?;
            Ok((s, answer))
        });
        let (stream, (code, origin, mut payload)) = result
            .map_err(|e| Error::Unreachable(format!("bridge {}: {e}", self.path.display())))?;
        self.stream = Some(stream);
        let text = || String::from_utf8_lossy(&payload).into_owned();
        let out = match code {
            CODE_OK if !payload.is_empty() && payload.len() <= want => {
                buf[..payload.len()].copy_from_slice(&payload);
                self.upstream = Some(origin);
                Ok(payload.len())
            }
            CODE_OK => Err(Error::Rejected(format!(
                "bridge sent {} bytes",
                payload.len()
            ))),
            CODE_NOT_READY => Err(Error::NotReady(format!("bridge: {}", text()))),
            _ => Err(Error::Rejected(format!("bridge: {}", text()))),
        };
        zeroize::Zeroize::zeroize(&mut payload);
        out
    }

    fn release(&mut self) {
        self.stream = None;
    }

    fn upstream(&self) -> Option<String> {
        self.upstream.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RngConfig;

    #[test]
    fn bad_requests_are_answered_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("b.sock");
        let chain = Chain::devices_only(&RngConfig::default()).unwrap();
        let _server = BridgeServer::bind(&sock, chain).unwrap().spawn().unwrap();
        // A second bridge on the same socket is refused while the first one answers.
        let again = Chain::devices_only(&RngConfig::default()).unwrap();
        assert!(BridgeServer::bind(&sock, again).is_err());

        let mut s = connect(&sock).unwrap();
        let (code, _, msg) = exchange(&mut s, OP_ENTROPY, 5000, MAX_STATUS).unwrap();
        assert_eq!(code, CODE_BAD_REQUEST, "{}", String::from_utf8_lossy(&msg));
        let (code, _, msg) = exchange(&mut s, 9, 0, MAX_STATUS).unwrap();
        assert_eq!(code, CODE_BAD_REQUEST);
        assert!(String::from_utf8_lossy(&msg).contains("op 9"));
        // No device configured: entropy requests are "not ready", never OS output.
        let (code, origin, msg) = exchange(&mut s, OP_ENTROPY, 64, MAX_STATUS).unwrap();
        assert_eq!((code, origin.as_str()), (CODE_NOT_READY, ""));
        assert!(String::from_utf8_lossy(&msg).contains("no device source"));

        let mut raw = connect(&sock).unwrap();
        raw.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut head = [0u8; 5];
        raw.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"PQRB\x02");
    }
}
