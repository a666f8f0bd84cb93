//! An HTTP QRNG service (ANU-style JSON or raw octets) over rustls. Owns the request, the
//! quota and the checks that reject a lying answer (wrong length, values out of range,
//! `success: false`, an HTML error page, an oversized or slow body) with a reason; never
//! logs the API key, never sends it over plain HTTP except to a loopback address.
//!
//! Requests run on a private current-thread tokio runtime, so `read` blocks the calling
//! thread (the chain's background thread); it must not be called from inside a runtime.

use super::Source;
use crate::config::{HttpConfig, HttpFormat};
use crate::{Error, Result};
use reqwest::Url;
use serde::Deserialize;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The checked URL and the exact number of values each answer must hold.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: Url,
    pub length: usize,
}

impl Endpoint {
    /// Check the configured URL and batch size against each other.
    pub fn parse(cfg: &HttpConfig) -> Result<Endpoint> {
        let name = &cfg.name;
        let url = Url::parse(&cfg.url)
            .map_err(|e| Error::Config(format!("source `{name}`: url `{}`: {e}", cfg.url)))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(Error::Config(format!(
                    "source `{name}`: url must be https:// (plain http only to a loopback address)"
                )))
            }
        }
        let in_url = url
            .query_pairs()
            .find(|(k, _)| k == "length")
            .map(|(_, v)| {
                v.parse::<usize>().map_err(|_| {
                    Error::Config(format!("source `{name}`: url has length={v}, not a number"))
                })
            })
            .transpose()?;
        let length = match (in_url, cfg.batch_size) {
            (Some(u), Some(b)) if u != b => {
                return Err(Error::Config(format!(
                    "source `{name}`: batch_size = {b} but the url asks for length={u}"
                )))
            }
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => 1024,
        };
        if length == 0 || length > 1 << 20 {
            return Err(Error::Config(format!(
                "source `{name}`: batch of {length} values"
            )));
        }
        Ok(Endpoint { url, length })
    }
}

pub struct HttpSource {
    cfg: HttpConfig,
    endpoint: Endpoint,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
    batch: Zeroizing<Vec<u8>>,
    pos: usize,
    last_request: Option<Instant>,
}

impl HttpSource {
    pub fn new(cfg: HttpConfig) -> Result<HttpSource> {
        let endpoint = Endpoint::parse(&cfg)?;
        let timeout = Duration::from_millis(cfg.timeout_ms);
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &cfg.ca_file {
            let bad = |e: &dyn std::fmt::Display| {
                Error::Config(format!(
                    "source `{}`: ca_file {}: {e}",
                    cfg.name,
                    path.display()
                ))
            };
            let pem = std::fs::read(path).map_err(|e| bad(&e))?;
            let ca = reqwest::Certificate::from_pem(&pem).map_err(|e| bad(&e))?;
            builder = builder.add_root_certificate(ca);
        }
        let client = builder
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pqhsm-qrng/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("source `{}`: HTTP client: {e}", cfg.name)))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("source `{}`: runtime: {e}", cfg.name)))?;
        Ok(HttpSource {
            cfg,
            endpoint,
            client,
            rt,
            batch: Zeroizing::new(Vec::new()),
            pos: 0,
            last_request: None,
        })
    }

    fn fetch(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        let mut req = self.client.get(self.endpoint.url.clone());
        if let Some(var) = &self.cfg.api_key_env {
            let key =
                Zeroizing::new(std::env::var(var).map_err(|_| {
                    Error::Unreachable(format!("API key variable {var} is not set"))
                })?);
            let value = Zeroizing::new(format!("{}{}", self.cfg.api_key_prefix, key.as_str()));
            let mut value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| Error::Unreachable(format!("{var} is not a valid header value")))?;
            value.set_sensitive(true);
            req = req.header(self.cfg.api_key_header.as_str(), value);
        }
        let expected = self.endpoint.length;
        let format = self.cfg.format;
        let timeout_ms = self.cfg.timeout_ms;
        let limit = match format {
            HttpFormat::Octets => expected,
            // "255," per value plus room for the envelope.
            HttpFormat::AnuJson => expected * 4 + 4096,
        };
        let body = self.rt.block_on(async move {
            let mut resp = req.send().await.map_err(|e| describe(e, timeout_ms))?;
            let status = resp.status();
            let ctype = resp
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !status.is_success() {
                return Err(Error::Rejected(format!("HTTP status {status}")));
            }
            let wanted = match format {
                HttpFormat::AnuJson => "application/json",
                HttpFormat::Octets => "application/octet-stream",
            };
            if !ctype.starts_with(wanted) {
                let what = if ctype.starts_with("text/html") {
                    "an HTML page"
                } else {
                    "content"
                };
                return Err(Error::Rejected(format!(
                    "{what} of type `{ctype}` where {wanted} was expected"
                )));
            }
            let mut body = Zeroizing::new(Vec::with_capacity(limit.min(1 << 16)));
            while let Some(chunk) = resp.chunk().await.map_err(|e| describe(e, timeout_ms))? {
                if body.len() + chunk.len() > limit {
                    return Err(Error::Rejected(format!("body longer than {limit} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })?;
        match format {
            HttpFormat::Octets if body.len() != expected => Err(Error::Rejected(format!(
                "{} bytes where {expected} were asked for",
                body.len()
            ))),
            HttpFormat::Octets => Ok(body),
            HttpFormat::AnuJson => parse_anu(&body, expected),
        }
    }
}

fn describe(e: reqwest::Error, timeout_ms: u64) -> Error {
    if e.is_timeout() {
        return Error::Rejected(format!(
            "no complete answer within {timeout_ms} ms (slow or stalled)"
        ));
    }
    // reqwest's own message is generic; the cause (refused, bad certificate) is below it.
    let connect = e.is_connect();
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    if connect {
        Error::Unreachable(format!("cannot connect: {text}"))
    } else {
        Error::Unreachable(format!("request failed: {text}"))
    }
}

#[derive(Deserialize)]
struct AnuBody {
    success: bool,
    #[serde(rename = "type")]
    kind: Option<String>,
    length: Option<u64>,
    data: Option<Vec<serde_json::Value>>,
}

/// Check an ANU-style body and return its values as bytes.
pub fn parse_anu(body: &[u8], expected: usize) -> Result<Zeroizing<Vec<u8>>> {
    let reject = |m: String| Err(Error::Rejected(m));
    let parsed: AnuBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return reject(format!("not the expected JSON: {e}")),
    };
    if !parsed.success {
        return reject("the service answered success=false".into());
    }
    if parsed.kind.as_deref() != Some("uint8") {
        return reject(format!(
            "type {:?} where \"uint8\" was asked for",
            parsed.kind
        ));
    }
    let data = parsed.data.unwrap_or_default();
    if parsed.length != Some(data.len() as u64) || data.len() != expected {
        return reject(format!(
            "length {:?} with {} values where {expected} were asked for",
            parsed.length,
            data.len()
        ));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(expected));
    for (i, v) in data.iter().enumerate() {
        match v.as_u64() {
            Some(n) if n <= 255 => out.push(n as u8),
            _ => return reject(format!("value #{i} is {v}, not a byte (0..=255)")),
        }
    }
    Ok(out)
}

impl Source for HttpSource {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn kind(&self) -> &'static str {
        "http"
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.pos >= self.batch.len() {
            let gap = Duration::from_millis(self.cfg.min_interval_ms);
            if let Some(wait) = self.last_request.and_then(|t| gap.checked_sub(t.elapsed())) {
                return Err(Error::NotReady(format!(
                    "quota: next request in {} ms",
                    wait.as_millis()
                )));
            }
            self.last_request = Some(Instant::now());
            self.batch = self.fetch()?;
            self.pos = 0;
        }
        let n = buf.len().min(self.batch.len() - self.pos);
        buf[..n].copy_from_slice(&self.batch[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    fn release(&mut self) {
        // Unused values are dropped (zeroized): a later read asks the service again.
        self.batch = Zeroizing::new(Vec::new());
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anu_body_checks() {
        let ok = br#"{"success":true,"type":"uint8","length":3,"data":[0,128,255]}"#;
        assert_eq!(&parse_anu(ok, 3).unwrap()[..], &[0, 128, 255]);
        let cases: &[(&[u8], &str)] = &[
            (br#"{"success":false}"#, "success=false"),
            (
                br#"{"success":true,"type":"uint8","length":2,"data":[1,2]}"#,
                "length",
            ),
            (
                br#"{"success":true,"type":"uint8","length":3,"data":[1,2]}"#,
                "length",
            ),
            (
                br#"{"success":true,"type":"uint8","length":3,"data":[1,2,256]}"#,
                "not a byte",
            ),
            (
                br#"{"success":true,"type":"uint8","length":3,"data":[1,-2,3]}"#,
                "not a byte",
            ),
            (
                br#"{"success":true,"type":"uint16","length":3,"data":[1,2,3]}"#,
                "uint16",
            ),
            (b"<html><body>502 Bad Gateway</body></html>", "JSON"),
        ];
        for (body, why) in cases {
            let e = parse_anu(body, 3).unwrap_err().to_string();
            assert!(e.contains(why), "{e} should mention {why}");
        }
    }

    fn cfg(url: &str, batch: Option<usize>) -> HttpConfig {
        let text = format!("name='h'\nkind='http'\nurl='{url}'\nformat='octets'\n");
        let mut c: HttpConfig = toml::from_str(&text.replace("kind='http'\n", "")).unwrap();
        c.batch_size = batch;
        c
    }

    #[test]
    fn endpoint_rules() {
        assert_eq!(
            Endpoint::parse(&cfg("https://q.example/a?length=64", None))
                .unwrap()
                .length,
            64
        );
        assert_eq!(
            Endpoint::parse(&cfg("https://q.example/a", Some(32)))
                .unwrap()
                .length,
            32
        );
        assert_eq!(
            Endpoint::parse(&cfg("https://q.example/a", None))
                .unwrap()
                .length,
            1024
        );
        assert!(Endpoint::parse(&cfg("https://q.example/a?length=64", Some(32))).is_err());
        assert!(Endpoint::parse(&cfg("http://q.example/a", None)).is_err());
        assert!(Endpoint::parse(&cfg("http://127.0.0.1:9/a", None)).is_ok());
        assert!(Endpoint::parse(&cfg("ftp://q.example/a", None)).is_err());
    }
}
