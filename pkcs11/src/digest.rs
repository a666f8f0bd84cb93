//! Message digesting functions (spec 5.10).

use crate::ceremony::call;
use crate::marshal::{bytes, bytes_to_bytes, final_bytes};
use crate::mechanism::mechanism;
use cryptoki_sys as ck;

#[no_mangle]
pub extern "C" fn C_DigestInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
) -> ck::CK_RV {
    call("C_DigestInit", |m| {
        // SAFETY: pMechanism points to a valid CK_MECHANISM (spec 5.10).
        m.digest_init(hSession, &unsafe { mechanism(pMechanism)? })
    })
}

#[no_mangle]
pub extern "C" fn C_Digest(
    hSession: ck::CK_SESSION_HANDLE,
    pData: *mut ck::CK_BYTE,
    ulDataLen: ck::CK_ULONG,
    pDigest: *mut ck::CK_BYTE,
    pulDigestLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_Digest", |m| {
        // SAFETY: input and output buffers as spec 5.10 describes them.
        unsafe {
            bytes_to_bytes(pData, ulDataLen, pDigest, pulDigestLen, |d, cap| {
                m.digest(hSession, d, cap)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_DigestUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pPart: *mut ck::CK_BYTE,
    ulPartLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_DigestUpdate", |m| {
        // SAFETY: pPart is valid for ulPartLen bytes (spec 5.10).
        m.digest_update(hSession, unsafe { bytes(pPart, ulPartLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_DigestKey(
    hSession: ck::CK_SESSION_HANDLE,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_DigestKey", |m| m.digest_key(hSession, hKey))
}

#[no_mangle]
pub extern "C" fn C_DigestFinal(
    hSession: ck::CK_SESSION_HANDLE,
    pDigest: *mut ck::CK_BYTE,
    pulDigestLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_DigestFinal", |m| {
        // SAFETY: output buffer as spec 5.10 describes it.
        unsafe { final_bytes(pDigest, pulDigestLen, |cap| m.digest_final(hSession, cap)) }
    })
}
