//! One token as this process sees it: its store, the login state shared by all sessions
//! (with the master key while someone is logged in), the object cache and the per-login
//! cache of parsed key material. Logout drops and zeroizes both secrets caches.

pub mod backend;
mod index;
mod objects;

use crate::error::Result;
use crate::handle_map::HandleMap;
use crate::manage::{Caller, CallerCell};
use crate::mech::KeyMaterial;
use crate::module::ObjectHandle;
use crate::store::{MasterKey, Store, TokenRecord};
use objects::ObjectCache;
pub use objects::KEY_USE_FRESHNESS;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

/// Lock helpers: a panic elsewhere must not turn every later call into a panic too.
pub(crate) fn rd<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}
pub(crate) fn wr<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}
pub(crate) fn lk<T>(l: &Mutex<T>) -> MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|p| p.into_inner())
}

/// Who is logged in to the token (for this process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Public,
    User,
    So,
}

struct Auth {
    who: Who,
    mk: Option<Arc<MasterKey>>,
}

/// Key material parsed for this login; `epoch` changes at every logout so a parse that
/// raced a logout is never cached.
#[derive(Default)]
struct KeyCache {
    epoch: u64,
    keys: HandleMap<Arc<KeyMaterial>>,
}

pub struct Token {
    serial: String,
    store: Arc<dyn Store>,
    handles: Arc<AtomicU64>,
    caller: Arc<CallerCell>,
    auth: RwLock<Auth>,
    /// Serialises login, logout and PIN changes; PIN checks are slow (Argon2id) and the
    /// login state must stay readable meanwhile.
    pub(crate) login_gate: Mutex<()>,
    cache: RwLock<ObjectCache>,
    keys: RwLock<KeyCache>,
    /// When this token was opened, and when (nanoseconds after) the object cache was last
    /// found current: key operations trust that check for a short while.
    opened: Instant,
    checked_at: AtomicU64,
}

impl Token {
    /// `handles` numbers objects across every token of the module; `caller` is the
    /// module's clock and actor.
    pub fn new(
        serial: String,
        store: Arc<dyn Store>,
        handles: Arc<AtomicU64>,
        caller: Arc<CallerCell>,
    ) -> Self {
        Token {
            serial,
            store,
            handles,
            caller,
            auth: RwLock::new(Auth {
                who: Who::Public,
                mk: None,
            }),
            login_gate: Mutex::new(()),
            cache: RwLock::default(),
            keys: RwLock::default(),
            opened: Instant::now(),
            checked_at: AtomicU64::new(0),
        }
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn record(&self) -> Result<Option<TokenRecord>> {
        self.store.token()
    }

    /// The clock and actor of whoever uses this module.
    pub fn caller(&self) -> Arc<Caller> {
        rd(&self.caller).clone()
    }

    pub fn who(&self) -> Who {
        rd(&self.auth).who
    }

    pub fn master_key(&self) -> Option<Arc<MasterKey>> {
        rd(&self.auth).mk.clone()
    }

    pub(crate) fn set_login(&self, who: Who, mk: MasterKey) {
        *wr(&self.auth) = Auth {
            who,
            mk: Some(Arc::new(mk)),
        };
    }

    /// Back to public: drop the master key and every parsed key (both zeroize on drop).
    pub(crate) fn logout(&self) {
        *wr(&self.auth) = Auth {
            who: Who::Public,
            mk: None,
        };
        let mut keys = wr(&self.keys);
        keys.epoch += 1;
        keys.keys.clear();
    }

    /// After C_InitToken: nothing of the old token may survive in memory.
    pub(crate) fn reset(&self) {
        self.logout();
        *wr(&self.cache) = ObjectCache::default();
        self.checked_at.store(0, Ordering::Relaxed);
    }

    fn next_handle(&self) -> ObjectHandle {
        self.handles.fetch_add(1, Ordering::Relaxed)
    }
}
