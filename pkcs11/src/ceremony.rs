//! The one wrapper every C entry point goes through: panics stop here (CKR_GENERAL_ERROR),
//! "is the library initialised" is answered here, and core errors become CK_RV here.
//! It also owns the process-wide module. It must never let an unwind reach C.

use cryptoki_sys as ck;
use pqhsm::module::InitOptions;
use pqhsm::{Error, ErrorKind, Module, Result};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// The module between C_Initialize and C_Finalize. Calls clone the Arc and release the
/// lock at once, so a long operation never blocks another thread's C_Finalize; the last
/// clone to go drops (and zeroizes) the module.
static MODULE: RwLock<Option<Loaded>> = RwLock::new(None);

struct Loaded {
    module: Arc<Module>,
    /// `FORKS` when C_Initialize ran. A child forked after it starts uninitialised (spec:
    /// the child calls C_Initialize) and never touches the parent's store handles.
    forks: u64,
}

impl Loaded {
    fn here(&self) -> bool {
        self.forks == FORKS.load(Ordering::Acquire)
    }
}

/// How many fork()s this process image has come out of as the child. Counted by an atfork
/// handler, so telling the parent's module from our own costs no system call per entry.
static FORKS: AtomicU64 = AtomicU64::new(0);

extern "C" fn forked_child() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

/// Register the fork counter once per process (before any module is created).
fn count_forks() -> Result<()> {
    static REGISTERED: OnceLock<i32> = OnceLock::new();
    let rc = *REGISTERED.get_or_init(|| {
        // SAFETY: `forked_child` only touches an atomic, which is async-signal-safe as the
        // child of a multi-threaded fork requires; glibc drops the handler if the library
        // is unloaded.
        unsafe { libc::pthread_atfork(None, None, Some(forked_child)) }
    });
    match rc {
        0 => Ok(()),
        e => Err(Error::new(
            ErrorKind::FunctionFailed,
            format!("cannot watch for fork() (pthread_atfork failed with {e}): the module could not tell this process from a forked child"),
        )),
    }
}

/// A module inherited across fork(): it belongs to the parent. Dropping it would close
/// (and maybe checkpoint) store handles the parent still uses, so the child's copy is left
/// alone; it is a copy of memory the child already has.
fn abandon(inherited: Loaded) {
    std::mem::forget(inherited);
}

/// Run `f` with the initialised module: CKR_CRYPTOKI_NOT_INITIALIZED when there is none.
pub(crate) fn call(name: &'static str, f: impl FnOnce(&Module) -> Result<()>) -> ck::CK_RV {
    guard(name, || f(current()?.as_ref()))
}

/// Run `f` without requiring C_Initialize (C_Initialize itself, C_Finalize, C_GetFunctionList,
/// C_GetInterfaceList, C_GetInterface).
pub(crate) fn call_uninitialised(name: &'static str, f: impl FnOnce() -> Result<()>) -> ck::CK_RV {
    guard(name, f)
}

/// The error of a function this module declines to implement.
pub(crate) fn not_supported(what: &str) -> Result<()> {
    Err(Error::new(
        ErrorKind::FunctionNotSupported,
        format!("{what} is not supported by this token"),
    ))
}

/// Entry points this module declines: each still goes through the ceremony (so it answers
/// CKR_CRYPTOKI_NOT_INITIALIZED first) and then gives `$answer`, never success.
macro_rules! declined {
    ($($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) => $answer:expr;)*) => {$(
        $(#[$doc])*
        #[no_mangle]
        pub extern "C" fn $name($($arg: $ty),*) -> ::cryptoki_sys::CK_RV {
            $crate::ceremony::call(stringify!($name), |_| {
                let _ = ($($arg,)*);
                $answer
            })
        }
    )*};
}
pub(crate) use declined;

/// C_Initialize: create the module unless one exists.
pub(crate) fn initialize(opts: InitOptions) -> Result<()> {
    crate::log::start();
    // The write lock is held while the module is built so that two racing C_Initialize
    // calls cannot both succeed.
    let mut slot = MODULE.write().unwrap_or_else(PoisonError::into_inner);
    match slot.take() {
        Some(loaded) if loaded.here() => {
            *slot = Some(loaded);
            return Err(Error::new(
                ErrorKind::AlreadyInitialized,
                "C_Initialize was already called; call C_Finalize first",
            ));
        }
        Some(inherited) => abandon(inherited),
        None => {}
    }
    count_forks()?;
    *slot = Some(Loaded {
        module: Arc::new(Module::new(opts)?),
        forks: FORKS.load(Ordering::Acquire),
    });
    Ok(())
}

/// C_Finalize: forget the module. Its secrets are zeroized when the last in-flight call
/// that still holds it returns.
pub(crate) fn finalize() -> Result<()> {
    let loaded = MODULE
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match loaded {
        Some(loaded) if loaded.here() => {
            drop(loaded);
            Ok(())
        }
        Some(inherited) => {
            abandon(inherited);
            Err(not_initialised())
        }
        None => Err(not_initialised()),
    }
}

fn current() -> Result<Arc<Module>> {
    match &*MODULE.read().unwrap_or_else(PoisonError::into_inner) {
        Some(loaded) if loaded.here() => Ok(loaded.module.clone()),
        _ => Err(not_initialised()),
    }
}

fn not_initialised() -> Error {
    Error::new(
        ErrorKind::NotInitialized,
        "the library is not initialised in this process: call C_Initialize first",
    )
}

fn guard(name: &'static str, f: impl FnOnce() -> Result<()>) -> ck::CK_RV {
    quietly(|| tracing::trace!(function = name, "called"));
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => ck::CKR_OK,
        Ok(Err(e)) => {
            quietly(|| tracing::debug!(function = name, kind = ?e.kind(), "{}", e.message()));
            e.ckr()
        }
        Err(payload) => {
            quietly(|| {
                tracing::error!(
                    function = name,
                    "internal error stopped at the C boundary: {}",
                    panic_text(&*payload)
                )
            });
            quietly(move || drop(payload));
            ck::CKR_GENERAL_ERROR
        }
    }
}

/// Run `f` (logging, dropping a panic payload) so that nothing it does can change the
/// answer of the call or unwind into C.
fn quietly(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        // Dropping this payload could panic again; leak it instead.
        std::mem::forget(payload);
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

/// Tests that depend on whether the process-wide module exists hold this lock.
#[cfg(test)]
pub(crate) static TEST_STATE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_general_error() {
        assert_eq!(guard("test", || panic!("boom")), ck::CKR_GENERAL_ERROR);
        let owned = String::from("owned payload");
        assert_eq!(
            guard("test", move || std::panic::panic_any(owned)),
            ck::CKR_GENERAL_ERROR
        );
    }

    #[test]
    fn errors_map_through_their_kind() {
        assert_eq!(guard("test", || Ok(())), ck::CKR_OK);
        assert_eq!(
            guard("test", || Err(Error::new(
                ErrorKind::PinIncorrect,
                "wrong PIN"
            ))),
            ck::CKR_PIN_INCORRECT
        );
        assert_eq!(
            guard("test", || not_supported("C_Test")),
            ck::CKR_FUNCTION_NOT_SUPPORTED
        );
    }
}
