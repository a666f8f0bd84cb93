//! Where token stores come from: one store per token, named by its serial. The module
//! only lists, opens and creates them; what a store is made of is the backend's business.

use crate::config::Config;
use crate::error::{err, Error, ErrorKind, Result};
use crate::store::memory::MemoryStore;
use crate::store::{SqliteStore, Store, StoreOptions};
use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A source of token stores.
pub trait Backend: Send + Sync {
    /// Serials of the tokens that exist (in any order; they may be uninitialised).
    fn serials(&self) -> Result<Vec<String>>;
    fn open(&self, serial: &str) -> Result<Arc<dyn Store>>;
    /// Make the (empty, uninitialised) store of a new token; returns its serial.
    fn create(&self) -> Result<(String, Arc<dyn Store>)>;
    /// Remove a store `create` made whose initialisation then failed.
    fn discard(&self, serial: &str) -> Result<()>;
}

/// Token directories `<data_dir>/tokens/<serial>/`, each an SQLite store.
pub struct DirBackend {
    tokens: PathBuf,
    opts: StoreOptions,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::StoreIo,
        format!("cannot {what} {}: {e}", path.display()),
    )
}

fn is_serial(name: &str) -> bool {
    name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl DirBackend {
    /// Tokens under the data directory `config` names (see `Config::data_dir`).
    pub fn new(config: &Config) -> Result<Self> {
        Ok(DirBackend::in_dir(&config.data_dir()?, config))
    }

    /// Tokens under `data_dir`, whatever the environment says.
    pub fn in_dir(data_dir: &Path, config: &Config) -> Self {
        DirBackend {
            tokens: data_dir.join("tokens"),
            opts: StoreOptions {
                kdf: config.kdf.to_store(),
                max_pin_failures: config.policy.max_pin_failures,
            },
        }
    }
}

impl Backend for DirBackend {
    fn serials(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.tokens) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list the tokens in", &self.tokens, e)),
        };
        let mut serials = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list the tokens in", &self.tokens, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_serial(&name) && entry.path().join("token.sqlite").is_file() {
                serials.push(name);
            }
        }
        Ok(serials)
    }

    fn open(&self, serial: &str) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(SqliteStore::open(
            &self.tokens.join(serial),
            self.opts,
        )?))
    }

    /// The store picks its serial when created, so it is born in a scratch directory and
    /// moved to its name before anyone can list it.
    fn create(&self) -> Result<(String, Arc<dyn Store>)> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.tokens)
            .map_err(|e| io_error("create", &self.tokens, e))?;
        let mut raw = [0u8; 8];
        crate::rng::fill_bytes(&mut raw);
        let scratch = self.tokens.join(format!(".new-{}", hex::encode(raw)));
        let serial = SqliteStore::open(&scratch, self.opts)?.serial()?;
        let target = self.tokens.join(&serial);
        std::fs::rename(&scratch, &target).map_err(|e| {
            let _ = std::fs::remove_dir_all(&scratch);
            io_error("name the new token directory", &target, e)
        })?;
        Ok((serial.clone(), self.open(&serial)?))
    }

    fn discard(&self, serial: &str) -> Result<()> {
        let dir = self.tokens.join(serial);
        std::fs::remove_dir_all(&dir).map_err(|e| io_error("remove", &dir, e))
    }
}

/// Stores in memory, shared between clones: two modules built on clones of one
/// `MemoryBackend` see each other's writes as two processes on one data directory would.
#[derive(Clone)]
pub struct MemoryBackend {
    stores: Arc<Mutex<BTreeMap<String, Arc<MemoryStore>>>>,
    max_pin_failures: u32,
}

impl MemoryBackend {
    pub fn new(max_pin_failures: u32) -> Self {
        MemoryBackend {
            stores: Arc::default(),
            max_pin_failures,
        }
    }

    /// The store of `serial` itself (tests use it to act behind the module's back).
    pub fn store(&self, serial: &str) -> Option<Arc<MemoryStore>> {
        self.lock().get(serial).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<MemoryStore>>> {
        self.stores.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for MemoryBackend {
    fn serials(&self) -> Result<Vec<String>> {
        Ok(self.lock().keys().cloned().collect())
    }

    fn open(&self, serial: &str) -> Result<Arc<dyn Store>> {
        match self.lock().get(serial) {
            Some(s) => Ok(s.clone() as Arc<dyn Store>),
            None => err(
                ErrorKind::TokenNotPresent,
                format!("no token with serial {serial}"),
            ),
        }
    }

    fn create(&self) -> Result<(String, Arc<dyn Store>)> {
        let mut raw = [0u8; 8];
        crate::rng::fill_bytes(&mut raw);
        let serial = hex::encode(raw);
        let store = Arc::new(MemoryStore::new(&serial, self.max_pin_failures));
        self.lock().insert(serial.clone(), store.clone());
        Ok((serial, store))
    }

    fn discard(&self, serial: &str) -> Result<()> {
        self.lock().remove(serial);
        Ok(())
    }
}
