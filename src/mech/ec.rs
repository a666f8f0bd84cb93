//! ECDSA and ECDH on the NIST prime curves P-256, P-384 and P-521: key pair generation,
//! signatures (r||s, fixed length), CKD_NULL key agreement, key parsing and PKCS#8.
//! Curves are named by DER OID only; explicit curve parameters are refused.

use super::family::Family;
use super::{AttrSource, KeyAttrs};
use crate::attr::Template;
use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;
use pkcs8::ObjectIdentifier;
use zeroize::Zeroizing;

pub const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// An EC key as the token holds it.
pub enum EcKey {
    P256Private(p256::SecretKey),
    P256Public(p256::PublicKey),
    P384Private(p384::SecretKey),
    P384Public(p384::PublicKey),
    P521Private(p521::SecretKey),
    P521Public(p521::PublicKey),
}

impl EcKey {
    pub fn bits(&self) -> u64 {
        match self {
            EcKey::P256Private(_) | EcKey::P256Public(_) => 256,
            EcKey::P384Private(_) | EcKey::P384Public(_) => 384,
            EcKey::P521Private(_) | EcKey::P521Public(_) => 521,
        }
    }
}

#[derive(Debug)]
pub struct Ec;

impl Family for Ec {}

pub fn load(_class: ck::CK_OBJECT_CLASS, _src: &dyn AttrSource) -> Result<EcKey> {
    err(ErrorKind::FunctionFailed, "EC keys are not available yet")
}
pub fn check_import(_class: ck::CK_OBJECT_CLASS, _t: &Template) -> Result<KeyAttrs> {
    err(ErrorKind::FunctionFailed, "EC keys are not available yet")
}
pub fn to_pkcs8(_k: &EcKey) -> Result<Zeroizing<Vec<u8>>> {
    err(ErrorKind::FunctionFailed, "EC keys are not available yet")
}
pub fn from_pkcs8(_info: &pkcs8::PrivateKeyInfoRef<'_>) -> Result<KeyAttrs> {
    err(ErrorKind::FunctionFailed, "EC keys are not available yet")
}
