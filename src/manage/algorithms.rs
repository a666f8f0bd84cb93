//! The algorithms a managed key can have, by the names the CLI uses: how each is
//! generated (mechanism, key type, key attributes), which purposes it serves, and the
//! mechanism each operation uses. One table; nothing else names algorithms.

use crate::attr::Attr;
use crate::error::{Error, ErrorKind, Result};
use crate::mech::params::{MechParam, Mechanism};
use crate::mech::table;
use crate::object::vendor::Purpose;
use cryptoki_sys as ck;

/// How a key of an algorithm is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A key pair: generation mechanism, key type, public-template key attribute.
    Pair(ck::CK_MECHANISM_TYPE, ck::CK_KEY_TYPE, KeyParam),
    /// A secret key: generation mechanism, key type, value length in bytes.
    Secret(ck::CK_MECHANISM_TYPE, ck::CK_KEY_TYPE, usize),
}

/// The key attribute that picks the variant of a key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyParam {
    /// CKA_EC_PARAMS (DER of the curve OID).
    Curve(&'static [u8]),
    /// CKA_MODULUS_BITS (public exponent 65537).
    ModulusBits(ck::CK_ULONG),
    /// CKA_PARAMETER_SET.
    ParameterSet(ck::CK_ULONG),
}

/// One algorithm.
#[derive(Debug)]
pub struct Algorithm {
    pub name: &'static str,
    pub shape: Shape,
    pub purposes: &'static [Purpose],
    pub post_quantum: bool,
}

const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const P521: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23];
const ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

const SIGNING: &[Purpose] = &[Purpose::Signing];
const ENCRYPTION: &[Purpose] = &[Purpose::Encryption];
const RSA: &[Purpose] = &[Purpose::Signing, Purpose::Encryption];

const fn pair(
    name: &'static str,
    m: ck::CK_MECHANISM_TYPE,
    kt: ck::CK_KEY_TYPE,
    p: KeyParam,
    purposes: &'static [Purpose],
    post_quantum: bool,
) -> Algorithm {
    Algorithm {
        name,
        shape: Shape::Pair(m, kt, p),
        purposes,
        post_quantum,
    }
}

const fn secret(
    name: &'static str,
    m: ck::CK_MECHANISM_TYPE,
    kt: ck::CK_KEY_TYPE,
    len: usize,
    purpose: &'static [Purpose],
) -> Algorithm {
    Algorithm {
        name,
        shape: Shape::Secret(m, kt, len),
        purposes: purpose,
        post_quantum: false,
    }
}

use KeyParam::{Curve, ModulusBits, ParameterSet};

const MLKEM: (ck::CK_MECHANISM_TYPE, ck::CK_KEY_TYPE) =
    (ck::CKM_ML_KEM_KEY_PAIR_GEN, ck::CKK_ML_KEM);
const MLDSA: (ck::CK_MECHANISM_TYPE, ck::CK_KEY_TYPE) =
    (ck::CKM_ML_DSA_KEY_PAIR_GEN, ck::CKK_ML_DSA);
const SLHDSA: (ck::CK_MECHANISM_TYPE, ck::CK_KEY_TYPE) =
    (ck::CKM_SLH_DSA_KEY_PAIR_GEN, ck::CKK_SLH_DSA);
const RSA_GEN: (ck::CK_MECHANISM_TYPE, ck::CK_KEY_TYPE) =
    (ck::CKM_RSA_PKCS_KEY_PAIR_GEN, ck::CKK_RSA);
const EC_GEN: (ck::CK_MECHANISM_TYPE, ck::CK_KEY_TYPE) = (ck::CKM_EC_KEY_PAIR_GEN, ck::CKK_EC);

#[rustfmt::skip]
pub static ALGORITHMS: &[Algorithm] = &[
    pair("ml-kem-512", MLKEM.0, MLKEM.1, ParameterSet(ck::CKP_ML_KEM_512), ENCRYPTION, true),
    pair("ml-kem-768", MLKEM.0, MLKEM.1, ParameterSet(ck::CKP_ML_KEM_768), ENCRYPTION, true),
    pair("ml-kem-1024", MLKEM.0, MLKEM.1, ParameterSet(ck::CKP_ML_KEM_1024), ENCRYPTION, true),
    pair("ml-dsa-44", MLDSA.0, MLDSA.1, ParameterSet(ck::CKP_ML_DSA_44), SIGNING, true),
    pair("ml-dsa-65", MLDSA.0, MLDSA.1, ParameterSet(ck::CKP_ML_DSA_65), SIGNING, true),
    pair("ml-dsa-87", MLDSA.0, MLDSA.1, ParameterSet(ck::CKP_ML_DSA_87), SIGNING, true),
    pair("slh-dsa-sha2-128s", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHA2_128S), SIGNING, true),
    pair("slh-dsa-sha2-128f", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHA2_128F), SIGNING, true),
    pair("slh-dsa-sha2-192s", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHA2_192S), SIGNING, true),
    pair("slh-dsa-sha2-192f", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHA2_192F), SIGNING, true),
    pair("slh-dsa-sha2-256s", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHA2_256S), SIGNING, true),
    pair("slh-dsa-sha2-256f", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHA2_256F), SIGNING, true),
    pair("slh-dsa-shake-128s", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHAKE_128S), SIGNING, true),
    pair("slh-dsa-shake-128f", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHAKE_128F), SIGNING, true),
    pair("slh-dsa-shake-192s", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHAKE_192S), SIGNING, true),
    pair("slh-dsa-shake-192f", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHAKE_192F), SIGNING, true),
    pair("slh-dsa-shake-256s", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHAKE_256S), SIGNING, true),
    pair("slh-dsa-shake-256f", SLHDSA.0, SLHDSA.1, ParameterSet(ck::CKP_SLH_DSA_SHAKE_256F), SIGNING, true),
    pair("rsa-2048", RSA_GEN.0, RSA_GEN.1, ModulusBits(2048), RSA, false),
    pair("rsa-3072", RSA_GEN.0, RSA_GEN.1, ModulusBits(3072), RSA, false),
    pair("rsa-4096", RSA_GEN.0, RSA_GEN.1, ModulusBits(4096), RSA, false),
    pair("ec-p256", EC_GEN.0, EC_GEN.1, Curve(P256), SIGNING, false),
    pair("ec-p384", EC_GEN.0, EC_GEN.1, Curve(P384), SIGNING, false),
    pair("ec-p521", EC_GEN.0, EC_GEN.1, Curve(P521), SIGNING, false),
    pair("ed25519", ck::CKM_EC_EDWARDS_KEY_PAIR_GEN, ck::CKK_EC_EDWARDS, Curve(ED25519), SIGNING, false),
    secret("hmac-sha256", ck::CKM_GENERIC_SECRET_KEY_GEN, ck::CKK_SHA256_HMAC, 32, &[Purpose::Hmac]),
    secret("hmac-sha384", ck::CKM_GENERIC_SECRET_KEY_GEN, ck::CKK_SHA384_HMAC, 48, &[Purpose::Hmac]),
    secret("hmac-sha512", ck::CKM_GENERIC_SECRET_KEY_GEN, ck::CKK_SHA512_HMAC, 64, &[Purpose::Hmac]),
    secret("aes-256-gcm", ck::CKM_AES_KEY_GEN, ck::CKK_AES, 32, &[Purpose::Symmetric]),
];

/// The algorithm a purpose gets when none is named.
pub fn default_for(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Encryption => "ml-kem-768",
        Purpose::Signing => "ml-dsa-65",
        Purpose::Hmac => "hmac-sha256",
        Purpose::Symmetric => "aes-256-gcm",
    }
}

/// The algorithm called `name`.
pub fn by_name(name: &str) -> Result<&'static Algorithm> {
    ALGORITHMS.iter().find(|a| a.name == name).ok_or_else(|| {
        let names: Vec<&str> = ALGORITHMS.iter().map(|a| a.name).collect();
        Error::new(
            ErrorKind::ArgumentsBad,
            format!(
                "unknown algorithm `{name}`: choose one of {}",
                names.join(", ")
            ),
        )
    })
}

/// The algorithm for a new key of `purpose`: `name`, or the purpose's default. It must
/// serve the purpose and this build must offer its mechanisms.
pub fn resolve(purpose: Purpose, name: Option<&str>) -> Result<&'static Algorithm> {
    let alg = by_name(name.unwrap_or(default_for(purpose)))?;
    if !alg.purposes.contains(&purpose) {
        let fits: Vec<&str> = ALGORITHMS
            .iter()
            .filter(|a| a.purposes.contains(&purpose))
            .map(|a| a.name)
            .collect();
        return Err(Error::new(
            ErrorKind::ArgumentsBad,
            format!(
                "{} is not a {purpose} algorithm: for --type {purpose} choose one of {}",
                alg.name,
                fits.join(", ")
            ),
        ));
    }
    alg.check_available()?;
    Ok(alg)
}

/// The algorithm of an existing key of `key_type` and `param` (import).
pub fn of_key(
    key_type: ck::CK_KEY_TYPE,
    param: Option<KeyParam>,
    purpose: Purpose,
) -> Result<&'static Algorithm> {
    ALGORITHMS
        .iter()
        .find(|a| {
            a.purposes.contains(&purpose)
                && match a.shape {
                    Shape::Pair(_, kt, p) => kt == key_type && Some(p) == param,
                    Shape::Secret(_, kt, _) => kt == key_type,
                }
        })
        .ok_or_else(|| {
            Error::new(
                ErrorKind::ArgumentsBad,
                format!("a {purpose} key of this type and size (key type {key_type:#x}) is not supported"),
            )
        })
}

impl Algorithm {
    pub fn key_type(&self) -> ck::CK_KEY_TYPE {
        match self.shape {
            Shape::Pair(_, kt, _) | Shape::Secret(_, kt, _) => kt,
        }
    }

    pub fn gen_mechanism(&self) -> ck::CK_MECHANISM_TYPE {
        match self.shape {
            Shape::Pair(m, _, _) | Shape::Secret(m, _, _) => m,
        }
    }

    /// Refuse algorithms whose mechanisms this build lacks.
    pub fn check_available(&self) -> Result<()> {
        if table::lookup(self.gen_mechanism()).is_some() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::MechanismInvalid,
                format!("{} is not offered by this build of pqhsm", self.name),
            ))
        }
    }

    /// The key attributes of the public template (pairs) or the secret template.
    pub fn key_attrs(&self) -> Vec<Attr> {
        match self.shape {
            Shape::Pair(_, _, Curve(der)) => vec![Attr::new(ck::CKA_EC_PARAMS, der.to_vec())],
            Shape::Pair(_, _, ModulusBits(bits)) => vec![
                Attr::ulong(ck::CKA_MODULUS_BITS, bits),
                Attr::new(ck::CKA_PUBLIC_EXPONENT, vec![1, 0, 1]),
            ],
            Shape::Pair(_, _, ParameterSet(set)) => vec![Attr::ulong(ck::CKA_PARAMETER_SET, set)],
            Shape::Secret(_, _, len) => vec![Attr::ulong(ck::CKA_VALUE_LEN, len as ck::CK_ULONG)],
        }
    }

    /// The mechanism that signs (or MACs) with a key of this algorithm.
    pub fn sign_mechanism(&self) -> Result<Mechanism> {
        let ty = match (self.key_type(), self.shape) {
            (ck::CKK_EC, Shape::Pair(_, _, Curve(P384))) => ck::CKM_ECDSA_SHA384,
            (ck::CKK_EC, Shape::Pair(_, _, Curve(P521))) => ck::CKM_ECDSA_SHA512,
            (ck::CKK_EC, _) => ck::CKM_ECDSA_SHA256,
            (ck::CKK_EC_EDWARDS, _) => ck::CKM_EDDSA,
            (ck::CKK_ML_DSA, _) => ck::CKM_ML_DSA,
            (ck::CKK_SLH_DSA, _) => ck::CKM_SLH_DSA,
            (ck::CKK_SHA256_HMAC, _) => ck::CKM_SHA256_HMAC,
            (ck::CKK_SHA384_HMAC, _) => ck::CKM_SHA384_HMAC,
            (ck::CKK_SHA512_HMAC, _) => ck::CKM_SHA512_HMAC,
            (ck::CKK_RSA, _) => {
                return Ok(Mechanism {
                    ty: ck::CKM_SHA256_RSA_PKCS_PSS,
                    param: MechParam::Pss {
                        hash: ck::CKM_SHA256,
                        mgf: ck::CKG_MGF1_SHA256,
                        salt_len: 32,
                    },
                })
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::KeyFunctionNotPermitted,
                    format!("{} keys do not sign", self.name),
                ))
            }
        };
        Ok(Mechanism::new(ty))
    }

    /// The RSA-OAEP mechanism of encryption keys (SHA-256, MGF1-SHA-256, no label).
    pub fn oaep() -> Mechanism {
        Mechanism {
            ty: ck::CKM_RSA_PKCS_OAEP,
            param: MechParam::Oaep {
                hash: ck::CKM_SHA256,
                mgf: ck::CKG_MGF1_SHA256,
                label: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_defaults_fit_their_purpose() {
        for (i, a) in ALGORITHMS.iter().enumerate() {
            assert!(
                !ALGORITHMS[..i].iter().any(|b| b.name == a.name),
                "{}",
                a.name
            );
        }
        for p in Purpose::ALL {
            assert!(by_name(default_for(*p)).unwrap().purposes.contains(p));
        }
        assert_eq!(
            resolve(Purpose::Encryption, Some("ec-p256"))
                .unwrap_err()
                .kind(),
            ErrorKind::ArgumentsBad
        );
        assert!(by_name("rot13").is_err());
        assert_eq!(
            resolve(Purpose::Signing, Some("ec-p256")).unwrap().name,
            "ec-p256"
        );
    }

    #[test]
    fn imported_keys_find_their_algorithm() {
        let a = of_key(ck::CKK_EC, Some(Curve(P384)), Purpose::Signing).unwrap();
        assert_eq!(a.name, "ec-p384");
        assert_eq!(a.sign_mechanism().unwrap().ty, ck::CKM_ECDSA_SHA384);
        let r = of_key(ck::CKK_RSA, Some(ModulusBits(3072)), Purpose::Encryption).unwrap();
        assert_eq!(r.name, "rsa-3072");
        assert!(of_key(ck::CKK_RSA, Some(ModulusBits(1024)), Purpose::Signing).is_err());
        assert_eq!(
            of_key(ck::CKK_AES, None, Purpose::Symmetric).unwrap().name,
            "aes-256-gcm"
        );
    }
}
