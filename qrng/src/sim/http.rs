//! An HTTP QRNG on 127.0.0.1 (plain, or HTTPS with a given certificate): answers
//! `GET ...?length=N` in the ANU JSON style or as raw octets, with the fault modes of [`Fault`]. A test fixture with a deliberately tiny
//! HTTP/1.1 responder (one request per connection), so that it can lie, stall and cut
//! answers in ways a real server library would not; never binds beyond loopback.

use super::{Fault, Generator, Malformed};
use crate::config::HttpFormat;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the simulated service behaves.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub format: HttpFormat,
    pub fault: Fault,
    /// Required value of the `x-api-key` header; `None` accepts any request.
    pub api_key: Option<String>,
    /// With [`Fault::Slow`]: pause between two body bytes.
    pub slow_interval: Duration,
    /// Serve HTTPS with this certificate chain and key (PEM), as `https://localhost:PORT`.
    pub tls: Option<TlsIdentity>,
}

/// A server certificate chain and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct TlsIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

fn tls_config(id: &TlsIdentity) -> io::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad =
        |e: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidInput, e.to_string());
    let certs = CertificateDer::pem_slice_iter(id.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    let key = PrivateKeyDer::from_pem_slice(id.key_pem.as_bytes()).map_err(|e| bad(&e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad(&e))?;
    Ok(Arc::new(config))
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            format: HttpFormat::AnuJson,
            fault: Fault::Good,
            api_key: None,
            slow_interval: Duration::from_millis(100),
            tls: None,
        }
    }
}

/// A running simulated HTTP QRNG.
pub struct HttpSim {
    addr: SocketAddr,
    tls: bool,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl HttpSim {
    pub fn start(opts: HttpOptions) -> io::Result<HttpSim> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let (s, r) = (stop.clone(), requests.clone());
        let gen = Arc::new(Mutex::new(Generator::new(opts.fault)));
        let tls = opts.tls.as_ref().map(tls_config).transpose()?;
        let is_tls = tls.is_some();
        let thread = std::thread::Builder::new()
            .name("qrng-sim-http".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if s.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    r.fetch_add(1, Ordering::SeqCst);
                    let (opts, gen, s, tls) = (opts.clone(), gen.clone(), s.clone(), tls.clone());
                    std::thread::spawn(move || {
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = match tls.map(rustls::ServerConnection::new) {
                            None => answer(conn, &opts, &gen, &s),
                            Some(Ok(server)) => {
                                let mut stream = rustls::StreamOwned::new(server, conn);
                                let result = answer(&mut stream, &opts, &gen, &s);
                                stream.conn.send_close_notify();
                                let _ = stream.flush();
                                result
                            }
                            Some(Err(_)) => Ok(()),
                        };
                    });
                }
            })?;
        Ok(HttpSim {
            addr,
            tls: is_tls,
            stop,
            requests,
            thread: Some(thread),
        })
    }

    /// The service URL asking for `length` uint8 values.
    pub fn url(&self, length: usize) -> String {
        let path = format!("/API/jsonI.php?length={length}&type=uint8");
        match self.tls {
            true => format!("https://localhost:{}{path}", self.addr.port()),
            false => format!("http://{}{path}", self.addr),
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HttpSim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read the request head; return the `length` query value and whether the key matched.
fn read_request(conn: &mut impl Read, key: Option<&str>) -> io::Result<(usize, bool)> {
    let mut head = Vec::new();
    let mut b = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut b)?;
        if n == 0 || head.len() > 16 * 1024 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad request head",
            ));
        }
        head.extend_from_slice(&b[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let length = target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("length="))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1024)
        .min(1 << 16);
    let key_ok = key.is_none_or(|k| {
        head.lines().any(|l| {
            l.split_once(':')
                .is_some_and(|(name, v)| name.eq_ignore_ascii_case("x-api-key") && v.trim() == k)
        })
    });
    Ok((length, key_ok))
}

fn answer(
    mut conn: impl Read + Write,
    opts: &HttpOptions,
    gen: &Mutex<Generator>,
    stop: &AtomicBool,
) -> io::Result<()> {
    let (length, key_ok) = read_request(&mut conn, opts.api_key.as_deref())?;
    let send = |conn: &mut dyn Write, status: &str, ctype: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        conn.write_all(head.as_bytes())?;
        conn.write_all(body)
    };
    if !key_ok {
        return send(
            &mut conn,
            "401 Unauthorized",
            "application/json",
            br#"{"success":false}"#,
        );
    }
    let mut values = vec![0u8; length];
    gen.lock()
        .unwrap_or_else(|p| p.into_inner())
        .fill(&mut values);
    let json = |vals: &[u8], extra: &str| {
        let list: Vec<String> = vals.iter().map(u8::to_string).collect();
        format!(
            r#"{{"success":true,"type":"uint8","length":{},"data":[{}{extra}]}}"#,
            vals.len(),
            list.join(",")
        )
        .into_bytes()
    };
    let (ctype, body) = match (opts.format, opts.fault) {
        (_, Fault::Malformed(Malformed::Html)) => (
            "text/html",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
        ),
        (_, Fault::Malformed(Malformed::Failure)) => (
            "application/json",
            br#"{"success":false,"message":"quota exceeded"}"#.to_vec(),
        ),
        (HttpFormat::AnuJson, Fault::Malformed(Malformed::Length)) => {
            ("application/json", json(&values[..length / 2], ""))
        }
        (HttpFormat::AnuJson, Fault::Malformed(Malformed::Range)) => {
            let mut body = json(&values[..length - 1], ",256");
            // Keep the advertised length right so only the range check can catch it.
            let fixed = String::from_utf8_lossy(&body).replacen(
                &format!("\"length\":{}", length - 1),
                &format!("\"length\":{length}"),
                1,
            );
            body = fixed.into_bytes();
            ("application/json", body)
        }
        (HttpFormat::Octets, Fault::Malformed(_)) => {
            ("application/octet-stream", values[..length / 2].to_vec())
        }
        (HttpFormat::AnuJson, _) => ("application/json", json(&values, "")),
        (HttpFormat::Octets, _) => ("application/octet-stream", values),
    };
    match opts.fault {
        Fault::Disconnect => {
            // Promise the whole body, send half, hang up.
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes())?;
            conn.write_all(&body[..body.len() / 2])
        }
        Fault::Slow => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            conn.write_all(head.as_bytes())?;
            for b in &body {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                conn.write_all(&[*b])?;
                std::thread::sleep(opts.slow_interval);
            }
            Ok(())
        }
        _ => send(&mut conn, "200 OK", ctype, &body),
    }
}
