//! Test helpers the post-quantum family tests add to `test_support`: importing keys the way
//! C_CreateObject does, the PKCS#11 3.2 signing parameters, a known-answer RNG, and optional
//! fields of the third-party vector files (Wycheproof goes through `wycheproof_tests::run`).

use super::params::{MechParam, MechType, Mechanism};
use super::test_support::{all, template};
use super::{keys, KeyAttrs, KeyMaterial};
use crate::attr::Attr;
use crate::error::Result;
use cryptoki_sys as ck;
use serde_json::Value;

pub use super::test_support::{sign, verify};

pub fn attr(attrs: &KeyAttrs, ty: ck::CK_ATTRIBUTE_TYPE) -> Option<&[u8]> {
    attrs
        .public
        .iter()
        .chain(attrs.secret.iter())
        .find(|a| a.ty == ty)
        .map(|a| a.value.as_slice())
}

pub fn is_secret(attrs: &KeyAttrs, ty: ck::CK_ATTRIBUTE_TYPE) -> bool {
    attrs.secret.iter().any(|a| a.ty == ty) && !attrs.public.iter().any(|a| a.ty == ty)
}

/// C_GenerateKeyPair with only CKA_PARAMETER_SET in the public template: (private, public).
pub fn generate(
    mech: MechType,
    set: ck::CK_ULONG,
) -> (KeyMaterial, KeyMaterial, super::GeneratedPair) {
    super::test_support::generate_pair(mech, vec![Attr::ulong(ck::CKA_PARAMETER_SET, set)])
}

/// C_CreateObject: check the template, then load the object the way the session layer would.
pub fn import(
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
    attrs: Vec<Attr>,
) -> Result<(KeyMaterial, KeyAttrs)> {
    let checked = keys::check_import(class, key_type, &template(attrs))?;
    let key = keys::load(class, key_type, &all(&checked))?;
    Ok((key, checked))
}

/// Import a post-quantum private key from CKA_SEED and/or CKA_VALUE.
pub fn import_private(
    key_type: ck::CK_KEY_TYPE,
    parameter_set: ck::CK_ULONG,
    seed: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<(KeyMaterial, KeyAttrs)> {
    let mut attrs = vec![Attr::ulong(ck::CKA_PARAMETER_SET, parameter_set)];
    if let Some(s) = seed {
        attrs.push(Attr::new(ck::CKA_SEED, s.to_vec()));
    }
    if let Some(v) = value {
        attrs.push(Attr::new(ck::CKA_VALUE, v.to_vec()));
    }
    import(ck::CKO_PRIVATE_KEY, key_type, attrs)
}

/// Import a post-quantum public key (CKA_VALUE).
pub fn import_public(
    key_type: ck::CK_KEY_TYPE,
    parameter_set: ck::CK_ULONG,
    value: &[u8],
) -> Result<(KeyMaterial, KeyAttrs)> {
    let attrs = vec![
        Attr::ulong(ck::CKA_PARAMETER_SET, parameter_set),
        Attr::new(ck::CKA_VALUE, value.to_vec()),
    ];
    import(ck::CKO_PUBLIC_KEY, key_type, attrs)
}

pub fn sign_context(ty: MechType, hedge: ck::CK_ULONG, context: &[u8]) -> Mechanism {
    Mechanism {
        ty,
        param: MechParam::SignContext {
            hedge,
            context: context.to_vec(),
        },
    }
}

pub fn hash_context(
    ty: MechType,
    hedge: ck::CK_ULONG,
    context: &[u8],
    hash: MechType,
) -> Mechanism {
    Mechanism {
        ty,
        param: MechParam::HashSignContext {
            hedge,
            context: context.to_vec(),
            hash,
        },
    }
}

/// Multi-part C_SignUpdate/C_SignFinal.
pub fn sign_in_parts(m: &Mechanism, key: &KeyMaterial, parts: &[&[u8]]) -> Result<Vec<u8>> {
    let mut op = super::sign_init(m, key)?;
    for p in parts {
        op.update(p)?;
    }
    op.finish()
}

/// An RNG that hands out exactly the given bytes, for known-answer tests of operations that
/// draw randomness (ML-KEM encapsulation's m).
pub struct GivenBytes {
    bytes: Vec<u8>,
    pos: usize,
}

impl GivenBytes {
    pub fn new(bytes: &[u8]) -> Self {
        GivenBytes {
            bytes: bytes.to_vec(),
            pos: 0,
        }
    }
    pub fn fully_used(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

impl rand_core::TryRng for GivenBytes {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> std::result::Result<u32, Self::Error> {
        panic!("known-answer RNG: only fill_bytes is expected")
    }
    fn try_next_u64(&mut self) -> std::result::Result<u64, Self::Error> {
        panic!("known-answer RNG: only fill_bytes is expected")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> std::result::Result<(), Self::Error> {
        let end = self.pos + dst.len();
        assert!(end <= self.bytes.len(), "known-answer RNG exhausted");
        dst.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for GivenBytes {}

pub fn vectors_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors").to_string()
}

pub fn json(relative: &str) -> Value {
    let path = format!("{}/{relative}", vectors_dir());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A hex field that may be absent (absent reads as empty).
pub fn hex(v: &Value, field: &str) -> Vec<u8> {
    match v.get(field) {
        Some(Value::String(s)) => ::hex::decode(s).unwrap_or_else(|e| panic!("{field}: {e}")),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => panic!("{field} is not a hex string: {other}"),
    }
}

pub fn has(v: &Value, field: &str) -> bool {
    matches!(v.get(field), Some(Value::String(_)))
}

/// Exact counts of a vector file's verdicts, so a file cannot shrink unnoticed.
pub fn assert_counts(file: &str, t: super::wycheproof_tests::Tally, valid: usize, invalid: usize) {
    assert_eq!(
        (t.valid, t.invalid, t.acceptable),
        (valid, invalid, 0),
        "{file}: verdict counts"
    );
}
