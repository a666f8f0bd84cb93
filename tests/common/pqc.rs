//! Post-quantum keys as a PKCS#11 3.2 client makes them: the ML-KEM, ML-DSA and SLH-DSA
//! parameter sets with their FIPS 203/204/205 sizes, key pair generation, C_CreateObject
//! imports, and readers for the attributes tests compare. Nothing here judges a result.

use super::keys::KeyPair;
use crate::ck;
use cryptoki::mechanism::dsa::{HedgeType, SignAdditionalContext};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{
    Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle, ParameterSetType,
};
use cryptoki::session::Session;
use cryptoki::types::Ulong;
use cryptoki_sys::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    MlKem,
    MlDsa,
    SlhDsa,
}

impl Family {
    pub fn key_type(self) -> KeyType {
        match self {
            Family::MlKem => KeyType::ML_KEM,
            Family::MlDsa => KeyType::ML_DSA,
            Family::SlhDsa => KeyType::SLH_DSA,
        }
    }

    pub fn key_pair_gen(self) -> Mechanism<'static> {
        match self {
            Family::MlKem => Mechanism::MlKemKeyPairGen,
            Family::MlDsa => Mechanism::MlDsaKeyPairGen,
            Family::SlhDsa => Mechanism::SlhDsaKeyPairGen,
        }
    }

    /// The usage a key pair of this family is generated for: (public, private).
    fn usage(self) -> (Attribute, Attribute) {
        match self {
            Family::MlKem => (Attribute::Encapsulate(true), Attribute::Decapsulate(true)),
            Family::MlDsa | Family::SlhDsa => (Attribute::Verify(true), Attribute::Sign(true)),
        }
    }
}

/// One parameter set with its sizes in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Set {
    pub family: Family,
    pub name: &'static str,
    pub ckp: CK_ULONG,
    pub public_len: usize,
    /// The expanded private key (CKA_VALUE of the private key object).
    pub private_len: usize,
    /// CKA_SEED: d‖z for ML-KEM, ξ for ML-DSA; SLH-DSA keys have none (0).
    pub seed_len: usize,
    /// The ciphertext (ML-KEM) or signature length.
    pub output_len: usize,
}

const fn set(family: Family, name: &'static str, ckp: CK_ULONG, sizes: [usize; 4]) -> Set {
    Set {
        family,
        name,
        ckp,
        public_len: sizes[0],
        private_len: sizes[1],
        seed_len: sizes[2],
        output_len: sizes[3],
    }
}

pub const ML_KEM: [Set; 3] = [
    set(
        Family::MlKem,
        "ML-KEM-512",
        CKP_ML_KEM_512,
        [800, 1632, 64, 768],
    ),
    set(
        Family::MlKem,
        "ML-KEM-768",
        CKP_ML_KEM_768,
        [1184, 2400, 64, 1088],
    ),
    set(
        Family::MlKem,
        "ML-KEM-1024",
        CKP_ML_KEM_1024,
        [1568, 3168, 64, 1568],
    ),
];

pub const ML_DSA: [Set; 3] = [
    set(
        Family::MlDsa,
        "ML-DSA-44",
        CKP_ML_DSA_44,
        [1312, 2560, 32, 2420],
    ),
    set(
        Family::MlDsa,
        "ML-DSA-65",
        CKP_ML_DSA_65,
        [1952, 4032, 32, 3309],
    ),
    set(
        Family::MlDsa,
        "ML-DSA-87",
        CKP_ML_DSA_87,
        [2592, 4896, 32, 4627],
    ),
];

const SLH: Family = Family::SlhDsa;
pub const SLH_DSA: [Set; 12] = [
    set(
        SLH,
        "SLH-DSA-SHA2-128s",
        CKP_SLH_DSA_SHA2_128S,
        [32, 64, 0, 7856],
    ),
    set(
        SLH,
        "SLH-DSA-SHAKE-128s",
        CKP_SLH_DSA_SHAKE_128S,
        [32, 64, 0, 7856],
    ),
    set(
        SLH,
        "SLH-DSA-SHA2-128f",
        CKP_SLH_DSA_SHA2_128F,
        [32, 64, 0, 17088],
    ),
    set(
        SLH,
        "SLH-DSA-SHAKE-128f",
        CKP_SLH_DSA_SHAKE_128F,
        [32, 64, 0, 17088],
    ),
    set(
        SLH,
        "SLH-DSA-SHA2-192s",
        CKP_SLH_DSA_SHA2_192S,
        [48, 96, 0, 16224],
    ),
    set(
        SLH,
        "SLH-DSA-SHAKE-192s",
        CKP_SLH_DSA_SHAKE_192S,
        [48, 96, 0, 16224],
    ),
    set(
        SLH,
        "SLH-DSA-SHA2-192f",
        CKP_SLH_DSA_SHA2_192F,
        [48, 96, 0, 35664],
    ),
    set(
        SLH,
        "SLH-DSA-SHAKE-192f",
        CKP_SLH_DSA_SHAKE_192F,
        [48, 96, 0, 35664],
    ),
    set(
        SLH,
        "SLH-DSA-SHA2-256s",
        CKP_SLH_DSA_SHA2_256S,
        [64, 128, 0, 29792],
    ),
    set(
        SLH,
        "SLH-DSA-SHAKE-256s",
        CKP_SLH_DSA_SHAKE_256S,
        [64, 128, 0, 29792],
    ),
    set(
        SLH,
        "SLH-DSA-SHA2-256f",
        CKP_SLH_DSA_SHA2_256F,
        [64, 128, 0, 49856],
    ),
    set(
        SLH,
        "SLH-DSA-SHAKE-256f",
        CKP_SLH_DSA_SHAKE_256F,
        [64, 128, 0, 49856],
    ),
];

impl Set {
    /// The set a vector file names ("ML-KEM-768", "SLH-DSA-SHAKE-128f", ...).
    pub fn named(name: &str) -> Set {
        ML_KEM
            .iter()
            .chain(&ML_DSA)
            .chain(&SLH_DSA)
            .copied()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("unknown parameter set {name}"))
    }

    pub fn attribute(self) -> Attribute {
        Attribute::ParameterSet(ParameterSetType::try_from(Ulong::from(self.ckp)).expect("CKP_*"))
    }

    /// SLH-DSA "f" (fast-signing) sets; "s" sets sign about 20 times slower.
    pub fn is_fast(self) -> bool {
        self.name.ends_with('f')
    }
}

fn private_protection() -> Vec<Attribute> {
    vec![
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
    ]
}

/// C_GenerateKeyPair with CKA_PARAMETER_SET in the public template only (as 3.2 says),
/// the family's usage on both halves, token objects, plus `public_extra`/`private_extra`.
pub fn generate_with(
    s: &Session,
    set: Set,
    label: &str,
    public_extra: Vec<Attribute>,
    private_extra: Vec<Attribute>,
) -> cryptoki::error::Result<KeyPair> {
    let (pub_use, priv_use) = set.family.usage();
    let public = vec![
        Attribute::Token(true),
        Attribute::Label(label.into()),
        set.attribute(),
        pub_use,
    ];
    let mut private = vec![
        Attribute::Token(true),
        Attribute::Label(label.into()),
        priv_use,
    ];
    private.extend(private_protection());
    let (public, private) = s.generate_key_pair(
        &set.family.key_pair_gen(),
        &overridden(public, public_extra),
        &overridden(private, private_extra),
    )?;
    Ok(KeyPair { public, private })
}

/// `base` with every attribute of `extra`, which replaces one of the same type.
fn overridden(base: Vec<Attribute>, extra: Vec<Attribute>) -> Vec<Attribute> {
    let mut out: Vec<Attribute> = base
        .into_iter()
        .filter(|a| {
            !extra
                .iter()
                .any(|e| e.attribute_type() == a.attribute_type())
        })
        .collect();
    out.extend(extra);
    out
}

pub fn generate(s: &Session, set: Set, label: &str) -> KeyPair {
    ck!(generate_with(s, set, label, vec![], vec![]))
}

/// A private key session object from CKA_SEED and/or CKA_VALUE (C_CreateObject). The
/// template says nothing about CKA_SENSITIVE/CKA_EXTRACTABLE: the token's policy decides.
pub fn import_private(
    s: &Session,
    set: Set,
    seed: Option<&[u8]>,
    value: Option<&[u8]>,
) -> cryptoki::error::Result<ObjectHandle> {
    import_private_with(s, set, seed, value, vec![])
}

/// As [`import_private`], with `extra` attributes in the template.
pub fn import_private_with(
    s: &Session,
    set: Set,
    seed: Option<&[u8]>,
    value: Option<&[u8]>,
    extra: Vec<Attribute>,
) -> cryptoki::error::Result<ObjectHandle> {
    let (_, usage) = set.family.usage();
    let mut t = vec![
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(set.family.key_type()),
        Attribute::Token(false),
        set.attribute(),
        usage,
    ];
    t.extend(extra);
    if let Some(seed) = seed {
        t.push(Attribute::Seed(seed.to_vec()));
    }
    if let Some(value) = value {
        t.push(Attribute::Value(value.to_vec()));
    }
    s.create_object(&t)
}

/// A public key session object from the raw FIPS public key (C_CreateObject).
pub fn import_public(s: &Session, set: Set, value: &[u8]) -> cryptoki::error::Result<ObjectHandle> {
    let (usage, _) = set.family.usage();
    s.create_object(&[
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(set.family.key_type()),
        Attribute::Token(false),
        set.attribute(),
        usage,
        Attribute::Value(value.to_vec()),
    ])
}

/// CKA_PARAMETER_SET of a key object.
pub fn parameter_set(s: &Session, o: ObjectHandle) -> CK_ULONG {
    match ck!(s.get_attributes(o, &[AttributeType::ParameterSet])).pop() {
        Some(Attribute::ParameterSet(p)) => Ulong::from(p).into(),
        other => panic!("CKA_PARAMETER_SET of object {o}: got {other:?}"),
    }
}

/// The raw FIPS public key of a public key object (CKA_VALUE).
pub fn public_value(s: &Session, public: ObjectHandle) -> Vec<u8> {
    super::keys::attr_bytes(s, public, AttributeType::Value)
}

/// CKA_PUBLIC_KEY_INFO: the DER SubjectPublicKeyInfo.
pub fn public_key_info_der(s: &Session, o: ObjectHandle) -> Vec<u8> {
    match ck!(s.get_attributes(o, &[AttributeType::PublicKeyInfo])).pop() {
        Some(Attribute::PublicKeyInfo(v)) => v,
        other => panic!("CKA_PUBLIC_KEY_INFO of object {o}: got {other:?}"),
    }
}

/// The raw public key inside CKA_PUBLIC_KEY_INFO (the SubjectPublicKeyInfo DER), which
/// private key objects carry too: (algorithm OID, public key).
pub fn public_key_info(s: &Session, o: ObjectHandle) -> (String, Vec<u8>) {
    use der::Decode;
    let der = public_key_info_der(s, o);
    let info = spki::SubjectPublicKeyInfoRef::from_der(&der).expect("a DER SubjectPublicKeyInfo");
    assert!(
        info.algorithm.parameters.is_none(),
        "NIST post-quantum algorithm identifiers have no parameters"
    );
    let key = info
        .subject_public_key
        .as_bytes()
        .expect("a whole-byte BIT STRING")
        .to_vec();
    (info.algorithm.oid.to_string(), key)
}

/// CKM_ML_DSA / CKM_SLH_DSA with a context string and hedging choice (no parameter at all
/// when hedging is "preferred" and there is no context, as cryptoki builds it).
pub fn signing(family: Family, hedge: HedgeType, context: Option<&[u8]>) -> Mechanism<'_> {
    let p = SignAdditionalContext::new(hedge, context);
    match family {
        Family::MlDsa => Mechanism::MlDsa(p),
        Family::SlhDsa => Mechanism::SlhDsa(p),
        Family::MlKem => panic!("ML-KEM does not sign"),
    }
}

/// Every object the session can see (token and session objects).
pub fn object_count(s: &Session) -> usize {
    ck!(s.find_objects(&[])).len()
}

/// A private key's secret parts read back: CKA_SENSITIVE=TRUE, CKA_EXTRACTABLE=FALSE, and
/// each attribute in `secret` answers CKR_ATTRIBUTE_SENSITIVE.
pub fn assert_sealed(t: &super::Token, k: ObjectHandle, secret: &[CK_ATTRIBUTE_TYPE], what: &str) {
    use super::keys::attr_bool;
    let s = t.session();
    assert!(
        attr_bool(s, k, AttributeType::Sensitive),
        "{what}: CKA_SENSITIVE"
    );
    assert!(
        !attr_bool(s, k, AttributeType::Extractable),
        "{what}: CKA_EXTRACTABLE"
    );
    for ty in secret {
        let out = t.raw.get_attribute(s, k, *ty, Some(8192));
        assert_eq!(
            out.rv, CKR_ATTRIBUTE_SENSITIVE,
            "{what}: attribute {ty:#x} must be unreadable"
        );
        assert_eq!(
            out.len,
            usize::MAX,
            "{what}: attribute {ty:#x} length must be CK_UNAVAILABLE_INFORMATION"
        );
    }
}

/// The C_CreateObject rules PKCS#11 3.2 sets for ML-KEM and ML-DSA private keys: CKA_SEED
/// alone, CKA_VALUE (the expanded key) alone, or both when they agree; `other_expanded`
/// (another key's expansion) with `seed` must be refused, and so must neither. Every
/// accepted key belongs to `public` and is sealed, though the template did not ask; asking
/// for an extractable key is refused by the default policy. Returns the key imported by seed.
pub fn check_seeded_imports(
    t: &super::Token,
    set: Set,
    seed: &[u8],
    expanded: &[u8],
    public: &[u8],
    other_expanded: &[u8],
) -> ObjectHandle {
    use crate::assert_ckr;
    let s = t.session();
    assert_eq!(
        (seed.len(), expanded.len(), public.len()),
        (set.seed_len, set.private_len, set.public_len),
        "{}: the sizes of the test's own key",
        set.name
    );
    let mut by_seed = None;
    for (form, seed, value) in [
        ("CKA_SEED", Some(seed), None),
        ("CKA_VALUE", None, Some(expanded)),
        ("CKA_SEED and CKA_VALUE", Some(seed), Some(expanded)),
    ] {
        let what = format!("{} imported by {form}", set.name);
        let k = ck!(import_private(s, set, seed, value));
        assert_eq!(parameter_set(s, k), set.ckp, "{what}: CKA_PARAMETER_SET");
        assert_eq!(public_key_info(s, k).1, public, "{what}: its public key");
        assert_sealed(t, k, &[CKA_SEED, CKA_VALUE], &what);
        by_seed.get_or_insert(k);
    }
    assert_ckr!(
        import_private(s, set, Some(seed), Some(other_expanded)),
        TemplateInconsistent | AttributeValueInvalid
    );
    assert_ckr!(import_private(s, set, None, None), TemplateIncomplete);
    for ask in [Attribute::Extractable(true), Attribute::Sensitive(false)] {
        assert_ckr!(
            import_private_with(s, set, Some(seed), None, vec![ask]),
            AttributeValueInvalid | TemplateInconsistent
        );
    }
    assert_ckr!(
        import_private(s, set, Some(&seed[1..]), None),
        AttributeValueInvalid
    );
    assert_ckr!(
        import_private(s, set, None, Some(&expanded[1..])),
        AttributeValueInvalid
    );
    by_seed.expect("three forms imported")
}

/// Assert CKR_PARAMETER_SET_NOT_SUPPORTED (PKCS#11 3.2, 0x209), which cryptoki 0.12 reports
/// as an unknown code.
pub fn assert_parameter_set_not_supported<T>(r: cryptoki::error::Result<T>, what: &str) {
    use super::{Outcome, Outcomes};
    match r.outcome() {
        Outcome::Rv(cryptoki::error::RvError::UnknownErrorCode(rv))
            if rv == CKR_PARAMETER_SET_NOT_SUPPORTED => {}
        other => panic!("{what}: expected CKR_PARAMETER_SET_NOT_SUPPORTED, got {other}"),
    }
}

/// C_SignInit, C_SignUpdate per part, C_SignFinal.
pub fn sign_in_parts(s: &Session, m: &Mechanism, key: ObjectHandle, parts: &[&[u8]]) -> Vec<u8> {
    ck!(s.sign_init(m, key));
    for p in parts {
        ck!(s.sign_update(p));
    }
    ck!(s.sign_final())
}

/// Check `sig` on `msg` every way PKCS#11 3.2 offers: C_Verify, C_VerifyUpdate +
/// C_VerifyFinal, C_VerifySignature, C_VerifySignatureUpdate + C_VerifySignatureFinal
/// (the multi-part ones with `msg` in three parts).
pub fn verify_every_way(s: &Session, m: &Mechanism, key: ObjectHandle, msg: &[u8], sig: &[u8]) {
    let third = msg.len() / 3;
    let parts = [&msg[..third], &msg[third..2 * third], &msg[2 * third..]];
    ck!(s.verify(m, key, msg, sig));
    ck!(s.verify_init(m, key));
    for p in parts {
        ck!(s.verify_update(p));
    }
    ck!(s.verify_final(sig));
    ck!(s.verify_signature_init(m, key, sig));
    ck!(s.verify_signature(msg));
    ck!(s.verify_signature_init(m, key, sig));
    for p in parts {
        ck!(s.verify_signature_update(p));
    }
    ck!(s.verify_signature_final());
}

/// A single-part mechanism (CKM_HASH_ML_DSA, CKM_HASH_SLH_DSA) refuses C_SignUpdate,
/// C_VerifyUpdate and C_VerifySignatureUpdate with CKR_OPERATION_NOT_INITIALIZED; the
/// refusal ends the operation, so the next init succeeds and single-part calls work.
/// Returns the signature made on `input`.
pub fn check_single_part(s: &Session, m: &Mechanism, kp: KeyPair, input: &[u8]) -> Vec<u8> {
    use crate::assert_ckr;
    ck!(s.sign_init(m, kp.private));
    assert_ckr!(s.sign_update(&input[..1]), OperationNotInitialized);
    assert_ckr!(s.sign_final(), OperationNotInitialized);
    let sig = ck!(s.sign(m, kp.private, input));

    ck!(s.verify_init(m, kp.public));
    assert_ckr!(s.verify_update(&input[..1]), OperationNotInitialized);
    assert_ckr!(s.verify_final(&sig), OperationNotInitialized);
    ck!(s.verify(m, kp.public, input, &sig));

    ck!(s.verify_signature_init(m, kp.public, &sig));
    assert_ckr!(
        s.verify_signature_update(&input[..1]),
        OperationNotInitialized
    );
    assert_ckr!(s.verify_signature_final(), OperationNotInitialized);
    ck!(s.verify_signature_init(m, kp.public, &sig));
    ck!(s.verify_signature(input));
    sig
}

/// Two byte strings an independent implementation returns together: a key pair (public,
/// private) or an encapsulation (shared secret, ciphertext).
pub type BytePair = (Vec<u8>, Vec<u8>);
/// An independent verifier: (public key, message, signature, context) -> valid.
pub type VerifyFn = fn(&[u8], &[u8], &[u8], &[u8]) -> bool;
/// As [`VerifyFn`], for the pre-hash variant with the implementation's hash choice `P`.
pub type HashVerifyFn<P> = fn(&[u8], &[u8], &[u8], &[u8], &P) -> bool;
