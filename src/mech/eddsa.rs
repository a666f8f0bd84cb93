//! Ed25519 (CKK_EC_EDWARDS, CKM_EDDSA pure mode): key pair generation, signatures, key
//! parsing and RFC 8410 PKCS#8. Ed448 and the prehash/context variants are not offered.

use super::family::Family;
use super::{AttrSource, KeyAttrs};
use crate::attr::Template;
use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;
use pkcs8::ObjectIdentifier;
use zeroize::Zeroizing;

pub const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// An Ed25519 key as the token holds it.
pub enum EdKey {
    Private(Box<ed25519_dalek::SigningKey>),
    Public(ed25519_dalek::VerifyingKey),
}

#[derive(Debug)]
pub struct EdDsa;

impl Family for EdDsa {}

pub fn load(_class: ck::CK_OBJECT_CLASS, _src: &dyn AttrSource) -> Result<EdKey> {
    err(
        ErrorKind::FunctionFailed,
        "Ed25519 keys are not available yet",
    )
}
pub fn check_import(_class: ck::CK_OBJECT_CLASS, _t: &Template) -> Result<KeyAttrs> {
    err(
        ErrorKind::FunctionFailed,
        "Ed25519 keys are not available yet",
    )
}
pub fn to_pkcs8(_k: &EdKey) -> Result<Zeroizing<Vec<u8>>> {
    err(
        ErrorKind::FunctionFailed,
        "Ed25519 keys are not available yet",
    )
}
pub fn from_pkcs8(_der: &[u8]) -> Result<KeyAttrs> {
    err(
        ErrorKind::FunctionFailed,
        "Ed25519 keys are not available yet",
    )
}
