//! Asynchronous functions (PKCS#11 3.2). This token runs every operation to completion in
//! the calling thread, so it never has an asynchronous operation to report on.

use crate::ceremony::{call, not_supported};
use cryptoki_sys as ck;

#[no_mangle]
pub extern "C" fn C_AsyncComplete(
    hSession: ck::CK_SESSION_HANDLE,
    pFunctionName: *mut ck::CK_UTF8CHAR,
    pResult: *mut ck::CK_ASYNC_DATA,
) -> ck::CK_RV {
    call("C_AsyncComplete", |_| {
        let _ = (hSession, pFunctionName, pResult);
        not_supported("C_AsyncComplete (asynchronous operations)")
    })
}

#[no_mangle]
pub extern "C" fn C_AsyncGetID(
    hSession: ck::CK_SESSION_HANDLE,
    pFunctionName: *mut ck::CK_UTF8CHAR,
    pulID: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_AsyncGetID", |_| {
        let _ = (hSession, pFunctionName, pulID);
        not_supported("C_AsyncGetID (asynchronous operations)")
    })
}

#[no_mangle]
pub extern "C" fn C_AsyncJoin(
    hSession: ck::CK_SESSION_HANDLE,
    pFunctionName: *mut ck::CK_UTF8CHAR,
    ulID: ck::CK_ULONG,
    pData: *mut ck::CK_BYTE,
    ulData: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_AsyncJoin", |_| {
        let _ = (hSession, pFunctionName, ulID, pData, ulData);
        not_supported("C_AsyncJoin (asynchronous operations)")
    })
}
