//! RSA: key pair generation, PKCS#1 v1.5 and PSS signatures, PKCS#1 v1.5 and OAEP
//! encryption, key parsing and PKCS#8. PKCS#1 v1.5 decryption uses the crate's implicit
//! rejection, so bad padding yields a synthetic message, never an error (see SECURITY.md).

use super::digest::{hasher, output_len};
use super::family::{unsupported, Family};
use super::keys::required;
use super::ops::{CipherFn, Input, OneShotSign, OneShotVerify, WholeInput};
use super::params::{MechParam, MechType, Mechanism};
use super::table::{RSA_MAX_BITS, RSA_MIN_BITS};
use super::{AttrSource, CipherOp, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::{Attr, AttrType, Template};
use crate::error::{err, Error, ErrorKind, Result};
use crate::rng::CoreRng;
use ::rsa::pkcs1::{EncodeRsaPrivateKey, RsaPrivateKeyRef};
use ::rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ::rsa::traits::PublicKeyParts;
use ::rsa::{BoxedUint, Oaep, Pkcs1v15Encrypt, Pkcs1v15Sign, PrivateKey, Pss, PublicKey};
use cryptoki_sys as ck;
use der::Decode;
use pkcs8::ObjectIdentifier;
use std::sync::Arc;
use zeroize::Zeroizing;

#[cfg(feature = "aws-lc")]
mod aws;

pub const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The public exponent used when the template names none.
const DEFAULT_EXPONENT: u64 = 65537;

/// An RSA key as the token holds it, parsed once (with the CRT precomputation) and
/// shared by every operation of the login.
pub enum RsaKey {
    Private(
        Arc<PrivateKey>,
        #[cfg(feature = "aws-lc")] Arc<aws::Private>,
    ),
    Public(Arc<PublicKey>, #[cfg(feature = "aws-lc")] Arc<aws::Public>),
}

impl RsaKey {
    pub fn bits(&self) -> u64 {
        self.public().n().bit_width() as u64
    }

    fn public(&self) -> &PublicKey {
        match self {
            RsaKey::Private(k, ..) => k.as_public_key(),
            RsaKey::Public(k, ..) => k,
        }
    }

    /// The public key for an operation to keep (shared, not copied, for public keys).
    fn public_shared(&self) -> Arc<PublicKey> {
        match self {
            RsaKey::Private(k, ..) => Arc::new(k.as_public_key().clone()),
            RsaKey::Public(k, ..) => k.clone(),
        }
    }
}

/// Run `$body` with `$d` bound to the SHA type a CKM_SHA* number names.
macro_rules! with_hash {
    ($ty:expr, |$d:ident| $body:expr, $else:expr) => {
        match $ty {
            ck::CKM_SHA_1 => {
                type $d = sha1::Sha1;
                $body
            }
            ck::CKM_SHA224 => {
                type $d = sha2::Sha224;
                $body
            }
            ck::CKM_SHA256 => {
                type $d = sha2::Sha256;
                $body
            }
            ck::CKM_SHA384 => {
                type $d = sha2::Sha384;
                $body
            }
            ck::CKM_SHA512 => {
                type $d = sha2::Sha512;
                $body
            }
            _ => $else,
        }
    };
}

fn bad_param(what: impl Into<String>) -> Error {
    Error::new(ErrorKind::MechanismParamInvalid, what.into())
}

fn invalid_value(what: &str) -> Error {
    Error::new(ErrorKind::AttributeValueInvalid, what.to_string())
}

// ----- key attributes -----

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// A big-endian integer attribute as a BoxedUint of `bits` precision (0: its own length).
fn uint(src: &dyn AttrSource, ty: AttrType, bits: u32) -> Result<BoxedUint> {
    let v = trim(required(src, ty)?);
    if v.is_empty() {
        return Err(invalid_value("an RSA key component is zero or empty"));
    }
    let bits = if bits == 0 {
        (v.len() * 8) as u32
    } else {
        bits
    };
    BoxedUint::from_be_slice(v, bits)
        .map_err(|_| invalid_value("an RSA key component is longer than the modulus"))
}

fn public_from(src: &dyn AttrSource) -> Result<(BoxedUint, BoxedUint, u32)> {
    let n = uint(src, ck::CKA_MODULUS, 0)?;
    let bits = n.bits_precision();
    let e = uint(src, ck::CKA_PUBLIC_EXPONENT, 0)?;
    Ok((n, e, bits))
}

fn check_size(bits: u64) -> Result<()> {
    if (RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        err(
            ErrorKind::KeySizeRange,
            format!("RSA keys must be {RSA_MIN_BITS} to {RSA_MAX_BITS} bits, this one has {bits}"),
        )
    }
}

fn load_private(src: &dyn AttrSource) -> Result<PrivateKey> {
    let (n, e, bits) = public_from(src)?;
    let d = uint(src, ck::CKA_PRIVATE_EXPONENT, bits)?;
    let primes = match (src.attr(ck::CKA_PRIME_1), src.attr(ck::CKA_PRIME_2)) {
        (Some(_), Some(_)) => vec![
            uint(src, ck::CKA_PRIME_1, bits)?,
            uint(src, ck::CKA_PRIME_2, bits)?,
        ],
        (None, None) => vec![],
        _ => {
            return err(
                ErrorKind::TemplateInconsistent,
                "give both CKA_PRIME_1 and CKA_PRIME_2, or neither",
            )
        }
    };
    let key = PrivateKey::from_components(n, e, d, primes).map_err(|e| {
        invalid_value(&format!(
            "the RSA private key components are inconsistent: {e}"
        ))
    })?;
    check_size(key.n().bit_width() as u64)?;
    Ok(key)
}

fn load_public(src: &dyn AttrSource) -> Result<PublicKey> {
    let (n, e, _) = public_from(src)?;
    let key = PublicKey::new(n, e)
        .map_err(|e| invalid_value(&format!("the RSA public key is invalid: {e}")))?;
    check_size(key.n().bit_width() as u64)?;
    Ok(key)
}

pub fn load(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<RsaKey> {
    if class == ck::CKO_PRIVATE_KEY {
        Ok(RsaKey::Private(
            Arc::new(load_private(src)?),
            #[cfg(feature = "aws-lc")]
            Arc::default(),
        ))
    } else {
        Ok(RsaKey::Public(
            Arc::new(load_public(src)?),
            #[cfg(feature = "aws-lc")]
            Arc::default(),
        ))
    }
}

fn public_attrs(k: &PublicKey) -> Vec<Attr> {
    vec![
        Attr::new(ck::CKA_MODULUS, k.n_bytes().to_vec()),
        Attr::new(ck::CKA_PUBLIC_EXPONENT, k.e_bytes().to_vec()),
        Attr::ulong(ck::CKA_MODULUS_BITS, k.n().bit_width() as ck::CK_ULONG),
    ]
}

/// The private key's attributes, every CRT component computed by the crate: modulus and
/// public exponent in the clear, the rest sealed.
fn private_attrs(k: &PrivateKey) -> Result<KeyAttrs> {
    let failed = |e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::General, format!("RSA key encoding failed: {e}"))
    };
    let doc = k.to_pkcs1_der().map_err(|e| failed(&e))?;
    let p = RsaPrivateKeyRef::from_der(doc.as_bytes()).map_err(|e| failed(&e))?;
    let secret = |ty, v: der::asn1::UintRef<'_>| Attr::new(ty, v.as_bytes().to_vec());
    Ok(KeyAttrs {
        public: vec![
            Attr::new(ck::CKA_MODULUS, p.modulus.as_bytes().to_vec()),
            Attr::new(
                ck::CKA_PUBLIC_EXPONENT,
                p.public_exponent.as_bytes().to_vec(),
            ),
        ],
        secret: vec![
            secret(ck::CKA_PRIVATE_EXPONENT, p.private_exponent),
            secret(ck::CKA_PRIME_1, p.prime1),
            secret(ck::CKA_PRIME_2, p.prime2),
            secret(ck::CKA_EXPONENT_1, p.exponent1),
            secret(ck::CKA_EXPONENT_2, p.exponent2),
            secret(ck::CKA_COEFFICIENT, p.coefficient),
        ],
    })
}

pub fn check_import(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    if class != ck::CKO_PRIVATE_KEY {
        let k = load_public(t)?;
        if let Some(bits) = t.get_ulong(ck::CKA_MODULUS_BITS)? {
            if bits != k.n().bit_width() as ck::CK_ULONG {
                return err(
                    ErrorKind::TemplateInconsistent,
                    "CKA_MODULUS_BITS does not match CKA_MODULUS",
                );
            }
        }
        return Ok(KeyAttrs {
            public: public_attrs(&k),
            secret: vec![],
        });
    }
    let attrs = private_attrs(&load_private(t)?)?;
    // CRT values a client supplies must be the ones the key implies.
    for a in &attrs.secret {
        if let Some(given) = t.get(a.ty) {
            if trim(given) != trim(&a.value) {
                return Err(invalid_value(
                    "the RSA CRT components do not belong to this key",
                ));
            }
        }
    }
    Ok(attrs)
}

pub fn to_pkcs8(k: &RsaKey) -> Result<Zeroizing<Vec<u8>>> {
    let RsaKey::Private(k, ..) = k else {
        return err(
            ErrorKind::KeyNotWrappable,
            "only private RSA keys have a PKCS#8 form",
        );
    };
    let doc = k
        .to_pkcs8_der()
        .map_err(|e| Error::new(ErrorKind::General, format!("PKCS#8 encoding failed: {e}")))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

pub fn from_pkcs8(der: &[u8]) -> Result<KeyAttrs> {
    let k = PrivateKey::from_pkcs8_der(der).map_err(|e| super::keys::bad_pkcs8(&e))?;
    check_size(k.n().bit_width() as u64)?;
    private_attrs(&k)
}

// ----- operations -----

fn rsa_key(key: &KeyMaterial) -> Result<&RsaKey> {
    match key {
        KeyMaterial::Rsa(k) => Ok(k),
        _ => err(
            ErrorKind::KeyTypeInconsistent,
            "this mechanism needs an RSA key",
        ),
    }
}

fn private_key(key: &KeyMaterial) -> Result<Arc<PrivateKey>> {
    match rsa_key(key)? {
        RsaKey::Private(k, ..) => Ok(k.clone()),
        RsaKey::Public(..) => err(
            ErrorKind::KeyTypeInconsistent,
            "this operation needs the private RSA key",
        ),
    }
}

/// The aws-lc forms of a private key, when the table names aws-lc-rs for `m`'s
/// private-key operations.
#[cfg(feature = "aws-lc")]
fn aws_private(key: &KeyMaterial, m: &Mechanism) -> Result<Option<Arc<aws::Private>>> {
    match rsa_key(key)? {
        RsaKey::Private(_, aws) if super::provider::is_aws_lc(super::provider::private(m.ty)) => {
            Ok(Some(aws.clone()))
        }
        _ => Ok(None),
    }
}

fn invalid_signature() -> Error {
    Error::new(
        ErrorKind::SignatureInvalid,
        "the RSA signature does not verify",
    )
}

fn no_param(m: &Mechanism) -> Result<()> {
    match m.param {
        MechParam::None => Ok(()),
        _ => Err(bad_param("this RSA mechanism takes no parameter")),
    }
}

/// The digest a hash-and-sign mechanism applies, or None for the raw ones.
fn sign_digest(ty: MechType) -> Option<MechType> {
    match ty {
        ck::CKM_SHA256_RSA_PKCS | ck::CKM_SHA256_RSA_PKCS_PSS => Some(ck::CKM_SHA256),
        ck::CKM_SHA384_RSA_PKCS | ck::CKM_SHA384_RSA_PKCS_PSS => Some(ck::CKM_SHA384),
        ck::CKM_SHA512_RSA_PKCS | ck::CKM_SHA512_RSA_PKCS_PSS => Some(ck::CKM_SHA512),
        _ => None,
    }
}

fn mgf_hash(mgf: ck::CK_RSA_PKCS_MGF_TYPE) -> Result<MechType> {
    Ok(match mgf {
        ck::CKG_MGF1_SHA1 => ck::CKM_SHA_1,
        ck::CKG_MGF1_SHA224 => ck::CKM_SHA224,
        ck::CKG_MGF1_SHA256 => ck::CKM_SHA256,
        ck::CKG_MGF1_SHA384 => ck::CKM_SHA384,
        ck::CKG_MGF1_SHA512 => ck::CKM_SHA512,
        _ => return Err(bad_param("unknown MGF")),
    })
}

/// How a signature mechanism pads: PKCS#1 v1.5 (with or without DigestInfo) or PSS.
#[derive(Clone, Copy)]
enum Scheme {
    /// CKM_RSA_PKCS: the input is the DigestInfo itself.
    Raw,
    Pkcs1(MechType),
    Pss {
        hash: MechType,
        salt_len: usize,
    },
}

/// Validate the mechanism and return its input shell and padding scheme.
fn signature_scheme(m: &Mechanism) -> Result<(Input, Scheme)> {
    let digest = sign_digest(m.ty);
    let is_pss = matches!(
        m.ty,
        ck::CKM_RSA_PKCS_PSS
            | ck::CKM_SHA256_RSA_PKCS_PSS
            | ck::CKM_SHA384_RSA_PKCS_PSS
            | ck::CKM_SHA512_RSA_PKCS_PSS
    );
    let scheme = if is_pss {
        let MechParam::Pss {
            hash,
            mgf,
            salt_len,
        } = &m.param
        else {
            return Err(bad_param("RSA-PSS needs CK_RSA_PKCS_PSS_PARAMS"));
        };
        if digest.is_some_and(|d| d != *hash) {
            return Err(bad_param(
                "CK_RSA_PKCS_PSS_PARAMS.hashAlg must match the mechanism's hash",
            ));
        }
        if !matches!(*hash, ck::CKM_SHA256 | ck::CKM_SHA384 | ck::CKM_SHA512) {
            return Err(bad_param("RSA-PSS supports SHA-256, SHA-384 and SHA-512"));
        }
        if mgf_hash(*mgf)? != *hash {
            return Err(bad_param(
                "RSA-PSS supports only MGF1 with the signature's own hash",
            ));
        }
        Scheme::Pss {
            hash: *hash,
            salt_len: *salt_len as usize,
        }
    } else {
        no_param(m)?;
        match digest {
            Some(d) => Scheme::Pkcs1(d),
            None if m.ty == ck::CKM_RSA_PKCS => Scheme::Raw,
            None => return unsupported(m, "sign"),
        }
    };
    let input = match digest {
        Some(d) => Input::Hash(hasher(d).ok_or_else(|| bad_param("no such digest"))?),
        // Raw input is at most the modulus length; anything longer is refused as it arrives.
        None => Input::buffer(Some((RSA_MAX_BITS / 8) as usize)),
    };
    Ok((input, scheme))
}

/// RSA-PSS signs a hash: its length must be the parameter hash's.
fn check_pss_input(hash: MechType, data: &[u8]) -> Result<()> {
    if Some(data.len()) == output_len(hash) {
        Ok(())
    } else {
        err(
            ErrorKind::DataLenRange,
            "RSA-PSS input must be a hash of the parameter's length",
        )
    }
}

fn rsa_sign(k: &PrivateKey, scheme: Scheme, data: &[u8]) -> Result<Vec<u8>> {
    let size = k.size();
    let too_long = || {
        Error::new(
            ErrorKind::DataLenRange,
            "the data is too long for this RSA key and padding",
        )
    };
    let failed = |e: ::rsa::Error| {
        Error::new(
            ErrorKind::FunctionFailed,
            format!("RSA signing failed: {e}"),
        )
    };
    match scheme {
        Scheme::Raw => {
            if data.len() + 11 > size {
                return Err(too_long());
            }
            k.sign_with_rng(&mut CoreRng, Pkcs1v15Sign::new_unprefixed(), data)
                .map_err(failed)
        }
        Scheme::Pkcs1(d) => with_hash!(
            d,
            |D| k
                .sign_with_rng(&mut CoreRng, Pkcs1v15Sign::new::<D>(), data)
                .map_err(failed),
            Err(bad_param("unsupported hash"))
        ),
        Scheme::Pss { hash, salt_len } => {
            check_pss_input(hash, data)?;
            with_hash!(
                hash,
                |D| k
                    .sign_with_rng(&mut CoreRng, Pss::<D>::new_with_salt(salt_len), data)
                    .map_err(|e| match e {
                        ::rsa::Error::MessageTooLong | ::rsa::Error::Internal => {
                            bad_param("the PSS salt is too long for this key")
                        }
                        e => failed(e),
                    }),
                Err(bad_param("unsupported hash"))
            )
        }
    }
}

fn rsa_verify(k: &PublicKey, scheme: Scheme, data: &[u8], sig: &[u8]) -> Result<()> {
    if sig.len() != k.size() {
        return err(
            ErrorKind::SignatureLenRange,
            format!("an RSA signature with this key is {} bytes", k.size()),
        );
    }
    let invalid = |_| invalid_signature();
    match scheme {
        Scheme::Raw => k
            .verify(Pkcs1v15Sign::new_unprefixed(), data, sig)
            .map_err(invalid),
        Scheme::Pkcs1(d) => with_hash!(
            d,
            |D| k
                .verify(Pkcs1v15Sign::new::<D>(), data, sig)
                .map_err(invalid),
            Err(bad_param("unsupported hash"))
        ),
        Scheme::Pss { hash, salt_len } => {
            check_pss_input(hash, data)?;
            with_hash!(
                hash,
                |D| k
                    .verify(Pss::<D>::new_with_salt(salt_len), data, sig)
                    .map_err(invalid),
                Err(bad_param("unsupported hash"))
            )
        }
    }
}

/// OAEP from CK_RSA_PKCS_OAEP_PARAMS: hash, MGF1 hash and label.
fn oaep_params(m: &Mechanism) -> Result<(MechType, MechType, Vec<u8>)> {
    let MechParam::Oaep { hash, mgf, label } = &m.param else {
        return Err(bad_param("RSA-OAEP needs CK_RSA_PKCS_OAEP_PARAMS"));
    };
    let mgf = mgf_hash(*mgf)?;
    if output_len(*hash).is_none() {
        return Err(bad_param(
            "RSA-OAEP supports SHA-1, SHA-224, SHA-256, SHA-384 and SHA-512",
        ));
    }
    Ok((*hash, mgf, label.clone()))
}

/// Run `$body` with `$p` bound to the OAEP padding for (hash, mgf hash, label).
macro_rules! with_oaep {
    ($hash:expr, $mgf:expr, $label:expr, |$p:ident| $body:expr) => {
        with_hash!(
            $hash,
            |H| with_hash!(
                $mgf,
                |G| {
                    let $p = Oaep::<H, G>::new_with_mgf_hash_and_label($label.to_vec());
                    $body
                },
                Err(bad_param("unsupported MGF hash"))
            ),
            Err(bad_param("unsupported hash"))
        )
    };
}

fn encrypt_op(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
    let k = rsa_key(key)?.public_shared();
    let size = k.size();
    let too_long = |_| {
        Error::new(
            ErrorKind::DataLenRange,
            "the data is too long for this RSA key and padding",
        )
    };
    let run: CipherFn = match m.ty {
        ck::CKM_RSA_PKCS => {
            no_param(m)?;
            Box::new(move |data| {
                k.encrypt(&mut CoreRng, Pkcs1v15Encrypt, data)
                    .map(Zeroizing::new)
                    .map_err(too_long)
            })
        }
        ck::CKM_RSA_PKCS_OAEP => {
            let (hash, mgf, label) = oaep_params(m)?;
            Box::new(move |data| {
                with_oaep!(hash, mgf, label, |p| k
                    .encrypt(&mut CoreRng, p, data)
                    .map(Zeroizing::new)
                    .map_err(too_long))
            })
        }
        _ => return unsupported(m, "encrypt"),
    };
    Ok(Box::new(WholeInput::new(move |_| size, run)))
}

fn decrypt_op(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
    let k = private_key(key)?;
    let size = k.size();
    let check_len = move |data: &[u8]| {
        if data.len() == size {
            Ok(())
        } else {
            err(
                ErrorKind::EncryptedDataLenRange,
                format!("RSA ciphertexts for this key are {size} bytes"),
            )
        }
    };
    let invalid = || {
        Error::new(
            ErrorKind::EncryptedDataInvalid,
            "RSA decryption failed: wrong key or corrupted data",
        )
    };
    let run: CipherFn = match m.ty {
        ck::CKM_RSA_PKCS => {
            no_param(m)?;
            Box::new(move |data| {
                check_len(data)?;
                // Implicit rejection: invalid padding returns a synthetic message, not an error.
                k.decrypt_blinded(&mut CoreRng, Pkcs1v15Encrypt, data)
                    .map(Zeroizing::new)
                    .map_err(|_| invalid())
            })
        }
        ck::CKM_RSA_PKCS_OAEP => {
            let (hash, mgf, label) = oaep_params(m)?;
            #[cfg(feature = "aws-lc")]
            let aws = aws_private(key, m)?;
            #[cfg(feature = "aws-lc")]
            if let Some(aws) = &aws {
                aws.prepare_oaep(&k);
            }
            Box::new(move |data| {
                check_len(data)?;
                // aws-lc's OAEP decoding checks the leading octet itself.
                #[cfg(feature = "aws-lc")]
                if let Some(pt) = aws
                    .as_ref()
                    .and_then(|a| a.oaep_decrypt(hash, mgf, &label, data))
                {
                    return pt;
                }
                // Both checks always run and fail alike, so neither can be told apart.
                let leading_zero = oaep_leading_octet_is_zero(&k, data);
                let decoded = with_oaep!(hash, mgf, label, |p| k
                    .decrypt_blinded(&mut CoreRng, p, data)
                    .map(Zeroizing::new)
                    .map_err(|_| invalid()));
                match (leading_zero, decoded) {
                    (Ok(zero), Ok(pt)) if bool::from(zero) => Ok(pt),
                    _ => Err(invalid()),
                }
            })
        }
        _ => return unsupported(m, "decrypt"),
    };
    Ok(Box::new(WholeInput::new(move |_| size, run)))
}

/// RFC 8017 7.1.2 step 3g: the first octet of the OAEP encoded message must be zero. The
/// crate's decoder does not look at it, so the token checks it with the raw RSA primitive.
fn oaep_leading_octet_is_zero(k: &PrivateKey, ct: &[u8]) -> Result<subtle::Choice> {
    use subtle::ConstantTimeEq;
    let failed = |_| Error::new(ErrorKind::EncryptedDataInvalid, "RSA decryption failed");
    let c = BoxedUint::from_be_slice(ct, k.n_bits_precision()).map_err(|_| failed(()))?;
    let m =
        ::rsa::hazmat::rsa_decrypt_and_check(k, Some(&mut CoreRng), &c).map_err(|_| failed(()))?;
    let em = Zeroizing::new(m.to_be_bytes());
    // EM = I2OSP(m, k): everything above its last k - 1 octets must be zero.
    let high = em.len().saturating_sub(k.size() - 1);
    Ok(em[..high]
        .iter()
        .fold(subtle::Choice::from(1), |acc, b| acc & b.ct_eq(&0)))
}

fn bigint(bytes: &[u8]) -> Result<BoxedUint> {
    let v = trim(bytes);
    BoxedUint::from_be_slice(v, (v.len().max(1) * 8) as u32)
        .map_err(|_| invalid_value("bad integer"))
}

#[derive(Debug)]
pub struct Rsa;

impl Family for Rsa {
    fn sign_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        let (input, scheme) = signature_scheme(m)?;
        let k = private_key(key)?;
        #[cfg(feature = "aws-lc")]
        if let Some(aws) = aws_private(key, m)? {
            aws.prepare_signing(&k);
            return Ok(Box::new(OneShotSign::new(
                input,
                k.size(),
                move |data| match aws.sign(scheme, data) {
                    Some(sig) => sig,
                    None => rsa_sign(&k, scheme, data),
                },
            )));
        }
        Ok(Box::new(OneShotSign::new(input, k.size(), move |data| {
            rsa_sign(&k, scheme, data)
        })))
    }

    fn verify_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        let (input, scheme) = signature_scheme(m)?;
        let k = rsa_key(key)?.public_shared();
        #[cfg(feature = "aws-lc")]
        if let RsaKey::Public(_, aws) = rsa_key(key)? {
            if super::provider::is_aws_lc(super::provider::public(m.ty)) {
                let aws = aws.clone();
                return Ok(Box::new(OneShotVerify::new(input, move |data, sig| {
                    if sig.len() == k.size() {
                        match aws.verify(&k, scheme, data, sig) {
                            Some(true) => return Ok(()),
                            Some(false) => return Err(invalid_signature()),
                            None => {}
                        }
                    }
                    rsa_verify(&k, scheme, data, sig)
                })));
            }
        }
        Ok(Box::new(OneShotVerify::new(input, move |data, sig| {
            rsa_verify(&k, scheme, data, sig)
        })))
    }

    fn encrypt_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
        encrypt_op(m, key)
    }

    fn decrypt_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
        decrypt_op(m, key)
    }

    fn generate_key_pair(
        &self,
        m: &Mechanism,
        public: &Template,
        _private: &Template,
    ) -> Result<GeneratedPair> {
        no_param(m)?;
        let Some(bits) = public.get_ulong(ck::CKA_MODULUS_BITS)? else {
            return err(
                ErrorKind::TemplateIncomplete,
                "RSA key pair generation needs CKA_MODULUS_BITS",
            );
        };
        #[allow(clippy::unnecessary_cast)] // CK_ULONG is 32 bits on some targets
        check_size(bits as u64)?;
        let e = match public.get(ck::CKA_PUBLIC_EXPONENT) {
            Some(v) => bigint(v)?,
            None => BoxedUint::from(DEFAULT_EXPONENT),
        };
        let k = PrivateKey::new_with_exp(&mut CoreRng, bits as usize, e).map_err(|e| {
            Error::new(
                ErrorKind::TemplateInconsistent,
                format!("cannot generate this RSA key: {e} (use exponent 65537)"),
            )
        })?;
        Ok(GeneratedPair {
            key_type: ck::CKK_RSA,
            public_key: public_attrs(k.as_public_key()),
            private_key: private_attrs(&k)?,
        })
    }
}

#[cfg(test)]
mod tests;
