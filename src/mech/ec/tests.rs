//! EC tests: ECDSA and ECDH round trips on every curve, import rules, PKCS#8, and the
//! Wycheproof ECDSA (P1363 and DER) and ECDH files through the mechanism API.

use super::*;
use crate::mech::test_support::{all, generate_pair, sign, template, verify};
use crate::mech::wycheproof_tests::{run, Case};
use crate::mech::{derive, generate_key_pair, keys};

fn pair(curve: Curve) -> (KeyMaterial, KeyMaterial, GeneratedPair) {
    let params = Attr::new(ck::CKA_EC_PARAMS, curve.ec_params());
    generate_pair(ck::CKM_EC_KEY_PAIR_GEN, vec![params])
}

#[test]
fn sign_verify_every_curve_and_mechanism() {
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let (prv, pubk, _) = pair(curve);
        assert_eq!(prv.size(), curve.bits());
        for ty in [
            ck::CKM_ECDSA_SHA256,
            ck::CKM_ECDSA_SHA384,
            ck::CKM_ECDSA_SHA512,
            ck::CKM_ECDSA,
        ] {
            let m = Mechanism::new(ty);
            let data: &[u8] = if ty == ck::CKM_ECDSA {
                &[0x5a; 48]
            } else {
                b"a message"
            };
            let sig = sign(&m, &prv, data).unwrap();
            assert_eq!(sig.len(), 2 * curve.field_len());
            verify(&m, &pubk, data, &sig).unwrap();
            let mut bad = sig.clone();
            bad[3] ^= 1;
            assert_eq!(
                verify(&m, &pubk, data, &bad).unwrap_err().kind(),
                ErrorKind::SignatureInvalid
            );
            assert_eq!(
                verify(&m, &pubk, data, &sig[1..]).unwrap_err().kind(),
                ErrorKind::SignatureLenRange
            );
        }
        let e = sign(&Mechanism::new(ck::CKM_ECDSA), &pubk, b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::KeyTypeInconsistent);
    }
}

#[test]
fn ecdh_agrees_with_raw_and_der_public_data() {
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let (a, _, ga) = pair(curve);
        let (b, _, gb) = pair(curve);
        let der_a = ga
            .public_key
            .iter()
            .find(|x| x.ty == ck::CKA_EC_POINT)
            .unwrap()
            .value
            .to_vec();
        let raw_b = parse_point(curve, &gb.public_key[1].value).unwrap();
        let m = |public_data: Vec<u8>| Mechanism {
            ty: ck::CKM_ECDH1_DERIVE,
            param: MechParam::Ecdh {
                kdf: ck::CKD_NULL,
                shared_data: vec![],
                public_data,
            },
        };
        let ab = derive(&m(raw_b.clone()), &a, None, None).unwrap();
        let ba = derive(&m(der_a), &b, None, None).unwrap();
        assert_eq!(ab.len(), curve.field_len());
        assert_eq!(ab, ba);
        assert_eq!(
            *derive(&m(raw_b.clone()), &a, None, Some(16)).unwrap(),
            ab[..16]
        );
        let e = derive(&m(raw_b.clone()), &a, None, Some(curve.field_len() + 1)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TemplateInconsistent);
        let mut off_curve = raw_b.clone();
        off_curve[5] ^= 1;
        assert_eq!(
            derive(&m(off_curve), &a, None, None).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid
        );
        let kdf = Mechanism {
            ty: ck::CKM_ECDH1_DERIVE,
            param: MechParam::Ecdh {
                kdf: ck::CKD_SHA256_KDF,
                shared_data: vec![],
                public_data: raw_b,
            },
        };
        assert_eq!(
            derive(&kdf, &a, None, None).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid
        );
    }
}

#[test]
fn pkcs8_round_trip_keeps_the_key() {
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let (prv, pubk, _) = pair(curve);
        let der = keys::to_pkcs8(&prv).unwrap();
        let (kt, attrs) = keys::from_pkcs8(&der).unwrap();
        assert_eq!(kt, ck::CKK_EC);
        let back = keys::load(ck::CKO_PRIVATE_KEY, kt, &all(&attrs)).unwrap();
        let m = Mechanism::new(ck::CKM_ECDSA_SHA256);
        verify(&m, &pubk, b"m", &sign(&m, &back, b"m").unwrap()).unwrap();
        assert_eq!(
            keys::to_pkcs8(&pubk).unwrap_err().kind(),
            ErrorKind::KeyNotWrappable
        );
    }
}

#[test]
fn import_normalises_points_and_scalars_and_refuses_other_curves() {
    let (prv, _, g) = pair(Curve::P256);
    let KeyMaterial::Ec(EcKey::Private { scalar, point, .. }) = &prv else {
        panic!("not an EC private key")
    };
    // Raw point in, DER OCTET STRING out.
    let t = template(vec![
        Attr::new(ck::CKA_EC_PARAMS, Curve::P256.ec_params()),
        Attr::new(ck::CKA_EC_POINT, point.clone()),
    ]);
    let a = keys::check_import(ck::CKO_PUBLIC_KEY, ck::CKK_EC, &t).unwrap();
    assert_eq!(a.public, g.public_key);
    // A scalar with an extra leading zero is the same key.
    let mut padded = vec![0u8];
    padded.extend_from_slice(scalar);
    let t = template(vec![
        Attr::new(ck::CKA_EC_PARAMS, Curve::P256.ec_params()),
        Attr::new(ck::CKA_VALUE, padded),
    ]);
    let a = keys::check_import(ck::CKO_PRIVATE_KEY, ck::CKK_EC, &t).unwrap();
    assert_eq!(a.secret[0].value.as_slice(), scalar.as_slice());
    let t = template(vec![
        Attr::new(ck::CKA_EC_PARAMS, Curve::P256.ec_params()),
        Attr::new(ck::CKA_VALUE, vec![0u8; 32]),
    ]);
    let e = keys::check_import(ck::CKO_PRIVATE_KEY, ck::CKK_EC, &t).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AttributeValueInvalid);
    // secp256k1 by OID, and a printable curve name: both refused.
    let k1 = ObjectIdentifier::new_unwrap("1.3.132.0.10")
        .to_der()
        .unwrap();
    for params in [k1, b"\x13\x0aprime256v1".to_vec()] {
        let public = template(vec![Attr::new(ck::CKA_EC_PARAMS, params)]);
        let e = generate_key_pair(
            &Mechanism::new(ck::CKM_EC_KEY_PAIR_GEN),
            &public,
            &Template::default(),
        );
        assert_eq!(e.unwrap_err().kind(), ErrorKind::CurveNotSupported);
    }
}

/// The public key of a Wycheproof group, imported from its SPKI DER as a client would.
fn group_public_key(c: &Case) -> KeyMaterial {
    let der = c.hex("publicKeyDer");
    let spki = spki::SubjectPublicKeyInfoRef::from_der(&der).unwrap();
    let params = spki.algorithm.parameters_oid().unwrap().to_der().unwrap();
    let point = spki.subject_public_key.raw_bytes().to_vec();
    let t = template(vec![
        Attr::new(ck::CKA_EC_PARAMS, params),
        Attr::new(ck::CKA_EC_POINT, point),
    ]);
    let attrs = keys::check_import(ck::CKO_PUBLIC_KEY, ck::CKK_EC, &t).unwrap();
    keys::load(ck::CKO_PUBLIC_KEY, ck::CKK_EC, &all(&attrs)).unwrap()
}

fn wycheproof_ecdsa(file: &str, ty: ck::CK_MECHANISM_TYPE, der: bool) {
    let m = Mechanism::new(ty);
    let t = run(file, |c| {
        let key = group_public_key(c);
        let sig = c.hex("sig");
        let raw = if der {
            // PKCS#11 carries r||s; a strict DER parse stands in for the client's conversion.
            let curve = match &key {
                KeyMaterial::Ec(k) => k.curve(),
                _ => unreachable!(),
            };
            let parsed = on_curve!(curve, c => c::ecdsa::Signature::from_der(&sig).map(|s| s.to_bytes().to_vec()));
            match parsed {
                Ok(raw) => raw,
                Err(_) => return false,
            }
        } else {
            sig
        };
        verify(&m, &key, &c.hex("msg"), &raw).is_ok()
    });
    assert!(t.invalid > 0);
}

#[test]
fn wycheproof_ecdsa_p256_p1363() {
    wycheproof_ecdsa(
        "ecdsa_secp256r1_sha256_p1363_test.json",
        ck::CKM_ECDSA_SHA256,
        false,
    );
}

#[test]
fn wycheproof_ecdsa_p384_p1363() {
    wycheproof_ecdsa(
        "ecdsa_secp384r1_sha384_p1363_test.json",
        ck::CKM_ECDSA_SHA384,
        false,
    );
}

#[test]
fn wycheproof_ecdsa_p521_p1363() {
    wycheproof_ecdsa(
        "ecdsa_secp521r1_sha512_p1363_test.json",
        ck::CKM_ECDSA_SHA512,
        false,
    );
}

#[test]
fn wycheproof_ecdsa_p256_der() {
    wycheproof_ecdsa(
        "ecdsa_secp256r1_sha256_test.json",
        ck::CKM_ECDSA_SHA256,
        true,
    );
}

#[test]
fn wycheproof_ecdsa_p384_der() {
    wycheproof_ecdsa(
        "ecdsa_secp384r1_sha384_test.json",
        ck::CKM_ECDSA_SHA384,
        true,
    );
}

#[test]
fn wycheproof_ecdsa_p521_der() {
    wycheproof_ecdsa(
        "ecdsa_secp521r1_sha512_test.json",
        ck::CKM_ECDSA_SHA512,
        true,
    );
}

fn wycheproof_ecdh(file: &str, curve: Curve) {
    let t = run(file, |c| {
        let t = template(vec![
            Attr::new(ck::CKA_EC_PARAMS, curve.ec_params()),
            Attr::new(ck::CKA_VALUE, c.hex("private")),
        ]);
        let attrs = keys::check_import(ck::CKO_PRIVATE_KEY, ck::CKK_EC, &t).unwrap();
        let prv = keys::load(ck::CKO_PRIVATE_KEY, ck::CKK_EC, &all(&attrs)).unwrap();
        // A client turns the peer's SPKI into CKA_EC_PARAMS-style curve parameters and a
        // raw point. Parameters this token would refuse (explicit curves) end the case;
        // a named curve other than the key's is not checked here, so points from other
        // curves reach (and must be refused by) the mechanism.
        let der = c.hex("public");
        let Ok(spki) = spki::SubjectPublicKeyInfoRef::from_der(&der) else {
            return false;
        };
        let params = spki.algorithm.parameters.map(|p| p.to_der());
        let Some(Ok(params)) = params else {
            return false;
        };
        if Curve::from_ec_params(&params).is_err() {
            return false;
        }
        let public_data = spki.subject_public_key.raw_bytes().to_vec();
        let m = Mechanism {
            ty: ck::CKM_ECDH1_DERIVE,
            param: MechParam::Ecdh {
                kdf: ck::CKD_NULL,
                shared_data: vec![],
                public_data,
            },
        };
        derive(&m, &prv, None, None).is_ok_and(|s| *s == c.hex("shared"))
    });
    assert!(t.invalid > 0 && t.acceptable > 0);
}

#[test]
fn wycheproof_ecdh_p256() {
    wycheproof_ecdh("ecdh_secp256r1_test.json", Curve::P256);
}

#[test]
fn wycheproof_ecdh_p384() {
    wycheproof_ecdh("ecdh_secp384r1_test.json", Curve::P384);
}

#[test]
fn wycheproof_ecdh_p521() {
    wycheproof_ecdh("ecdh_secp521r1_test.json", Curve::P521);
}
