//! Bring your own key: PKCS#8 (PEM or DER, also password-protected), JWK, and RAW secret
//! values become version 1 of a new managed key, sealed, non-extractable. The input is
//! parsed in zeroizing memory by the mechanism layer (`mech::keys::from_pkcs8`,
//! `check_import`), which validates it; nothing of it is written anywhere unsealed.

use super::algorithms::{self, Algorithm, KeyParam};
use super::clock::Timestamp;
use super::create::Material;
use super::meta::{KeyMeta, RotationPolicy};
use super::Manager;
use crate::attr::{Attr, Template};
use crate::error::{Error, ErrorKind, Result};
use crate::mech::pqc_keys::PqKey;
use crate::mech::{ec, eddsa::EdKey, keys, rsa::RsaKey, KeyAttrs, KeyMaterial};
use crate::object::vendor::{KeyState, Purpose};
use crate::object::Attrs;
use base64ct::{Base64UrlUnpadded, Encoding};
use cryptoki_sys as ck;
use der::Decode;
use serde::Deserialize;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// How the key file is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    /// `PRIVATE KEY` or `ENCRYPTED PRIVATE KEY` PEM (PKCS#8).
    Pem,
    /// PKCS#8 as PEM or DER, encrypted or not.
    Pkcs8,
    /// PKCS#8 DER, encrypted or not.
    Der,
    /// A JSON Web Key with its private part (RSA, EC, OKP, oct).
    Jwk,
    /// The raw bytes of a symmetric or HMAC key.
    Raw,
}

impl ImportFormat {
    pub fn parse(s: &str) -> Result<ImportFormat> {
        Ok(match s {
            "pem" => ImportFormat::Pem,
            "pkcs8" => ImportFormat::Pkcs8,
            "der" => ImportFormat::Der,
            "jwk" => ImportFormat::Jwk,
            "raw" => ImportFormat::Raw,
            _ => {
                return Err(Error::new(
                    ErrorKind::ArgumentsBad,
                    format!("unknown import format `{s}`: use pem, pkcs8, der, jwk or raw"),
                ))
            }
        })
    }
}

/// What to import and how the new key is set up.
pub struct ImportRequest<'a> {
    pub name: String,
    /// None: signing for signature algorithms and RSA, encryption for ML-KEM; secret
    /// keys need it (or an algorithm).
    pub purpose: Option<Purpose>,
    /// When given, the imported key must be of this algorithm.
    pub algorithm: Option<String>,
    pub format: ImportFormat,
    pub data: &'a [u8],
    /// Password of an encrypted PKCS#8 key.
    pub password: Option<&'a [u8]>,
    pub expires_at: Option<Timestamp>,
    pub policy: Option<RotationPolicy>,
    pub labels: BTreeMap<String, String>,
    pub description: String,
}

/// A parsed key: its type and attributes (public and secret parts), private or secret.
struct Parsed {
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
    attrs: KeyAttrs,
}

fn bad_input(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::ArgumentsBad, msg)
}

fn clone_attrs(a: &KeyAttrs) -> KeyAttrs {
    KeyAttrs {
        public: a.public.clone(),
        secret: a.secret.clone(),
    }
}

/// A PKCS#8 structure, decrypted when it is an EncryptedPrivateKeyInfo.
fn pkcs8_der(der: &[u8], password: Option<&[u8]>) -> Result<Parsed> {
    if pkcs8::PrivateKeyInfoRef::from_der(der).is_ok() {
        let (key_type, attrs) = keys::from_pkcs8(der)?;
        return Ok(Parsed {
            class: ck::CKO_PRIVATE_KEY,
            key_type,
            attrs,
        });
    }
    let encrypted = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der).map_err(|e| {
        bad_input(format!(
            "the key is neither PKCS#8 nor encrypted PKCS#8 DER ({e}): convert it with `openssl pkcs8 -topk8`"
        ))
    })?;
    let password = password.ok_or_else(|| {
        bad_input(
            "the key is encrypted: give its password (--password-file or PQHSM_IMPORT_PASSWORD)",
        )
    })?;
    let plain = encrypted.decrypt(password).map_err(|_| {
        bad_input(
            "the encrypted key does not open with this password (or uses an unsupported scheme)",
        )
    })?;
    pkcs8_der(plain.as_bytes(), None)
}

fn pkcs8_pem(text: &[u8], password: Option<&[u8]>) -> Result<Parsed> {
    let (label, der) =
        der::pem::decode_vec(text).map_err(|e| bad_input(format!("the file is not PEM ({e})")))?;
    let der = Zeroizing::new(der);
    match label {
        "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => pkcs8_der(&der, password),
        other => Err(bad_input(format!(
            "a PEM `{other}` block is not a PKCS#8 private key: convert it with `openssl pkcs8 -topk8` (public keys cannot be imported)"
        ))),
    }
}

fn looks_like_pem(data: &[u8]) -> bool {
    data.trim_ascii_start().starts_with(b"-----BEGIN")
}

/// A JSON Web Key with private parts. Private fields are held in zeroizing strings.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    crv: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<Zeroizing<String>>,
    p: Option<Zeroizing<String>>,
    q: Option<Zeroizing<String>>,
    dp: Option<Zeroizing<String>>,
    dq: Option<Zeroizing<String>>,
    qi: Option<Zeroizing<String>>,
    k: Option<Zeroizing<String>>,
    #[serde(rename = "priv")]
    private: Option<Zeroizing<String>>,
}

fn b64(field: &str, v: Option<&str>) -> Result<Zeroizing<Vec<u8>>> {
    let v = v.ok_or_else(|| bad_input(format!("the JWK lacks `{field}`")))?;
    Base64UrlUnpadded::decode_vec(v.trim_end_matches('='))
        .map(Zeroizing::new)
        .map_err(|_| bad_input(format!("the JWK field `{field}` is not base64url")))
}

fn jwk(data: &[u8]) -> Result<Parsed> {
    let j: Jwk = serde_json::from_slice(data)
        .map_err(|e| bad_input(format!("the file is not a JSON Web Key ({e})")))?;
    let get = |name: &str, v: &Option<Zeroizing<String>>| -> Result<Zeroizing<Vec<u8>>> {
        b64(name, v.as_ref().map(|z| z.as_str()))
    };
    let (class, key_type, attrs) = match j.kty.as_str() {
        "RSA" => (
            ck::CKO_PRIVATE_KEY,
            ck::CKK_RSA,
            vec![
                Attr::new(ck::CKA_MODULUS, b64("n", j.n.as_deref())?.to_vec()),
                Attr::new(ck::CKA_PUBLIC_EXPONENT, b64("e", j.e.as_deref())?.to_vec()),
                Attr::new(ck::CKA_PRIVATE_EXPONENT, get("d", &j.d)?.to_vec()),
                Attr::new(ck::CKA_PRIME_1, get("p", &j.p)?.to_vec()),
                Attr::new(ck::CKA_PRIME_2, get("q", &j.q)?.to_vec()),
                Attr::new(ck::CKA_EXPONENT_1, get("dp", &j.dp)?.to_vec()),
                Attr::new(ck::CKA_EXPONENT_2, get("dq", &j.dq)?.to_vec()),
                Attr::new(ck::CKA_COEFFICIENT, get("qi", &j.qi)?.to_vec()),
            ],
        ),
        "EC" => {
            let curve = match j.crv.as_deref() {
                Some("P-256") => ec::Curve::P256,
                Some("P-384") => ec::Curve::P384,
                Some("P-521") => ec::Curve::P521,
                other => {
                    return Err(bad_input(format!(
                        "EC curve {other:?} is not supported: use P-256, P-384 or P-521"
                    )))
                }
            };
            (
                ck::CKO_PRIVATE_KEY,
                ck::CKK_EC,
                vec![
                    Attr::new(ck::CKA_EC_PARAMS, curve.ec_params()),
                    Attr::new(ck::CKA_VALUE, get("d", &j.d)?.to_vec()),
                ],
            )
        }
        "OKP" if j.crv.as_deref() == Some("Ed25519") => (
            ck::CKO_PRIVATE_KEY,
            ck::CKK_EC_EDWARDS,
            vec![
                Attr::new(ck::CKA_EC_PARAMS, ED25519_OID.to_vec()),
                Attr::new(ck::CKA_VALUE, get("d", &j.d)?.to_vec()),
            ],
        ),
        "oct" => {
            let key_type = match j.alg.as_deref() {
                Some("HS384") => ck::CKK_SHA384_HMAC,
                Some("HS512") => ck::CKK_SHA512_HMAC,
                Some(a) if a.starts_with("HS") => ck::CKK_SHA256_HMAC,
                _ => ck::CKK_AES,
            };
            (
                ck::CKO_SECRET_KEY,
                key_type,
                vec![Attr::new(ck::CKA_VALUE, get("k", &j.k)?.to_vec())],
            )
        }
        "AKP" => {
            // draft-ietf-cose-dilithium / jose-pqc-kem: `priv` is the FIPS seed (ML-DSA,
            // ML-KEM) or the private key (SLH-DSA).
            let alg = j.alg.as_deref().unwrap_or_default();
            let found = algorithms::ALGORITHMS.iter().find_map(|a| match a.shape {
                algorithms::Shape::Pair(_, kt, KeyParam::ParameterSet(set))
                    if a.name.eq_ignore_ascii_case(alg) =>
                {
                    Some((kt, set))
                }
                _ => None,
            });
            let Some((key_type, set)) = found else {
                return Err(bad_input(format!("AKP algorithm `{alg}` is not supported")));
            };
            let part = if key_type == ck::CKK_SLH_DSA {
                ck::CKA_VALUE
            } else {
                ck::CKA_SEED
            };
            (
                ck::CKO_PRIVATE_KEY,
                key_type,
                vec![
                    Attr::ulong(ck::CKA_PARAMETER_SET, set),
                    Attr::new(part, get("priv", &j.private)?.to_vec()),
                ],
            )
        }
        other => {
            return Err(bad_input(format!(
                "JWK key type `{other}` is not supported: use RSA, EC, OKP (Ed25519), AKP or oct"
            )))
        }
    };
    let private_part = [ck::CKA_VALUE, ck::CKA_PRIVATE_EXPONENT, ck::CKA_SEED];
    if class == ck::CKO_PRIVATE_KEY && !attrs.iter().any(|a| private_part.contains(&a.ty)) {
        return Err(bad_input(
            "the JWK has no private part: only private keys are imported",
        ));
    }
    let attrs = keys::check_import(class, key_type, &Template::new(attrs)?)?;
    Ok(Parsed {
        class,
        key_type,
        attrs,
    })
}

const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// The public key object's attributes for an imported private key.
fn public_of(key_type: ck::CK_KEY_TYPE, private: &KeyAttrs) -> Result<KeyAttrs> {
    let all = Attrs::from_vec(
        private
            .public
            .iter()
            .chain(&private.secret)
            .cloned()
            .collect(),
    );
    let t = match keys::load(ck::CKO_PRIVATE_KEY, key_type, &all)? {
        KeyMaterial::Rsa(RsaKey::Private(k, ..)) => {
            use rsa::traits::PublicKeyParts;
            vec![
                Attr::new(ck::CKA_MODULUS, k.n_bytes().to_vec()),
                Attr::new(ck::CKA_PUBLIC_EXPONENT, k.e_bytes().to_vec()),
            ]
        }
        KeyMaterial::Ec(ec::EcKey::Private { curve, point, .. }) => vec![
            Attr::new(ck::CKA_EC_PARAMS, curve.ec_params()),
            Attr::new(ck::CKA_EC_POINT, ec::ec_point_attr(&point)),
        ],
        KeyMaterial::EdDsa(k @ EdKey::Private(_)) => vec![
            Attr::new(
                ck::CKA_EC_PARAMS,
                all.get(ck::CKA_EC_PARAMS).unwrap_or(ED25519_OID).to_vec(),
            ),
            Attr::new(ck::CKA_EC_POINT, k.verifying_key().as_bytes().to_vec()),
        ],
        KeyMaterial::MlDsa(k) => pq_public(&k),
        KeyMaterial::MlKem(k) => pq_public(&k),
        KeyMaterial::SlhDsa(k) => pq_public(&k),
        _ => {
            return Err(Error::new(
                ErrorKind::FunctionNotSupported,
                format!("importing keys of type {key_type:#x} is not supported by this build"),
            ))
        }
    };
    keys::check_import(ck::CKO_PUBLIC_KEY, key_type, &Template::new(t)?)
}

/// The public key attributes of a post-quantum private key.
fn pq_public<K: PqKey>(k: &K) -> Vec<Attr> {
    vec![
        Attr::ulong(ck::CKA_PARAMETER_SET, k.parameter_set()),
        Attr::new(ck::CKA_VALUE, k.public_bytes().to_vec()),
    ]
}

/// The key parameter that picks the algorithm of an imported pair.
fn param_of(key_type: ck::CK_KEY_TYPE, public: &KeyAttrs) -> Option<KeyParam> {
    let get = |ty| {
        public
            .public
            .iter()
            .find(|a| a.ty == ty)
            .map(|a| a.value.as_slice())
    };
    match key_type {
        ck::CKK_EC => {
            let der = get(ck::CKA_EC_PARAMS)?;
            let curve = ec::Curve::from_ec_params(der).ok()?;
            algorithms::ALGORITHMS.iter().find_map(|a| match a.shape {
                algorithms::Shape::Pair(_, ck::CKK_EC, KeyParam::Curve(c))
                    if ec::Curve::from_ec_params(c).ok() == Some(curve) =>
                {
                    Some(KeyParam::Curve(c))
                }
                _ => None,
            })
        }
        ck::CKK_EC_EDWARDS => Some(KeyParam::Curve(ED25519_OID)),
        ck::CKK_RSA => {
            let n = get(ck::CKA_MODULUS)?;
            let lead = n.iter().position(|b| *b != 0).unwrap_or(n.len());
            let bits = (n.len() - lead) * 8;
            Some(KeyParam::ModulusBits(bits as ck::CK_ULONG))
        }
        _ => {
            let set = get(ck::CKA_PARAMETER_SET)?;
            crate::attr::decode_ulong(ck::CKA_PARAMETER_SET, set)
                .ok()
                .map(KeyParam::ParameterSet)
        }
    }
}

/// The algorithm of the imported key, checked against the request.
fn algorithm_of(
    req: &ImportRequest<'_>,
    parsed: &Parsed,
    public: Option<&KeyAttrs>,
) -> Result<(&'static Algorithm, Purpose)> {
    let named = req
        .algorithm
        .as_deref()
        .map(algorithms::by_name)
        .transpose()?;
    if parsed.class == ck::CKO_SECRET_KEY {
        let purpose = req
            .purpose
            .or_else(|| named.and_then(|a| a.purposes.first().copied()))
            .or(match parsed.key_type {
                ck::CKK_AES => Some(Purpose::Symmetric),
                ck::CKK_SHA256_HMAC | ck::CKK_SHA384_HMAC | ck::CKK_SHA512_HMAC => Some(Purpose::Hmac),
                _ => None,
            })
            .ok_or_else(|| bad_input("say what the secret key is for: --type symmetric or --type hmac (or --algorithm)"))?;
        let alg = match (named, purpose, parsed.key_type) {
            (Some(a), _, _) => a,
            (None, Purpose::Hmac, ck::CKK_SHA384_HMAC) => algorithms::by_name("hmac-sha384")?,
            (None, Purpose::Hmac, ck::CKK_SHA512_HMAC) => algorithms::by_name("hmac-sha512")?,
            (None, p, _) => algorithms::resolve(p, None)?,
        };
        if !alg.purposes.contains(&purpose) {
            return Err(bad_input(format!(
                "{} is not a {purpose} algorithm",
                alg.name
            )));
        }
        return Ok((alg, purpose));
    }
    let purpose = req.purpose.unwrap_or(match parsed.key_type {
        ck::CKK_ML_KEM => Purpose::Encryption,
        _ => Purpose::Signing,
    });
    let param = public.and_then(|p| param_of(parsed.key_type, p));
    let alg = algorithms::of_key(parsed.key_type, param, purpose)?;
    if let Some(n) = named.filter(|n| n.name != alg.name) {
        return Err(bad_input(format!(
            "the file holds a {} key, not {}",
            alg.name, n.name
        )));
    }
    Ok((alg, purpose))
}

impl Manager<'_> {
    /// Import a key as version 1 of a new managed key.
    pub fn import(&self, req: &ImportRequest<'_>) -> Result<()> {
        let parsed = match req.format {
            ImportFormat::Pem => pkcs8_pem(req.data, req.password),
            ImportFormat::Pkcs8 if looks_like_pem(req.data) => pkcs8_pem(req.data, req.password),
            ImportFormat::Pkcs8 | ImportFormat::Der => pkcs8_der(req.data, req.password),
            ImportFormat::Jwk => jwk(req.data),
            ImportFormat::Raw => Ok(Parsed {
                class: ck::CKO_SECRET_KEY,
                key_type: ck::CKK_GENERIC_SECRET,
                attrs: KeyAttrs::default(),
            }),
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                self.record_failure("import", Some(&req.name), Some(1), &e);
                return Err(e);
            }
        };
        let prepared = self.prepare_import(req, parsed);
        let (alg, purpose, material) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.record_failure("import", Some(&req.name), Some(1), &e);
                return Err(e);
            }
        };
        let key = KeyMeta {
            name: req.name.clone(),
            purpose,
            algorithm: alg.name.to_string(),
            state: KeyState::Enabled,
            prior_state: None,
            deletion_date: None,
            expires_at: req.expires_at,
            created_at: 0,
            rotated_at: None,
            policy: req.policy,
            labels: req.labels.clone(),
            description: req.description.clone(),
            is_default: false,
        };
        self.create_imported(key, alg, || {
            Ok(match &material {
                Material::Imported { private, public } => Material::Imported {
                    private: clone_attrs(private),
                    public: public.as_ref().map(clone_attrs),
                },
                Material::Generate => Material::Generate,
            })
        })
    }

    fn prepare_import(
        &self,
        req: &ImportRequest<'_>,
        parsed: Parsed,
    ) -> Result<(&'static Algorithm, Purpose, Material)> {
        if let Some(p) = &req.policy {
            super::policy::check_policy(p)?;
        }
        if parsed.class == ck::CKO_SECRET_KEY {
            let (alg, purpose) = algorithm_of(req, &parsed, None)?;
            let value: &[u8] = match req.format {
                ImportFormat::Raw => req.data,
                _ => parsed
                    .attrs
                    .secret
                    .iter()
                    .find(|a| a.ty == ck::CKA_VALUE)
                    .map_or(&[][..], |a| a.value.as_slice()),
            };
            if alg.key_type() == ck::CKK_AES && value.len() != 32 {
                return Err(bad_input(format!(
                    "{} needs a 32-byte key, not {} bytes",
                    alg.name,
                    value.len()
                )));
            }
            let t = Template::new(vec![Attr::new(ck::CKA_VALUE, value.to_vec())])?;
            let private = keys::check_import(ck::CKO_SECRET_KEY, alg.key_type(), &t)?;
            return Ok((
                alg,
                purpose,
                Material::Imported {
                    private,
                    public: None,
                },
            ));
        }
        let public = public_of(parsed.key_type, &parsed.attrs)?;
        let (alg, purpose) = algorithm_of(req, &parsed, Some(&public))?;
        alg.check_available()?;
        Ok((
            alg,
            purpose,
            Material::Imported {
                private: parsed.attrs,
                public: Some(public),
            },
        ))
    }
}
