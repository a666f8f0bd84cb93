//! Independent checks: signatures made on the token are verified with RustCrypto crates
//! from the public key the token hands out, so a signature is never checked only by the
//! token that made it. Nothing here calls the module except to read public attributes.

pub use super::hash::Hash;
use super::keys::{attr_bytes, Curve};
use cryptoki::object::{AttributeType, ObjectHandle};
use cryptoki::session::Session;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::sha2::{Sha256, Sha384, Sha512};

/// A random-bytes source over the OS RNG for the crates that want one (RSA padding).
pub struct OsRng;

impl rand_core::TryRng for OsRng {
    type Error = getrandom::Error;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        getrandom::fill(dst)
    }
}

impl rand_core::TryCryptoRng for OsRng {}

/// CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40+); some modules hand
/// out the bare point. Accept both, return the bare point.
pub fn unwrap_ec_point(v: &[u8]) -> Vec<u8> {
    if v.len() >= 2 && v[0] == 0x04 {
        let (len, hdr) = if v[1] < 0x80 {
            (v[1] as usize, 2)
        } else if v[1] == 0x81 && v.len() >= 3 {
            (v[2] as usize, 3)
        } else {
            (usize::MAX, 0)
        };
        if hdr > 0 && len == v.len() - hdr {
            return v[hdr..].to_vec();
        }
    }
    v.to_vec()
}

/// DER OCTET STRING around `point` (short and one-byte long form suffice for our sizes).
pub fn wrap_ec_point(point: &[u8]) -> Vec<u8> {
    let mut out = vec![0x04];
    if point.len() < 0x80 {
        out.push(point.len() as u8);
    } else {
        out.extend([0x81, point.len() as u8]);
    }
    out.extend_from_slice(point);
    out
}

/// The bare public point of an EC or Edwards public key object.
pub fn ec_point(s: &Session, public: ObjectHandle) -> Vec<u8> {
    unwrap_ec_point(&attr_bytes(s, public, AttributeType::EcPoint))
}

/// Verify an ECDSA signature (r||s) over a hash (or any prehash) with the RustCrypto crates.
pub fn ecdsa_verify_prehash(curve: Curve, point: &[u8], prehash: &[u8], sig: &[u8]) -> bool {
    match curve {
        Curve::P256 => {
            let (Ok(vk), Ok(sig)) = (
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point),
                p256::ecdsa::Signature::from_slice(sig),
            ) else {
                return false;
            };
            vk.verify_prehash(prehash, &sig).is_ok()
        }
        Curve::P384 => {
            let (Ok(vk), Ok(sig)) = (
                p384::ecdsa::VerifyingKey::from_sec1_bytes(point),
                p384::ecdsa::Signature::from_slice(sig),
            ) else {
                return false;
            };
            vk.verify_prehash(prehash, &sig).is_ok()
        }
        Curve::P521 => {
            let (Ok(vk), Ok(sig)) = (
                p521::ecdsa::VerifyingKey::from_sec1_bytes(point),
                p521::ecdsa::Signature::from_slice(sig),
            ) else {
                return false;
            };
            vk.verify_prehash(prehash, &sig).is_ok()
        }
    }
}

pub fn ed25519_verify(point: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(point) else {
        return false;
    };
    let (Ok(vk), Ok(sig)) = (
        ed25519_dalek::VerifyingKey::from_bytes(&pk),
        ed25519_dalek::Signature::from_slice(sig),
    ) else {
        return false;
    };
    vk.verify_strict(msg, &sig).is_ok()
}

/// The RSA public key of a token public-key object, as the `rsa` crate sees it.
pub fn rsa_public(s: &Session, public: ObjectHandle) -> rsa::PublicKey {
    let n = attr_bytes(s, public, AttributeType::Modulus);
    let e = attr_bytes(s, public, AttributeType::PublicExponent);
    rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(&n),
        rsa::BoxedUint::from_be_slice_vartime(&e),
    )
    .expect("the token's RSA public key is a valid RSA key")
}

pub fn rsa_pkcs1_verify(pk: &rsa::PublicKey, hash: Hash, msg: &[u8], sig: &[u8]) -> bool {
    let h = hash.digest(msg);
    let scheme = match hash {
        Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
    };
    pk.verify(scheme, &h, sig).is_ok()
}

/// PKCS#1 v1.5 signature over caller-formatted data (CKM_RSA_PKCS: data is a DigestInfo).
pub fn rsa_pkcs1_raw_verify(pk: &rsa::PublicKey, data: &[u8], sig: &[u8]) -> bool {
    pk.verify(rsa::Pkcs1v15Sign::new_unprefixed(), data, sig)
        .is_ok()
}

pub fn rsa_pss_verify_prehash(
    pk: &rsa::PublicKey,
    hash: Hash,
    prehash: &[u8],
    salt: usize,
    sig: &[u8],
) -> bool {
    match hash {
        Hash::Sha256 => pk.verify(rsa::Pss::<Sha256>::new_with_salt(salt), prehash, sig),
        Hash::Sha384 => pk.verify(rsa::Pss::<Sha384>::new_with_salt(salt), prehash, sig),
        Hash::Sha512 => pk.verify(rsa::Pss::<Sha512>::new_with_salt(salt), prehash, sig),
    }
    .is_ok()
}

pub fn rsa_oaep_encrypt(pk: &rsa::PublicKey, hash: Hash, label: &[u8], msg: &[u8]) -> Vec<u8> {
    let label = label.to_vec();
    match hash {
        Hash::Sha256 => pk.encrypt(&mut OsRng, rsa::Oaep::<Sha256>::new_with_label(label), msg),
        Hash::Sha384 => pk.encrypt(&mut OsRng, rsa::Oaep::<Sha384>::new_with_label(label), msg),
        Hash::Sha512 => pk.encrypt(&mut OsRng, rsa::Oaep::<Sha512>::new_with_label(label), msg),
    }
    .expect("OAEP encryption with the rsa crate")
}

pub fn rsa_pkcs1_encrypt(pk: &rsa::PublicKey, msg: &[u8]) -> Vec<u8> {
    pk.encrypt(&mut OsRng, rsa::Pkcs1v15Encrypt, msg)
        .expect("PKCS#1 v1.5 encryption with the rsa crate")
}
