//! The module with real mechanisms, driven like a client: keys generated, used, wrapped,
//! derived; policy, usage flags, output convention, per-login caches and tamper checks.

use super::tests::{kind, ready, ready_with, store, tpl, user_session, RO, RW};
use super::*;
use crate::attr::{Attr, Template};
use crate::mech::params::{GcmMessageParams, HkdfSalt, MechParam, Mechanism};
use crate::object::schema::CKA_PQHSM_BASE;
use sha2::Digest as _;

const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn mech(ty: ck::CK_MECHANISM_TYPE) -> Mechanism {
    Mechanism::new(ty)
}

fn gcm(iv: &[u8]) -> Mechanism {
    Mechanism {
        ty: ck::CKM_AES_GCM,
        param: MechParam::Gcm {
            iv: iv.to_vec(),
            aad: b"hdr".to_vec(),
            tag_bits: 128,
        },
    }
}

fn data(o: Output) -> Vec<u8> {
    match o {
        Output::Data(d) => d.to_vec(),
        Output::Len(n) | Output::Written(n) => panic!("expected bytes, got a length ({n})"),
    }
}

fn aes(m: &Module, s: SessionHandle, extra: Vec<Attr>) -> ObjectHandle {
    let mut t = vec![Attr::ulong(ck::CKA_VALUE_LEN, 32)];
    t.extend(extra);
    m.generate_key(s, &mech(ck::CKM_AES_KEY_GEN), &tpl(t))
        .unwrap()
}

fn ec_pair(
    m: &Module,
    s: SessionHandle,
    token: bool,
    private_extra: Vec<Attr>,
) -> (ObjectHandle, ObjectHandle) {
    let public = tpl(vec![
        Attr::new(ck::CKA_EC_PARAMS, P256.to_vec()),
        Attr::bool(ck::CKA_TOKEN, token),
    ]);
    let mut private = vec![Attr::bool(ck::CKA_TOKEN, token)];
    private.extend(private_extra);
    m.generate_key_pair(s, &mech(ck::CKM_EC_KEY_PAIR_GEN), &public, &tpl(private))
        .unwrap()
}

fn answer(m: &Module, s: SessionHandle, o: ObjectHandle, ty: ck::CK_ATTRIBUTE_TYPE) -> AttrAnswer {
    m.get_attribute_value(
        s,
        o,
        &[AttrRequest {
            ty,
            cap: Some(8192),
        }],
    )
    .unwrap()
    .remove(0)
}

fn value(m: &Module, s: SessionHandle, o: ObjectHandle, ty: ck::CK_ATTRIBUTE_TYPE) -> Vec<u8> {
    match answer(m, s, o, ty) {
        AttrAnswer::Value(v) => v.to_vec(),
        other => panic!("attribute {ty:#x}: {other:?}"),
    }
}

fn flag(m: &Module, s: SessionHandle, o: ObjectHandle, ty: ck::CK_ATTRIBUTE_TYPE) -> bool {
    value(m, s, o, ty) == [ck::CK_TRUE]
}

fn encrypt(m: &Module, s: SessionHandle, key: ObjectHandle, iv: &[u8], pt: &[u8]) -> Vec<u8> {
    m.encrypt_init(s, &gcm(iv), key).unwrap();
    data(m.encrypt(s, pt, Some(pt.len() + 64)).unwrap())
}

fn decrypt(
    m: &Module,
    s: SessionHandle,
    key: ObjectHandle,
    iv: &[u8],
    ct: &[u8],
) -> Result<Vec<u8>> {
    m.decrypt_init(s, &gcm(iv), key)?;
    m.decrypt(s, ct, Some(ct.len())).map(data)
}

fn sign(m: &Module, s: SessionHandle, key: ObjectHandle, msg: &[u8]) -> Vec<u8> {
    m.sign_init(s, &mech(ck::CKM_ECDSA_SHA256), key).unwrap();
    data(m.sign(s, msg, Some(256)).unwrap())
}

fn lax() -> Config {
    let mut c = Config::default();
    c.policy.allow_extractable = true;
    c
}

#[test]
fn generated_keys_are_local_sensitive_and_never_extractable() {
    let (m, _b) = ready();
    let public = m.open_session(0, RW).unwrap();
    let e = m.generate_key(
        public,
        &mech(ck::CKM_AES_KEY_GEN),
        &tpl(vec![Attr::ulong(ck::CKA_VALUE_LEN, 32)]),
    );
    assert_eq!(kind(e), ErrorKind::UserNotLoggedIn);
    let s = user_session(&m);
    let k = aes(&m, s, vec![Attr::bool(ck::CKA_TOKEN, true)]);
    for ty in [
        ck::CKA_LOCAL,
        ck::CKA_SENSITIVE,
        ck::CKA_ALWAYS_SENSITIVE,
        ck::CKA_NEVER_EXTRACTABLE,
        ck::CKA_PRIVATE,
        ck::CKA_ENCRYPT,
    ] {
        assert!(flag(&m, s, k, ty), "{ty:#x}");
    }
    assert!(!flag(&m, s, k, ck::CKA_EXTRACTABLE));
    assert_eq!(
        value(&m, s, k, ck::CKA_KEY_GEN_MECHANISM),
        ck::CKM_AES_KEY_GEN.to_ne_bytes()
    );
    assert_eq!(value(&m, s, k, ck::CKA_VALUE_LEN), 32u64.to_ne_bytes());
    assert!(matches!(
        answer(&m, s, k, ck::CKA_VALUE),
        AttrAnswer::Sensitive
    ));

    let e = m.generate_key(
        s,
        &mech(ck::CKM_AES_KEY_GEN),
        &tpl(vec![
            Attr::ulong(ck::CKA_VALUE_LEN, 32),
            Attr::bool(ck::CKA_EXTRACTABLE, true),
        ]),
    );
    let e = e.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AttributeValueInvalid);
    assert!(e.message().contains("allow_extractable"));
    // Imported key material was known outside: never "always sensitive" nor local.
    let imported = m
        .create_object(
            s,
            &tpl(vec![
                Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
                Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
                Attr::new(ck::CKA_VALUE, vec![7u8; 16]),
            ]),
        )
        .unwrap();
    assert!(!flag(&m, s, imported, ck::CKA_LOCAL));
    assert!(!flag(&m, s, imported, ck::CKA_ALWAYS_SENSITIVE));
    assert!(matches!(
        answer(&m, s, imported, ck::CKA_VALUE),
        AttrAnswer::Sensitive
    ));
    assert_eq!(
        value(&m, s, imported, ck::CKA_KEY_GEN_MECHANISM),
        ck::CK_UNAVAILABLE_INFORMATION.to_ne_bytes()
    );
}

#[test]
fn gcm_writes_straight_into_the_callers_buffer_with_the_same_answers() {
    use crate::module::Dest;
    let (m, _b) = ready();
    let s = user_session(&m);
    let k = aes(&m, s, vec![]);
    let iv = [4u8; 12];
    let msg = b"attack at dawn";
    m.encrypt_init(s, &gcm(&iv), k).unwrap();
    let want = data(m.encrypt(s, msg, Some(64)).unwrap());

    // A length query computes nothing and is exact; a short buffer keeps the operation.
    m.encrypt_init(s, &gcm(&iv), k).unwrap();
    assert!(matches!(
        m.encrypt_to(s, msg, Dest::Query).unwrap(),
        Output::Len(30)
    ));
    let mut short = [0u8; 29];
    let e = m.encrypt_to(s, msg, Dest::Buf(&mut short)).unwrap_err();
    assert_eq!(e.needed(), Some(30));
    let mut buf = [0xEEu8; 40];
    assert!(matches!(
        m.encrypt_to(s, msg, Dest::Buf(&mut buf)).unwrap(),
        Output::Written(30)
    ));
    assert_eq!(&buf[..30], &want[..]);
    assert_eq!(buf[30..], [0xEE; 10], "nothing written past the output");
    assert_eq!(
        kind(m.encrypt_to(s, msg, Dest::Buf(&mut buf))),
        ErrorKind::OperationNotInitialized
    );

    // A buffer that overlaps the input (Room) takes the copying path, same bytes.
    m.encrypt_init(s, &gcm(&iv), k).unwrap();
    assert_eq!(data(m.encrypt_to(s, msg, Dest::Room(30)).unwrap()), want);

    let mut plain = [0u8; 14];
    m.decrypt_init(s, &gcm(&iv), k).unwrap();
    assert!(matches!(
        m.decrypt_to(s, &want, Dest::Buf(&mut plain)).unwrap(),
        Output::Written(14)
    ));
    assert_eq!(&plain, msg);

    // A bad tag: an error, the operation ends, and no plaintext is left in the buffer.
    let mut bad = want.clone();
    bad[0] ^= 1;
    let mut plain = [0x55u8; 14];
    m.decrypt_init(s, &gcm(&iv), k).unwrap();
    assert_eq!(
        kind(m.decrypt_to(s, &bad, Dest::Buf(&mut plain))),
        ErrorKind::EncryptedDataInvalid
    );
    assert_eq!(plain, [0u8; 14]);
    assert_eq!(
        kind(m.decrypt_to(s, &want, Dest::Buf(&mut plain))),
        ErrorKind::OperationNotInitialized
    );
}

#[test]
fn encrypt_decrypt_single_and_multi_part_with_the_output_convention() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let k = aes(&m, s, vec![]);
    let iv = [3u8; 12];
    m.encrypt_init(s, &gcm(&iv), k).unwrap();
    assert_eq!(
        kind(m.encrypt_init(s, &gcm(&iv), k)),
        ErrorKind::OperationActive
    );
    let n = match m.encrypt(s, b"attack at dawn", None).unwrap() {
        Output::Len(n) => n,
        Output::Data(_) | Output::Written(_) => panic!("a length query returns a length"),
    };
    assert_eq!(n, 14 + 16);
    assert_eq!(
        m.encrypt(s, b"attack at dawn", Some(3))
            .unwrap_err()
            .needed(),
        Some(n)
    );
    let ct = data(m.encrypt(s, b"attack at dawn", Some(n)).unwrap());
    assert_eq!(
        kind(m.encrypt(s, b"again", Some(64))),
        ErrorKind::OperationNotInitialized
    );

    // Decryption's exact length is known after the work: the retry gets the kept output.
    m.decrypt_init(s, &gcm(&iv), k).unwrap();
    let e = m.decrypt(s, &ct, Some(1)).unwrap_err();
    assert_eq!(e.needed(), Some(14));
    assert_eq!(
        data(m.decrypt(s, &ct, Some(14)).unwrap()),
        b"attack at dawn"
    );

    let mut bad = ct.clone();
    bad[0] ^= 1;
    assert!(decrypt(&m, s, k, &iv, &bad).is_err());
    assert_eq!(
        kind(m.decrypt(s, &ct, Some(64))),
        ErrorKind::OperationNotInitialized,
        "errors end the operation"
    );

    let cbc = Mechanism {
        ty: ck::CKM_AES_CBC_PAD,
        param: MechParam::Bytes(vec![1u8; 16]),
    };
    m.encrypt_init(s, &cbc, k).unwrap();
    let mut ct = data(m.encrypt_update(s, &[5u8; 20], Some(64)).unwrap());
    ct.extend(data(m.encrypt_update(s, &[6u8; 20], Some(64)).unwrap()));
    ct.extend(data(m.encrypt_final(s, Some(64)).unwrap()));
    assert_eq!(ct.len(), 48);
    m.decrypt_init(s, &cbc, k).unwrap();
    let mut pt = data(m.decrypt_update(s, &ct, Some(64)).unwrap());
    pt.extend(data(m.decrypt_final(s, Some(64)).unwrap()));
    assert_eq!(pt, [[5u8; 20], [6u8; 20]].concat());
}

#[test]
fn usage_flags_key_types_and_handles_are_enforced() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let k = aes(&m, s, vec![Attr::bool(ck::CKA_ENCRYPT, false)]);
    assert_eq!(
        kind(m.encrypt_init(s, &gcm(&[0; 12]), k)),
        ErrorKind::KeyFunctionNotPermitted
    );
    assert_eq!(
        kind(m.encrypt_init(s, &mech(ck::CKM_AES_KEY_GEN), k)),
        ErrorKind::MechanismInvalid
    );
    assert_eq!(
        kind(m.encrypt_init(s, &mech(0x7fff_0000), k)),
        ErrorKind::MechanismInvalid
    );
    let (pub_k, priv_k) = ec_pair(&m, s, false, vec![]);
    assert_eq!(
        kind(m.sign_init(s, &mech(ck::CKM_ECDSA), pub_k)),
        ErrorKind::KeyTypeInconsistent
    );
    assert_eq!(
        kind(m.sign_init(s, &mech(ck::CKM_SHA256_HMAC), priv_k)),
        ErrorKind::KeyTypeInconsistent
    );
    assert_eq!(
        kind(m.sign_init(s, &mech(ck::CKM_ECDSA), 987_654)),
        ErrorKind::KeyHandleInvalid
    );
    let d = m
        .create_object(s, &tpl(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA)]))
        .unwrap();
    assert_eq!(
        kind(m.sign_init(s, &mech(ck::CKM_ECDSA), d)),
        ErrorKind::KeyHandleInvalid
    );
    // Usage flags default to what the key type can do.
    assert!(flag(&m, s, priv_k, ck::CKA_SIGN) && !flag(&m, s, priv_k, ck::CKA_DECRYPT));
    assert!(flag(&m, s, priv_k, ck::CKA_DERIVE));
    assert!(flag(&m, s, pub_k, ck::CKA_VERIFY) && !flag(&m, s, pub_k, ck::CKA_DERIVE));
}

#[test]
fn sign_verify_single_multi_and_signature_first() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let (pub_k, priv_k) = ec_pair(&m, s, true, vec![]);
    m.sign_init(s, &mech(ck::CKM_ECDSA_SHA256), priv_k).unwrap();
    assert!(matches!(m.sign(s, b"msg", None).unwrap(), Output::Len(64)));
    let sig = data(m.sign(s, b"msg", Some(64)).unwrap());
    m.sign_init(s, &mech(ck::CKM_ECDSA_SHA256), priv_k).unwrap();
    m.sign_update(s, b"m").unwrap();
    m.sign_update(s, b"sg").unwrap();
    let sig2 = data(m.sign_final(s, Some(64)).unwrap());

    for sg in [&sig, &sig2] {
        m.verify_init(s, &mech(ck::CKM_ECDSA_SHA256), pub_k)
            .unwrap();
        m.verify(s, b"msg", sg).unwrap();
    }
    m.verify_init(s, &mech(ck::CKM_ECDSA_SHA256), pub_k)
        .unwrap();
    m.verify_update(s, b"ms").unwrap();
    m.verify_update(s, b"g").unwrap();
    m.verify_final(s, &sig).unwrap();
    m.verify_init(s, &mech(ck::CKM_ECDSA_SHA256), pub_k)
        .unwrap();
    assert_eq!(
        kind(m.verify(s, b"other", &sig)),
        ErrorKind::SignatureInvalid
    );

    // PKCS#11 3.2: the signature first, data after; the two forms do not mix.
    m.verify_signature_init(s, &mech(ck::CKM_ECDSA_SHA256), pub_k, &sig)
        .unwrap();
    m.verify_signature_update(s, b"m").unwrap();
    m.verify_signature_update(s, b"sg").unwrap();
    m.verify_signature_final(s).unwrap();
    m.verify_signature_init(s, &mech(ck::CKM_ECDSA_SHA256), pub_k, &sig)
        .unwrap();
    assert_eq!(
        kind(m.verify(s, b"msg", &sig)),
        ErrorKind::OperationNotInitialized
    );
    m.verify_signature_init(s, &mech(ck::CKM_ECDSA_SHA256), pub_k, &sig)
        .unwrap();
    assert_eq!(
        kind(m.verify_signature(s, b"msh")),
        ErrorKind::SignatureInvalid
    );

    // A read-only public session verifies with a public key.
    let ro = m.open_session(0, RO).unwrap();
    m.verify_init(ro, &mech(ck::CKM_ECDSA_SHA256), pub_k)
        .unwrap();
    m.verify(ro, b"msg", &sig).unwrap();

    m.sign_init(s, &mech(ck::CKM_ECDSA_SHA256), priv_k).unwrap();
    m.session_cancel(s, ck::CKF_SIGN).unwrap();
    assert_eq!(
        kind(m.sign(s, b"x", Some(64))),
        ErrorKind::OperationNotInitialized
    );
}

#[test]
fn the_hot_path_reads_nothing_and_logout_drops_keys_and_operations() {
    let (m, backend) = ready();
    let s = user_session(&m);
    let (_, priv_k) = ec_pair(&m, s, true, vec![]);
    sign(&m, s, priv_k, b"warm up");
    let st = store(&backend, &m);
    let before = st.reads();
    for i in 0..20u8 {
        sign(&m, s, priv_k, &[i]);
    }
    assert_eq!(
        st.reads(),
        before,
        "no store listing or unsealing per operation"
    );

    m.sign_init(s, &mech(ck::CKM_ECDSA_SHA256), priv_k).unwrap();
    let other = m.open_session(0, RO).unwrap();
    m.logout(other).unwrap();
    assert_eq!(
        kind(m.sign(s, b"x", Some(64))),
        ErrorKind::OperationNotInitialized
    );
    assert_eq!(
        kind(m.sign_init(s, &mech(ck::CKM_ECDSA_SHA256), priv_k)),
        ErrorKind::KeyHandleInvalid
    );
    m.login(s, ck::CKU_USER, tests::PIN).unwrap();
    sign(&m, s, priv_k, b"again");
    assert_eq!(st.reads().1, before.1 + 1, "one unseal for the new login");
}

#[test]
fn edited_bound_attributes_make_the_key_unusable() {
    let (m, backend) = ready();
    let s = user_session(&m);
    let k = aes(&m, s, vec![Attr::bool(ck::CKA_TOKEN, true)]);
    encrypt(&m, s, k, &[0; 12], b"fine");
    let st = store(&backend, &m);
    let id = st.ids().into_iter().next().unwrap();
    st.tamper_public(id, Attr::bool(ck::CKA_EXTRACTABLE, true));
    // Key use trusts the last look at the store for KEY_USE_FRESHNESS.
    std::thread::sleep(crate::token::KEY_USE_FRESHNESS);
    let e = m.encrypt_init(s, &gcm(&[0; 12]), k).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreTampered);
    assert_eq!(e.ckr(), ck::CKR_DEVICE_ERROR);
}

#[test]
fn unextractable_keys_never_wrap_and_extractable_ones_round_trip() {
    let (m, _b) = ready_with(lax());
    let s = user_session(&m);
    let wrapper = aes(&m, s, vec![]);
    let locked = aes(&m, s, vec![]);
    let kw = mech(ck::CKM_AES_KEY_WRAP);
    assert_eq!(
        kind(m.wrap_key(s, &kw, wrapper, locked, None)),
        ErrorKind::KeyUnextractable
    );
    let free = aes(&m, s, vec![Attr::bool(ck::CKA_EXTRACTABLE, true)]);
    assert!(!flag(&m, s, free, ck::CKA_NEVER_EXTRACTABLE));
    assert!(flag(&m, s, free, ck::CKA_ALWAYS_SENSITIVE));
    let n = match m.wrap_key(s, &kw, wrapper, free, None).unwrap() {
        Output::Len(n) => n,
        Output::Data(_) | Output::Written(_) => panic!("length query"),
    };
    assert_eq!(n, 40);
    assert_eq!(
        m.wrap_key(s, &kw, wrapper, free, Some(8))
            .unwrap_err()
            .needed(),
        Some(40)
    );
    let wrapped = data(m.wrap_key(s, &kw, wrapper, free, Some(n)).unwrap());
    let t = tpl(vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
        Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
    ]);
    let back = m.unwrap_key(s, &kw, wrapper, &wrapped, &t).unwrap();
    assert!(!flag(&m, s, back, ck::CKA_LOCAL) && !flag(&m, s, back, ck::CKA_ALWAYS_SENSITIVE));
    let ct = encrypt(&m, s, free, &[1; 12], b"same key");
    assert_eq!(decrypt(&m, s, back, &[1; 12], &ct).unwrap(), b"same key");
    let no_unwrap = aes(&m, s, vec![Attr::bool(ck::CKA_UNWRAP, false)]);
    assert_eq!(
        kind(m.unwrap_key(s, &kw, no_unwrap, &wrapped, &t)),
        ErrorKind::KeyFunctionNotPermitted
    );

    // A private key travels as PKCS#8; its type comes from the encoding.
    let (pub_k, priv_k) = ec_pair(&m, s, false, vec![Attr::bool(ck::CKA_EXTRACTABLE, true)]);
    let kwp = mech(ck::CKM_AES_KEY_WRAP_KWP);
    let wrapped = data(m.wrap_key(s, &kwp, wrapper, priv_k, Some(512)).unwrap());
    let t = tpl(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_PRIVATE_KEY)]);
    let back = m.unwrap_key(s, &kwp, wrapper, &wrapped, &t).unwrap();
    assert_eq!(
        value(&m, s, back, ck::CKA_KEY_TYPE),
        ck::CKK_EC.to_ne_bytes()
    );
    let sig = sign(&m, s, back, b"moved");
    m.verify_init(s, &mech(ck::CKM_ECDSA_SHA256), pub_k)
        .unwrap();
    m.verify(s, b"moved", &sig).unwrap();
}

#[test]
fn one_way_attributes_and_readable_values_under_a_lax_policy() {
    let (m, _b) = ready_with(lax());
    let s = user_session(&m);
    let k = aes(
        &m,
        s,
        vec![
            Attr::bool(ck::CKA_EXTRACTABLE, true),
            Attr::bool(ck::CKA_SENSITIVE, false),
        ],
    );
    let v = value(&m, s, k, ck::CKA_VALUE);
    assert_eq!(v.len(), 32);
    // C_DigestKey works on a key whose value may be read, and equals digesting the value.
    m.digest_init(s, &mech(ck::CKM_SHA256)).unwrap();
    m.digest_key(s, k).unwrap();
    assert_eq!(
        data(m.digest_final(s, Some(32)).unwrap()),
        sha2::Sha256::digest(&v).to_vec()
    );

    m.set_attribute_value(s, k, &tpl(vec![Attr::bool(ck::CKA_SENSITIVE, true)]))
        .unwrap();
    assert!(matches!(
        answer(&m, s, k, ck::CKA_VALUE),
        AttrAnswer::Sensitive
    ));
    assert!(!flag(&m, s, k, ck::CKA_ALWAYS_SENSITIVE));
    let back = tpl(vec![Attr::bool(ck::CKA_SENSITIVE, false)]);
    assert_eq!(
        kind(m.set_attribute_value(s, k, &back)),
        ErrorKind::AttributeReadOnly
    );
    m.set_attribute_value(s, k, &tpl(vec![Attr::bool(ck::CKA_EXTRACTABLE, false)]))
        .unwrap();
    let back = tpl(vec![Attr::bool(ck::CKA_EXTRACTABLE, true)]);
    assert_eq!(
        kind(m.set_attribute_value(s, k, &back)),
        ErrorKind::AttributeReadOnly
    );
    m.digest_init(s, &mech(ck::CKM_SHA256)).unwrap();
    assert_eq!(kind(m.digest_key(s, k)), ErrorKind::KeyIndigestible);
}

#[test]
fn digests_single_and_multi_part() {
    let (m, _b) = ready();
    let s = m.open_session(0, RO).unwrap();
    m.digest_init(s, &mech(ck::CKM_SHA256)).unwrap();
    let one = data(m.digest(s, b"abc", Some(32)).unwrap());
    assert_eq!(one, sha2::Sha256::digest(b"abc").to_vec());
    m.digest_init(s, &mech(ck::CKM_SHA256)).unwrap();
    m.digest_update(s, b"a").unwrap();
    m.digest_update(s, b"bc").unwrap();
    assert!(matches!(m.digest_final(s, None).unwrap(), Output::Len(32)));
    assert_eq!(data(m.digest_final(s, Some(32)).unwrap()), one);
    assert_eq!(
        kind(m.digest_init(s, &mech(ck::CKM_AES_GCM))),
        ErrorKind::MechanismInvalid
    );
}

#[test]
fn hmac_and_hkdf_with_a_salt_key() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let mac_key = m
        .generate_key(
            s,
            &mech(ck::CKM_GENERIC_SECRET_KEY_GEN),
            &tpl(vec![Attr::ulong(ck::CKA_VALUE_LEN, 32)]),
        )
        .unwrap();
    m.sign_init(s, &mech(ck::CKM_SHA256_HMAC), mac_key).unwrap();
    let tag = data(m.sign(s, b"data", Some(32)).unwrap());
    m.verify_init(s, &mech(ck::CKM_SHA256_HMAC), mac_key)
        .unwrap();
    m.verify(s, b"data", &tag).unwrap();

    let base = m
        .generate_key(
            s,
            &mech(ck::CKM_HKDF_KEY_GEN),
            &tpl(vec![Attr::ulong(ck::CKA_VALUE_LEN, 32)]),
        )
        .unwrap();
    assert!(flag(&m, s, base, ck::CKA_DERIVE));
    let hkdf = |salt: HkdfSalt, info: &[u8]| Mechanism {
        ty: ck::CKM_HKDF_DERIVE,
        param: MechParam::Hkdf {
            extract: true,
            expand: true,
            prf: ck::CKM_SHA256,
            salt,
            info: info.to_vec(),
        },
    };
    let t = tpl(vec![
        Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
        Attr::ulong(ck::CKA_VALUE_LEN, 32),
    ]);
    let derive = |mech: &Mechanism| m.derive_key(s, mech, base, &t).unwrap();
    let a = derive(&hkdf(HkdfSalt::Data(b"salt".to_vec()), b"ctx"));
    let b = derive(&hkdf(HkdfSalt::Data(b"salt".to_vec()), b"ctx"));
    let c = derive(&hkdf(HkdfSalt::Data(b"salt".to_vec()), b"other"));
    let ct = |k| encrypt(&m, s, k, &[9; 12], b"probe");
    assert_eq!(ct(a), ct(b));
    assert_ne!(ct(a), ct(c));
    assert!(flag(&m, s, a, ck::CKA_ALWAYS_SENSITIVE) && !flag(&m, s, a, ck::CKA_LOCAL));
    // A salt given as a key equals the same bytes given as data.
    let salt_key = m
        .create_object(
            s,
            &tpl(vec![
                Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
                Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_GENERIC_SECRET),
                Attr::new(ck::CKA_VALUE, b"salt".to_vec()),
            ]),
        )
        .unwrap();
    let d = derive(&hkdf(HkdfSalt::Key(salt_key), b"ctx"));
    assert_eq!(ct(a), ct(d));
    // No CKA_VALUE_LEN for AES: the template is incomplete for HKDF (no natural length).
    let no_len = tpl(vec![Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES)]);
    assert!(m
        .derive_key(s, &hkdf(HkdfSalt::Null, b""), base, &no_len)
        .is_err());
}

#[test]
fn ecdh_agrees_between_two_pairs() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let (pa, ka) = ec_pair(&m, s, false, vec![]);
    let (pb, kb) = ec_pair(&m, s, false, vec![]);
    let point = |p| value(&m, s, p, ck::CKA_EC_POINT);
    let ecdh = |peer: Vec<u8>| Mechanism {
        ty: ck::CKM_ECDH1_DERIVE,
        param: MechParam::Ecdh {
            kdf: ck::CKD_NULL,
            shared_data: vec![],
            public_data: peer,
        },
    };
    let t = tpl(vec![
        Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
        Attr::ulong(ck::CKA_VALUE_LEN, 32),
    ]);
    let x = m.derive_key(s, &ecdh(point(pb)), ka, &t).unwrap();
    let y = m.derive_key(s, &ecdh(point(pa)), kb, &t).unwrap();
    let ct = encrypt(&m, s, x, &[2; 12], b"shared");
    assert_eq!(decrypt(&m, s, y, &[2; 12], &ct).unwrap(), b"shared");
    let no_derive = ec_pair(&m, s, false, vec![Attr::bool(ck::CKA_DERIVE, false)]).1;
    assert_eq!(
        kind(m.derive_key(s, &ecdh(point(pb)), no_derive, &t)),
        ErrorKind::KeyFunctionNotPermitted
    );
}

fn msg_params(gen: ck::CK_GENERATOR_FUNCTION, iv: Vec<u8>) -> GcmMessageParams {
    GcmMessageParams {
        iv,
        iv_fixed_bits: 32,
        iv_generator: gen,
        tag_bits: 128,
        tag: vec![0; 16],
    }
}

#[test]
fn message_gcm_writes_into_the_callers_buffer() {
    use crate::module::Dest;
    let (m, _b) = ready();
    let s = user_session(&m);
    let k = aes(&m, s, vec![]);
    m.message_encrypt_init(s, &mech(ck::CKM_AES_GCM), k)
        .unwrap();
    let mut p = msg_params(ck::CKG_GENERATE_COUNTER, vec![0xAA; 12]);
    assert!(matches!(
        m.encrypt_message_to(s, &mut p, b"aad", b"hello", Dest::Query)
            .unwrap(),
        Output::Len(5)
    ));
    let mut short = [0u8; 4];
    let e = m
        .encrypt_message_to(s, &mut p, b"aad", b"hello", Dest::Buf(&mut short))
        .unwrap_err();
    assert_eq!(e.needed(), Some(5));
    let mut ct = [0u8; 8];
    assert!(matches!(
        m.encrypt_message_to(s, &mut p, b"aad", b"hello", Dest::Buf(&mut ct))
            .unwrap(),
        Output::Written(5)
    ));
    assert_eq!(&p.iv[4..], &[0; 8], "the first counter value, drawn once");
    assert_eq!(ct[5..], [0; 3]);
    m.message_encrypt_final(s).unwrap();

    m.message_decrypt_init(s, &mech(ck::CKM_AES_GCM), k)
        .unwrap();
    let mut pt = [0u8; 5];
    assert!(matches!(
        m.decrypt_message_to(s, &p, b"aad", &ct[..5], Dest::Buf(&mut pt))
            .unwrap(),
        Output::Written(5)
    ));
    assert_eq!(&pt, b"hello");
    let mut wrong = p.clone();
    wrong.tag[0] ^= 1;
    let mut pt = [0x55u8; 5];
    assert_eq!(
        kind(m.decrypt_message_to(s, &wrong, b"aad", &ct[..5], Dest::Buf(&mut pt))),
        ErrorKind::EncryptedDataInvalid
    );
    assert_eq!(pt, [0; 5], "no unauthenticated plaintext is left");
}

#[test]
fn message_based_gcm_with_generated_ivs() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let k = aes(&m, s, vec![]);
    assert_eq!(
        kind(m.encrypt_message(s, &mut msg_params(0, vec![0; 12]), b"", b"x", Some(64))),
        ErrorKind::OperationNotInitialized
    );
    m.message_encrypt_init(s, &mech(ck::CKM_AES_GCM), k)
        .unwrap();
    let mut p1 = msg_params(ck::CKG_GENERATE_COUNTER, vec![0xAA; 12]);
    let n = match m
        .encrypt_message(s, &mut p1, b"aad", b"first message", None)
        .unwrap()
    {
        Output::Len(n) => n,
        Output::Data(_) | Output::Written(_) => panic!("length query"),
    };
    assert_eq!(n, 13);
    assert_eq!(p1.iv, [0xAA; 12], "a length query draws no IV");
    let c1 = data(
        m.encrypt_message(s, &mut p1, b"aad", b"first message", Some(n))
            .unwrap(),
    );
    let mut p2 = msg_params(ck::CKG_GENERATE_COUNTER, vec![0xAA; 12]);
    let c2 = data(
        m.encrypt_message(s, &mut p2, b"aad", b"second", Some(64))
            .unwrap(),
    );
    assert_eq!(&p1.iv[..4], &[0xAA; 4]);
    assert_eq!(&p1.iv[4..], &[0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(&p2.iv[4..], &[0, 0, 0, 0, 0, 0, 0, 1]);

    // Multi-part message: buffered, the whole ciphertext with the last part.
    let mut p3 = msg_params(ck::CKG_GENERATE_RANDOM, vec![0xBB; 12]);
    m.encrypt_message_begin(s, &mut p3, b"hdr").unwrap();
    // As clients do: ask the length, then pass the part.
    assert!(matches!(
        m.encrypt_message_next(s, &mut p3, b"part one, ", false, None)
            .unwrap(),
        Output::Len(0)
    ));
    assert!(data(
        m.encrypt_message_next(s, &mut p3, b"part one, ", false, Some(64))
            .unwrap()
    )
    .is_empty());
    let c3 = data(
        m.encrypt_message_next(s, &mut p3, b"part two", true, Some(64))
            .unwrap(),
    );
    assert_eq!(c3.len(), 18);
    m.message_encrypt_final(s).unwrap();

    m.message_decrypt_init(s, &mech(ck::CKM_AES_GCM), k)
        .unwrap();
    let as_given = |p: &GcmMessageParams| GcmMessageParams {
        iv_generator: ck::CKG_NO_GENERATE,
        ..p.clone()
    };
    assert_eq!(
        data(
            m.decrypt_message(s, &as_given(&p1), b"aad", &c1, Some(64))
                .unwrap()
        ),
        b"first message"
    );
    assert_eq!(
        data(
            m.decrypt_message(s, &as_given(&p2), b"aad", &c2, Some(64))
                .unwrap()
        ),
        b"second"
    );
    let mut wrong = as_given(&p2);
    wrong.tag[0] ^= 1;
    assert!(m.decrypt_message(s, &wrong, b"aad", &c2, Some(64)).is_err());
    // The failed message ended; the operation goes on.
    let p3d = as_given(&p3);
    m.decrypt_message_begin(s, &p3d, b"hdr").unwrap();
    m.decrypt_message_next(s, &p3d, &c3[..5], false, None)
        .unwrap();
    m.decrypt_message_next(s, &p3d, &c3[..5], false, Some(64))
        .unwrap();
    assert_eq!(
        data(
            m.decrypt_message_next(s, &p3d, &c3[5..], true, Some(64))
                .unwrap()
        ),
        b"part one, part two"
    );
    m.message_decrypt_final(s).unwrap();
    assert_eq!(
        kind(m.message_decrypt_final(s)),
        ErrorKind::OperationNotInitialized
    );
}

#[test]
fn copies_keep_the_secret_and_vendor_attributes_are_not_for_templates() {
    let (m, _b) = ready();
    let s = user_session(&m);
    // Management attributes are the management layer's: no template may set them.
    let version = Attr::ulong(CKA_PQHSM_BASE + 1, 2);
    let e = m.generate_key(
        s,
        &mech(ck::CKM_AES_KEY_GEN),
        &tpl(vec![Attr::ulong(ck::CKA_VALUE_LEN, 32), version]),
    );
    assert_eq!(kind(e), ErrorKind::AttributeReadOnly);
    let k = aes(&m, s, vec![]);
    assert!(matches!(
        answer(&m, s, k, CKA_PQHSM_BASE + 1),
        AttrAnswer::TypeInvalid
    ));
    let c = m
        .copy_object(s, k, &tpl(vec![Attr::bool(ck::CKA_TOKEN, true)]))
        .unwrap();
    assert!(flag(&m, s, c, ck::CKA_ALWAYS_SENSITIVE) && flag(&m, s, c, ck::CKA_LOCAL));
    let ct = encrypt(&m, s, k, &[4; 12], b"twin");
    assert_eq!(decrypt(&m, s, c, &[4; 12], &ct).unwrap(), b"twin");
    let ro = m.open_session(0, RO).unwrap();
    let e = m.copy_object(ro, k, &tpl(vec![Attr::bool(ck::CKA_TOKEN, true)]));
    assert_eq!(kind(e), ErrorKind::SessionReadOnly);
}

#[test]
fn parallel_sessions_sign_with_one_key() {
    let (m, _b) = ready();
    let m = std::sync::Arc::new(m);
    let s = user_session(&m);
    let (pub_k, priv_k) = ec_pair(&m, s, true, vec![]);
    let threads: Vec<_> = (0..6u8)
        .map(|i| {
            let m = m.clone();
            std::thread::spawn(move || {
                let own = m.open_session(0, RO).unwrap();
                for j in 0..5u8 {
                    let msg = [i, j];
                    let sig = sign(&m, own, priv_k, &msg);
                    m.verify_init(own, &mech(ck::CKM_ECDSA_SHA256), pub_k)
                        .unwrap();
                    m.verify(own, &msg, &sig).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn key_pair_templates_are_checked_before_generation() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let public = tpl(vec![
        Attr::new(ck::CKA_EC_PARAMS, P256.to_vec()),
        Attr::bool(ck::CKA_SIGN, true),
    ]);
    let e = m.generate_key_pair(
        s,
        &mech(ck::CKM_EC_KEY_PAIR_GEN),
        &public,
        &Template::default(),
    );
    assert_eq!(kind(e), ErrorKind::AttributeTypeInvalid);
    let public = tpl(vec![
        Attr::new(ck::CKA_EC_PARAMS, P256.to_vec()),
        Attr::bool(ck::CKA_TOKEN, true),
    ]);
    let ro = m.open_session(0, RO).unwrap();
    let e = m.generate_key_pair(
        ro,
        &mech(ck::CKM_EC_KEY_PAIR_GEN),
        &public,
        &Template::default(),
    );
    assert_eq!(kind(e), ErrorKind::SessionReadOnly);
    let (pub_k, priv_k) = ec_pair(&m, s, true, vec![]);
    assert_eq!(value(&m, s, pub_k, ck::CKA_EC_PARAMS), P256);
    assert_eq!(value(&m, s, priv_k, ck::CKA_EC_PARAMS), P256);
    assert!(matches!(
        answer(&m, s, priv_k, ck::CKA_VALUE),
        AttrAnswer::Sensitive
    ));
    assert!(matches!(
        answer(&m, s, priv_k, ck::CKA_PRIME_1),
        AttrAnswer::TypeInvalid
    ));
}

/// A scratch data directory, removed afterwards.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> Self {
        let mut r = [0u8; 8];
        crate::rng::fill_bytes(&mut r);
        let name: String = r.iter().map(|b| format!("{b:02x}")).collect();
        let p = std::env::temp_dir().join(format!("pqhsm-core-test-{name}"));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sqlite_module(dir: &std::path::Path) -> Module {
    let mut config = Config::default();
    // Fast Argon2id for tests; the real parameters are the configuration's.
    config.kdf = crate::config::KdfParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };
    Module::with_data_dir(config, dir, InitOptions::default()).unwrap()
}

#[test]
fn sqlite_tokens_persist_and_are_shared_between_processes() {
    let dir = TempDir::new();
    let a = sqlite_module(&dir.0);
    a.init_token(0, tests::SO, "on disk").unwrap();
    let serial = a.token_info(0).unwrap().serial;
    assert!(dir
        .0
        .join("tokens")
        .join(&serial)
        .join("token.sqlite")
        .is_file());
    let sa = a.open_session(0, RW).unwrap();
    a.login(sa, ck::CKU_SO, tests::SO).unwrap();
    a.init_pin(sa, tests::PIN).unwrap();
    a.logout(sa).unwrap();
    a.login(sa, ck::CKU_USER, tests::PIN).unwrap();
    let label = Attr::new(ck::CKA_LABEL, b"disk key".to_vec());
    let k = aes(&a, sa, vec![Attr::bool(ck::CKA_TOKEN, true), label.clone()]);
    let (_, priv_k) = ec_pair(&a, sa, true, vec![]);
    let ct = encrypt(&a, sa, k, &[8; 12], b"persisted");

    // A second process on the same directory: same token, same keys.
    let b = sqlite_module(&dir.0);
    assert_eq!(b.token_info(0).unwrap().serial, serial);
    assert_eq!(
        b.token_info(1).unwrap().flags & ck::CKF_TOKEN_INITIALIZED,
        0
    );
    let sb = b.open_session(0, RW).unwrap();
    b.find_objects_init(sb, &tpl(vec![label.clone()])).unwrap();
    assert!(
        b.find_objects(sb, 5).unwrap().is_empty(),
        "private keys are invisible before login"
    );
    b.find_objects_final(sb).unwrap();
    b.login(sb, ck::CKU_USER, tests::PIN).unwrap();
    b.find_objects_init(sb, &tpl(vec![label])).unwrap();
    let kb = b.find_objects(sb, 5).unwrap();
    b.find_objects_final(sb).unwrap();
    assert_eq!(kb.len(), 1);
    assert_eq!(decrypt(&b, sb, kb[0], &[8; 12], &ct).unwrap(), b"persisted");

    // One process destroys a key; the other notices at its next use after
    // KEY_USE_FRESHNESS (key use trusts its last look at the store that long).
    sign(&a, sa, priv_k, b"before");
    b.find_objects_init(
        sb,
        &tpl(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_PRIVATE_KEY)]),
    )
    .unwrap();
    let pb = b.find_objects(sb, 5).unwrap();
    b.find_objects_final(sb).unwrap();
    b.destroy_object(sb, pb[0]).unwrap();
    std::thread::sleep(crate::token::KEY_USE_FRESHNESS);
    assert_eq!(
        kind(a.sign_init(sa, &mech(ck::CKM_ECDSA_SHA256), priv_k)),
        ErrorKind::KeyHandleInvalid
    );

    // A third start sees the token in slot 0 and a free slot after it.
    drop((a, b));
    let c = sqlite_module(&dir.0);
    assert_eq!(c.slot_list(true), vec![0, 1]);
    assert_eq!(c.token_info(0).unwrap().label, "on disk");
}

#[test]
fn rsa_and_ed25519_pairs_sign_and_hide_their_private_parts() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let public = tpl(vec![
        Attr::ulong(ck::CKA_MODULUS_BITS, 2048),
        Attr::new(ck::CKA_PUBLIC_EXPONENT, vec![1, 0, 1]),
    ]);
    let (rpub, rpriv) = m
        .generate_key_pair(
            s,
            &mech(ck::CKM_RSA_PKCS_KEY_PAIR_GEN),
            &public,
            &Template::default(),
        )
        .unwrap();
    assert_eq!(value(&m, s, rpub, ck::CKA_MODULUS).len(), 256);
    assert_eq!(
        value(&m, s, rpriv, ck::CKA_MODULUS),
        value(&m, s, rpub, ck::CKA_MODULUS)
    );
    for ty in [
        ck::CKA_PRIVATE_EXPONENT,
        ck::CKA_PRIME_1,
        ck::CKA_PRIME_2,
        ck::CKA_EXPONENT_1,
        ck::CKA_EXPONENT_2,
        ck::CKA_COEFFICIENT,
    ] {
        assert!(
            matches!(answer(&m, s, rpriv, ty), AttrAnswer::Sensitive),
            "{ty:#x}"
        );
    }
    assert!(flag(&m, s, rpriv, ck::CKA_DECRYPT) && flag(&m, s, rpub, ck::CKA_ENCRYPT));
    let pkcs1 = mech(ck::CKM_SHA256_RSA_PKCS);
    m.sign_init(s, &pkcs1, rpriv).unwrap();
    let sig = data(m.sign(s, b"rsa", Some(256)).unwrap());
    m.verify_init(s, &pkcs1, rpub).unwrap();
    m.verify(s, b"rsa", &sig).unwrap();

    let ed = tpl(vec![Attr::new(
        ck::CKA_EC_PARAMS,
        vec![0x06, 0x03, 0x2b, 0x65, 0x70],
    )]);
    let (epub, epriv) = m
        .generate_key_pair(
            s,
            &mech(ck::CKM_EC_EDWARDS_KEY_PAIR_GEN),
            &ed,
            &Template::default(),
        )
        .unwrap();
    assert!(matches!(
        answer(&m, s, epriv, ck::CKA_VALUE),
        AttrAnswer::Sensitive
    ));
    m.sign_init(s, &mech(ck::CKM_EDDSA), epriv).unwrap();
    let sig = data(m.sign(s, b"ed", Some(64)).unwrap());
    m.verify_init(s, &mech(ck::CKM_EDDSA), epub).unwrap();
    m.verify(s, b"ed", &sig).unwrap();
}

#[test]
fn wrong_size_key_material_is_a_bad_value_or_a_bad_wrapped_key() {
    let (m, _b) = ready_with(lax());
    let s = user_session(&m);
    let aes15 = tpl(vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
        Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
        Attr::new(ck::CKA_VALUE, vec![7u8; 15]),
    ]);
    assert_eq!(
        kind(m.create_object(s, &aes15)),
        ErrorKind::AttributeValueInvalid
    );
    // 24 bytes wrapped, unwrapped as AES-128 by CKA_VALUE_LEN: fine; as 20 bytes: not AES.
    let wrapper = aes(&m, s, vec![]);
    let generic = m
        .create_object(
            s,
            &tpl(vec![
                Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
                Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_GENERIC_SECRET),
                Attr::bool(ck::CKA_EXTRACTABLE, true),
                Attr::new(ck::CKA_VALUE, vec![1u8; 24]),
            ]),
        )
        .unwrap();
    let kw = mech(ck::CKM_AES_KEY_WRAP);
    let wrapped = data(m.wrap_key(s, &kw, wrapper, generic, Some(64)).unwrap());
    let as_aes = |len| {
        tpl(vec![
            Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
            Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
            Attr::ulong(ck::CKA_VALUE_LEN, len),
        ])
    };
    m.unwrap_key(s, &kw, wrapper, &wrapped, &as_aes(16))
        .unwrap();
    assert_eq!(
        kind(m.unwrap_key(s, &kw, wrapper, &wrapped, &as_aes(20))),
        ErrorKind::WrappedKeyInvalid
    );
    assert_eq!(
        kind(m.unwrap_key(s, &kw, wrapper, &wrapped, &as_aes(32))),
        ErrorKind::TemplateInconsistent
    );
}
