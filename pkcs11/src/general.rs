//! General-purpose functions (spec 5.4): C_Initialize, C_Finalize, C_GetInfo and the ways a
//! client finds the function lists. Only these may run before C_Initialize, and of them
//! only C_Initialize creates module state.

use crate::ceremony::{call, call_uninitialised, finalize, initialize};
use crate::function_list::{list_version, FUNCTIONS_2_40, INTERFACES, INTERFACE_NAME};
use crate::marshal::{arguments_bad, padded, read, write, write_list};
use cryptoki_sys as ck;
use pqhsm::module::InitOptions;
use pqhsm::{Error, ErrorKind, Result};
use std::ffi::{c_char, c_void, CStr};

pub(crate) const MANUFACTURER: &str = "pqhsm";
const DESCRIPTION: &str = "pqhsm software HSM";

#[no_mangle]
pub extern "C" fn C_Initialize(pInitArgs: *mut c_void) -> ck::CK_RV {
    call_uninitialised("C_Initialize", || {
        // SAFETY: a non-NULL pInitArgs points to a CK_C_INITIALIZE_ARGS (spec 5.4).
        let opts = unsafe { init_options(pInitArgs as *const ck::CK_C_INITIALIZE_ARGS)? };
        initialize(opts)
    })
}

/// CK_C_INITIALIZE_ARGS rules (spec 5.4, C_Initialize). This module always locks with OS
/// primitives, so application mutex callbacks are accepted only alongside
/// CKF_OS_LOCKING_OK.
///
/// # Safety
/// When non-NULL, `p` must be valid for reads of a CK_C_INITIALIZE_ARGS.
unsafe fn init_options(p: *const ck::CK_C_INITIALIZE_ARGS) -> Result<InitOptions> {
    if p.is_null() {
        return Ok(InitOptions::default());
    }
    // SAFETY: forwarded contract.
    let args = unsafe { read(p, "pInitArgs")? };
    if !args.pReserved.is_null() {
        return Err(arguments_bad("CK_C_INITIALIZE_ARGS.pReserved must be NULL"));
    }
    let callbacks = [
        args.CreateMutex.is_some(),
        args.DestroyMutex.is_some(),
        args.LockMutex.is_some(),
        args.UnlockMutex.is_some(),
    ];
    let given = callbacks.iter().filter(|&&c| c).count();
    if given != 0 && given != callbacks.len() {
        return Err(arguments_bad(
            "CK_C_INITIALIZE_ARGS: give all four mutex callbacks or none",
        ));
    }
    if given != 0 && args.flags & ck::CKF_OS_LOCKING_OK == 0 {
        return Err(Error::new(
            ErrorKind::CantLock,
            "this module locks with OS primitives only: set CKF_OS_LOCKING_OK",
        ));
    }
    Ok(InitOptions {
        no_os_threads: args.flags & ck::CKF_LIBRARY_CANT_CREATE_OS_THREADS != 0,
    })
}

#[no_mangle]
pub extern "C" fn C_Finalize(pReserved: *mut c_void) -> ck::CK_RV {
    call_uninitialised("C_Finalize", || {
        if !pReserved.is_null() {
            return Err(arguments_bad("C_Finalize: pReserved must be NULL"));
        }
        finalize()
    })
}

#[no_mangle]
pub extern "C" fn C_GetInfo(pInfo: *mut ck::CK_INFO) -> ck::CK_RV {
    call("C_GetInfo", |_| {
        let info = ck::CK_INFO {
            cryptokiVersion: ck::CK_VERSION { major: 3, minor: 2 },
            manufacturerID: padded(MANUFACTURER),
            flags: 0,
            libraryDescription: padded(DESCRIPTION),
            libraryVersion: library_version(),
        };
        // SAFETY: pInfo, when non-NULL, points to a CK_INFO the caller owns.
        unsafe { write(pInfo, info, "pInfo is NULL") }
    })
}

/// The crate version (major.minor) as a CK_VERSION; clients print the minor part as
/// decimal digits, so it stays below 100.
pub(crate) fn library_version() -> ck::CK_VERSION {
    let part = |s: &str| s.parse::<u8>().unwrap_or(0);
    ck::CK_VERSION {
        major: part(env!("CARGO_PKG_VERSION_MAJOR")),
        minor: part(env!("CARGO_PKG_VERSION_MINOR")).min(99),
    }
}

#[no_mangle]
pub extern "C" fn C_GetFunctionList(ppFunctionList: *mut *mut ck::CK_FUNCTION_LIST) -> ck::CK_RV {
    call_uninitialised("C_GetFunctionList", || {
        let list = &FUNCTIONS_2_40 as *const ck::CK_FUNCTION_LIST as *mut ck::CK_FUNCTION_LIST;
        // SAFETY: ppFunctionList, when non-NULL, points to a pointer the caller owns. The
        // list is read-only; the spec forbids callers to write through it.
        unsafe { write(ppFunctionList, list, "ppFunctionList is NULL") }
    })
}

#[no_mangle]
pub extern "C" fn C_GetInterfaceList(
    pInterfacesList: *mut ck::CK_INTERFACE,
    pulCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call_uninitialised("C_GetInterfaceList", || {
        let all: Vec<ck::CK_INTERFACE> = INTERFACES.iter().map(|i| i.0).collect();
        // SAFETY: pulCount and pInterfacesList follow the counted-list contract (spec 5.4).
        unsafe { write_list(pInterfacesList, pulCount, &all) }
    })
}

#[no_mangle]
pub extern "C" fn C_GetInterface(
    pInterfaceName: *mut ck::CK_UTF8CHAR,
    pVersion: *mut ck::CK_VERSION,
    ppInterface: *mut *mut ck::CK_INTERFACE,
    flags: ck::CK_FLAGS,
) -> ck::CK_RV {
    call_uninitialised("C_GetInterface", || {
        if ppInterface.is_null() {
            return Err(arguments_bad("ppInterface is NULL"));
        }
        // SAFETY: a non-NULL name is a NUL-terminated string (spec 5.4).
        let name_ok = pInterfaceName.is_null()
            || unsafe { CStr::from_ptr(pInterfaceName as *const c_char) }.to_bytes_with_nul()
                == INTERFACE_NAME;
        let wanted = if pVersion.is_null() {
            None
        } else {
            // SAFETY: non-NULL pVersion points to a CK_VERSION.
            Some(unsafe { read(pVersion, "pVersion")? })
        };
        let found = INTERFACES.iter().find(|i| {
            let v = list_version(i);
            name_ok
                && wanted.is_none_or(|w| (w.major, w.minor) == (v.major, v.minor))
                && i.0.flags & flags == flags
        });
        let Some(found) = found else {
            return Err(arguments_bad(
                "no interface matches: this module offers \"PKCS 11\" 3.2, 3.0 and 2.40 with flags 0",
            ));
        };
        let p = &found.0 as *const ck::CK_INTERFACE as *mut ck::CK_INTERFACE;
        // SAFETY: ppInterface is non-NULL and points to a pointer the caller owns; the
        // interface is a read-only static.
        unsafe { write(ppInterface, p, "ppInterface is NULL") }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null_mut;

    unsafe extern "C" fn create(_: *mut *mut c_void) -> ck::CK_RV {
        ck::CKR_OK
    }
    unsafe extern "C" fn other(_: *mut c_void) -> ck::CK_RV {
        ck::CKR_OK
    }

    fn args(callbacks: bool, flags: ck::CK_FLAGS) -> ck::CK_C_INITIALIZE_ARGS {
        ck::CK_C_INITIALIZE_ARGS {
            CreateMutex: callbacks.then_some(create as _),
            DestroyMutex: callbacks.then_some(other as _),
            LockMutex: callbacks.then_some(other as _),
            UnlockMutex: callbacks.then_some(other as _),
            flags,
            pReserved: null_mut(),
        }
    }

    fn init(a: &mut ck::CK_C_INITIALIZE_ARGS) -> ck::CK_RV {
        C_Initialize(a as *mut _ as *mut c_void)
    }

    /// These are refused before any module exists, so they need no module at all.
    #[test]
    fn initialize_argument_rules() {
        let mut reserved = 0u8;
        let mut a = args(false, 0);
        a.pReserved = &mut reserved as *mut u8 as *mut c_void;
        assert_eq!(init(&mut a), ck::CKR_ARGUMENTS_BAD);

        let mut a = args(true, ck::CKF_OS_LOCKING_OK);
        a.LockMutex = None;
        assert_eq!(init(&mut a), ck::CKR_ARGUMENTS_BAD);

        // Application mutexes only: this module cannot use them.
        assert_eq!(init(&mut args(true, 0)), ck::CKR_CANT_LOCK);
    }

    #[test]
    fn initialize_options() {
        let opts = |a: ck::CK_C_INITIALIZE_ARGS| {
            // SAFETY: `a` is a valid CK_C_INITIALIZE_ARGS.
            unsafe { init_options(&a) }.map(|o| o.no_os_threads)
        };
        assert_eq!(opts(args(false, 0)), Ok(false));
        assert_eq!(opts(args(true, ck::CKF_OS_LOCKING_OK)), Ok(false));
        assert_eq!(
            opts(args(
                false,
                ck::CKF_LIBRARY_CANT_CREATE_OS_THREADS | ck::CKF_OS_LOCKING_OK
            )),
            Ok(true)
        );
        // SAFETY: NULL means defaults.
        assert!(
            !unsafe { init_options(std::ptr::null()) }
                .unwrap()
                .no_os_threads
        );
    }

    #[test]
    fn library_version_is_the_crate_version() {
        let v = library_version();
        assert_eq!(v.major.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
        assert_eq!(v.minor.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
    }

    /// A private data directory for tests that create the module.
    fn isolated_data_dir() {
        let dir = std::env::temp_dir().join(format!("pqhsm-abi-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::env::set_var("PQHSM_DATA_DIR", &dir);
    }

    #[test]
    fn initialize_finalize_and_again() {
        let _g = crate::ceremony::TEST_STATE
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        isolated_data_dir();
        assert_eq!(C_Initialize(null_mut()), ck::CKR_OK);
        assert_eq!(
            C_Initialize(null_mut()),
            ck::CKR_CRYPTOKI_ALREADY_INITIALIZED
        );
        let mut os_locking = args(true, ck::CKF_OS_LOCKING_OK);
        assert_eq!(init(&mut os_locking), ck::CKR_CRYPTOKI_ALREADY_INITIALIZED);

        let mut info = std::mem::MaybeUninit::<ck::CK_INFO>::zeroed();
        assert_eq!(C_GetInfo(info.as_mut_ptr()), ck::CKR_OK);
        // SAFETY: C_GetInfo filled the struct.
        let info = unsafe { info.assume_init() };
        assert_eq!(
            (info.cryptokiVersion.major, info.cryptokiVersion.minor),
            (3, 2)
        );
        assert_eq!(info.flags, 0);
        assert_eq!(&info.manufacturerID[..6], b"pqhsm ");
        assert!(info.manufacturerID[6..].iter().all(|&b| b == b' '));
        assert!(info.libraryDescription.ends_with(b"  "));
        assert_eq!(C_GetInfo(null_mut()), ck::CKR_ARGUMENTS_BAD);

        let mut reserved = 0u8;
        assert_eq!(
            C_Finalize(&mut reserved as *mut u8 as *mut c_void),
            ck::CKR_ARGUMENTS_BAD
        );
        assert_eq!(C_Finalize(null_mut()), ck::CKR_OK);
        assert_eq!(C_Finalize(null_mut()), ck::CKR_CRYPTOKI_NOT_INITIALIZED);
        assert_eq!(C_GetInfo(null_mut()), ck::CKR_CRYPTOKI_NOT_INITIALIZED);

        // Again in the same process, this time with OS locking and no threads.
        let mut a = args(
            true,
            ck::CKF_OS_LOCKING_OK | ck::CKF_LIBRARY_CANT_CREATE_OS_THREADS,
        );
        assert_eq!(init(&mut a), ck::CKR_OK);
        assert_eq!(C_Finalize(null_mut()), ck::CKR_OK);
    }

    /// A child forked after C_Initialize starts uninitialised, may initialise its own
    /// module, and leaves the parent's module working.
    #[test]
    fn a_forked_child_initialises_its_own_module() {
        let _g = crate::ceremony::TEST_STATE
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        isolated_data_dir();
        assert_eq!(C_Initialize(null_mut()), ck::CKR_OK);
        let mut info = std::mem::MaybeUninit::<ck::CK_INFO>::zeroed();
        // SAFETY: fork in a test; the child only calls into this library and _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = (|| {
                if C_GetInfo(info.as_mut_ptr()) != ck::CKR_CRYPTOKI_NOT_INITIALIZED {
                    return 1;
                }
                // The parent's module is not the child's to finalise.
                if C_Finalize(null_mut()) != ck::CKR_CRYPTOKI_NOT_INITIALIZED {
                    return 5;
                }
                if C_Initialize(null_mut()) != ck::CKR_OK {
                    return 2;
                }
                if C_GetInfo(info.as_mut_ptr()) != ck::CKR_OK {
                    return 3;
                }
                if C_Finalize(null_mut()) != ck::CKR_OK {
                    return 4;
                }
                0
            })();
            // SAFETY: leave the child without running the parent's exit handlers.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child just forked.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "child did not exit normally");
        assert_eq!(libc::WEXITSTATUS(status), 0, "child step that failed");
        assert_eq!(
            C_GetInfo(info.as_mut_ptr()),
            ck::CKR_OK,
            "the parent is unaffected"
        );
        assert_eq!(C_Finalize(null_mut()), ck::CKR_OK);
    }
}
