//! Key management functions (spec 5.15 and 3.2's 5.18): generation, wrapping, derivation,
//! and KEM encapsulation/decapsulation. Authenticated wrapping (3.2) is not offered.

use crate::ceremony::{call, declined, not_supported};
use crate::marshal::{arguments_bad, bytes, out_value, write, OutBuf};
use crate::mechanism::mechanism;
use crate::template::template;
use cryptoki_sys as ck;

#[no_mangle]
pub extern "C" fn C_GenerateKey(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
    phKey: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_GenerateKey", |m| {
        // SAFETY: pMechanism, pTemplate and phKey are valid as spec 5.15 describes.
        unsafe {
            let (mech, t) = (mechanism(pMechanism)?, template(pTemplate, ulCount)?);
            out_value(phKey, "phKey is NULL", || {
                m.generate_key(hSession, &mech, &t)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_GenerateKeyPair(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    pPublicKeyTemplate: *mut ck::CK_ATTRIBUTE,
    ulPublicKeyAttributeCount: ck::CK_ULONG,
    pPrivateKeyTemplate: *mut ck::CK_ATTRIBUTE,
    ulPrivateKeyAttributeCount: ck::CK_ULONG,
    phPublicKey: *mut ck::CK_OBJECT_HANDLE,
    phPrivateKey: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_GenerateKeyPair", |m| {
        if phPublicKey.is_null() || phPrivateKey.is_null() {
            return Err(arguments_bad("phPublicKey or phPrivateKey is NULL"));
        }
        // SAFETY: pMechanism and both templates are valid as spec 5.15 describes.
        let (mech, public, private) = unsafe {
            (
                mechanism(pMechanism)?,
                template(pPublicKeyTemplate, ulPublicKeyAttributeCount)?,
                template(pPrivateKeyTemplate, ulPrivateKeyAttributeCount)?,
            )
        };
        let (hpub, hpriv) = m.generate_key_pair(hSession, &mech, &public, &private)?;
        // SAFETY: both are non-NULL and point to handles the caller owns.
        unsafe {
            write(phPublicKey, hpub, "phPublicKey is NULL")?;
            write(phPrivateKey, hpriv, "phPrivateKey is NULL")
        }
    })
}

#[no_mangle]
pub extern "C" fn C_WrapKey(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hWrappingKey: ck::CK_OBJECT_HANDLE,
    hKey: ck::CK_OBJECT_HANDLE,
    pWrappedKey: *mut ck::CK_BYTE,
    pulWrappedKeyLen: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_WrapKey", |m| {
        // SAFETY: pMechanism is a valid CK_MECHANISM; output buffer per spec 5.15.
        let (mech, out) = unsafe {
            (
                mechanism(pMechanism)?,
                OutBuf::new(pWrappedKey, pulWrappedKeyLen)?,
            )
        };
        out.fill(|cap| m.wrap_key(hSession, &mech, hWrappingKey, hKey, cap))
    })
}

#[no_mangle]
pub extern "C" fn C_UnwrapKey(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hUnwrappingKey: ck::CK_OBJECT_HANDLE,
    pWrappedKey: *mut ck::CK_BYTE,
    ulWrappedKeyLen: ck::CK_ULONG,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulAttributeCount: ck::CK_ULONG,
    phKey: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_UnwrapKey", |m| {
        // SAFETY: mechanism, wrapped bytes, template and phKey are valid as spec 5.15 describes.
        unsafe {
            let mech = mechanism(pMechanism)?;
            let wrapped = bytes(pWrappedKey, ulWrappedKeyLen)?;
            let t = template(pTemplate, ulAttributeCount)?;
            out_value(phKey, "phKey is NULL", || {
                m.unwrap_key(hSession, &mech, hUnwrappingKey, wrapped, &t)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_DeriveKey(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hBaseKey: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulAttributeCount: ck::CK_ULONG,
    phKey: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_DeriveKey", |m| {
        // SAFETY: mechanism, template and phKey are valid as spec 5.15 describes.
        unsafe {
            let (mech, t) = (
                mechanism(pMechanism)?,
                template(pTemplate, ulAttributeCount)?,
            );
            out_value(phKey, "phKey is NULL", || {
                m.derive_key(hSession, &mech, hBaseKey, &t)
            })
        }
    })
}

/// 3.2: with pCiphertext NULL only the ciphertext length is returned and no key is made.
#[no_mangle]
pub extern "C" fn C_EncapsulateKey(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hPublicKey: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulAttributeCount: ck::CK_ULONG,
    pCiphertext: *mut ck::CK_BYTE,
    pulCiphertextLen: *mut ck::CK_ULONG,
    phKey: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_EncapsulateKey", |m| {
        if !pCiphertext.is_null() && phKey.is_null() {
            return Err(arguments_bad("phKey is NULL"));
        }
        // SAFETY: mechanism, template and output buffer are valid as the 3.2 spec describes.
        let (mech, t, out) = unsafe {
            (
                mechanism(pMechanism)?,
                template(pTemplate, ulAttributeCount)?,
                OutBuf::new(pCiphertext, pulCiphertextLen)?,
            )
        };
        let mut key = None;
        let answer = m
            .encapsulate_key(hSession, &mech, hPublicKey, &t, out.cap())
            .map(|(ct, k)| {
                key = k;
                ct
            });
        out.write(answer)?;
        match key {
            // SAFETY: phKey is non-NULL whenever a key can be made (checked above).
            Some(h) => unsafe { write(phKey, h, "phKey is NULL") },
            None => Ok(()),
        }
    })
}

#[no_mangle]
pub extern "C" fn C_DecapsulateKey(
    hSession: ck::CK_SESSION_HANDLE,
    pMechanism: *mut ck::CK_MECHANISM,
    hPrivateKey: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulAttributeCount: ck::CK_ULONG,
    pCiphertext: *mut ck::CK_BYTE,
    ulCiphertextLen: ck::CK_ULONG,
    phKey: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_DecapsulateKey", |m| {
        // SAFETY: mechanism, template, ciphertext and phKey are valid as the 3.2 spec describes.
        unsafe {
            let mech = mechanism(pMechanism)?;
            let t = template(pTemplate, ulAttributeCount)?;
            let ct = bytes(pCiphertext, ulCiphertextLen)?;
            out_value(phKey, "phKey is NULL", || {
                m.decapsulate_key(hSession, &mech, hPrivateKey, &t, ct)
            })
        }
    })
}

declined! {
    fn C_WrapKeyAuthenticated(
        hSession: ck::CK_SESSION_HANDLE,
        pMechanism: *mut ck::CK_MECHANISM,
        hWrappingKey: ck::CK_OBJECT_HANDLE,
        hKey: ck::CK_OBJECT_HANDLE,
        pAssociatedData: *mut ck::CK_BYTE,
        ulAssociatedDataLen: ck::CK_ULONG,
        pWrappedKey: *mut ck::CK_BYTE,
        pulWrappedKeyLen: *mut ck::CK_ULONG,
    ) => not_supported("authenticated key wrapping");
    fn C_UnwrapKeyAuthenticated(
        hSession: ck::CK_SESSION_HANDLE,
        pMechanism: *mut ck::CK_MECHANISM,
        hUnwrappingKey: ck::CK_OBJECT_HANDLE,
        pWrappedKey: *mut ck::CK_BYTE,
        ulWrappedKeyLen: ck::CK_ULONG,
        pTemplate: *mut ck::CK_ATTRIBUTE,
        ulAttributeCount: ck::CK_ULONG,
        pAssociatedData: *mut ck::CK_BYTE,
        ulAssociatedDataLen: ck::CK_ULONG,
        phKey: *mut ck::CK_OBJECT_HANDLE,
    ) => not_supported("authenticated key unwrapping");
}
