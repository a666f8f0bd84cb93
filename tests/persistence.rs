//! What survives a module restart: token objects (and only they), usable as before, in
//! the same process after C_Finalize and C_Initialize, as a long-running client sees it.

mod common;

use common::external::{ec_point, ecdsa_verify_prehash, rsa_pkcs1_verify, rsa_public, Hash};
use common::keys::{self, Curve};
use common::Token;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::Session;

fn one(s: &Session, label: &str, class: ObjectClass) -> ObjectHandle {
    let found = ck!(s.find_objects(&[
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Class(class)
    ]));
    assert_eq!(found.len(), 1, "{label} ({class:?}): found {}", found.len());
    found[0]
}

both_backends! {
    /// Keys made before C_Finalize are found by label after C_Initialize and still sign,
    /// decrypt and MAC as before; session objects and destroyed objects are gone.
    fn token_objects_survive_finalize(b: Backend) {
        let mut t = Token::new(b);
        let s = t.session();
        let ec = keys::ec(s, "persist-ec", Curve::P256);
        let rsa = keys::rsa(s, "persist-rsa", 2048);
        let aes = keys::aes(s, "persist-aes", 32);
        let mac_key = keys::generic_secret(s, "persist-mac", 64);
        let point = ec_point(s, ec.public);
        let rsa_pk = rsa_public(s, rsa.public);
        let mut iv = [5u8; 16];
        let ct = ck!(s.encrypt(&Mechanism::AesCbcPad(iv), aes, b"encrypted before the restart"));
        let mac = ck!(s.sign(&Mechanism::Sha256Hmac, mac_key, b"mac before"));
        let doomed = keys::aes(s, "persist-doomed", 16);
        ck!(s.destroy_object(doomed));
        ck!(s.create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(false),
            Attribute::Label(b"persist-session-object".to_vec()),
        ]));

        t.reinitialize();
        let s = t.session();
        let ec_priv = one(s, "persist-ec", ObjectClass::PRIVATE_KEY);
        let ec_pub = one(s, "persist-ec", ObjectClass::PUBLIC_KEY);
        assert_eq!(ec_point(s, ec_pub), point, "the public point survived unchanged");
        let digest = Hash::Sha256.digest(b"signed after the restart");
        let sig = ck!(s.sign(&Mechanism::Ecdsa, ec_priv, &digest));
        assert!(ecdsa_verify_prehash(Curve::P256, &point, &digest, &sig), "EC key after restart");

        let rsa_priv = one(s, "persist-rsa", ObjectClass::PRIVATE_KEY);
        let sig = ck!(s.sign(&Mechanism::Sha256RsaPkcs, rsa_priv, b"rsa after"));
        assert!(rsa_pkcs1_verify(&rsa_pk, Hash::Sha256, b"rsa after", &sig), "RSA key after restart");

        let aes = one(s, "persist-aes", ObjectClass::SECRET_KEY);
        iv = [5u8; 16];
        assert_eq!(ck!(s.decrypt(&Mechanism::AesCbcPad(iv), aes, &ct)), b"encrypted before the restart");
        let mac_key = one(s, "persist-mac", ObjectClass::SECRET_KEY);
        assert_eq!(ck!(s.sign(&Mechanism::Sha256Hmac, mac_key, b"mac before")), mac);

        assert!(ck!(s.find_objects(&[Attribute::Label(b"persist-doomed".to_vec())])).is_empty());
        assert!(ck!(s.find_objects(&[Attribute::Label(b"persist-session-object".to_vec())])).is_empty());
        let info = ck!(t.ctx.get_token_info(t.slot));
        assert!(info.token_initialized() && info.user_pin_initialized());
    }

    /// Changes to attributes and PINs are on disk too.
    fn attribute_and_pin_changes_persist(b: Backend) {
        let mut t = Token::new(b);
        let s = t.session();
        let k = keys::aes(s, "before-rename", 16);
        ck!(s.update_attributes(k, &[Attribute::Label(b"after-rename".to_vec())]));
        ck!(s.set_pin(&common::user_pin(), &common::pin("changed-user-pin")));
        t.reinitialize_logged_out();
        let s = t.session();
        assert_ckr!(s.login(cryptoki::session::UserType::User, Some(&common::user_pin())), PinIncorrect);
        ck!(s.login(cryptoki::session::UserType::User, Some(&common::pin("changed-user-pin"))));
        assert!(ck!(s.find_objects(&[Attribute::Label(b"before-rename".to_vec())])).is_empty());
        let k = one(s, "after-rename", ObjectClass::SECRET_KEY);
        ck!(s.encrypt(&Mechanism::AesEcb, k, &[0u8; 16]));
    }
}
