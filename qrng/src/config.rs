//! The `rng` table of the PQHSM_CONF file: the ordered source chain and the DRBG's reseed
//! policy. Owns parsing, defaults and validation; never opens a device.
//!
//! ```toml
//! [rng]
//! reseed_bytes = 1048576        # reseed the DRBG after this many output bytes
//! reseed_seconds = 60           # ... or this many seconds, whichever comes first
//! alpha_log2 = 30               # health-test false-alarm rate α = 2^-30
//! bridge = "/run/pqhsm/rng.sock"  # module instances reseed from this bridge when it answers
//!
//! [[rng.sources]]
//! name = "primary"
//! kind = "serial"               # serial | http | file | os
//! path = "/dev/ttyACM0"
//! baud = 115200
//! min_entropy_per_byte = 7.0    # the health tests' H
//! ```
//!
//! No sources means the OS RNG alone; the OS RNG is always the last resort, listed or not.

use crate::{Error, Result};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The whole `rng` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RngConfig {
    /// Device sources in order of preference: primary, backup, ...
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Reseed the DRBG after this many output bytes.
    #[serde(default = "default_reseed_bytes")]
    pub reseed_bytes: u64,
    /// Reseed the DRBG after this many seconds.
    #[serde(default = "default_reseed_seconds")]
    pub reseed_seconds: u64,
    /// Health-test false-alarm rate α = 2^-alpha_log2 (SP 800-90B recommends 20..=40).
    #[serde(default = "default_alpha_log2")]
    pub alpha_log2: u32,
    /// Unix socket of a `pqhsm rng bridge`; tried before the directly opened sources.
    #[serde(default)]
    pub bridge: Option<PathBuf>,
    /// Least time between two device seeds fetched in the background.
    #[serde(default = "default_device_seed_interval_ms")]
    pub device_seed_interval_ms: u64,
}

/// One `[[rng.sources]]` entry, by `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SourceConfig {
    Serial(SerialConfig),
    Http(HttpConfig),
    File(FileConfig),
    Os(OsConfig),
}

/// Retry policy shared by every device source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// First back-off after a failure; doubles on each failure in a row.
    pub retry_ms: u64,
    /// Longest back-off.
    pub retry_max_ms: u64,
    /// Longest time one seed (start-up test included) may take before the source is
    /// declared unreachable.
    pub deadline_ms: u64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            retry_ms: default_retry_ms(),
            retry_max_ms: default_retry_max_ms(),
            deadline_ms: default_deadline_ms(),
        }
    }
}

/// A USB CDC serial QRNG streaming raw bytes (TrueRNG, OneRNG, ...).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Bytes asked for per read (TrueRNG: read large blocks).
    #[serde(default = "default_read_size")]
    pub read_size: usize,
    /// A read that returns nothing within this time fails.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Assert DTR after opening (TrueRNG streams only with DTR set).
    #[serde(default = "default_true")]
    pub dtr: bool,
    /// Written after opening to start the stream (OneRNG: "cmdO").
    #[serde(default)]
    pub start_command: Option<String>,
    /// Baud rates to open and close the port at before the real open: the TrueRNGpro/V2
    /// mode "knock" is `[110, 300, 110]`, then `baud` picks the mode (300 whitened, 19200
    /// raw ADC samples, 57600 unwhitened on V2).
    #[serde(default)]
    pub knock: Vec<u32>,
    pub min_entropy_per_byte: f64,
    /// First back-off after a failure; doubles on each failure in a row.
    #[serde(default = "default_retry_ms")]
    pub retry_ms: u64,
    /// Longest back-off.
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// Longest time one seed (start-up test included) may take.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

/// Body format of an HTTP QRNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HttpFormat {
    /// `{"success":true,"type":"uint8","length":N,"data":[...]}` (ANU QRNG style).
    #[serde(rename = "anu-json")]
    AnuJson,
    /// `application/octet-stream`, the raw bytes.
    #[serde(rename = "octets")]
    Octets,
}

/// An HTTP QRNG service.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub name: String,
    /// `https://` (plain `http://` only to a loopback address).
    pub url: String,
    pub format: HttpFormat,
    /// Environment variable holding the API key; no key is sent when unset in config.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Header carrying the key.
    #[serde(default = "default_api_key_header")]
    pub api_key_header: String,
    /// Put before the key in the header value (e.g. "Bearer ").
    #[serde(default)]
    pub api_key_prefix: String,
    /// Values per response; a `length=` in the URL must agree with it. Default: the URL's
    /// `length`, else 1024.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// PEM file of a CA to trust besides the system's (a private QRNG appliance).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Least time between two requests (the service's quota).
    #[serde(default = "default_min_interval_ms")]
    pub min_interval_ms: u64,
    /// A whole request, body included, must finish within this time (slow-loris guard).
    #[serde(default = "default_http_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_http_entropy")]
    pub min_entropy_per_byte: f64,
    /// First back-off after a failure; doubles on each failure in a row.
    #[serde(default = "default_retry_ms")]
    pub retry_ms: u64,
    /// Longest back-off.
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// Longest time one seed (start-up test included) may take.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

/// A character device of an hwrng-style driver (`/dev/hwrng`, `/dev/qrandom0`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "default_read_size")]
    pub read_size: usize,
    pub min_entropy_per_byte: f64,
    /// First back-off after a failure; doubles on each failure in a row.
    #[serde(default = "default_retry_ms")]
    pub retry_ms: u64,
    /// Longest back-off.
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// Longest time one seed (start-up test included) may take.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
}

/// The OS RNG; listing it only fixes its name and place (it is always last anyway).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsConfig {
    #[serde(default = "default_os_name")]
    pub name: String,
}

fn default_reseed_bytes() -> u64 {
    1 << 20
}
fn default_reseed_seconds() -> u64 {
    60
}
fn default_alpha_log2() -> u32 {
    30
}
fn default_device_seed_interval_ms() -> u64 {
    1000
}
fn default_retry_ms() -> u64 {
    1000
}
fn default_retry_max_ms() -> u64 {
    300_000
}
fn default_deadline_ms() -> u64 {
    10_000
}
fn default_baud() -> u32 {
    115_200
}
fn default_read_size() -> usize {
    4096
}
fn default_timeout_ms() -> u64 {
    2000
}
fn default_true() -> bool {
    true
}
fn default_api_key_header() -> String {
    "x-api-key".into()
}
fn default_min_interval_ms() -> u64 {
    1000
}
fn default_http_timeout_ms() -> u64 {
    10_000
}
fn default_http_entropy() -> f64 {
    7.0
}
fn default_os_name() -> String {
    "os".into()
}

impl Default for RngConfig {
    fn default() -> Self {
        RngConfig {
            sources: Vec::new(),
            reseed_bytes: default_reseed_bytes(),
            reseed_seconds: default_reseed_seconds(),
            alpha_log2: default_alpha_log2(),
            bridge: None,
            device_seed_interval_ms: default_device_seed_interval_ms(),
        }
    }
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Serial(c) => &c.name,
            SourceConfig::Http(c) => &c.name,
            SourceConfig::File(c) => &c.name,
            SourceConfig::Os(c) => &c.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Serial(_) => "serial",
            SourceConfig::Http(_) => "http",
            SourceConfig::File(_) => "file",
            SourceConfig::Os(_) => "os",
        }
    }

    /// The claimed min-entropy per byte; `None` for the OS RNG (not health-tested here).
    pub fn min_entropy(&self) -> Option<f64> {
        match self {
            SourceConfig::Serial(c) => Some(c.min_entropy_per_byte),
            SourceConfig::Http(c) => Some(c.min_entropy_per_byte),
            SourceConfig::File(c) => Some(c.min_entropy_per_byte),
            SourceConfig::Os(_) => None,
        }
    }

    pub fn retry(&self) -> Retry {
        let (retry_ms, retry_max_ms, deadline_ms) = match self {
            SourceConfig::Serial(c) => (c.retry_ms, c.retry_max_ms, c.deadline_ms),
            SourceConfig::Http(c) => (c.retry_ms, c.retry_max_ms, c.deadline_ms),
            SourceConfig::File(c) => (c.retry_ms, c.retry_max_ms, c.deadline_ms),
            SourceConfig::Os(_) => return Retry::default(),
        };
        Retry {
            retry_ms,
            retry_max_ms,
            deadline_ms,
        }
    }
}

impl RngConfig {
    /// The `rng` table handed over by the core; checks every value.
    pub fn from_table(table: &toml::Table) -> Result<RngConfig> {
        let cfg: RngConfig = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| Error::Config(e.message().trim().to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// A whole PQHSM_CONF document: its `rng` table, or the defaults when it has none.
    pub fn from_conf_str(text: &str) -> Result<RngConfig> {
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::Config(format!("not valid TOML: {}", e.message().trim()))
        })?;
        match doc.get("rng") {
            None => Ok(RngConfig::default()),
            Some(toml::Value::Table(t)) => RngConfig::from_table(t),
            Some(_) => Err(Error::Config("`rng` must be a table ([rng])".into())),
        }
    }

    /// Read the file named by PQHSM_CONF; unset means the OS RNG alone.
    pub fn from_env() -> Result<RngConfig> {
        match std::env::var_os("PQHSM_CONF") {
            None => Ok(RngConfig::default()),
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::Config(format!(
                        "cannot read PQHSM_CONF {}: {e}",
                        path.to_string_lossy()
                    ))
                })?;
                RngConfig::from_conf_str(&text).map_err(|e| match e {
                    Error::Config(m) => {
                        Error::Config(format!("{m} (in PQHSM_CONF {})", path.to_string_lossy()))
                    }
                    other => other,
                })
            }
        }
    }

    pub fn reseed_interval(&self) -> Duration {
        Duration::from_secs(self.reseed_seconds)
    }

    /// True when some source other than the OS RNG is configured.
    pub fn has_devices(&self) -> bool {
        self.bridge.is_some()
            || self
                .sources
                .iter()
                .any(|s| !matches!(s, SourceConfig::Os(_)))
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if !(20..=60).contains(&self.alpha_log2) {
            return bad(format!(
                "alpha_log2 = {} is outside 20..=60",
                self.alpha_log2
            ));
        }
        if self.reseed_bytes == 0 || self.reseed_seconds == 0 {
            return bad("reseed_bytes and reseed_seconds must be at least 1".into());
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.sources {
            let name = s.name();
            if name.is_empty() || !names.insert(name) {
                return bad(format!("source name `{name}` is empty or used twice"));
            }
            let reserved = (name == "bridge" && self.bridge.is_some())
                || (name == "os" && !matches!(s, SourceConfig::Os(_)));
            if reserved {
                return bad(format!("source name `{name}` is reserved: choose another"));
            }
            if let Some(h) = s.min_entropy() {
                if !(h > 0.0 && h <= 8.0) {
                    return bad(format!(
                        "source `{name}`: min_entropy_per_byte = {h} must be in (0, 8]"
                    ));
                }
            }
            let r = s.retry();
            if r.retry_ms == 0 || r.retry_max_ms < r.retry_ms || r.deadline_ms == 0 {
                return bad(format!(
                    "source `{name}`: need 0 < retry_ms <= retry_max_ms and deadline_ms > 0"
                ));
            }
            match s {
                SourceConfig::Serial(c) if c.read_size == 0 || c.baud == 0 => {
                    return bad(format!(
                        "source `{name}`: baud and read_size must be positive"
                    ));
                }
                SourceConfig::File(c) if c.read_size == 0 => {
                    return bad(format!("source `{name}`: read_size must be positive"));
                }
                SourceConfig::Http(c) => {
                    crate::sources::http::Endpoint::parse(c)?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_EXAMPLE: &str = r#"
[[rng.sources]]
name = "primary"
kind = "serial"              # serial | http | os
path = "/dev/ttyACM0"
baud = 115200
min_entropy_per_byte = 7.0   # the health tests' H
[[rng.sources]]
name = "backup"
kind = "http"
url = "https://qrng.example/api?length=1024&type=uint8"
format = "anu-json"          # anu-json | octets
api_key_env = "QRNG_API_KEY"
"#;

    #[test]
    fn issue_example_parses_with_defaults() {
        let cfg = RngConfig::from_conf_str(ISSUE_EXAMPLE).unwrap();
        assert_eq!(cfg.sources.len(), 2);
        match &cfg.sources[0] {
            SourceConfig::Serial(s) => {
                assert_eq!(s.path, PathBuf::from("/dev/ttyACM0"));
                assert_eq!(s.baud, 115_200);
                assert_eq!(s.min_entropy_per_byte, 7.0);
                assert!(s.dtr);
                assert_eq!(cfg.sources[0].retry(), Retry::default());
            }
            other => panic!("expected serial, got {other:?}"),
        }
        match &cfg.sources[1] {
            SourceConfig::Http(h) => {
                assert_eq!(h.format, HttpFormat::AnuJson);
                assert_eq!(h.api_key_env.as_deref(), Some("QRNG_API_KEY"));
                assert_eq!(h.api_key_header, "x-api-key");
            }
            other => panic!("expected http, got {other:?}"),
        }
        assert_eq!(cfg.alpha_log2, 30);
        assert!(cfg.has_devices());
    }

    #[test]
    fn no_rng_table_means_os_only() {
        let cfg = RngConfig::from_conf_str("[token]\nlabel = \"x\"\n").unwrap();
        assert_eq!(cfg, RngConfig::default());
        assert!(!cfg.has_devices());
    }

    #[test]
    fn bad_keys_are_named() {
        let e = RngConfig::from_conf_str(
            "[[rng.sources]]\nname='a'\nkind='serial'\npath='/x'\nbauds=9600\nmin_entropy_per_byte=7.0\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("bauds"), "{e}");
        let e = RngConfig::from_conf_str("[rng]\nreseed_byte = 5\n").unwrap_err();
        assert!(e.to_string().contains("reseed_byte"), "{e}");
        let e = RngConfig::from_conf_str("[[rng.sources]]\nname='a'\nkind='usb'\n").unwrap_err();
        assert!(e.to_string().contains("usb"), "{e}");
        let e = RngConfig::from_conf_str(
            "[[rng.sources]]\nname='a'\nkind='serial'\npath='/x'\nmin_entropy_per_byte=9.0\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("min_entropy_per_byte"), "{e}");
        let e = RngConfig::from_conf_str(
            "[[rng.sources]]\nname='a'\nkind='http'\nurl='http://qrng.example/x'\nformat='octets'\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        let e = RngConfig::from_conf_str(
            "[[rng.sources]]\nname='os'\nkind='file'\npath='/x'\nmin_entropy_per_byte=7.0\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("reserved"), "{e}");
        let e = RngConfig::from_conf_str("[rng]\nalpha_log2 = 4\n").unwrap_err();
        assert!(e.to_string().contains("alpha_log2"), "{e}");
    }
}
