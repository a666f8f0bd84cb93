//! Key material parsed once from an object's attributes (cached per login by the
//! session layer) and the conversions between attributes, PKCS#8 and key material.

#![allow(unused_variables)]

use super::{AttrSource, KeyAttrs};
use crate::attr::Template;
use crate::error::Result;
use cryptoki_sys as ck;
use zeroize::Zeroizing;

/// A usable key. Variants are added by each family module.
pub enum KeyMaterial {
    /// CKK_AES, CKK_GENERIC_SECRET, CKK_SHA*_HMAC: the raw value.
    Secret {
        key_type: ck::CK_KEY_TYPE,
        value: Zeroizing<Vec<u8>>,
    },
}

impl KeyMaterial {
    pub fn key_type(&self) -> ck::CK_KEY_TYPE {
        todo!()
    }
    /// Key size in the unit C_GetMechanismInfo uses for this key type (bits or bytes).
    pub fn size(&self) -> u64 {
        todo!()
    }
}

/// Parse a key object's attributes (public and unsealed secret ones) into key material.
pub fn load(
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
    src: &dyn AttrSource,
) -> Result<KeyMaterial> {
    todo!()
}

/// C_CreateObject / C_UnwrapKey of a key: check that the template's key attributes form a
/// valid key of this class and type, fill derivable ones (e.g. CKA_VALUE_LEN, ML-DSA
/// expanded key from seed) and split them into public and secret.
pub fn check_import(
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
    t: &Template,
) -> Result<KeyAttrs> {
    todo!()
}

/// Encode a private key as PKCS#8 DER (for C_WrapKey of private keys).
pub fn to_pkcs8(key: &KeyMaterial) -> Result<Zeroizing<Vec<u8>>> {
    todo!()
}
/// Decode PKCS#8 DER into key type and attributes (C_UnwrapKey of private keys, import).
pub fn from_pkcs8(der: &[u8]) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
    todo!()
}
