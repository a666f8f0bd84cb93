use super::*;
use crate::mech::pqc_encoding::PrivateKeyChoice;
use crate::mech::pqc_testkit::{self as kit, attr, is_secret, GivenBytes};
use crate::mech::{self as mech, keys, test_support, wycheproof_tests as wy};
use fips203::traits::{Decaps, Encaps, KeyGen, SerDes};
use serde_json::Value;

fn ml_kem(k: &KeyMaterial) -> &MlKemKey {
    match k {
        KeyMaterial::MlKem(k) => k,
        _ => panic!("not an ML-KEM key"),
    }
}

fn kem() -> Mechanism {
    Mechanism::new(ck::CKM_ML_KEM)
}

fn set_attr(set: MlKemSet) -> Attr {
    Attr::ulong(ck::CKA_PARAMETER_SET, set.ckp())
}

fn import_private(
    set: MlKemSet,
    seed: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<(KeyMaterial, KeyAttrs)> {
    kit::import_private(ck::CKK_ML_KEM, set.ckp(), seed, value)
}

fn import_public(set: MlKemSet, public: &[u8]) -> Result<(KeyMaterial, KeyAttrs)> {
    kit::import_public(ck::CKK_ML_KEM, set.ckp(), public)
}

#[test]
fn sizes_match_fips203_and_the_crate() {
    use fips203::{ml_kem_1024 as k1024, ml_kem_512 as k512, ml_kem_768 as k768};
    let expected = [
        (MlKemSet::MlKem512, k512::EK_LEN, k512::DK_LEN, k512::CT_LEN),
        (MlKemSet::MlKem768, k768::EK_LEN, k768::DK_LEN, k768::CT_LEN),
        (
            MlKemSet::MlKem1024,
            k1024::EK_LEN,
            k1024::DK_LEN,
            k1024::CT_LEN,
        ),
    ];
    for (set, ek, dk, ct) in expected {
        assert_eq!(
            (set.public_len(), set.private_len(), set.ciphertext_len()),
            (ek, dk, ct)
        );
        let key = MlKemKey::from_seed(set, &[3u8; SEED_LEN]).unwrap();
        assert_eq!(key.public_bytes().len(), ek);
        assert_eq!(key.expanded().unwrap().len(), dk);
    }
    assert_eq!(fips203::SSK_LEN, SHARED_SECRET_LEN);
}

#[test]
fn every_parameter_set_round_trips_through_the_mechanism_api() {
    for set in MlKemSet::ALL {
        let (private, public, pair) = kit::generate(ck::CKM_ML_KEM_KEY_PAIR_GEN, set.ckp());
        // Generated attributes: what 3.2 says each half carries, secrets only sealed.
        let pub_attrs = KeyAttrs {
            public: pair.public_key.clone(),
            secret: vec![],
        };
        assert_eq!(
            attr(&pub_attrs, ck::CKA_VALUE).unwrap().len(),
            set.public_len()
        );
        assert_eq!(
            attr(&pair.private_key, ck::CKA_SEED).unwrap().len(),
            SEED_LEN
        );
        assert_eq!(
            attr(&pair.private_key, ck::CKA_VALUE).unwrap().len(),
            set.private_len()
        );
        assert!(is_secret(&pair.private_key, ck::CKA_SEED));
        assert!(is_secret(&pair.private_key, ck::CKA_VALUE));
        let info =
            enc::parse_spki(attr(&pair.private_key, ck::CKA_PUBLIC_KEY_INFO).unwrap()).unwrap();
        assert_eq!(info.public, attr(&pub_attrs, ck::CKA_VALUE).unwrap());
        assert_eq!(public.size(), set.public_len() as u64);

        assert_eq!(
            mech::ciphertext_len(&kem(), &public).unwrap(),
            set.ciphertext_len()
        );
        let (ct, ss) = mech::encapsulate(&kem(), &public).unwrap();
        assert_eq!(ct.len(), set.ciphertext_len());
        assert_eq!(ss.len(), SHARED_SECRET_LEN);
        assert_eq!(mech::decapsulate(&kem(), &private, &ct).unwrap(), ss);

        // A second encapsulation uses fresh randomness.
        let (ct2, ss2) = mech::encapsulate(&kem(), &public).unwrap();
        assert_ne!(ct2, ct);
        assert_ne!(ss2, ss);

        // The generated private key imports again as it is (seed and expanded key agree).
        let again = keys::check_import(
            ck::CKO_PRIVATE_KEY,
            ck::CKK_ML_KEM,
            &test_support::all(&pair.private_key),
        )
        .unwrap();
        assert_eq!(
            attr(&again, ck::CKA_VALUE),
            attr(&pair.private_key, ck::CKA_VALUE)
        );
    }
}

#[test]
fn keys_in_the_wrong_role_or_ciphertexts_of_the_wrong_length_are_refused() {
    let (private, public, _) = kit::generate(ck::CKM_ML_KEM_KEY_PAIR_GEN, ck::CKP_ML_KEM_768);
    let (ct, _) = mech::encapsulate(&kem(), &public).unwrap();
    assert_eq!(
        mech::encapsulate(&kem(), &private).unwrap_err().kind(),
        ErrorKind::KeyTypeInconsistent
    );
    assert_eq!(
        mech::decapsulate(&kem(), &public, &ct).unwrap_err().kind(),
        ErrorKind::KeyTypeInconsistent
    );
    for len in [0, ct.len() - 1, ct.len() + 1] {
        let mut bad = ct.clone();
        bad.resize(len, 0);
        assert_eq!(
            mech::decapsulate(&kem(), &private, &bad)
                .unwrap_err()
                .kind(),
            ErrorKind::WrappedKeyLenRange
        );
    }
    assert_eq!(
        mech::encapsulate(&Mechanism::new(ck::CKM_ML_DSA), &public)
            .unwrap_err()
            .kind(),
        ErrorKind::MechanismInvalid
    );
}

#[test]
fn generation_reads_the_parameter_set_from_the_public_template() {
    let m = Mechanism::new(ck::CKM_ML_KEM_KEY_PAIR_GEN);
    let none = Template::default();
    assert_eq!(
        mech::generate_key_pair(&m, &none, &none)
            .unwrap_err()
            .kind(),
        ErrorKind::TemplateIncomplete
    );
    let bad = test_support::template(vec![Attr::ulong(ck::CKA_PARAMETER_SET, 9)]);
    assert_eq!(
        mech::generate_key_pair(&m, &bad, &none).unwrap_err().kind(),
        ErrorKind::ParameterSetNotSupported
    );
    let p512 = test_support::template(vec![set_attr(MlKemSet::MlKem512)]);
    let p768 = test_support::template(vec![set_attr(MlKemSet::MlKem768)]);
    assert_eq!(
        mech::generate_key_pair(&m, &p512, &p768)
            .unwrap_err()
            .kind(),
        ErrorKind::TemplateInconsistent
    );
    assert!(mech::generate_key_pair(&m, &p512, &p512).is_ok());
}

#[test]
fn import_accepts_seed_expanded_or_both_and_checks_they_agree() {
    let set = MlKemSet::MlKem512;
    let seed = [9u8; SEED_LEN];
    let (from_seed, attrs) = import_private(set, Some(&seed), None).unwrap();
    let expanded = attr(&attrs, ck::CKA_VALUE).unwrap().to_vec();
    let (from_expanded, attrs2) = import_private(set, None, Some(&expanded)).unwrap();
    assert!(
        attr(&attrs2, ck::CKA_SEED).is_none(),
        "an expanded key has no seed to report"
    );
    assert!(import_private(set, Some(&seed), Some(&expanded)).is_ok());
    assert_eq!(
        ml_kem(&from_seed).public_bytes(),
        ml_kem(&from_expanded).public_bytes()
    );

    let mut other = expanded.clone();
    let last = other.len() - 1;
    other[last] ^= 1; // z differs: a valid key, but not this seed's
    assert!(import_private(set, None, Some(&other)).is_ok());
    assert_eq!(
        import_private(set, Some(&seed), Some(&other))
            .unwrap_err()
            .kind(),
        ErrorKind::TemplateInconsistent
    );
    assert_eq!(
        import_private(set, None, None).unwrap_err().kind(),
        ErrorKind::TemplateIncomplete
    );
    assert_eq!(
        import_private(set, Some(&seed[..63]), None)
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );
    assert_eq!(
        import_private(set, None, Some(&expanded[1..]))
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );

    // Corrupting H(ek) inside the expanded key fails the FIPS 203 hash check.
    let mut bad_hash = expanded.clone();
    bad_hash[set.private_len() - 64] ^= 1;
    assert_eq!(
        import_private(set, None, Some(&bad_hash))
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );

    let no_set = kit::import(
        ck::CKO_PRIVATE_KEY,
        ck::CKK_ML_KEM,
        vec![Attr::new(ck::CKA_SEED, seed.to_vec())],
    );
    assert_eq!(no_set.unwrap_err().kind(), ErrorKind::TemplateIncomplete);
}

#[test]
fn pkcs8_writes_the_seed_form_and_reads_all_three() {
    let set = MlKemSet::MlKem1024;
    let seed: Vec<u8> = (0u8..64).collect();
    let (key, attrs) = import_private(set, Some(&seed), None).unwrap();
    let der = keys::to_pkcs8(&key).unwrap();
    let parsed = enc::parse_pkcs8(&der).unwrap().unwrap();
    let enc::PrivateKey::Lattice(PrivateKeyChoice::Seed(s)) = &parsed.private else {
        panic!("output must be the seed form")
    };
    assert_eq!(s.as_slice(), seed.as_slice());
    let (kt, back) = keys::from_pkcs8(&der).unwrap();
    assert_eq!(kt, ck::CKK_ML_KEM);
    assert_eq!(attr(&back, ck::CKA_SEED), attr(&attrs, ck::CKA_SEED));
    assert_eq!(attr(&back, ck::CKA_VALUE), attr(&attrs, ck::CKA_VALUE));

    let expanded = Zeroizing::new(attr(&attrs, ck::CKA_VALUE).unwrap().to_vec());
    let z = |v: &[u8]| Zeroizing::new(v.to_vec());
    for choice in [
        PrivateKeyChoice::Expanded(expanded.clone()),
        PrivateKeyChoice::Both {
            seed: z(&seed),
            expanded: expanded.clone(),
        },
    ] {
        let der =
            enc::pkcs8_der(ck::CKK_ML_KEM, set.ckp(), &enc::PrivateKey::Lattice(choice)).unwrap();
        let (_, back) = keys::from_pkcs8(&der).unwrap();
        assert_eq!(attr(&back, ck::CKA_VALUE), attr(&attrs, ck::CKA_VALUE));
    }
    let mut other = seed.clone();
    other[0] ^= 1;
    let mismatched = PrivateKeyChoice::Both {
        seed: z(&other),
        expanded,
    };
    let der = enc::pkcs8_der(
        ck::CKK_ML_KEM,
        set.ckp(),
        &enc::PrivateKey::Lattice(mismatched),
    )
    .unwrap();
    assert_eq!(
        keys::from_pkcs8(&der).unwrap_err().kind(),
        ErrorKind::WrappedKeyInvalid
    );
}

#[test]
fn cross_checks_with_fips203() {
    macro_rules! check {
        ($m:ident, $set:expr) => {{
            let (d, z) = ([0x11u8; 32], [0x22u8; 32]);
            let (ek, dk) = fips203::$m::KG::keygen_from_seed(d, z);
            let seed = [d, z].concat();
            let (private, attrs) = import_private($set, Some(&seed), None).unwrap();
            let (public, _) = import_public($set, &ek.clone().into_bytes()).unwrap();
            assert_eq!(
                attr(&attrs, ck::CKA_VALUE).unwrap(),
                dk.clone().into_bytes().as_slice()
            );
            assert_eq!(
                ml_kem(&private).public_bytes(),
                ek.clone().into_bytes().to_vec()
            );

            // Their encapsulation decapsulates in ours, and ours in theirs.
            let (their_ss, their_ct) = ek.try_encaps().unwrap();
            let ours = mech::decapsulate(&kem(), &private, &their_ct.clone().into_bytes()).unwrap();
            assert_eq!(ours.as_slice(), their_ss.clone().into_bytes().as_slice());
            let (ct, ss) = mech::encapsulate(&kem(), &public).unwrap();
            let ct_arr =
                fips203::$m::CipherText::try_from_bytes(ct.clone().try_into().unwrap()).unwrap();
            assert_eq!(
                dk.try_decaps(&ct_arr).unwrap().into_bytes().as_slice(),
                ss.as_slice()
            );

            // Implicit rejection: a tampered ciphertext gives both sides the same
            // pseudo-random secret, and no error.
            let mut bad = their_ct.into_bytes();
            bad[5] ^= 0x40;
            let ours = mech::decapsulate(&kem(), &private, &bad).unwrap();
            let theirs = dk
                .try_decaps(&fips203::$m::CipherText::try_from_bytes(bad).unwrap())
                .unwrap();
            assert_eq!(ours.as_slice(), theirs.into_bytes().as_slice());
            assert_ne!(ours.as_slice(), their_ss.into_bytes().as_slice());
        }};
    }
    check!(ml_kem_512, MlKemSet::MlKem512);
    check!(ml_kem_768, MlKemSet::MlKem768);
    check!(ml_kem_1024, MlKemSet::MlKem1024);
}

fn set_of_group(g: &Value) -> MlKemSet {
    match g["parameterSet"].as_str() {
        Some("ML-KEM-512") => MlKemSet::MlKem512,
        Some("ML-KEM-768") => MlKemSet::MlKem768,
        Some("ML-KEM-1024") => MlKemSet::MlKem1024,
        other => panic!("unknown parameter set {other:?}"),
    }
}

/// Decapsulate `c` with the key imported by `import`; Some(K) when every step accepted.
fn decapsulate_case(key: Result<(KeyMaterial, KeyAttrs)>, ek: &[u8], c: &[u8]) -> Option<Vec<u8>> {
    let (key, _) = key.ok()?;
    if !ek.is_empty() {
        assert_eq!(ml_kem(&key).public_bytes(), ek, "derived encapsulation key");
    }
    mech::decapsulate(&kem(), &key, c).ok().map(|k| k.to_vec())
}

#[test]
fn wycheproof_decapsulation_from_seed() {
    for bits in ["512", "768", "1024"] {
        let file = format!("mlkem_{bits}_test.json");
        let t = wy::run(&file, |c| {
            let key = import_private(set_of_group(c.group), Some(&kit::hex(c.test, "seed")), None);
            let got = decapsulate_case(key, &kit::hex(c.test, "ek"), &kit::hex(c.test, "c"));
            got.as_deref() == Some(kit::hex(c.test, "K").as_slice())
        });
        kit::assert_counts(&file, t, 153, 40);
    }
}

#[test]
fn wycheproof_encapsulation_with_known_randomness() {
    for (bits, valid, invalid) in [("512", 133, 128), ("768", 133, 132), ("1024", 133, 136)] {
        let file = format!("mlkem_{bits}_encaps_test.json");
        let t = wy::run(&file, |c| {
            match import_public(set_of_group(c.group), &c.hex("ek")) {
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::AttributeValueInvalid);
                    false
                }
                Ok((key, _)) => {
                    let mut rng = GivenBytes::new(&c.hex("m"));
                    let (ct, k) = ml_kem(&key).encapsulate_with(&mut rng).unwrap();
                    assert!(rng.fully_used());
                    ct == c.hex("c") && k.as_slice() == c.hex("K").as_slice()
                }
            }
        });
        kit::assert_counts(&file, t, valid, invalid);
    }
}

#[test]
fn wycheproof_key_generation_from_seed() {
    for bits in ["512", "768", "1024"] {
        let file = format!("mlkem_{bits}_keygen_seed_test.json");
        let t = wy::run(&file, |c| {
            let set = set_of_group(c.group);
            let (seed, ek, dk) = (c.hex("seed"), c.hex("ek"), c.hex("dk"));
            let Ok((key, attrs)) = import_private(set, Some(&seed), None) else {
                return false;
            };
            // The expanded key alone, and seed and key together, import too.
            let expanded = import_private(set, None, Some(&dk))
                .map(|(k, _)| ml_kem(&k).public_bytes() == ek.as_slice());
            ml_kem(&key).public_bytes() == ek.as_slice()
                && attr(&attrs, ck::CKA_VALUE) == Some(dk.as_slice())
                && expanded == Ok(true)
                && import_private(set, Some(&seed), Some(&dk)).is_ok()
        });
        kit::assert_counts(&file, t, 100, 0);
    }
}

#[test]
fn wycheproof_decapsulation_with_expanded_keys() {
    for bits in ["512", "768", "1024"] {
        let file = format!("mlkem_{bits}_semi_expanded_decaps_test.json");
        let t = wy::run(&file, |c| {
            let key = import_private(set_of_group(c.group), None, Some(&c.hex("dk")));
            let got = decapsulate_case(key, &c.hex("ek"), &c.hex("c"));
            got.as_deref() == Some(kit::hex(c.test, "K").as_slice())
        });
        kit::assert_counts(&file, t, 3, 6);
    }
}
