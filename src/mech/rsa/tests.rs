//! RSA tests: round trips of every mechanism, key import and PKCS#8, and the Wycheproof
//! RSA files (PKCS#1 v1.5 and PSS signatures, OAEP and v1.5 decryption) through the API.

use super::*;
use crate::mech::test_support::{all, one_shot, sign, template, verify};
use crate::mech::wycheproof_tests::{run, Case};
use crate::mech::{decrypt_init, encrypt_init, generate_key_pair, keys, unwrap, wrap};
use std::sync::OnceLock;

/// One generated 2048-bit pair shared by the tests (generation is the slow part).
fn pair() -> &'static (KeyAttrs, Vec<Attr>) {
    static PAIR: OnceLock<(KeyAttrs, Vec<Attr>)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let public = template(vec![Attr::ulong(ck::CKA_MODULUS_BITS, 2048)]);
        let g = generate_key_pair(
            &Mechanism::new(ck::CKM_RSA_PKCS_KEY_PAIR_GEN),
            &public,
            &Template::default(),
        )
        .unwrap();
        assert_eq!(g.key_type, ck::CKK_RSA);
        (g.private_key, g.public_key)
    })
}

fn keys_of_pair() -> (KeyMaterial, KeyMaterial) {
    let (prv, pubk) = pair();
    (
        keys::load(ck::CKO_PRIVATE_KEY, ck::CKK_RSA, &all(prv)).unwrap(),
        keys::load(ck::CKO_PUBLIC_KEY, ck::CKK_RSA, &template(pubk.clone())).unwrap(),
    )
}

fn pss(ty: MechType, hash: MechType, mgf: ck::CK_RSA_PKCS_MGF_TYPE, salt_len: u64) -> Mechanism {
    Mechanism {
        ty,
        param: MechParam::Pss {
            hash,
            mgf,
            salt_len,
        },
    }
}

fn oaep(hash: MechType, mgf: ck::CK_RSA_PKCS_MGF_TYPE, label: &[u8]) -> Mechanism {
    Mechanism {
        ty: ck::CKM_RSA_PKCS_OAEP,
        param: MechParam::Oaep {
            hash,
            mgf,
            label: label.to_vec(),
        },
    }
}

#[test]
fn every_signature_mechanism_round_trips() {
    let (prv, pubk) = keys_of_pair();
    assert_eq!(prv.size(), 2048);
    let sha256 = <sha2::Sha256 as sha2::Digest>::digest(b"data");
    let mut digest_info = hex::decode("3031300d060960864801650304020105000420").unwrap();
    digest_info.extend_from_slice(&sha256);
    let cases: Vec<(Mechanism, Vec<u8>)> = vec![
        (Mechanism::new(ck::CKM_SHA256_RSA_PKCS), b"data".to_vec()),
        (Mechanism::new(ck::CKM_SHA384_RSA_PKCS), b"data".to_vec()),
        (Mechanism::new(ck::CKM_SHA512_RSA_PKCS), b"data".to_vec()),
        (Mechanism::new(ck::CKM_RSA_PKCS), digest_info.clone()),
        (
            pss(
                ck::CKM_SHA256_RSA_PKCS_PSS,
                ck::CKM_SHA256,
                ck::CKG_MGF1_SHA256,
                32,
            ),
            b"data".to_vec(),
        ),
        (
            pss(
                ck::CKM_SHA384_RSA_PKCS_PSS,
                ck::CKM_SHA384,
                ck::CKG_MGF1_SHA384,
                0,
            ),
            b"data".to_vec(),
        ),
        (
            pss(
                ck::CKM_SHA512_RSA_PKCS_PSS,
                ck::CKM_SHA512,
                ck::CKG_MGF1_SHA512,
                64,
            ),
            b"data".to_vec(),
        ),
        (
            pss(
                ck::CKM_RSA_PKCS_PSS,
                ck::CKM_SHA256,
                ck::CKG_MGF1_SHA256,
                32,
            ),
            sha256.to_vec(),
        ),
    ];
    for (m, data) in cases {
        let sig = sign(&m, &prv, &data).unwrap();
        verify(&m, &pubk, &data, &sig).unwrap();
        let mut bad = sig.clone();
        bad[100] ^= 4;
        assert_eq!(
            verify(&m, &pubk, &data, &bad).unwrap_err().kind(),
            ErrorKind::SignatureInvalid,
            "{m:?}"
        );
        assert_eq!(
            verify(&m, &pubk, &data, &sig[1..]).unwrap_err().kind(),
            ErrorKind::SignatureLenRange
        );
    }
    // The hash-and-sign mechanism and the raw one over its DigestInfo agree.
    let m = Mechanism::new(ck::CKM_SHA256_RSA_PKCS);
    verify(
        &Mechanism::new(ck::CKM_RSA_PKCS),
        &pubk,
        &digest_info,
        &sign(&m, &prv, b"data").unwrap(),
    )
    .unwrap();
    // Parameter mistakes.
    let e = sign(
        &pss(
            ck::CKM_SHA256_RSA_PKCS_PSS,
            ck::CKM_SHA384,
            ck::CKG_MGF1_SHA384,
            32,
        ),
        &prv,
        b"x",
    );
    assert_eq!(e.unwrap_err().kind(), ErrorKind::MechanismParamInvalid);
    let e = sign(
        &pss(
            ck::CKM_RSA_PKCS_PSS,
            ck::CKM_SHA256,
            ck::CKG_MGF1_SHA256,
            32,
        ),
        &prv,
        b"not a hash",
    );
    assert_eq!(e.unwrap_err().kind(), ErrorKind::DataLenRange);
    let e = sign(&Mechanism::new(ck::CKM_RSA_PKCS), &prv, &[1u8; 250]);
    assert_eq!(e.unwrap_err().kind(), ErrorKind::DataLenRange);
    let e = sign(&Mechanism::new(ck::CKM_SHA256_RSA_PKCS), &pubk, b"x");
    assert_eq!(e.unwrap_err().kind(), ErrorKind::KeyTypeInconsistent);
}

#[test]
fn encryption_and_wrapping_round_trip() {
    let (prv, pubk) = keys_of_pair();
    let mechs = [
        Mechanism::new(ck::CKM_RSA_PKCS),
        oaep(ck::CKM_SHA_1, ck::CKG_MGF1_SHA1, b""),
        oaep(ck::CKM_SHA256, ck::CKG_MGF1_SHA256, b"label"),
        oaep(ck::CKM_SHA256, ck::CKG_MGF1_SHA1, b""),
        oaep(ck::CKM_SHA512, ck::CKG_MGF1_SHA512, b""),
    ];
    for m in &mechs {
        let ct = one_shot(encrypt_init(m, &pubk), b"secret").unwrap();
        assert_eq!(ct.len(), 256);
        assert_eq!(one_shot(decrypt_init(m, &prv), &ct).unwrap(), b"secret");
        let wrapped = wrap(m, &pubk, &[7u8; 32]).unwrap();
        assert_eq!(*unwrap(m, &prv, &wrapped).unwrap(), [7u8; 32]);
        let e = one_shot(decrypt_init(m, &prv), &ct[1..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::EncryptedDataLenRange);
    }
    // OAEP authenticates its padding: a flipped bit or the wrong label is refused.
    let m = oaep(ck::CKM_SHA256, ck::CKG_MGF1_SHA256, b"label");
    let mut ct = one_shot(encrypt_init(&m, &pubk), b"secret").unwrap();
    let other = oaep(ck::CKM_SHA256, ck::CKG_MGF1_SHA256, b"other");
    assert_eq!(
        one_shot(decrypt_init(&other, &prv), &ct)
            .unwrap_err()
            .kind(),
        ErrorKind::EncryptedDataInvalid
    );
    assert_eq!(
        unwrap(&other, &prv, &ct).unwrap_err().kind(),
        ErrorKind::WrappedKeyInvalid
    );
    ct[10] ^= 1;
    assert_eq!(
        one_shot(decrypt_init(&m, &prv), &ct).unwrap_err().kind(),
        ErrorKind::EncryptedDataInvalid
    );
    let e = one_shot(encrypt_init(&m, &pubk), &[0u8; 200]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataLenRange);
    assert_eq!(
        decrypt_init(&m, &pubk).err().unwrap().kind(),
        ErrorKind::KeyTypeInconsistent
    );
}

#[test]
fn import_accepts_exponents_only_and_full_crt_and_refuses_mismatches() {
    let (prv_attrs, pub_attrs) = pair();
    let (prv, pubk) = keys_of_pair();
    let get = |ty| {
        prv_attrs
            .public
            .iter()
            .chain(&prv_attrs.secret)
            .find(|a| a.ty == ty)
            .unwrap()
            .clone()
    };
    let minimal = template(vec![
        get(ck::CKA_MODULUS),
        get(ck::CKA_PUBLIC_EXPONENT),
        get(ck::CKA_PRIVATE_EXPONENT),
    ]);
    let a = keys::check_import(ck::CKO_PRIVATE_KEY, ck::CKK_RSA, &minimal).unwrap();
    // Recovery may name the primes in the other order; it must find the same two.
    let comp = |attrs: &KeyAttrs, ty| {
        attrs
            .secret
            .iter()
            .find(|x| x.ty == ty)
            .unwrap()
            .value
            .to_vec()
    };
    let primes = |attrs: &KeyAttrs| {
        let mut v = [comp(attrs, ck::CKA_PRIME_1), comp(attrs, ck::CKA_PRIME_2)];
        v.sort();
        v
    };
    assert_eq!(primes(&a), primes(prv_attrs));
    assert_eq!(
        comp(&a, ck::CKA_PRIVATE_EXPONENT),
        comp(prv_attrs, ck::CKA_PRIVATE_EXPONENT)
    );
    let recovered = keys::load(ck::CKO_PRIVATE_KEY, ck::CKK_RSA, &all(&a)).unwrap();
    let m = Mechanism::new(ck::CKM_SHA256_RSA_PKCS);
    verify(&m, &pubk, b"r", &sign(&m, &recovered, b"r").unwrap()).unwrap();
    let full = all(prv_attrs);
    assert_eq!(
        keys::check_import(ck::CKO_PRIVATE_KEY, ck::CKK_RSA, &full)
            .unwrap()
            .secret,
        prv_attrs.secret
    );
    let mut bad: Vec<Attr> = full.iter().cloned().collect();
    let coef = bad
        .iter_mut()
        .find(|a| a.ty == ck::CKA_COEFFICIENT)
        .unwrap();
    coef.value[0] ^= 1;
    let e = keys::check_import(ck::CKO_PRIVATE_KEY, ck::CKK_RSA, &template(bad)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AttributeValueInvalid);
    let a = keys::check_import(
        ck::CKO_PUBLIC_KEY,
        ck::CKK_RSA,
        &template(pub_attrs.clone()),
    )
    .unwrap();
    assert_eq!(&a.public, pub_attrs);
    // PKCS#8 out and back in gives the same key.
    let der = keys::to_pkcs8(&prv).unwrap();
    let (kt, attrs) = keys::from_pkcs8(&der).unwrap();
    assert_eq!((kt, &attrs.secret), (ck::CKK_RSA, &prv_attrs.secret));
    assert_eq!(
        keys::to_pkcs8(&pubk).unwrap_err().kind(),
        ErrorKind::KeyNotWrappable
    );
}

#[test]
fn generation_refuses_sizes_outside_the_table() {
    for bits in [1024, 8192] {
        let public = template(vec![Attr::ulong(ck::CKA_MODULUS_BITS, bits)]);
        let e = generate_key_pair(
            &Mechanism::new(ck::CKM_RSA_PKCS_KEY_PAIR_GEN),
            &public,
            &Template::default(),
        );
        assert_eq!(e.unwrap_err().kind(), ErrorKind::KeySizeRange);
    }
    let e = generate_key_pair(
        &Mechanism::new(ck::CKM_RSA_PKCS_KEY_PAIR_GEN),
        &Template::default(),
        &Template::default(),
    );
    assert_eq!(e.unwrap_err().kind(), ErrorKind::TemplateIncomplete);
}

/// The group's public key, from its SPKI, imported as CKA_MODULUS/CKA_PUBLIC_EXPONENT.
fn group_public_key(c: &Case) -> KeyMaterial {
    let der = c.hex("publicKeyDer");
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&der).unwrap();
    let pk = ::rsa::pkcs1::RsaPublicKeyRef::from_der(spki.subject_public_key.raw_bytes()).unwrap();
    let t = template(vec![
        Attr::new(ck::CKA_MODULUS, pk.modulus.as_bytes().to_vec()),
        Attr::new(
            ck::CKA_PUBLIC_EXPONENT,
            pk.public_exponent.as_bytes().to_vec(),
        ),
    ]);
    let attrs = keys::check_import(ck::CKO_PUBLIC_KEY, ck::CKK_RSA, &t).unwrap();
    keys::load(ck::CKO_PUBLIC_KEY, ck::CKK_RSA, &all(&attrs)).unwrap()
}

/// The group's private key, through C_UnwrapKey's PKCS#8 path.
fn group_private_key(c: &Case) -> KeyMaterial {
    let (kt, attrs) = keys::from_pkcs8(&c.hex("privateKeyPkcs8")).unwrap();
    keys::load(ck::CKO_PRIVATE_KEY, kt, &all(&attrs)).unwrap()
}

fn hash_named(name: &str) -> MechType {
    match name {
        "SHA-1" => ck::CKM_SHA_1,
        "SHA-224" => ck::CKM_SHA224,
        "SHA-256" => ck::CKM_SHA256,
        "SHA-384" => ck::CKM_SHA384,
        "SHA-512" => ck::CKM_SHA512,
        other => panic!("unexpected hash {other}"),
    }
}

fn mgf_named(name: &str) -> ck::CK_RSA_PKCS_MGF_TYPE {
    match name {
        "SHA-1" => ck::CKG_MGF1_SHA1,
        "SHA-224" => ck::CKG_MGF1_SHA224,
        "SHA-256" => ck::CKG_MGF1_SHA256,
        "SHA-384" => ck::CKG_MGF1_SHA384,
        "SHA-512" => ck::CKG_MGF1_SHA512,
        other => panic!("unexpected MGF hash {other}"),
    }
}

fn wycheproof_pkcs1_signatures(file: &str) {
    let t = run(file, |c| {
        let ty = match c.str("sha") {
            "SHA-256" => ck::CKM_SHA256_RSA_PKCS,
            "SHA-384" => ck::CKM_SHA384_RSA_PKCS,
            "SHA-512" => ck::CKM_SHA512_RSA_PKCS,
            other => panic!("unexpected hash {other}"),
        };
        verify(
            &Mechanism::new(ty),
            &group_public_key(c),
            &c.hex("msg"),
            &c.hex("sig"),
        )
        .is_ok()
    });
    assert!(t.invalid > 0);
}

#[test]
fn wycheproof_rsa_signature_2048() {
    for h in ["sha256", "sha384", "sha512"] {
        wycheproof_pkcs1_signatures(&format!("rsa_signature_2048_{h}_test.json"));
    }
}

#[test]
fn wycheproof_rsa_signature_3072() {
    for h in ["sha256", "sha384", "sha512"] {
        wycheproof_pkcs1_signatures(&format!("rsa_signature_3072_{h}_test.json"));
    }
}

#[test]
fn wycheproof_rsa_signature_4096() {
    for h in ["sha256", "sha384", "sha512"] {
        wycheproof_pkcs1_signatures(&format!("rsa_signature_4096_{h}_test.json"));
    }
}

#[test]
fn wycheproof_rsa_pss() {
    for file in [
        "rsa_pss_2048_sha256_mgf1_32_test.json",
        "rsa_pss_3072_sha256_mgf1_32_test.json",
        "rsa_pss_4096_sha512_mgf1_64_test.json",
    ] {
        let t = run(file, |c| {
            let hash = hash_named(c.str("sha"));
            let ty = match hash {
                ck::CKM_SHA256 => ck::CKM_SHA256_RSA_PKCS_PSS,
                _ => ck::CKM_SHA512_RSA_PKCS_PSS,
            };
            let m = pss(ty, hash, mgf_named(c.str("mgfSha")), c.num("sLen"));
            verify(&m, &group_public_key(c), &c.hex("msg"), &c.hex("sig")).is_ok()
        });
        assert!(t.invalid > 0);
    }
}

#[test]
fn wycheproof_rsa_oaep() {
    for bits in [2048, 3072, 4096] {
        let t = run(
            &format!("rsa_oaep_{bits}_sha256_mgf1sha256_test.json"),
            |c| {
                let m = oaep(
                    hash_named(c.str("sha")),
                    mgf_named(c.str("mgfSha")),
                    &c.hex("label"),
                );
                let k = group_private_key(c);
                let accepted =
                    one_shot(decrypt_init(&m, &k), &c.hex("ct")).is_ok_and(|pt| pt == c.hex("msg"));
                assert_eq!(
                    accepted,
                    unwrap(&m, &k, &c.hex("ct")).is_ok_and(|pt| *pt == c.hex("msg"))
                );
                accepted
            },
        );
        assert!(t.invalid > 0);
    }
}

#[test]
fn wycheproof_rsa_pkcs1_decryption_with_implicit_rejection() {
    for bits in [2048, 3072, 4096] {
        let mut synthetic = 0;
        let t = run(&format!("rsa_pkcs1_{bits}_test.json"), |c| {
            let m = Mechanism::new(ck::CKM_RSA_PKCS);
            let k = group_private_key(c);
            let ct = c.hex("ct");
            let out = one_shot(decrypt_init(&m, &k), &ct);
            if c.has_flag("InvalidPkcs1Padding") {
                // Bad padding is not reported: a message derived from key and ciphertext
                // comes back instead, the same one every time.
                let first = out
                    .as_ref()
                    .expect("implicit rejection returns a message")
                    .clone();
                assert_eq!(
                    one_shot(decrypt_init(&m, &k), &ct).unwrap(),
                    first,
                    "tcId {}",
                    c.id()
                );
                synthetic += 1;
            }
            out.is_ok_and(|pt| pt == c.hex("msg"))
        });
        assert!(t.invalid > 0 && synthetic > 0);
    }
}
