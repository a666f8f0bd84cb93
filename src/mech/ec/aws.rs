//! aws-lc-rs for the EC family: ECDSA over a hash of the curve's own length (P-256 with
//! 32 bytes, P-384 with 48, P-521 with 64), ECDH, and the public point of a scalar the
//! token generated. Keys are built once from the token's scalar and point and kept with
//! the key material; anything else (other hash lengths) answers None and RustCrypto serves.
//! aws-lc keeps the scalar in its own heap, which it wipes when the key is freed.

use super::Curve;
use crate::error::{Error, ErrorKind, Result};
use aws_lc_rs::{agreement, digest, signature};
use std::sync::OnceLock;
use zeroize::Zeroizing;

struct Native {
    sign: &'static signature::EcdsaSigningAlgorithm,
    verify: &'static signature::EcdsaVerificationAlgorithm,
    digest: &'static digest::Algorithm,
    agree: &'static agreement::Algorithm,
}

fn native(curve: Curve) -> Native {
    match curve {
        Curve::P256 => Native {
            sign: &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            verify: &signature::ECDSA_P256_SHA256_FIXED,
            digest: &digest::SHA256,
            agree: &agreement::ECDH_P256,
        },
        Curve::P384 => Native {
            sign: &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            verify: &signature::ECDSA_P384_SHA384_FIXED,
            digest: &digest::SHA384,
            agree: &agreement::ECDH_P384,
        },
        Curve::P521 => Native {
            sign: &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
            verify: &signature::ECDSA_P521_SHA512_FIXED,
            digest: &digest::SHA512,
            agree: &agreement::ECDH_P521,
        },
    }
}

/// `z` as the digest aws-lc signs, when it has the curve's own hash length.
fn digest_of(curve: Curve, z: &[u8]) -> Option<digest::Digest> {
    let alg = native(curve).digest;
    (z.len() == alg.output_len())
        .then(|| digest::Digest::import_less_safe(z, alg).ok())
        .flatten()
}

fn failed(what: &str) -> Error {
    Error::new(ErrorKind::FunctionFailed, format!("{what} failed"))
}

/// A private key's aws-lc forms, each built on first use.
#[derive(Default)]
pub struct Private {
    ecdsa: OnceLock<Option<signature::EcdsaKeyPair>>,
    ecdh: OnceLock<Option<agreement::PrivateKey>>,
}

impl Private {
    /// Build the ECDSA key now (outside the signature's timing) if it is not built yet.
    pub fn prepare(&self, curve: Curve, scalar: &[u8], point: &[u8]) {
        self.ecdsa.get_or_init(|| {
            signature::EcdsaKeyPair::from_private_key_and_public_key(
                native(curve).sign,
                scalar,
                point,
            )
            .ok()
        });
    }

    /// ECDSA signature r||s over `z`; None when aws-lc does not serve this input.
    pub fn sign(&self, curve: Curve, z: &[u8]) -> Option<Result<Vec<u8>>> {
        let key = self.ecdsa.get()?.as_ref()?;
        let d = digest_of(curve, z)?;
        super::provider::aws_lc_served();
        Some(
            key.sign_digest(&d)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| failed("ECDSA signing")),
        )
    }

    /// The raw ECDH secret with `peer` (a validated uncompressed point).
    pub fn agree(&self, curve: Curve, scalar: &[u8], peer: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let alg = native(curve).agree;
        let key = self
            .ecdh
            .get_or_init(|| agreement::PrivateKey::from_private_key(alg, scalar).ok())
            .as_ref()
            .ok_or_else(|| failed("loading the EC key for ECDH"))?;
        let peer = agreement::UnparsedPublicKey::new(alg, peer);
        super::provider::aws_lc_served();
        agreement::agree(key, peer, failed("ECDH"), |s| {
            Ok(Zeroizing::new(s.to_vec()))
        })
    }
}

/// A public key's aws-lc form, parsed on first use.
#[derive(Default)]
pub struct Public {
    ecdsa: OnceLock<Option<signature::ParsedPublicKey>>,
}

impl Public {
    /// Verify r||s over `z`; None when aws-lc does not serve this input.
    pub fn verify(&self, curve: Curve, point: &[u8], z: &[u8], sig: &[u8]) -> Option<bool> {
        let d = digest_of(curve, z)?;
        let key = self
            .ecdsa
            .get_or_init(|| signature::ParsedPublicKey::new(native(curve).verify, point).ok())
            .as_ref()?;
        super::provider::aws_lc_served();
        Some(key.verify_digest_sig(&d, sig).is_ok())
    }
}

/// The uncompressed public point of `scalar` (key pair generation).
pub fn public_point(curve: Curve, scalar: &[u8]) -> Option<Vec<u8>> {
    let key = agreement::PrivateKey::from_private_key(native(curve).agree, scalar).ok()?;
    super::provider::aws_lc_served();
    key.compute_public_key().ok().map(|p| p.as_ref().to_vec())
}
