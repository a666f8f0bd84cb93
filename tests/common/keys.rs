//! Key templates a careful client would send: every usage and protection attribute set
//! explicitly, so both backends are asked exactly the same thing.

use super::Token;
use crate::ck;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

/// The NIST curves the token must support, with their DER-encoded OIDs (CKA_EC_PARAMS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    pub const ALL: [Curve; 3] = [Curve::P256, Curve::P384, Curve::P521];

    pub fn params(self) -> Vec<u8> {
        match self {
            Curve::P256 => vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
            Curve::P384 => vec![0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22],
            Curve::P521 => vec![0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23],
        }
    }

    /// Bytes of one coordinate (and of r and s in a signature).
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// id-Ed25519 (1.3.101.112), DER-encoded, as CKA_EC_PARAMS of an Edwards key.
pub const ED25519_PARAMS: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

#[derive(Clone, Copy, Debug)]
pub struct KeyPair {
    pub public: ObjectHandle,
    pub private: ObjectHandle,
}

fn private_protection() -> Vec<Attribute> {
    vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
    ]
}

pub fn rsa(s: &Session, label: &str, bits: u64) -> KeyPair {
    let public = [
        Attribute::Token(true),
        Attribute::Label(label.into()),
        Attribute::ModulusBits(bits.into()),
        Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
        Attribute::Verify(true),
        Attribute::Encrypt(true),
    ];
    let mut private = private_protection();
    private.extend([
        Attribute::Label(label.into()),
        Attribute::Sign(true),
        Attribute::Decrypt(true),
    ]);
    let (public, private) =
        ck!(s.generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private));
    KeyPair { public, private }
}

pub fn ec(s: &Session, label: &str, curve: Curve) -> KeyPair {
    ec_with_params(s, label, &Mechanism::EccKeyPairGen, curve.params(), true)
}

pub fn ed25519(s: &Session, label: &str) -> KeyPair {
    ec_with_params(
        s,
        label,
        &Mechanism::EccEdwardsKeyPairGen,
        ED25519_PARAMS.to_vec(),
        false,
    )
}

fn ec_with_params(
    s: &Session,
    label: &str,
    mech: &Mechanism,
    params: Vec<u8>,
    derive: bool,
) -> KeyPair {
    let public = [
        Attribute::Token(true),
        Attribute::Label(label.into()),
        Attribute::EcParams(params),
        Attribute::Verify(true),
    ];
    let mut private = private_protection();
    private.extend([Attribute::Label(label.into()), Attribute::Sign(true)]);
    if derive {
        private.push(Attribute::Derive(true));
    }
    let (public, private) = ck!(s.generate_key_pair(mech, &public, &private));
    KeyPair { public, private }
}

/// An AES key for every AES use: sensitive, not extractable.
pub fn aes(s: &Session, label: &str, len: usize) -> ObjectHandle {
    let mut t = private_protection();
    t.extend(aes_usage(label, len));
    ck!(s.generate_key(&Mechanism::AesKeyGen, &t))
}

/// An AES key that may leave the token wrapped (the wrap tests need one).
pub fn aes_extractable(s: &Session, label: &str, len: usize) -> ObjectHandle {
    let mut t = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
    ];
    t.extend(aes_usage(label, len));
    ck!(s.generate_key(&Mechanism::AesKeyGen, &t))
}

fn aes_usage(label: &str, len: usize) -> Vec<Attribute> {
    vec![
        Attribute::Label(label.into()),
        Attribute::ValueLen((len as u64).into()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
    ]
}

/// A generic secret (HMAC, HKDF) key, generated on the token.
pub fn generic_secret(s: &Session, label: &str, len: usize) -> ObjectHandle {
    let mut t = private_protection();
    t.extend([
        Attribute::Label(label.into()),
        Attribute::ValueLen((len as u64).into()),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Derive(true),
    ]);
    ck!(s.generate_key(&Mechanism::GenericSecretKeyGen, &t))
}

/// Import a known secret (C_CreateObject) as a session object, for known-answer tests.
pub fn import_secret(s: &Session, key_type: KeyType, value: &[u8]) -> ObjectHandle {
    ck!(s.create_object(&secret_template(key_type, value)))
}

pub fn secret_template(key_type: KeyType, value: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(key_type),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Value(value.to_vec()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Wrap(true),
        Attribute::Unwrap(true),
        Attribute::Derive(true),
    ]
}

/// A generic secret the test may read back (CKA_SENSITIVE=FALSE, CKA_EXTRACTABLE=TRUE):
/// for known-answer checks of derive and unwrap. pqhsm allows it only under
/// `[policy] allow_extractable = true`.
pub fn readable_secret_template() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Sensitive(false),
        Attribute::Extractable(true),
    ]
}

/// As [`readable_secret_template`], `len` bytes long.
pub fn readable_secret(len: usize) -> Vec<Attribute> {
    let mut t = readable_secret_template();
    t.push(Attribute::ValueLen((len as u64).into()));
    t
}

/// One attribute's bytes, read through cryptoki (fails the test when it is absent).
pub fn attr_bytes(s: &Session, o: ObjectHandle, ty: AttributeType) -> Vec<u8> {
    let attrs = ck!(s.get_attributes(o, &[ty]));
    match attrs.into_iter().next() {
        Some(Attribute::Modulus(v))
        | Some(Attribute::PublicExponent(v))
        | Some(Attribute::EcPoint(v))
        | Some(Attribute::EcParams(v))
        | Some(Attribute::Value(v))
        | Some(Attribute::Label(v))
        | Some(Attribute::Id(v)) => v,
        other => panic!("attribute {ty:?} of object {o}: got {other:?}"),
    }
}

/// One boolean attribute, read through cryptoki.
pub fn attr_bool(s: &Session, o: ObjectHandle, ty: AttributeType) -> bool {
    let attrs = ck!(s.get_attributes(o, &[ty]));
    match attrs.into_iter().next() {
        Some(
            Attribute::Sensitive(b)
            | Attribute::Extractable(b)
            | Attribute::AlwaysSensitive(b)
            | Attribute::NeverExtractable(b)
            | Attribute::Private(b)
            | Attribute::Token(b)
            | Attribute::Local(b)
            | Attribute::Modifiable(b)
            | Attribute::Sign(b)
            | Attribute::Verify(b)
            | Attribute::Encrypt(b)
            | Attribute::Decrypt(b)
            | Attribute::Wrap(b)
            | Attribute::Unwrap(b)
            | Attribute::Derive(b)
            | Attribute::Copyable(b)
            | Attribute::Destroyable(b),
        ) => b,
        other => panic!("boolean attribute {ty:?} of object {o}: got {other:?}"),
    }
}

impl Token {
    pub fn gen_rsa(&self, bits: u64) -> KeyPair {
        rsa(self.session(), &self.label("rsa"), bits)
    }
    pub fn gen_ec(&self, curve: Curve) -> KeyPair {
        ec(self.session(), &self.label("ec"), curve)
    }
    pub fn gen_ed25519(&self) -> KeyPair {
        ed25519(self.session(), &self.label("ed25519"))
    }
    pub fn gen_aes(&self, len: usize) -> ObjectHandle {
        aes(self.session(), &self.label("aes"), len)
    }
    pub fn gen_generic_secret(&self, len: usize) -> ObjectHandle {
        generic_secret(self.session(), &self.label("secret"), len)
    }
}
