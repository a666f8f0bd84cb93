//! The two providers head to head on the primitives both offer, keys already parsed: the
//! evidence for the provider column of the mechanism table (`src/mech/table.rs`). Run with
//! `cargo bench --bench providers` (default features; a pure-Rust build has nothing to
//! compare and says so).

#[cfg(feature = "aws-lc")]
mod both {
    use aws_lc_rs as aws;
    use criterion::Criterion;
    use pqhsm::rng::CoreRng;
    use std::hint::black_box;

    fn pair(c: &mut Criterion, name: &str, mut rc: impl FnMut(), mut al: impl FnMut()) {
        let mut g = c.benchmark_group(name);
        g.bench_function("rustcrypto", |b| b.iter(&mut rc));
        g.bench_function("aws-lc-rs", |b| b.iter(&mut al));
        g.finish();
    }

    pub fn run(c: &mut Criterion) {
        let msg = vec![0x5au8; 1024];
        let big = vec![0x5au8; 1 << 20];
        let h32 = [7u8; 32];

        // Ed25519
        let seed = [3u8; 32];
        let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
        let awsed = aws::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        pair(
            c,
            "ed25519-sign-32",
            || {
                use ed25519_dalek::Signer;
                black_box(dalek.sign(black_box(&h32)));
            },
            || {
                black_box(awsed.sign(black_box(&h32)));
            },
        );
        let sig = {
            use ed25519_dalek::Signer;
            dalek.sign(&h32)
        };
        let vk = dalek.verifying_key();
        let awsvk =
            aws::signature::ParsedPublicKey::new(&aws::signature::ED25519, vk.as_bytes()).unwrap();
        pair(
            c,
            "ed25519-verify-32",
            || vk.verify_strict(black_box(&h32), &sig).unwrap(),
            || awsvk.verify_sig(black_box(&h32), &sig.to_bytes()).unwrap(),
        );

        // HMAC-SHA256 1 KiB, keyed once
        let rch = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&[1u8; 32]).unwrap();
        let awsh = aws::hmac::Key::new(aws::hmac::HMAC_SHA256, &[1u8; 32]);
        pair(
            c,
            "hmac-sha256-1k",
            || {
                use hmac::Mac;
                let mut m = rch.clone();
                m.update(black_box(&msg));
                black_box(m.finalize().into_bytes());
            },
            || {
                black_box(aws::hmac::sign(&awsh, black_box(&msg)));
            },
        );

        // SHA-256, 1 KiB and 1 MiB
        for (name, data) in [("sha256-1k", &msg), ("sha256-1m", &big)] {
            pair(
                c,
                name,
                || {
                    use sha2::Digest;
                    black_box(sha2::Sha256::digest(black_box(data)));
                },
                || {
                    black_box(aws::digest::digest(&aws::digest::SHA256, black_box(data)));
                },
            );
        }

        // HKDF-SHA256 extract and expand to 32 bytes
        pair(
            c,
            "hkdf-sha256-32",
            || {
                let h = hkdf::Hkdf::<sha2::Sha256>::new(Some(&h32), &h32);
                let mut out = [0u8; 32];
                h.expand(b"info", &mut out).unwrap();
                black_box(out);
            },
            || {
                let prk = aws::hkdf::Salt::new(aws::hkdf::HKDF_SHA256, &h32).extract(&h32);
                let mut out = [0u8; 32];
                prk.expand(&[b"info"], aws::hkdf::HKDF_SHA256)
                    .unwrap()
                    .fill(&mut out)
                    .unwrap();
                black_box(out);
            },
        );

        // AES-256 key wrap of a 32-byte key
        let kek = [9u8; 32];
        let rckw =
            <aes_kw::AesKw<aes::Aes256> as aes::cipher::KeyInit>::new_from_slice(&kek).unwrap();
        pair(
            c,
            "aes256-kw-32",
            || {
                let mut out = [0u8; 40];
                black_box(rckw.wrap_key(black_box(&h32), &mut out).unwrap());
            },
            || {
                let k = aws::key_wrap::AesKek::new(&aws::key_wrap::AES_256, &kek).unwrap();
                let mut out = [0u8; 40];
                use aws::key_wrap::KeyWrap;
                black_box(k.wrap(black_box(&h32), &mut out).unwrap());
            },
        );

        // AES-256-GCM 1 KiB and 1 MiB in place, keyed once
        let rcg = <aes_gcm::Aes256Gcm as aes_gcm::KeyInit>::new_from_slice(&kek).unwrap();
        let awsg = aws::aead::LessSafeKey::new(
            aws::aead::UnboundKey::new(&aws::aead::AES_256_GCM, &kek).unwrap(),
        );
        for (name, data) in [("aes256-gcm-1k", &msg), ("aes256-gcm-1m", &big)] {
            let mut buf = data.clone();
            let mut buf2 = data.clone();
            pair(
                c,
                name,
                || {
                    use aes_gcm::aead::AeadInOut;
                    black_box(
                        rcg.encrypt_inout_detached(
                            &[0u8; 12].into(),
                            b"",
                            buf.as_mut_slice().into(),
                        )
                        .unwrap(),
                    );
                },
                || {
                    let n = aws::aead::Nonce::assume_unique_for_key([0u8; 12]);
                    let tag = awsg
                        .seal_in_place_separate_tag(n, aws::aead::Aad::empty(), &mut buf2)
                        .unwrap();
                    let _ = black_box(tag);
                },
            );
        }

        // ECDSA P-256 over a hash, ECDH P-256
        use p256::ecdsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
        let sk = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
        let point = p256::PublicKey::from(sk.verifying_key());
        let point = {
            use p256::elliptic_curve::sec1::ToSec1Point;
            point.to_sec1_point(false).as_bytes().to_vec()
        };
        let awsk = aws::signature::EcdsaKeyPair::from_private_key_and_public_key(
            &aws::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &[5u8; 32],
            &point,
        )
        .unwrap();
        let digest = aws::digest::Digest::import_less_safe(&h32, &aws::digest::SHA256).unwrap();
        pair(
            c,
            "ecdsa-p256-sign",
            || {
                let s: p256::ecdsa::Signature = sk
                    .sign_prehash_with_rng(&mut CoreRng, black_box(&h32))
                    .unwrap();
                black_box(s);
            },
            || {
                black_box(awsk.sign_digest(black_box(&digest)).unwrap());
            },
        );
        let s: p256::ecdsa::Signature = sk.sign_prehash_with_rng(&mut CoreRng, &h32).unwrap();
        let awsvk =
            aws::signature::ParsedPublicKey::new(&aws::signature::ECDSA_P256_SHA256_FIXED, &point)
                .unwrap();
        let vk = *sk.verifying_key();
        pair(
            c,
            "ecdsa-p256-verify",
            || vk.verify_prehash(black_box(&h32), &s).unwrap(),
            || {
                awsvk
                    .verify_digest_sig(black_box(&digest), &s.to_bytes())
                    .unwrap()
            },
        );
        let rcsec = p256::SecretKey::from_slice(&[5u8; 32]).unwrap();
        let peer = p256::PublicKey::from_sec1_bytes(&point).unwrap();
        let awspriv =
            aws::agreement::PrivateKey::from_private_key(&aws::agreement::ECDH_P256, &[5u8; 32])
                .unwrap();
        let awspeer = aws::agreement::UnparsedPublicKey::new(&aws::agreement::ECDH_P256, &point);
        pair(
            c,
            "ecdh-p256",
            || {
                black_box(
                    p256::ecdh::diffie_hellman(rcsec.to_nonzero_scalar(), peer.as_affine())
                        .raw_secret_bytes()
                        .to_vec(),
                );
            },
            || {
                black_box(
                    aws::agreement::agree(&awspriv, awspeer, (), |k| Ok(k.to_vec())).unwrap(),
                );
            },
        );
    }
}

fn main() {
    #[cfg(feature = "aws-lc")]
    {
        let mut c = criterion::Criterion::default().configure_from_args();
        both::run(&mut c);
        c.final_summary();
    }
    #[cfg(not(feature = "aws-lc"))]
    eprintln!(
        "benches/providers.rs compares RustCrypto with aws-lc-rs: build with the default features"
    );
}
