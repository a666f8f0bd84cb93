//! ECDSA and ECDH on the NIST prime curves P-256, P-384 and P-521: key pair generation,
//! signatures (r||s, fixed length), CKD_NULL key agreement, key parsing and PKCS#8.
//! Curves are named by DER OID only; explicit curve parameters are refused.

use super::digest::hasher;
use super::family::{unsupported, Family};
use super::keys::required;
use super::ops::{Input, OneShotSign, OneShotVerify};
use super::params::{MechParam, Mechanism};
use super::{AttrSource, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::{Attr, Template};
use crate::error::{err, Error, ErrorKind, Result};
use crate::rng::CoreRng;
use cryptoki_sys as ck;
use der::asn1::OctetStringRef;
// The three curve crates share these two crates; name them through one of them.
use der::{Decode, Encode};
use p256::ecdsa::signature;
use p256::elliptic_curve;
use pkcs8::ObjectIdentifier;
use std::sync::Arc;

use super::provider;

#[cfg(feature = "aws-lc")]
mod aws;

/// The public point of `scalar` computed by aws-lc-rs (None: not built in).
fn public_point(curve: Curve, scalar: &[u8]) -> Option<Vec<u8>> {
    #[cfg(feature = "aws-lc")]
    {
        aws::public_point(curve, scalar)
    }
    #[cfg(not(feature = "aws-lc"))]
    {
        let _ = (curve, scalar);
        None
    }
}
use zeroize::Zeroizing;

pub const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// The curves this token offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

/// Run `$body` with `$m` bound to the curve crate (`p256`, `p384` or `p521`).
macro_rules! on_curve {
    ($curve:expr, $m:ident => $body:expr) => {
        match $curve {
            Curve::P256 => {
                use ::p256 as $m;
                $body
            }
            Curve::P384 => {
                use ::p384 as $m;
                $body
            }
            Curve::P521 => {
                use ::p521 as $m;
                $body
            }
        }
    };
}

impl Curve {
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Curve> {
        match oid {
            OID_P256 => Some(Curve::P256),
            OID_P384 => Some(Curve::P384),
            OID_P521 => Some(Curve::P521),
            _ => None,
        }
    }

    /// CKA_EC_PARAMS: the DER encoding of a named curve's OID.
    pub fn from_ec_params(der: &[u8]) -> Result<Curve> {
        let oid = ObjectIdentifier::from_der(der).map_err(|_| {
            Error::new(
                ErrorKind::CurveNotSupported,
                "CKA_EC_PARAMS must be the DER OID of P-256, P-384 or P-521 (explicit parameters are not supported)",
            )
        })?;
        Curve::from_oid(oid).ok_or_else(|| {
            Error::new(
                ErrorKind::CurveNotSupported,
                format!("curve {oid} is not supported: use P-256, P-384 or P-521"),
            )
        })
    }

    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
            Curve::P521 => OID_P521,
        }
    }

    pub fn ec_params(self) -> Vec<u8> {
        // An OID constant always encodes.
        self.oid().to_der().unwrap_or_default()
    }

    /// Length of a field element (and of a scalar) in bytes.
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    pub fn bits(self) -> u64 {
        match self {
            Curve::P256 => 256,
            Curve::P384 => 384,
            Curve::P521 => 521,
        }
    }
}

/// Run `$body` with `$m` bound to the curve crate and `$k` to the key inside `$e`, a
/// [`Signer`] or [`Verifier`].
macro_rules! with_key {
    ($e:expr, $T:ident, $m:ident, $k:ident => $body:expr) => {
        match $e {
            $T::P256($k) => {
                use ::p256 as $m;
                $body
            }
            $T::P384($k) => {
                use ::p384 as $m;
                $body
            }
            $T::P521($k) => {
                use ::p521 as $m;
                $body
            }
        }
    };
}

/// A private key as the curve crate holds it, parsed once when the key is loaded (the
/// crate key zeroizes its scalar on drop), so a signature decodes nothing.
pub enum Signer {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

/// A public key as the curve crate holds it, validated once.
pub enum Verifier {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
}

/// An EC key as the token holds it: curve, validated scalar (private keys, big-endian,
/// field length), validated uncompressed public point, and the parsed crate key.
pub enum EcKey {
    Private {
        curve: Curve,
        scalar: Zeroizing<Vec<u8>>,
        point: Vec<u8>,
        signer: Arc<Signer>,
        #[cfg(feature = "aws-lc")]
        aws: Arc<aws::Private>,
    },
    Public {
        curve: Curve,
        point: Vec<u8>,
        verifier: Arc<Verifier>,
        #[cfg(feature = "aws-lc")]
        aws: Arc<aws::Public>,
    },
}

impl EcKey {
    pub fn curve(&self) -> Curve {
        match self {
            EcKey::Private { curve, .. } | EcKey::Public { curve, .. } => *curve,
        }
    }

    pub fn bits(&self) -> u64 {
        self.curve().bits()
    }

    pub fn point(&self) -> &[u8] {
        match self {
            EcKey::Private { point, .. } | EcKey::Public { point, .. } => point,
        }
    }
}

fn invalid_value(what: &str) -> Error {
    Error::new(ErrorKind::AttributeValueInvalid, what.to_string())
}

/// A private scalar: leading zeros are tolerated, the value must be in 1..n. Returns the
/// fixed-length scalar, the public point it implies and the crate's signing key.
fn parse_scalar(curve: Curve, bytes: &[u8]) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>, Signer)> {
    let fl = curve.field_len();
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let digits = &bytes[start..];
    if digits.len() > fl {
        return Err(invalid_value(
            "the EC private value (CKA_VALUE) is longer than the curve order",
        ));
    }
    let mut scalar = Zeroizing::new(vec![0u8; fl]);
    scalar[fl - digits.len()..].copy_from_slice(digits);
    let bad =
        |_| invalid_value("the EC private value (CKA_VALUE) is zero or not below the curve order");
    let (point, signer) = match curve {
        Curve::P256 => {
            let sk = p256::ecdsa::SigningKey::from_slice(&scalar).map_err(bad)?;
            (
                uncompressed(&p256::PublicKey::from(sk.verifying_key())),
                Signer::P256(sk),
            )
        }
        Curve::P384 => {
            let sk = p384::ecdsa::SigningKey::from_slice(&scalar).map_err(bad)?;
            (
                uncompressed(&p384::PublicKey::from(sk.verifying_key())),
                Signer::P384(sk),
            )
        }
        Curve::P521 => {
            let sk = p521::ecdsa::SigningKey::from_slice(&scalar).map_err(bad)?;
            (
                uncompressed(&p521::PublicKey::from(sk.verifying_key())),
                Signer::P521(sk),
            )
        }
    };
    Ok((scalar, point, signer))
}

/// The crate's verifying key for a validated uncompressed point.
fn verifier(curve: Curve, point: &[u8]) -> Result<Verifier> {
    let bad = |_| invalid_value("the EC point is not a point on the key's curve");
    Ok(match curve {
        Curve::P256 => {
            Verifier::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?)
        }
        Curve::P384 => {
            Verifier::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?)
        }
        Curve::P521 => {
            Verifier::P521(p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?)
        }
    })
}

fn uncompressed<C>(pk: &elliptic_curve::PublicKey<C>) -> Vec<u8>
where
    C: elliptic_curve::CurveArithmetic,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromSec1Point<C> + elliptic_curve::sec1::ToSec1Point<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    use elliptic_curve::sec1::ToSec1Point;
    pk.to_sec1_point(false).as_bytes().to_vec()
}

/// A public point given raw (SEC1, as ECDH public data usually is) or as the DER OCTET
/// STRING PKCS#11 uses for CKA_EC_POINT. Returns the validated uncompressed point.
pub fn parse_point(curve: Curve, bytes: &[u8]) -> Result<Vec<u8>> {
    let fl = curve.field_len();
    let raw = match bytes.first() {
        Some(0x04) if bytes.len() == 1 + 2 * fl => bytes,
        Some(0x02 | 0x03) if bytes.len() == 1 + fl => bytes,
        _ => <&OctetStringRef>::from_der(bytes)
            .map_err(|_| {
                invalid_value("the EC point must be a SEC1 point or a DER OCTET STRING of one")
            })?
            .as_bytes(),
    };
    on_curve!(curve, c => {
        let pk = c::PublicKey::from_sec1_bytes(raw)
            .map_err(|_| invalid_value("the EC point is not a point on the key's curve"))?;
        Ok(uncompressed(&pk))
    })
}

/// CKA_EC_POINT as PKCS#11 stores it: DER OCTET STRING around the uncompressed point.
pub fn ec_point_attr(point: &[u8]) -> Vec<u8> {
    // A point is far below DER's length limits; encoding cannot fail.
    OctetStringRef::new(point)
        .and_then(|o| o.to_der())
        .unwrap_or_default()
}

pub fn load(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<EcKey> {
    let curve = Curve::from_ec_params(required(src, ck::CKA_EC_PARAMS)?)?;
    if class == ck::CKO_PRIVATE_KEY {
        let (scalar, point, signer) = parse_scalar(curve, required(src, ck::CKA_VALUE)?)?;
        Ok(EcKey::Private {
            curve,
            scalar,
            point,
            signer: Arc::new(signer),
            #[cfg(feature = "aws-lc")]
            aws: Arc::default(),
        })
    } else {
        let point = parse_point(curve, required(src, ck::CKA_EC_POINT)?)?;
        Ok(EcKey::Public {
            curve,
            verifier: Arc::new(verifier(curve, &point)?),
            point,
            #[cfg(feature = "aws-lc")]
            aws: Arc::default(),
        })
    }
}

pub fn check_import(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    Ok(match load(class, t)? {
        EcKey::Private { curve, scalar, .. } => KeyAttrs {
            public: vec![Attr::new(ck::CKA_EC_PARAMS, curve.ec_params())],
            secret: vec![Attr::new(ck::CKA_VALUE, scalar.to_vec())],
        },
        EcKey::Public { curve, point, .. } => KeyAttrs {
            public: vec![
                Attr::new(ck::CKA_EC_PARAMS, curve.ec_params()),
                Attr::new(ck::CKA_EC_POINT, ec_point_attr(&point)),
            ],
            secret: vec![],
        },
    })
}

pub fn to_pkcs8(k: &EcKey) -> Result<Zeroizing<Vec<u8>>> {
    use pkcs8::EncodePrivateKey;
    let EcKey::Private { curve, scalar, .. } = k else {
        return err(
            ErrorKind::KeyNotWrappable,
            "only private EC keys have a PKCS#8 form",
        );
    };
    let doc = on_curve!(*curve, c => c::SecretKey::from_slice(scalar)
        .map_err(|_| Error::new(ErrorKind::General, "stored EC key is invalid"))?
        .to_pkcs8_der());
    let doc =
        doc.map_err(|e| Error::new(ErrorKind::General, format!("PKCS#8 encoding failed: {e}")))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

pub fn from_pkcs8(info: &pkcs8::PrivateKeyInfoRef<'_>) -> Result<KeyAttrs> {
    let oid = info
        .algorithm
        .parameters_oid()
        .map_err(|e| super::keys::bad_pkcs8(&e))?;
    let Some(curve) = Curve::from_oid(oid) else {
        return err(
            ErrorKind::WrappedKeyInvalid,
            format!("PKCS#8 EC key on unsupported curve {oid}"),
        );
    };
    let scalar = on_curve!(curve, c => Zeroizing::new(
        Zeroizing::new(c::SecretKey::try_from(info.clone()).map_err(|e| super::keys::bad_pkcs8(&e))?.to_bytes()).to_vec()
    ));
    Ok(KeyAttrs {
        public: vec![Attr::new(ck::CKA_EC_PARAMS, curve.ec_params())],
        secret: vec![Attr::new(ck::CKA_VALUE, scalar.to_vec())],
    })
}

fn ec_key(key: &KeyMaterial) -> Result<&EcKey> {
    match key {
        KeyMaterial::Ec(k) => Ok(k),
        _ => err(
            ErrorKind::KeyTypeInconsistent,
            "this mechanism needs an EC key",
        ),
    }
}

/// The input of an ECDSA mechanism: the raw hash (CKM_ECDSA) or the message to hash.
fn ecdsa_input(m: &Mechanism) -> Result<Input> {
    if m.param != MechParam::None {
        return err(
            ErrorKind::MechanismParamInvalid,
            "ECDSA mechanisms take no parameter",
        );
    }
    let digest = match m.ty {
        // A raw hash longer than any SHA-2 output is a client mistake, not a message.
        ck::CKM_ECDSA => return Ok(Input::buffer(Some(64))),
        ck::CKM_ECDSA_SHA256 => ck::CKM_SHA256,
        ck::CKM_ECDSA_SHA384 => ck::CKM_SHA384,
        ck::CKM_ECDSA_SHA512 => ck::CKM_SHA512,
        _ => return unsupported(m, "sign"),
    };
    hasher(digest)
        .map(Input::Hash)
        .ok_or_else(|| Error::new(ErrorKind::MechanismInvalid, "no such digest"))
}

fn ecdsa_sign(signer: &Signer, z: &[u8]) -> Result<Vec<u8>> {
    use signature::hazmat::RandomizedPrehashSigner;
    let failed = |_| Error::new(ErrorKind::FunctionFailed, "ECDSA signing failed");
    with_key!(signer, Signer, c, sk => {
        let sig: c::ecdsa::Signature = sk.sign_prehash_with_rng(&mut CoreRng, z).map_err(failed)?;
        Ok(sig.to_bytes().to_vec())
    })
}

fn check_sig_len(curve: Curve, sig: &[u8]) -> Result<()> {
    let want = 2 * curve.field_len();
    if sig.len() != want {
        return err(
            ErrorKind::SignatureLenRange,
            format!("an ECDSA signature on this curve is {want} bytes (r||s)"),
        );
    }
    Ok(())
}

fn invalid_ecdsa() -> Error {
    Error::new(
        ErrorKind::SignatureInvalid,
        "the ECDSA signature does not verify",
    )
}

fn ecdsa_verify(curve: Curve, vk: &Verifier, z: &[u8], sig: &[u8]) -> Result<()> {
    use signature::hazmat::PrehashVerifier;
    check_sig_len(curve, sig)?;
    let invalid = |_| invalid_ecdsa();
    with_key!(vk, Verifier, c, vk => {
        let sig = c::ecdsa::Signature::from_slice(sig).map_err(invalid)?;
        vk.verify_prehash(z, &sig).map_err(invalid)
    })
}

fn ecdh(m: &Mechanism, key: &EcKey, out_len: Option<usize>) -> Result<Zeroizing<Vec<u8>>> {
    let MechParam::Ecdh {
        kdf,
        shared_data,
        public_data,
    } = &m.param
    else {
        return err(
            ErrorKind::MechanismParamInvalid,
            "CKM_ECDH1_DERIVE needs CK_ECDH1_DERIVE_PARAMS",
        );
    };
    if *kdf != ck::CKD_NULL || !shared_data.is_empty() {
        return err(
            ErrorKind::MechanismParamInvalid,
            "only CKD_NULL (no KDF, no shared data) is supported: derive with HKDF afterwards",
        );
    }
    let EcKey::Private { curve, scalar, .. } = key else {
        return err(
            ErrorKind::KeyTypeInconsistent,
            "ECDH needs the private EC key",
        );
    };
    let curve = *curve;
    let peer = parse_point(curve, public_data).map_err(|e| {
        Error::new(
            ErrorKind::MechanismParamInvalid,
            format!("the peer public key: {}", e.message()),
        )
    })?;
    let fl = curve.field_len();
    let n = out_len.unwrap_or(fl);
    if n == 0 || n > fl {
        return err(
            ErrorKind::TemplateInconsistent,
            format!("ECDH with CKD_NULL yields at most {fl} bytes"),
        );
    }
    #[cfg(feature = "aws-lc")]
    if let EcKey::Private { aws, .. } = key {
        if provider::is_aws_lc(provider::private(m.ty)) {
            let mut secret = aws.agree(curve, scalar, &peer)?;
            secret.truncate(n);
            return Ok(secret);
        }
    }
    let failed = |_| Error::new(ErrorKind::General, "stored EC key is invalid");
    let secret = on_curve!(curve, c => {
        let sk = c::SecretKey::from_slice(scalar).map_err(failed)?;
        let pk = c::PublicKey::from_sec1_bytes(&peer).map_err(failed)?;
        Zeroizing::new(sk.diffie_hellman(&pk).raw_secret_bytes()[..n].to_vec())
    });
    Ok(secret)
}

#[derive(Debug)]
pub struct Ec;

impl Family for Ec {
    fn sign_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        let EcKey::Private { curve, signer, .. } = ec_key(key)? else {
            return err(
                ErrorKind::KeyTypeInconsistent,
                "signing needs the private EC key",
            );
        };
        let (curve, signer, input) = (*curve, signer.clone(), ecdsa_input(m)?);
        #[cfg(feature = "aws-lc")]
        if let EcKey::Private {
            scalar, point, aws, ..
        } = ec_key(key)?
        {
            if provider::is_aws_lc(provider::private(m.ty)) {
                aws.prepare(curve, scalar, point);
                let aws = aws.clone();
                return Ok(Box::new(OneShotSign::new(
                    input,
                    2 * curve.field_len(),
                    move |z| match aws.sign(curve, z) {
                        Some(sig) => sig,
                        None => ecdsa_sign(&signer, z),
                    },
                )));
            }
        }
        Ok(Box::new(OneShotSign::new(
            input,
            2 * curve.field_len(),
            move |z| ecdsa_sign(&signer, z),
        )))
    }

    fn verify_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        let (curve, vk) = match ec_key(key)? {
            EcKey::Public {
                curve, verifier, ..
            } => (*curve, verifier.clone()),
            EcKey::Private { curve, point, .. } => (*curve, Arc::new(verifier(*curve, point)?)),
        };
        let input = ecdsa_input(m)?;
        #[cfg(feature = "aws-lc")]
        if let EcKey::Public { point, aws, .. } = ec_key(key)? {
            if provider::is_aws_lc(provider::public(m.ty)) {
                let (point, aws) = (point.clone(), aws.clone());
                return Ok(Box::new(OneShotVerify::new(input, move |z, sig| {
                    check_sig_len(curve, sig)?;
                    match aws.verify(curve, &point, z, sig) {
                        Some(true) => Ok(()),
                        Some(false) => Err(invalid_ecdsa()),
                        None => ecdsa_verify(curve, &vk, z, sig),
                    }
                })));
            }
        }
        Ok(Box::new(OneShotVerify::new(input, move |z, sig| {
            ecdsa_verify(curve, &vk, z, sig)
        })))
    }

    fn derive(
        &self,
        m: &Mechanism,
        base: &KeyMaterial,
        _salt_key: Option<&KeyMaterial>,
        out_len: Option<usize>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        ecdh(m, ec_key(base)?, out_len)
    }

    fn generate_key_pair(
        &self,
        m: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<GeneratedPair> {
        if m.param != MechParam::None {
            return err(
                ErrorKind::MechanismParamInvalid,
                "EC key pair generation takes no parameter",
            );
        }
        let Some(params) = public
            .get(ck::CKA_EC_PARAMS)
            .or_else(|| private.get(ck::CKA_EC_PARAMS))
        else {
            return err(
                ErrorKind::TemplateIncomplete,
                "EC key pair generation needs CKA_EC_PARAMS (the curve OID)",
            );
        };
        let curve = Curve::from_ec_params(params)?;
        // The scalar always comes from the token's generator; aws-lc, where it serves the
        // mechanism, only computes the public point.
        let (scalar, point) = on_curve!(curve, c => {
            use elliptic_curve::Generate;
            let Ok(sk) = c::SecretKey::try_generate_from_rng(&mut CoreRng);
            let scalar = Zeroizing::new(Zeroizing::new(sk.to_bytes()).to_vec());
            let point = match provider::is_aws_lc(provider::private(m.ty)) {
                true => public_point(curve, &scalar),
                false => None,
            };
            let point = point.unwrap_or_else(|| uncompressed(&sk.public_key()));
            (scalar, point)
        });
        Ok(GeneratedPair {
            key_type: ck::CKK_EC,
            public_key: vec![
                Attr::new(ck::CKA_EC_PARAMS, curve.ec_params()),
                Attr::new(ck::CKA_EC_POINT, ec_point_attr(&point)),
            ],
            private_key: KeyAttrs {
                public: vec![Attr::new(ck::CKA_EC_PARAMS, curve.ec_params())],
                secret: vec![Attr::new(ck::CKA_VALUE, scalar.to_vec())],
            },
        })
    }
}

#[cfg(test)]
mod tests;
