//! The two providers held to the same answers on the same inputs, for every mechanism
//! aws-lc-rs serves (test builds with the `aws-lc` feature): a signature made by one
//! verifies with the other (and deterministic ones are byte-identical), KEM secrets agree,
//! ciphertexts decrypt across. Every aws-lc-rs step asserts that aws-lc-rs really computed.

use super::params::{MechParam, Mechanism};
use super::provider::{self, take_aws_lc_served, Provider};
use super::test_support::{generate_pair, secret, sign, verify};
use super::{decapsulate, decrypt_init, derive, encapsulate, encrypt_init, CipherOp};
use crate::attr::Attr;
use crate::error::Result;
use cryptoki_sys as ck;

const RC: Provider = Provider::RustCrypto;
const AWS: Provider = Provider::AwsLc;

/// Run `f` on `p`; asserts aws-lc-rs computed exactly when `p` is aws-lc-rs.
fn on<R>(p: Provider, what: &str, f: impl FnOnce() -> R) -> R {
    take_aws_lc_served();
    let r = provider::with(p, f);
    assert_eq!(
        take_aws_lc_served(),
        p == AWS,
        "{what} on {p:?}: aws-lc-rs {} compute",
        if p == AWS { "did not" } else { "did" }
    );
    r
}

fn mech(ty: ck::CK_MECHANISM_TYPE) -> Mechanism {
    Mechanism::new(ty)
}

fn one_shot(op: Result<Box<dyn CipherOp>>, data: &[u8]) -> Vec<u8> {
    let mut op = op.expect("cipher init");
    op.one_shot(data).expect("cipher").to_vec()
}

/// Sign on each provider, verify on each: all four combinations hold.
fn cross_sign(m: &Mechanism, prv: &super::KeyMaterial, public: &super::KeyMaterial, data: &[u8]) {
    for signer in [RC, AWS] {
        let sig = on(signer, "sign", || sign(m, prv, data)).expect("sign");
        for verifier in [RC, AWS] {
            on(verifier, "verify", || verify(m, public, data, &sig)).unwrap_or_else(|e| {
                panic!("{m:?}: signed on {signer:?}, verify on {verifier:?}: {e:?}")
            });
            let mut bad = sig.clone();
            bad[3] ^= 1;
            assert!(
                on(verifier, "verify", || verify(m, public, data, &bad)).is_err(),
                "{m:?}: a changed signature verified on {verifier:?}"
            );
        }
    }
}

#[test]
fn ecdsa_signatures_verify_across_providers() {
    for (curve, params, hashed, native) in [
        ("P-256", super::ec::Curve::P256, ck::CKM_ECDSA_SHA256, 32),
        ("P-384", super::ec::Curve::P384, ck::CKM_ECDSA_SHA384, 48),
        ("P-521", super::ec::Curve::P521, ck::CKM_ECDSA_SHA512, 64),
    ] {
        let (prv, public, _) = generate_pair(
            ck::CKM_EC_KEY_PAIR_GEN,
            vec![Attr::new(ck::CKA_EC_PARAMS, params.ec_params())],
        );
        let _ = curve;
        cross_sign(&mech(ck::CKM_ECDSA), &prv, &public, &vec![0x42; native]);
        cross_sign(&mech(hashed), &prv, &public, b"a message of some length");
    }
}

#[test]
fn ec_key_generation_and_ecdh_agree_across_providers() {
    let params = super::ec::Curve::P384.ec_params();
    let (a, a_pub, g) = on(AWS, "EC key generation", || {
        generate_pair(
            ck::CKM_EC_KEY_PAIR_GEN,
            vec![Attr::new(ck::CKA_EC_PARAMS, params.clone())],
        )
    });
    // Loading the private half recomputes the point with RustCrypto: it must match.
    let super::KeyMaterial::Ec(k) = &a else {
        panic!("EC key")
    };
    let super::KeyMaterial::Ec(kp) = &a_pub else {
        panic!("EC key")
    };
    assert_eq!(k.point(), kp.point(), "aws-lc's public point differs");
    assert!(g.public_key.iter().any(|x| x.ty == ck::CKA_EC_POINT));
    let (b, b_pub, _) = generate_pair(
        ck::CKM_EC_KEY_PAIR_GEN,
        vec![Attr::new(ck::CKA_EC_PARAMS, params)],
    );
    let ecdh = |peer: &super::KeyMaterial| Mechanism {
        ty: ck::CKM_ECDH1_DERIVE,
        param: MechParam::Ecdh {
            kdf: ck::CKD_NULL,
            shared_data: vec![],
            public_data: match peer {
                super::KeyMaterial::Ec(k) => k.point().to_vec(),
                _ => panic!("EC key"),
            },
        },
    };
    let ab_rc = on(RC, "ECDH", || derive(&ecdh(&b_pub), &a, None, None)).unwrap();
    let ab_aws = on(AWS, "ECDH", || derive(&ecdh(&b_pub), &a, None, None)).unwrap();
    let ba_aws = on(AWS, "ECDH", || derive(&ecdh(&a_pub), &b, None, None)).unwrap();
    assert_eq!(*ab_rc, *ab_aws);
    assert_eq!(*ab_aws, *ba_aws);
    let short = on(AWS, "ECDH", || derive(&ecdh(&b_pub), &a, None, Some(20))).unwrap();
    assert_eq!(*short, ab_rc[..20]);
}

#[test]
fn ed25519_signatures_are_identical_across_providers() {
    let (prv, public, _) = generate_pair(ck::CKM_EC_EDWARDS_KEY_PAIR_GEN, vec![]);
    let m = mech(ck::CKM_EDDSA);
    for msg in [&b""[..], b"abc", &[7u8; 1000]] {
        let rc = on(RC, "Ed25519 sign", || sign(&m, &prv, msg)).unwrap();
        let aws = on(AWS, "Ed25519 sign", || sign(&m, &prv, msg)).unwrap();
        assert_eq!(rc, aws, "pure Ed25519 is deterministic");
        // Verification stays on RustCrypto in both builds (the table's choice).
        verify(&m, &public, msg, &aws).unwrap();
    }
}

#[test]
fn rsa_signatures_and_oaep_agree_across_providers() {
    let (prv, public, _) = generate_pair(
        ck::CKM_RSA_PKCS_KEY_PAIR_GEN,
        vec![Attr::ulong(ck::CKA_MODULUS_BITS, 2048)],
    );
    let msg = b"the message";
    // PKCS#1 v1.5 is deterministic: the same bytes from both.
    for ty in [
        ck::CKM_SHA256_RSA_PKCS,
        ck::CKM_SHA384_RSA_PKCS,
        ck::CKM_SHA512_RSA_PKCS,
    ] {
        let rc = on(RC, "RSA sign", || sign(&mech(ty), &prv, msg)).unwrap();
        let aws = on(AWS, "RSA sign", || sign(&mech(ty), &prv, msg)).unwrap();
        assert_eq!(rc, aws, "{ty:#x}");
        cross_sign(&mech(ty), &prv, &public, msg);
    }
    // CKM_RSA_PKCS over a SHA-256 DigestInfo is the same signature as CKM_SHA256_RSA_PKCS.
    let mut digest_info = vec![
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    {
        use sha2::Digest;
        digest_info.extend_from_slice(&sha2::Sha256::digest(msg));
    }
    let raw = on(AWS, "RSA raw sign", || {
        sign(&mech(ck::CKM_RSA_PKCS), &prv, &digest_info)
    })
    .unwrap();
    let hashed = on(RC, "RSA sign", || {
        sign(&mech(ck::CKM_SHA256_RSA_PKCS), &prv, msg)
    })
    .unwrap();
    assert_eq!(raw, hashed);
    cross_sign(&mech(ck::CKM_RSA_PKCS), &prv, &public, &digest_info);
    // PSS with the salt as long as the hash.
    let pss = Mechanism {
        ty: ck::CKM_SHA256_RSA_PKCS_PSS,
        param: MechParam::Pss {
            hash: ck::CKM_SHA256,
            mgf: ck::CKG_MGF1_SHA256,
            salt_len: 32,
        },
    };
    cross_sign(&pss, &prv, &public, msg);
    // OAEP: RustCrypto encrypts (its randomness comes from the token), both decrypt.
    for (hash, mgf, label) in [
        (ck::CKM_SHA256, ck::CKG_MGF1_SHA256, vec![]),
        (ck::CKM_SHA_1, ck::CKG_MGF1_SHA1, b"label".to_vec()),
        (ck::CKM_SHA512, ck::CKG_MGF1_SHA512, vec![]),
    ] {
        let m = Mechanism {
            ty: ck::CKM_RSA_PKCS_OAEP,
            param: MechParam::Oaep { hash, mgf, label },
        };
        let ct = one_shot(encrypt_init(&m, &public), b"a key to transport");
        let rc = on(RC, "OAEP decrypt", || one_shot(decrypt_init(&m, &prv), &ct));
        let aws = on(AWS, "OAEP decrypt", || {
            one_shot(decrypt_init(&m, &prv), &ct)
        });
        assert_eq!(rc, b"a key to transport");
        assert_eq!(aws, rc);
        let mut bad = ct.clone();
        bad[10] ^= 1;
        for p in [RC, AWS] {
            let e = provider::with(p, || decrypt_init(&m, &prv).unwrap().one_shot(&bad).err());
            assert_eq!(
                e.map(|e| e.kind()),
                Some(crate::error::ErrorKind::EncryptedDataInvalid),
                "{p:?}"
            );
        }
    }
}

#[test]
fn aes_gcm_ciphertexts_match_and_decrypt_across_providers() {
    for len in [16usize, 24, 32] {
        let key = secret(ck::CKK_AES, &vec![0x11; len]);
        for (iv, aad, tag_bits) in [
            (vec![1u8; 12], b"aad".to_vec(), 128u64),
            (vec![2u8; 12], vec![], 96),
        ] {
            let m = Mechanism {
                ty: ck::CKM_AES_GCM,
                param: MechParam::Gcm { iv, aad, tag_bits },
            };
            let data = vec![0x5a; 1000];
            let rc = on(RC, "GCM encrypt", || {
                one_shot(encrypt_init(&m, &key), &data)
            });
            let aws = on(AWS, "GCM encrypt", || {
                one_shot(encrypt_init(&m, &key), &data)
            });
            assert_eq!(rc, aws, "AES-{} GCM, {tag_bits}-bit tag", len * 8);
            if tag_bits == 128 {
                let pt = on(AWS, "GCM decrypt", || one_shot(decrypt_init(&m, &key), &rc));
                assert_eq!(pt, data);
                let mut bad = rc.clone();
                bad[0] ^= 1;
                let e =
                    provider::with(AWS, || decrypt_init(&m, &key).unwrap().one_shot(&bad).err());
                assert!(e.is_some(), "a changed ciphertext decrypted");
            }
        }
        // The message-based API goes through the same keyed cipher.
        let (ct, tag) = on(AWS, "GCM seal", || {
            super::gcm_seal(&key, &[3; 12], b"h", b"body", 16)
        })
        .unwrap();
        let pt = on(RC, "GCM open", || {
            super::gcm_open(&key, &[3; 12], b"h", &ct, &tag)
        })
        .unwrap();
        assert_eq!(*pt, *b"body");
    }
}

#[test]
fn ml_dsa_signatures_verify_across_providers() {
    let set = Attr::ulong(ck::CKA_PARAMETER_SET, ck::CKP_ML_DSA_65);
    let (prv, public, _) = generate_pair(ck::CKM_ML_DSA_KEY_PAIR_GEN, vec![set]);
    cross_sign(&mech(ck::CKM_ML_DSA), &prv, &public, b"a message to sign");
    // A second part moves the operation to RustCrypto's streaming path, first part included.
    let m = mech(ck::CKM_ML_DSA);
    let sig = on(RC, "multi-part sign", || {
        let mut op = super::sign_init(&m, &prv)?;
        op.update(b"a message ")?;
        op.update(b"to sign")?;
        op.finish()
    })
    .unwrap();
    on(AWS, "verify", || {
        verify(&m, &public, b"a message to sign", &sig)
    })
    .unwrap();
    // Contexts are RustCrypto's: aws-lc-rs has none.
    let ctx = Mechanism {
        ty: ck::CKM_ML_DSA,
        param: MechParam::SignContext {
            hedge: ck::CKH_HEDGE_PREFERRED,
            context: b"ctx".to_vec(),
        },
    };
    let sig = on(RC, "sign with context", || sign(&ctx, &prv, b"m")).unwrap();
    provider::with(AWS, || verify(&ctx, &public, b"m", &sig)).unwrap();
    assert!(
        verify(&m, &public, b"m", &sig).is_err(),
        "the context is bound"
    );
}

#[test]
fn ml_kem_secrets_agree_across_providers() {
    for ckp in [ck::CKP_ML_KEM_512, ck::CKP_ML_KEM_768, ck::CKP_ML_KEM_1024] {
        let (prv, public, _) = generate_pair(
            ck::CKM_ML_KEM_KEY_PAIR_GEN,
            vec![Attr::ulong(ck::CKA_PARAMETER_SET, ckp)],
        );
        let m = mech(ck::CKM_ML_KEM);
        // Encapsulation stays on RustCrypto: its randomness comes from the token's generator.
        let (ct, ss) = on(RC, "encapsulate", || encapsulate(&m, &public)).unwrap();
        let rc = on(RC, "decapsulate", || decapsulate(&m, &prv, &ct)).unwrap();
        let aws = on(AWS, "decapsulate", || decapsulate(&m, &prv, &ct)).unwrap();
        assert_eq!(*rc, *ss);
        assert_eq!(*aws, *ss);
        // Implicit rejection: a changed ciphertext gives the same pseudo-random secret on both.
        let mut bad = ct.clone();
        bad[5] ^= 1;
        let rc = on(RC, "decapsulate", || decapsulate(&m, &prv, &bad)).unwrap();
        let aws = on(AWS, "decapsulate", || decapsulate(&m, &prv, &bad)).unwrap();
        assert_ne!(*rc, *ss);
        assert_eq!(*rc, *aws);
    }
}

#[test]
fn the_table_names_aws_lc_only_where_it_serves() {
    use super::table::MECHANISMS;
    let aws: Vec<&str> = MECHANISMS
        .iter()
        .filter(|s| s.serves.private == AWS || s.serves.public == AWS)
        .map(|s| s.name)
        .collect();
    for name in [
        "CKM_ECDSA",
        "CKM_SHA256_RSA_PKCS",
        "CKM_AES_GCM",
        "CKM_ML_DSA",
        "CKM_ML_KEM",
        "CKM_EDDSA",
        "CKM_ECDH1_DERIVE",
    ] {
        assert!(aws.contains(&name), "{name} should be served by aws-lc-rs");
    }
    for name in [
        "CKM_SLH_DSA",
        "CKM_SHA256_HMAC",
        "CKM_SHA256",
        "CKM_HKDF_DERIVE",
    ] {
        assert!(!aws.contains(&name), "{name} stays on RustCrypto");
    }
}
