use super::*;
use crate::mech::pqc_encoding::{PrivateKey, PrivateKeyChoice};
use crate::mech::pqc_testkit::{self as kit, attr, is_secret};
use crate::mech::{self as mech, keys, test_support, wycheproof_tests as wy};
use fips204::traits::{KeyGen, SerDes, Signer, Verifier};
use serde_json::Value;

fn ml_dsa(k: &KeyMaterial) -> &MlDsaKey {
    match k {
        KeyMaterial::MlDsa(k) => k,
        _ => panic!("not an ML-DSA key"),
    }
}

fn import_private(
    set: MlDsaSet,
    seed: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<(KeyMaterial, KeyAttrs)> {
    kit::import_private(ck::CKK_ML_DSA, set.ckp(), seed, value)
}

fn import_public(set: MlDsaSet, public: &[u8]) -> Result<(KeyMaterial, KeyAttrs)> {
    kit::import_public(ck::CKK_ML_DSA, set.ckp(), public)
}

fn public_of(private: &KeyMaterial) -> KeyMaterial {
    let k = ml_dsa(private);
    import_public(k.set(), k.public_bytes()).unwrap().0
}

const DET: ck::CK_ULONG = ck::CKH_DETERMINISTIC_REQUIRED;
const HEDGE: ck::CK_ULONG = ck::CKH_HEDGE_REQUIRED;

#[test]
fn sizes_match_fips204() {
    use fips204::{ml_dsa_44 as d44, ml_dsa_65 as d65, ml_dsa_87 as d87};
    let expected = [
        (MlDsaSet::MlDsa44, d44::PK_LEN, d44::SK_LEN, d44::SIG_LEN),
        (MlDsaSet::MlDsa65, d65::PK_LEN, d65::SK_LEN, d65::SIG_LEN),
        (MlDsaSet::MlDsa87, d87::PK_LEN, d87::SK_LEN, d87::SIG_LEN),
    ];
    for (set, pk, sk, sig) in expected {
        assert_eq!(
            (set.public_len(), set.private_len(), set.signature_len()),
            (pk, sk, sig)
        );
        let (k, _) = import_private(set, Some(&[1; SEED_LEN]), None).unwrap();
        assert_eq!(ml_dsa(&k).public_bytes().len(), pk);
        assert_eq!(ml_dsa(&k).expanded().unwrap().len(), sk);
    }
}

#[test]
fn every_parameter_set_round_trips_through_the_mechanism_api() {
    for set in MlDsaSet::ALL {
        let (private, public, pair) = kit::generate(ck::CKM_ML_DSA_KEY_PAIR_GEN, set.ckp());
        assert_eq!(
            attr(&pair.private_key, ck::CKA_SEED).unwrap().len(),
            SEED_LEN
        );
        assert_eq!(
            attr(&pair.private_key, ck::CKA_VALUE).unwrap().len(),
            set.private_len()
        );
        assert!(
            is_secret(&pair.private_key, ck::CKA_SEED)
                && is_secret(&pair.private_key, ck::CKA_VALUE)
        );
        assert_eq!(public.size(), set.public_len() as u64);
        assert_eq!(private.size(), set.public_len() as u64);

        let msg = b"a message signed by the token";
        for m in [
            Mechanism::new(ck::CKM_ML_DSA),
            kit::sign_context(ck::CKM_ML_DSA, HEDGE, b"ctx"),
            kit::sign_context(ck::CKM_HASH_ML_DSA_SHA512, ck::CKH_HEDGE_PREFERRED, b""),
            kit::hash_context(ck::CKM_HASH_ML_DSA, HEDGE, b"x", ck::CKM_SHA3_256),
        ] {
            let input: Vec<u8> = if m.ty == ck::CKM_HASH_ML_DSA {
                pqc_sign::PreHash::Sha3_256.digest(msg)
            } else {
                msg.to_vec()
            };
            let sig = kit::sign(&m, &private, &input).unwrap();
            assert_eq!(sig.len(), set.signature_len());
            kit::verify(&m, &public, &input, &sig).unwrap();
            let mut tampered = input.clone();
            tampered[0] ^= 1;
            assert_eq!(
                kit::verify(&m, &public, &tampered, &sig)
                    .unwrap_err()
                    .kind(),
                ErrorKind::SignatureInvalid
            );
            // Hedged signing: a second signature differs.
            assert_ne!(kit::sign(&m, &private, &input).unwrap(), sig);
        }
    }
}

#[test]
fn contexts_variants_and_multi_part_are_bound_into_the_signature() {
    let (private, public, _) = kit::generate(ck::CKM_ML_DSA_KEY_PAIR_GEN, ck::CKP_ML_DSA_65);
    let msg = b"part one, part two, part three";
    let det = kit::sign_context(ck::CKM_ML_DSA, DET, b"ctx");
    let one = kit::sign(&det, &private, msg).unwrap();
    assert_eq!(
        kit::sign(&det, &private, msg).unwrap(),
        one,
        "deterministic signing repeats"
    );
    let parts = kit::sign_in_parts(
        &det,
        &private,
        &[&msg[..4], &[][..], &msg[4..17], &msg[17..]],
    )
    .unwrap();
    assert_eq!(parts, one, "multi-part signing equals single-part");

    // Another context, pure versus pre-hash: each verifies only as what it was.
    let other_ctx = kit::sign_context(ck::CKM_ML_DSA, DET, b"ctx2");
    assert_eq!(
        kit::verify(&other_ctx, &public, msg, &one)
            .unwrap_err()
            .kind(),
        ErrorKind::SignatureInvalid
    );
    assert_eq!(
        kit::verify(&Mechanism::new(ck::CKM_ML_DSA), &public, msg, &one)
            .unwrap_err()
            .kind(),
        ErrorKind::SignatureInvalid
    );
    let hashed = kit::sign_context(ck::CKM_HASH_ML_DSA_SHA256, DET, b"ctx");
    let hsig = kit::sign(&hashed, &private, msg).unwrap();
    assert_ne!(hsig, one);
    assert_eq!(
        kit::verify(&det, &public, msg, &hsig).unwrap_err().kind(),
        ErrorKind::SignatureInvalid
    );
    // CKM_HASH_ML_DSA over the caller's hash equals the token-hashing mechanism.
    let pre = kit::hash_context(ck::CKM_HASH_ML_DSA, DET, b"ctx", ck::CKM_SHA256);
    let digest = pqc_sign::PreHash::Sha256.digest(msg);
    assert_eq!(kit::sign(&pre, &private, &digest).unwrap(), hsig);
    assert_eq!(
        kit::sign(&pre, &private, &digest[1..]).unwrap_err().kind(),
        ErrorKind::DataLenRange
    );

    // Signature length and key role errors.
    assert_eq!(
        kit::verify(&det, &public, msg, &one[1..])
            .unwrap_err()
            .kind(),
        ErrorKind::SignatureLenRange
    );
    assert_eq!(
        mech::sign_init(&det, &public).err().unwrap().kind(),
        ErrorKind::KeyTypeInconsistent
    );
    assert_eq!(
        mech::verify_init(&det, &private).err().unwrap().kind(),
        ErrorKind::KeyTypeInconsistent
    );
    let long = kit::sign_context(ck::CKM_ML_DSA, DET, &[0; 256]);
    assert_eq!(
        mech::sign_init(&long, &private).err().unwrap().kind(),
        ErrorKind::MechanismParamInvalid
    );
}

#[test]
fn import_accepts_seed_expanded_or_both_and_checks_the_expanded_key() {
    let set = MlDsaSet::MlDsa44;
    let seed = [5u8; SEED_LEN];
    let (k, attrs) = import_private(set, Some(&seed), None).unwrap();
    let sk = attr(&attrs, ck::CKA_VALUE).unwrap().to_vec();
    let (k2, attrs2) = import_private(set, None, Some(&sk)).unwrap();
    assert!(attr(&attrs2, ck::CKA_SEED).is_none());
    assert_eq!(ml_dsa(&k).public_bytes(), ml_dsa(&k2).public_bytes());
    assert!(import_private(set, Some(&seed), Some(&sk)).is_ok());

    let flip = |at: usize| {
        let mut v = sk.clone();
        v[at] ^= 0x01;
        v
    };
    // K (bytes 32..64) only randomizes signing: a changed K is a different valid key.
    assert!(import_private(set, None, Some(&flip(40))).is_ok());
    assert_eq!(
        import_private(set, Some(&seed), Some(&flip(40)))
            .unwrap_err()
            .kind(),
        ErrorKind::TemplateInconsistent
    );
    // rho and tr are checked exactly.
    for at in [0, 64 + 10] {
        assert_eq!(
            import_private(set, None, Some(&flip(at)))
                .unwrap_err()
                .kind(),
            ErrorKind::AttributeValueInvalid,
            "byte {at}"
        );
    }
    // t0 only through the signature check: a garbled t0 makes signatures fail to verify.
    let mut t0 = sk.clone();
    let t0_start = set.private_len() - 4 * 416;
    t0[t0_start..].iter_mut().for_each(|b| *b = !*b);
    assert_eq!(
        import_private(set, None, Some(&t0)).unwrap_err().kind(),
        ErrorKind::AttributeValueInvalid
    );
    // s1 coefficient 0 set to 7 (η − 7 = −5 is outside [−2, 2]).
    let mut s1 = sk.clone();
    s1[128] |= 0x07;
    assert_eq!(
        import_private(set, None, Some(&s1)).unwrap_err().kind(),
        ErrorKind::AttributeValueInvalid
    );
    assert_eq!(
        import_private(set, None, Some(&sk[1..]))
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );
    assert_eq!(
        import_private(set, Some(&seed[1..]), None)
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );
    assert_eq!(
        import_private(set, None, None).unwrap_err().kind(),
        ErrorKind::TemplateIncomplete
    );
    assert_eq!(
        import_public(set, &[0; 1311]).unwrap_err().kind(),
        ErrorKind::AttributeValueInvalid
    );
}

#[test]
fn secret_vector_range_check_reads_fips204_bit_packing() {
    // η = 4 (ML-DSA-65): 4-bit fields, valid up to 8.
    let set = MlDsaSet::MlDsa65;
    let mut sk = vec![0u8; set.private_len()];
    assert!(secret_vectors_in_range(set, &sk));
    sk[128] = 0x80; // second coefficient 8
    assert!(secret_vectors_in_range(set, &sk));
    sk[128] = 0x90; // second coefficient 9
    assert!(!secret_vectors_in_range(set, &sk));
    // η = 2: 3-bit fields across byte boundaries; coefficient 2 spans bytes 0 and 1.
    let set = MlDsaSet::MlDsa87;
    let mut sk = vec![0u8; set.private_len()];
    sk[128] = 0b1000_0000; // coefficient 2 reads 0b010 = 2: fine
    assert!(secret_vectors_in_range(set, &sk));
    sk[129] = 0b0000_0001; // coefficient 2 reads 0b110 = 6: out of range
    assert!(!secret_vectors_in_range(set, &sk));
    // The last s2 coefficient is checked, t0 right after is not.
    let (k, l, _) = set.dimensions();
    let end = 128 + (k + l) * 96;
    let mut sk = vec![0u8; set.private_len()];
    sk[end] = 0xff;
    assert!(secret_vectors_in_range(set, &sk));
    sk[end - 1] = 0b1110_0000;
    assert!(!secret_vectors_in_range(set, &sk));
}

#[test]
fn pkcs8_writes_the_seed_form_and_reads_all_three() {
    let set = MlDsaSet::MlDsa87;
    let seed: Vec<u8> = (100u8..132).collect();
    let (key, attrs) = import_private(set, Some(&seed), None).unwrap();
    let der = keys::to_pkcs8(&key).unwrap();
    assert_eq!(der.len(), 54, "seed-form PKCS#8 of ML-DSA is 54 bytes");
    let (kt, back) = keys::from_pkcs8(&der).unwrap();
    assert_eq!(kt, ck::CKK_ML_DSA);
    assert_eq!(attr(&back, ck::CKA_SEED), Some(seed.as_slice()));
    let sk = Zeroizing::new(attr(&attrs, ck::CKA_VALUE).unwrap().to_vec());
    let z = |v: &[u8]| Zeroizing::new(v.to_vec());
    for choice in [
        PrivateKeyChoice::Expanded(sk.clone()),
        PrivateKeyChoice::Both {
            seed: z(&seed),
            expanded: sk.clone(),
        },
    ] {
        let der = enc::pkcs8_der(ck::CKK_ML_DSA, set.ckp(), &PrivateKey::Lattice(choice)).unwrap();
        let (_, back) = keys::from_pkcs8(&der).unwrap();
        assert_eq!(attr(&back, ck::CKA_VALUE), Some(sk.as_slice()));
    }
    // An expanded-only key writes the expanded form.
    let (exp_key, _) = import_private(set, None, Some(&sk)).unwrap();
    let der = keys::to_pkcs8(&exp_key).unwrap();
    let parsed = enc::parse_pkcs8(&der).unwrap().unwrap();
    assert!(matches!(
        parsed.private,
        PrivateKey::Lattice(PrivateKeyChoice::Expanded(_))
    ));
    let mut wrong = seed.clone();
    wrong[3] ^= 1;
    let der = enc::pkcs8_der(
        ck::CKK_ML_DSA,
        set.ckp(),
        &PrivateKey::Lattice(PrivateKeyChoice::Both {
            seed: z(&wrong),
            expanded: sk,
        }),
    )
    .unwrap();
    assert_eq!(
        keys::from_pkcs8(&der).unwrap_err().kind(),
        ErrorKind::WrappedKeyInvalid
    );
}

#[test]
fn lamps_example_keys_derive_their_published_public_keys() {
    let dir = format!("{}/lamps-examples", kit::vectors_dir());
    let mut n = 0;
    for (name, set) in [
        ("ML-DSA-44", MlDsaSet::MlDsa44),
        ("ML-DSA-65", MlDsaSet::MlDsa65),
        ("ML-DSA-87", MlDsaSet::MlDsa87),
    ] {
        let pem = std::fs::read_to_string(format!("{dir}/{name}-seed.priv")).unwrap();
        let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
        let (kt, attrs) = keys::from_pkcs8(&der).unwrap();
        assert_eq!(kt, ck::CKK_ML_DSA);
        assert_eq!(
            attr(&attrs, ck::CKA_SEED),
            Some((0u8..32).collect::<Vec<_>>().as_slice())
        );
        let key = keys::load(ck::CKO_PRIVATE_KEY, kt, &test_support::all(&attrs)).unwrap();
        let published =
            enc::parse_spki_pem(&std::fs::read_to_string(format!("{dir}/{name}.pub")).unwrap())
                .unwrap();
        assert_eq!(published.parameter_set, set.ckp());
        assert_eq!(
            ml_dsa(&key).public_bytes(),
            published.public.as_slice(),
            "{name}"
        );
        // Our SPKI encoding of the derived key is byte for byte the published file.
        let ours = enc::spki_pem(ck::CKK_ML_DSA, set.ckp(), ml_dsa(&key).public_bytes()).unwrap();
        assert_eq!(
            ours.trim(),
            std::fs::read_to_string(format!("{dir}/{name}.pub"))
                .unwrap()
                .trim()
        );
        // And the seed-form PKCS#8 we write is byte for byte the example.
        assert_eq!(keys::to_pkcs8(&key).unwrap().as_slice(), der.as_slice());
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn cross_checks_with_fips204() {
    macro_rules! check {
        ($m:ident, $set:expr) => {{
            let xi = [0x42u8; 32];
            let (pk, sk) = fips204::$m::KG::keygen_from_seed(&xi);
            let (private, attrs) = import_private($set, Some(&xi), None).unwrap();
            let public = public_of(&private);
            assert_eq!(
                ml_dsa(&private).public_bytes(),
                pk.clone().into_bytes().as_slice()
            );
            assert_eq!(
                attr(&attrs, ck::CKA_VALUE).unwrap(),
                sk.clone().into_bytes().as_slice()
            );

            let msg = b"interoperable";
            let ctx = b"pqhsm";
            // Deterministic signatures are identical byte for byte.
            let ours =
                kit::sign(&kit::sign_context(ck::CKM_ML_DSA, DET, ctx), &private, msg).unwrap();
            let theirs = sk.try_sign_with_seed(&[0u8; 32], msg, ctx).unwrap();
            assert_eq!(ours, theirs.to_vec());
            // Hedged signatures verify on the other side.
            let hedged = kit::sign(
                &kit::sign_context(ck::CKM_ML_DSA, HEDGE, ctx),
                &private,
                msg,
            )
            .unwrap();
            assert!(pk.verify(msg, &hedged.clone().try_into().unwrap(), ctx));
            let theirs = sk.try_sign(msg, ctx).unwrap();
            kit::verify(
                &kit::sign_context(ck::CKM_ML_DSA, HEDGE, ctx),
                &public,
                msg,
                &theirs,
            )
            .unwrap();

            // HashML-DSA with each pre-hash both sides know.
            for (ph, mech_on_token, digest_mech, ours_ph) in [
                (
                    fips204::Ph::SHA256,
                    ck::CKM_HASH_ML_DSA_SHA256,
                    Some(ck::CKM_SHA256),
                    pqc_sign::PreHash::Sha256,
                ),
                (
                    fips204::Ph::SHA512,
                    ck::CKM_HASH_ML_DSA_SHA512,
                    Some(ck::CKM_SHA512),
                    pqc_sign::PreHash::Sha512,
                ),
                (
                    fips204::Ph::SHAKE128,
                    ck::CKM_HASH_ML_DSA_SHAKE128,
                    None,
                    pqc_sign::PreHash::Shake128,
                ),
            ] {
                let theirs = sk
                    .try_hash_sign_with_seed(&[0u8; 32], msg, ctx, &ph)
                    .unwrap();
                let ours =
                    kit::sign(&kit::sign_context(mech_on_token, DET, ctx), &private, msg).unwrap();
                assert_eq!(ours, theirs.to_vec(), "{mech_on_token:#x}");
                if let Some(d) = digest_mech {
                    let m = kit::hash_context(ck::CKM_HASH_ML_DSA, DET, ctx, d);
                    assert_eq!(
                        kit::sign(&m, &private, &ours_ph.digest(msg)).unwrap(),
                        theirs.to_vec()
                    );
                }
                let hedged = sk.try_hash_sign(msg, ctx, &ph).unwrap();
                kit::verify(
                    &kit::sign_context(mech_on_token, HEDGE, ctx),
                    &public,
                    msg,
                    &hedged,
                )
                .unwrap();
                let ours = kit::sign(&kit::sign_context(mech_on_token, HEDGE, ctx), &private, msg)
                    .unwrap();
                assert!(pk.hash_verify(msg, &ours.try_into().unwrap(), ctx, &ph));
            }
        }};
    }
    check!(ml_dsa_44, MlDsaSet::MlDsa44);
    check!(ml_dsa_65, MlDsaSet::MlDsa65);
    check!(ml_dsa_87, MlDsaSet::MlDsa87);
}

fn set_of_file(bits: &str) -> MlDsaSet {
    match bits {
        "44" => MlDsaSet::MlDsa44,
        "65" => MlDsaSet::MlDsa65,
        _ => MlDsaSet::MlDsa87,
    }
}

/// One Wycheproof signing case with an imported private key: Ok(true) when our signature is
/// the expected one, Ok(false)/Err when we refused.
fn sign_case(key: &KeyMaterial, test: &Value) -> Result<bool> {
    let k = ml_dsa(key);
    let expected = kit::hex(test, "sig");
    let mu = kit::hex(test, "mu");
    let rnd = kit::hex(test, "rnd");
    if !kit::has(test, "msg") {
        // External-μ case: the representative is given; sign it as the mechanisms would.
        let mu: [u8; TR_LEN] = mu.try_into().expect("64-byte mu");
        return Ok(k.sign_mu(&mu, &[0; RND_LEN])? == expected);
    }
    let msg = kit::hex(test, "msg");
    let ctx = kit::hex(test, "ctx");
    let m = kit::sign_context(ck::CKM_ML_DSA, DET, &ctx);
    if rnd.is_empty() {
        let sig = kit::sign(&m, key, &msg)?;
        if !mu.is_empty() {
            assert_eq!(
                k.mu_of(&[&[0, ctx.len() as u8], &ctx, &msg]).to_vec(),
                mu,
                "tcId {}: our μ",
                test["tcId"]
            );
        }
        return Ok(sig == expected);
    }
    // A randomized case: the parameter check is the mechanism's, rnd is the vector's.
    pqc_sign::parse(&m, &pqc_sign::ML_DSA, pqc_sign::Role::Sign)?;
    let our_mu = k.mu_of(&[&[0, ctx.len() as u8], &ctx, &msg]);
    assert_eq!(our_mu.to_vec(), mu);
    let rnd: [u8; RND_LEN] = rnd.try_into().expect("32-byte rnd");
    Ok(k.sign_mu(&our_mu, &rnd)? == expected)
}

#[test]
fn wycheproof_signing_with_expanded_keys() {
    for (bits, valid, invalid) in [("44", 68, 5), ("65", 73, 5), ("87", 64, 5)] {
        let file = format!("mldsa_{bits}_sign_noseed_test.json");
        let set = set_of_file(bits);
        let t = wy::run(&file, |c| {
            let Ok((key, _)) = import_private(set, None, Some(&c.hex("privateKey"))) else {
                return false;
            };
            assert_eq!(ml_dsa(&key).public_bytes(), c.hex("publicKey").as_slice());
            sign_case(&key, c.test).unwrap_or(false)
        });
        kit::assert_counts(&file, t, valid, invalid);
    }
}

#[test]
fn wycheproof_signing_with_seeds() {
    for (bits, valid, invalid) in [("44", 82, 4), ("65", 101, 4), ("87", 92, 4)] {
        let file = format!("mldsa_{bits}_sign_seed_test.json");
        let set = set_of_file(bits);
        let mut pkcs8_checked = 0;
        let t = wy::run(&file, |c| {
            let Ok((key, attrs)) = import_private(set, Some(&c.hex("privateSeed")), None) else {
                return false;
            };
            assert_eq!(ml_dsa(&key).public_bytes(), c.hex("publicKey").as_slice());
            // The group's PKCS#8 (seed form) decodes to the same key, and we write it back.
            let pkcs8 = kit::hex(c.group, "privateKeyPkcs8");
            if !pkcs8.is_empty() {
                let (_, from_der) = keys::from_pkcs8(&pkcs8).unwrap();
                assert_eq!(attr(&from_der, ck::CKA_VALUE), attr(&attrs, ck::CKA_VALUE));
                assert_eq!(keys::to_pkcs8(&key).unwrap().as_slice(), pkcs8.as_slice());
                pkcs8_checked += 1;
            }
            sign_case(&key, c.test).unwrap_or(false)
        });
        kit::assert_counts(&file, t, valid, invalid);
        assert!(
            pkcs8_checked > 10,
            "{file}: PKCS#8 forms checked {pkcs8_checked}"
        );
    }
}

#[test]
fn wycheproof_verification() {
    for (bits, valid, invalid) in [("44", 77, 103), ("65", 79, 131), ("87", 71, 170)] {
        let file = format!("mldsa_{bits}_verify_test.json");
        let set = set_of_file(bits);
        let t = wy::run(&file, |c| {
            let pk = c.hex("publicKey");
            let Ok((key, _)) = import_public(set, &pk) else {
                return false;
            };
            let der = enc::spki_der(ck::CKK_ML_DSA, set.ckp(), &pk).unwrap();
            assert_eq!(der, c.hex("publicKeyDer"), "{file}: SPKI encoding");
            let m = if kit::has(c.test, "ctx") {
                kit::sign_context(ck::CKM_ML_DSA, ck::CKH_HEDGE_PREFERRED, &c.hex("ctx"))
            } else {
                Mechanism::new(ck::CKM_ML_DSA)
            };
            kit::verify(&m, &key, &kit::hex(c.test, "msg"), &c.hex("sig")).is_ok()
        });
        kit::assert_counts(&file, t, valid, invalid);
    }
}

#[test]
fn a_pkcs8_v2_public_key_must_belong_to_its_private_key() {
    use der::{Decode, Encode};
    let set = MlDsaSet::MlDsa44;
    let (key, _) = import_private(set, Some(&[8; SEED_LEN]), None).unwrap();
    let (other, _) = import_private(set, Some(&[9; SEED_LEN]), None).unwrap();
    let v1 = keys::to_pkcs8(&key).unwrap();
    let with_public = |pk: &[u8]| {
        let mut info = pkcs8::PrivateKeyInfoRef::from_der(&v1).unwrap();
        info.public_key = Some(der::asn1::BitStringRef::from_bytes(pk).unwrap());
        info.to_der().unwrap()
    };
    let (_, attrs) = keys::from_pkcs8(&with_public(ml_dsa(&key).public_bytes())).unwrap();
    assert_eq!(attr(&attrs, ck::CKA_SEED), Some(&[8u8; SEED_LEN][..]));
    let e = keys::from_pkcs8(&with_public(ml_dsa(&other).public_bytes())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrappedKeyInvalid);
}
