//! Key material parsed once from an object's attributes (cached per login by the
//! session layer) and the conversions between attributes, PKCS#8 and key material.
//! This file routes by key type or algorithm OID; each family module owns its own parsing.

use super::keyed::Keyed;
use super::{ec, eddsa, mldsa, mlkem, pqc_encoding, rsa, slhdsa, AttrSource, KeyAttrs};
use crate::attr::{decode_ulong, Attr, AttrType, Template};
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use pkcs8::der::Decode;
use zeroize::Zeroizing;

/// A usable key. Variants are added by each family module.
pub enum KeyMaterial {
    /// CKK_AES, CKK_GENERIC_SECRET, CKK_SHA*_HMAC, CKK_HKDF: the raw value, and the keyed
    /// states (HMAC pads, AES schedule) operations derive from it once.
    Secret {
        key_type: ck::CK_KEY_TYPE,
        value: Zeroizing<Vec<u8>>,
        keyed: Box<Keyed>,
    },
    /// CKK_RSA, private or public.
    Rsa(rsa::RsaKey),
    /// CKK_EC on P-256/P-384/P-521, private or public.
    Ec(ec::EcKey),
    /// CKK_EC_EDWARDS (Ed25519), private or public.
    EdDsa(eddsa::EdKey),
    /// CKK_ML_KEM, private or public.
    MlKem(mlkem::MlKemKey),
    /// CKK_ML_DSA, private or public.
    MlDsa(mldsa::MlDsaKey),
    /// CKK_SLH_DSA, private or public.
    SlhDsa(slhdsa::SlhDsaKey),
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key bytes: type and size say enough.
        write!(
            f,
            "KeyMaterial(type {:#x}, size {})",
            self.key_type(),
            self.size()
        )
    }
}

impl KeyMaterial {
    /// A secret key of `key_type` with this value (no keyed state made yet).
    pub fn secret_key(key_type: ck::CK_KEY_TYPE, value: &[u8]) -> KeyMaterial {
        KeyMaterial::Secret {
            key_type,
            value: Zeroizing::new(value.to_vec()),
            keyed: Box::default(),
        }
    }

    /// The raw value and keyed states of a secret key of one of `types`.
    pub(crate) fn secret_keyed(&self, types: &[ck::CK_KEY_TYPE]) -> Result<(&[u8], &Keyed)> {
        match self {
            KeyMaterial::Secret {
                key_type,
                value,
                keyed,
            } if types.contains(key_type) => Ok((value, keyed)),
            _ => err(
                ErrorKind::KeyTypeInconsistent,
                format!("this mechanism needs a secret key of type {types:#x?}"),
            ),
        }
    }

    pub fn key_type(&self) -> ck::CK_KEY_TYPE {
        match self {
            KeyMaterial::Secret { key_type, .. } => *key_type,
            KeyMaterial::Rsa(_) => ck::CKK_RSA,
            KeyMaterial::Ec(_) => ck::CKK_EC,
            KeyMaterial::EdDsa(_) => ck::CKK_EC_EDWARDS,
            KeyMaterial::MlKem(_) => ck::CKK_ML_KEM,
            KeyMaterial::MlDsa(_) => ck::CKK_ML_DSA,
            KeyMaterial::SlhDsa(_) => ck::CKK_SLH_DSA,
        }
    }

    /// Key size in the unit C_GetMechanismInfo uses for this key type (bits or bytes).
    pub fn size(&self) -> u64 {
        match self {
            KeyMaterial::Secret { value, .. } => value.len() as u64,
            KeyMaterial::Rsa(k) => k.bits(),
            KeyMaterial::Ec(k) => k.bits(),
            KeyMaterial::EdDsa(_) => 256,
            KeyMaterial::MlKem(k) => k.size(),
            KeyMaterial::MlDsa(k) => k.size(),
            KeyMaterial::SlhDsa(k) => k.size(),
        }
    }

    /// The raw value of a secret key of one of `types`, or KeyTypeInconsistent.
    pub(crate) fn secret(&self, types: &[ck::CK_KEY_TYPE]) -> Result<&[u8]> {
        match self {
            KeyMaterial::Secret {
                key_type, value, ..
            } if types.contains(key_type) => Ok(value),
            _ => err(
                ErrorKind::KeyTypeInconsistent,
                format!("this mechanism needs a secret key of type {types:#x?}"),
            ),
        }
    }
}

/// Parse a key object's attributes (public and unsealed secret ones) into key material.
pub fn load(
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
    src: &dyn AttrSource,
) -> Result<KeyMaterial> {
    match (class, key_type) {
        (ck::CKO_SECRET_KEY, _) if is_secret_type(key_type) => {
            let value = required(src, ck::CKA_VALUE)?;
            check_secret_len(key_type, value.len())?;
            Ok(KeyMaterial::secret_key(key_type, value))
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_RSA) => {
            rsa::load(class, src).map(KeyMaterial::Rsa)
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_EC) => {
            ec::load(class, src).map(KeyMaterial::Ec)
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_EC_EDWARDS) => {
            eddsa::load(class, src).map(KeyMaterial::EdDsa)
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_ML_KEM) => {
            mlkem::load(class, src).map(KeyMaterial::MlKem)
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_ML_DSA) => {
            mldsa::load(class, src).map(KeyMaterial::MlDsa)
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_SLH_DSA) => {
            slhdsa::load(class, src).map(KeyMaterial::SlhDsa)
        }
        _ => unknown_key(class, key_type),
    }
}

/// C_CreateObject / C_UnwrapKey of a key: check that the template's key attributes form a
/// valid key of this class and type, fill derivable ones (e.g. CKA_VALUE_LEN, ML-DSA
/// expanded key from seed) and split them into public and secret.
pub fn check_import(
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
    t: &Template,
) -> Result<KeyAttrs> {
    match (class, key_type) {
        (ck::CKO_SECRET_KEY, _) if is_secret_type(key_type) => {
            let value = required(t, ck::CKA_VALUE)?;
            let key = secret_from_output(key_type, Zeroizing::new(value.to_vec()))?;
            if let Some(len) = t.get_ulong(ck::CKA_VALUE_LEN)? {
                if len as usize != value.len() {
                    return err(
                        ErrorKind::TemplateInconsistent,
                        format!(
                            "CKA_VALUE_LEN says {len} bytes but CKA_VALUE has {}",
                            value.len()
                        ),
                    );
                }
            }
            Ok(key)
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_RSA) => rsa::check_import(class, t),
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_EC) => ec::check_import(class, t),
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_EC_EDWARDS) => {
            eddsa::check_import(class, t)
        }
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_ML_KEM) => mlkem::check_import(class, t),
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_ML_DSA) => mldsa::check_import(class, t),
        (ck::CKO_PRIVATE_KEY | ck::CKO_PUBLIC_KEY, ck::CKK_SLH_DSA) => {
            slhdsa::check_import(class, t)
        }
        _ => unknown_key(class, key_type),
    }
}

/// Encode a private key as PKCS#8 DER (for C_WrapKey of private keys).
pub fn to_pkcs8(key: &KeyMaterial) -> Result<Zeroizing<Vec<u8>>> {
    match key {
        KeyMaterial::Rsa(k) => rsa::to_pkcs8(k),
        KeyMaterial::Ec(k) => ec::to_pkcs8(k),
        KeyMaterial::EdDsa(k) => eddsa::to_pkcs8(k),
        KeyMaterial::MlKem(k) => mlkem::to_pkcs8(k),
        KeyMaterial::MlDsa(k) => mldsa::to_pkcs8(k),
        KeyMaterial::SlhDsa(k) => slhdsa::to_pkcs8(k),
        KeyMaterial::Secret { .. } => err(
            ErrorKind::KeyNotWrappable,
            "a secret key has no PKCS#8 form: wrap its CKA_VALUE instead",
        ),
    }
}

/// Decode PKCS#8 DER into key type and attributes (C_UnwrapKey of private keys, import).
pub fn from_pkcs8(der: &[u8]) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
    if let Some(key) = pqc_encoding::parse_pkcs8(der)? {
        let attrs = match key.key_type {
            ck::CKK_ML_KEM => mlkem::from_pkcs8(&key)?,
            ck::CKK_ML_DSA => mldsa::from_pkcs8(&key)?,
            _ => slhdsa::from_pkcs8(&key)?,
        };
        return Ok((key.key_type, attrs));
    }
    let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|e| bad_pkcs8(&e))?;
    let oid = info.algorithm.oid;
    if oid == rsa::OID_RSA_ENCRYPTION {
        Ok((ck::CKK_RSA, rsa::from_pkcs8(der)?))
    } else if oid == ec::OID_EC_PUBLIC_KEY {
        Ok((ck::CKK_EC, ec::from_pkcs8(&info)?))
    } else if oid == eddsa::OID_ED25519 {
        Ok((ck::CKK_EC_EDWARDS, eddsa::from_pkcs8(der)?))
    } else {
        err(
            ErrorKind::WrappedKeyInvalid,
            format!("PKCS#8 key algorithm {oid} is not supported by this token"),
        )
    }
}

pub(crate) fn bad_pkcs8(e: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::WrappedKeyInvalid,
        format!("the PKCS#8 private key does not parse: {e}"),
    )
}

fn unknown_key<T>(class: ck::CK_OBJECT_CLASS, key_type: ck::CK_KEY_TYPE) -> Result<T> {
    err(
        ErrorKind::TemplateInconsistent,
        format!("key type {key_type:#x} is not supported for object class {class:#x}"),
    )
}

fn is_secret_type(key_type: ck::CK_KEY_TYPE) -> bool {
    matches!(
        key_type,
        ck::CKK_AES
            | ck::CKK_GENERIC_SECRET
            | ck::CKK_SHA256_HMAC
            | ck::CKK_SHA384_HMAC
            | ck::CKK_SHA512_HMAC
            | ck::CKK_HKDF
    )
}

/// Allowed value lengths of secret keys, in bytes.
pub(crate) fn check_secret_len(key_type: ck::CK_KEY_TYPE, len: usize) -> Result<()> {
    let ok = match key_type {
        ck::CKK_AES => matches!(len, 16 | 24 | 32),
        _ => (super::table::SECRET_MIN_BYTES..=super::table::SECRET_MAX_BYTES)
            .contains(&(len as u64)),
    };
    if ok {
        Ok(())
    } else {
        err(
            ErrorKind::KeySizeRange,
            format!("a secret key of type {key_type:#x} cannot be {len} bytes long"),
        )
    }
}

/// CKA_VALUE sealed, CKA_VALUE_LEN in the clear.
pub(crate) fn secret_attrs(value: Zeroizing<Vec<u8>>) -> KeyAttrs {
    KeyAttrs {
        public: vec![Attr::ulong(ck::CKA_VALUE_LEN, value.len() as ck::CK_ULONG)],
        secret: vec![Attr {
            ty: ck::CKA_VALUE,
            value: value.into(),
        }],
    }
}

/// A secret key of `key_type` with `value`: the type and length checks `check_import` runs
/// on a template's CKA_VALUE, here also for a value an operation made (C_DeriveKey,
/// C_DecapsulateKey, ...) without building a template around it.
pub(crate) fn secret_from_output(
    key_type: ck::CK_KEY_TYPE,
    value: Zeroizing<Vec<u8>>,
) -> Result<KeyAttrs> {
    if !is_secret_type(key_type) {
        return unknown_key(ck::CKO_SECRET_KEY, key_type);
    }
    check_secret_len(key_type, value.len())?;
    Ok(secret_attrs(value))
}

/// An attribute the key cannot do without.
pub(crate) fn required(src: &dyn AttrSource, ty: AttrType) -> Result<&[u8]> {
    src.attr(ty).ok_or_else(|| {
        Error::new(
            ErrorKind::TemplateIncomplete,
            format!("the key needs attribute {}", attr_name(ty)),
        )
    })
}

/// A CK_ULONG attribute of a key object or template, if present.
pub(crate) fn ulong_attr(src: &dyn AttrSource, ty: AttrType) -> Result<Option<ck::CK_ULONG>> {
    src.attr(ty).map(|v| decode_ulong(ty, v)).transpose()
}

/// Spec names for the key attributes this layer asks for, so messages name them.
pub(crate) fn attr_name(ty: AttrType) -> String {
    let name = match ty {
        ck::CKA_VALUE => "CKA_VALUE",
        ck::CKA_VALUE_LEN => "CKA_VALUE_LEN",
        ck::CKA_MODULUS => "CKA_MODULUS",
        ck::CKA_MODULUS_BITS => "CKA_MODULUS_BITS",
        ck::CKA_PUBLIC_EXPONENT => "CKA_PUBLIC_EXPONENT",
        ck::CKA_PRIVATE_EXPONENT => "CKA_PRIVATE_EXPONENT",
        ck::CKA_PRIME_1 => "CKA_PRIME_1",
        ck::CKA_PRIME_2 => "CKA_PRIME_2",
        ck::CKA_EC_PARAMS => "CKA_EC_PARAMS",
        ck::CKA_EC_POINT => "CKA_EC_POINT",
        ck::CKA_SEED => "CKA_SEED",
        ck::CKA_PARAMETER_SET => "CKA_PARAMETER_SET",
        _ => return format!("{ty:#x}"),
    };
    name.to_string()
}

/// The parameter set of a post-quantum key pair to generate: CKA_PARAMETER_SET of the public
/// key template (PKCS#11 3.2); the private template may repeat it but not contradict it.
pub(crate) fn pair_parameter_set(
    public: &Template,
    private: &Template,
    algorithm: &str,
) -> Result<ck::CK_ULONG> {
    let Some(set) = public.get_ulong(ck::CKA_PARAMETER_SET)? else {
        return err(
            ErrorKind::TemplateIncomplete,
            format!("{algorithm} key pair generation needs CKA_PARAMETER_SET in the public key template"),
        );
    };
    if let Some(other) = private.get_ulong(ck::CKA_PARAMETER_SET)? {
        if other != set {
            return err(
                ErrorKind::TemplateInconsistent,
                format!("the private key template asks for parameter set {other}, the public key template for {set}"),
            );
        }
    }
    Ok(set)
}
