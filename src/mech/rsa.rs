//! RSA: key pair generation, PKCS#1 v1.5 and PSS signatures, PKCS#1 v1.5 and OAEP
//! encryption, key parsing and PKCS#8. Never returns a padding error that distinguishes
//! failure causes on decryption (see SECURITY.md for what the crate exposes).

use super::family::Family;
use super::{AttrSource, KeyAttrs};
use crate::attr::Template;
use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;
use pkcs8::ObjectIdentifier;
use zeroize::Zeroizing;

pub const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// An RSA key as the token holds it.
pub enum RsaKey {
    Private(Box<::rsa::PrivateKey>),
    Public(::rsa::PublicKey),
}

impl RsaKey {
    pub fn bits(&self) -> u64 {
        use ::rsa::traits::PublicKeyParts;
        match self {
            RsaKey::Private(k) => k.n().bit_width() as u64,
            RsaKey::Public(k) => k.n().bit_width() as u64,
        }
    }
}

#[derive(Debug)]
pub struct Rsa;

impl Family for Rsa {}

pub fn load(_class: ck::CK_OBJECT_CLASS, _src: &dyn AttrSource) -> Result<RsaKey> {
    err(ErrorKind::FunctionFailed, "RSA keys are not available yet")
}
pub fn check_import(_class: ck::CK_OBJECT_CLASS, _t: &Template) -> Result<KeyAttrs> {
    err(ErrorKind::FunctionFailed, "RSA keys are not available yet")
}
pub fn to_pkcs8(_k: &RsaKey) -> Result<Zeroizing<Vec<u8>>> {
    err(ErrorKind::FunctionFailed, "RSA keys are not available yet")
}
pub fn from_pkcs8(_der: &[u8]) -> Result<KeyAttrs> {
    err(ErrorKind::FunctionFailed, "RSA keys are not available yet")
}
