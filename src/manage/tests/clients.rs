//! What a PKCS#11 client can and cannot do with managed keys: read the management
//! attributes, never change them, see another process's rotation at once; and what an
//! edit of the database behind pqhsm's back leads to.

use super::*;
use crate::manage::audit::{self, Outcome};
use crate::object::vendor::{self, VersionState};

const MSG: &[u8] = b"invoice 42";

#[test]
fn clients_read_management_attributes_but_never_change_them() {
    let f = Fixture::new();
    f.generate("k", Purpose::Signing, "ec-p256");
    let (m, s) = (&f.module, f.session);
    let private = object(m, s, "k", 1, ck::CKO_PRIVATE_KEY);
    for a in [
        Attr::ulong(
            vendor::CKA_PQHSM_VERSION_STATE,
            VersionState::Retired.code(),
        ),
        Attr::new(
            vendor::CKA_PQHSM_EXPIRES_AT,
            (T0 + DAY).to_be_bytes().to_vec(),
        ),
        Attr::new(ck::CKA_LABEL, b"other".to_vec()),
        Attr::new(ck::CKA_ID, vec![0, 0, 0, 9]),
        Attr::bool(ck::CKA_SIGN, false),
        Attr::bool(ck::CKA_DECRYPT, true),
    ] {
        let ty = a.ty;
        let e = m
            .set_attribute_value(s, private, &tpl(vec![a]))
            .expect_err(&format!("{ty:#x}"));
        assert_eq!(e.kind(), ErrorKind::AttributeReadOnly, "{ty:#x}");
        assert_eq!(e.ckr(), ck::CKR_ATTRIBUTE_READ_ONLY);
    }
    // Setting a value it already has is no change, and attributes pqhsm does not own
    // stay the client's.
    m.set_attribute_value(s, private, &tpl(vec![Attr::bool(ck::CKA_SIGN, true)]))
        .unwrap();
    m.set_attribute_value(
        s,
        private,
        &tpl(vec![Attr::new(ck::CKA_START_DATE, b"20260101".to_vec())]),
    )
    .unwrap();
    // No copy escapes the lifecycle, and no client deletes a managed key.
    assert_eq!(
        kind(m.copy_object(s, private, &tpl(vec![]))),
        ErrorKind::ActionProhibited
    );
    assert_eq!(
        kind(m.destroy_object(s, private)),
        ErrorKind::ActionProhibited
    );
    // Nor does a client make a key that looks managed.
    let e = m.generate_key(
        s,
        &crate::mech::params::Mechanism::new(ck::CKM_AES_KEY_GEN),
        &tpl(vec![
            Attr::ulong(ck::CKA_VALUE_LEN, 32),
            Attr::ulong(vendor::CKA_PQHSM_VERSION_STATE, VersionState::Active.code()),
        ]),
    );
    assert_eq!(kind(e), ErrorKind::AttributeReadOnly);
}

#[test]
fn a_process_that_had_the_key_open_sees_another_process_rotate_it() {
    let f = Fixture::new();
    f.generate("payments", Purpose::Signing, "ec-p256");
    let (client, cs) = f.other_process();
    let v1 = object(&client, cs, "payments", 1, ck::CKO_PRIVATE_KEY);
    let sig = client_sign(&client, cs, v1, MSG).unwrap();
    assert!(flag(&client, cs, v1, ck::CKA_SIGN));

    f.manager().rotate("payments").unwrap();

    // Same handle, same login, key material cached: the rotation still counts.
    assert!(!flag(&client, cs, v1, ck::CKA_SIGN));
    let e = client_sign(&client, cs, v1, MSG).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyLifecycle);
    assert!(e.message().contains("active version v2"), "{e}");
    let v2 = object(&client, cs, "payments", 2, ck::CKO_PRIVATE_KEY);
    client_sign(&client, cs, v2, MSG).unwrap();
    let v1_pub = object(&client, cs, "payments", 1, ck::CKO_PUBLIC_KEY);
    client_verify(&client, cs, v1_pub, MSG, &sig).unwrap();
    // The client's refusal is in the token's audit log, under the client's name.
    let refused: Vec<_> = audit::list(f.manager().token())
        .unwrap()
        .into_iter()
        .filter_map(|l| l.entry)
        .filter(|e| e.outcome == Outcome::Refused)
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].version, Some(1));
}

#[test]
fn reactivating_a_retired_version_in_the_database_is_detected() {
    let f = Fixture::new();
    f.generate("k", Purpose::Signing, "ec-p256");
    f.manager().rotate("k").unwrap();
    let store = f
        .backend
        .store(&f.module.token_info(0).unwrap().serial)
        .unwrap();
    let snap = f.manager().snapshot().unwrap();
    let v1 = snap.key("k").unwrap().version(1).unwrap();
    let private = v1.object(ck::CKO_PRIVATE_KEY).unwrap();
    // Flip v1 back to active with its signing flag on, as a hand edit of the rows would.
    store.tamper_public(
        private.id,
        Attr::ulong(vendor::CKA_PQHSM_VERSION_STATE, VersionState::Active.code()),
    );
    store.tamper_public(private.id, Attr::bool(ck::CKA_SIGN, true));
    let (client, cs) = f.other_process();
    let h = object(&client, cs, "k", 1, ck::CKO_PRIVATE_KEY);
    assert_eq!(
        kind(client_sign(&client, cs, h, MSG)),
        ErrorKind::StoreTampered
    );
}

#[test]
fn the_audit_log_verifies_until_someone_edits_it() {
    let f = Fixture::new();
    f.generate("k", Purpose::Signing, "ec-p256");
    let mgr = f.manager();
    mgr.rotate("k").unwrap();
    assert_eq!(kind(mgr.retire("k", 2)), ErrorKind::LastActiveVersion);
    let report = audit::verify(mgr.token()).unwrap();
    assert_eq!(report.entries, 3);
    let actions: Vec<(String, Outcome)> = audit::list(mgr.token())
        .unwrap()
        .into_iter()
        .filter_map(|l| l.entry)
        .map(|e| (e.action, e.outcome))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("generate".into(), Outcome::Ok),
            ("rotate".into(), Outcome::Ok),
            ("retire".into(), Outcome::Refused)
        ]
    );
    let store = f
        .backend
        .store(&f.module.token_info(0).unwrap().serial)
        .unwrap();
    store.tamper_audit(|rows| {
        let text = String::from_utf8(rows[1].entry.clone()).unwrap();
        rows[1].entry = text.replace("\"rotate\"", "\"revoke\"").into_bytes();
    });
    let e = audit::verify(mgr.token()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuditInvalid);
    assert!(e.message().contains("entry 2"), "{e}");
}
