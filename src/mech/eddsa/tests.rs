//! Ed25519 tests: RFC 8032, both curve encodings, PKCS#8, and the Wycheproof file through
//! the mechanism API.

use super::*;
use crate::mech::test_support::{all, generate_pair, template};
use crate::mech::wycheproof_tests::run;
use crate::mech::{generate_key_pair, keys, sign_init};

fn verify(k: &KeyMaterial, msg: &[u8], sig: &[u8]) -> Result<()> {
    crate::mech::test_support::verify(&Mechanism::new(ck::CKM_EDDSA), k, msg, sig)
}

/// Multi-part C_SignUpdate/C_SignFinal over `parts`.
fn sign(k: &KeyMaterial, parts: &[&[u8]]) -> Vec<u8> {
    let mut op = sign_init(&Mechanism::new(ck::CKM_EDDSA), k).unwrap();
    for p in parts {
        op.update(p).unwrap();
    }
    assert_eq!(op.sig_len(), 64);
    op.finish().unwrap()
}

#[test]
fn rfc8032_test_1_through_import() {
    let seed =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
    let t = template(vec![
        Attr::new(ck::CKA_EC_PARAMS, default_ec_params()),
        Attr::new(ck::CKA_VALUE, seed),
    ]);
    let prv = keys::load(
        ck::CKO_PRIVATE_KEY,
        ck::CKK_EC_EDWARDS,
        &all(&keys::check_import(ck::CKO_PRIVATE_KEY, ck::CKK_EC_EDWARDS, &t).unwrap()),
    )
    .unwrap();
    assert_eq!(prv.size(), 256);
    let sig = sign(&prv, &[]);
    assert_eq!(
        hex::encode(&sig),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
}

#[test]
fn generate_sign_verify_with_both_curve_encodings() {
    let printable = PrintableStringRef::new(CURVE_NAME)
        .unwrap()
        .to_der()
        .unwrap();
    for params in [default_ec_params(), printable] {
        let params_attr = Attr::new(ck::CKA_EC_PARAMS, params.clone());
        let (prv, pubk, g) = generate_pair(ck::CKM_EC_EDWARDS_KEY_PAIR_GEN, vec![params_attr]);
        assert_eq!(g.public_key[0].value.as_slice(), params.as_slice());
        assert_eq!(g.public_key[1].value.len(), 34);
        let sig = sign(&prv, &[b"split ", b"message"]);
        verify(&pubk, b"split message", &sig).unwrap();
        assert_eq!(
            verify(&pubk, b"split massage", &sig).unwrap_err().kind(),
            ErrorKind::SignatureInvalid
        );
        assert_eq!(
            verify(&pubk, b"split message", &sig[..63])
                .unwrap_err()
                .kind(),
            ErrorKind::SignatureLenRange
        );
        let der = keys::to_pkcs8(&prv).unwrap();
        let (kt, attrs) = keys::from_pkcs8(&der).unwrap();
        assert_eq!(kt, ck::CKK_EC_EDWARDS);
        let back = keys::load(ck::CKO_PRIVATE_KEY, kt, &all(&attrs)).unwrap();
        verify(&pubk, b"again", &sign(&back, &[b"again"])).unwrap();
    }
    let public = template(vec![Attr::new(
        ck::CKA_EC_PARAMS,
        crate::mech::ec::Curve::P256.ec_params(),
    )]);
    let e = generate_key_pair(
        &Mechanism::new(ck::CKM_EC_EDWARDS_KEY_PAIR_GEN),
        &public,
        &Template::default(),
    );
    assert_eq!(e.unwrap_err().kind(), ErrorKind::CurveNotSupported);
}

#[test]
fn wycheproof_ed25519() {
    let t = run("ed25519_test.json", |c| {
        // The group's public key, imported from its SPKI as a client would.
        let der = c.hex("publicKeyDer");
        let spki = spki::SubjectPublicKeyInfoRef::from_der(&der).unwrap();
        assert_eq!(spki.algorithm.oid, OID_ED25519);
        let t = template(vec![
            Attr::new(ck::CKA_EC_PARAMS, default_ec_params()),
            Attr::new(
                ck::CKA_EC_POINT,
                spki.subject_public_key.raw_bytes().to_vec(),
            ),
        ]);
        let attrs = keys::check_import(ck::CKO_PUBLIC_KEY, ck::CKK_EC_EDWARDS, &t).unwrap();
        let k = keys::load(ck::CKO_PUBLIC_KEY, ck::CKK_EC_EDWARDS, &all(&attrs)).unwrap();
        verify(&k, &c.hex("msg"), &c.hex("sig")).is_ok()
    });
    assert!(t.invalid > 0);
}
