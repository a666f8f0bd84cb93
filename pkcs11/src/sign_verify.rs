//! Signing, MACing and verification functions (spec 5.11-5.13), including 3.2's
//! C_VerifySignature* (signature given at init). Signature-with-recovery is not offered.

use crate::ceremony::{call, declined, not_supported};
use crate::marshal::{bytes, bytes_to_bytes, final_bytes};
use crate::mechanism::mechanism;
use cryptoki_sys as ck;

#[no_mangle]
pub extern "C" fn C_SignInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_SignInit", |m| {
        // SAFETY: pMechanism points to a valid CK_MECHANISM (spec 5.11).
        m.sign_init(hSession, &unsafe { mechanism(pMechanism)? }, hKey)
    })
}

#[no_mangle]
pub extern "C" fn C_Sign(
    hSession: ck::CK_SESSION_HANDLE,
    pData: *mut ck::CK_BYTE,
    ulDataLen: ck::CK_ULONG,
    pSignature: *mut ck::CK_BYTE,
    pulSignatureLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_Sign", |m| {
        // SAFETY: input and output buffers as spec 5.11 describes them.
        unsafe {
            bytes_to_bytes(pData, ulDataLen, pSignature, pulSignatureLen, |d, cap| {
                m.sign(hSession, d, cap)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_SignUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pPart: *mut ck::CK_BYTE,
    ulPartLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_SignUpdate", |m| {
        // SAFETY: pPart is valid for ulPartLen bytes (spec 5.11).
        m.sign_update(hSession, unsafe { bytes(pPart, ulPartLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_SignFinal(
    hSession: ck::CK_SESSION_HANDLE,
    pSignature: *mut ck::CK_BYTE,
    pulSignatureLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_SignFinal", |m| {
        // SAFETY: output buffer as spec 5.11 describes it.
        unsafe {
            final_bytes(pSignature, pulSignatureLen, |cap| {
                m.sign_final(hSession, cap)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_VerifyInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_VerifyInit", |m| {
        // SAFETY: pMechanism points to a valid CK_MECHANISM (spec 5.13).
        m.verify_init(hSession, &unsafe { mechanism(pMechanism)? }, hKey)
    })
}

#[no_mangle]
pub extern "C" fn C_Verify(
    hSession: ck::CK_SESSION_HANDLE,
    pData: *mut ck::CK_BYTE,
    ulDataLen: ck::CK_ULONG,
    pSignature: *mut ck::CK_BYTE,
    ulSignatureLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_Verify", |m| {
        // SAFETY: both buffers are valid for their lengths (spec 5.13).
        let (data, sig) = unsafe { (bytes(pData, ulDataLen)?, bytes(pSignature, ulSignatureLen)?) };
        m.verify(hSession, data, sig)
    })
}

#[no_mangle]
pub extern "C" fn C_VerifyUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pPart: *mut ck::CK_BYTE,
    ulPartLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_VerifyUpdate", |m| {
        // SAFETY: pPart is valid for ulPartLen bytes (spec 5.13).
        m.verify_update(hSession, unsafe { bytes(pPart, ulPartLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_VerifyFinal(
    hSession: ck::CK_SESSION_HANDLE,
    pSignature: *mut ck::CK_BYTE,
    ulSignatureLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_VerifyFinal", |m| {
        // SAFETY: pSignature is valid for ulSignatureLen bytes (spec 5.13).
        m.verify_final(hSession, unsafe { bytes(pSignature, ulSignatureLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_VerifySignatureInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
    pSignature: *mut ck::CK_BYTE,
    ulSignatureLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_VerifySignatureInit", |m| {
        // SAFETY: pMechanism is a valid CK_MECHANISM and pSignature valid for its length.
        let (mech, sig) = unsafe { (mechanism(pMechanism)?, bytes(pSignature, ulSignatureLen)?) };
        m.verify_signature_init(hSession, &mech, hKey, sig)
    })
}

#[no_mangle]
pub extern "C" fn C_VerifySignature(
    hSession: ck::CK_SESSION_HANDLE,
    pData: *mut ck::CK_BYTE,
    ulDataLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_VerifySignature", |m| {
        // SAFETY: pData is valid for ulDataLen bytes.
        m.verify_signature(hSession, unsafe { bytes(pData, ulDataLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_VerifySignatureUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pPart: *mut ck::CK_BYTE,
    ulPartLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_VerifySignatureUpdate", |m| {
        // SAFETY: pPart is valid for ulPartLen bytes.
        m.verify_signature_update(hSession, unsafe { bytes(pPart, ulPartLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_VerifySignatureFinal(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    call("C_VerifySignatureFinal", |m| {
        m.verify_signature_final(hSession)
    })
}

declined! {
    fn C_SignRecoverInit(
        hSession: ck::CK_SESSION_HANDLE,
        pMechanism: *mut ck::CK_MECHANISM,
        hKey: ck::CK_OBJECT_HANDLE,
    ) => not_supported("signature with message recovery");
    fn C_SignRecover(
        hSession: ck::CK_SESSION_HANDLE,
        pData: *mut ck::CK_BYTE,
        ulDataLen: ck::CK_ULONG,
        pSignature: *mut ck::CK_BYTE,
        pulSignatureLen: *mut ck::CK_ULONG,
    ) => not_supported("signature with message recovery");
    fn C_VerifyRecoverInit(
        hSession: ck::CK_SESSION_HANDLE,
        pMechanism: *mut ck::CK_MECHANISM,
        hKey: ck::CK_OBJECT_HANDLE,
    ) => not_supported("verification with message recovery");
    fn C_VerifyRecover(
        hSession: ck::CK_SESSION_HANDLE,
        pSignature: *mut ck::CK_BYTE,
        ulSignatureLen: ck::CK_ULONG,
        pData: *mut ck::CK_BYTE,
        pulDataLen: *mut ck::CK_ULONG,
    ) => not_supported("verification with message recovery");
}
