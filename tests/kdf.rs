//! Key derivation with CKM_HKDF_DERIVE (PKCS#11 3.0) against RFC 5869: extract and
//! expand, expand only, no salt; derived keys that are usable but stay inside.

mod common;

use common::unhex;

use common::keys::{attr_bool, import_secret, readable_secret};
use common::{Options, Token};
use cryptoki::mechanism::hkdf::{HkdfParams, HkdfSalt};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki_sys::*;

fn derive(
    t: &Token,
    base: ObjectHandle,
    p: HkdfParams,
    template: &[Attribute],
) -> cryptoki::error::Result<ObjectHandle> {
    t.session()
        .derive_key(&Mechanism::HkdfDerive(p), base, template)
}

fn value(t: &Token, k: ObjectHandle) -> Vec<u8> {
    t.raw
        .get_attribute(t.session(), k, CKA_VALUE, Some(1024))
        .ok("CKA_VALUE of a non-sensitive derived key")
}

both_backends! {
    /// RFC 5869 test cases 1 and 3 (SHA-256) and expand-only, read back from non-sensitive
    /// derived keys (allowed by configuration on pqhsm).
    fn hkdf_rfc5869(b: Backend) {
        let t = Token::with(b, Options::pqhsm_conf("[policy]\nallow_extractable = true\n"));
        if !t.require(&[CKM_HKDF_DERIVE]) {
            return;
        }
        let s = t.session();
        let ikm = import_secret(s, KeyType::GENERIC_SECRET, &[0x0bu8; 22]);
        let salt = unhex("000102030405060708090a0b0c");
        let info = unhex("f0f1f2f3f4f5f6f7f8f9");

        let k = ck!(derive(&t, ikm, HkdfParams::new(MechanismType::SHA256, Some(HkdfSalt::Data(&salt)), Some(&info)), &readable_secret(42)));
        assert_eq!(hex::encode(value(&t, k)), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", "RFC 5869 A.1");

        let k = ck!(derive(&t, ikm, HkdfParams::new(MechanismType::SHA256, Some(HkdfSalt::Null), Some(&[])), &readable_secret(42)));
        assert_eq!(hex::encode(value(&t, k)), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8", "RFC 5869 A.3");

        // Expand only, from the PRK of A.1.
        let prk = import_secret(s, KeyType::GENERIC_SECRET, &unhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"));
        let k = ck!(derive(&t, prk, HkdfParams::new(MechanismType::SHA256, None, Some(&info)), &readable_secret(42)));
        assert_eq!(hex::encode(value(&t, k)), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865", "expand-only");

        // SHA-384 (computed with pyca/cryptography).
        let k = ck!(derive(&t, ikm, HkdfParams::new(MechanismType::SHA384, Some(HkdfSalt::Data(b"salt")), Some(b"info")), &readable_secret(48)));
        assert_eq!(hex::encode(value(&t, k)), "664ee88f1a7f64a837c7727c031f18bac89c6cc3bf48a35f0b981f6e6af611e3b4965eb1292f6893384cd3590ed6dd6d");

        // More than 255 * HashLen bytes cannot be expanded.
        assert_ckr!(
            derive(&t, ikm, HkdfParams::new(MechanismType::SHA256, Some(HkdfSalt::Null), Some(&info)), &readable_secret(255 * 32 + 1)),
            KeySizeRange | TemplateInconsistent | AttributeValueInvalid | MechanismParamInvalid
        );
    }

    /// A key derived into an AES key is sensitive by request, works, and is the same key
    /// each time from the same inputs; different info gives a different key.
    fn hkdf_into_aes_keys(b: Backend) {
        let t = Token::new(b);
        if !t.require(&[CKM_HKDF_DERIVE]) {
            return;
        }
        let s = t.session();
        let base = t.gen_generic_secret(32);
        let aes = |info: &'static [u8]| {
            ck!(derive(&t, base, HkdfParams::new(MechanismType::SHA256, Some(HkdfSalt::Data(b"pqhsm")), Some(info)), &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::ValueLen(32.into()),
                Attribute::Encrypt(true),
            ]))
        };
        let (k1, k2, k3) = (aes(b"one"), aes(b"one"), aes(b"two"));
        assert!(attr_bool(s, k1, AttributeType::Sensitive));
        assert_ckr!(t.raw.get_attribute(s, k1, CKA_VALUE, Some(32)), AttributeSensitive);
        assert!(!attr_bool(s, k1, AttributeType::Local), "a derived key is not CKA_LOCAL");
        let block = [0u8; 16];
        let e = |k| ck!(s.encrypt(&Mechanism::AesEcb, k, &block));
        assert_eq!(e(k1), e(k2));
        assert_ne!(e(k1), e(k3));
    }
}
