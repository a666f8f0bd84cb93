//! Objects as a client manages them: create, find, copy, destroy; what is visible before
//! login; what C_GetAttributeValue reveals (sensitive values, lengths, small buffers); and
//! the one-way rules of C_SetAttributeValue.

mod common;

use common::keys::{attr_bool, secret_template, Curve};
use common::{Options, Token};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki_sys::*;

fn data(label: &str, private: bool, token: bool) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(token),
        Attribute::Private(private),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Application(b"pqhsm tests".to_vec()),
        Attribute::Value(format!("value of {label}").into_bytes()),
    ]
}

fn find_label(s: &Session, label: &str) -> Vec<ObjectHandle> {
    ck!(s.find_objects(&[Attribute::Label(label.as_bytes().to_vec())]))
}

/// A configuration that lets pqhsm hold extractable, non-sensitive keys (its default
/// refuses them); SoftHSM2 ignores it.
fn extractable_policy() -> Options {
    Options::pqhsm_conf("[policy]\nallow_extractable = true\n")
}

both_backends! {
    /// C_CreateObject, C_FindObjects with several templates, C_CopyObject with changes,
    /// C_DestroyObject, and the handle going invalid.
    fn create_find_copy_destroy(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let a = ck!(s.create_object(&data("obj-a", false, true)));
        let c = ck!(s.create_object(&data("obj-c", true, false)));
        assert_eq!(find_label(s, "obj-a"), vec![a]);
        let all_data = ck!(s.find_objects(&[Attribute::Class(ObjectClass::DATA)]));
        assert!(all_data.contains(&a) && all_data.contains(&c) && all_data.len() == 2, "{all_data:?}");
        let on_token = ck!(s.find_objects(&[Attribute::Class(ObjectClass::DATA), Attribute::Token(true)]));
        assert_eq!(on_token, vec![a]);
        assert!(ck!(s.find_objects(&[Attribute::Label(b"no such object".to_vec())])).is_empty());
        assert!(ck!(s.find_objects(&[
            Attribute::Label(b"obj-a".to_vec()),
            Attribute::Private(true)
        ])).is_empty());

        let copy = ck!(s.copy_object(a, &[Attribute::Label(b"obj-b".to_vec())]));
        assert_ne!(copy, a);
        assert_eq!(find_label(s, "obj-b"), vec![copy]);
        let v = ck!(s.get_attributes(copy, &[AttributeType::Value, AttributeType::Application]));
        assert!(v.contains(&Attribute::Value(b"value of obj-a".to_vec())), "{v:?}");
        assert!(v.contains(&Attribute::Application(b"pqhsm tests".to_vec())));

        ck!(s.destroy_object(a));
        assert!(find_label(s, "obj-a").is_empty());
        assert_ckr!(s.get_attributes(a, &[AttributeType::Label]), ObjectHandleInvalid);
        assert_ckr!(s.destroy_object(a), ObjectHandleInvalid);
        assert_eq!(find_label(s, "obj-b"), vec![copy], "destroying the original keeps the copy");

        let (rv, size) = t.raw.object_size(s, copy);
        assert!(rv == CKR_OK || rv == CKR_INFORMATION_SENSITIVE, "C_GetObjectSize: {rv:#x}");
        if rv == CKR_OK {
            assert!(size > 0 || size == CK_UNAVAILABLE_INFORMATION);
        }
    }

    /// Templates a module must refuse, with the code the spec names.
    fn create_object_template_errors(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        assert_ckr!(
            s.create_object(&[Attribute::Token(false), Attribute::Label(b"no class".to_vec())]),
            TemplateIncomplete
        );
        let mut bad_aes = secret_template(KeyType::AES, &[7u8; 15]);
        bad_aes.push(Attribute::Label(b"15-byte AES".to_vec()));
        match (b, s.create_object(&bad_aes)) {
            (common::Backend::SoftHsm2, Ok(_)) => {
                common::note("SoftHSM2 deviation: C_CreateObject accepts a 15-byte AES CKA_VALUE");
            }
            (_, r) => {
                assert_ckr!(r, AttributeValueInvalid | TemplateInconsistent);
            }
        }
        assert_ckr!(
            s.create_object(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::RSA),
                Attribute::Token(false),
                Attribute::PublicExponent(vec![1, 0, 1]),
            ]),
            TemplateIncomplete
        );
        assert_ckr!(
            s.generate_key(&Mechanism::AesKeyGen, &[Attribute::Token(false), Attribute::Encrypt(true)]),
            TemplateIncomplete
        );
        assert_ckr!(
            s.generate_key(&Mechanism::AesKeyGen, &[Attribute::Token(false), Attribute::ValueLen(20.into())]),
            KeySizeRange | AttributeValueInvalid | TemplateInconsistent
        );
        // An attribute type no class has (a vendor number nobody defines).
        let mut unknown = data("unknown attr", false, false);
        unknown.push(Attribute::VendorDefined((
            AttributeType::VendorDefined(CKA_VENDOR_DEFINED | 0x0bad_0001),
            vec![1],
        )));
        assert_ckr!(s.create_object(&unknown), AttributeTypeInvalid | TemplateInconsistent);
    }

    /// Private objects do not exist for a client that has not logged in: not found, not
    /// readable, not creatable; public ones are.
    fn private_objects_invisible_before_login(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let private = ck!(s.create_object(&data("secret-data", true, true)));
        let public = ck!(s.create_object(&data("public-data", false, true)));
        let key = t.gen_aes(16);
        ck!(s.logout());

        assert!(find_label(s, "secret-data").is_empty(), "private object found before login");
        assert_eq!(find_label(s, "public-data"), vec![public]);
        for o in ck!(s.find_objects(&[])) {
            assert!(!attr_bool(s, o, AttributeType::Private), "a private object is visible before login");
        }
        assert_ckr!(
            s.get_attributes(private, &[AttributeType::Value]),
            ObjectHandleInvalid | UserNotLoggedIn
        );
        assert_ckr!(s.create_object(&data("new-private", true, false)), UserNotLoggedIn);
        assert_ckr!(
            s.encrypt(&Mechanism::AesEcb, key, &[0u8; 16]),
            KeyHandleInvalid | ObjectHandleInvalid | UserNotLoggedIn
        );

        // After login the objects are back; their handles may have changed (PKCS#11 lets a
        // module hand out new handles to private objects after a logout).
        ck!(s.login(UserType::User, Some(&common::user_pin())));
        let again = find_label(s, "secret-data");
        assert_eq!(again.len(), 1);
        let v = ck!(s.get_attributes(again[0], &[AttributeType::Value]));
        assert_eq!(v, vec![Attribute::Value(b"value of secret-data".to_vec())]);
        let key = ck!(s.find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)]));
        assert_eq!(key.len(), 1);
        ck!(s.encrypt(&Mechanism::AesEcb, key[0], &[0u8; 16]));
    }

    /// Sensitive values never come out: CKR_ATTRIBUTE_SENSITIVE with ulValueLen set to
    /// CK_UNAVAILABLE_INFORMATION, while the other attributes of the same call are served.
    fn sensitive_attributes_stay_inside(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let aes = t.gen_aes(32);
        let rsa = t.gen_rsa(2048);
        let ec = t.gen_ec(Curve::P256);

        for (what, obj, secret) in [
            ("AES CKA_VALUE", aes, CKA_VALUE),
            ("RSA CKA_PRIVATE_EXPONENT", rsa.private, CKA_PRIVATE_EXPONENT),
            ("RSA CKA_PRIME_1", rsa.private, CKA_PRIME_1),
            ("RSA CKA_COEFFICIENT", rsa.private, CKA_COEFFICIENT),
            ("EC CKA_VALUE", ec.private, CKA_VALUE),
        ] {
            let out = t.raw.get_attribute(s, obj, secret, None);
            assert_ckr!(out, AttributeSensitive);
            assert_eq!(out.len, CK_UNAVAILABLE_INFORMATION as usize, "{what}: length of a sensitive attribute");
            let out = t.raw.get_attribute(s, obj, secret, Some(1024));
            assert_ckr!(out, AttributeSensitive);
            assert!(out.data.iter().all(|b| *b == 0), "{what}: bytes written for a sensitive attribute");

            let (rv, answers) = t.raw.get_attributes(s, obj, &[(CKA_CLASS, Some(8)), (secret, Some(1024)), (CKA_SENSITIVE, Some(1))]);
            assert_ckr!(rv, AttributeSensitive);
            assert_eq!(answers[0].0, 8, "{what}: CKA_CLASS still served");
            assert_eq!(answers[1].0, usize::MAX, "{what}: sensitive length");
            assert_eq!(answers[2].1, vec![CK_TRUE], "{what}: CKA_SENSITIVE still served");
        }
        // Public parts are public.
        let n = t.raw.get_attribute(s, rsa.private, CKA_MODULUS, Some(512)).ok("RSA private CKA_MODULUS");
        assert_eq!(n.len(), 256);
        let n2 = t.raw.get_attribute(s, rsa.public, CKA_MODULUS, Some(512)).ok("RSA public CKA_MODULUS");
        assert_eq!(n, n2);
        ck!(s.get_attributes(ec.public, &[AttributeType::EcPoint]));
    }

    /// C_GetAttributeValue length queries, exact and too-small buffers, unknown types.
    fn attribute_lengths_and_small_buffers(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let label = "a label of 24 characters";
        let obj = ck!(s.create_object(&data(label, false, false)));

        let q = t.raw.get_attribute(s, obj, CKA_LABEL, None);
        assert_ok!(q);
        assert_eq!(q.len, label.len(), "length query");
        let exact = t.raw.get_attribute(s, obj, CKA_LABEL, Some(label.len())).ok("exact buffer");
        assert_eq!(exact, label.as_bytes());
        let big = t.raw.get_attribute(s, obj, CKA_LABEL, Some(100));
        assert_ok!(big);
        assert_eq!(big.len, label.len(), "a larger buffer gets the true length");

        let small = t.raw.get_attribute(s, obj, CKA_LABEL, Some(5));
        assert_ckr!(small, BufferTooSmall);
        assert_eq!(small.len, CK_UNAVAILABLE_INFORMATION as usize, "ulValueLen after CKR_BUFFER_TOO_SMALL");

        let wrong_type = t.raw.get_attribute(s, obj, CKA_MODULUS, Some(256));
        assert_ckr!(wrong_type, AttributeTypeInvalid);
        assert_eq!(wrong_type.len, CK_UNAVAILABLE_INFORMATION as usize);

        // Mixed: one good, one too small, one invalid, in one call.
        let (rv, a) = t.raw.get_attributes(s, obj, &[(CKA_CLASS, Some(8)), (CKA_LABEL, Some(3)), (CKA_MODULUS, None)]);
        assert_ckr!(rv, BufferTooSmall | AttributeTypeInvalid);
        assert_eq!(a[0].0, 8);
        assert_eq!(a[0].1, CKO_DATA.to_ne_bytes());
        assert_eq!(a[1].0, usize::MAX);
        assert_eq!(a[2].0, usize::MAX);
    }

    /// Keys generated sensitive and non-extractable say so for ever: CKA_ALWAYS_SENSITIVE
    /// and CKA_NEVER_EXTRACTABLE are TRUE, CKA_LOCAL is TRUE, and none of it can be undone.
    fn generated_key_protection_attributes(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let aes = t.gen_aes(32);
        let rsa = t.gen_rsa(2048);
        for (what, k) in [("AES", aes), ("RSA private", rsa.private)] {
            for (ty, want) in [
                (AttributeType::Sensitive, true),
                (AttributeType::Extractable, false),
                (AttributeType::AlwaysSensitive, true),
                (AttributeType::NeverExtractable, true),
                (AttributeType::Local, true),
            ] {
                assert_eq!(attr_bool(s, k, ty), want, "{what}: {ty:?}");
            }
            assert_ckr!(s.update_attributes(k, &[Attribute::Sensitive(false)]), AttributeReadOnly);
            assert_ckr!(s.update_attributes(k, &[Attribute::Extractable(true)]), AttributeReadOnly);
            assert_ckr!(s.update_attributes(k, &[Attribute::AlwaysSensitive(false)]), AttributeReadOnly);
            assert_ckr!(s.update_attributes(k, &[Attribute::NeverExtractable(false)]), AttributeReadOnly);
            assert_ckr!(s.update_attributes(k, &[Attribute::Local(false)]), AttributeReadOnly);
            assert_ckr!(s.update_attributes(k, &[Attribute::Class(ObjectClass::DATA)]), AttributeReadOnly);
            assert_ckr!(s.update_attributes(k, &[Attribute::KeyType(KeyType::GENERIC_SECRET)]), AttributeReadOnly);
            // The label can change.
            ck!(s.update_attributes(k, &[Attribute::Label(b"renamed".to_vec())]));
            assert!(find_label(s, "renamed").contains(&k));
            ck!(s.update_attributes(k, &[Attribute::Label(format!("{what} key").into_bytes())]));
        }
    }

    /// CKA_SENSITIVE may only go FALSE -> TRUE, CKA_EXTRACTABLE only TRUE -> FALSE; a key
    /// that was ever readable is not CKA_ALWAYS_SENSITIVE, one that was ever extractable
    /// is not CKA_NEVER_EXTRACTABLE; once sensitive, its value is gone.
    fn set_attribute_one_way_rules(b: Backend) {
        let t = Token::with(b, extractable_policy());
        let s = t.session();
        let key = ck!(s.generate_key(&Mechanism::AesKeyGen, &[
            Attribute::Token(true),
            Attribute::Label(b"readable".to_vec()),
            Attribute::ValueLen(16.into()),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::Encrypt(true),
        ]));
        assert!(!attr_bool(s, key, AttributeType::AlwaysSensitive));
        assert!(!attr_bool(s, key, AttributeType::NeverExtractable));
        let value = t.raw.get_attribute(s, key, CKA_VALUE, Some(16)).ok("CKA_VALUE of a non-sensitive key");
        assert_eq!(value.len(), 16);

        ck!(s.update_attributes(key, &[Attribute::Sensitive(true)]));
        assert_ckr!(t.raw.get_attribute(s, key, CKA_VALUE, Some(16)), AttributeSensitive);
        assert_ckr!(s.update_attributes(key, &[Attribute::Sensitive(false)]), AttributeReadOnly);
        assert!(!attr_bool(s, key, AttributeType::AlwaysSensitive), "it was readable once");

        ck!(s.update_attributes(key, &[Attribute::Extractable(false)]));
        assert_ckr!(s.update_attributes(key, &[Attribute::Extractable(true)]), AttributeReadOnly);
        assert!(!attr_bool(s, key, AttributeType::NeverExtractable), "it was extractable once");

        // The key still works; the rules protect its value, not its use.
        ck!(s.encrypt(&Mechanism::AesEcb, key, &[0u8; 16]));
    }

    /// CKA_MODIFIABLE=FALSE freezes an object; CKA_COPYABLE=FALSE forbids C_CopyObject;
    /// CKA_DESTROYABLE=FALSE forbids C_DestroyObject. And C_CopyObject cannot relax a
    /// key's protection.
    fn modifiable_copyable_destroyable(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let mut frozen = data("frozen", false, false);
        frozen.push(Attribute::Modifiable(false));
        let frozen = ck!(s.create_object(&frozen));
        assert_ckr!(
            s.update_attributes(frozen, &[Attribute::Label(b"thawed".to_vec())]),
            ActionProhibited | AttributeReadOnly
        );

        let mut key_t = secret_template(KeyType::AES, &[9u8; 16]);
        key_t.push(Attribute::Copyable(false));
        let no_copy = ck!(s.create_object(&key_t));
        assert_ckr!(s.copy_object(no_copy, &[Attribute::Label(b"copy".to_vec())]), ActionProhibited);

        let aes = t.gen_aes(16);
        assert_ckr!(s.copy_object(aes, &[Attribute::Sensitive(false)]), AttributeReadOnly | TemplateInconsistent);
        assert_ckr!(s.copy_object(aes, &[Attribute::Extractable(true)]), AttributeReadOnly | TemplateInconsistent);
        let copy = ck!(s.copy_object(aes, &[Attribute::Label(b"aes copy".to_vec())]));
        assert!(attr_bool(s, copy, AttributeType::Sensitive));
        assert!(!attr_bool(s, copy, AttributeType::Extractable));
        // The copy is the same key.
        let block = [0x5au8; 16];
        assert_eq!(
            ck!(s.encrypt(&Mechanism::AesEcb, aes, &block)),
            ck!(s.encrypt(&Mechanism::AesEcb, copy, &block))
        );

        let mut pinned = data("pinned", false, false);
        pinned.push(Attribute::Destroyable(false));
        match s.create_object(&pinned) {
            Ok(h) => {
                assert_ckr!(s.destroy_object(h), ActionProhibited);
            }
            Err(e) => {
                assert!(!t.is_pqhsm(), "pqhsm must support CKA_DESTROYABLE (PKCS#11 3.0): {e}");
                common::note(&format!("SoftHSM2 refuses CKA_DESTROYABLE=FALSE on create: {e}"));
            }
        }
    }

    /// C_WrapKey of a key that is not extractable is CKR_KEY_UNEXTRACTABLE.
    fn wrap_of_unextractable_key_refused(b: Backend) {
        let t = Token::new(b);
        if !t.require(&[CKM_AES_KEY_WRAP]) {
            return;
        }
        let s = t.session();
        let kek = t.gen_aes(32);
        let target = t.gen_aes(16);
        assert_ckr!(s.wrap_key(&Mechanism::AesKeyWrap, kek, target), KeyUnextractable);
        let rsa = t.gen_rsa(2048);
        let mut m = common::raw::mechanism::<u8>(CKM_AES_KEY_WRAP_PAD, None);
        if t.has(CKM_AES_KEY_WRAP_PAD) {
            assert_ckr!(t.raw.wrap_key(s, &mut m, kek, rsa.private, Some(4096)), KeyUnextractable);
        }
        let mut m = common::raw::mechanism::<u8>(common::CKM_AES_KEY_WRAP_KWP, None);
        if t.has(common::CKM_AES_KEY_WRAP_KWP) {
            assert_ckr!(t.raw.wrap_key(s, &mut m, kek, rsa.private, Some(4096)), KeyUnextractable);
        }
    }
}
