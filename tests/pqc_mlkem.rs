//! ML-KEM (FIPS 203) through PKCS#11 3.2, as a client uses it: key pairs of every parameter
//! set, C_EncapsulateKey into a secret key built from the caller's template, C_DecapsulateKey
//! back to the same key, key import, usage flags, implicit rejection, and interoperation with
//! the independent `fips203` crate. Secrets stay in the token: two keys are shown equal by
//! encrypting (or MACing) the same data with both. SoftHSM2 has no ML-KEM: pqhsm only.

mod common;

use common::interface::Interfaces;
use common::keys::{attr_bytes, import_secret};
use common::pqc::{self, BytePair, Set, ML_DSA, ML_KEM};
use common::Token;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki_sys::*;
use fips203::traits::{Decaps, Encaps, KeyGen, SerDes};

/// The independent implementation for one parameter set, on raw bytes.
struct Reference {
    /// (d, z) -> (encapsulation key, decapsulation key).
    keygen: fn(&[u8; 32], &[u8; 32]) -> BytePair,
    /// encapsulation key -> (shared secret, ciphertext).
    encaps: fn(&[u8]) -> BytePair,
    decaps: fn(&[u8], &[u8]) -> Vec<u8>,
}

macro_rules! reference {
    ($m:ident) => {
        Reference {
            keygen: |d, z| {
                let (ek, dk) = fips203::$m::KG::keygen_from_seed(*d, *z);
                (ek.into_bytes().to_vec(), dk.into_bytes().to_vec())
            },
            encaps: |ek| {
                let ek = fips203::$m::EncapsKey::try_from_bytes(ek.try_into().expect("ek size"))
                    .expect("fips203 takes the token's encapsulation key");
                let (ss, ct) = ek.try_encaps().expect("fips203 encapsulates");
                (ss.into_bytes().to_vec(), ct.into_bytes().to_vec())
            },
            decaps: |dk, ct| {
                let dk = fips203::$m::DecapsKey::try_from_bytes(dk.try_into().expect("dk size"))
                    .expect("a fips203 decapsulation key");
                let ct = fips203::$m::CipherText::try_from_bytes(ct.try_into().expect("ct size"))
                    .expect("a ciphertext");
                dk.try_decaps(&ct)
                    .expect("fips203 decapsulates")
                    .into_bytes()
                    .to_vec()
            },
        }
    };
}

fn reference(set: Set) -> Reference {
    match set.ckp {
        CKP_ML_KEM_512 => reference!(ml_kem_512),
        CKP_ML_KEM_768 => reference!(ml_kem_768),
        CKP_ML_KEM_1024 => reference!(ml_kem_1024),
        other => panic!("no ML-KEM parameter set {other}"),
    }
}

/// A secret key template the new key of C_EncapsulateKey/C_DecapsulateKey is built from:
/// an AES key without CKA_VALUE_LEN (it takes the 32-byte secret) or a generic secret.
fn aes_template() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ]
}

fn generic_template() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Sign(true),
        Attribute::Verify(true),
    ]
}

/// What an AES key does to a fixed block pair: equal outputs mean equal keys.
fn aes_probe(s: &Session, key: ObjectHandle) -> Vec<u8> {
    ck!(s.encrypt(&Mechanism::AesEcb, key, &[0x5a; 32]))
}

fn hmac_probe(s: &Session, key: ObjectHandle) -> Vec<u8> {
    ck!(s.sign(&Mechanism::Sha256Hmac, key, b"ML-KEM shared secret probe"))
}

/// The probe of a known 32-byte secret, through an imported AES key.
fn aes_probe_of(s: &Session, secret: &[u8]) -> Vec<u8> {
    let k = import_secret(s, KeyType::AES, secret);
    let out = aes_probe(s, k);
    ck!(s.destroy_object(k));
    out
}

fn value_len(s: &Session, key: ObjectHandle) -> u64 {
    match ck!(s.get_attributes(key, &[AttributeType::ValueLen])).pop() {
        Some(Attribute::ValueLen(n)) => n.into(),
        other => panic!("CKA_VALUE_LEN: {other:?}"),
    }
}

/// id-alg-ml-kem-512/768/1024 (NIST arc 2.16.840.1.101.3.4.4).
fn oid(set: Set) -> &'static str {
    match set.ckp {
        CKP_ML_KEM_512 => "2.16.840.1.101.3.4.4.1",
        CKP_ML_KEM_768 => "2.16.840.1.101.3.4.4.2",
        _ => "2.16.840.1.101.3.4.4.3",
    }
}

pqhsm_only! {
    /// C_GenerateKeyPair takes the parameter set from the public template; both halves carry
    /// it, the public key is the FIPS 203 encapsulation key (also as an SPKI with the NIST
    /// OID), and the private key's seed and expanded key are sealed.
    fn key_pairs_of_every_parameter_set(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        assert!(t.require(&[CKM_ML_KEM_KEY_PAIR_GEN, CKM_ML_KEM]));
        for set in ML_KEM {
            let kp = pqc::generate(s, set, &t.label(set.name));
            assert_eq!(pqc::parameter_set(s, kp.public), set.ckp, "{}: public", set.name);
            assert_eq!(pqc::parameter_set(s, kp.private), set.ckp, "{}: private", set.name);
            let public = pqc::public_value(s, kp.public);
            assert_eq!(public.len(), set.public_len, "{}: CKA_VALUE", set.name);
            for half in [kp.public, kp.private] {
                assert_eq!(pqc::public_key_info(s, half), (oid(set).to_string(), public.clone()));
            }
            pqc::assert_sealed(&t, kp.private, &[CKA_SEED, CKA_VALUE], set.name);
            assert!(common::keys::attr_bool(s, kp.private, AttributeType::Local));
        }
        // Another ML-KEM parameter set number is refused.
        let bad = Set { ckp: 7, ..ML_KEM[0] };
        pqc::assert_parameter_set_not_supported(
            pqc::generate_with(s, bad, "bad", vec![], vec![]),
            "C_GenerateKeyPair with CKA_PARAMETER_SET 7",
        );
        assert_ckr!(
            s.generate_key_pair(
                &Mechanism::MlKemKeyPairGen,
                &[Attribute::Token(false), Attribute::Encapsulate(true)],
                &[Attribute::Token(false), Attribute::Decapsulate(true)],
            ),
            TemplateIncomplete
        );
    }

    /// Encapsulate with the token public key, decapsulate with the private key: the same
    /// 32-byte secret, as an AES key without CKA_VALUE_LEN and as a generic secret.
    fn encapsulate_and_decapsulate_to_the_same_key(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_KEM {
            let kp = pqc::generate(s, set, &t.label(set.name));
            let (ct, sent) = ck!(s.encapsulate_key(&Mechanism::MlKem, kp.public, &aes_template()));
            assert_eq!(ct.len(), set.output_len, "{}: ciphertext length", set.name);
            assert_eq!(value_len(s, sent), 32, "{}: the AES key takes the whole secret", set.name);
            let got = ck!(s.decapsulate_key(&Mechanism::MlKem, kp.private, &aes_template(), &ct));
            assert_eq!(value_len(s, got), 32);
            assert_eq!(aes_probe(s, sent), aes_probe(s, got), "{}: same AES key", set.name);

            let (ct2, sent) = ck!(s.encapsulate_key(&Mechanism::MlKem, kp.public, &generic_template()));
            assert_ne!(ct, ct2, "{}: every encapsulation is fresh", set.name);
            let got = ck!(s.decapsulate_key(&Mechanism::MlKem, kp.private, &generic_template(), &ct2));
            assert_eq!(hmac_probe(s, sent), hmac_probe(s, got), "{}: same generic secret", set.name);
            // Keys made from a KEM secret are sealed like every other key.
            pqc::assert_sealed(&t, got, &[CKA_VALUE], "decapsulated secret");
        }
    }

    /// The new key of C_EncapsulateKey and of C_DecapsulateKey has CKA_ALWAYS_SENSITIVE,
    /// CKA_NEVER_EXTRACTABLE and CKA_LOCAL FALSE, as PKCS#11 3.2 says (the secret is shared
    /// with the other party); it is still sensitive and unextractable by the token's policy.
    fn kem_secrets_carry_the_history_3_2_gives_them(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let kp = pqc::generate(s, ML_KEM[1], &t.label("kem"));
        let (ct, sent) = ck!(s.encapsulate_key(&Mechanism::MlKem, kp.public, &aes_template()));
        let got = ck!(s.decapsulate_key(&Mechanism::MlKem, kp.private, &aes_template(), &ct));
        for (what, k) in [("encapsulated", sent), ("decapsulated", got)] {
            for (ty, want) in [
                (AttributeType::AlwaysSensitive, false),
                (AttributeType::NeverExtractable, false),
                (AttributeType::Local, false),
                (AttributeType::Sensitive, true),
                (AttributeType::Extractable, false),
            ] {
                assert_eq!(common::keys::attr_bool(s, k, ty), want, "{what} key: {ty:?}");
            }
        }
    }

    /// The token and fips203 interoperate both ways: the token encapsulates to a session
    /// public key made from fips203's encapsulation key and fips203 decapsulates it; fips203
    /// encapsulates to the token's public key and the token decapsulates. Each side's secret
    /// is the other's (compared through a key imported from the known secret).
    fn interoperates_with_fips203(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_KEM {
            let r = reference(set);
            let (ek, dk) = (r.keygen)(&[0x11; 32], &[0x22; 32]);
            let public = ck!(pqc::import_public(s, set, &ek));
            assert_eq!(pqc::public_value(s, public), ek);
            let (ct, key) = ck!(s.encapsulate_key(&Mechanism::MlKem, public, &aes_template()));
            let theirs = (r.decaps)(&dk, &ct);
            assert_eq!(aes_probe(s, key), aes_probe_of(s, &theirs), "{}: token encapsulated", set.name);

            let kp = pqc::generate(s, set, &t.label(set.name));
            let (ss, ct) = (r.encaps)(&pqc::public_value(s, kp.public));
            let key = ck!(s.decapsulate_key(&Mechanism::MlKem, kp.private, &aes_template(), &ct));
            assert_eq!(aes_probe(s, key), aes_probe_of(s, &ss), "{}: fips203 encapsulated", set.name);
        }
    }

    /// C_EncapsulateKey with a NULL ciphertext buffer reports the ciphertext length and
    /// makes no key; a buffer one byte short gets CKR_BUFFER_TOO_SMALL with the length and
    /// makes no key either; the right size makes one (cryptoki always asks the length first,
    /// so these calls go through the 3.2 function list directly).
    fn length_query_and_short_buffer_make_no_key(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let iface = Interfaces::load(&b.module_path());
        for set in ML_KEM {
            let kp = pqc::generate(s, set, &t.label(set.name));
            let before = pqc::object_count(s);
            let q = iface.encapsulate(s, &Mechanism::MlKem, kp.public, &aes_template(), None);
            assert_ok!(q.rv);
            assert_eq!(q.len, set.output_len, "{}: reported ciphertext length", set.name);
            assert_eq!(q.key, CK_INVALID_HANDLE, "{}: no key handle written", set.name);
            let short = iface.encapsulate(s, &Mechanism::MlKem, kp.public, &aes_template(), Some(set.output_len - 1));
            assert_ckr!(short.rv, BufferTooSmall);
            assert_eq!(short.len, set.output_len, "{}: the length needed", set.name);
            assert_eq!(short.key, CK_INVALID_HANDLE);
            assert_eq!(pqc::object_count(s), before, "{}: no object made", set.name);

            let done = iface.encapsulate(s, &Mechanism::MlKem, kp.public, &aes_template(), Some(set.output_len));
            assert_ok!(done.rv);
            assert_eq!(done.ciphertext.len(), set.output_len);
            assert_ne!(done.key, CK_INVALID_HANDLE);
            assert_eq!(pqc::object_count(s), before + 1, "{}: one key made", set.name);
            // cryptoki makes handles only itself: find the one the raw call returned.
            let key = ck!(s.find_objects(&[]))
                .into_iter()
                .find(|h| h.handle() == done.key)
                .expect("the new key is visible");
            let got = ck!(s.decapsulate_key(&Mechanism::MlKem, kp.private, &aes_template(), &done.ciphertext));
            assert_eq!(aes_probe(s, key), aes_probe(s, got));
        }
    }

    /// CKA_ENCAPSULATE and CKA_DECAPSULATE decide what a key may do; keys of the wrong class
    /// or family are refused.
    fn usage_flags_and_key_types_are_enforced(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let set = ML_KEM[1];
        let off = ck!(pqc::generate_with(
            s,
            set,
            &t.label("off"),
            vec![Attribute::Encapsulate(false)],
            vec![Attribute::Decapsulate(false)],
        ));
        assert_ckr!(s.encapsulate_key(&Mechanism::MlKem, off.public, &aes_template()), KeyFunctionNotPermitted);
        let on = pqc::generate(s, set, &t.label("on"));
        let (ct, _) = ck!(s.encapsulate_key(&Mechanism::MlKem, on.public, &aes_template()));
        assert_ckr!(
            s.decapsulate_key(&Mechanism::MlKem, off.private, &aes_template(), &ct),
            KeyFunctionNotPermitted
        );
        // The halves swapped, and an ML-DSA key, are not ML-KEM encapsulation keys.
        assert_ckr!(
            s.encapsulate_key(&Mechanism::MlKem, on.private, &aes_template()),
            KeyTypeInconsistent | KeyHandleInvalid
        );
        assert_ckr!(
            s.decapsulate_key(&Mechanism::MlKem, on.public, &aes_template(), &ct),
            KeyTypeInconsistent | KeyHandleInvalid
        );
        let dsa = pqc::generate(s, ML_DSA[0], &t.label("dsa"));
        assert_ckr!(s.encapsulate_key(&Mechanism::MlKem, dsa.public, &aes_template()), KeyTypeInconsistent);
        // The new key's template is checked like any other: a private key class is refused.
        let mut wrong = aes_template();
        wrong[0] = Attribute::Class(ObjectClass::PRIVATE_KEY);
        assert_ckr!(s.encapsulate_key(&Mechanism::MlKem, on.public, &wrong), TemplateInconsistent);
    }

    /// FIPS 203 implicit rejection: a tampered ciphertext decapsulates without error to
    /// another secret, the one FIPS 203 prescribes (fips203 computes it from the same key).
    fn implicit_rejection_of_a_tampered_ciphertext(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_KEM {
            let r = reference(set);
            let (d, z) = ([0x31; 32], [0x32; 32]);
            let (ek, dk) = (r.keygen)(&d, &z);
            let private = ck!(pqc::import_private(s, set, Some(&[d, z].concat()), None));
            let (ss, ct) = (r.encaps)(&ek);
            let mut bad = ct.clone();
            bad[ct.len() / 2] ^= 0x01;
            let rejected = ck!(s.decapsulate_key(&Mechanism::MlKem, private, &aes_template(), &bad));
            let again = ck!(s.decapsulate_key(&Mechanism::MlKem, private, &aes_template(), &bad));
            let probe = aes_probe(s, rejected);
            assert_ne!(probe, aes_probe_of(s, &ss), "{}: not the encapsulated secret", set.name);
            assert_eq!(probe, aes_probe(s, again), "{}: the same rejection secret each time", set.name);
            assert_eq!(probe, aes_probe_of(s, &(r.decaps)(&dk, &bad)), "{}: FIPS 203's rejection secret", set.name);
        }
    }

    /// A ciphertext of the wrong length is refused with CKR_WRAPPED_KEY_LEN_RANGE (the code
    /// PKCS#11 3.2 lists for C_DecapsulateKey) and makes no key.
    fn wrong_length_ciphertext_is_refused(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_KEM {
            let kp = pqc::generate(s, set, &t.label(set.name));
            let (ct, _) = ck!(s.encapsulate_key(&Mechanism::MlKem, kp.public, &aes_template()));
            let before = pqc::object_count(s);
            for len in [0, ct.len() - 1, ct.len() + 1, ML_KEM[2].output_len + 1] {
                let mut bad = ct.clone();
                bad.resize(len, 0);
                assert_ckr!(
                    s.decapsulate_key(&Mechanism::MlKem, kp.private, &aes_template(), &bad),
                    WrappedKeyLenRange
                );
            }
            assert_eq!(pqc::object_count(s), before, "{}: no key made", set.name);
        }
    }

    /// C_CreateObject: private keys by seed d‖z, by expanded key, or both when they agree;
    /// public keys by CKA_VALUE, checked (a wrong-length key is refused). Imported keys work.
    fn import_by_seed_expanded_or_both(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_KEM {
            let r = reference(set);
            let (d, z) = ([0x41; 32], [0x42; 32]);
            let (ek, dk) = (r.keygen)(&d, &z);
            let (_, other_dk) = (r.keygen)(&[0x43; 32], &z);
            let private = pqc::check_seeded_imports(&t, set, &[d, z].concat(), &dk, &ek, &other_dk);
            let (ss, ct) = (r.encaps)(&ek);
            let key = ck!(s.decapsulate_key(&Mechanism::MlKem, private, &aes_template(), &ct));
            assert_eq!(aes_probe(s, key), aes_probe_of(s, &ss), "{}: imported key decapsulates", set.name);
            assert_ckr!(pqc::import_public(s, set, &ek[1..]), AttributeValueInvalid);
            let public = ck!(pqc::import_public(s, set, &ek));
            assert_eq!(attr_bytes(s, public, AttributeType::Value), ek);
            assert_eq!(pqc::parameter_set(s, public), set.ckp);
        }
    }

    /// A token ML-KEM private key comes back sealed after C_Finalize/C_Initialize and
    /// decapsulates an earlier ciphertext to the same secret.
    fn keys_survive_a_module_restart(b: Backend) {
        let mut t = Token::new(b);
        let mut before = Vec::new();
        for set in ML_KEM {
            let label = format!("restart-{}", set.name);
            let s = t.session();
            let kp = pqc::generate(s, set, &label);
            let (ct, key) = ck!(s.encapsulate_key(&Mechanism::MlKem, kp.public, &aes_template()));
            before.push((set, label, ct, aes_probe(s, key)));
        }
        t.reinitialize();
        let s = t.session();
        for (set, label, ct, probe) in before {
            let found = ck!(s.find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.into_bytes()),
            ]));
            assert_eq!(found.len(), 1, "{}: the private key after restart", set.name);
            let key = ck!(s.decapsulate_key(&Mechanism::MlKem, found[0], &aes_template(), &ct));
            assert_eq!(aes_probe(s, key), probe, "{}: same secret after restart", set.name);
        }
    }
}
