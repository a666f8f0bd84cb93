//! aws-lc-rs for the RSA family: PKCS#1 v1.5 and PSS signatures over SHA-256/384/512 (PSS
//! with the salt as long as the hash), CKM_RSA_PKCS signatures of a SHA-2 DigestInfo,
//! OAEP decryption with MGF1 over the OAEP hash, and verification of all of these. Keys
//! are built once from the token's key (aws-lc holds the private key in its own heap and
//! wipes it when freed). Anything else answers None and RustCrypto serves it, notably
//! PKCS#1 v1.5 decryption, which keeps the implicit rejection aws-lc-rs does not offer.

use super::{PrivateKey, PublicKey, Scheme};
use crate::error::{Error, ErrorKind, Result};
use ::rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use ::rsa::pkcs8::EncodePrivateKey;
use aws_lc_rs::{digest, rsa as arsa, signature};
use cryptoki_sys as ck;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// DER DigestInfo prefixes of the SHA-2 hashes (RFC 8017 §9.2, note 1).
const DIGEST_INFO: [(ck::CK_MECHANISM_TYPE, &[u8]); 3] = [
    (
        ck::CKM_SHA256,
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
    ),
    (
        ck::CKM_SHA384,
        &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
    ),
    (
        ck::CKM_SHA512,
        &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    ),
];

fn sha2(hash: ck::CK_MECHANISM_TYPE) -> Option<&'static digest::Algorithm> {
    match hash {
        ck::CKM_SHA256 => Some(&digest::SHA256),
        ck::CKM_SHA384 => Some(&digest::SHA384),
        ck::CKM_SHA512 => Some(&digest::SHA512),
        _ => None,
    }
}

/// What aws-lc signs for `scheme` over `data`: the encoding and the digest. CKM_RSA_PKCS
/// input is served when it is a SHA-2 DigestInfo (the same padded block either way).
fn plan(scheme: Scheme, data: &[u8]) -> Option<(usize, digest::Digest)> {
    let (hash, digest_bytes, index) = match scheme {
        Scheme::Pkcs1(h) => (h, data, 0),
        Scheme::Raw => {
            let (h, prefix) = DIGEST_INFO.iter().find(|(_, p)| data.starts_with(p))?;
            (*h, &data[prefix.len()..], 0)
        }
        Scheme::Pss { hash, salt_len } => {
            let alg = sha2(hash)?;
            if salt_len != alg.output_len() {
                return None;
            }
            (hash, data, 3)
        }
    };
    let alg = sha2(hash)?;
    if digest_bytes.len() != alg.output_len() {
        return None;
    }
    let offset = match hash {
        ck::CKM_SHA256 => 0,
        ck::CKM_SHA384 => 1,
        _ => 2,
    };
    let d = digest::Digest::import_less_safe(digest_bytes, alg).ok()?;
    Some((index + offset, d))
}

const SIGNING: [&signature::RsaSignatureEncoding; 6] = [
    &signature::RSA_PKCS1_SHA256,
    &signature::RSA_PKCS1_SHA384,
    &signature::RSA_PKCS1_SHA512,
    &signature::RSA_PSS_SHA256,
    &signature::RSA_PSS_SHA384,
    &signature::RSA_PSS_SHA512,
];

const VERIFYING: [&signature::RsaParameters; 6] = [
    &signature::RSA_PKCS1_2048_8192_SHA256,
    &signature::RSA_PKCS1_2048_8192_SHA384,
    &signature::RSA_PKCS1_2048_8192_SHA512,
    &signature::RSA_PSS_2048_8192_SHA256,
    &signature::RSA_PSS_2048_8192_SHA384,
    &signature::RSA_PSS_2048_8192_SHA512,
];

/// A private key's aws-lc forms, each built on first use.
#[derive(Default)]
pub struct Private {
    signing: OnceLock<Option<arsa::KeyPair>>,
    oaep: OnceLock<Option<arsa::OaepPrivateDecryptingKey>>,
}

impl Private {
    /// Build the signing key now (outside the signature's timing) if it is not built yet.
    pub(super) fn prepare_signing(&self, k: &PrivateKey) {
        self.signing.get_or_init(|| {
            let der = k.to_pkcs1_der().ok()?;
            arsa::KeyPair::from_der(der.as_bytes()).ok()
        });
    }

    /// The signature of `data` under `scheme`; None when aws-lc does not serve this input.
    pub(super) fn sign(&self, scheme: Scheme, data: &[u8]) -> Option<Result<Vec<u8>>> {
        let key = self.signing.get()?.as_ref()?;
        let (i, d) = plan(scheme, data)?;
        let mut sig = vec![0u8; key.public_modulus_len()];
        super::super::provider::aws_lc_served();
        Some(
            key.sign_digest(SIGNING[i], &d, &mut sig)
                .map(|()| sig)
                .map_err(|_| Error::new(ErrorKind::FunctionFailed, "RSA signing failed")),
        )
    }

    /// Build the OAEP key now if it is not built yet.
    pub(super) fn prepare_oaep(&self, k: &PrivateKey) {
        self.oaep.get_or_init(|| {
            let der = k.to_pkcs8_der().ok()?;
            let key = arsa::PrivateDecryptingKey::from_pkcs8(der.as_bytes()).ok()?;
            arsa::OaepPrivateDecryptingKey::new(key).ok()
        });
    }

    /// OAEP decryption when the MGF1 hash is the OAEP hash (SHA-1 or SHA-2); None when
    /// aws-lc does not serve these parameters. Every failure is the same error.
    pub(super) fn oaep_decrypt(
        &self,
        hash: ck::CK_MECHANISM_TYPE,
        mgf: ck::CK_MECHANISM_TYPE,
        label: &[u8],
        ct: &[u8],
    ) -> Option<Result<Zeroizing<Vec<u8>>>> {
        let alg = match (hash, mgf) {
            (ck::CKM_SHA_1, ck::CKM_SHA_1) => &arsa::OAEP_SHA1_MGF1SHA1,
            (ck::CKM_SHA256, ck::CKM_SHA256) => &arsa::OAEP_SHA256_MGF1SHA256,
            (ck::CKM_SHA384, ck::CKM_SHA384) => &arsa::OAEP_SHA384_MGF1SHA384,
            (ck::CKM_SHA512, ck::CKM_SHA512) => &arsa::OAEP_SHA512_MGF1SHA512,
            _ => return None,
        };
        let key = self.oaep.get()?.as_ref()?;
        let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
        let label = (!label.is_empty()).then_some(label);
        super::super::provider::aws_lc_served();
        let n = match key.decrypt(alg, ct, &mut out, label) {
            Ok(pt) => pt.len(),
            Err(_) => {
                return Some(Err(Error::new(
                    ErrorKind::EncryptedDataInvalid,
                    "RSA decryption failed: wrong key or corrupted data",
                )))
            }
        };
        out.truncate(n);
        Some(Ok(out))
    }
}

/// A public key's aws-lc forms, one per signature algorithm, parsed on first use.
#[derive(Default)]
pub struct Public {
    parsed: [OnceLock<Option<signature::ParsedPublicKey>>; 6],
}

impl Public {
    /// Whether `sig` verifies; None when aws-lc does not serve this input.
    pub(super) fn verify(
        &self,
        k: &PublicKey,
        scheme: Scheme,
        data: &[u8],
        sig: &[u8],
    ) -> Option<bool> {
        let (i, d) = plan(scheme, data)?;
        let key = self.parsed[i]
            .get_or_init(|| {
                let der = k.to_pkcs1_der().ok()?;
                signature::ParsedPublicKey::new(VERIFYING[i], der.as_bytes()).ok()
            })
            .as_ref()?;
        super::super::provider::aws_lc_served();
        Some(key.verify_digest_sig(&d, sig).is_ok())
    }
}
