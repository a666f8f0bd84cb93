//! Operations with a named key, through the same module calls a PKCS#11 client makes (so
//! the lifecycle check and its audit apply): sign/verify, MAC/verify, and envelope
//! encryption. An envelope carries the key name and version that made it; its payload is
//! AES-256-GCM under a fresh data key, which the managed key protects (AES-GCM, RSA-OAEP, or
//! ML-KEM encapsulation then AES-GCM). An optional context is bound as AAD, never stored.
//!
//! Envelope: `"PQHSMENV" || header_len u32 || header (JSON) || ciphertext || tag(16)`; the
//! payload AAD is `"pqhsm/v1/envelope" || header_len u32 || header || context_len u32 ||
//! context`, so header, key, version and context are all authenticated.

use super::algorithms::{self, Algorithm};
use super::meta::KeyMeta;
use super::Manager;
use crate::attr::{Attr, Template};
use crate::error::{Error, ErrorKind, Result};
use crate::mech::params::{MechParam, Mechanism};
use crate::mech::KeyMaterial;
use crate::mech::{gcm_open, gcm_seal};
use crate::module::{ObjectHandle, OutBytes, Output};
use crate::object::vendor::Purpose;
use base64ct::{Base64, Encoding};
use cryptoki_sys as ck;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

const MAGIC: &[u8; 8] = b"PQHSMENV";
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const DEK_LEN: usize = 32;

/// What an envelope holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A data key made by `data_key`.
    DataKey,
    /// Key material given to `wrap`.
    WrappedKey,
    /// A file given to `encrypt`.
    File,
}

/// How the data key is protected by the managed key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "kebab-case", deny_unknown_fields)]
enum DekWrap {
    AesGcm {
        iv: String,
        wrapped: String,
    },
    RsaOaepSha256 {
        wrapped: String,
    },
    MlKem {
        ciphertext: String,
        iv: String,
        wrapped: String,
    },
}

/// The envelope header: authenticated, readable without the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Header {
    pub kind: Kind,
    pub key: String,
    pub version: u32,
    pub algorithm: String,
    dek: DekWrap,
    iv: String,
}

fn b64(b: &[u8]) -> String {
    Base64::encode_string(b)
}

fn unb64(s: &str) -> Result<Vec<u8>> {
    Base64::decode_vec(s).map_err(|_| not_envelope("a header field is not base64"))
}

fn not_envelope(what: &str) -> Error {
    Error::new(
        ErrorKind::EncryptedDataInvalid,
        format!("this is not a pqhsm envelope ({what})"),
    )
}

fn refused_open() -> Error {
    Error::new(
        ErrorKind::EncryptedDataInvalid,
        "the envelope does not open: wrong context, or it was modified",
    )
}

fn dek_material(dek: &[u8]) -> KeyMaterial {
    KeyMaterial::secret_key(ck::CKK_AES, dek)
}

fn secret_bytes(d: OutBytes) -> Zeroizing<Vec<u8>> {
    match d {
        OutBytes::Secret(z) => z,
        OutBytes::Public(v) => Zeroizing::new(v),
    }
}

fn payload_aad(header: &[u8], context: &[u8]) -> Vec<u8> {
    let mut aad = b"pqhsm/v1/envelope".to_vec();
    aad.extend_from_slice(&(header.len() as u32).to_be_bytes());
    aad.extend_from_slice(header);
    aad.extend_from_slice(&(context.len() as u32).to_be_bytes());
    aad.extend_from_slice(context);
    aad
}

/// AAD of the data key wrapped under an AES (or KEM-derived) key: names key and version.
fn dek_aad(key: &str, version: u32) -> Vec<u8> {
    format!("pqhsm/v1/dek/{key}/v{version}").into_bytes()
}

fn gcm(iv: &[u8], aad: Vec<u8>) -> Mechanism {
    Mechanism {
        ty: ck::CKM_AES_GCM,
        param: MechParam::Gcm {
            iv: iv.to_vec(),
            aad,
            tag_bits: (TAG_LEN * 8) as u64,
        },
    }
}

/// The bytes of an operation's output, asking for the length first. Held as secret either
/// way: the caller may be opening an envelope.
fn collect(mut f: impl FnMut(Option<usize>) -> Result<Output>) -> Result<Zeroizing<Vec<u8>>> {
    let n = match f(None)? {
        Output::Len(n) => n,
        Output::Data(d) => return Ok(secret_bytes(d)),
        Output::Written(_) => return Err(no_bytes()),
    };
    match f(Some(n))? {
        Output::Data(d) => Ok(secret_bytes(d)),
        Output::Len(_) | Output::Written(_) => Err(no_bytes()),
    }
}

/// Calls with a capacity only answer with a length or bytes.
fn no_bytes() -> Error {
    Error::new(
        ErrorKind::General,
        "the module answered without the bytes asked for",
    )
}

/// A version of a key chosen for an operation.
struct Target {
    name: String,
    version: u32,
    meta: KeyMeta,
    alg: &'static Algorithm,
}

impl Manager<'_> {
    /// The version an operation uses: `version`, or the key's active version. The key must
    /// serve one of `purposes`. Its state is not judged here: the module's lifecycle check
    /// decides (and audits a refusal) when the operation starts.
    fn target(
        &self,
        name: &str,
        version: Option<u32>,
        purposes: &[Purpose],
        what: &str,
    ) -> Result<Target> {
        let snap = self.snapshot()?;
        let view = snap.key(name)?;
        let meta = view.meta().clone();
        if !purposes.contains(&meta.purpose) {
            let e = Error::new(
                ErrorKind::KeyFunctionNotPermitted,
                format!("key `{name}` is a {} key: it cannot {what}", meta.purpose),
            );
            return self.audited_read(
                &format!("use:{}", what.replace(' ', "-")),
                Some(name),
                version,
                || Err(e),
            );
        }
        let version = match version {
            Some(v) => view.version(v)?.meta.version,
            None => {
                view.active()
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::KeyLifecycle,
                            format!("key `{name}` has no active version: name a version"),
                        )
                    })?
                    .meta
                    .version
            }
        };
        Ok(Target {
            name: name.to_string(),
            version,
            alg: algorithms::by_name(&meta.algorithm)?,
            meta,
        })
    }

    /// The handle of the `class` object of version `t.version`.
    fn handle(&self, t: &Target, class: ck::CK_OBJECT_CLASS) -> Result<ObjectHandle> {
        let tpl = Template::new(vec![
            Attr::new(ck::CKA_LABEL, t.name.as_bytes().to_vec()),
            Attr::new(ck::CKA_ID, t.version.to_be_bytes().to_vec()),
            Attr::ulong(ck::CKA_CLASS, class),
        ])?;
        let (m, s) = (self.module, self.session);
        m.find_objects_init(s, &tpl)?;
        let found = m.find_objects(s, 2);
        m.find_objects_final(s)?;
        found?.first().copied().ok_or_else(|| {
            Error::new(
                ErrorKind::KeyLifecycle,
                format!(
                    "key `{}` v{} has no key material any more (destroyed)",
                    t.name, t.version
                ),
            )
        })
    }

    fn signing_class(t: &Target) -> (ck::CK_OBJECT_CLASS, ck::CK_OBJECT_CLASS) {
        match t.meta.purpose {
            Purpose::Hmac | Purpose::Symmetric => (ck::CKO_SECRET_KEY, ck::CKO_SECRET_KEY),
            _ => (ck::CKO_PRIVATE_KEY, ck::CKO_PUBLIC_KEY),
        }
    }

    /// Sign `data` with `name` (its active version unless `version` names one). Returns the
    /// version used and the signature.
    pub fn sign(&self, name: &str, version: Option<u32>, data: &[u8]) -> Result<(u32, Vec<u8>)> {
        self.sign_with(name, version, data, &[Purpose::Signing], "sign")
    }

    /// Check a signature made by version `version` (None: the active version).
    pub fn verify(&self, name: &str, version: Option<u32>, data: &[u8], sig: &[u8]) -> Result<u32> {
        self.verify_with(
            name,
            version,
            data,
            sig,
            &[Purpose::Signing],
            "verify signatures",
        )
    }

    /// HMAC of `data`.
    pub fn mac(&self, name: &str, version: Option<u32>, data: &[u8]) -> Result<(u32, Vec<u8>)> {
        self.sign_with(name, version, data, &[Purpose::Hmac], "compute MACs")
    }

    pub fn mac_verify(
        &self,
        name: &str,
        version: Option<u32>,
        data: &[u8],
        tag: &[u8],
    ) -> Result<u32> {
        self.verify_with(name, version, data, tag, &[Purpose::Hmac], "verify MACs")
    }

    fn sign_with(
        &self,
        name: &str,
        version: Option<u32>,
        data: &[u8],
        purposes: &[Purpose],
        what: &str,
    ) -> Result<(u32, Vec<u8>)> {
        let t = self.target(name, version, purposes, what)?;
        let h = self.handle(&t, Self::signing_class(&t).0)?;
        let (m, s) = (self.module, self.session);
        m.sign_init(s, &t.alg.sign_mechanism()?, h)?;
        let sig = collect(|cap| m.sign(s, data, cap))?;
        Ok((t.version, sig.to_vec()))
    }

    fn verify_with(
        &self,
        name: &str,
        version: Option<u32>,
        data: &[u8],
        sig: &[u8],
        purposes: &[Purpose],
        what: &str,
    ) -> Result<u32> {
        let t = self.target(name, version, purposes, what)?;
        let h = self.handle(&t, Self::signing_class(&t).1)?;
        let (m, s) = (self.module, self.session);
        m.verify_init(s, &t.alg.sign_mechanism()?, h)?;
        m.verify(s, data, sig).map_err(|e| match e.kind() {
            ErrorKind::SignatureInvalid | ErrorKind::SignatureLenRange => Error::new(
                ErrorKind::SignatureInvalid,
                format!(
                    "the signature does not verify with key `{name}` v{}",
                    t.version
                ),
            ),
            _ => e,
        })?;
        Ok(t.version)
    }

    /// A fresh data key of `len` bytes (16, 24 or 32), protected by `name`'s active version:
    /// (envelope, plaintext data key).
    pub fn data_key(
        &self,
        name: &str,
        len: usize,
        context: &[u8],
    ) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
        if !matches!(len, 16 | 24 | 32) {
            return Err(Error::new(
                ErrorKind::ArgumentsBad,
                "a data key has 16, 24 or 32 bytes",
            ));
        }
        let mut key = Zeroizing::new(vec![0u8; len]);
        self.module.generate_random(self.session, &mut key)?;
        let envelope = self.seal(name, Kind::DataKey, &key, context)?;
        Ok((envelope, key))
    }

    /// Protect key material (or any secret) under `name`'s active version.
    pub fn wrap(&self, name: &str, material: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        self.seal(name, Kind::WrappedKey, material, context)
    }

    /// Encrypt a file's bytes under `name`'s active version.
    pub fn encrypt(&self, name: &str, data: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        self.seal(name, Kind::File, data, context)
    }

    /// Open an envelope of one of `kinds` with the version that made it (named in it).
    pub fn open(
        &self,
        envelope: &[u8],
        context: &[u8],
        kinds: &[Kind],
    ) -> Result<(Header, Zeroizing<Vec<u8>>)> {
        let (header, header_bytes, body) = parse(envelope)?;
        if !kinds.contains(&header.kind) {
            return Err(Error::new(
                ErrorKind::ArgumentsBad,
                format!(
                    "this envelope holds a {}: use `pqhsm {}`",
                    serde_json::to_value(header.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    if header.kind == Kind::File {
                        "decrypt"
                    } else {
                        "unwrap"
                    }
                ),
            ));
        }
        let t = self.target(
            &header.key,
            Some(header.version),
            &[Purpose::Encryption, Purpose::Symmetric],
            "decrypt",
        )?;
        if t.meta.algorithm != header.algorithm {
            return Err(refused_open());
        }
        let dek = self.unwrap_dek(&t, &header.dek)?;
        if body.len() < TAG_LEN {
            return Err(not_envelope("the ciphertext is truncated"));
        }
        let (ct, tag) = body.split_at(body.len() - TAG_LEN);
        let iv = unb64(&header.iv)?;
        let plain = gcm_open(
            &dek_material(&dek),
            &iv,
            &payload_aad(header_bytes, context),
            ct,
            tag,
        )
        .map_err(|_| refused_open())?;
        Ok((header, plain))
    }

    fn seal(&self, name: &str, kind: Kind, payload: &[u8], context: &[u8]) -> Result<Vec<u8>> {
        let t = self.target(
            name,
            None,
            &[Purpose::Encryption, Purpose::Symmetric],
            "encrypt",
        )?;
        let mut dek = Zeroizing::new([0u8; DEK_LEN]);
        crate::rng::fill_bytes(&mut dek[..]);
        let mut iv = [0u8; IV_LEN];
        crate::rng::fill_bytes(&mut iv);
        let header = Header {
            kind,
            key: t.name.clone(),
            version: t.version,
            algorithm: t.meta.algorithm.clone(),
            dek: self.wrap_dek(&t, &dek[..])?,
            iv: b64(&iv),
        };
        let header_bytes = serde_json::to_vec(&header)
            .map_err(|e| Error::new(ErrorKind::General, format!("envelope header: {e}")))?;
        let (ct, tag) = gcm_seal(
            &dek_material(&dek[..]),
            &iv,
            &payload_aad(&header_bytes, context),
            payload,
            TAG_LEN,
        )?;
        let mut out = Vec::with_capacity(12 + header_bytes.len() + ct.len() + TAG_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&header_bytes);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn wrap_dek(&self, t: &Target, dek: &[u8]) -> Result<DekWrap> {
        let (m, s) = (self.module, self.session);
        let aad = dek_aad(&t.name, t.version);
        match t.alg.key_type() {
            ck::CKK_AES => {
                let h = self.handle(t, ck::CKO_SECRET_KEY)?;
                let mut iv = [0u8; IV_LEN];
                crate::rng::fill_bytes(&mut iv);
                m.encrypt_init(s, &gcm(&iv, aad), h)?;
                let wrapped = collect(|cap| m.encrypt(s, dek, cap))?;
                Ok(DekWrap::AesGcm {
                    iv: b64(&iv),
                    wrapped: b64(&wrapped),
                })
            }
            ck::CKK_RSA => {
                let h = self.handle(t, ck::CKO_PUBLIC_KEY)?;
                m.encrypt_init(s, &Algorithm::oaep(), h)?;
                let wrapped = collect(|cap| m.encrypt(s, dek, cap))?;
                Ok(DekWrap::RsaOaepSha256 {
                    wrapped: b64(&wrapped),
                })
            }
            ck::CKK_ML_KEM => {
                let h = self.handle(t, ck::CKO_PUBLIC_KEY)?;
                let tpl = kem_secret_template()?;
                let mech = Mechanism::new(ck::CKM_ML_KEM);
                let ct = match m.encapsulate_key(s, &mech, h, &tpl, None)?.0 {
                    Output::Len(n) => n,
                    Output::Data(_) | Output::Written(_) => 0,
                };
                let (ct, shared) = m.encapsulate_key(s, &mech, h, &tpl, Some(ct))?;
                let (Output::Data(ct), Some(shared)) = (ct, shared) else {
                    return Err(Error::new(ErrorKind::General, "encapsulation made no key"));
                };
                let mut iv = [0u8; IV_LEN];
                crate::rng::fill_bytes(&mut iv);
                let wrapped = m
                    .encrypt_init(s, &gcm(&iv, aad), shared)
                    .and_then(|()| collect(|cap| m.encrypt(s, dek, cap)));
                m.destroy_object(s, shared)?;
                Ok(DekWrap::MlKem {
                    ciphertext: b64(&ct),
                    iv: b64(&iv),
                    wrapped: b64(&wrapped?),
                })
            }
            other => Err(Error::new(
                ErrorKind::KeyFunctionNotPermitted,
                format!("keys of type {other:#x} do not encrypt"),
            )),
        }
    }

    fn unwrap_dek(&self, t: &Target, wrap: &DekWrap) -> Result<Zeroizing<Vec<u8>>> {
        let (m, s) = (self.module, self.session);
        let aad = dek_aad(&t.name, t.version);
        let dek = match (t.alg.key_type(), wrap) {
            (ck::CKK_AES, DekWrap::AesGcm { iv, wrapped }) => {
                let h = self.handle(t, ck::CKO_SECRET_KEY)?;
                m.decrypt_init(s, &gcm(&unb64(iv)?, aad), h)?;
                let wrapped = unb64(wrapped)?;
                collect(|cap| m.decrypt(s, &wrapped, cap)).map_err(|_| refused_open())?
            }
            (ck::CKK_RSA, DekWrap::RsaOaepSha256 { wrapped }) => {
                let h = self.handle(t, ck::CKO_PRIVATE_KEY)?;
                m.decrypt_init(s, &Algorithm::oaep(), h)?;
                let wrapped = unb64(wrapped)?;
                collect(|cap| m.decrypt(s, &wrapped, cap)).map_err(|_| refused_open())?
            }
            (
                ck::CKK_ML_KEM,
                DekWrap::MlKem {
                    ciphertext,
                    iv,
                    wrapped,
                },
            ) => {
                let h = self.handle(t, ck::CKO_PRIVATE_KEY)?;
                let shared = m.decapsulate_key(
                    s,
                    &Mechanism::new(ck::CKM_ML_KEM),
                    h,
                    &kem_secret_template()?,
                    &unb64(ciphertext)?,
                )?;
                let wrapped = unb64(wrapped)?;
                let dek = m
                    .decrypt_init(s, &gcm(&unb64(iv)?, aad), shared)
                    .and_then(|()| collect(|cap| m.decrypt(s, &wrapped, cap)));
                m.destroy_object(s, shared)?;
                dek.map_err(|_| refused_open())?
            }
            _ => return Err(refused_open()),
        };
        if dek.len() != DEK_LEN {
            return Err(refused_open());
        }
        Ok(dek)
    }
}

/// The session AES-256 key an ML-KEM shared secret becomes (never leaves the module).
fn kem_secret_template() -> Result<Template> {
    Template::new(vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
        Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
        Attr::bool(ck::CKA_TOKEN, false),
        Attr::bool(ck::CKA_ENCRYPT, true),
        Attr::bool(ck::CKA_DECRYPT, true),
        Attr::ulong(ck::CKA_VALUE_LEN, 32),
    ])
}

/// Split an envelope into its header, the header's bytes and the ciphertext.
fn parse(envelope: &[u8]) -> Result<(Header, &[u8], &[u8])> {
    let rest = envelope
        .strip_prefix(&MAGIC[..])
        .ok_or_else(|| not_envelope("it does not start with PQHSMENV"))?;
    if rest.len() < 4 {
        return Err(not_envelope("it is truncated"));
    }
    let (len, rest) = rest.split_at(4);
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if rest.len() < len {
        return Err(not_envelope("the header is truncated"));
    }
    let (header_bytes, body) = rest.split_at(len);
    let header: Header = serde_json::from_slice(header_bytes)
        .map_err(|_| not_envelope("the header does not parse"))?;
    Ok((header, header_bytes, body))
}

/// The header of an envelope, without opening it.
pub fn peek(envelope: &[u8]) -> Result<Header> {
    parse(envelope).map(|(h, _, _)| h)
}
