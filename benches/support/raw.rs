//! The "raw provider" column: the same operation called directly on the crate that serves
//! it inside pqhsm in this build, with the key already parsed (the best a caller of the
//! crate can do). Each function returns the provider's name and one prepared operation.

use pqhsm::rng::CoreRng;
use std::hint::black_box;

/// The provider pqhsm uses for the classical mechanisms in this build.
pub const PROVIDER: &str = "RustCrypto";

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

/// RSA-2048 PKCS#1 v1.5 with SHA-256 over `msg` (blinded, as the token signs).
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

ecdsa!(ecdsa_p256_sign, ecdsa_p256_verify, p256, "p256");
ecdsa!(ecdsa_p384_sign, ecdsa_p384_verify, p384, "p384");

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
    raw("pqhsm DRBG (ChaCha20)", move || {
        pqhsm::rng::fill_bytes(black_box(&mut buf));
    })
}

/// EC P-256 key pair generation (scalar and public point, as the token computes both).
pub fn keygen_p256() -> Raw {
    use p256::elliptic_curve::Generate;
    raw("p256", move || {
        let Ok(k) = p256::SecretKey::try_generate_from_rng(&mut CoreRng);
        black_box(k.public_key());
    })
}
