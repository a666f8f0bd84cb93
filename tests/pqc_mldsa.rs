//! ML-DSA (FIPS 204) through PKCS#11 3.2: key pairs of every parameter set, CKM_ML_DSA with
//! and without CK_SIGN_ADDITIONAL_CONTEXT (hedged and deterministic), single- and multi-part
//! signing and every verification form, HashML-DSA (CKM_HASH_ML_DSA single-part over a
//! pre-hash, CKM_HASH_ML_DSA_SHA256/384/512 on the message), key import and sealing. Every
//! signature is also checked by the independent `fips204` crate, and fips204's signatures
//! verify in the token. SoftHSM2 has no ML-DSA: pqhsm only.

mod common;

use common::hash::Hash;
use common::keys::import_secret;
use common::keys::KeyPair;
use common::pqc::{self, BytePair, Family, HashVerifyFn, Set, VerifyFn, ML_DSA};
use common::{Options, Token};
use cryptoki::mechanism::dsa::{HashSignAdditionalContext, HedgeType, SignAdditionalContext};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki_sys::*;
use fips204::traits::{KeyGen, SerDes, Signer, Verifier};
use fips204::Ph;

/// fips204 for one parameter set, on raw bytes.
struct Reference {
    /// ξ -> (public key, expanded private key).
    keygen: fn(&[u8; 32]) -> BytePair,
    verify: VerifyFn,
    hash_verify: HashVerifyFn<Ph>,
    /// The FIPS 204 deterministic variant (rnd = 0).
    sign_deterministic: SignFn,
    /// Hedged, from the OS RNG.
    sign: SignFn,
    hash_sign: HashSignFn,
}

/// (private key, message, context) -> signature.
type SignFn = fn(&[u8], &[u8], &[u8]) -> Vec<u8>;
/// (private key, message, context, pre-hash) -> hedged signature.
type HashSignFn = fn(&[u8], &[u8], &[u8], &Ph) -> Vec<u8>;

macro_rules! reference {
    ($m:ident) => {{
        use fips204::$m::{PrivateKey, PublicKey, KG};
        fn pk(b: &[u8]) -> Option<PublicKey> {
            PublicKey::try_from_bytes(b.try_into().ok()?).ok()
        }
        fn sk(b: &[u8]) -> PrivateKey {
            PrivateKey::try_from_bytes(b.try_into().expect("sk size")).expect("a private key")
        }
        Reference {
            keygen: |xi| {
                let (pk, sk) = KG::keygen_from_seed(xi);
                (pk.into_bytes().to_vec(), sk.into_bytes().to_vec())
            },
            verify: |k, msg, sig, ctx| match (pk(k), sig.try_into()) {
                (Some(k), Ok(sig)) => k.verify(msg, &sig, ctx),
                _ => false,
            },
            hash_verify: |k, msg, sig, ctx, ph| match (pk(k), sig.try_into()) {
                (Some(k), Ok(sig)) => k.hash_verify(msg, &sig, ctx, ph),
                _ => false,
            },
            sign_deterministic: |k, msg, ctx| {
                sk(k)
                    .try_sign_with_seed(&[0; 32], msg, ctx)
                    .expect("fips204 signs")
                    .to_vec()
            },
            sign: |k, msg, ctx| sk(k).try_sign(msg, ctx).expect("fips204 signs").to_vec(),
            hash_sign: |k, msg, ctx, ph| {
                sk(k)
                    .try_hash_sign(msg, ctx, ph)
                    .expect("fips204 signs")
                    .to_vec()
            },
        }
    }};
}

fn reference(set: Set) -> Reference {
    match set.ckp {
        CKP_ML_DSA_44 => reference!(ml_dsa_44),
        CKP_ML_DSA_65 => reference!(ml_dsa_65),
        CKP_ML_DSA_87 => reference!(ml_dsa_87),
        other => panic!("no ML-DSA parameter set {other}"),
    }
}

fn ml_dsa(hedge: HedgeType, context: Option<&[u8]>) -> Mechanism<'_> {
    pqc::signing(Family::MlDsa, hedge, context)
}

/// CKM_HASH_ML_DSA_SHA256/384/512: the token hashes the message.
fn hash_ml_dsa(hash: Hash, p: SignAdditionalContext<'_>) -> Mechanism<'_> {
    match hash {
        Hash::Sha256 => Mechanism::HashMlDsaSha256(p),
        Hash::Sha384 => Mechanism::HashMlDsaSha384(p),
        Hash::Sha512 => Mechanism::HashMlDsaSha512(p),
    }
}

/// CKM_HASH_ML_DSA: the caller's pre-hash, its hash named in the parameter.
fn pre_hashed(hash: Hash, hedge: HedgeType, context: Option<&[u8]>) -> Mechanism<'_> {
    Mechanism::HashMlDsa(HashSignAdditionalContext::new(
        hedge,
        context,
        hash.mechanism_type(),
    ))
}

/// The pre-hash fips204 also knows (it has no SHA-384).
fn ph(hash: Hash) -> Option<Ph> {
    match hash {
        Hash::Sha256 => Some(Ph::SHA256),
        Hash::Sha384 => None,
        Hash::Sha512 => Some(Ph::SHA512),
    }
}

/// A key pair imported from the seed ξ, with the bytes fips204 derives from it.
struct Known {
    kp: KeyPair,
    public: Vec<u8>,
    private: Vec<u8>,
}

fn known(s: &Session, set: Set, xi: [u8; 32]) -> Known {
    let (public, private) = (reference(set).keygen)(&xi);
    let kp = KeyPair {
        private: ck!(pqc::import_private(s, set, Some(&xi), None)),
        public: ck!(pqc::import_public(s, set, &public)),
    };
    Known {
        kp,
        public,
        private,
    }
}

const MSG: &[u8] = b"a message of some length, signed in the token and checked outside it";
const CTX: &[u8] = b"pqhsm integration";

/// id-ml-dsa-44/65/87 (NIST arc 2.16.840.1.101.3.4.3).
fn oid(set: Set) -> String {
    let arc = match set.ckp {
        CKP_ML_DSA_44 => 17,
        CKP_ML_DSA_65 => 18,
        _ => 19,
    };
    format!("2.16.840.1.101.3.4.3.{arc}")
}

fn sig_checks(s: &Session, set: Set, m: &Mechanism, public: ObjectHandle, sig: &[u8]) {
    assert_eq!(sig.len(), set.output_len, "{}: signature length", set.name);
    let mut bad = sig.to_vec();
    bad[sig.len() / 2] ^= 0x10;
    assert_ckr!(s.verify(m, public, MSG, &bad), SignatureInvalid);
    assert_ckr!(
        s.verify(m, public, MSG, &sig[1..]),
        SignatureLenRange | SignatureInvalid
    );
    assert_ckr!(s.verify(m, public, &MSG[1..], sig), SignatureInvalid);
}

pqhsm_only! {
    /// Key pairs of ML-DSA-44/65/87: CKA_PARAMETER_SET from the public template, readable on
    /// both halves; the FIPS 204 public key in CKA_VALUE and in an SPKI with the NIST OID;
    /// CKA_SEED (ξ) and CKA_VALUE (the expanded key) sealed.
    fn key_pairs_of_every_parameter_set(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        assert!(t.require(&[CKM_ML_DSA_KEY_PAIR_GEN, CKM_ML_DSA, CKM_HASH_ML_DSA, CKM_HASH_ML_DSA_SHA256]));
        for set in ML_DSA {
            let kp = pqc::generate(s, set, &t.label(set.name));
            assert_eq!(pqc::parameter_set(s, kp.public), set.ckp, "{}: public", set.name);
            assert_eq!(pqc::parameter_set(s, kp.private), set.ckp, "{}: private", set.name);
            let public = pqc::public_value(s, kp.public);
            assert_eq!(public.len(), set.public_len, "{}", set.name);
            for half in [kp.public, kp.private] {
                assert_eq!(pqc::public_key_info(s, half), (oid(set), public.clone()));
            }
            pqc::assert_sealed(&t, kp.private, &[CKA_SEED, CKA_VALUE], set.name);
        }
        pqc::assert_parameter_set_not_supported(
            pqc::generate_with(s, Set { ckp: 4, ..ML_DSA[0] }, "bad", vec![], vec![]),
            "C_GenerateKeyPair with CKA_PARAMETER_SET 4",
        );
    }

    /// CKM_ML_DSA without a parameter and with a context, hedged: token signatures verify in
    /// every 3.2 form and in fips204, differ each time, and fail on another context, message
    /// or a changed signature; fips204's signatures verify in the token.
    fn pure_signatures_interoperate_with_fips204(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_DSA {
            let r = reference(set);
            let kp = pqc::generate(s, set, &t.label(set.name));
            let public = pqc::public_value(s, kp.public);

            let bare = ml_dsa(HedgeType::Preferred, None);
            let sig = ck!(s.sign(&bare, kp.private, MSG));
            pqc::verify_every_way(s, &bare, kp.public, MSG, &sig);
            assert!((r.verify)(&public, MSG, &sig, b""), "{}: fips204, empty context", set.name);
            sig_checks(s, set, &bare, kp.public, &sig);

            let with_ctx = ml_dsa(HedgeType::Required, Some(CTX));
            let sig = ck!(s.sign(&with_ctx, kp.private, MSG));
            let again = ck!(s.sign(&with_ctx, kp.private, MSG));
            assert_ne!(sig, again, "{}: hedged signatures differ", set.name);
            pqc::verify_every_way(s, &with_ctx, kp.public, MSG, &sig);
            assert!((r.verify)(&public, MSG, &sig, CTX), "{}: fips204 with context", set.name);
            assert!(!(r.verify)(&public, MSG, &sig, b""), "{}: the context is bound", set.name);
            assert_ckr!(s.verify(&bare, kp.public, MSG, &sig), SignatureInvalid);
            assert_ckr!(s.verify(&ml_dsa(HedgeType::Preferred, Some(b"other")), kp.public, MSG, &sig), SignatureInvalid);

            // Multi-part signing gives a signature as good as single-part.
            let third = MSG.len() / 3;
            let parts = pqc::sign_in_parts(s, &with_ctx, kp.private, &[&MSG[..third], &MSG[third..]]);
            assert!((r.verify)(&public, MSG, &parts, CTX), "{}: multi-part signature", set.name);

            let k = known(s, set, [0x65; 32]);
            let theirs = (r.sign)(&k.private, MSG, CTX);
            pqc::verify_every_way(s, &with_ctx, k.kp.public, MSG, &theirs);
        }
    }

    /// CKH_DETERMINISTIC_REQUIRED: the same signature every time, byte for byte FIPS 204's
    /// deterministic signature (fips204 with rnd = 0), single- and multi-part alike.
    fn deterministic_signatures_match_fips204(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_DSA {
            let r = reference(set);
            let k = known(s, set, [0x44; 32]);
            for ctx in [None, Some(CTX)] {
                let m = ml_dsa(HedgeType::DeterministicRequired, ctx);
                let one = ck!(s.sign(&m, k.kp.private, MSG));
                assert_eq!(one, ck!(s.sign(&m, k.kp.private, MSG)), "{}: twice", set.name);
                let expected = (r.sign_deterministic)(&k.private, MSG, ctx.unwrap_or(b""));
                assert_eq!(one, expected, "{}: FIPS 204 deterministic signature", set.name);
                let parts = pqc::sign_in_parts(s, &m, k.kp.private, &[&MSG[..5], &MSG[5..]]);
                assert_eq!(parts, one, "{}: multi-part equals single-part", set.name);
            }
        }
    }

    /// FIPS 204 contexts are at most 255 bytes: 255 works, 256 is refused at init.
    fn context_of_256_bytes_is_refused(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let set = ML_DSA[0];
        let kp = pqc::generate(s, set, &t.label(set.name));
        let (ok, long) = ([7u8; 255], [7u8; 256]);
        let m = ml_dsa(HedgeType::Preferred, Some(&ok));
        let sig = ck!(s.sign(&m, kp.private, MSG));
        assert!((reference(set).verify)(&pqc::public_value(s, kp.public), MSG, &sig, &ok));
        pqc::verify_every_way(s, &m, kp.public, MSG, &sig);
        let m = ml_dsa(HedgeType::Preferred, Some(&long));
        assert_ckr!(s.sign_init(&m, kp.private), MechanismParamInvalid);
        assert_ckr!(s.verify_init(&m, kp.public), MechanismParamInvalid);
        assert_ckr!(s.verify_signature_init(&m, kp.public, &sig), MechanismParamInvalid);
        let h = pre_hashed(Hash::Sha256, HedgeType::Preferred, Some(&long));
        assert_ckr!(s.sign_init(&h, kp.private), MechanismParamInvalid);
    }

    /// CKM_HASH_ML_DSA signs the caller's pre-hash in one call only (C_SignUpdate,
    /// C_VerifyUpdate and C_VerifySignatureUpdate are refused); the signature is FIPS 204
    /// HashML-DSA over the message, and only a hash of the named length is taken.
    fn hash_ml_dsa_is_single_part_over_a_pre_hash(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_DSA {
            let r = reference(set);
            let kp = pqc::generate(s, set, &t.label(set.name));
            let public = pqc::public_value(s, kp.public);
            for hash in Hash::ALL {
                let m = pre_hashed(hash, HedgeType::Preferred, Some(CTX));
                let digest = hash.digest(MSG);
                let sig = pqc::check_single_part(s, &m, kp, &digest);
                if let Some(ph) = ph(hash) {
                    assert!((r.hash_verify)(&public, MSG, &sig, CTX, &ph), "{}: fips204 HashML-DSA {hash:?}", set.name);
                }
                // HashML-DSA is not pure ML-DSA over the hash.
                assert_ckr!(s.verify(&ml_dsa(HedgeType::Preferred, Some(CTX)), kp.public, &digest, &sig), SignatureInvalid);
                assert_ckr!(s.sign(&m, kp.private, &digest[1..]), DataLenRange);
                let mut long = digest.clone();
                long.push(0);
                assert_ckr!(s.sign(&m, kp.private, &long), DataLenRange);
            }
        }
    }

    /// CKM_HASH_ML_DSA_SHA256/384/512 hash on the token, single- or multi-part: the same
    /// signature as CKM_HASH_ML_DSA over the pre-hash (deterministic), fips204 agrees both
    /// ways where it knows the hash.
    fn hash_ml_dsa_with_sha2_on_the_token(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_DSA {
            let r = reference(set);
            let k = known(s, set, [0x87; 32]);
            for hash in Hash::ALL {
                let hedged = hash_ml_dsa(hash, SignAdditionalContext::new(HedgeType::Preferred, Some(CTX)));
                let sig = ck!(s.sign(&hedged, k.kp.private, MSG));
                assert_eq!(sig.len(), set.output_len);
                pqc::verify_every_way(s, &hedged, k.kp.public, MSG, &sig);
                let parts = pqc::sign_in_parts(s, &hedged, k.kp.private, &[&MSG[..9], &MSG[9..]]);
                pqc::verify_every_way(s, &hedged, k.kp.public, MSG, &parts);
                let pre = pre_hashed(hash, HedgeType::Preferred, Some(CTX));
                ck!(s.verify(&pre, k.kp.public, &hash.digest(MSG), &sig));
                assert_ckr!(s.verify(&ml_dsa(HedgeType::Preferred, Some(CTX)), k.kp.public, MSG, &sig), SignatureInvalid);

                let det = hash_ml_dsa(hash, SignAdditionalContext::new(HedgeType::DeterministicRequired, Some(CTX)));
                let on_token = ck!(s.sign(&det, k.kp.private, MSG));
                let by_caller = ck!(s.sign(&pre_hashed(hash, HedgeType::DeterministicRequired, Some(CTX)), k.kp.private, &hash.digest(MSG)));
                assert_eq!(on_token, by_caller, "{}: {hash:?} on the token = pre-hashed by the caller", set.name);

                if let Some(ph) = ph(hash) {
                    assert!((r.hash_verify)(&k.public, MSG, &sig, CTX, &ph), "{}: fips204 verifies {hash:?}", set.name);
                    let theirs = (r.hash_sign)(&k.private, MSG, CTX, &ph);
                    pqc::verify_every_way(s, &hedged, k.kp.public, MSG, &theirs);
                    ck!(s.verify(&pre, k.kp.public, &hash.digest(MSG), &theirs));
                }
            }
        }
    }

    /// C_CreateObject of ML-DSA private keys by ξ, by the expanded key or both (agreeing);
    /// disagreeing parts are refused; imported keys are sealed and sign as fips204 does.
    fn import_by_seed_expanded_or_both(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for set in ML_DSA {
            let r = reference(set);
            let xi = [0x21; 32];
            let (public, expanded) = (r.keygen)(&xi);
            let (_, other) = (r.keygen)(&[0x22; 32]);
            let by_seed = pqc::check_seeded_imports(&t, set, &xi, &expanded, &public, &other);
            let by_value = ck!(pqc::import_private(s, set, None, Some(&expanded)));
            let m = ml_dsa(HedgeType::DeterministicRequired, Some(CTX));
            let expected = (r.sign_deterministic)(&expanded, MSG, CTX);
            for k in [by_seed, by_value] {
                assert_eq!(ck!(s.sign(&m, k, MSG)), expected, "{}: imported key signs", set.name);
            }
            assert_ckr!(pqc::import_public(s, set, &public[1..]), AttributeValueInvalid);
        }
    }

    /// CKA_SIGN and CKA_VERIFY decide what an ML-DSA key may do.
    fn usage_flags_are_enforced(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let set = ML_DSA[1];
        let kp = ck!(pqc::generate_with(
            s,
            set,
            &t.label("off"),
            vec![Attribute::Verify(false)],
            vec![Attribute::Sign(false)],
        ));
        let m = ml_dsa(HedgeType::Preferred, None);
        assert_ckr!(s.sign_init(&m, kp.private), KeyFunctionNotPermitted);
        assert_ckr!(s.verify_init(&m, kp.public), KeyFunctionNotPermitted);
        assert_ckr!(s.verify_signature_init(&m, kp.public, &[0; 3309]), KeyFunctionNotPermitted);
        // The halves swapped are refused too.
        let on = pqc::generate(s, set, &t.label("on"));
        assert_ckr!(s.sign_init(&m, on.public), KeyTypeInconsistent | KeyFunctionNotPermitted);
        assert_ckr!(s.verify_init(&m, on.private), KeyTypeInconsistent | KeyFunctionNotPermitted);
    }

    /// The IETF LAMPS PKCS#8 seed-only examples: a key imported from ξ = 00 01 .. 1f and
    /// made extractable (policy permitting) wraps (CKM_AES_CBC_PAD) to exactly the example's
    /// DER, and the example's DER unwraps into a sealed key whose SPKI is the example's public
    /// key and which signs as fips204 does.
    fn lamps_pkcs8_examples_wrap_and_unwrap(b: Backend) {
        let t = Token::with(b, Options::pqhsm_conf("[policy]\nallow_extractable = true\n"));
        let s = t.session();
        let kek = import_secret(s, KeyType::AES, &[0x11; 32]);
        let wrap = Mechanism::AesCbcPad([0x24; 16]);
        let xi: [u8; 32] = std::array::from_fn(|i| i as u8);
        for set in ML_DSA {
            let bits = &set.name[7..];
            let pem = |file: &str| {
                let path = format!("{}/../shared/vectors/lamps-examples/{file}", env!("CARGO_MANIFEST_DIR"));
                let text = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
                der::pem::decode_vec(&text).unwrap_or_else(|e| panic!("{path}: {e}")).1
            };
            let (private_der, public_der) = (pem(&format!("ML-DSA-{bits}-seed.priv")), pem(&format!("ML-DSA-{bits}.pub")));

            let key = ck!(pqc::import_private_with(s, set, Some(&xi), None, vec![Attribute::Extractable(true)]));
            assert_eq!(pqc::public_key_info_der(s, key), public_der, "{}: SPKI of ξ = 0..31", set.name);
            let wrapped = ck!(s.wrap_key(&wrap, kek, key));
            assert_eq!(ck!(s.decrypt(&wrap, kek, &wrapped)), private_der, "{}: LAMPS seed-only PKCS#8", set.name);

            let blob = ck!(s.encrypt(&wrap, kek, &private_der));
            let back = ck!(s.unwrap_key(&wrap, kek, &blob, &[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(KeyType::ML_DSA),
                Attribute::Token(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
            ]));
            assert_eq!(pqc::public_key_info_der(s, back), public_der, "{}: unwrapped key", set.name);
            assert_eq!(pqc::parameter_set(s, back), set.ckp);
            pqc::assert_sealed(&t, back, &[CKA_SEED, CKA_VALUE], set.name);
            let (_, expanded) = (reference(set).keygen)(&xi);
            let m = ml_dsa(HedgeType::DeterministicRequired, None);
            assert_eq!(ck!(s.sign(&m, back, MSG)), (reference(set).sign_deterministic)(&expanded, MSG, b""));
        }
    }

    /// Token keys are sealed in the store and come back after C_Finalize/C_Initialize: the
    /// same key signs the same deterministic signature.
    fn keys_survive_a_module_restart(b: Backend) {
        let mut t = Token::new(b);
        let mut before = Vec::new();
        for set in ML_DSA {
            let label = format!("restart-{}", set.name);
            let kp = pqc::generate(t.session(), set, &label);
            let m = ml_dsa(HedgeType::DeterministicRequired, Some(CTX));
            before.push((set, label, ck!(t.session().sign(&m, kp.private, MSG))));
        }
        t.reinitialize();
        let s = t.session();
        for (set, label, sig) in before {
            let found = ck!(s.find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.into_bytes()),
            ]));
            assert_eq!(found.len(), 1, "{}: the private key after restart", set.name);
            assert_eq!(pqc::parameter_set(s, found[0]), set.ckp);
            let m = ml_dsa(HedgeType::DeterministicRequired, Some(CTX));
            assert_eq!(ck!(s.sign(&m, found[0], MSG)), sig, "{}: same key after restart", set.name);
        }
    }
}
