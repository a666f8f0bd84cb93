//! Asynchronous functions (PKCS#11 3.2). This token runs every operation to completion in
//! the calling thread, so it never has an asynchronous operation to report on.

use crate::ceremony::{declined, not_supported};
use cryptoki_sys as ck;

declined! {
    fn C_AsyncComplete(
        hSession: ck::CK_SESSION_HANDLE,
        pFunctionName: *mut ck::CK_UTF8CHAR,
        pResult: *mut ck::CK_ASYNC_DATA,
    ) => not_supported("asynchronous operations");
    fn C_AsyncGetID(
        hSession: ck::CK_SESSION_HANDLE,
        pFunctionName: *mut ck::CK_UTF8CHAR,
        pulID: *mut ck::CK_ULONG,
    ) => not_supported("asynchronous operations");
    fn C_AsyncJoin(
        hSession: ck::CK_SESSION_HANDLE,
        pFunctionName: *mut ck::CK_UTF8CHAR,
        ulID: ck::CK_ULONG,
        pData: *mut ck::CK_BYTE,
        ulData: ck::CK_ULONG,
    ) => not_supported("asynchronous operations");
}
