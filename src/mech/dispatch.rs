//! The mechanism entry points the session layer calls. Each looks the mechanism up in
//! `table` and hands it to its family module.

#![allow(unused_variables)]

use super::params::Mechanism;
use super::{CipherOp, DigestOp, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::Template;
use crate::error::Result;
use cryptoki_sys as ck;
use zeroize::Zeroizing;

pub fn sign_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
    todo!()
}
pub fn verify_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
    todo!()
}
pub fn encrypt_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
    todo!()
}
pub fn decrypt_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
    todo!()
}
pub fn digest_init(m: &Mechanism) -> Result<Box<dyn DigestOp>> {
    todo!()
}

/// C_GenerateKey: `t` is the caller's template (CKA_VALUE_LEN etc.). Returns the key type
/// and the generated key attributes (CKA_VALUE secret, CKA_VALUE_LEN public).
pub fn generate_key(m: &Mechanism, t: &Template) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
    todo!()
}

/// C_GenerateKeyPair: reads CKA_MODULUS_BITS / CKA_PUBLIC_EXPONENT / CKA_EC_PARAMS /
/// CKA_PARAMETER_SET from the templates.
pub fn generate_key_pair(
    m: &Mechanism,
    public: &Template,
    private: &Template,
) -> Result<GeneratedPair> {
    todo!()
}

/// C_DeriveKey: raw derived secret of `out_len` bytes (None: the mechanism's natural
/// length, e.g. the ECDH shared secret). `salt_key` is the resolved CKF_HKDF_SALT_KEY key.
pub fn derive(
    m: &Mechanism,
    base: &KeyMaterial,
    salt_key: Option<&KeyMaterial>,
    out_len: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>> {
    todo!()
}

/// C_WrapKey: `key_bytes` is the encoding of the key being wrapped (CKA_VALUE of a secret
/// key, PKCS#8 of a private key).
pub fn wrap(m: &Mechanism, wrapping: &KeyMaterial, key_bytes: &[u8]) -> Result<Vec<u8>> {
    todo!()
}
/// Exact or maximum length of `wrap` output, for length queries.
pub fn wrap_len(m: &Mechanism, wrapping: &KeyMaterial, key_len: usize) -> Result<usize> {
    todo!()
}
pub fn unwrap(
    m: &Mechanism,
    unwrapping: &KeyMaterial,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    todo!()
}

/// C_EncapsulateKey at the mechanism level: (ciphertext, shared secret).
pub fn encapsulate(m: &Mechanism, public: &KeyMaterial) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
    todo!()
}
pub fn ciphertext_len(m: &Mechanism, public: &KeyMaterial) -> Result<usize> {
    todo!()
}
pub fn decapsulate(m: &Mechanism, private: &KeyMaterial, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    todo!()
}

/// AES-GCM in one call, for the message-based API: (ciphertext, tag).
pub fn gcm_seal(
    key: &KeyMaterial,
    iv: &[u8],
    aad: &[u8],
    pt: &[u8],
    tag_len: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    todo!()
}
pub fn gcm_open(
    key: &KeyMaterial,
    iv: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    todo!()
}
