//! Key material in and out: imports (PKCS#8 plain and encrypted, PEM, JWK, RAW) become
//! sealed non-extractable keys that sign as the original would; public exports match what
//! independent code makes of the same key; envelopes, MACs and data keys across rotations.

use super::*;
use crate::manage::envelope::Kind;
use crate::manage::import::{ImportFormat, ImportRequest};
use crate::mech::params::Mechanism;
use crate::mech::{self, keys};
use crate::object::vendor::KeyState;
use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::signature::Verifier;
use zeroize::Zeroizing;

const MSG: &[u8] = b"signed by an imported key";
const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn import_req<'a>(name: &str, format: ImportFormat, data: &'a [u8]) -> ImportRequest<'a> {
    ImportRequest {
        name: name.into(),
        purpose: None,
        algorithm: None,
        format,
        data,
        password: None,
        expires_at: None,
        policy: None,
        labels: BTreeMap::new(),
        description: String::new(),
    }
}

/// A fresh key pair made outside the token: (PKCS#8 DER, public key attributes).
fn outside_pair(
    m: ck::CK_MECHANISM_TYPE,
    public: Vec<Attr>,
) -> (Zeroizing<Vec<u8>>, Vec<Attr>, crate::mech::KeyAttrs) {
    let g = mech::generate_key_pair(&Mechanism::new(m), &tpl(public), &tpl(vec![])).unwrap();
    let all = tpl(g
        .private_key
        .public
        .iter()
        .chain(&g.private_key.secret)
        .cloned()
        .collect());
    let private = keys::load(ck::CKO_PRIVATE_KEY, g.key_type, &all).unwrap();
    (
        keys::to_pkcs8(&private).unwrap(),
        g.public_key,
        g.private_key,
    )
}

fn p256_verifier(public: &[Attr]) -> p256::ecdsa::VerifyingKey {
    let point = public.iter().find(|a| a.ty == ck::CKA_EC_POINT).unwrap();
    let raw = crate::mech::ec::parse_point(crate::mech::ec::Curve::P256, &point.value).unwrap();
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&raw).unwrap()
}

#[test]
fn pkcs8_imports_sign_like_the_original_and_stay_inside() {
    let f = Fixture::new();
    let (der, public, _) = outside_pair(
        ck::CKM_EC_KEY_PAIR_GEN,
        vec![Attr::new(ck::CKA_EC_PARAMS, P256.to_vec())],
    );
    let pem = der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &der).unwrap();
    let mgr = f.manager();
    mgr.import(&import_req("legacy", ImportFormat::Pem, pem.as_bytes()))
        .unwrap();
    mgr.import(&import_req("legacy-der", ImportFormat::Der, &der))
        .unwrap();
    let info = mgr.show("legacy").unwrap();
    assert_eq!(
        (info.algorithm.as_str(), info.key_type),
        ("ec-p256", Purpose::Signing)
    );
    let (v, sig) = mgr.sign("legacy", None, MSG).unwrap();
    assert_eq!(v, 1);
    let sig = p256::ecdsa::Signature::from_slice(&sig).unwrap();
    p256_verifier(&public).verify(MSG, &sig).unwrap();

    let (m, s) = (&f.module, f.session);
    let h = object(m, s, "legacy", 1, ck::CKO_PRIVATE_KEY);
    assert!(flag(m, s, h, ck::CKA_SENSITIVE) && !flag(m, s, h, ck::CKA_EXTRACTABLE));
    assert!(!flag(m, s, h, ck::CKA_LOCAL) && !flag(m, s, h, ck::CKA_NEVER_EXTRACTABLE));
    assert!(matches!(
        m.get_attribute_value(
            s,
            h,
            &[crate::module::AttrRequest {
                ty: ck::CKA_VALUE,
                cap: Some(64)
            }]
        )
        .unwrap()[0],
        crate::module::AttrAnswer::Sensitive
    ));
    // Importing under a taken name is refused; an imported key rotates like any other.
    assert_eq!(
        kind(mgr.import(&import_req("legacy", ImportFormat::Der, &der))),
        ErrorKind::KeyExists
    );
    assert_eq!(mgr.rotate("legacy").unwrap().version, 2);
    // Asking for another algorithm than the file holds is refused.
    let mut wrong = import_req("x", ImportFormat::Der, &der);
    wrong.algorithm = Some("ec-p384".into());
    assert_eq!(kind(mgr.import(&wrong)), ErrorKind::ArgumentsBad);
    assert_eq!(
        kind(mgr.import(&import_req("y", ImportFormat::Der, b"not a key"))),
        ErrorKind::ArgumentsBad
    );
}

#[test]
fn encrypted_pkcs8_needs_its_password() {
    let f = Fixture::new();
    let (der, public, _) = outside_pair(
        ck::CKM_EC_EDWARDS_KEY_PAIR_GEN,
        vec![Attr::new(
            ck::CKA_EC_PARAMS,
            vec![0x06, 0x03, 0x2b, 0x65, 0x70],
        )],
    );
    let enc = pkcs8::PrivateKeyInfoRef::try_from(&der[..])
        .unwrap()
        .encrypt_with_rng(&mut crate::rng::CoreRng, b"correct horse")
        .unwrap();
    let pem = enc
        .to_pem("ENCRYPTED PRIVATE KEY", der::pem::LineEnding::LF)
        .unwrap();
    let mgr = f.manager();
    let mut req = import_req("ed", ImportFormat::Pkcs8, pem.as_bytes());
    let e = mgr.import(&req).unwrap_err();
    assert!(e.message().contains("password"), "{e}");
    req.password = Some(b"wrong");
    assert_eq!(kind(mgr.import(&req)), ErrorKind::ArgumentsBad);
    req.password = Some(b"correct horse");
    mgr.import(&req).unwrap();
    let mut der_req = import_req("ed-der", ImportFormat::Der, enc.as_bytes());
    der_req.password = Some(b"correct horse");
    mgr.import(&der_req).unwrap();
    assert_eq!(mgr.show("ed").unwrap().algorithm, "ed25519");
    // The exported public key is the original's.
    let exported = mgr.export_public("ed", None).unwrap();
    let point = public.iter().find(|a| a.ty == ck::CKA_EC_POINT).unwrap();
    assert!(point.value.ends_with(&exported.raw));
    assert_eq!(exported.jwk["kty"], "OKP");
    assert_eq!(
        exported.jwk["x"],
        Base64UrlUnpadded::encode_string(&exported.raw)
    );
    let (_, sig) = mgr.sign("ed", None, MSG).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(exported.raw[..].try_into().unwrap()).unwrap();
    vk.verify(MSG, &ed25519_dalek::Signature::from_slice(&sig).unwrap())
        .unwrap();
}

#[test]
fn jwk_and_raw_imports() {
    let f = Fixture::new();
    let mgr = f.manager();
    // RSA from its JWK (made from an outside key's attributes).
    let (_, _, private) = outside_pair(
        ck::CKM_RSA_PKCS_KEY_PAIR_GEN,
        vec![
            Attr::ulong(ck::CKA_MODULUS_BITS, 2048),
            Attr::new(ck::CKA_PUBLIC_EXPONENT, vec![1, 0, 1]),
        ],
    );
    let field = |ty| {
        let a = private
            .public
            .iter()
            .chain(&private.secret)
            .find(|a| a.ty == ty)
            .unwrap();
        Base64UrlUnpadded::encode_string(&a.value)
    };
    let jwk = serde_json::json!({
        "kty": "RSA", "n": field(ck::CKA_MODULUS), "e": field(ck::CKA_PUBLIC_EXPONENT),
        "d": field(ck::CKA_PRIVATE_EXPONENT), "p": field(ck::CKA_PRIME_1), "q": field(ck::CKA_PRIME_2),
        "dp": field(ck::CKA_EXPONENT_1), "dq": field(ck::CKA_EXPONENT_2), "qi": field(ck::CKA_COEFFICIENT),
    })
    .to_string();
    let mut req = import_req("rsa", ImportFormat::Jwk, jwk.as_bytes());
    req.purpose = Some(Purpose::Encryption);
    mgr.import(&req).unwrap();
    assert_eq!(mgr.show("rsa").unwrap().algorithm, "rsa-2048");
    let exported = mgr.export_public("rsa", None).unwrap();
    assert_eq!(exported.jwk["n"], field(ck::CKA_MODULUS).as_str());
    assert_eq!(exported.jwk["use"], "enc");
    let ct = mgr.encrypt("rsa", b"secret file", b"").unwrap();
    assert_eq!(
        &mgr.open(&ct, b"", &[Kind::File]).unwrap().1[..],
        b"secret file"
    );
    // A public JWK is not a key to import.
    let public_only =
        serde_json::json!({"kty": "RSA", "n": field(ck::CKA_MODULUS), "e": "AQAB"}).to_string();
    assert!(mgr
        .import(&import_req(
            "rsa-pub",
            ImportFormat::Jwk,
            public_only.as_bytes()
        ))
        .is_err());

    // RAW secrets need to say what they are for.
    let raw = [7u8; 32];
    assert_eq!(
        kind(mgr.import(&import_req("aes", ImportFormat::Raw, &raw))),
        ErrorKind::ArgumentsBad
    );
    let mut aes = import_req("aes", ImportFormat::Raw, &raw);
    aes.purpose = Some(Purpose::Symmetric);
    mgr.import(&aes).unwrap();
    let mut short = import_req("aes16", ImportFormat::Raw, &raw[..16]);
    short.purpose = Some(Purpose::Symmetric);
    assert_eq!(kind(mgr.import(&short)), ErrorKind::ArgumentsBad);
    let mut hmac = import_req("mac", ImportFormat::Raw, &raw);
    hmac.algorithm = Some("hmac-sha256".into());
    mgr.import(&hmac).unwrap();
    let (_, tag) = mgr.mac("mac", None, b"data").unwrap();
    use hmac::{KeyInit, Mac};
    let mut want = hmac::Hmac::<sha2::Sha256>::new_from_slice(&raw).unwrap();
    want.update(b"data");
    assert_eq!(tag, want.finalize().into_bytes().to_vec());
    mgr.mac_verify("mac", None, b"data", &tag).unwrap();
    assert_eq!(
        kind(mgr.mac_verify("mac", None, b"date", &tag)),
        ErrorKind::SignatureInvalid
    );
    // JWK oct with an HMAC alg.
    let oct = serde_json::json!({"kty": "oct", "alg": "HS512", "k": Base64UrlUnpadded::encode_string(&[9u8; 64])}).to_string();
    mgr.import(&import_req("mac512", ImportFormat::Jwk, oct.as_bytes()))
        .unwrap();
    assert_eq!(mgr.show("mac512").unwrap().algorithm, "hmac-sha512");
    assert_eq!(mgr.mac("mac512", None, b"x").unwrap().1.len(), 64);
}

#[test]
fn public_exports_match_independent_encodings() {
    let f = Fixture::new();
    f.generate("ec", Purpose::Signing, "ec-p256");
    f.generate("aes", Purpose::Symmetric, "aes-256-gcm");
    let mgr = f.manager();
    let e = mgr.export_public("ec", None).unwrap();
    let pk = p256::PublicKey::from_sec1_bytes(&e.raw).unwrap();
    use pkcs8::EncodePublicKey;
    assert_eq!(e.spki, pk.to_public_key_der().unwrap().as_bytes());
    assert_eq!(e.jwk["x"], Base64UrlUnpadded::encode_string(&e.raw[1..33]));
    assert_eq!(e.jwk["y"], Base64UrlUnpadded::encode_string(&e.raw[33..]));
    assert_eq!(e.jwk["crv"], "P-256");
    assert_eq!(e.jwk["kid"], "ec/v1");
    assert_eq!(e.key.name, "ec");
    assert_eq!(
        kind(mgr.export_public("aes", None)),
        ErrorKind::KeyFunctionNotPermitted
    );
    assert_eq!(
        kind(mgr.export_public("ec", Some(2))),
        ErrorKind::KeyNotFound
    );
    mgr.rotate("ec").unwrap();
    let v1 = mgr.export_public("ec", Some(1)).unwrap();
    assert_eq!((v1.version, v1.spki), (1, e.spki.clone()));
    assert_ne!(mgr.export_public("ec", None).unwrap().spki, e.spki);
    // A destroyed version has no public key left.
    mgr.rotate("ec").unwrap();
    mgr.archive("ec", 1).unwrap();
    mgr.destroy_version("ec", 1).unwrap();
    assert_eq!(
        kind(mgr.export_public("ec", Some(1))),
        ErrorKind::StateTransition
    );
}

#[test]
fn envelopes_name_their_version_bind_their_context_and_survive_rotation() {
    let f = Fixture::new();
    f.generate("aes", Purpose::Symmetric, "aes-256-gcm");
    f.generate("rsa", Purpose::Encryption, "rsa-2048");
    let mgr = f.manager();
    for name in ["aes", "rsa"] {
        let env = mgr.encrypt(name, b"payload", b"order=42").unwrap();
        let header = crate::manage::envelope::peek(&env).unwrap();
        assert_eq!(
            (header.key.as_str(), header.version, header.kind),
            (name, 1, Kind::File)
        );
        assert_eq!(
            &mgr.open(&env, b"order=42", &[Kind::File]).unwrap().1[..],
            b"payload"
        );
        assert_eq!(
            kind(mgr.open(&env, b"order=43", &[Kind::File])),
            ErrorKind::EncryptedDataInvalid
        );
        assert_eq!(
            kind(mgr.open(&env, b"order=42", &[Kind::WrappedKey])),
            ErrorKind::ArgumentsBad
        );
        let mut bad = env.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            kind(mgr.open(&bad, b"order=42", &[Kind::File])),
            ErrorKind::EncryptedDataInvalid
        );

        // After a rotation the old envelope opens with v1 (retired), new ones use v2.
        mgr.rotate(name).unwrap();
        assert_eq!(
            &mgr.open(&env, b"order=42", &[Kind::File]).unwrap().1[..],
            b"payload"
        );
        let env2 = mgr.wrap(name, b"key bytes", b"").unwrap();
        assert_eq!(crate::manage::envelope::peek(&env2).unwrap().version, 2);
        assert_eq!(
            &mgr.open(&env2, b"", &[Kind::WrappedKey]).unwrap().1[..],
            b"key bytes"
        );
        // Archived: the old envelope no longer opens.
        mgr.archive(name, 1).unwrap();
        assert_eq!(
            kind(mgr.open(&env, b"order=42", &[Kind::File])),
            ErrorKind::KeyLifecycle
        );
    }
    // Data keys: plaintext and its envelope agree.
    for len in [16, 24, 32] {
        let (env, key) = mgr.data_key("aes", len, b"ctx").unwrap();
        assert_eq!(key.len(), len);
        assert_eq!(mgr.open(&env, b"ctx", &[Kind::DataKey]).unwrap().1, key);
    }
    assert_eq!(kind(mgr.data_key("aes", 20, b"")), ErrorKind::ArgumentsBad);
    // Revoked keys decrypt what exists but encrypt nothing new.
    let env = mgr.encrypt("aes", b"last", b"").unwrap();
    mgr.revoke("aes").unwrap();
    assert_eq!(mgr.show("aes").unwrap().state, KeyState::Revoked);
    assert_eq!(
        kind(mgr.encrypt("aes", b"more", b"")),
        ErrorKind::KeyLifecycle
    );
    assert_eq!(&mgr.open(&env, b"", &[Kind::File]).unwrap().1[..], b"last");
    // Signing keys do not encrypt, and the refusal says so.
    f.generate("sig", Purpose::Signing, "ec-p256");
    assert_eq!(
        kind(mgr.encrypt("sig", b"x", b"")),
        ErrorKind::KeyFunctionNotPermitted
    );
}

#[test]
fn post_quantum_keys_sign_encapsulate_import_and_export() {
    let f = Fixture::new();
    // ML-DSA-65 is the signing default.
    let mut req = request("docs", Purpose::Signing, "");
    req.algorithm = None;
    f.manager().generate(&req).unwrap();
    let mgr = f.manager();
    let info = mgr.show("docs").unwrap();
    assert_eq!(
        (info.algorithm.as_str(), info.is_post_quantum),
        ("ml-dsa-65", true)
    );
    let (_, sig1) = mgr.sign("docs", None, MSG).unwrap();
    assert_eq!(sig1.len(), 3309);
    mgr.rotate("docs").unwrap();
    assert_eq!(mgr.verify("docs", Some(1), MSG, &sig1).unwrap(), 1);
    assert_eq!(
        kind(mgr.sign("docs", Some(1), MSG)),
        ErrorKind::KeyLifecycle
    );
    let (v, sig2) = mgr.sign("docs", None, MSG).unwrap();
    assert_eq!(mgr.verify("docs", Some(v), MSG, &sig2).unwrap(), 2);
    assert_eq!(
        kind(mgr.verify("docs", Some(1), MSG, &sig2)),
        ErrorKind::SignatureInvalid
    );
    let e = mgr.export_public("docs", Some(1)).unwrap();
    let parsed = crate::mech::pqc_encoding::parse_spki(&e.spki).unwrap();
    assert_eq!(
        (parsed.key_type, parsed.parameter_set),
        (ck::CKK_ML_DSA, ck::CKP_ML_DSA_65)
    );
    assert_eq!(parsed.public, e.raw);
    assert_eq!(e.raw.len(), 1952);
    assert_eq!(
        (e.jwk["kty"].as_str(), e.jwk["alg"].as_str()),
        (Some("AKP"), Some("ML-DSA-65"))
    );

    // ML-KEM-768 envelopes.
    f.generate("vault", Purpose::Encryption, "ml-kem-768");
    let env = mgr.encrypt("vault", b"quantum-safe", b"ctx").unwrap();
    assert_eq!(
        &mgr.open(&env, b"ctx", &[Kind::File]).unwrap().1[..],
        b"quantum-safe"
    );
    assert_eq!(
        kind(mgr.open(&env, b"other", &[Kind::File])),
        ErrorKind::EncryptedDataInvalid
    );
    mgr.rotate("vault").unwrap();
    assert_eq!(
        &mgr.open(&env, b"ctx", &[Kind::File]).unwrap().1[..],
        b"quantum-safe"
    );
    assert_eq!(
        mgr.export_public("vault", None).unwrap().jwk["alg"],
        "ML-KEM-768"
    );

    // SLH-DSA signs too.
    f.generate("archive", Purpose::Signing, "slh-dsa-sha2-128f");
    let (_, sig) = mgr.sign("archive", None, MSG).unwrap();
    mgr.verify("archive", None, MSG, &sig).unwrap();

    // BYOK: an ML-DSA-44 key made elsewhere, as PKCS#8 and as an AKP JWK.
    let (der, public, private) = outside_pair(
        ck::CKM_ML_DSA_KEY_PAIR_GEN,
        vec![Attr::ulong(ck::CKA_PARAMETER_SET, ck::CKP_ML_DSA_44)],
    );
    mgr.import(&import_req("byok", ImportFormat::Der, &der))
        .unwrap();
    let want = public.iter().find(|a| a.ty == ck::CKA_VALUE).unwrap();
    assert_eq!(
        mgr.export_public("byok", None).unwrap().raw,
        want.value.to_vec()
    );
    assert_eq!(mgr.show("byok").unwrap().algorithm, "ml-dsa-44");
    let seed = private
        .secret
        .iter()
        .find(|a| a.ty == ck::CKA_SEED)
        .unwrap();
    let jwk = serde_json::json!({"kty": "AKP", "alg": "ML-DSA-44", "priv": Base64UrlUnpadded::encode_string(&seed.value)}).to_string();
    mgr.import(&import_req("byok-jwk", ImportFormat::Jwk, jwk.as_bytes()))
        .unwrap();
    assert_eq!(
        mgr.export_public("byok-jwk", None).unwrap().raw,
        want.value.to_vec()
    );
    let (_, sig) = mgr.sign("byok-jwk", None, MSG).unwrap();
    mgr.verify("byok", None, MSG, &sig).unwrap();
}
