use super::*;
use crate::mech::pqc_testkit::{self as kit, attr, is_secret};
use crate::mech::{self as mech, keys};
use fips205::traits::{KeyGen, SerDes, Signer, Verifier};
use serde_json::Value;

fn slh(k: &KeyMaterial) -> &SlhDsaKey {
    match k {
        KeyMaterial::SlhDsa(k) => k,
        _ => panic!("not an SLH-DSA key"),
    }
}

fn set_attr(set: SlhDsaSet) -> Attr {
    Attr::ulong(ck::CKA_PARAMETER_SET, set.ckp())
}

fn import(
    class: ck::CK_OBJECT_CLASS,
    set: SlhDsaSet,
    value: &[u8],
) -> Result<(KeyMaterial, KeyAttrs)> {
    kit::import(
        class,
        ck::CKK_SLH_DSA,
        vec![set_attr(set), Attr::new(ck::CKA_VALUE, value.to_vec())],
    )
}

const DET: ck::CK_ULONG = ck::CKH_DETERMINISTIC_REQUIRED;
const HEDGE: ck::CK_ULONG = ck::CKH_HEDGE_REQUIRED;

fn by_name(name: &str) -> SlhDsaSet {
    SlhDsaSet::ALL
        .into_iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("unknown parameter set {name}"))
}

#[test]
fn sizes_match_fips205() {
    use fips205::*;
    let expected = [
        (
            SlhDsaSet::Sha2_128s,
            slh_dsa_sha2_128s::PK_LEN,
            slh_dsa_sha2_128s::SIG_LEN,
        ),
        (
            SlhDsaSet::Shake128s,
            slh_dsa_shake_128s::PK_LEN,
            slh_dsa_shake_128s::SIG_LEN,
        ),
        (
            SlhDsaSet::Sha2_128f,
            slh_dsa_sha2_128f::PK_LEN,
            slh_dsa_sha2_128f::SIG_LEN,
        ),
        (
            SlhDsaSet::Shake128f,
            slh_dsa_shake_128f::PK_LEN,
            slh_dsa_shake_128f::SIG_LEN,
        ),
        (
            SlhDsaSet::Sha2_192s,
            slh_dsa_sha2_192s::PK_LEN,
            slh_dsa_sha2_192s::SIG_LEN,
        ),
        (
            SlhDsaSet::Shake192s,
            slh_dsa_shake_192s::PK_LEN,
            slh_dsa_shake_192s::SIG_LEN,
        ),
        (
            SlhDsaSet::Sha2_192f,
            slh_dsa_sha2_192f::PK_LEN,
            slh_dsa_sha2_192f::SIG_LEN,
        ),
        (
            SlhDsaSet::Shake192f,
            slh_dsa_shake_192f::PK_LEN,
            slh_dsa_shake_192f::SIG_LEN,
        ),
        (
            SlhDsaSet::Sha2_256s,
            slh_dsa_sha2_256s::PK_LEN,
            slh_dsa_sha2_256s::SIG_LEN,
        ),
        (
            SlhDsaSet::Shake256s,
            slh_dsa_shake_256s::PK_LEN,
            slh_dsa_shake_256s::SIG_LEN,
        ),
        (
            SlhDsaSet::Sha2_256f,
            slh_dsa_sha2_256f::PK_LEN,
            slh_dsa_sha2_256f::SIG_LEN,
        ),
        (
            SlhDsaSet::Shake256f,
            slh_dsa_shake_256f::PK_LEN,
            slh_dsa_shake_256f::SIG_LEN,
        ),
    ];
    assert_eq!(expected.len(), SlhDsaSet::ALL.len());
    for (set, pk, sig) in expected {
        assert_eq!(
            (set.public_len(), set.private_len(), set.signature_len()),
            (pk, 2 * pk, sig),
            "{}",
            set.name()
        );
    }
    // CKP_ numbers as PKCS#11 3.2 assigns them: SHA2/SHAKE alternate, s before f.
    let ckps: Vec<_> = SlhDsaSet::ALL.iter().map(|s| s.ckp()).collect();
    assert_eq!(ckps, (1..=12).collect::<Vec<ck::CK_ULONG>>());
}

#[test]
fn every_parameter_set_round_trips_through_the_mechanism_api() {
    // One hedged signature per set: the "s" sets are slow by design.
    for set in SlhDsaSet::ALL {
        let (private, public, pair) = kit::generate(ck::CKM_SLH_DSA_KEY_PAIR_GEN, set.ckp());
        assert_eq!(
            attr(&pair.private_key, ck::CKA_VALUE).unwrap().len(),
            set.private_len()
        );
        assert!(is_secret(&pair.private_key, ck::CKA_VALUE));
        assert!(
            attr(&pair.private_key, ck::CKA_SEED).is_none(),
            "SLH-DSA has no CKA_SEED"
        );
        assert_eq!(public.size(), set.public_len() as u64);
        let m = kit::sign_context(ck::CKM_SLH_DSA, HEDGE, b"round trip");
        let msg = set.name().as_bytes();
        let sig = kit::sign(&m, &private, msg).unwrap();
        assert_eq!(sig.len(), set.signature_len(), "{}", set.name());
        kit::verify(&m, &public, msg, &sig).unwrap();
        assert_eq!(
            kit::verify(&m, &public, b"another message", &sig)
                .unwrap_err()
                .kind(),
            ErrorKind::SignatureInvalid
        );
        let other_ctx = kit::sign_context(ck::CKM_SLH_DSA, HEDGE, b"round trip!");
        assert_eq!(
            kit::verify(&other_ctx, &public, msg, &sig)
                .unwrap_err()
                .kind(),
            ErrorKind::SignatureInvalid
        );
    }
}

#[test]
fn variants_multi_part_and_errors_on_a_fast_set() {
    let set = SlhDsaSet::Shake128f;
    let (private, public, _) = kit::generate(ck::CKM_SLH_DSA_KEY_PAIR_GEN, set.ckp());
    let msg = b"split into several parts";
    let det = kit::sign_context(ck::CKM_SLH_DSA, DET, b"c");
    let one = kit::sign(&det, &private, msg).unwrap();
    let parts = kit::sign_in_parts(&det, &private, &[&msg[..5], &msg[5..6], &msg[6..]]).unwrap();
    assert_eq!(parts, one, "deterministic multi-part equals single-part");
    let hedged = kit::sign(
        &kit::sign_context(ck::CKM_SLH_DSA, HEDGE, b"c"),
        &private,
        msg,
    )
    .unwrap();
    assert_ne!(hedged, one, "hedged signing draws fresh randomness");
    kit::verify(&det, &public, msg, &hedged).unwrap();

    // Pre-hash on token and over the caller's hash give the same signature.
    let on_token = kit::sign(
        &kit::sign_context(ck::CKM_HASH_SLH_DSA_SHA384, DET, b"c"),
        &private,
        msg,
    )
    .unwrap();
    let pre = kit::hash_context(ck::CKM_HASH_SLH_DSA, DET, b"c", ck::CKM_SHA384);
    let digest = pqc_sign::PreHash::Sha384.digest(msg);
    assert_eq!(kit::sign(&pre, &private, &digest).unwrap(), on_token);
    assert_ne!(on_token, one);
    kit::verify(&pre, &public, &digest, &on_token).unwrap();
    assert_eq!(
        kit::verify(&det, &public, msg, &on_token)
            .unwrap_err()
            .kind(),
        ErrorKind::SignatureInvalid
    );

    assert_eq!(
        kit::verify(&det, &public, msg, &one[..one.len() - 1])
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
    assert_eq!(
        mech::sign_init(
            &kit::sign_context(ck::CKM_SLH_DSA, DET, &[1; 256]),
            &private
        )
        .err()
        .unwrap()
        .kind(),
        ErrorKind::MechanismParamInvalid
    );
}

#[test]
fn import_checks_pk_root_and_pkcs8_round_trips() {
    let set = SlhDsaSet::Sha2_128f;
    let n = set.n();
    let key = SlhDsaKey::keygen_internal(set, &[1; 16], &[2; 16], &[3; 16]).unwrap();
    let sk = key.private_bytes().unwrap();
    let (private, attrs) = import(ck::CKO_PRIVATE_KEY, set, &sk).unwrap();
    assert_eq!(slh(&private).public_bytes(), &sk[2 * n..]);
    let mut bad_root = sk.to_vec();
    bad_root[4 * n - 1] ^= 1;
    assert_eq!(
        import(ck::CKO_PRIVATE_KEY, set, &bad_root)
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );
    let mut bad_seed = sk.to_vec();
    bad_seed[0] ^= 1;
    assert_eq!(
        import(ck::CKO_PRIVATE_KEY, set, &bad_seed)
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );
    assert_eq!(
        import(ck::CKO_PRIVATE_KEY, set, &sk[1..])
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );
    assert_eq!(
        import(ck::CKO_PUBLIC_KEY, set, &sk[..2 * n - 1])
            .unwrap_err()
            .kind(),
        ErrorKind::AttributeValueInvalid
    );
    let no_set = kit::import(
        ck::CKO_PUBLIC_KEY,
        ck::CKK_SLH_DSA,
        vec![Attr::new(ck::CKA_VALUE, sk[2 * n..].to_vec())],
    );
    assert_eq!(no_set.unwrap_err().kind(), ErrorKind::TemplateIncomplete);
    let bad_set = kit::import(
        ck::CKO_PUBLIC_KEY,
        ck::CKK_SLH_DSA,
        vec![
            Attr::ulong(ck::CKA_PARAMETER_SET, 13),
            Attr::new(ck::CKA_VALUE, sk[2 * n..].to_vec()),
        ],
    );
    assert_eq!(
        bad_set.unwrap_err().kind(),
        ErrorKind::ParameterSetNotSupported
    );

    // PKCS#8 carries the raw 4n-byte key in privateKey.
    let der = keys::to_pkcs8(&private).unwrap();
    let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_slice()).unwrap();
    assert_eq!(info.private_key.as_bytes(), sk.as_slice());
    let (kt, back) = keys::from_pkcs8(&der).unwrap();
    assert_eq!(kt, ck::CKK_SLH_DSA);
    assert_eq!(attr(&back, ck::CKA_VALUE), attr(&attrs, ck::CKA_VALUE));
    let corrupt = enc::pkcs8_der(
        ck::CKK_SLH_DSA,
        set.ckp(),
        &PrivateKey::Raw(Zeroizing::new(bad_root)),
    )
    .unwrap();
    assert_eq!(
        keys::from_pkcs8(&corrupt).unwrap_err().kind(),
        ErrorKind::WrappedKeyInvalid
    );
}

#[test]
fn cross_checks_with_fips205() {
    macro_rules! check {
        ($m:ident, $set:expr) => {{
            let set = $set;
            let (sk_seed, sk_prf, pk_seed) = (
                [7u8; fips205::$m::N],
                [8u8; fips205::$m::N],
                [9u8; fips205::$m::N],
            );
            let (pk, sk) = fips205::$m::KG::keygen_with_seeds(&sk_seed, &sk_prf, &pk_seed);
            let ours = SlhDsaKey::keygen_internal(set, &sk_seed, &sk_prf, &pk_seed).unwrap();
            assert_eq!(
                ours.private_bytes().unwrap().as_slice(),
                sk.clone().into_bytes().as_slice()
            );
            let (private, _) = import(ck::CKO_PRIVATE_KEY, set, &sk.clone().into_bytes()).unwrap();
            let (public, _) = import(ck::CKO_PUBLIC_KEY, set, &pk.clone().into_bytes()).unwrap();

            let (msg, ctx) = (b"interoperable", b"pqhsm");
            // Deterministic signatures are identical byte for byte, pure and pre-hash.
            let det =
                kit::sign(&kit::sign_context(ck::CKM_SLH_DSA, DET, ctx), &private, msg).unwrap();
            assert_eq!(det, sk.try_sign(msg, ctx, false).unwrap().to_vec());
            let hashed = kit::sign(
                &kit::sign_context(ck::CKM_HASH_SLH_DSA_SHAKE256, DET, ctx),
                &private,
                msg,
            )
            .unwrap();
            assert_eq!(
                hashed,
                sk.try_hash_sign(msg, ctx, &fips205::Ph::SHAKE256, false)
                    .unwrap()
                    .to_vec()
            );
            let pre = kit::hash_context(ck::CKM_HASH_SLH_DSA, DET, ctx, ck::CKM_SHA256);
            let pre_sig =
                kit::sign(&pre, &private, &pqc_sign::PreHash::Sha256.digest(msg)).unwrap();
            assert_eq!(
                pre_sig,
                sk.try_hash_sign(msg, ctx, &fips205::Ph::SHA256, false)
                    .unwrap()
                    .to_vec()
            );
            // Hedged signatures verify on the other side.
            let theirs = sk.try_sign(msg, ctx, true).unwrap();
            kit::verify(
                &kit::sign_context(ck::CKM_SLH_DSA, HEDGE, ctx),
                &public,
                msg,
                &theirs,
            )
            .unwrap();
            let hedged = kit::sign(
                &kit::sign_context(ck::CKM_SLH_DSA, HEDGE, ctx),
                &private,
                msg,
            )
            .unwrap();
            assert!(pk.verify(msg, &hedged.try_into().unwrap(), ctx));
        }};
    }
    check!(slh_dsa_sha2_128f, SlhDsaSet::Sha2_128f);
    check!(slh_dsa_shake_192f, SlhDsaSet::Shake192f);
    check!(slh_dsa_sha2_256f, SlhDsaSet::Sha2_256f);
}

fn acvp(path: &str) -> Vec<Value> {
    kit::json(&format!("acvp/{path}/internalProjection.json"))["testGroups"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn acvp_key_generation() {
    let mut driven = 0;
    let mut sets = Vec::new();
    for g in acvp("SLH-DSA-keyGen-FIPS205") {
        let set = by_name(g["parameterSet"].as_str().unwrap());
        sets.push(set);
        for test in g["tests"].as_array().unwrap() {
            let (sk, pk) = (kit::hex(test, "sk"), kit::hex(test, "pk"));
            let generated = SlhDsaKey::keygen_internal(
                set,
                &kit::hex(test, "skSeed"),
                &kit::hex(test, "skPrf"),
                &kit::hex(test, "pkSeed"),
            )
            .unwrap();
            assert_eq!(
                generated.private_bytes().unwrap().as_slice(),
                sk.as_slice(),
                "tcId {}",
                test["tcId"]
            );
            assert_eq!(generated.public_bytes(), pk.as_slice());
            // The private key imports (its PK.root checks out) and reports its public key.
            let (imported, attrs) = import(ck::CKO_PRIVATE_KEY, set, &sk).unwrap();
            assert_eq!(slh(&imported).public_bytes(), pk.as_slice());
            let info = enc::parse_spki(attr(&attrs, ck::CKA_PUBLIC_KEY_INFO).unwrap()).unwrap();
            assert_eq!(info.public, pk);
            driven += 1;
        }
    }
    assert_eq!(driven, 40);
    assert_eq!(sets.len(), 4);
}

#[test]
fn acvp_signature_verification() {
    let (mut passed, mut failed) = (0, 0);
    for g in acvp("SLH-DSA-sigVer-FIPS205") {
        let set = by_name(g["parameterSet"].as_str().unwrap());
        for test in g["tests"].as_array().unwrap() {
            let (key, _) = import(ck::CKO_PUBLIC_KEY, set, &kit::hex(test, "pk")).unwrap();
            // The projection's message is M' itself (slh_verify_internal).
            let m_prime = kit::hex(test, "message");
            let result = slh(&key).verify_internal(&[&m_prime], &kit::hex(test, "signature"));
            let expected = test["testPassed"].as_bool().unwrap();
            assert_eq!(
                result.is_ok(),
                expected,
                "{} tcId {}: {}",
                set.name(),
                test["tcId"],
                test["reason"]
            );
            if expected {
                passed += 1;
            } else {
                let kind = result.unwrap_err().kind();
                let reason = test["reason"].as_str().unwrap();
                let want = if reason.contains("too large") || reason.contains("too small") {
                    ErrorKind::SignatureLenRange
                } else {
                    ErrorKind::SignatureInvalid
                };
                assert_eq!(kind, want, "{reason}");
                failed += 1;
            }
        }
    }
    assert_eq!((passed, failed), (15, 30));
}
