//! Test helpers shared by the post-quantum family tests: turning generated or imported key
//! attributes into key material the way the session layer does, driving sign/verify through
//! the mechanism entry points, and reading the third-party vector files.

use super::params::{MechParam, MechType, Mechanism};
use super::{keys, GeneratedPair, KeyAttrs, KeyMaterial};
use crate::attr::{Attr, Template};
use crate::error::Result;
use cryptoki_sys as ck;
use serde_json::Value;

pub fn template(attrs: Vec<Attr>) -> Template {
    Template::new(attrs).expect("test templates have no duplicate attributes")
}

/// The key attributes of one object as the store would hold them: public and sealed together.
pub fn object(attrs: &KeyAttrs) -> Template {
    template(
        attrs
            .public
            .iter()
            .chain(attrs.secret.iter())
            .cloned()
            .collect(),
    )
}

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

/// C_GenerateKeyPair through the table with only CKA_PARAMETER_SET in the public template.
pub fn generate(
    mech: MechType,
    key_type: ck::CK_KEY_TYPE,
    set: ck::CK_ULONG,
) -> (KeyMaterial, KeyMaterial, GeneratedPair) {
    let public = template(vec![Attr::ulong(ck::CKA_PARAMETER_SET, set)]);
    let pair = super::generate_key_pair(&Mechanism::new(mech), &public, &Template::default())
        .expect("key pair generation");
    assert_eq!(pair.key_type, key_type);
    let pub_key = keys::load(
        ck::CKO_PUBLIC_KEY,
        key_type,
        &template(pair.public_key.clone()),
    )
    .expect("load generated public key");
    let priv_key = keys::load(ck::CKO_PRIVATE_KEY, key_type, &object(&pair.private_key))
        .expect("load generated private key");
    (pub_key, priv_key, pair)
}

/// C_CreateObject: check the template, then load the object the way the session layer would.
pub fn import(
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
    attrs: Vec<Attr>,
) -> Result<(KeyMaterial, KeyAttrs)> {
    let checked = keys::check_import(class, key_type, &template(attrs))?;
    let key = keys::load(class, key_type, &object(&checked))?;
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

/// C_Sign: one update and finish, or `chunks` updates when given.
pub fn sign(m: &Mechanism, key: &KeyMaterial, msg: &[u8]) -> Result<Vec<u8>> {
    let mut op = super::sign_init(m, key)?;
    op.update(msg)?;
    let sig = op.finish()?;
    assert_eq!(
        sig.len(),
        op.sig_len(),
        "sig_len must announce the signature length"
    );
    Ok(sig)
}

pub fn sign_in_parts(m: &Mechanism, key: &KeyMaterial, parts: &[&[u8]]) -> Result<Vec<u8>> {
    let mut op = super::sign_init(m, key)?;
    for p in parts {
        op.update(p)?;
    }
    op.finish()
}

pub fn verify(m: &Mechanism, key: &KeyMaterial, msg: &[u8], sig: &[u8]) -> Result<()> {
    let mut op = super::verify_init(m, key)?;
    op.update(msg)?;
    op.finish(sig)
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

/// A hex field of a vector (absent fields read as empty).
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

/// Wycheproof test groups and the number of tests the file announces.
pub fn wycheproof(name: &str) -> (Vec<Value>, usize) {
    let doc = json(&format!("wycheproof/{name}"));
    let groups = doc["testGroups"].as_array().expect("testGroups").clone();
    let announced = doc["numberOfTests"].as_u64().expect("numberOfTests") as usize;
    (groups, announced)
}

/// Outcome counts of a vector file, so a test can prove it drove every case.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub valid: usize,
    pub invalid: usize,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.valid + self.invalid
    }
    /// Record one case: `outcome` is whether our implementation accepted it.
    pub fn record(&mut self, file: &str, test: &Value, accepted: bool) {
        let id = &test["tcId"];
        match test["result"].as_str() {
            Some("valid") => {
                assert!(accepted, "{file} tcId {id}: a valid case was rejected");
                self.valid += 1;
            }
            Some("invalid") => {
                assert!(!accepted, "{file} tcId {id}: an invalid case was accepted");
                self.invalid += 1;
            }
            other => panic!("{file} tcId {id}: unexpected result {other:?}"),
        }
    }
}
