//! SQLite plumbing for the token store: opening the file with safe permissions and
//! pragmas, transactions with bounded busy retries, error classification, and the cheap
//! change counter. Knows tables only through `meta.generation`; never sees a key.

use crate::error::{Error, ErrorKind, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::fs;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

/// The database file inside a token directory.
pub(crate) const FILE_NAME: &str = "token.sqlite";

/// How long SQLite's own busy handler waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Further attempts after SQLITE_BUSY escapes the busy handler (lock upgrades, WAL
/// recovery), with exponential back-off from `FIRST_BACKOFF` up to `MAX_BACKOFF`.
const BUSY_RETRIES: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(250);

/// An error inside a transaction: SQLite's (classified, maybe retried) or the store's own
/// (returned as is, after rolling back).
pub(crate) enum TxError {
    Db(rusqlite::Error),
    Core(Error),
}

impl From<rusqlite::Error> for TxError {
    fn from(e: rusqlite::Error) -> Self {
        TxError::Db(e)
    }
}

impl From<Error> for TxError {
    fn from(e: Error) -> Self {
        TxError::Core(e)
    }
}

struct Conn {
    conn: Connection,
    /// (`PRAGMA data_version`, `meta.generation`) as last read: while data_version stays
    /// the same no other connection has committed, so the counter cannot have moved.
    generation: Option<(i64, u64)>,
}

/// One connection to one token database, shared by the threads of this process.
pub(crate) struct Db {
    path: PathBuf,
    conn: Mutex<Conn>,
}

impl Db {
    /// Open (creating if missing) `dir/token.sqlite`: directory 0700, file 0600, WAL,
    /// synchronous=FULL, foreign keys and secure delete on.
    pub(crate) fn open(dir: &Path) -> Result<Db> {
        let io = |what: &str, e: std::io::Error| {
            Error::new(
                ErrorKind::StoreIo,
                format!("cannot {what} {}: {e}", dir.display()),
            )
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io("create the token directory", e))?;
        let path = dir.join(FILE_NAME);
        // Create the file ourselves so it is born 0600; SQLite gives its -wal and -shm
        // files the same mode.
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io("open the token store in", e))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| classify(&path, e))?;
        let db = Db {
            path,
            conn: Mutex::new(Conn {
                conn,
                generation: None,
            }),
        };
        db.retrying(|c| {
            c.conn.busy_timeout(BUSY_TIMEOUT)?;
            let mode: String =
                c.conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(TxError::Core(Error::new(
                    ErrorKind::StoreIo,
                    format!("the token store {} cannot use WAL mode (journal mode stays {mode}): put the token directory on a local filesystem", db.path.display()),
                )));
            }
            c.conn.pragma_update(None, "synchronous", "FULL")?;
            c.conn.pragma_update(None, "foreign_keys", "ON")?;
            c.conn.pragma_update(None, "secure_delete", "ON")?;
            Ok(())
        })?;
        Ok(db)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` in a read (DEFERRED) transaction: one consistent snapshot.
    pub(crate) fn read<T>(
        &self,
        mut f: impl FnMut(&Connection) -> Result<T, TxError>,
    ) -> Result<T> {
        self.retrying(|c| in_transaction(&mut c.conn, TransactionBehavior::Deferred, &mut f))
    }

    /// Run `f` in an IMMEDIATE transaction and commit (durably: synchronous=FULL). When
    /// `f` changed any row, `meta.generation` is bumped in the same commit, so every
    /// write is visible to [`Db::generation`]. `f` may run more than once (busy retries);
    /// when it returns an error nothing is committed.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&Connection) -> Result<T, TxError>,
    ) -> Result<T> {
        self.retrying(|c| {
            c.generation = None;
            in_transaction(&mut c.conn, TransactionBehavior::Immediate, &mut f)
        })
    }

    /// A number that changes whenever any connection (this one or another process's)
    /// commits a change. Cheap: one pragma while nothing else has written.
    pub(crate) fn generation(&self) -> Result<u64> {
        self.retrying(|c| {
            // Prepared once per connection: this runs every few milliseconds of key use.
            let version: i64 = c
                .conn
                .prepare_cached("PRAGMA data_version")?
                .query_row([], |r| r.get(0))?;
            if let Some((v, g)) = c.generation {
                if v == version {
                    return Ok(g);
                }
            }
            let g: i64 = c
                .conn
                .query_row("SELECT generation FROM meta", [], |r| r.get(0))?;
            // Only ever compared for equality: reinterpreting the sign bit is harmless.
            let g = g as u64;
            c.generation = Some((version, g));
            Ok(g)
        })
    }

    /// Best effort: copy the WAL into the database and truncate it, so pages that held
    /// since-deleted wrapped keys do not linger in the log. Never fails the caller.
    pub(crate) fn checkpoint(&self) {
        let c = self.lock();
        let _ = c
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }

    fn lock(&self) -> MutexGuard<'_, Conn> {
        // A panic while holding the lock rolled its transaction back on unwind, so the
        // connection itself is still sound.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `f` with the connection, retrying (with back-off, lock released) while SQLite
    /// reports the database busy; afterwards a busy error becomes a clear StoreIo.
    fn retrying<T>(&self, mut f: impl FnMut(&mut Conn) -> Result<T, TxError>) -> Result<T> {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            let outcome = f(&mut self.lock());
            match outcome {
                Ok(v) => return Ok(v),
                Err(TxError::Core(e)) => return Err(e),
                Err(TxError::Db(e)) if is_busy(&e) && attempt < BUSY_RETRIES => {
                    attempt += 1;
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(TxError::Db(e)) => return Err(classify(&self.path, e)),
            }
        }
    }
}

fn in_transaction<T>(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    f: &mut impl FnMut(&Connection) -> Result<T, TxError>,
) -> Result<T, TxError> {
    let tx = conn.transaction_with_behavior(behavior)?;
    let before = tx.total_changes();
    let value = f(&tx)?;
    if tx.total_changes() != before {
        tx.execute("UPDATE meta SET generation = generation + 1", [])?;
    }
    tx.commit()?;
    Ok(value)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Turn a SQLite error into a store error a user can act on: damage and unexpected
/// content are StoreTampered, everything else StoreIo.
pub(crate) fn classify(path: &Path, e: rusqlite::Error) -> Error {
    let file = path.display();
    if let Some(code) = e.sqlite_error_code() {
        return match code {
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => Error::new(
                ErrorKind::StoreTampered,
                format!("the token store {file} is damaged ({e}): restore it from a backup or re-create the token"),
            ),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::new(
                ErrorKind::StoreIo,
                format!("the token store {file} stayed locked by another process: retry"),
            ),
            ErrorCode::DiskFull => Error::new(
                ErrorKind::StoreIo,
                format!("the disk holding the token store {file} is full: free space and retry"),
            ),
            ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen => Error::new(
                ErrorKind::StoreIo,
                format!("cannot write the token store {file} ({e}): check its permissions and owner"),
            ),
            _ => Error::new(ErrorKind::StoreIo, format!("token store {file}: {e}")),
        };
    }
    match e {
        // A column holds a value of the wrong type or range: someone edited the rows.
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::QueryReturnedNoRows => Error::new(
            ErrorKind::StoreTampered,
            format!("the token store {file} holds unexpected content ({e}): it was modified outside pqhsm"),
        ),
        _ => Error::new(ErrorKind::StoreIo, format!("token store {file}: {e}")),
    }
}
