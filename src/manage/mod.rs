//! Key management inside the core: named keys with explicit versions, rotation, retirement,
//! lifecycle and key states, policies, import/export, envelope operations and the audit
//! log. Every concept is an attribute on the key's own PKCS#11 objects (see
//! `crate::object::vendor`), changed only here, atomically, and enforced where operations
//! start, so the CLI and PKCS#11 clients see one truth.

pub mod algorithms;
pub mod audit;
pub mod clock;
mod create;
pub mod envelope;
pub mod export;
pub mod import;
pub mod info;
pub mod lifecycle;
pub mod meta;
pub mod policy;
mod versions;
mod view;

pub use versions::{GenerateRequest, Rotated};

use crate::error::{Error, ErrorKind, Result};
use crate::module::{Module, SessionHandle};
use crate::object::template::NewObject;
use crate::object::Attrs;
use crate::store::{Change, ObjectId};
use crate::token::{Token, Who};
use audit::{Entry, Outcome};
use clock::{Clock, SystemClock, Timestamp};
use std::sync::{Arc, RwLock};
use view::Snapshot;

/// Who acts on the token and what time they see: the clock lifecycle checks read and the
/// actor audit entries name. A module starts as a PKCS#11 client on the system clock; the
/// CLI and the daemon say who they are.
pub struct Caller {
    pub clock: Arc<dyn Clock>,
    pub actor: String,
}

impl Caller {
    /// A PKCS#11 client process on the system clock.
    pub fn pkcs11() -> Caller {
        Caller {
            clock: Arc::new(SystemClock),
            actor: format!("pkcs11 (pid {})", std::process::id()),
        }
    }
}

/// The caller shared by a module and its tokens.
pub type CallerCell = RwLock<Arc<Caller>>;

/// How often a change prepared from a reading of the token is prepared again when another
/// process changed the token in between.
const CONFLICT_RETRIES: usize = 8;

/// The management API over one logged-in read/write session. Used by the CLI and by any
/// later server; every change is one store transaction with its audit entry.
pub struct Manager<'m> {
    module: &'m Module,
    session: SessionHandle,
    token: Arc<Token>,
}

/// The object changes of one management operation, committed together.
#[derive(Default)]
pub(crate) struct Plan {
    pub inserts: Vec<NewObject>,
    pub updates: Vec<(ObjectId, Attrs)>,
    pub deletes: Vec<ObjectId>,
    /// The version the audit entry names.
    pub version: Option<u32>,
    pub detail: String,
}

impl<'m> Manager<'m> {
    /// Manage keys through session `session`: it must be read/write with the user logged in
    /// (key material is sealed under the master key the login unlocks).
    pub fn new(module: &'m Module, session: SessionHandle) -> Result<Manager<'m>> {
        let s = module.session(session)?;
        if s.token.who() != Who::User {
            return Err(Error::new(
                ErrorKind::UserNotLoggedIn,
                "key management needs the user logged in: give the user PIN",
            ));
        }
        if !s.rw {
            return Err(Error::new(
                ErrorKind::SessionReadOnly,
                "key management needs a read/write session",
            ));
        }
        Ok(Manager {
            module,
            session,
            token: s.token.clone(),
        })
    }

    pub fn module(&self) -> &'m Module {
        self.module
    }

    pub fn session(&self) -> SessionHandle {
        self.session
    }

    pub fn token(&self) -> &Arc<Token> {
        &self.token
    }

    /// The caller's clock.
    pub fn now(&self) -> Timestamp {
        self.token.caller().clock.now()
    }

    pub(crate) fn snapshot(&self) -> Result<Snapshot> {
        Snapshot::read(self.token.store().as_ref())
    }

    /// Append an audit entry of its own (e.g. a webhook that failed).
    pub fn record(
        &self,
        action: &str,
        key: Option<&str>,
        version: Option<u32>,
        outcome: Outcome,
        detail: &str,
    ) -> Result<()> {
        audit::record(
            &self.token,
            &Entry::new(&self.token, action, key, version, outcome, detail),
        )
    }

    /// Record a failed or refused operation; a failure to record is logged, and the
    /// operation's own error is what the caller sees.
    fn record_failure(&self, action: &str, key: Option<&str>, version: Option<u32>, e: &Error) {
        let outcome = if e.exit_code() == 2 {
            Outcome::Refused
        } else {
            Outcome::Failed
        };
        if let Err(d) = self.record(action, key, version, outcome, e.message()) {
            tracing::warn!(action, "could not audit a {outcome:?} operation: {d}");
        }
    }

    /// Run a read-only operation; a refusal (not a plain failure) is audited.
    pub(crate) fn audited_read<T>(
        &self,
        action: &str,
        key: Option<&str>,
        version: Option<u32>,
        f: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let r = f();
        if let Err(e) = &r {
            if e.exit_code() == 2 && e.kind() != ErrorKind::KeyLifecycle {
                // Lifecycle refusals are audited where the module refuses them.
                self.record_failure(action, key, version, e);
            }
        }
        r
    }

    /// Prepare a change from a fresh reading of the token and commit it with its audit
    /// entry in one transaction; if another process changed the token meanwhile, prepare
    /// it again. A refusal is audited too.
    pub(crate) fn change<T>(
        &self,
        action: &str,
        key: Option<&str>,
        version: Option<u32>,
        mut prepare: impl FnMut(&Snapshot, Timestamp) -> Result<(Plan, T)>,
    ) -> Result<T> {
        let mk = self.token.master_key().ok_or_else(|| {
            Error::new(
                ErrorKind::UserNotLoggedIn,
                "the user logged out: log in again to manage keys",
            )
        })?;
        for _ in 0..CONFLICT_RETRIES {
            let snap = self.snapshot()?;
            let now = self.now();
            let (plan, value) = match prepare(&snap, now) {
                Ok(p) => p,
                Err(e) => {
                    self.record_failure(action, key, version, &e);
                    return Err(e);
                }
            };
            let entry = Entry::new(
                &self.token,
                action,
                key,
                plan.version.or(version),
                Outcome::Ok,
                plan.detail.clone(),
            );
            let mut changes: Vec<Change<'_>> = Vec::new();
            for n in &plan.inserts {
                changes.push(Change::Insert {
                    public: n.public.as_slice(),
                    secret: n.secret.as_slice(),
                });
            }
            for (id, public) in &plan.updates {
                changes.push(Change::Update {
                    id: *id,
                    public: public.as_slice(),
                });
            }
            for id in &plan.deletes {
                changes.push(Change::Delete { id: *id });
            }
            let committed = audit::with_entry(&mk, &entry, |a| {
                self.token.apply(Some(snap.generation), &changes, Some(a))
            });
            match committed {
                Ok(_) => return Ok(value),
                Err(e) if e.kind() == ErrorKind::Conflict => continue,
                Err(e) => {
                    self.record_failure(action, key, version, &e);
                    return Err(e);
                }
            }
        }
        let e = store_conflict();
        self.record_failure(action, key, version, &e);
        Err(e)
    }
}

fn store_conflict() -> Error {
    Error::new(
        ErrorKind::Conflict,
        "the token kept changing under this operation (other processes are writing): retry",
    )
}

#[cfg(test)]
mod tests;
