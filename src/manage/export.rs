//! Export of public keys only: SubjectPublicKeyInfo (DER/PEM), the raw public key and JWK
//! (RSA, EC, OKP; AKP for the post-quantum drafts). The public key is parsed and checked
//! by the mechanism layer before it is encoded. Private and secret keys never leave.

use super::info::{key_info, KeyInfo};
use super::view::Obj;
use super::Manager;
use crate::error::{Error, ErrorKind, Result};
use crate::mech::pqc_keys::PqKey;
use crate::mech::{ec, eddsa::EdKey, keys, pqc_encoding, rsa::RsaKey, KeyMaterial};
use crate::object::vendor::VersionState;
use base64ct::{Base64UrlUnpadded, Encoding};
use cryptoki_sys as ck;
use pkcs8::EncodePublicKey;
use serde_json::{json, Value};

/// A version's public key in every form `keys export` offers.
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub key: KeyInfo,
    pub version: u32,
    pub version_state: VersionState,
    /// SubjectPublicKeyInfo, DER.
    pub spki: Vec<u8>,
    /// The raw public key: SEC1 uncompressed point (EC), 32 bytes (Ed25519), PKCS#1
    /// RSAPublicKey DER (RSA), the FIPS encoding (ML-DSA, ML-KEM, SLH-DSA).
    pub raw: Vec<u8>,
    pub jwk: Value,
}

fn unsupported(what: &str) -> Error {
    Error::new(
        ErrorKind::FunctionNotSupported,
        format!("exporting {what} public keys is not supported by this build"),
    )
}

fn encoding_failed(e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::General,
        format!("encoding the public key failed: {e}"),
    )
}

fn b64(b: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(b)
}

/// The parsed public key of a public key object.
fn material(o: &Obj) -> Result<KeyMaterial> {
    let key_type = o.kind.sub.unwrap_or(ck::CK_UNAVAILABLE_INFORMATION);
    keys::load(ck::CKO_PUBLIC_KEY, key_type, &o.public)
}

/// SubjectPublicKeyInfo DER of a public key object.
pub(crate) fn spki_of(o: &Obj) -> Result<Vec<u8>> {
    Ok(encode(o)?.0)
}

/// (SPKI DER, raw public key, JWK without kid/use).
fn encode(o: &Obj) -> Result<(Vec<u8>, Vec<u8>, Value)> {
    match material(o)? {
        KeyMaterial::Rsa(RsaKey::Public(k, ..)) => {
            use rsa::pkcs1::EncodeRsaPublicKey;
            use rsa::traits::PublicKeyParts;
            let spki = k.to_public_key_der().map_err(encoding_failed)?.into_vec();
            let raw = k.to_pkcs1_der().map_err(encoding_failed)?.into_vec();
            let jwk = json!({"kty": "RSA", "n": b64(&k.n_bytes()), "e": b64(&k.e_bytes())});
            Ok((spki, raw, jwk))
        }
        KeyMaterial::Ec(ec::EcKey::Public { curve, point, .. }) => {
            let spki = match curve {
                ec::Curve::P256 => p256::PublicKey::from_sec1_bytes(&point)
                    .map_err(encoding_failed)?
                    .to_public_key_der(),
                ec::Curve::P384 => p384::PublicKey::from_sec1_bytes(&point)
                    .map_err(encoding_failed)?
                    .to_public_key_der(),
                ec::Curve::P521 => p521::PublicKey::from_sec1_bytes(&point)
                    .map_err(encoding_failed)?
                    .to_public_key_der(),
            }
            .map_err(encoding_failed)?
            .into_vec();
            let fl = curve.field_len();
            let crv = match curve {
                ec::Curve::P256 => "P-256",
                ec::Curve::P384 => "P-384",
                ec::Curve::P521 => "P-521",
            };
            // `point` is validated and uncompressed: 0x04 || x || y.
            let (x, y) = point[1..].split_at(fl);
            let jwk = json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y)});
            Ok((spki, point, jwk))
        }
        KeyMaterial::EdDsa(EdKey::Public(k)) => {
            let spki = k.to_public_key_der().map_err(encoding_failed)?.into_vec();
            let raw = k.as_bytes().to_vec();
            let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&raw)});
            Ok((spki, raw, jwk))
        }
        other => encode_pq(&other),
    }
}

/// Post-quantum public keys: the LAMPS SubjectPublicKeyInfo and the AKP JWK of the JOSE/COSE
/// drafts (`alg` names the parameter set, `pub` carries the raw key).
fn encode_pq(k: &KeyMaterial) -> Result<(Vec<u8>, Vec<u8>, Value)> {
    fn akp<K: PqKey>(k: &K, alg: &str) -> Result<(Vec<u8>, Vec<u8>, Value)> {
        if k.is_private() {
            return Err(Error::new(ErrorKind::General, "expected a public key"));
        }
        let raw = k.public_bytes().to_vec();
        let spki = pqc_encoding::spki_der(K::KEY_TYPE, k.parameter_set(), &raw)?;
        let jwk = json!({"kty": "AKP", "alg": alg, "pub": b64(&raw)});
        Ok((spki, raw, jwk))
    }
    match k {
        KeyMaterial::MlDsa(k) => akp(k, k.set().name()),
        KeyMaterial::MlKem(k) => akp(k, k.set().name()),
        KeyMaterial::SlhDsa(k) => akp(k, k.set().name()),
        _ => Err(unsupported("these")),
    }
}

impl Manager<'_> {
    /// The public key of version `version` of `name` (None: the active version).
    pub fn export_public(&self, name: &str, version: Option<u32>) -> Result<PublicKey> {
        let pk = self.audited_read("export", Some(name), version, || {
            self.public_key(name, version)
        })?;
        self.record(
            "export",
            Some(name),
            Some(pk.version),
            super::audit::Outcome::Ok,
            "public key",
        )?;
        Ok(pk)
    }

    fn public_key(&self, name: &str, version: Option<u32>) -> Result<PublicKey> {
        let snap = self.snapshot()?;
        let view = snap.key(name)?;
        let vv = match version {
            Some(n) => view.version(n)?,
            None => view.active().ok_or_else(|| {
                Error::new(
                    ErrorKind::StateTransition,
                    format!("key `{name}` has no active version: name one with --version"),
                )
            })?,
        };
        let n = vv.meta.version;
        if !view.meta().purpose.is_asymmetric() {
            return Err(Error::new(
                ErrorKind::KeyFunctionNotPermitted,
                format!("key `{name}` is a {} key: it has no public key, and secret keys are never exported", view.meta().purpose),
            ));
        }
        let obj = vv.object(ck::CKO_PUBLIC_KEY).ok_or_else(|| {
            Error::new(
                ErrorKind::StateTransition,
                format!(
                    "key `{name}` v{n} is {}: its public key is gone",
                    vv.meta.state
                ),
            )
        })?;
        let (spki, raw, mut jwk) = encode(obj)?;
        if let Value::Object(m) = &mut jwk {
            m.insert("kid".into(), json!(format!("{name}/v{n}")));
            let usage = match view.meta().purpose {
                crate::object::vendor::Purpose::Signing => "sig",
                _ => "enc",
            };
            m.insert("use".into(), json!(usage));
        }
        Ok(PublicKey {
            key: key_info(view, self.now()),
            version: n,
            version_state: vv.meta.state,
            spki,
            raw,
            jwk,
        })
    }
}
