//! Dual-function cryptographic functions (spec 5.14). Not offered: clients run the two
//! operations one after the other, which every client library already supports.

use crate::ceremony::{declined, not_supported};
use cryptoki_sys as ck;

declined! {
    fn C_DigestEncryptUpdate(
        hSession: ck::CK_SESSION_HANDLE,
        pPart: *mut ck::CK_BYTE,
        ulPartLen: ck::CK_ULONG,
        pEncryptedPart: *mut ck::CK_BYTE,
        pulEncryptedPartLen: *mut ck::CK_ULONG,
    ) => not_supported("dual-function operations");
    fn C_DecryptDigestUpdate(
        hSession: ck::CK_SESSION_HANDLE,
        pEncryptedPart: *mut ck::CK_BYTE,
        ulEncryptedPartLen: ck::CK_ULONG,
        pPart: *mut ck::CK_BYTE,
        pulPartLen: *mut ck::CK_ULONG,
    ) => not_supported("dual-function operations");
    fn C_SignEncryptUpdate(
        hSession: ck::CK_SESSION_HANDLE,
        pPart: *mut ck::CK_BYTE,
        ulPartLen: ck::CK_ULONG,
        pEncryptedPart: *mut ck::CK_BYTE,
        pulEncryptedPartLen: *mut ck::CK_ULONG,
    ) => not_supported("dual-function operations");
    fn C_DecryptVerifyUpdate(
        hSession: ck::CK_SESSION_HANDLE,
        pEncryptedPart: *mut ck::CK_BYTE,
        ulEncryptedPartLen: ck::CK_ULONG,
        pPart: *mut ck::CK_BYTE,
        pulPartLen: *mut ck::CK_ULONG,
    ) => not_supported("dual-function operations");
}
