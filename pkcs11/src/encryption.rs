//! Encryption and decryption functions (spec 5.8, 5.9), single- and multi-part. Each is
//! pointer checks plus one core call; buffering and length rules live in the core.

use crate::ceremony::call;
use crate::marshal::{bytes_to_bytes, bytes_to_dest, final_bytes};
use crate::mechanism::mechanism;
use cryptoki_sys as ck;

#[no_mangle]
pub extern "C" fn C_EncryptInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_EncryptInit", |m| {
        // SAFETY: pMechanism points to a valid CK_MECHANISM (spec 5.8).
        m.encrypt_init(hSession, &unsafe { mechanism(pMechanism)? }, hKey)
    })
}

#[no_mangle]
pub extern "C" fn C_Encrypt(
    hSession: ck::CK_SESSION_HANDLE,
    pData: *mut ck::CK_BYTE,
    ulDataLen: ck::CK_ULONG,
    pEncryptedData: *mut ck::CK_BYTE,
    pulEncryptedDataLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_Encrypt", |m| {
        // SAFETY: input and output buffers as spec 5.8 describes them.
        unsafe {
            bytes_to_dest(
                pData,
                ulDataLen,
                pEncryptedData,
                pulEncryptedDataLen,
                |d, dest| m.encrypt_to(hSession, d, dest),
            )
        }
    })
}

#[no_mangle]
pub extern "C" fn C_EncryptUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pPart: *mut ck::CK_BYTE,
    ulPartLen: ck::CK_ULONG,
    pEncryptedPart: *mut ck::CK_BYTE,
    pulEncryptedPartLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_EncryptUpdate", |m| {
        // SAFETY: input and output buffers as spec 5.8 describes them.
        unsafe {
            bytes_to_bytes(
                pPart,
                ulPartLen,
                pEncryptedPart,
                pulEncryptedPartLen,
                |d, cap| m.encrypt_update(hSession, d, cap),
            )
        }
    })
}

#[no_mangle]
pub extern "C" fn C_EncryptFinal(
    hSession: ck::CK_SESSION_HANDLE,
    pLastEncryptedPart: *mut ck::CK_BYTE,
    pulLastEncryptedPartLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_EncryptFinal", |m| {
        // SAFETY: output buffer as spec 5.8 describes it.
        unsafe {
            final_bytes(pLastEncryptedPart, pulLastEncryptedPartLen, |cap| {
                m.encrypt_final(hSession, cap)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_DecryptInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_DecryptInit", |m| {
        // SAFETY: pMechanism points to a valid CK_MECHANISM (spec 5.9).
        m.decrypt_init(hSession, &unsafe { mechanism(pMechanism)? }, hKey)
    })
}

#[no_mangle]
pub extern "C" fn C_Decrypt(
    hSession: ck::CK_SESSION_HANDLE,
    pEncryptedData: *mut ck::CK_BYTE,
    ulEncryptedDataLen: ck::CK_ULONG,
    pData: *mut ck::CK_BYTE,
    pulDataLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_Decrypt", |m| {
        // SAFETY: input and output buffers as spec 5.9 describes them.
        unsafe {
            bytes_to_dest(
                pEncryptedData,
                ulEncryptedDataLen,
                pData,
                pulDataLen,
                |d, dest| m.decrypt_to(hSession, d, dest),
            )
        }
    })
}

#[no_mangle]
pub extern "C" fn C_DecryptUpdate(
    hSession: ck::CK_SESSION_HANDLE,
    pEncryptedPart: *mut ck::CK_BYTE,
    ulEncryptedPartLen: ck::CK_ULONG,
    pPart: *mut ck::CK_BYTE,
    pulPartLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_DecryptUpdate", |m| {
        // SAFETY: input and output buffers as spec 5.9 describes them.
        unsafe {
            bytes_to_bytes(
                pEncryptedPart,
                ulEncryptedPartLen,
                pPart,
                pulPartLen,
                |d, cap| m.decrypt_update(hSession, d, cap),
            )
        }
    })
}

#[no_mangle]
pub extern "C" fn C_DecryptFinal(
    hSession: ck::CK_SESSION_HANDLE,
    pLastPart: *mut ck::CK_BYTE,
    pulLastPartLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_DecryptFinal", |m| {
        // SAFETY: output buffer as spec 5.9 describes it.
        unsafe {
            final_bytes(pLastPart, pulLastPartLen, |cap| {
                m.decrypt_final(hSession, cap)
            })
        }
    })
}
