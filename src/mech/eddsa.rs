//! Ed25519 (CKK_EC_EDWARDS, CKM_EDDSA pure mode): key pair generation, signatures, key
//! parsing and RFC 8410 PKCS#8. Ed448 and the prehash/context variants are not offered.

use super::family::Family;
use super::keys::required;
use super::ops::{Input, OneShotSign, OneShotVerify};
use super::params::{MechParam, Mechanism};
use super::{AttrSource, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::{Attr, Template};
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use der::asn1::{OctetStringRef, PrintableStringRef};
use der::{Decode, Encode};
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use pkcs8::ObjectIdentifier;
use std::sync::Arc;
use zeroize::Zeroizing;

pub const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const CURVE_NAME: &str = "edwards25519";

/// An Ed25519 key as the token holds it.
pub enum EdKey {
    Private(Arc<EdPrivate>),
    Public(VerifyingKey),
}

/// A private key: dalek's (zeroized on drop), and aws-lc-rs's built on first use where the
/// table names it (held in aws-lc's heap, wiped when freed).
pub struct EdPrivate {
    key: SigningKey,
    #[cfg(feature = "aws-lc")]
    aws: std::sync::OnceLock<Option<aws_lc_rs::signature::Ed25519KeyPair>>,
}

impl EdPrivate {
    fn new(key: SigningKey) -> Self {
        EdPrivate {
            key,
            #[cfg(feature = "aws-lc")]
            aws: std::sync::OnceLock::new(),
        }
    }

    /// Pure Ed25519 (deterministic: both providers give the same signature).
    fn sign(&self, p: super::provider::Provider, msg: &[u8]) -> Vec<u8> {
        #[cfg(feature = "aws-lc")]
        if super::provider::is_aws_lc(p) {
            let aws = self.aws.get_or_init(|| {
                aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(self.key.as_bytes()).ok()
            });
            if let Some(k) = aws {
                super::provider::aws_lc_served();
                return k.sign(msg).as_ref().to_vec();
            }
        }
        let _ = p;
        use ed25519_dalek::Signer;
        self.key.sign(msg).to_bytes().to_vec()
    }
}

impl EdKey {
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            EdKey::Private(k) => k.key.verifying_key(),
            EdKey::Public(k) => *k,
        }
    }
}

/// CKA_EC_PARAMS for Ed25519: the RFC 8410 OID or the PrintableString "edwards25519"
/// (PKCS#11 3.0 names the curve; 3.1 allows the OID). Both are accepted and kept as given.
fn check_ec_params(der: &[u8]) -> Result<()> {
    let by_oid = ObjectIdentifier::from_der(der).is_ok_and(|oid| oid == OID_ED25519);
    let by_name = <PrintableStringRef<'_>>::from_der(der).is_ok_and(|s| s.as_str() == CURVE_NAME);
    if by_oid || by_name {
        Ok(())
    } else {
        err(
            ErrorKind::CurveNotSupported,
            "CKA_EC_PARAMS for CKK_EC_EDWARDS must be OID 1.3.101.112 or PrintableString \"edwards25519\"",
        )
    }
}

fn default_ec_params() -> Vec<u8> {
    // An OID constant always encodes.
    OID_ED25519.to_der().unwrap_or_default()
}

fn invalid_value(what: &str) -> Error {
    Error::new(ErrorKind::AttributeValueInvalid, what.to_string())
}

/// CKA_EC_POINT of an Edwards key: DER OCTET STRING of the 32-byte key (raw accepted).
fn parse_public(bytes: &[u8]) -> Result<VerifyingKey> {
    let raw = if bytes.len() == 32 {
        bytes
    } else {
        <&OctetStringRef>::from_der(bytes)
            .map_err(|_| {
                invalid_value("CKA_EC_POINT must be a DER OCTET STRING of the 32-byte Ed25519 key")
            })?
            .as_bytes()
    };
    let raw: &[u8; 32] = raw
        .try_into()
        .map_err(|_| invalid_value("an Ed25519 public key is 32 bytes"))?;
    VerifyingKey::from_bytes(raw)
        .map_err(|_| invalid_value("CKA_EC_POINT is not a valid Ed25519 point"))
}

fn ec_point_attr(k: &VerifyingKey) -> Vec<u8> {
    // 32 bytes always encode.
    OctetStringRef::new(k.as_bytes())
        .and_then(|o| o.to_der())
        .unwrap_or_default()
}

fn parse_private(bytes: &[u8]) -> Result<SigningKey> {
    let seed: &[u8; 32] = bytes
        .try_into()
        .map_err(|_| invalid_value("an Ed25519 private key (CKA_VALUE) is the 32-byte seed"))?;
    Ok(SigningKey::from_bytes(seed))
}

pub fn load(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<EdKey> {
    check_ec_params(required(src, ck::CKA_EC_PARAMS)?)?;
    if class == ck::CKO_PRIVATE_KEY {
        Ok(EdKey::Private(Arc::new(EdPrivate::new(parse_private(
            required(src, ck::CKA_VALUE)?,
        )?))))
    } else {
        Ok(EdKey::Public(parse_public(required(
            src,
            ck::CKA_EC_POINT,
        )?)?))
    }
}

pub fn check_import(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    let key = load(class, t)?;
    let params = Attr::new(ck::CKA_EC_PARAMS, required(t, ck::CKA_EC_PARAMS)?.to_vec());
    Ok(match key {
        EdKey::Private(k) => KeyAttrs {
            public: vec![params],
            secret: vec![Attr::new(ck::CKA_VALUE, k.key.as_bytes().to_vec())],
        },
        EdKey::Public(k) => KeyAttrs {
            public: vec![params, Attr::new(ck::CKA_EC_POINT, ec_point_attr(&k))],
            secret: vec![],
        },
    })
}

pub fn to_pkcs8(k: &EdKey) -> Result<Zeroizing<Vec<u8>>> {
    use pkcs8::EncodePrivateKey;
    let EdKey::Private(k) = k else {
        return err(
            ErrorKind::KeyNotWrappable,
            "only private Ed25519 keys have a PKCS#8 form",
        );
    };
    let doc = k
        .key
        .to_pkcs8_der()
        .map_err(|e| Error::new(ErrorKind::General, format!("PKCS#8 encoding failed: {e}")))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

pub fn from_pkcs8(der: &[u8]) -> Result<KeyAttrs> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|e| super::keys::bad_pkcs8(&e))?;
    let k = SigningKey::try_from(info).map_err(|e| super::keys::bad_pkcs8(&e))?;
    Ok(KeyAttrs {
        public: vec![Attr::new(ck::CKA_EC_PARAMS, default_ec_params())],
        secret: vec![Attr::new(ck::CKA_VALUE, k.as_bytes().to_vec())],
    })
}

fn ed_key(key: &KeyMaterial) -> Result<&EdKey> {
    match key {
        KeyMaterial::EdDsa(k) => Ok(k),
        _ => err(
            ErrorKind::KeyTypeInconsistent,
            "CKM_EDDSA needs a CKK_EC_EDWARDS key",
        ),
    }
}

fn pure_only(m: &Mechanism) -> Result<()> {
    match m.param {
        MechParam::None => Ok(()),
        _ => err(
            ErrorKind::MechanismParamInvalid,
            "only pure Ed25519 is supported: pass no CK_EDDSA_PARAMS",
        ),
    }
}

#[derive(Debug)]
pub struct EdDsa;

impl Family for EdDsa {
    fn sign_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        pure_only(m)?;
        let EdKey::Private(k) = ed_key(key)? else {
            return err(
                ErrorKind::KeyTypeInconsistent,
                "signing needs the private Ed25519 key",
            );
        };
        let (k, p) = (k.clone(), super::provider::private(m.ty));
        // Pure Ed25519 hashes the message twice, so the whole message is kept until finish.
        Ok(Box::new(OneShotSign::new(
            Input::buffer(None),
            Signature::BYTE_SIZE,
            move |msg| Ok(k.sign(p, msg)),
        )))
    }

    fn verify_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        pure_only(m)?;
        let vk = ed_key(key)?.verifying_key();
        Ok(Box::new(OneShotVerify::new(
            Input::buffer(None),
            move |msg, sig| {
                let sig: &[u8; 64] = sig.try_into().map_err(|_| {
                    Error::new(
                        ErrorKind::SignatureLenRange,
                        "an Ed25519 signature is 64 bytes",
                    )
                })?;
                // Strict verification: rejects non-canonical S and small-order keys and R.
                vk.verify_strict(msg, &Signature::from_bytes(sig))
                    .map_err(|_| {
                        Error::new(
                            ErrorKind::SignatureInvalid,
                            "the Ed25519 signature does not verify",
                        )
                    })
            },
        )))
    }

    fn generate_key_pair(
        &self,
        m: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<GeneratedPair> {
        pure_only(m)?;
        let params = match public
            .get(ck::CKA_EC_PARAMS)
            .or_else(|| private.get(ck::CKA_EC_PARAMS))
        {
            Some(p) => {
                check_ec_params(p)?;
                p.to_vec()
            }
            None => default_ec_params(),
        };
        let mut seed = Zeroizing::new([0u8; 32]);
        crate::rng::fill_bytes(&mut *seed);
        let k = SigningKey::from_bytes(&seed);
        Ok(GeneratedPair {
            key_type: ck::CKK_EC_EDWARDS,
            public_key: vec![
                Attr::new(ck::CKA_EC_PARAMS, params.clone()),
                Attr::new(ck::CKA_EC_POINT, ec_point_attr(&k.verifying_key())),
            ],
            private_key: KeyAttrs {
                public: vec![Attr::new(ck::CKA_EC_PARAMS, params)],
                secret: vec![Attr::new(ck::CKA_VALUE, k.as_bytes().to_vec())],
            },
        })
    }
}

#[cfg(test)]
mod tests;
