//! The token database's tables and the typed reading of its token rows (`meta`, `pins`).
//! Creates the schema in an empty file and refuses files that are not pqhsm stores of
//! this schema version; a value out of range reads as tampering, never as a default.

use super::db::TxError;
use super::seal::{KdfParams, TokenUuid, SALT_LEN, TOKEN_UUID_LEN};
use super::PinKind;
use crate::error::{Error, ErrorKind};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// `PRAGMA application_id` of a pqhsm token store ("PQHS").
const APPLICATION_ID: i32 = 0x5051_4853;
const SCHEMA_VERSION: i64 = 1;

const CREATE: &str = "
CREATE TABLE meta (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version   INTEGER NOT NULL,
    token_uuid       BLOB NOT NULL,
    generation       INTEGER NOT NULL DEFAULT 0,
    initialized      INTEGER NOT NULL DEFAULT 0,
    label            TEXT NOT NULL DEFAULT '',
    kdf_memory_kib   INTEGER,
    kdf_iterations   INTEGER,
    kdf_parallelism  INTEGER,
    max_pin_failures INTEGER,
    mk_check         BLOB
);
CREATE TABLE pins (
    kind            TEXT PRIMARY KEY CHECK (kind IN ('so', 'user')),
    salt            BLOB NOT NULL,
    kdf_memory_kib  INTEGER NOT NULL,
    kdf_iterations  INTEGER NOT NULL,
    kdf_parallelism INTEGER NOT NULL,
    wrapped_mk      BLOB NOT NULL,
    failures        INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE objects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    class       INTEGER,
    key_type    INTEGER,
    label       BLOB,
    cka_id      BLOB,
    public      BLOB NOT NULL,
    sealed      BLOB,
    wrapped_dek BLOB
);
CREATE INDEX objects_by_class ON objects (class, key_type);
CREATE INDEX objects_by_label ON objects (label);
CREATE INDEX objects_by_cka_id ON objects (cka_id);
";

/// The audit log (added within schema version 1: created where missing). Rows are
/// hash-chained and MACed by `crate::manage::audit`; the store only keeps them in order.
const AUDIT: &str = "
CREATE TABLE IF NOT EXISTS audit (
    seq   INTEGER PRIMARY KEY,
    entry BLOB NOT NULL,
    chain BLOB NOT NULL,
    mac   BLOB NOT NULL
);
";

/// Create the schema in an empty database, or check that this one is ours. Runs inside
/// an IMMEDIATE transaction so two processes creating the same token do not race.
pub(crate) fn ensure(conn: &Connection, path: &Path) -> Result<(), TxError> {
    let app: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if app == 0 && tables == 0 {
        conn.execute_batch(CREATE)?;
        super::changes::ensure(conn)?;
        conn.execute_batch(AUDIT)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        let uuid: TokenUuid = super::seal::random();
        conn.execute(
            "INSERT INTO meta (id, schema_version, token_uuid) VALUES (1, ?1, ?2)",
            params![SCHEMA_VERSION, &uuid[..]],
        )?;
        return Ok(());
    }
    if app != APPLICATION_ID {
        return Err(Error::new(
            ErrorKind::TokenNotRecognized,
            format!(
                "{} is not a pqhsm token store: point the token directory elsewhere",
                path.display()
            ),
        )
        .into());
    }
    let version: Option<i64> = conn
        .query_row("SELECT schema_version FROM meta", [], |r| r.get(0))
        .optional()?;
    match version {
        // Both additions within version 1 (the change log, the audit table) are created
        // where an older writer of this version left them out.
        Some(SCHEMA_VERSION) => {
            super::changes::ensure(conn)?;
            conn.execute_batch(AUDIT)?;
            Ok(())
        }
        Some(v) => Err(Error::new(
            ErrorKind::TokenNotRecognized,
            format!(
                "the token store {} has schema version {v}; this pqhsm reads version {SCHEMA_VERSION}: use the matching pqhsm release",
                path.display()
            ),
        )
        .into()),
        None => Err(damaged("the token record is missing").into()),
    }
}

/// StoreTampered for token-level damage (objects have their own message).
pub(crate) fn damaged(what: &str) -> Error {
    Error::new(
        ErrorKind::StoreTampered,
        format!("the token record failed its integrity check ({what}): the token store was modified outside pqhsm"),
    )
}

/// The token row.
pub(crate) struct Meta {
    pub uuid: TokenUuid,
    pub initialized: bool,
    pub label: String,
    /// Parameters for new PIN wraps; `None` before initialisation.
    pub kdf: Option<KdfParams>,
    pub max_pin_failures: u32,
    /// An empty message sealed under MK; `None` before initialisation.
    pub mk_check: Option<Vec<u8>>,
}

impl Meta {
    /// The recorded KDF parameters of an initialised token.
    pub(crate) fn kdf(&self) -> Result<KdfParams, Error> {
        self.kdf.ok_or_else(|| damaged("KDF parameters missing"))
    }
}

/// One PIN's row: its salt and KDF parameters, MK wrapped under its KEK, failures.
#[derive(Clone)]
pub(crate) struct PinRow {
    pub salt: Vec<u8>,
    pub kdf: KdfParams,
    pub wrapped_mk: Vec<u8>,
    pub failures: u32,
}

impl PinRow {
    /// Same salt and wrapped MK: the PIN was not changed (failure counts may differ).
    pub(crate) fn same_wrap(&self, other: &PinRow) -> bool {
        self.salt == other.salt && self.wrapped_mk == other.wrapped_mk
    }
}

pub(crate) fn pin_name(who: PinKind) -> &'static str {
    match who {
        PinKind::So => "so",
        PinKind::User => "user",
    }
}

pub(crate) fn read_meta(conn: &Connection) -> Result<Meta, TxError> {
    type Row = (
        Vec<u8>,
        bool,
        String,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<u32>,
        Option<Vec<u8>>,
    );
    let row: Row = conn.query_row(
        "SELECT token_uuid, initialized, label, kdf_memory_kib, kdf_iterations, kdf_parallelism,
                max_pin_failures, mk_check FROM meta WHERE id = 1",
        [],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        },
    )?;
    let (uuid, initialized, label, m, t, p, max, mk_check) = row;
    let uuid: TokenUuid = uuid
        .try_into()
        .map_err(|_| damaged(&format!("token uuid is not {TOKEN_UUID_LEN} bytes")))?;
    let kdf = match (m, t, p) {
        (Some(memory_kib), Some(iterations), Some(parallelism)) => Some(KdfParams {
            memory_kib,
            iterations,
            parallelism,
        }),
        (None, None, None) => None,
        _ => return Err(damaged("KDF parameters incomplete").into()),
    };
    let max_pin_failures = match (initialized, max) {
        (true, Some(n)) if n > 0 => n,
        (true, _) => return Err(damaged("PIN failure limit missing").into()),
        (false, n) => n.unwrap_or(0),
    };
    if initialized && (kdf.is_none() || mk_check.is_none()) {
        return Err(damaged("initialised token without keys").into());
    }
    Ok(Meta {
        uuid,
        initialized,
        label,
        kdf,
        max_pin_failures,
        mk_check,
    })
}

pub(crate) fn read_pin(conn: &Connection, who: PinKind) -> Result<Option<PinRow>, TxError> {
    let row = conn
        .query_row(
            "SELECT salt, kdf_memory_kib, kdf_iterations, kdf_parallelism, wrapped_mk, failures
             FROM pins WHERE kind = ?1",
            [pin_name(who)],
            |r| {
                Ok(PinRow {
                    salt: r.get(0)?,
                    kdf: KdfParams {
                        memory_kib: r.get(1)?,
                        iterations: r.get(2)?,
                        parallelism: r.get(3)?,
                    },
                    wrapped_mk: r.get(4)?,
                    failures: r.get(5)?,
                })
            },
        )
        .optional()?;
    match row {
        Some(row) if row.salt.len() != SALT_LEN => {
            Err(damaged("PIN salt has the wrong length").into())
        }
        row => Ok(row),
    }
}

/// Insert or replace a PIN's row with a fresh wrap and no failures.
pub(crate) fn write_pin(
    conn: &Connection,
    who: PinKind,
    salt: &[u8],
    kdf: &KdfParams,
    wrapped_mk: &[u8],
) -> Result<(), TxError> {
    conn.execute(
        "INSERT OR REPLACE INTO pins
             (kind, salt, kdf_memory_kib, kdf_iterations, kdf_parallelism, wrapped_mk, failures)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)",
        params![
            pin_name(who),
            salt,
            kdf.memory_kib,
            kdf.iterations,
            kdf.parallelism,
            wrapped_mk
        ],
    )?;
    Ok(())
}
