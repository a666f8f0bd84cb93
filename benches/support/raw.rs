//! The "raw provider" column: the same operation called directly on the crate that serves
//! it inside pqhsm in this build, with the key already parsed (the best a caller of the
//! crate can do). Each function returns the provider's name and one prepared operation.

use pqhsm::rng::CoreRng;
use std::hint::black_box;

/// The build: aws-lc-rs where the mechanism table names it, or pure RustCrypto.
pub const PROVIDER: &str = if cfg!(feature = "aws-lc") {
    "aws-lc-rs + RustCrypto"
} else {
    "RustCrypto"
};

/// One prepared operation, run once per call.
pub type Op = Box<dyn FnMut() + Send>;

pub struct Raw {
    pub provider: &'static str,
    pub op: Op,
}

fn raw(provider: &'static str, op: impl FnMut() + Send + 'static) -> Raw {
    Raw {
        provider,
        op: Box::new(op),
    }
}

/// RSA-2048 PKCS#1 v1.5 with SHA-256 over `msg`.
#[cfg(feature = "aws-lc")]
pub fn rsa2048_sign(msg: Vec<u8>) -> Raw {
    use aws_lc_rs::{rand, rsa, signature};
    let kp = rsa::KeyPair::generate(rsa::KeySize::Rsa2048).expect("RSA keygen");
    let rng = rand::SystemRandom::new();
    let mut sig = vec![0u8; kp.public_modulus_len()];
    raw("aws-lc-rs", move || {
        kp.sign(
            &signature::RSA_PKCS1_SHA256,
            &rng,
            black_box(&msg),
            &mut sig,
        )
        .expect("sign");
        black_box(&sig);
    })
}

/// RSA-2048 PKCS#1 v1.5 with SHA-256 over `msg` (blinded, as the token signs).
#[cfg(not(feature = "aws-lc"))]
pub fn rsa2048_sign(msg: Vec<u8>) -> Raw {
    use rsa::{Pkcs1v15Sign, PrivateKey};
    use sha2::Digest;
    let k = PrivateKey::new(&mut CoreRng, 2048).expect("RSA keygen");
    raw("rsa", move || {
        let h = sha2::Sha256::digest(black_box(&msg));
        black_box(
            k.sign_with_rng(&mut CoreRng, Pkcs1v15Sign::new::<sha2::Sha256>(), &h)
                .expect("sign"),
        );
    })
}

#[cfg(not(feature = "aws-lc"))]
macro_rules! ecdsa {
    ($sign:ident, $verify:ident, $crate_:ident, $name:literal) => {
        /// ECDSA over a precomputed hash (CKM_ECDSA), randomized as the token signs.
        pub fn $sign(hash: Vec<u8>) -> Raw {
            use $crate_::ecdsa::signature::hazmat::RandomizedPrehashSigner;
            use $crate_::elliptic_curve::Generate;
            let Ok(k) = $crate_::ecdsa::SigningKey::try_generate_from_rng(&mut CoreRng);
            raw($name, move || {
                let sig: $crate_::ecdsa::Signature = k
                    .sign_prehash_with_rng(&mut CoreRng, black_box(&hash))
                    .expect("sign");
                black_box(sig);
            })
        }

        pub fn $verify(hash: Vec<u8>) -> Raw {
            use $crate_::ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
            use $crate_::elliptic_curve::Generate;
            let Ok(k) = $crate_::ecdsa::SigningKey::try_generate_from_rng(&mut CoreRng);
            let sig: $crate_::ecdsa::Signature =
                k.sign_prehash_with_rng(&mut CoreRng, &hash).expect("sign");
            let vk = *k.verifying_key();
            raw($name, move || {
                vk.verify_prehash(black_box(&hash), &sig).expect("verify");
            })
        }
    };
}

#[cfg(not(feature = "aws-lc"))]
ecdsa!(ecdsa_p256_sign, ecdsa_p256_verify, p256, "p256");
#[cfg(not(feature = "aws-lc"))]
ecdsa!(ecdsa_p384_sign, ecdsa_p384_verify, p384, "p384");

#[cfg(feature = "aws-lc")]
fn aws_ecdsa_key(
    alg: &'static aws_lc_rs::signature::EcdsaSigningAlgorithm,
) -> aws_lc_rs::signature::EcdsaKeyPair {
    use aws_lc_rs::{rand, signature};
    let pkcs8 =
        signature::EcdsaKeyPair::generate_pkcs8(alg, &rand::SystemRandom::new()).expect("keygen");
    signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).expect("key")
}

/// ECDSA over a precomputed hash of the curve's own length, as the token's aws-lc path.
#[cfg(feature = "aws-lc")]
macro_rules! aws_ecdsa {
    ($sign:ident, $verify:ident, $salg:ident, $valg:ident, $digest:ident) => {
        pub fn $sign(hash: Vec<u8>) -> Raw {
            use aws_lc_rs::{digest, signature};
            let kp = aws_ecdsa_key(&signature::$salg);
            raw("aws-lc-rs", move || {
                let d = digest::Digest::import_less_safe(black_box(&hash), &digest::$digest)
                    .expect("digest");
                black_box(kp.sign_digest(&d).expect("sign"));
            })
        }

        pub fn $verify(hash: Vec<u8>) -> Raw {
            use aws_lc_rs::signature::KeyPair;
            use aws_lc_rs::{digest, signature};
            let kp = aws_ecdsa_key(&signature::$salg);
            let d = digest::Digest::import_less_safe(&hash, &digest::$digest).expect("digest");
            let sig = kp.sign_digest(&d).expect("sign");
            let pk = signature::ParsedPublicKey::new(&signature::$valg, kp.public_key().as_ref())
                .expect("public key");
            raw("aws-lc-rs", move || {
                let d = digest::Digest::import_less_safe(black_box(&hash), &digest::$digest)
                    .expect("digest");
                pk.verify_digest_sig(&d, sig.as_ref()).expect("verify");
            })
        }
    };
}

#[cfg(feature = "aws-lc")]
aws_ecdsa!(
    ecdsa_p256_sign,
    ecdsa_p256_verify,
    ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P256_SHA256_FIXED,
    SHA256
);
#[cfg(feature = "aws-lc")]
aws_ecdsa!(
    ecdsa_p384_sign,
    ecdsa_p384_verify,
    ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED,
    SHA384
);

#[cfg(feature = "aws-lc")]
pub fn ed25519_sign(msg: Vec<u8>) -> Raw {
    let mut seed = [0u8; 32];
    pqhsm::rng::fill_bytes(&mut seed);
    let k = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&seed).expect("key");
    raw("aws-lc-rs", move || {
        black_box(k.sign(black_box(&msg)));
    })
}

#[cfg(not(feature = "aws-lc"))]
pub fn ed25519_sign(msg: Vec<u8>) -> Raw {
    use ed25519_dalek::Signer;
    let mut seed = [0u8; 32];
    pqhsm::rng::fill_bytes(&mut seed);
    let k = ed25519_dalek::SigningKey::from_bytes(&seed);
    raw("ed25519-dalek", move || {
        black_box(k.sign(black_box(&msg)));
    })
}

pub fn ed25519_verify(msg: Vec<u8>) -> Raw {
    use ed25519_dalek::Signer;
    let mut seed = [0u8; 32];
    pqhsm::rng::fill_bytes(&mut seed);
    let k = ed25519_dalek::SigningKey::from_bytes(&seed);
    let sig = k.sign(&msg);
    let vk = k.verifying_key();
    raw("ed25519-dalek", move || {
        vk.verify_strict(black_box(&msg), &sig).expect("verify");
    })
}

pub fn hmac_sha256(msg: Vec<u8>) -> Raw {
    use hmac::{KeyInit, Mac};
    let keyed = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[7u8; 32]).expect("key");
    raw("hmac", move || {
        let mut m = keyed.clone();
        m.update(black_box(&msg));
        black_box(m.finalize().into_bytes());
    })
}

#[cfg(feature = "aws-lc")]
pub fn aes256_gcm_encrypt(msg: Vec<u8>) -> Raw {
    use aws_lc_rs::aead;
    let k =
        aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &[9u8; 32]).expect("key"));
    let mut counter = 0u64;
    raw("aws-lc-rs", move || {
        counter += 1;
        let mut iv = [0u8; 12];
        iv[4..].copy_from_slice(&counter.to_be_bytes());
        let mut buf = black_box(&msg).clone();
        let tag = k
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(iv),
                aead::Aad::empty(),
                &mut buf,
            )
            .expect("encrypt");
        let _ = black_box((buf, tag));
    })
}

#[cfg(not(feature = "aws-lc"))]
pub fn aes256_gcm_encrypt(msg: Vec<u8>) -> Raw {
    use aes_gcm::aead::AeadInOut;
    use aes_gcm::KeyInit;
    let g = aes_gcm::Aes256Gcm::new_from_slice(&[9u8; 32]).expect("key");
    let mut counter = 0u64;
    raw("aes-gcm", move || {
        counter += 1;
        let mut iv = [0u8; 12];
        iv[4..].copy_from_slice(&counter.to_be_bytes());
        let mut buf = black_box(&msg).clone();
        let tag = g
            .encrypt_inout_detached(&iv.into(), b"", buf.as_mut_slice().into())
            .expect("encrypt");
        black_box((buf, tag));
    })
}

pub fn random(n: usize) -> Raw {
    let mut buf = vec![0u8; n];
    // The default build expands requests from 4 KiB on with AES (src/rng/bulk.rs).
    let name = if cfg!(feature = "aws-lc") && n >= 4096 {
        "pqhsm DRBG (ChaCha20, AES-256 keystream)"
    } else {
        "pqhsm DRBG (ChaCha20)"
    };
    raw(name, move || {
        pqhsm::rng::fill_bytes(black_box(&mut buf));
    })
}

/// EC P-256 key pair generation: a scalar from the token's generator and its public point
/// from aws-lc-rs, as the token computes them.
#[cfg(feature = "aws-lc")]
pub fn keygen_p256() -> Raw {
    use aws_lc_rs::agreement;
    use p256::elliptic_curve::Generate;
    raw("p256 + aws-lc-rs", move || {
        let Ok(k) = p256::SecretKey::try_generate_from_rng(&mut CoreRng);
        let prv = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &k.to_bytes())
            .expect("key");
        black_box(prv.compute_public_key().expect("point"));
    })
}

/// EC P-256 key pair generation (scalar and public point, as the token computes both).
#[cfg(not(feature = "aws-lc"))]
pub fn keygen_p256() -> Raw {
    use p256::elliptic_curve::Generate;
    raw("p256", move || {
        let Ok(k) = p256::SecretKey::try_generate_from_rng(&mut CoreRng);
        black_box(k.public_key());
    })
}
