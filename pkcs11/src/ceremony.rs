//! The one wrapper every C entry point goes through: panics stop here (CKR_GENERAL_ERROR),
//! "is the library initialised" is answered here, and core errors become CK_RV here.
//! It also owns the process-wide module. It must never let an unwind reach C.

use cryptoki_sys as ck;
use pqhsm::module::InitOptions;
use pqhsm::{Error, ErrorKind, Module, Result};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Once, PoisonError, RwLock};

/// The module between C_Initialize and C_Finalize. Calls clone the Arc and release the
/// lock at once, so a long operation never blocks another thread's C_Finalize; the last
/// clone to go drops (and zeroizes) the module.
static MODULE: RwLock<Option<Arc<Module>>> = RwLock::new(None);

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
    start_logging();
    // The write lock is held while the module is built so that two racing C_Initialize
    // calls cannot both succeed.
    let mut slot = MODULE.write().unwrap_or_else(PoisonError::into_inner);
    if slot.is_some() {
        return Err(Error::new(
            ErrorKind::AlreadyInitialized,
            "C_Initialize was already called; call C_Finalize first",
        ));
    }
    *slot = Some(Arc::new(Module::new(opts)?));
    Ok(())
}

/// C_Finalize: forget the module. Its secrets are zeroized when the last in-flight call
/// that still holds it returns.
pub(crate) fn finalize() -> Result<()> {
    let module = MODULE
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    match module {
        Some(m) => {
            drop(m);
            Ok(())
        }
        None => Err(not_initialised()),
    }
}

fn current() -> Result<Arc<Module>> {
    MODULE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .ok_or_else(not_initialised)
}

fn not_initialised() -> Error {
    Error::new(
        ErrorKind::NotInitialized,
        "the library is not initialised: call C_Initialize first",
    )
}

fn guard(name: &'static str, f: impl FnOnce() -> Result<()>) -> ck::CK_RV {
    // Logging happens inside the catch so that nothing on this path can unwind into C.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        tracing::trace!(function = name, "called");
        match f() {
            Ok(()) => ck::CKR_OK,
            Err(e) => {
                tracing::debug!(function = name, kind = ?e.kind(), "{}", e.message());
                e.ckr()
            }
        }
    }));
    match outcome {
        Ok(rv) => rv,
        Err(payload) => {
            let _ = catch_unwind(AssertUnwindSafe(|| {
                tracing::error!(
                    function = name,
                    "internal error stopped at the C boundary: {}",
                    panic_text(&*payload)
                );
            }));
            // Dropping a panic payload can itself panic; never let that escape either.
            if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(again);
            }
            ck::CKR_GENERAL_ERROR
        }
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

/// `PQHSM_LOG` (a `tracing` filter such as `debug` or `pqhsm=trace`) turns on logging to
/// stderr; without it the module stays silent. A host that installed its own global
/// subscriber keeps it.
fn start_logging() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(filter) = std::env::var("PQHSM_LOG") else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_new(&filter)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .try_init();
    });
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
