//! Module configuration: the TOML file named by `PQHSM_CONF` (or the embedded default) and
//! where tokens live. Parsing is strict: an unknown key is an error that names it, so a
//! typo never silently weakens the policy.

use crate::error::{Error, ErrorKind, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The configuration used when `PQHSM_CONF` is unset. Every key is optional.
pub const DEFAULT_CONFIG: &str = r#"# pqhsm configuration (TOML). Every key is optional.
# data_dir = "/var/lib/pqhsm"     # else $PQHSM_DATA_DIR, $XDG_DATA_HOME/pqhsm, ~/.local/share/pqhsm

[policy]
allow_extractable = false         # true lets private/secret keys be created extractable
max_pin_failures = 10             # failed logins before a PIN locks
min_pin_len = 4
max_pin_len = 255

[kdf]                             # Argon2id for PIN-derived keys, recorded per token at init
# memory_kib = 19456              # defaults: the store's (OWASP baseline, 19 MiB, t=2, p=1)
# iterations = 2
# parallelism = 1

[rng]                             # entropy sources; read by the entropy bridge
"#;

/// The whole configuration file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where token directories live; `PQHSM_DATA_DIR` overrides it.
    pub data_dir: Option<PathBuf>,
    pub policy: Policy,
    pub kdf: KdfParams,
    /// Entropy-source settings, interpreted by the RNG layer.
    pub rng: toml::Table,
}

/// Token policy.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Allow private and secret keys with CKA_EXTRACTABLE=TRUE or CKA_SENSITIVE=FALSE.
    pub allow_extractable: bool,
    pub max_pin_failures: u32,
    pub min_pin_len: usize,
    pub max_pin_len: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            allow_extractable: false,
            max_pin_failures: 10,
            min_pin_len: 4,
            max_pin_len: 255,
        }
    }
}

/// Argon2id parameters for the PIN-derived key-encryption keys.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// The store's defaults: one place decides them.
    fn default() -> Self {
        let d = crate::store::KdfParams::default();
        KdfParams {
            memory_kib: d.memory_kib,
            iterations: d.iterations,
            parallelism: d.parallelism,
        }
    }
}

impl KdfParams {
    pub fn to_store(self) -> crate::store::KdfParams {
        crate::store::KdfParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }
}

fn config_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::ConfigInvalid, msg)
}

impl Config {
    /// Read `PQHSM_CONF` if set, else the embedded default.
    pub fn load() -> Result<Config> {
        match std::env::var_os("PQHSM_CONF") {
            Some(path) if !path.is_empty() => Config::from_file(Path::new(&path)),
            _ => Config::from_toml(DEFAULT_CONFIG),
        }
    }

    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            config_error(format!(
                "cannot read configuration file {} (named by PQHSM_CONF): {e}",
                path.display()
            ))
        })?;
        Config::from_toml(&text)
            .map_err(|e| config_error(format!("{}: {}", path.display(), e.message())))
    }

    pub fn from_toml(text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text)
            .map_err(|e| config_error(format!("invalid pqhsm configuration: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        let p = &self.policy;
        if p.min_pin_len == 0 || p.max_pin_len < p.min_pin_len {
            return Err(config_error(format!(
                "policy: need 1 <= min_pin_len <= max_pin_len (got {} and {})",
                p.min_pin_len, p.max_pin_len
            )));
        }
        if p.max_pin_failures == 0 {
            return Err(config_error("policy.max_pin_failures must be at least 1"));
        }
        self.kdf
            .to_store()
            .check()
            .map_err(|e| config_error(format!("[kdf]: {}", e.message())))
    }

    /// The directory holding `tokens/<serial>/`: `PQHSM_DATA_DIR`, else `data_dir` from the
    /// file, else `$XDG_DATA_HOME/pqhsm`, else `~/.local/share/pqhsm`.
    pub fn data_dir(&self) -> Result<PathBuf> {
        resolve_data_dir(
            std::env::var_os("PQHSM_DATA_DIR").map(PathBuf::from),
            self.data_dir.clone(),
            std::env::var_os("XDG_DATA_HOME").map(PathBuf::from),
            std::env::var_os("HOME").map(PathBuf::from),
        )
    }
}

fn resolve_data_dir(
    env: Option<PathBuf>,
    file: Option<PathBuf>,
    xdg: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Result<PathBuf> {
    let non_empty = |p: &Option<PathBuf>| p.as_ref().is_some_and(|p| !p.as_os_str().is_empty());
    if non_empty(&env) {
        return Ok(env.unwrap_or_default());
    }
    if non_empty(&file) {
        return Ok(file.unwrap_or_default());
    }
    // XDG requires an absolute path; a relative one is to be ignored.
    if let Some(x) = xdg.filter(|x| x.is_absolute()) {
        return Ok(x.join("pqhsm"));
    }
    match home.filter(|h| !h.as_os_str().is_empty()) {
        Some(h) => Ok(h.join(".local/share/pqhsm")),
        None => Err(config_error(
            "no data directory: set PQHSM_DATA_DIR or data_dir in the configuration file",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses_to_the_documented_values() {
        let c = Config::from_toml(DEFAULT_CONFIG).unwrap();
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.kdf, KdfParams::default());
        assert!(c.data_dir.is_none());
        assert!(c.rng.is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        let e = Config::from_toml("[policy]\nallow_extractible = true\n").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConfigInvalid);
        assert!(e.message().contains("allow_extractible"), "{}", e.message());
        let e = Config::from_toml("colour = 1\n").unwrap_err();
        assert!(e.message().contains("colour"), "{}", e.message());
    }

    #[test]
    fn partial_sections_keep_other_defaults_and_rng_stays_opaque() {
        let c = Config::from_toml(
            "data_dir = \"/srv/hsm\"\n[policy]\nmin_pin_len = 6\n[rng]\nsources = [\"os\"]\n",
        )
        .unwrap();
        assert_eq!(c.data_dir.as_deref(), Some(Path::new("/srv/hsm")));
        assert_eq!(c.policy.min_pin_len, 6);
        assert_eq!(c.policy.max_pin_failures, 10);
        assert!(c.rng.contains_key("sources"));
    }

    #[test]
    fn inconsistent_values_are_rejected() {
        assert!(Config::from_toml("[policy]\nmin_pin_len = 8\nmax_pin_len = 4\n").is_err());
        assert!(Config::from_toml("[policy]\nmax_pin_failures = 0\n").is_err());
        assert!(Config::from_toml("[kdf]\nmemory_kib = 8\nparallelism = 4\n").is_err());
    }

    #[test]
    fn data_dir_precedence() {
        let p = |s: &str| Some(PathBuf::from(s));
        assert_eq!(
            resolve_data_dir(p("/e"), p("/f"), p("/x"), p("/h")).unwrap(),
            PathBuf::from("/e")
        );
        assert_eq!(
            resolve_data_dir(None, p("/f"), p("/x"), p("/h")).unwrap(),
            PathBuf::from("/f")
        );
        assert_eq!(
            resolve_data_dir(None, None, p("/x"), p("/h")).unwrap(),
            PathBuf::from("/x/pqhsm")
        );
        assert_eq!(
            resolve_data_dir(p(""), None, p("rel"), p("/h")).unwrap(),
            PathBuf::from("/h/.local/share/pqhsm")
        );
        assert!(resolve_data_dir(None, None, None, None).is_err());
    }
}
