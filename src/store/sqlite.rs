//! `SqliteStore`: the embedded [`Store`], one SQLite database per token directory, shared
//! safely by the threads and processes that load the module. It applies the PIN and
//! sealing rules over `seal` (crypto) and `db` (SQL) and never hands out secret bytes it
//! could not authenticate against the object's current public attributes.

use super::codec::{decode_attrs, duplicate_type, encode_attrs};
use super::db::{Db, TxError};
use super::schema::{self, damaged, read_meta, read_pin, write_pin, Meta, PinRow};
use super::seal::{self, TokenUuid, SALT_LEN};
use super::{
    AuditAppend, AuditRow, Change, MasterKey, ObjectId, PinKind, Store, StoredObject, TokenRecord,
};
use crate::attr::{decode_ulong, Attr, AttrType};
use crate::error::{Error, ErrorKind, Result};
use cryptoki_sys as ck;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use zeroize::Zeroizing;

pub use super::seal::KdfParams;

/// How a token directory is opened. The KDF parameters and the PIN failure limit apply
/// when a token is initialised; afterwards the values recorded in the token are used,
/// whatever a later `open` passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    pub kdf: KdfParams,
    /// Failed logins before a PIN locks.
    pub max_pin_failures: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            kdf: KdfParams::default(),
            max_pin_failures: 10,
        }
    }
}

/// A token store in `dir/token.sqlite`.
pub struct SqliteStore {
    db: Db,
    opts: StoreOptions,
}

/// How often a PIN operation starts over when another process changed the PIN between
/// the (unlocked) key derivation and the commit.
const PIN_RACE_RETRIES: usize = 3;

impl SqliteStore {
    /// Open the token store in `dir`, creating the directory (0700), the database
    /// (0600) and its schema when missing.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<SqliteStore> {
        opts.kdf.check()?;
        if opts.max_pin_failures == 0 {
            return Err(Error::new(
                ErrorKind::ArgumentsBad,
                "max_pin_failures must be at least 1",
            ));
        }
        let db = Db::open(dir)?;
        let path = db.path().to_path_buf();
        db.write(|c| schema::ensure(c, &path))?;
        Ok(SqliteStore { db, opts })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.db.path()
    }

    /// The token's serial number (16 hex digits), fixed when the store is created and
    /// kept across re-initialisation; available before the token is initialised.
    pub fn serial(&self) -> Result<String> {
        Ok(serial_of(&self.db.read(read_meta)?.uuid))
    }

    /// Check `pin` for `who`: refuse a locked PIN before deriving anything, derive the
    /// KEK without holding any lock, then decide and count in one IMMEDIATE transaction
    /// (re-checking the lock, so parallel guesses cannot exceed the limit).
    fn verify_pin(&self, who: PinKind, pin: &[u8]) -> Result<Verified> {
        for _ in 0..PIN_RACE_RETRIES {
            let (meta, row) = self.db.read(|c| Ok((read_meta(c)?, read_pin(c, who)?)))?;
            let row = pin_row(&meta, row, who)?;
            if row.failures >= meta.max_pin_failures {
                return Err(pin_locked(who, meta.max_pin_failures));
            }
            let kek = seal::derive_kek(pin, &row.salt, &row.kdf)?;
            let aad = seal::mk_wrap_aad(&meta.uuid, who, &row.kdf, &row.salt);
            let mk = seal::unwrap_key(&kek, &row.wrapped_mk, &aad);
            let attempt = self.db.write(|c| {
                let max = read_meta(c)?.max_pin_failures;
                let now = match read_pin(c, who)? {
                    Some(now) if now.same_wrap(&row) => now,
                    _ => return Ok(Attempt::Changed),
                };
                if now.failures >= max {
                    return Ok(Attempt::Locked { max });
                }
                if mk.is_none() {
                    set_failures(c, who, now.failures + 1)?;
                    return Ok(Attempt::Incorrect {
                        failures: now.failures + 1,
                        max,
                    });
                }
                if now.failures > 0 {
                    set_failures(c, who, 0)?;
                }
                Ok(Attempt::Accepted)
            })?;
            match (attempt, mk) {
                (Attempt::Changed, _) => continue,
                (Attempt::Locked { max }, _) => return Err(pin_locked(who, max)),
                (Attempt::Incorrect { failures, max }, _) => {
                    return Err(pin_incorrect(who, failures, max))
                }
                (Attempt::Accepted, Some(mk)) => {
                    return Ok(Verified {
                        mk: MasterKey(mk),
                        row,
                        meta,
                    })
                }
                (Attempt::Accepted, None) => {
                    return Err(Error::new(
                        ErrorKind::General,
                        "internal error: PIN accepted without a key",
                    ))
                }
            }
        }
        Err(Error::new(
            ErrorKind::FunctionFailed,
            "the PIN was changed by another process while it was being checked: retry",
        ))
    }
}

/// A PIN that checked out: MK plus the rows it was checked against, so a following write
/// can make sure nothing changed in between.
struct Verified {
    mk: MasterKey,
    row: PinRow,
    meta: Meta,
}

enum Attempt {
    Accepted,
    Incorrect { failures: u32, max: u32 },
    Locked { max: u32 },
    Changed,
}

fn pin_row(meta: &Meta, row: Option<PinRow>, who: PinKind) -> Result<PinRow> {
    if !meta.initialized {
        return Err(Error::new(
            ErrorKind::TokenNotRecognized,
            "the token is not initialised: initialise it (C_InitToken) first",
        ));
    }
    match (row, who) {
        (Some(row), _) => Ok(row),
        (None, PinKind::User) => Err(Error::new(
            ErrorKind::UserPinNotInitialized,
            "the user PIN is not set: the SO must set it first (C_InitPIN)",
        )),
        (None, PinKind::So) => Err(damaged("SO PIN record missing")),
    }
}

fn set_failures(c: &Connection, who: PinKind, failures: u32) -> Result<(), TxError> {
    c.execute(
        "UPDATE pins SET failures = ?1 WHERE kind = ?2",
        params![failures, schema::pin_name(who)],
    )?;
    Ok(())
}

fn pin_label(who: PinKind) -> &'static str {
    match who {
        PinKind::So => "SO",
        PinKind::User => "user",
    }
}

fn locked_remedy(who: PinKind) -> &'static str {
    match who {
        PinKind::User => "the SO must set a new user PIN (C_InitPIN)",
        PinKind::So => "the token can no longer be administered; create a new token",
    }
}

fn pin_locked(who: PinKind, max: u32) -> Error {
    Error::new(
        ErrorKind::PinLocked,
        format!(
            "the {} PIN is locked after {max} failed attempts: {}",
            pin_label(who),
            locked_remedy(who)
        ),
    )
}

fn pin_incorrect(who: PinKind, failures: u32, max: u32) -> Error {
    let left = max.saturating_sub(failures);
    let what = if left == 0 {
        format!("it is now locked: {}", locked_remedy(who))
    } else {
        format!("{left} attempt(s) left before it locks")
    };
    Error::new(
        ErrorKind::PinIncorrect,
        format!("incorrect {} PIN: {what}", pin_label(who)),
    )
}

fn serial_of(uuid: &TokenUuid) -> String {
    uuid[..8].iter().map(|b| format!("{b:02X}")).collect()
}

/// Whether `mk` is this token's current master key (its check value opens).
fn check_mk(meta: &Meta, mk: &MasterKey) -> Result<()> {
    let aad = seal::mk_check_aad(&meta.uuid);
    let current = meta.initialized
        && meta
            .mk_check
            .as_deref()
            .is_some_and(|check| seal::open(&mk.0, check, &aad).is_some());
    if current {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::UserNotLoggedIn,
            "the master key in use is not this token's (the token was re-initialised, perhaps by another process): log in again",
        ))
    }
}

pub(super) fn tampered(id: ObjectId) -> Error {
    Error::new(
        ErrorKind::StoreTampered,
        format!(
            "object {id} failed its integrity check: the token store was modified outside pqhsm"
        ),
    )
}

fn handle_invalid(id: ObjectId) -> Error {
    Error::new(
        ErrorKind::ObjectHandleInvalid,
        format!("object {id} does not exist in the token store"),
    )
}

fn sql_id(id: ObjectId) -> Result<i64> {
    i64::try_from(id).map_err(|_| handle_invalid(id))
}

fn check_unique(attrs: &[Attr], what: &str) -> Result<()> {
    match duplicate_type(attrs) {
        Some(ty) => Err(Error::new(
            ErrorKind::TemplateInconsistent,
            format!("attribute {ty:#x} appears twice in the {what} attributes"),
        )),
        None => Ok(()),
    }
}

fn value_of(attrs: &[Attr], ty: AttrType) -> Option<&[u8]> {
    attrs
        .iter()
        .find(|a| a.ty == ty)
        .map(|a| a.value.as_slice())
}

fn ulong_of(attrs: &[Attr], ty: AttrType) -> Option<ck::CK_ULONG> {
    value_of(attrs, ty).and_then(|v| decode_ulong(ty, v).ok())
}

/// Private and secret keys always keep their key material in the sealed part: one
/// without a sealed part is a row someone forged, not a key to use.
fn holds_key_material(public: &[Attr]) -> bool {
    matches!(
        ulong_of(public, ck::CKA_CLASS),
        Some(ck::CKO_PRIVATE_KEY | ck::CKO_SECRET_KEY)
    )
}

/// The indexed lookup columns derived from the public attributes. They are hints for
/// finding rows; the public attribute blob stays the truth.
struct IndexColumns {
    class: Option<i64>,
    key_type: Option<i64>,
    label: Option<Vec<u8>>,
    cka_id: Option<Vec<u8>>,
}

impl IndexColumns {
    fn of(public: &[Attr]) -> Self {
        // Bit-for-bit reinterpretation: CK_ULONG values above i64::MAX stay distinct.
        let num = |ty| ulong_of(public, ty).map(|v| v as i64);
        IndexColumns {
            class: num(ck::CKA_CLASS),
            key_type: num(ck::CKA_KEY_TYPE),
            label: value_of(public, ck::CKA_LABEL).map(<[u8]>::to_vec),
            cka_id: value_of(public, ck::CKA_ID).map(<[u8]>::to_vec),
        }
    }
}

/// An object row as stored, its public attributes decoded.
struct ObjectRow {
    public: Vec<Attr>,
    sealed: Option<Vec<u8>>,
    wrapped_dek: Option<Vec<u8>>,
}

fn read_object(c: &Connection, id: ObjectId) -> Result<Option<ObjectRow>, TxError> {
    type Raw = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);
    let raw: Option<Raw> = c
        .query_row(
            "SELECT public, sealed, wrapped_dek FROM objects WHERE id = ?1",
            [sql_id(id)?],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((public, sealed, wrapped_dek)) = raw else {
        return Ok(None);
    };
    let public = decode_attrs(&public).map_err(|_| tampered(id))?;
    Ok(Some(ObjectRow {
        public,
        sealed,
        wrapped_dek,
    }))
}

/// Seal `plain` for object `id` under a fresh DEK; returns (sealed blob, wrapped DEK).
fn seal_secret(
    mk: &MasterKey,
    token: &TokenUuid,
    id: ObjectId,
    public: &[Attr],
    plain: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let dek = seal::random_key();
    let sealed = seal::seal_object(&dek, token, id, public, plain)?;
    let wrapped = seal::wrap_key(&mk.0, &dek, &seal::dek_wrap_aad(token, id))?;
    Ok((sealed, wrapped))
}

/// Unwrap the DEK and open the sealed part against the row's public attributes.
fn open_secret(
    mk: &MasterKey,
    token: &TokenUuid,
    id: ObjectId,
    row: &ObjectRow,
) -> Result<Zeroizing<Vec<u8>>> {
    let (Some(sealed), Some(wrapped)) = (&row.sealed, &row.wrapped_dek) else {
        return Err(tampered(id));
    };
    let dek = seal::unwrap_key(&mk.0, wrapped, &seal::dek_wrap_aad(token, id))
        .ok_or_else(|| tampered(id))?;
    seal::open_object(&dek, token, id, &row.public, sealed).ok_or_else(|| tampered(id))
}

fn needs_login(what: String) -> Error {
    Error::new(
        ErrorKind::UserNotLoggedIn,
        format!("{what} needs the token unlocked: log in first"),
    )
}

impl Store for SqliteStore {
    fn token(&self) -> Result<Option<TokenRecord>> {
        self.db.read(|c| {
            let meta = read_meta(c)?;
            if !meta.initialized {
                return Ok(None);
            }
            let so = read_pin(c, PinKind::So)?.ok_or_else(|| damaged("SO PIN record missing"))?;
            let user = read_pin(c, PinKind::User)?;
            let max = meta.max_pin_failures;
            let user_failures = user.as_ref().map_or(0, |u| u.failures);
            Ok(Some(TokenRecord {
                label: meta.label,
                serial: serial_of(&meta.uuid),
                user_pin_initialized: user.is_some(),
                user_pin_failures: user_failures,
                so_pin_failures: so.failures,
                max_pin_failures: max,
                user_pin_locked: user.is_some() && user_failures >= max,
                so_pin_locked: so.failures >= max,
            }))
        })
    }

    fn init_token(&self, so_pin: &[u8], label: &str) -> Result<()> {
        let kdf = self.opts.kdf;
        let max = self.opts.max_pin_failures;
        for _ in 0..PIN_RACE_RETRIES {
            let meta = self.db.read(read_meta)?;
            // Re-initialising wipes everything: only the current SO may do it.
            let checked_so = match meta.initialized {
                true => Some(self.verify_pin(PinKind::So, so_pin)?.row),
                false => None,
            };
            let mk = seal::random_key();
            let salt: [u8; SALT_LEN] = seal::random();
            let kek = seal::derive_kek(so_pin, &salt, &kdf)?;
            let wrapped = seal::wrap_key(
                &kek,
                &mk,
                &seal::mk_wrap_aad(&meta.uuid, PinKind::So, &kdf, &salt),
            )?;
            let mk_check = seal::seal(&mk, b"", &seal::mk_check_aad(&meta.uuid))?;
            let done = self.db.write(|c| {
                let so_now = read_pin(c, PinKind::So)?;
                let unchanged = match (&so_now, &checked_so) {
                    (Some(now), Some(checked)) => now.same_wrap(checked),
                    (None, None) => true,
                    _ => false,
                };
                if !unchanged || read_meta(c)?.initialized != meta.initialized {
                    return Ok(false);
                }
                c.execute("DELETE FROM objects", [])?;
                // The new MK cannot vouch for entries sealed under the old one.
                c.execute("DELETE FROM audit", [])?;
                c.execute("DELETE FROM pins", [])?;
                write_pin(c, PinKind::So, &salt, &kdf, &wrapped)?;
                c.execute(
                    "UPDATE meta SET initialized = 1, label = ?1, kdf_memory_kib = ?2, kdf_iterations = ?3,
                         kdf_parallelism = ?4, max_pin_failures = ?5, mk_check = ?6 WHERE id = 1",
                    params![label, kdf.memory_kib, kdf.iterations, kdf.parallelism, max, mk_check],
                )?;
                Ok(true)
            })?;
            if done {
                self.db.checkpoint();
                return Ok(());
            }
        }
        Err(Error::new(
            ErrorKind::FunctionFailed,
            "another process initialised the token at the same time: retry",
        ))
    }

    fn login(&self, who: PinKind, pin: &[u8]) -> Result<MasterKey> {
        Ok(self.verify_pin(who, pin)?.mk)
    }

    fn init_user_pin(&self, mk: &MasterKey, pin: &[u8]) -> Result<()> {
        let meta = self.db.read(read_meta)?;
        check_mk(&meta, mk)?;
        let kdf = meta.kdf()?;
        let salt: [u8; SALT_LEN] = seal::random();
        let kek = seal::derive_kek(pin, &salt, &kdf)?;
        let wrapped = seal::wrap_key(
            &kek,
            &mk.0,
            &seal::mk_wrap_aad(&meta.uuid, PinKind::User, &kdf, &salt),
        )?;
        self.db.write(|c| {
            // A re-initialisation in between changes MK; the wrap would then be useless.
            let now = read_meta(c)?;
            check_mk(&now, mk)?;
            if now.kdf != meta.kdf {
                return Err(damaged("KDF parameters changed without re-initialisation").into());
            }
            write_pin(c, PinKind::User, &salt, &kdf, &wrapped)
        })
    }

    fn set_pin(&self, who: PinKind, old: &[u8], new: &[u8]) -> Result<()> {
        for _ in 0..PIN_RACE_RETRIES {
            let checked = self.verify_pin(who, old)?;
            let kdf = checked.meta.kdf()?;
            let salt: [u8; SALT_LEN] = seal::random();
            let kek = seal::derive_kek(new, &salt, &kdf)?;
            let aad = seal::mk_wrap_aad(&checked.meta.uuid, who, &kdf, &salt);
            let wrapped = seal::wrap_key(&kek, &checked.mk.0, &aad)?;
            let done = self.db.write(|c| {
                let now = read_pin(c, who)?;
                let unchanged = now.is_some_and(|n| n.same_wrap(&checked.row));
                if unchanged {
                    write_pin(c, who, &salt, &kdf, &wrapped)?;
                }
                Ok(unchanged)
            })?;
            if done {
                return Ok(());
            }
        }
        Err(Error::new(
            ErrorKind::FunctionFailed,
            "the PIN was changed by another process at the same time: retry",
        ))
    }

    fn generation(&self) -> Result<u64> {
        self.db.generation()
    }

    fn changes_since(&self, generation: u64) -> Result<Option<super::Changes>> {
        self.db.read(|c| super::changes::since(c, generation))
    }

    fn objects(&self) -> Result<Vec<StoredObject>> {
        self.db.read(|c| {
            let mut stmt =
                c.prepare("SELECT id, public, sealed IS NOT NULL FROM objects ORDER BY id")?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let id = ObjectId::try_from(id).map_err(|_| damaged("negative object id"))?;
                let public: Vec<u8> = r.get(1)?;
                let public = decode_attrs(&public).map_err(|_| tampered(id))?;
                out.push(StoredObject {
                    id,
                    public,
                    has_secret: r.get(2)?,
                });
            }
            Ok(out)
        })
    }

    fn insert(&self, mk: Option<&MasterKey>, public: &[Attr], secret: &[Attr]) -> Result<ObjectId> {
        let row = NewRow::prepare(mk, public, secret)?;
        self.db.write(|c| {
            let meta = read_meta(c)?;
            row.insert(c, &meta, mk)
        })
    }

    fn update(&self, mk: Option<&MasterKey>, id: ObjectId, public: &[Attr]) -> Result<()> {
        check_unique(public, "public")?;
        let public_blob = encode_attrs(public);
        self.db
            .write(|c| update_row(c, mk, id, public, &public_blob))
    }

    fn delete(&self, id: ObjectId) -> Result<()> {
        self.db.write(|c| delete_row(c, id))
    }

    fn unseal(&self, mk: &MasterKey, id: ObjectId) -> Result<Vec<Attr>> {
        let (meta, row) = self.db.read(|c| Ok((read_meta(c)?, read_object(c, id)?)))?;
        let row = row.ok_or_else(|| handle_invalid(id))?;
        check_mk(&meta, mk)?;
        if row.sealed.is_none() && row.wrapped_dek.is_none() {
            return match holds_key_material(&row.public) {
                true => Err(tampered(id)),
                false => Ok(Vec::new()),
            };
        }
        let plain = open_secret(mk, &meta.uuid, id, &row)?;
        decode_attrs(&plain).map_err(|_| tampered(id))
    }

    fn apply(
        &self,
        mk: Option<&MasterKey>,
        expect: Option<u64>,
        changes: &[Change<'_>],
        audit: Option<&AuditAppend<'_>>,
    ) -> Result<Vec<ObjectId>> {
        // Encode and check everything before the transaction: it may run more than once.
        let mut prepared = Vec::with_capacity(changes.len());
        for change in changes {
            prepared.push(match *change {
                Change::Insert { public, secret } => {
                    Prepared::Insert(NewRow::prepare(mk, public, secret)?)
                }
                Change::Update { id, public } => {
                    check_unique(public, "public")?;
                    Prepared::Update(id, public, encode_attrs(public))
                }
                Change::Delete { id } => Prepared::Delete(id),
            });
        }
        let ids = self.db.write(|c| {
            if let Some(expect) = expect {
                let now: i64 = c.query_row("SELECT generation FROM meta", [], |r| r.get(0))?;
                // Stored as i64, compared as the u64 `generation()` reports.
                if now as u64 != expect {
                    return Err(super::conflict().into());
                }
            }
            let meta = read_meta(c)?;
            let mut ids = Vec::new();
            for p in &prepared {
                match p {
                    Prepared::Insert(row) => ids.push(row.insert(c, &meta, mk)?),
                    Prepared::Update(id, public, blob) => update_row(c, mk, *id, public, blob)?,
                    Prepared::Delete(id) => delete_row(c, *id)?,
                }
            }
            if let Some(a) = audit {
                append_audit(c, a)?;
            }
            Ok(ids)
        })?;
        if prepared.iter().any(|p| matches!(p, Prepared::Delete(_))) {
            // Pages that held the deleted keys' wrapped DEKs should not linger in the log.
            self.db.checkpoint();
        }
        Ok(ids)
    }

    fn audit_rows(&self) -> Result<Vec<AuditRow>> {
        self.db.read(|c| {
            let mut stmt = c.prepare("SELECT seq, entry, chain, mac FROM audit ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                out.push(AuditRow {
                    seq: u64::try_from(seq)
                        .map_err(|_| damaged("negative audit sequence number"))?,
                    entry: r.get(1)?,
                    chain: r.get(2)?,
                    mac: r.get(3)?,
                });
            }
            Ok(out)
        })
    }
}

/// A change of [`Store::apply`] with its attributes encoded ahead of the transaction.
enum Prepared<'a> {
    Insert(NewRow<'a>),
    Update(ObjectId, &'a [Attr], Zeroizing<Vec<u8>>),
    Delete(ObjectId),
}

/// A new object's row, encoded and checked before any transaction.
struct NewRow<'a> {
    public: &'a [Attr],
    public_blob: Zeroizing<Vec<u8>>,
    /// The encoded secret attributes, when there are any (then MK is at hand).
    plain: Option<Zeroizing<Vec<u8>>>,
    idx: IndexColumns,
}

impl<'a> NewRow<'a> {
    fn prepare(mk: Option<&MasterKey>, public: &'a [Attr], secret: &[Attr]) -> Result<Self> {
        check_unique(public, "public")?;
        check_unique(secret, "secret")?;
        let plain = match (secret.is_empty(), mk) {
            (true, _) if holds_key_material(public) => {
                return Err(Error::new(
                    ErrorKind::TemplateIncomplete,
                    "a private or secret key object needs its key material as sealed (secret) attributes",
                ))
            }
            (true, _) => None,
            (false, Some(_)) => Some(encode_attrs(secret)),
            (false, None) => return Err(needs_login("storing secret attributes".into())),
        };
        Ok(NewRow {
            public,
            public_blob: encode_attrs(public),
            plain,
            idx: IndexColumns::of(public),
        })
    }

    fn insert(
        &self,
        c: &Connection,
        meta: &Meta,
        mk: Option<&MasterKey>,
    ) -> Result<ObjectId, TxError> {
        let idx = &self.idx;
        let mk = match (&self.plain, mk) {
            (Some(_), Some(mk)) => {
                check_mk(meta, mk)?;
                Some(mk)
            }
            (Some(_), None) => return Err(needs_login("storing secret attributes".into()).into()),
            (None, _) => None,
        };
        c.execute(
            "INSERT INTO objects (class, key_type, label, cka_id, public) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![idx.class, idx.key_type, idx.label, idx.cka_id, &self.public_blob[..]],
        )?;
        let id =
            ObjectId::try_from(c.last_insert_rowid()).map_err(|_| damaged("negative object id"))?;
        if let (Some(mk), Some(plain)) = (mk, &self.plain) {
            let (sealed, wrapped) = seal_secret(mk, &meta.uuid, id, self.public, plain)?;
            c.execute(
                "UPDATE objects SET sealed = ?1, wrapped_dek = ?2 WHERE id = ?3",
                params![sealed, wrapped, sql_id(id)?],
            )?;
        }
        Ok(id)
    }
}

/// Replace an object's public attributes, resealing when a bound attribute changes.
fn update_row(
    c: &Connection,
    mk: Option<&MasterKey>,
    id: ObjectId,
    public: &[Attr],
    public_blob: &[u8],
) -> Result<(), TxError> {
    let idx = IndexColumns::of(public);
    let row = read_object(c, id)?.ok_or_else(|| handle_invalid(id))?;
    let mut resealed = None;
    if let Some(blob) = &row.sealed {
        let stored = seal::parse_sealed(blob).ok_or_else(|| tampered(id))?.bound;
        let current = seal::bound_types();
        let changed = stored
            .iter()
            .chain(&current)
            .any(|&ty| value_of(&row.public, ty) != value_of(public, ty));
        // With MK at hand, an old seal is also brought up to the current bound list.
        if changed || (mk.is_some() && stored != current) {
            let mk = mk.ok_or_else(|| {
                needs_login(format!("changing a protected attribute of object {id}"))
            })?;
            let meta = read_meta(c)?;
            check_mk(&meta, mk)?;
            let plain = open_secret(mk, &meta.uuid, id, &row)?;
            resealed = Some(seal_secret(mk, &meta.uuid, id, public, &plain)?);
        }
    }
    c.execute(
        "UPDATE objects SET class = ?1, key_type = ?2, label = ?3, cka_id = ?4, public = ?5 WHERE id = ?6",
        params![idx.class, idx.key_type, idx.label, idx.cka_id, public_blob, sql_id(id)?],
    )?;
    if let Some((sealed, wrapped)) = &resealed {
        c.execute(
            "UPDATE objects SET sealed = ?1, wrapped_dek = ?2 WHERE id = ?3",
            params![sealed, wrapped, sql_id(id)?],
        )?;
    }
    Ok(())
}

fn delete_row(c: &Connection, id: ObjectId) -> Result<(), TxError> {
    match c.execute("DELETE FROM objects WHERE id = ?1", [sql_id(id)?])? {
        0 => Err(handle_invalid(id).into()),
        _ => Ok(()),
    }
}

/// Append an audit row after the last one; its seal sees the previous chain value.
fn append_audit(c: &Connection, a: &AuditAppend<'_>) -> Result<(), TxError> {
    let last: Option<(i64, Vec<u8>)> = c
        .query_row(
            "SELECT seq, chain FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let seq = match &last {
        Some((n, _)) => {
            u64::try_from(*n).map_err(|_| damaged("negative audit sequence number"))? + 1
        }
        None => 1,
    };
    let (chain, mac) = (a.seal)(seq, last.as_ref().map(|(_, chain)| chain.as_slice()))?;
    c.execute(
        "INSERT INTO audit (seq, entry, chain, mac) VALUES (?1, ?2, ?3, ?4)",
        params![
            i64::try_from(seq).map_err(|_| damaged("audit sequence number out of range"))?,
            a.entry,
            chain,
            mac
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
