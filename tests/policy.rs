//! pqhsm's non-exportable policy: private and secret keys are sensitive and not
//! extractable unless the client asks otherwise AND the configuration allows it
//! (`[policy] allow_extractable = true`). SoftHSM2 has no such policy; pqhsm only.

mod common;

use common::keys::{attr_bool, Curve, ED25519_PARAMS};
use common::{Options, Token};
use cryptoki::mechanism::hkdf::{HkdfParams, HkdfSalt};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki_sys::*;

fn protected(s: &Session, k: ObjectHandle, what: &str) {
    assert!(
        attr_bool(s, k, AttributeType::Sensitive),
        "{what}: CKA_SENSITIVE"
    );
    assert!(
        !attr_bool(s, k, AttributeType::Extractable),
        "{what}: CKA_EXTRACTABLE"
    );
    assert!(
        attr_bool(s, k, AttributeType::AlwaysSensitive),
        "{what}: CKA_ALWAYS_SENSITIVE"
    );
    assert!(
        attr_bool(s, k, AttributeType::NeverExtractable),
        "{what}: CKA_NEVER_EXTRACTABLE"
    );
}

/// Keys generated with templates that say nothing about protection.
fn bare_keys(t: &Token) -> Vec<(&'static str, ObjectHandle)> {
    let s = t.session();
    let aes = ck!(s.generate_key(
        &Mechanism::AesKeyGen,
        &[
            Attribute::Token(true),
            Attribute::ValueLen(32.into()),
            Attribute::Encrypt(true)
        ]
    ));
    let secret = ck!(s.generate_key(
        &Mechanism::GenericSecretKeyGen,
        &[
            Attribute::Token(true),
            Attribute::ValueLen(32.into()),
            Attribute::Sign(true)
        ]
    ));
    let (_, rsa) = ck!(s.generate_key_pair(
        &Mechanism::RsaPkcsKeyPairGen,
        &[
            Attribute::Token(true),
            Attribute::ModulusBits(2048.into()),
            Attribute::Verify(true)
        ],
        &[Attribute::Token(true), Attribute::Sign(true)],
    ));
    let (_, ec) = ck!(s.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[
            Attribute::Token(true),
            Attribute::EcParams(Curve::P256.params()),
            Attribute::Verify(true)
        ],
        &[Attribute::Token(true), Attribute::Sign(true)],
    ));
    let (_, ed) = ck!(s.generate_key_pair(
        &Mechanism::EccEdwardsKeyPairGen,
        &[
            Attribute::Token(true),
            Attribute::EcParams(ED25519_PARAMS.to_vec()),
            Attribute::Verify(true)
        ],
        &[Attribute::Token(true), Attribute::Sign(true)],
    ));
    vec![
        ("AES", aes),
        ("generic secret", secret),
        ("RSA private", rsa),
        ("EC private", ec),
        ("Ed25519 private", ed),
    ]
}

pqhsm_only! {
    /// By default every generated private or secret key is sensitive and non-extractable,
    /// and so is an imported secret key whose template is silent.
    fn keys_are_non_exportable_by_default(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for (what, k) in bare_keys(&t) {
            protected(s, k, what);
            assert_ckr!(t.raw.get_attribute(s, k, CKA_VALUE, Some(1024)), AttributeSensitive | AttributeTypeInvalid);
        }
        let imported = ck!(s.create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(false),
            Attribute::Value(vec![1u8; 16]),
            Attribute::Encrypt(true),
        ]));
        assert!(attr_bool(s, imported, AttributeType::Sensitive), "imported key: CKA_SENSITIVE");
        assert!(!attr_bool(s, imported, AttributeType::Extractable), "imported key: CKA_EXTRACTABLE");
        assert_ckr!(t.raw.get_attribute(s, imported, CKA_VALUE, Some(16)), AttributeSensitive);
    }

    /// Asking for an extractable or readable key is refused by default, whether the key
    /// is generated, imported, unwrapped, derived or copied.
    fn extractable_keys_refused_by_default(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for ask in [Attribute::Extractable(true), Attribute::Sensitive(false)] {
            assert_ckr!(
                s.generate_key(&Mechanism::AesKeyGen, &[Attribute::Token(false), Attribute::ValueLen(16.into()), ask.clone()]),
                TemplateInconsistent | AttributeValueInvalid
            );
            assert_ckr!(
                s.generate_key_pair(
                    &Mechanism::EccKeyPairGen,
                    &[Attribute::Token(false), Attribute::EcParams(Curve::P256.params())],
                    &[Attribute::Token(false), Attribute::Sign(true), ask.clone()],
                ),
                TemplateInconsistent | AttributeValueInvalid
            );
            assert_ckr!(
                s.create_object(&[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::Token(false),
                    Attribute::Value(vec![1u8; 16]),
                    ask.clone(),
                ]),
                TemplateInconsistent | AttributeValueInvalid
            );
            let aes = t.gen_aes(16);
            assert_ckr!(
                s.copy_object(aes, std::slice::from_ref(&ask)),
                AttributeReadOnly | TemplateInconsistent | AttributeValueInvalid
            );
            // Unwrapping a valid blob (RFC 3394 section 4.1) into an extractable key:
            // refused on the template alone.
            let kek = common::keys::import_secret(s, KeyType::AES, &hex::decode("000102030405060708090a0b0c0d0e0f").expect("hex"));
            let blob = hex::decode("1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5").expect("hex");
            assert_ckr!(
                s.unwrap_key(&Mechanism::AesKeyWrap, kek, &blob, &[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::Token(false),
                    ask.clone(),
                ]),
                TemplateInconsistent | AttributeValueInvalid
            );
            // Deriving a readable key from a protected one.
            let base = t.gen_generic_secret(32);
            let p = HkdfParams::new(MechanismType::SHA256, Some(HkdfSalt::Null), Some(b"info"));
            assert_ckr!(
                s.derive_key(&Mechanism::HkdfDerive(p), base, &[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::GENERIC_SECRET),
                    Attribute::Token(false),
                    Attribute::ValueLen(32.into()),
                    ask.clone(),
                ]),
                TemplateInconsistent | AttributeValueInvalid
            );
        }
    }

    /// With `allow_extractable = true` a client may ask for an extractable key and wrap it;
    /// the default for a silent template is still protected.
    fn allow_extractable_permits_wrapping(b: Backend) {
        let t = Token::with(b, Options::pqhsm_conf("[policy]\nallow_extractable = true\n"));
        let s = t.session();
        for (what, k) in bare_keys(&t) {
            protected(s, k, what);
        }
        let kek = t.gen_aes(32);
        let k = ck!(s.generate_key(&Mechanism::AesKeyGen, &[
            Attribute::Token(true),
            Attribute::ValueLen(16.into()),
            Attribute::Extractable(true),
            Attribute::Encrypt(true),
        ]));
        assert!(attr_bool(s, k, AttributeType::Extractable));
        assert!(!attr_bool(s, k, AttributeType::NeverExtractable));
        let wrapped = ck!(s.wrap_key(&Mechanism::AesKeyWrap, kek, k));
        assert_eq!(wrapped.len(), 24);
        let back = ck!(s.unwrap_key(&Mechanism::AesKeyWrap, kek, &wrapped, &[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(false),
            Attribute::Encrypt(true),
        ]));
        let block = [9u8; 16];
        assert_eq!(ck!(s.encrypt(&Mechanism::AesEcb, k, &block)), ck!(s.encrypt(&Mechanism::AesEcb, back, &block)));
        // Still refused for a key that is not extractable.
        let locked = t.gen_aes(16);
        assert_ckr!(s.wrap_key(&Mechanism::AesKeyWrap, kek, locked), KeyUnextractable);
    }
}
