//! The mechanism entry points the session layer calls. Each looks the mechanism up in
//! `table`, checks what the row promises (function flag, key type, key size) and hands the
//! call to the row's family. No algorithm code lives here.

use super::params::Mechanism;
use super::table::{self, MechSpec};
use super::{aes, CipherOp, DigestOp, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::Template;
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use zeroize::Zeroizing;

/// The table row for `m`, if it offers the function `flag`.
fn spec(m: &Mechanism, flag: ck::CK_FLAGS, what: &str) -> Result<&'static MechSpec> {
    let Some(s) = table::lookup(m.ty) else {
        return err(
            ErrorKind::MechanismInvalid,
            format!("mechanism {:#x} is not supported by this token", m.ty),
        );
    };
    if s.flags & flag == 0 {
        return err(
            ErrorKind::MechanismInvalid,
            format!("{} cannot be used to {what}", s.name),
        );
    }
    Ok(s)
}

/// The row for `m` with `key` checked against the row's key types and sizes.
fn spec_for_key(
    m: &Mechanism,
    flag: ck::CK_FLAGS,
    what: &str,
    key: &KeyMaterial,
) -> Result<&'static MechSpec> {
    let s = spec(m, flag, what)?;
    check_key(s, key)?;
    Ok(s)
}

fn check_key(s: &MechSpec, key: &KeyMaterial) -> Result<()> {
    if !s.key_types.contains(&key.key_type()) {
        return err(
            ErrorKind::KeyTypeInconsistent,
            format!(
                "{} does not work with a key of type {:#x}",
                s.name,
                key.key_type()
            ),
        );
    }
    let size = key.size();
    if size < s.min_key_size || size > s.max_key_size {
        return err(
            ErrorKind::KeySizeRange,
            format!(
                "{} takes keys of size {}..={}, this key has {size}",
                s.name, s.min_key_size, s.max_key_size
            ),
        );
    }
    Ok(())
}

/// Rename key and data errors into their wrapping/unwrapping counterparts (C_WrapKey and
/// C_UnwrapKey report CKR_WRAPPING_*/CKR_UNWRAPPING_*/CKR_WRAPPED_KEY_* codes).
fn as_wrap_error(e: Error) -> Error {
    let kind = match e.kind() {
        ErrorKind::KeyTypeInconsistent => ErrorKind::WrappingKeyTypeInconsistent,
        ErrorKind::KeySizeRange => ErrorKind::WrappingKeySizeRange,
        ErrorKind::DataLenRange => ErrorKind::KeySizeRange,
        _ => return e,
    };
    Error::new(kind, e.message())
}

fn as_unwrap_error(e: Error) -> Error {
    let kind = match e.kind() {
        ErrorKind::KeyTypeInconsistent => ErrorKind::UnwrappingKeyTypeInconsistent,
        ErrorKind::KeySizeRange => ErrorKind::UnwrappingKeySizeRange,
        ErrorKind::EncryptedDataInvalid => ErrorKind::WrappedKeyInvalid,
        ErrorKind::EncryptedDataLenRange | ErrorKind::DataLenRange => ErrorKind::WrappedKeyLenRange,
        _ => return e,
    };
    Error::new(kind, e.message())
}

pub fn sign_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
    spec_for_key(m, ck::CKF_SIGN, "sign", key)?
        .family
        .sign_init(m, key)
}

pub fn verify_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
    spec_for_key(m, ck::CKF_VERIFY, "verify", key)?
        .family
        .verify_init(m, key)
}

pub fn encrypt_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
    spec_for_key(m, ck::CKF_ENCRYPT, "encrypt", key)?
        .family
        .encrypt_init(m, key)
}

pub fn decrypt_init(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
    spec_for_key(m, ck::CKF_DECRYPT, "decrypt", key)?
        .family
        .decrypt_init(m, key)
}

pub fn digest_init(m: &Mechanism) -> Result<Box<dyn DigestOp>> {
    spec(m, ck::CKF_DIGEST, "digest")?.family.digest_init(m)
}

/// C_GenerateKey: `t` is the caller's template (CKA_VALUE_LEN etc.). Returns the key type
/// and the generated key attributes (CKA_VALUE secret, CKA_VALUE_LEN public).
pub fn generate_key(m: &Mechanism, t: &Template) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
    spec(m, ck::CKF_GENERATE, "generate a key")?
        .family
        .generate_key(m, t)
}

/// C_GenerateKeyPair: reads CKA_MODULUS_BITS / CKA_PUBLIC_EXPONENT / CKA_EC_PARAMS /
/// CKA_PARAMETER_SET from the templates.
pub fn generate_key_pair(
    m: &Mechanism,
    public: &Template,
    private: &Template,
) -> Result<GeneratedPair> {
    spec(m, ck::CKF_GENERATE_KEY_PAIR, "generate a key pair")?
        .family
        .generate_key_pair(m, public, private)
}

/// C_DeriveKey: raw derived secret of `out_len` bytes (None: the mechanism's natural
/// length, e.g. the ECDH shared secret). `salt_key` is the resolved CKF_HKDF_SALT_KEY key.
pub fn derive(
    m: &Mechanism,
    base: &KeyMaterial,
    salt_key: Option<&KeyMaterial>,
    out_len: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>> {
    spec_for_key(m, ck::CKF_DERIVE, "derive a key", base)?
        .family
        .derive(m, base, salt_key, out_len)
}

/// C_WrapKey: `key_bytes` is the encoding of the key being wrapped (CKA_VALUE of a secret
/// key, PKCS#8 of a private key).
pub fn wrap(m: &Mechanism, wrapping: &KeyMaterial, key_bytes: &[u8]) -> Result<Vec<u8>> {
    let s = spec_for_key(m, ck::CKF_WRAP, "wrap a key", wrapping).map_err(as_wrap_error)?;
    s.family.wrap(m, wrapping, key_bytes).map_err(as_wrap_error)
}

/// Exact or maximum length of `wrap` output, for length queries.
pub fn wrap_len(m: &Mechanism, wrapping: &KeyMaterial, key_len: usize) -> Result<usize> {
    let s = spec_for_key(m, ck::CKF_WRAP, "wrap a key", wrapping).map_err(as_wrap_error)?;
    s.family
        .wrap_len(m, wrapping, key_len)
        .map_err(as_wrap_error)
}

pub fn unwrap(
    m: &Mechanism,
    unwrapping: &KeyMaterial,
    wrapped: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let s = spec_for_key(m, ck::CKF_UNWRAP, "unwrap a key", unwrapping).map_err(as_unwrap_error)?;
    s.family
        .unwrap(m, unwrapping, wrapped)
        .map_err(as_unwrap_error)
}

/// C_EncapsulateKey at the mechanism level: (ciphertext, shared secret).
pub fn encapsulate(m: &Mechanism, public: &KeyMaterial) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
    spec_for_key(m, ck::CKF_ENCAPSULATE, "encapsulate", public)?
        .family
        .encapsulate(m, public)
}

pub fn ciphertext_len(m: &Mechanism, public: &KeyMaterial) -> Result<usize> {
    spec_for_key(m, ck::CKF_ENCAPSULATE, "encapsulate", public)?
        .family
        .ciphertext_len(m, public)
}

pub fn decapsulate(m: &Mechanism, private: &KeyMaterial, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    spec_for_key(m, ck::CKF_DECAPSULATE, "decapsulate", private)?
        .family
        .decapsulate(m, private, ct)
}

pub use super::keyed::Io;
pub use aes::{gcm_open_io, gcm_seal_io};

/// AES-GCM in one call, for the message-based API: (ciphertext, tag).
pub fn gcm_seal(
    key: &KeyMaterial,
    iv: &[u8],
    aad: &[u8],
    pt: &[u8],
    tag_len: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut ct = pt.to_vec();
    let tag = gcm_seal_io(key, iv, aad, Io::InPlace(&mut ct), tag_len)?;
    Ok((ct, tag))
}

pub fn gcm_open(
    key: &KeyMaterial,
    iv: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let mut pt = Zeroizing::new(ct.to_vec());
    gcm_open_io(key, iv, aad, Io::InPlace(&mut pt), tag)?;
    Ok(pt)
}

/// The message-based API's AES-GCM key check (the table's row for CKM_AES_GCM).
pub(super) fn check_gcm_key(key: &KeyMaterial) -> Result<()> {
    let m = Mechanism::new(ck::CKM_AES_GCM);
    spec_for_key(&m, ck::CKF_MESSAGE_ENCRYPT, "encrypt messages", key).map(|_| ())
}
