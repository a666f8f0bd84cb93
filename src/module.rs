//! The process-wide PKCS#11 module state: slots, tokens, sessions and the operations on
//! them, in PKCS#11 terms but plain Rust types. `pkcs11/` calls exactly one method here
//! per C function; nothing here knows a C pointer.
//!
//! Output convention for every call that returns bytes: `out_cap` is `None` for a length
//! query (C buffer pointer NULL) and `Some(capacity)` otherwise.
//! - `None` -> `Ok(Output::Len(n))`, the operation stays active;
//! - capacity too small -> `Err(Error::buffer_too_small(n))`, the operation stays active;
//! - otherwise `Ok(Output::Data(bytes))` and a single-part/final call ends the operation.
//!
//! Any other error ends the active operation, as the spec requires. An output computed
//! for a length query or a short buffer is kept in the operation and returned by the
//! retry (so a decryption or a signature is computed once, and a generated IV stays the
//! same). Message-based operations end only the failed message, not the operation.

mod crypto;
mod keys;
mod keyuse;
mod message;
mod objects;
mod sessions;
mod slots;

use crate::attr::AttrType;
use crate::config::{Config, Policy};
use crate::error::{err, ErrorKind, Result};
use crate::handle_map::HandleMap;
use crate::manage::{Caller, CallerCell};
use crate::object::template::Ctx;
use crate::session::Session;
use crate::token::backend::Backend;
use crate::token::{rd, Token, Who};
use cryptoki_sys as ck;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use zeroize::Zeroizing;

pub type SlotId = ck::CK_SLOT_ID;
pub type SessionHandle = ck::CK_SESSION_HANDLE;
pub type ObjectHandle = ck::CK_OBJECT_HANDLE;

/// Bytes produced by an operation, or the length a query asked for.
#[derive(Debug)]
pub enum Output {
    Len(usize),
    Data(OutBytes),
    /// This many bytes were written straight into the caller's buffer (`Dest::Buf`).
    Written(usize),
}

/// Where a single-part cipher call's output goes.
pub enum Dest<'a> {
    /// Nowhere: a length query.
    Query,
    /// A buffer of this many bytes that the core must not write itself (it overlaps the
    /// input): the output comes back as `Output::Data`.
    Room(usize),
    /// The caller's buffer, distinct from the input: operations that know their exact
    /// output length write there directly (`Output::Written`), others answer with data.
    Buf(&'a mut [u8]),
}

impl Dest<'_> {
    /// The destination of the buffered calls: a length query, or room the core does not
    /// write itself.
    pub fn from_cap(cap: Option<usize>) -> Dest<'static> {
        cap.map_or(Dest::Query, Dest::Room)
    }
    /// The room the caller offers, as the `cap` of the buffered calls.
    pub fn cap(&self) -> Option<usize> {
        match self {
            Dest::Query => None,
            Dest::Room(n) => Some(*n),
            Dest::Buf(b) => Some(b.len()),
        }
    }
}

/// Output bytes. Secret ones (plaintext, unwrapped or derived values) zeroize when dropped;
/// public ones (ciphertext, signatures, MACs, wrapped keys) are only freed: wiping a
/// megabyte of ciphertext a byte at a time would cost more than encrypting it.
pub enum OutBytes {
    Secret(Zeroizing<Vec<u8>>),
    Public(Vec<u8>),
}

impl OutBytes {
    /// The same bytes as public output (moved out, nothing copied or wiped).
    pub fn into_public(self) -> OutBytes {
        match self {
            OutBytes::Secret(mut z) => {
                let bytes = std::mem::take(&mut *z);
                crate::secret::discard_empty(z);
                OutBytes::Public(bytes)
            }
            public => public,
        }
    }
}

impl std::ops::Deref for OutBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            OutBytes::Secret(z) => z,
            OutBytes::Public(v) => v,
        }
    }
}

impl From<Zeroizing<Vec<u8>>> for OutBytes {
    fn from(z: Zeroizing<Vec<u8>>) -> Self {
        OutBytes::Secret(z)
    }
}

impl std::fmt::Debug for OutBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never print secret bytes.
            OutBytes::Secret(z) => write!(f, "Secret({} bytes)", z.len()),
            OutBytes::Public(v) => write!(f, "Public({v:02x?})"),
        }
    }
}

/// C_GetSlotInfo, unpadded.
#[derive(Clone, Debug)]
pub struct SlotInfo {
    pub description: String,
    pub manufacturer: String,
    pub flags: ck::CK_FLAGS,
    pub hardware_version: (u8, u8),
    pub firmware_version: (u8, u8),
}

/// C_GetTokenInfo, unpadded. Counts are real; `None` means CK_UNAVAILABLE_INFORMATION.
#[derive(Clone, Debug)]
pub struct TokenInfo {
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub flags: ck::CK_FLAGS,
    pub max_session_count: Option<u64>,
    pub session_count: Option<u64>,
    pub max_rw_session_count: Option<u64>,
    pub rw_session_count: Option<u64>,
    pub max_pin_len: u64,
    pub min_pin_len: u64,
    pub total_public_memory: Option<u64>,
    pub free_public_memory: Option<u64>,
    pub total_private_memory: Option<u64>,
    pub free_private_memory: Option<u64>,
    pub hardware_version: (u8, u8),
    pub firmware_version: (u8, u8),
    /// 16 characters, YYYYMMDDhhmmss00.
    pub utc_time: String,
}

/// C_GetMechanismInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MechanismInfo {
    pub min_key_size: u64,
    pub max_key_size: u64,
    pub flags: ck::CK_FLAGS,
}

/// C_GetSessionInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub slot_id: SlotId,
    pub state: ck::CK_STATE,
    pub flags: ck::CK_FLAGS,
    pub device_error: u64,
}

/// One requested attribute of C_GetAttributeValue: `cap` is `None` when pValue is NULL.
#[derive(Clone, Copy, Debug)]
pub struct AttrRequest {
    pub ty: AttrType,
    pub cap: Option<usize>,
}

/// The answer for one requested attribute; the C ABI writes value/length accordingly and
/// derives the return code with [`get_attribute_rv`].
#[derive(Debug)]
pub enum AttrAnswer {
    Value(Zeroizing<Vec<u8>>),
    /// Length query answered (pValue was NULL).
    Len(usize),
    Sensitive,
    TypeInvalid,
    /// pValue given but too small: the length is CK_UNAVAILABLE_INFORMATION.
    TooSmall,
}

/// The return code of C_GetAttributeValue for a set of answers (spec 5.7: the first
/// applicable of SENSITIVE, TYPE_INVALID, BUFFER_TOO_SMALL; any may be returned).
pub fn get_attribute_rv(answers: &[AttrAnswer]) -> ck::CK_RV {
    if answers.iter().any(|a| matches!(a, AttrAnswer::Sensitive)) {
        ck::CKR_ATTRIBUTE_SENSITIVE
    } else if answers.iter().any(|a| matches!(a, AttrAnswer::TypeInvalid)) {
        ck::CKR_ATTRIBUTE_TYPE_INVALID
    } else if answers.iter().any(|a| matches!(a, AttrAnswer::TooSmall)) {
        ck::CKR_BUFFER_TOO_SMALL
    } else {
        ck::CKR_OK
    }
}

/// Options of C_Initialize that the core cares about.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitOptions {
    /// CKF_LIBRARY_CANT_CREATE_OS_THREADS: do not start background threads.
    pub no_os_threads: bool,
}

/// What a slot holds: an initialised token, or the one free slot where C_InitToken
/// creates a new token.
#[derive(Clone)]
enum Slot {
    Token(Arc<Token>),
    Free,
}

/// The module: created by C_Initialize, dropped (and every secret zeroized) by C_Finalize.
/// Send + Sync: every call may come from any thread; no lock is held across crypto
/// except the calling session's own.
pub struct Module {
    config: Config,
    backend: Arc<dyn Backend>,
    /// Index = slot id. Initialised tokens sorted by serial, then the free slot; a token
    /// initialised in the free slot keeps that slot and a new free slot follows.
    slots: RwLock<Vec<Slot>>,
    /// Serialises C_InitToken on the free slot.
    init_gate: Mutex<()>,
    sessions: RwLock<HandleMap<Arc<Session>>>,
    next_session: AtomicU64,
    /// Object handles, unique across every token of the module.
    object_handles: Arc<AtomicU64>,
    /// The clock and actor lifecycle checks and audit entries use (shared with tokens).
    caller: Arc<CallerCell>,
}

impl Module {
    /// Load configuration (`PQHSM_CONF` or the embedded default), open every token's store.
    pub fn new(opts: InitOptions) -> Result<Module> {
        Module::with_config(Config::load()?, opts)
    }

    /// The module over the token directories of `config` (see [`Config::data_dir`]); the
    /// CLI sets `config.data_dir` to work on another directory.
    pub fn with_config(config: Config, opts: InitOptions) -> Result<Module> {
        let backend = crate::token::backend::DirBackend::new(&config)?;
        Module::with_backend(config, Arc::new(backend), opts)
    }

    /// The module over the token directories under `data_dir` (`<data_dir>/tokens/<serial>/`),
    /// ignoring `PQHSM_DATA_DIR` and `config.data_dir`: for the CLI's `--data-dir`.
    pub fn with_data_dir(
        config: Config,
        data_dir: &std::path::Path,
        opts: InitOptions,
    ) -> Result<Module> {
        let backend = crate::token::backend::DirBackend::in_dir(data_dir, &config);
        Module::with_backend(config, Arc::new(backend), opts)
    }

    /// The module over the stores of `backend` (tests use a `MemoryBackend`).
    /// `opts.no_os_threads` needs nothing: the core starts no threads.
    pub fn with_backend(
        config: Config,
        backend: Arc<dyn Backend>,
        _opts: InitOptions,
    ) -> Result<Module> {
        let object_handles = Arc::new(AtomicU64::new(1));
        let caller = Arc::new(CallerCell::new(Arc::new(Caller::pkcs11())));
        let mut serials = backend.serials()?;
        serials.sort();
        let mut slots = Vec::with_capacity(serials.len() + 1);
        for serial in serials {
            let store = backend.open(&serial)?;
            if store.token()?.is_none() {
                // A token whose initialisation never completed: not a token yet.
                tracing::warn!(serial = %serial, "skipping uninitialised token store");
                continue;
            }
            slots.push(Slot::Token(Arc::new(Token::new(
                serial,
                store,
                object_handles.clone(),
                caller.clone(),
            ))));
        }
        slots.push(Slot::Free);
        Ok(Module {
            config,
            backend,
            slots: RwLock::new(slots),
            init_gate: Mutex::new(()),
            sessions: RwLock::default(),
            next_session: AtomicU64::new(1),
            object_handles,
            caller,
        })
    }

    /// Say who uses this module and which clock lifecycle checks read (the CLI, the
    /// daemon and tests; a PKCS#11 client keeps the default: itself, the system clock).
    pub fn set_caller(&self, caller: Caller) {
        *crate::token::wr(&self.caller) = Arc::new(caller);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn policy(&self) -> &Policy {
        &self.config.policy
    }

    fn slot(&self, id: SlotId) -> Result<Slot> {
        let slots = rd(&self.slots);
        let slot = usize::try_from(id).ok().and_then(|i| slots.get(i));
        match slot {
            Some(s) => Ok(s.clone()),
            None => err(
                ErrorKind::SlotIdInvalid,
                format!("there is no slot {id}: C_GetSlotList lists the slots"),
            ),
        }
    }

    fn token(&self, id: SlotId) -> Result<Arc<Token>> {
        match self.slot(id)? {
            Slot::Token(t) => Ok(t),
            Slot::Free => err(
                ErrorKind::TokenNotRecognized,
                format!("the token in slot {id} is not initialised: run C_InitToken first"),
            ),
        }
    }

    /// The open session `h` (the management layer works through a logged-in session).
    pub(crate) fn session(&self, h: SessionHandle) -> Result<Arc<Session>> {
        match rd(&self.sessions).get(&h) {
            Some(s) => Ok(s.clone()),
            None => err(
                ErrorKind::SessionHandleInvalid,
                format!("no open session has handle {h}"),
            ),
        }
    }

    /// Run `f` on the operations of session `h` under that session's lock.
    fn with_ops<R>(
        &self,
        h: SessionHandle,
        f: impl FnOnce(&mut crate::session::Ops) -> Result<R>,
    ) -> Result<R> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        let r = f(&mut ops);
        drop(ops);
        r
    }

    fn sessions_on(&self, slot: SlotId) -> Vec<Arc<Session>> {
        rd(&self.sessions)
            .values()
            .filter(|s| s.slot == slot)
            .cloned()
            .collect()
    }

    /// The caller's standing for template checks.
    pub(crate) fn ctx(&self, s: &Session) -> Ctx<'_> {
        Ctx {
            policy: self.policy(),
            so: s.token.who() == Who::So,
        }
    }

    fn next_session_handle(&self) -> SessionHandle {
        self.next_session.fetch_add(1, Ordering::Relaxed)
    }
}

/// C_Finalize: every token logs out, so master keys and parsed keys are zeroized now even
/// if a thread still holds a session a moment longer.
impl Drop for Module {
    fn drop(&mut self) {
        for s in crate::token::wr(&self.sessions).drain().map(|(_, s)| s) {
            s.ops().clear();
        }
        for slot in rd(&self.slots).iter() {
            if let Slot::Token(t) = slot {
                t.logout();
            }
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_keys;
