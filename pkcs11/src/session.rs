//! Session management functions (spec 5.6): open/close, session facts, login, PINs,
//! C_SessionCancel and 3.2's C_GetSessionValidationFlags, plus the legacy and
//! operation-state calls this token declines.

use crate::ceremony::{call, declined, not_supported};
use crate::marshal::{out_value, pin};
use cryptoki_sys as ck;
use pqhsm::{Error, ErrorKind};
use std::ffi::c_void;

#[no_mangle]
pub extern "C" fn C_OpenSession(
    slotID: ck::CK_SLOT_ID,
    flags: ck::CK_FLAGS,
    pApplication: *mut c_void,
    Notify: ck::CK_NOTIFY,
    phSession: *mut ck::CK_SESSION_HANDLE,
) -> ck::CK_RV {
    call("C_OpenSession", |m| {
        // Notification callbacks are optional for a library (spec 5.6); none are made.
        let _ = (pApplication, Notify);
        // SAFETY: phSession, when non-NULL, points to a handle the caller owns.
        unsafe {
            out_value(phSession, "phSession is NULL", || {
                m.open_session(slotID, flags)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_CloseSession(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    call("C_CloseSession", |m| m.close_session(hSession))
}

#[no_mangle]
pub extern "C" fn C_CloseAllSessions(slotID: ck::CK_SLOT_ID) -> ck::CK_RV {
    call("C_CloseAllSessions", |m| m.close_all_sessions(slotID))
}

#[no_mangle]
pub extern "C" fn C_GetSessionInfo(
    hSession: ck::CK_SESSION_HANDLE,
    pInfo: *mut ck::CK_SESSION_INFO,
) -> ck::CK_RV {
    call("C_GetSessionInfo", |m| {
        let info = || {
            let s = m.session_info(hSession)?;
            Ok(ck::CK_SESSION_INFO {
                slotID: s.slot_id,
                state: s.state,
                flags: s.flags,
                ulDeviceError: s.device_error as ck::CK_ULONG,
            })
        };
        // SAFETY: pInfo, when non-NULL, points to a CK_SESSION_INFO the caller owns.
        unsafe { out_value(pInfo, "pInfo is NULL", info) }
    })
}

/// 3.2: no mechanism of this module carries a validation (FIPS) indicator, so every valid
/// session reports no flags.
#[no_mangle]
pub extern "C" fn C_GetSessionValidationFlags(
    hSession: ck::CK_SESSION_HANDLE,
    type_: ck::CK_SESSION_VALIDATION_FLAGS_TYPE,
    pFlags: *mut ck::CK_FLAGS,
) -> ck::CK_RV {
    call("C_GetSessionValidationFlags", |m| {
        let _ = type_;
        // SAFETY: pFlags, when non-NULL, points to a CK_FLAGS the caller owns.
        unsafe {
            out_value(pFlags, "pFlags is NULL", || {
                m.session_info(hSession).map(|_| 0)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_Login(
    hSession: ck::CK_SESSION_HANDLE,
    userType: ck::CK_USER_TYPE,
    pPin: *mut ck::CK_UTF8CHAR,
    ulPinLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_Login", |m| {
        // SAFETY: pPin is valid for ulPinLen bytes (spec 5.6).
        m.login(hSession, userType, unsafe { pin(pPin, ulPinLen)? })
    })
}

/// 3.0: the token has no named users; without a user name this is C_Login.
#[no_mangle]
pub extern "C" fn C_LoginUser(
    hSession: ck::CK_SESSION_HANDLE,
    userType: ck::CK_USER_TYPE,
    pPin: *mut ck::CK_UTF8CHAR,
    ulPinLen: ck::CK_ULONG,
    pUsername: *mut ck::CK_UTF8CHAR,
    ulUsernameLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_LoginUser", |m| {
        if !pUsername.is_null() && ulUsernameLen != 0 {
            return not_supported("C_LoginUser with a user name (this token has no named users)");
        }
        // SAFETY: pPin is valid for ulPinLen bytes (spec 5.6).
        m.login(hSession, userType, unsafe { pin(pPin, ulPinLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_Logout(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    call("C_Logout", |m| m.logout(hSession))
}

#[no_mangle]
pub extern "C" fn C_InitPIN(
    hSession: ck::CK_SESSION_HANDLE,
    pPin: *mut ck::CK_UTF8CHAR,
    ulPinLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_InitPIN", |m| {
        // SAFETY: pPin is valid for ulPinLen bytes (spec 5.6).
        m.init_pin(hSession, unsafe { pin(pPin, ulPinLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_SetPIN(
    hSession: ck::CK_SESSION_HANDLE,
    pOldPin: *mut ck::CK_UTF8CHAR,
    ulOldLen: ck::CK_ULONG,
    pNewPin: *mut ck::CK_UTF8CHAR,
    ulNewLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_SetPIN", |m| {
        // SAFETY: both PINs are valid for their lengths (spec 5.6).
        let (old, new) = unsafe { (pin(pOldPin, ulOldLen)?, pin(pNewPin, ulNewLen)?) };
        m.set_pin(hSession, old, new)
    })
}

#[no_mangle]
pub extern "C" fn C_SessionCancel(
    hSession: ck::CK_SESSION_HANDLE,
    flags: ck::CK_FLAGS,
) -> ck::CK_RV {
    call("C_SessionCancel", |m| m.session_cancel(hSession, flags))
}

fn not_parallel() -> pqhsm::Result<()> {
    Err(Error::new(
        ErrorKind::FunctionNotParallel,
        "legacy parallel functions are not offered",
    ))
}

declined! {
    /// Saving state would export in-progress key schedules; never offered.
    fn C_GetOperationState(
        hSession: ck::CK_SESSION_HANDLE,
        pOperationState: *mut ck::CK_BYTE,
        pulOperationStateLen: *mut ck::CK_ULONG,
    ) => not_supported("C_GetOperationState");
    fn C_SetOperationState(
        hSession: ck::CK_SESSION_HANDLE,
        pOperationState: *mut ck::CK_BYTE,
        ulOperationStateLen: ck::CK_ULONG,
        hEncryptionKey: ck::CK_OBJECT_HANDLE,
        hAuthenticationKey: ck::CK_OBJECT_HANDLE,
    ) => not_supported("C_SetOperationState");
    fn C_GetFunctionStatus(hSession: ck::CK_SESSION_HANDLE) => not_parallel();
    fn C_CancelFunction(hSession: ck::CK_SESSION_HANDLE) => not_parallel();
}
