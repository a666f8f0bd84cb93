//! Elliptic curves as clients use them: ECDSA on P-256/P-384/P-521 (raw CKM_ECDSA over a
//! hash and CKM_ECDSA_SHA*), ECDH1 key agreement between token keys and with an outside
//! party, Ed25519 (CKM_EDDSA). Every signature is also verified by RustCrypto.

mod common;

use common::external::{ec_point, ecdsa_verify_prehash, ed25519_verify, unwrap_ec_point, Hash};
use common::keys::{attr_bytes, Curve, ED25519_PARAMS};
use common::Token;
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki_sys::*;
use hmac::{KeyInit, Mac};

fn natural_hash(c: Curve) -> Hash {
    match c {
        Curve::P256 => Hash::Sha256,
        Curve::P384 => Hash::Sha384,
        Curve::P521 => Hash::Sha512,
    }
}

/// Derive a generic secret (HMAC-capable, sensitive) with ECDH1 and the NULL KDF.
fn ecdh(t: &Token, private: ObjectHandle, peer_point: &[u8], len: usize) -> ObjectHandle {
    let params = Ecdh1DeriveParams::new(EcKdf::null(), peer_point);
    ck!(t.session().derive_key(
        &Mechanism::Ecdh1Derive(params),
        private,
        &[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::ValueLen((len as u64).into()),
            Attribute::Sign(true),
            Attribute::Verify(true),
        ],
    ))
}

fn hmac_on_token(t: &Token, key: ObjectHandle, msg: &[u8]) -> Vec<u8> {
    ck!(t.session().sign(&Mechanism::Sha256Hmac, key, msg))
}

both_backends! {
    /// Key generation on each NIST curve: the public key carries the curve and a point on
    /// it; CKM_ECDSA over a hash makes r||s of twice the field size that p256/p384/p521
    /// accept; the token verifies its own and refuses a changed one.
    fn ecdsa_raw_on_each_curve(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for curve in Curve::ALL {
            let kp = t.gen_ec(curve);
            assert_eq!(attr_bytes(s, kp.public, AttributeType::EcParams), curve.params());
            let point = ec_point(s, kp.public);
            assert_eq!(point.len(), 1 + 2 * curve.field_len(), "{curve:?}: uncompressed point");
            assert_eq!(point[0], 0x04);
            let kt = ck!(s.get_attributes(kp.private, &[AttributeType::KeyType, AttributeType::EcParams]));
            assert!(kt.contains(&Attribute::KeyType(KeyType::EC)), "{kt:?}");
            assert!(kt.contains(&Attribute::EcParams(curve.params())), "private key carries CKA_EC_PARAMS");

            let h = natural_hash(curve);
            let digest = h.digest(b"ECDSA over a hash");
            let sig = ck!(s.sign(&Mechanism::Ecdsa, kp.private, &digest));
            assert_eq!(sig.len(), 2 * curve.field_len(), "{curve:?}: r||s length");
            assert!(ecdsa_verify_prehash(curve, &point, &digest, &sig), "{curve:?}: RustCrypto rejects the signature");
            ck!(s.verify(&Mechanism::Ecdsa, kp.public, &digest, &sig));
            let sig2 = ck!(s.sign(&Mechanism::Ecdsa, kp.private, &digest));
            assert!(ecdsa_verify_prehash(curve, &point, &digest, &sig2));
            let mut bad = sig.clone();
            bad[3] ^= 0x10;
            assert_ckr!(s.verify(&Mechanism::Ecdsa, kp.public, &digest, &bad), SignatureInvalid);
            assert_ckr!(s.verify(&Mechanism::Ecdsa, kp.public, &digest, &sig[1..]), SignatureLenRange | SignatureInvalid);
            let other = Hash::Sha256.digest(b"another message");
            assert_ckr!(s.verify(&Mechanism::Ecdsa, kp.public, &other, &sig), SignatureInvalid);
        }
    }

    /// CKM_ECDSA_SHA256/384/512 with every curve, single and multi-part, checked by
    /// RustCrypto on the hash.
    fn ecdsa_with_hashing(b: Backend) {
        let t = Token::new(b);
        if !t.require(&[CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512]) {
            return;
        }
        let s = t.session();
        let msg: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        for curve in Curve::ALL {
            let kp = t.gen_ec(curve);
            let point = ec_point(s, kp.public);
            for h in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
                let m = h.ecdsa();
                let sig = ck!(s.sign(&m, kp.private, &msg));
                assert!(ecdsa_verify_prehash(curve, &point, &h.digest(&msg), &sig), "{curve:?} {h:?}");
                ck!(s.verify(&m, kp.public, &msg, &sig));
                ck!(s.sign_init(&m, kp.private));
                for c in msg.chunks(700) {
                    ck!(s.sign_update(c));
                }
                let multi = ck!(s.sign_final());
                assert!(ecdsa_verify_prehash(curve, &point, &h.digest(&msg), &multi), "{curve:?} {h:?} multi-part");
                ck!(s.verify_init(&m, kp.public));
                for c in msg.chunks(999) {
                    ck!(s.verify_update(c));
                }
                ck!(s.verify_final(&multi));
                assert_ckr!(s.verify(&m, kp.public, &msg[1..], &sig), SignatureInvalid);
            }
        }
    }

    /// Two token key pairs agree on a secret through CKM_ECDH1_DERIVE on every curve (seen
    /// through HMACs made with the derived keys, which never leave the token); and the
    /// token agrees with RustCrypto on P-256 given an outside party's fixed key.
    fn ecdh_agreement(b: Backend) {
        let t = Token::new(b);
        if !t.require(&[CKM_ECDH1_DERIVE, CKM_SHA256_HMAC]) {
            return;
        }
        let s = t.session();
        let msg = b"both sides hold the same secret";
        for curve in Curve::ALL {
            let a = t.gen_ec(curve);
            let c = t.gen_ec(curve);
            let (pa, pc) = (ec_point(s, a.public), ec_point(s, c.public));
            let ac = ecdh(&t, a.private, &pc, curve.field_len());
            let ca = ecdh(&t, c.private, &pa, curve.field_len());
            assert_eq!(hmac_on_token(&t, ac, msg), hmac_on_token(&t, ca, msg), "{curve:?}: ECDH secrets differ");
            let other = t.gen_ec(curve);
            let ao = ecdh(&t, a.private, &ec_point(s, other.public), curve.field_len());
            assert_ne!(hmac_on_token(&t, ac, msg), hmac_on_token(&t, ao, msg), "{curve:?}: different peers, same secret");
        }

        // An outside party with a fixed P-256 key.
        let outside = p256::SecretKey::from_slice(&[0x42u8; 32]).expect("a valid P-256 scalar");
        let outside_point = outside.public_key().to_sec1_bytes().to_vec();
        let a = t.gen_ec(Curve::P256);
        let token_point = p256::PublicKey::from_sec1_bytes(&ec_point(s, a.public)).expect("the token's point is on P-256");
        let shared = p256::ecdh::diffie_hellman(outside.to_nonzero_scalar(), token_point.as_affine());
        let mut expected = hmac::Hmac::<sha2::Sha256>::new_from_slice(shared.raw_secret_bytes()).expect("HMAC key");
        expected.update(msg);
        let derived = ecdh(&t, a.private, &outside_point, 32);
        assert_eq!(hmac_on_token(&t, derived, msg), expected.finalize().into_bytes().to_vec(), "token and RustCrypto disagree on ECDH");

        // A point that is not on the curve is refused.
        let mut off_curve = outside_point.clone();
        off_curve[40] ^= 1;
        let params = Ecdh1DeriveParams::new(EcKdf::null(), &off_curve);
        let r = s.derive_key(
            &Mechanism::Ecdh1Derive(params),
            a.private,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Token(false),
                Attribute::ValueLen(32.into()),
            ],
        );
        assert_spec!(b, r, MechanismParamInvalid | DomainParamsInvalid | ArgumentsBad; softhsm2: GeneralError);
    }

    /// Ed25519: CKM_EC_EDWARDS_KEY_PAIR_GEN, a 32-byte point, deterministic 64-byte
    /// CKM_EDDSA signatures that ed25519-dalek verifies strictly.
    fn ed25519_sign_verify(b: Backend) {
        let t = Token::new(b);
        if !t.require(&[CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA]) {
            return;
        }
        let s = t.session();
        let kp = t.gen_ed25519();
        assert_eq!(attr_bytes(s, kp.public, AttributeType::EcParams), ED25519_PARAMS.to_vec());
        let kt = ck!(s.get_attributes(kp.public, &[AttributeType::KeyType]));
        assert_eq!(kt, vec![Attribute::KeyType(KeyType::EC_EDWARDS)]);
        let raw_attr = attr_bytes(s, kp.public, AttributeType::EcPoint);
        let point = unwrap_ec_point(&raw_attr);
        assert_eq!(point.len(), 32, "Ed25519 public key is 32 bytes (CKA_EC_POINT {} bytes)", raw_attr.len());
        let eddsa = Mechanism::Eddsa(cryptoki::mechanism::eddsa::EddsaParams::new(
            cryptoki::mechanism::eddsa::EddsaSignatureScheme::Pure,
        ));
        for msg in [&b""[..], b"Ed25519 through PKCS#11", &[0xa5u8; 4096][..]] {
            let sig = ck!(s.sign(&eddsa, kp.private, msg));
            assert_eq!(sig.len(), 64);
            assert!(ed25519_verify(&point, msg, &sig), "ed25519-dalek rejects the token's signature");
            assert_eq!(ck!(s.sign(&eddsa, kp.private, msg)), sig, "Ed25519 is deterministic");
            ck!(s.verify(&eddsa, kp.public, msg, &sig));
            let mut bad = sig.clone();
            bad[40] ^= 2;
            assert_ckr!(s.verify(&eddsa, kp.public, msg, &bad), SignatureInvalid);
            assert_ckr!(s.verify(&eddsa, kp.public, msg, &sig[..63]), SignatureLenRange | SignatureInvalid);
        }
    }

    /// An EC public key imported by value (C_CreateObject) verifies what the token's private
    /// key signed, in both encodings of CKA_EC_POINT clients use.
    fn ec_public_key_import(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let kp = t.gen_ec(Curve::P384);
        let point = ec_point(s, kp.public);
        let digest = Hash::Sha384.digest(b"imported verifier");
        let sig = ck!(s.sign(&Mechanism::Ecdsa, kp.private, &digest));
        let imported = ck!(s.create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(false),
            Attribute::Verify(true),
            Attribute::EcParams(Curve::P384.params()),
            Attribute::EcPoint(common::external::wrap_ec_point(&point)),
        ]));
        ck!(s.verify(&Mechanism::Ecdsa, imported, &digest, &sig));
    }
}
