//! Message-based encryption and decryption (PKCS#11 3.0, spec 5.8.2/5.9.2) with AES-GCM:
//! CK_GCM_MESSAGE_PARAMS in, generated IV and tag written back through the caller's
//! pointers. Message-based signing and verification are not offered.

use crate::ceremony::{call, declined, not_supported};
use crate::marshal::{bytes, OutBuf};
use crate::mechanism::{gcm_message, message_mechanism, Tag};
use cryptoki_sys as ck;
use pqhsm::module::Output;
use std::ffi::c_void;

#[no_mangle]
pub extern "C" fn C_MessageEncryptInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_MessageEncryptInit", |m| {
        // SAFETY: pMechanism points to a valid CK_MECHANISM.
        m.message_encrypt_init(hSession, &unsafe { message_mechanism(pMechanism)? }, hKey)
    })
}

#[no_mangle]
pub extern "C" fn C_EncryptMessage(
    hSession: ck::CK_SESSION_HANDLE,
    pParameter: *mut c_void,
    ulParameterLen: ck::CK_ULONG,
    pAssociatedData: *mut ck::CK_BYTE,
    ulAssociatedDataLen: ck::CK_ULONG,
    pPlaintext: *mut ck::CK_BYTE,
    ulPlaintextLen: ck::CK_ULONG,
    pCiphertext: *mut ck::CK_BYTE,
    pulCiphertextLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_EncryptMessage", |m| {
        // SAFETY: every pointer is valid for the length the spec pairs it with.
        let ((mut p, back), aad, data, out) = unsafe {
            (
                gcm_message(pParameter, ulParameterLen, Tag::Out)?,
                bytes(pAssociatedData, ulAssociatedDataLen)?,
                bytes(pPlaintext, ulPlaintextLen)?,
                OutBuf::new(pCiphertext, pulCiphertextLen)?,
            )
        };
        // SAFETY: the destination dies inside the call, before `write`.
        let answer = m.encrypt_message_to(hSession, &mut p, aad, data, unsafe { out.dest(data) });
        // A length query produces no ciphertext and so no IV or tag to report.
        let produced = matches!(answer, Ok(Output::Data(_) | Output::Written(_)));
        out.write(answer)?;
        if produced {
            back.write_back(&p)?;
        }
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn C_EncryptMessageBegin(
    hSession: ck::CK_SESSION_HANDLE,
    pParameter: *mut c_void,
    ulParameterLen: ck::CK_ULONG,
    pAssociatedData: *mut ck::CK_BYTE,
    ulAssociatedDataLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_EncryptMessageBegin", |m| {
        // SAFETY: every pointer is valid for the length the spec pairs it with.
        let ((mut p, back), aad) = unsafe {
            (
                gcm_message(pParameter, ulParameterLen, Tag::Unused)?,
                bytes(pAssociatedData, ulAssociatedDataLen)?,
            )
        };
        m.encrypt_message_begin(hSession, &mut p, aad)?;
        back.write_back(&p)
    })
}

#[no_mangle]
pub extern "C" fn C_EncryptMessageNext(
    hSession: ck::CK_SESSION_HANDLE,
    pParameter: *mut c_void,
    ulParameterLen: ck::CK_ULONG,
    pPlaintextPart: *mut ck::CK_BYTE,
    ulPlaintextPartLen: ck::CK_ULONG,
    pCiphertextPart: *mut ck::CK_BYTE,
    pulCiphertextPartLen: *mut ck::CK_ULONG,
    flags: ck::CK_FLAGS,
) -> ck::CK_RV {
    call("C_EncryptMessageNext", |m| {
        let last = flags & ck::CKF_END_OF_MESSAGE != 0;
        let tag = if last { Tag::Out } else { Tag::Unused };
        // SAFETY: every pointer is valid for the length the spec pairs it with.
        let ((mut p, back), data, out) = unsafe {
            (
                gcm_message(pParameter, ulParameterLen, tag)?,
                bytes(pPlaintextPart, ulPlaintextPartLen)?,
                OutBuf::new(pCiphertextPart, pulCiphertextPartLen)?,
            )
        };
        let answer = m.encrypt_message_next(hSession, &mut p, data, last, out.cap());
        // A length query produces no ciphertext and so no IV or tag to report.
        let produced = matches!(answer, Ok(Output::Data(_)));
        out.write(answer)?;
        if produced {
            back.write_back(&p)?;
        }
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn C_MessageEncryptFinal(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    call("C_MessageEncryptFinal", |m| {
        m.message_encrypt_final(hSession)
    })
}

#[no_mangle]
pub extern "C" fn C_MessageDecryptInit(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hKey: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_MessageDecryptInit", |m| {
        // SAFETY: pMechanism points to a valid CK_MECHANISM.
        m.message_decrypt_init(hSession, &unsafe { message_mechanism(pMechanism)? }, hKey)
    })
}

#[no_mangle]
pub extern "C" fn C_DecryptMessage(
    hSession: ck::CK_SESSION_HANDLE,
    pParameter: *mut c_void,
    ulParameterLen: ck::CK_ULONG,
    pAssociatedData: *mut ck::CK_BYTE,
    ulAssociatedDataLen: ck::CK_ULONG,
    pCiphertext: *mut ck::CK_BYTE,
    ulCiphertextLen: ck::CK_ULONG,
    pPlaintext: *mut ck::CK_BYTE,
    pulPlaintextLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_DecryptMessage", |m| {
        // SAFETY: every pointer is valid for the length the spec pairs it with.
        let ((p, _), aad, data, out) = unsafe {
            (
                gcm_message(pParameter, ulParameterLen, Tag::In)?,
                bytes(pAssociatedData, ulAssociatedDataLen)?,
                bytes(pCiphertext, ulCiphertextLen)?,
                OutBuf::new(pPlaintext, pulPlaintextLen)?,
            )
        };
        // SAFETY: the destination dies inside the call, before `write`.
        let answer = m.decrypt_message_to(hSession, &p, aad, data, unsafe { out.dest(data) });
        out.write(answer)
    })
}

#[no_mangle]
pub extern "C" fn C_DecryptMessageBegin(
    hSession: ck::CK_SESSION_HANDLE,
    pParameter: *mut c_void,
    ulParameterLen: ck::CK_ULONG,
    pAssociatedData: *mut ck::CK_BYTE,
    ulAssociatedDataLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_DecryptMessageBegin", |m| {
        // SAFETY: every pointer is valid for the length the spec pairs it with.
        let ((p, _), aad) = unsafe {
            (
                gcm_message(pParameter, ulParameterLen, Tag::Unused)?,
                bytes(pAssociatedData, ulAssociatedDataLen)?,
            )
        };
        m.decrypt_message_begin(hSession, &p, aad)
    })
}

#[no_mangle]
pub extern "C" fn C_DecryptMessageNext(
    hSession: ck::CK_SESSION_HANDLE,
    pParameter: *mut c_void,
    ulParameterLen: ck::CK_ULONG,
    pCiphertextPart: *mut ck::CK_BYTE,
    ulCiphertextPartLen: ck::CK_ULONG,
    pPlaintextPart: *mut ck::CK_BYTE,
    pulPlaintextPartLen: *mut ck::CK_ULONG,
    flags: ck::CK_FLAGS,
) -> ck::CK_RV {
    call("C_DecryptMessageNext", |m| {
        let last = flags & ck::CKF_END_OF_MESSAGE != 0;
        let tag = if last { Tag::In } else { Tag::Unused };
        // SAFETY: every pointer is valid for the length the spec pairs it with.
        let ((p, _), data, out) = unsafe {
            (
                gcm_message(pParameter, ulParameterLen, tag)?,
                bytes(pCiphertextPart, ulCiphertextPartLen)?,
                OutBuf::new(pPlaintextPart, pulPlaintextPartLen)?,
            )
        };
        out.fill(|cap| m.decrypt_message_next(hSession, &p, data, last, cap))
    })
}

#[no_mangle]
pub extern "C" fn C_MessageDecryptFinal(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    call("C_MessageDecryptFinal", |m| {
        m.message_decrypt_final(hSession)
    })
}

declined! {
    fn C_MessageSignInit(
        hSession: ck::CK_SESSION_HANDLE,
        pMechanism: *mut ck::CK_MECHANISM,
        hKey: ck::CK_OBJECT_HANDLE,
    ) => not_supported("message-based signing");
    fn C_SignMessage(
        hSession: ck::CK_SESSION_HANDLE,
        pParameter: *mut c_void,
        ulParameterLen: ck::CK_ULONG,
        pData: *mut ck::CK_BYTE,
        ulDataLen: ck::CK_ULONG,
        pSignature: *mut ck::CK_BYTE,
        pulSignatureLen: *mut ck::CK_ULONG,
    ) => not_supported("message-based signing");
    fn C_SignMessageBegin(
        hSession: ck::CK_SESSION_HANDLE,
        pParameter: *mut c_void,
        ulParameterLen: ck::CK_ULONG,
    ) => not_supported("message-based signing");
    fn C_SignMessageNext(
        hSession: ck::CK_SESSION_HANDLE,
        pParameter: *mut c_void,
        ulParameterLen: ck::CK_ULONG,
        pData: *mut ck::CK_BYTE,
        ulDataLen: ck::CK_ULONG,
        pSignature: *mut ck::CK_BYTE,
        pulSignatureLen: *mut ck::CK_ULONG,
    ) => not_supported("message-based signing");
    fn C_MessageSignFinal(
        hSession: ck::CK_SESSION_HANDLE,
    ) => not_supported("message-based signing");
    fn C_MessageVerifyInit(
        hSession: ck::CK_SESSION_HANDLE,
        pMechanism: *mut ck::CK_MECHANISM,
        hKey: ck::CK_OBJECT_HANDLE,
    ) => not_supported("message-based verification");
    fn C_VerifyMessage(
        hSession: ck::CK_SESSION_HANDLE,
        pParameter: *mut c_void,
        ulParameterLen: ck::CK_ULONG,
        pData: *mut ck::CK_BYTE,
        ulDataLen: ck::CK_ULONG,
        pSignature: *mut ck::CK_BYTE,
        ulSignatureLen: ck::CK_ULONG,
    ) => not_supported("message-based verification");
    fn C_VerifyMessageBegin(
        hSession: ck::CK_SESSION_HANDLE,
        pParameter: *mut c_void,
        ulParameterLen: ck::CK_ULONG,
    ) => not_supported("message-based verification");
    fn C_VerifyMessageNext(
        hSession: ck::CK_SESSION_HANDLE,
        pParameter: *mut c_void,
        ulParameterLen: ck::CK_ULONG,
        pData: *mut ck::CK_BYTE,
        ulDataLen: ck::CK_ULONG,
        pSignature: *mut ck::CK_BYTE,
        ulSignatureLen: ck::CK_ULONG,
    ) => not_supported("message-based verification");
    fn C_MessageVerifyFinal(
        hSession: ck::CK_SESSION_HANDLE,
    ) => not_supported("message-based verification");
}
