//! SLH-DSA (FIPS 205) through PKCS#11 3.2: key pairs of all twelve parameter sets, one
//! signature for every fast ("f") set and for SHA2-128s (the "s" sets sign slowly, so the
//! others only generate), contexts, CKM_HASH_SLH_DSA single-part, CKM_HASH_SLH_DSA_SHA256,
//! import by CKA_VALUE, and interoperation with the independent `fips205` crate.
//! SoftHSM2 has no SLH-DSA: pqhsm only.

mod common;

use common::keys::KeyPair;
use common::pqc::{self, BytePair, Family, HashVerifyFn, Set, VerifyFn, SLH_DSA};
use common::Token;
use cryptoki::mechanism::dsa::{HashSignAdditionalContext, HedgeType, SignAdditionalContext};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::Session;
use cryptoki_sys::*;
use fips205::traits::{KeyGen, SerDes, Signer, Verifier};
use fips205::Ph;

const MSG: &[u8] = b"SLH-DSA: a message signed in the token, verified outside it";
const CTX: &[u8] = b"pqhsm";

fn slh_dsa(hedge: HedgeType, context: Option<&[u8]>) -> Mechanism<'_> {
    pqc::signing(Family::SlhDsa, hedge, context)
}

/// id-slh-dsa-* (NIST arc 2.16.840.1.101.3.4.3): SHA2 128s..256f are .20-.25, SHAKE .26-.31.
fn oid(set: Set) -> String {
    let order = [
        CKP_SLH_DSA_SHA2_128S,
        CKP_SLH_DSA_SHA2_128F,
        CKP_SLH_DSA_SHA2_192S,
        CKP_SLH_DSA_SHA2_192F,
        CKP_SLH_DSA_SHA2_256S,
        CKP_SLH_DSA_SHA2_256F,
        CKP_SLH_DSA_SHAKE_128S,
        CKP_SLH_DSA_SHAKE_128F,
        CKP_SLH_DSA_SHAKE_192S,
        CKP_SLH_DSA_SHAKE_192F,
        CKP_SLH_DSA_SHAKE_256S,
        CKP_SLH_DSA_SHAKE_256F,
    ];
    let i = order
        .iter()
        .position(|c| *c == set.ckp)
        .expect("an SLH-DSA set");
    format!("2.16.840.1.101.3.4.3.{}", 20 + i)
}

/// Generate a pair of `set`, check its attributes, and for the fast sets and SHA2-128s make
/// one signature with a context and verify it (in one call and in parts).
fn exercise(b: common::Backend, names: &[&str]) {
    let t = Token::new(b);
    let s = t.session();
    assert!(t.require(&[CKM_SLH_DSA_KEY_PAIR_GEN, CKM_SLH_DSA, CKM_HASH_SLH_DSA]));
    for name in names {
        let set = Set::named(name);
        let kp = pqc::generate(s, set, &t.label(set.name));
        assert_eq!(
            pqc::parameter_set(s, kp.public),
            set.ckp,
            "{}: public",
            set.name
        );
        assert_eq!(
            pqc::parameter_set(s, kp.private),
            set.ckp,
            "{}: private",
            set.name
        );
        let public = pqc::public_value(s, kp.public);
        assert_eq!(public.len(), set.public_len, "{}", set.name);
        for half in [kp.public, kp.private] {
            assert_eq!(
                pqc::public_key_info(s, half),
                (oid(set), public.clone()),
                "{}",
                set.name
            );
        }
        pqc::assert_sealed(&t, kp.private, &[CKA_VALUE], set.name);
        if set.is_fast() || set.ckp == CKP_SLH_DSA_SHA2_128S {
            let m = slh_dsa(HedgeType::Preferred, Some(CTX));
            let sig = ck!(s.sign(&m, kp.private, MSG));
            assert_eq!(sig.len(), set.output_len, "{}: signature length", set.name);
            pqc::verify_every_way(s, &m, kp.public, MSG, &sig);
            assert_ckr!(
                s.verify(&slh_dsa(HedgeType::Preferred, None), kp.public, MSG, &sig),
                SignatureInvalid
            );
            assert_ckr!(
                s.verify(&m, kp.public, MSG, &sig[1..]),
                SignatureLenRange | SignatureInvalid
            );
        }
    }
}

/// fips205 for the sets the cross-checks use, on raw bytes.
struct Reference {
    set: Set,
    /// x -> (public key, private key) from SK.seed = x, SK.prf = x^1, PK.seed = x^2.
    keygen: fn(u8) -> BytePair,
    verify: VerifyFn,
    hash_verify: HashVerifyFn<Ph>,
    sign: SignFn,
    hash_sign: HashSignFn,
}

/// (private key, message, context, hedged) -> signature.
type SignFn = fn(&[u8], &[u8], &[u8], bool) -> Vec<u8>;
/// (private key, message, context, pre-hash, hedged) -> signature.
type HashSignFn = fn(&[u8], &[u8], &[u8], &Ph, bool) -> Vec<u8>;

macro_rules! reference {
    ($m:ident, $name:literal) => {{
        use fips205::$m::{PrivateKey, PublicKey, KG, N};
        fn pk(b: &[u8]) -> Option<PublicKey> {
            PublicKey::try_from_bytes(b.try_into().ok()?).ok()
        }
        fn sk(b: &[u8]) -> PrivateKey {
            PrivateKey::try_from_bytes(b.try_into().expect("sk size")).expect("a private key")
        }
        Reference {
            set: Set::named($name),
            keygen: |x| {
                let (pk, sk) = KG::keygen_with_seeds(&[x; N], &[x ^ 1; N], &[x ^ 2; N]);
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
            sign: |k, msg, ctx, hedged| {
                sk(k)
                    .try_sign(msg, ctx, hedged)
                    .expect("fips205 signs")
                    .to_vec()
            },
            hash_sign: |k, msg, ctx, ph, hedged| {
                sk(k)
                    .try_hash_sign(msg, ctx, ph, hedged)
                    .expect("fips205 signs")
                    .to_vec()
            },
        }
    }};
}

fn references() -> [Reference; 2] {
    [
        reference!(slh_dsa_sha2_128f, "SLH-DSA-SHA2-128f"),
        reference!(slh_dsa_shake_128f, "SLH-DSA-SHAKE-128f"),
    ]
}

/// A key pair imported from fips205's bytes: (pair, public key, private key).
fn known(s: &Session, r: &Reference, x: u8) -> (KeyPair, Vec<u8>, Vec<u8>) {
    let (public, private) = (r.keygen)(x);
    let kp = KeyPair {
        private: ck!(pqc::import_private(s, r.set, None, Some(&private))),
        public: ck!(pqc::import_public(s, r.set, &public)),
    };
    (kp, public, private)
}

/// The twelve sets in six tests (so they run in parallel).
const GROUPS: [[&str; 2]; 6] = [
    ["SLH-DSA-SHA2-128s", "SLH-DSA-SHA2-128f"],
    ["SLH-DSA-SHAKE-128s", "SLH-DSA-SHAKE-128f"],
    ["SLH-DSA-SHA2-192s", "SLH-DSA-SHA2-192f"],
    ["SLH-DSA-SHAKE-192s", "SLH-DSA-SHAKE-192f"],
    ["SLH-DSA-SHA2-256s", "SLH-DSA-SHA2-256f"],
    ["SLH-DSA-SHAKE-256s", "SLH-DSA-SHAKE-256f"],
];

#[test]
fn the_groups_cover_every_parameter_set() {
    let mut named: Vec<&str> = GROUPS.iter().flatten().copied().collect();
    let mut all: Vec<&str> = SLH_DSA.iter().map(|s| s.name).collect();
    named.sort_unstable();
    all.sort_unstable();
    assert_eq!(named, all);
}

pqhsm_only! {
    fn sha2_128(b: Backend) {
        exercise(b, &GROUPS[0]);
    }
    fn shake_128(b: Backend) {
        exercise(b, &GROUPS[1]);
    }
    fn sha2_192(b: Backend) {
        exercise(b, &GROUPS[2]);
    }
    fn shake_192(b: Backend) {
        exercise(b, &GROUPS[3]);
    }
    fn sha2_256(b: Backend) {
        exercise(b, &GROUPS[4]);
    }
    fn shake_256(b: Backend) {
        exercise(b, &GROUPS[5]);
    }

    /// Pure SLH-DSA with a context against fips205: deterministic signatures are identical
    /// byte for byte, hedged ones verify on the other side, both ways; the context binds;
    /// a 256-byte context is refused.
    fn pure_signatures_interoperate_with_fips205(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for r in references() {
            let (kp, public, private) = known(s, &r, 0x5a);
            let det = slh_dsa(HedgeType::DeterministicRequired, Some(CTX));
            let ours = ck!(s.sign(&det, kp.private, MSG));
            assert_eq!(ours, ck!(s.sign(&det, kp.private, MSG)), "{}: deterministic", r.set.name);
            assert_eq!(ours, (r.sign)(&private, MSG, CTX, false), "{}: = fips205", r.set.name);

            let hedged = slh_dsa(HedgeType::Required, Some(CTX));
            let ours = ck!(s.sign(&hedged, kp.private, MSG));
            assert_ne!(ours, ck!(s.sign(&hedged, kp.private, MSG)), "{}: hedged", r.set.name);
            assert!((r.verify)(&public, MSG, &ours, CTX), "{}: fips205 verifies", r.set.name);
            assert!(!(r.verify)(&public, MSG, &ours, b""), "{}: the context is bound", r.set.name);
            let theirs = (r.sign)(&private, MSG, CTX, true);
            pqc::verify_every_way(s, &hedged, kp.public, MSG, &theirs);
            let bare = (r.sign)(&private, MSG, b"", true);
            pqc::verify_every_way(s, &slh_dsa(HedgeType::Preferred, None), kp.public, MSG, &bare);

            // A multi-part deterministic signature is the single-part one.
            let parts = pqc::sign_in_parts(s, &det, kp.private, &[&MSG[..7], &MSG[7..]]);
            assert_eq!(parts, (r.sign)(&private, MSG, CTX, false), "{}: multi-part", r.set.name);

            let long = [1u8; 256];
            assert_ckr!(s.sign_init(&slh_dsa(HedgeType::Preferred, Some(&long)), kp.private), MechanismParamInvalid);
            assert_ckr!(s.verify_init(&slh_dsa(HedgeType::Preferred, Some(&long)), kp.public), MechanismParamInvalid);
            let max = [1u8; 255];
            let sig = ck!(s.sign(&slh_dsa(HedgeType::Preferred, Some(&max)), kp.private, MSG));
            assert!((r.verify)(&public, MSG, &sig, &max), "{}: 255-byte context", r.set.name);
        }
    }

    /// CKM_HASH_SLH_DSA is single-part over the caller's pre-hash; CKM_HASH_SLH_DSA_SHA256
    /// hashes on the token in parts. Both are FIPS 205 HashSLH-DSA as fips205 computes it.
    fn hash_slh_dsa(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let r = &references()[0];
        let (kp, public, private) = known(s, r, 0xa5);
        let digest = common::hash::Hash::Sha256.digest(MSG);
        let pre = |hedge| {
            Mechanism::HashSlhDsa(HashSignAdditionalContext::new(hedge, Some(CTX), MechanismType::SHA256))
        };
        let sig = pqc::check_single_part(s, &pre(HedgeType::Preferred), kp, &digest);
        assert!((r.hash_verify)(&public, MSG, &sig, CTX, &Ph::SHA256), "fips205 HashSLH-DSA");
        assert_ckr!(s.sign(&pre(HedgeType::Preferred), kp.private, &digest[1..]), DataLenRange);
        let det = ck!(s.sign(&pre(HedgeType::DeterministicRequired), kp.private, &digest));
        assert_eq!(det, (r.hash_sign)(&private, MSG, CTX, &Ph::SHA256, false));

        let on_token = Mechanism::HashSlhDsaSha256(SignAdditionalContext::new(HedgeType::DeterministicRequired, Some(CTX)));
        let parts = pqc::sign_in_parts(s, &on_token, kp.private, &[&MSG[..3], &MSG[3..]]);
        assert_eq!(parts, det, "hashing on the token = pre-hashing by the caller");
        pqc::verify_every_way(s, &on_token, kp.public, MSG, &parts);
        let theirs = (r.hash_sign)(&private, MSG, CTX, &Ph::SHA256, true);
        pqc::verify_every_way(s, &on_token, kp.public, MSG, &theirs);
        assert_ckr!(s.verify(&slh_dsa(HedgeType::Preferred, Some(CTX)), kp.public, MSG, &theirs), SignatureInvalid);
    }

    /// C_CreateObject of an SLH-DSA private key by CKA_VALUE (SK.seed‖SK.prf‖PK.seed‖PK.root):
    /// sealed, its public key is PK.seed‖PK.root; a PK.root that does not belong, a wrong
    /// length and a CKA_SEED (SLH-DSA keys have none) are refused.
    fn import_by_value(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        for r in references() {
            let (kp, public, private) = known(s, &r, 0x33);
            pqc::assert_sealed(&t, kp.private, &[CKA_VALUE], r.set.name);
            assert_eq!(pqc::public_key_info(s, kp.private).1, public);
            let det = slh_dsa(HedgeType::DeterministicRequired, None);
            assert_eq!(ck!(s.sign(&det, kp.private, MSG)), (r.sign)(&private, MSG, b"", false));

            let mut bad_root = private.clone();
            *bad_root.last_mut().expect("a key") ^= 1;
            assert_ckr!(pqc::import_private(s, r.set, None, Some(&bad_root)), AttributeValueInvalid);
            assert_ckr!(pqc::import_private(s, r.set, None, Some(&private[1..])), AttributeValueInvalid);
            assert_ckr!(pqc::import_public(s, r.set, &public[1..]), AttributeValueInvalid);
            assert_ckr!(
                pqc::import_private(s, r.set, Some(&private[..r.set.public_len]), Some(&private)),
                AttributeTypeInvalid | TemplateInconsistent
            );
            assert_ckr!(pqc::import_private(s, r.set, None, None), TemplateIncomplete);
        }
        // CKA_PARAMETER_SET is required on import.
        assert_ckr!(
            s.create_object(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::SLH_DSA),
                Attribute::Token(false),
                Attribute::Value(vec![0; 32]),
            ]),
            TemplateIncomplete
        );
    }
}
