//! The sealed store: token records and objects on disk. Only ciphertext ever holds secret
//! material. Key hierarchy: a random 256-bit master key (MK) wrapped under Argon2id KEKs
//! from the SO and user PINs; a data key (DEK) per object wrapped by MK; secret attributes
//! sealed with AES-256-GCM under the DEK, the AAD binding the object id and every
//! security-relevant public attribute. `Store` is the seam; SQLite is the embedded backend.
//!
//! # Key hierarchy (SQLite backend)
//!
//! - MK: 256 random bits from `crate::rng`, created by `init_token`. Stored only wrapped,
//!   once per PIN: `KEK = Argon2id(PIN, salt)` (16-byte random salt per PIN; memory, passes
//!   and lanes recorded with each wrap and, for new wraps, in the token row at init), then
//!   `AES-256-GCM(KEK, nonce, MK, aad = mk-wrap)`. A wrong PIN is a failed GCM tag; no PIN
//!   or PIN hash is stored. A check value `AES-256-GCM(MK, nonce, "", aad = mk-check)`
//!   tells the current MK from a stale one (token re-initialised meanwhile).
//! - DEK: 256 random bits per sealed object (fresh on every reseal), stored as
//!   `AES-256-GCM(MK, nonce, DEK, aad = dek-wrap)`.
//! - Sealed part: the secret attributes encoded with the store codec (`count u32`, then
//!   `type u64 || len u32 || value` each, big-endian), then `AES-256-GCM(DEK, nonce,
//!   plaintext, aad = object)`. Blob: `0x01 || n u16 || n bound types u64 || nonce(12) ||
//!   ciphertext || tag(16)`. Every nonce is 96 random bits from `crate::rng`.
//!
//! # AADs (all integers big-endian)
//!
//! Each AAD starts with `len u8 || label || token_uuid(16)`; the uuid is random, fixed
//! when the store is created and kept across re-initialisation (the serial number is its
//! first 8 bytes in hex).
//! - mk-wrap, label `pqhsm/v1/mk-wrap`: `|| pin u8 (1 SO, 2 user) || memory_kib u32 ||
//!   iterations u32 || parallelism u32 || salt_len u32 || salt`.
//! - mk-check, label `pqhsm/v1/mk-check`: nothing more.
//! - dek-wrap, label `pqhsm/v1/dek-wrap`: `|| object_id u64`.
//! - object, label `pqhsm/v1/object`: `|| object_id u64 || n u32`, then for each of the n
//!   bound types in ascending order `type u64 || 0x00` when the object's public attributes
//!   lack it, or `type u64 || 0x01 || len u32 || value` when present. The bound types are
//!   `BOUND_ATTRIBUTES` at sealing time, recorded in the blob (and so in the AAD), which
//!   keeps older seals readable if the list grows.
//!
//! Editing a bound attribute, moving a sealed blob or DEK to another row or id, or
//! restoring an older blob under newer attributes fails a tag: `unseal` reports
//! `StoreTampered`. Not detectable without state outside the file: restoring a whole
//! older row (its own public attributes, blob and DEK together) or the whole file,
//! editing unbound attributes or public-only objects, resetting PIN failure counters.
//! The label is bound: for managed keys it is the key's name. Private and secret key
//! objects must have a sealed part, so a forged row without one is reported as tampered too.

#![allow(unused_variables)]

use crate::attr::Attr;
use crate::error::Result;
use crate::object::vendor;
use cryptoki_sys as ck;
use zeroize::Zeroizing;

mod changes;
mod codec;
mod db;
pub mod memory;
mod schema;
mod seal;
pub mod sqlite;

pub use changes::Changes;
pub use sqlite::{KdfParams, SqliteStore, StoreOptions};

/// A store's own identifier of an object (stable across processes).
pub type ObjectId = u64;

/// The token master key, unlocked by a PIN. Zeroized on drop; no Debug.
pub struct MasterKey(pub(crate) Zeroizing<[u8; 32]>);

/// Token-level facts kept by the store.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub label: String,
    pub serial: String,
    pub user_pin_initialized: bool,
    pub user_pin_failures: u32,
    pub so_pin_failures: u32,
    /// Failed logins before the PIN locks (CKR_PIN_LOCKED).
    pub max_pin_failures: u32,
    pub user_pin_locked: bool,
    pub so_pin_locked: bool,
}

/// One stored object as listed without unsealing: its public attributes and whether it
/// has sealed secret attributes.
#[derive(Clone, Debug)]
pub struct StoredObject {
    pub id: ObjectId,
    pub public: Vec<Attr>,
    pub has_secret: bool,
}

/// The attribute types bound into the AAD of an object's sealed blob.
pub const BOUND_ATTRIBUTES: &[ck::CK_ATTRIBUTE_TYPE] = &[
    ck::CKA_CLASS,
    ck::CKA_KEY_TYPE,
    ck::CKA_ID,
    ck::CKA_PRIVATE,
    ck::CKA_SENSITIVE,
    ck::CKA_EXTRACTABLE,
    ck::CKA_ALWAYS_SENSITIVE,
    ck::CKA_NEVER_EXTRACTABLE,
    ck::CKA_ENCRYPT,
    ck::CKA_DECRYPT,
    ck::CKA_SIGN,
    ck::CKA_VERIFY,
    ck::CKA_WRAP,
    ck::CKA_UNWRAP,
    ck::CKA_DERIVE,
    ck::CKA_ENCAPSULATE,
    ck::CKA_DECAPSULATE,
    ck::CKA_WRAP_WITH_TRUSTED,
    ck::CKA_MODIFIABLE,
    ck::CKA_COPYABLE,
    ck::CKA_DESTROYABLE,
    // A managed key's name, version and lifecycle state: editing the database to rename a
    // version or bring a retired one back fails the seal (see `crate::object::vendor`).
    ck::CKA_LABEL,
    vendor::CKA_PQHSM_KEY_VERSION,
    vendor::CKA_PQHSM_VERSION_STATE,
    vendor::CKA_PQHSM_KEY_STATE,
    vendor::CKA_PQHSM_DELETION_DATE,
    vendor::CKA_PQHSM_EXPIRES_AT,
    vendor::CKA_PQHSM_PURPOSE,
];

/// One change of a batch that [`Store::apply`] commits in one transaction.
#[derive(Clone, Copy, Debug)]
pub enum Change<'a> {
    /// A new object; `secret` is sealed under a new DEK (needs MK when not empty).
    Insert {
        public: &'a [Attr],
        secret: &'a [Attr],
    },
    /// New public attributes; the sealed part is resealed when a bound attribute changes.
    Update { id: ObjectId, public: &'a [Attr] },
    /// Remove an object and its sealed part.
    Delete { id: ObjectId },
}

/// One row of the token's audit log as stored. The store keeps the rows in sequence and
/// never interprets them; `crate::manage::audit` computes and checks `chain` and `mac`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: u64,
    pub entry: Vec<u8>,
    pub chain: Vec<u8>,
    pub mac: Vec<u8>,
}

/// Computes `(chain, mac)` of a new audit row from its sequence number and the previous
/// row's chain value (None for the first row).
pub type AuditSeal<'a> = dyn Fn(u64, Option<&[u8]>) -> Result<(Vec<u8>, Vec<u8>)> + 'a;

/// An audit entry to append, and how to authenticate it once its place is known.
pub struct AuditAppend<'a> {
    pub entry: &'a [u8],
    pub seal: &'a AuditSeal<'a>,
}

/// Which PIN a login uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinKind {
    So,
    User,
}

/// The storage seam. Every method is safe to call from many threads; every write is
/// committed and durable before it returns; concurrent processes never see
/// "database is locked" (bounded busy retries inside).
pub trait Store: Send + Sync {
    /// None when the token has never been initialised.
    fn token(&self) -> Result<Option<TokenRecord>>;
    /// C_InitToken: new MK, SO PIN wrap, label; destroys every object and the user PIN.
    /// If the token is initialised, `so_pin` must match first (failure counts as a try).
    fn init_token(&self, so_pin: &[u8], label: &str) -> Result<()>;
    /// Check a PIN (counting failures and locking at the limit) and return the MK.
    fn login(&self, who: PinKind, pin: &[u8]) -> Result<MasterKey>;
    /// C_InitPIN (as SO, holding MK): set or reset the user PIN, clearing its lock.
    fn init_user_pin(&self, mk: &MasterKey, pin: &[u8]) -> Result<()>;
    /// C_SetPIN: change the PIN of `who`, checking `old` (a failure counts as a try).
    fn set_pin(&self, who: PinKind, old: &[u8], new: &[u8]) -> Result<()>;

    /// A cheap number that changes whenever any process writes the store.
    fn generation(&self) -> Result<u64>;
    /// Every object's public attributes (no unsealing).
    fn objects(&self) -> Result<Vec<StoredObject>>;
    /// What changed after `generation` (as [`Store::generation`] returned it), read in one
    /// snapshot; None when the store cannot tell, and the caller reads `objects()`.
    fn changes_since(&self, generation: u64) -> Result<Option<Changes>> {
        Ok(None)
    }
    /// Insert an object; seals `secret` under a new DEK (needs `mk` when `secret` is not empty).
    fn insert(&self, mk: Option<&MasterKey>, public: &[Attr], secret: &[Attr]) -> Result<ObjectId>;
    /// Replace an object's public attributes; reseals its secret part when a bound
    /// attribute changes (then `mk` is required).
    fn update(&self, mk: Option<&MasterKey>, id: ObjectId, public: &[Attr]) -> Result<()>;
    fn delete(&self, id: ObjectId) -> Result<()>;
    /// Unseal an object's secret attributes, checking the binding to its current public
    /// attributes; a mismatch or damage is ErrorKind::StoreTampered.
    fn unseal(&self, mk: &MasterKey, id: ObjectId) -> Result<Vec<Attr>>;

    /// Apply `changes` in order and append `audit` in one transaction: all or nothing.
    /// With `expect`, only if [`Store::generation`] still has that value (else
    /// ErrorKind::Conflict and nothing is written), so a change prepared from one reading
    /// never lands on top of another process's. Returns the ids of the inserted objects.
    fn apply(
        &self,
        mk: Option<&MasterKey>,
        expect: Option<u64>,
        changes: &[Change<'_>],
        audit: Option<&AuditAppend<'_>>,
    ) -> Result<Vec<ObjectId>>;
    /// The audit log, in sequence order.
    fn audit_rows(&self) -> Result<Vec<AuditRow>>;
}

/// The error of [`Store::apply`] when the generation moved.
pub(crate) fn conflict() -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Conflict,
        "another process changed the token while this change was prepared: retry",
    )
}
