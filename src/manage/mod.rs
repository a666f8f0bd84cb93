//! Key management inside the core: named keys with explicit versions, rotation, retirement,
//! lifecycle and key states, policies, import/export, envelope operations and the audit
//! log. Every concept is an attribute on the key's own PKCS#11 objects (see
//! `crate::object::vendor`), changed only here, atomically, and enforced where operations
//! start, so the CLI and PKCS#11 clients see one truth.

pub mod audit;
pub mod clock;
pub mod lifecycle;
pub mod meta;

use clock::{Clock, SystemClock};
use std::sync::{Arc, RwLock};

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
