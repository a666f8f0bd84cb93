//! Every transition of DESIGN.md's lifecycle, and every refused one, through the
//! management API; operations checked through the module as a client makes them.

use super::*;
use crate::manage::audit::{self, Outcome};
use crate::manage::info::{ListFilter, SortBy};
use crate::manage::meta::RotationPolicy;
use crate::object::vendor::{self, KeyState, VersionState};

const MSG: &[u8] = b"pay 10 EUR";

fn states(f: &Fixture, name: &str) -> Vec<(u32, VersionState)> {
    f.manager()
        .versions(name)
        .unwrap()
        .into_iter()
        .map(|v| (v.version, v.state))
        .collect()
}

fn last_audit(f: &Fixture) -> audit::Entry {
    audit::list(f.manager().token())
        .unwrap()
        .pop()
        .and_then(|l| l.entry)
        .unwrap()
}

#[test]
fn generate_makes_v1_active_and_refuses_an_existing_name() {
    let f = Fixture::new();
    f.generate("payments", Purpose::Signing, "ec-p256");
    assert_eq!(states(&f, "payments"), vec![(1, VersionState::Active)]);
    let (m, s) = (&f.module, f.session);
    let private = object(m, s, "payments", 1, ck::CKO_PRIVATE_KEY);
    let public = object(m, s, "payments", 1, ck::CKO_PUBLIC_KEY);
    // The vendor attributes a client reads.
    assert_eq!(
        value(m, s, private, vendor::CKA_PQHSM_KEY_VERSION),
        crate::attr::encode_ulong(1)
    );
    assert_eq!(
        value(m, s, public, vendor::CKA_PQHSM_VERSION_STATE),
        crate::attr::encode_ulong(VersionState::Active.code())
    );
    assert_eq!(
        value(m, s, private, vendor::CKA_PQHSM_ALGORITHM),
        b"ec-p256"
    );
    assert_eq!(
        value(m, s, private, vendor::CKA_PQHSM_CREATED_AT),
        T0.to_be_bytes()
    );
    assert!(flag(m, s, private, ck::CKA_SIGN) && !flag(m, s, private, ck::CKA_DECRYPT));
    assert!(!flag(m, s, private, ck::CKA_EXTRACTABLE) && flag(m, s, private, ck::CKA_SENSITIVE));
    assert!(flag(m, s, private, ck::CKA_NEVER_EXTRACTABLE) && flag(m, s, private, ck::CKA_LOCAL));
    let sig = client_sign(m, s, private, MSG).unwrap();
    client_verify(m, s, public, MSG, &sig).unwrap();

    let e = f
        .manager()
        .generate(&request("payments", Purpose::Signing, "ec-p256"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyExists);
    assert!(e.message().contains("pqhsm keys rotate payments"), "{e}");
    assert_eq!(last_audit(&f).outcome, Outcome::Refused);
    assert_eq!(states(&f, "payments").len(), 1);

    // Names that are not names, and algorithms that do not fit the purpose.
    assert_eq!(
        kind(
            f.manager()
                .generate(&request("", Purpose::Signing, "ec-p256"))
        ),
        ErrorKind::ArgumentsBad
    );
    assert_eq!(
        kind(
            f.manager()
                .generate(&request("a b", Purpose::Signing, "ec-p256"))
        ),
        ErrorKind::ArgumentsBad
    );
    assert_eq!(
        kind(
            f.manager()
                .generate(&request("x", Purpose::Encryption, "ec-p256"))
        ),
        ErrorKind::ArgumentsBad
    );
}

#[test]
fn rotation_retires_the_active_version_in_the_same_transaction() {
    let f = Fixture::new();
    f.generate("payments", Purpose::Signing, "ec-p256");
    let (m, s) = (&f.module, f.session);
    let v1 = object(m, s, "payments", 1, ck::CKO_PRIVATE_KEY);
    let v1_pub = object(m, s, "payments", 1, ck::CKO_PUBLIC_KEY);
    let old_sig = client_sign(m, s, v1, MSG).unwrap();
    let g = f.manager().token().store().generation().unwrap();

    f.clock.advance(60);
    let r = f.manager().rotate("payments").unwrap();
    assert_eq!((r.previous_version, r.version), (1, 2));
    // One transaction: the generation moved exactly once (the audit row is in it too).
    assert_eq!(f.manager().token().store().generation().unwrap(), g + 1);
    assert_eq!(
        states(&f, "payments"),
        vec![(1, VersionState::Retired), (2, VersionState::Active)]
    );
    let info = f.manager().show("payments").unwrap();
    assert_eq!(info.version, Some(2));
    assert_eq!(
        info.last_rotated_at.as_deref(),
        Some(crate::manage::clock::format_time(T0 + 60).as_str())
    );

    // Usage flags reflect the state: a client looking for "the signing key" finds v2.
    assert!(!flag(m, s, v1, ck::CKA_SIGN));
    assert!(flag(m, s, v1_pub, ck::CKA_VERIFY));
    let signers = find(
        m,
        s,
        vec![
            Attr::new(ck::CKA_LABEL, b"payments".to_vec()),
            Attr::bool(ck::CKA_SIGN, true),
        ],
    );
    assert_eq!(
        signers,
        vec![object(m, s, "payments", 2, ck::CKO_PRIVATE_KEY)]
    );

    // v1 still verifies what it signed, but signs nothing new.
    client_verify(m, s, v1_pub, MSG, &old_sig).unwrap();
    let e = client_sign(m, s, v1, MSG).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyLifecycle);
    assert_eq!(
        e.message(),
        "key `payments` v1 is retired: sign with the active version v2 or rotate (`pqhsm keys rotate payments`)"
    );
    assert_eq!(e.ckr(), ck::CKR_KEY_FUNCTION_NOT_PERMITTED);
    let refusal = last_audit(&f);
    assert_eq!(
        (refusal.action.as_str(), refusal.outcome),
        ("use:sign", Outcome::Refused)
    );
    assert_eq!(
        (refusal.key.as_deref(), refusal.version),
        (Some("payments"), Some(1))
    );

    // The management API's own sign follows the same rules.
    let mgr = f.manager();
    assert_eq!(mgr.sign("payments", None, MSG).unwrap().0, 2);
    assert_eq!(
        kind(mgr.sign("payments", Some(1), MSG)),
        ErrorKind::KeyLifecycle
    );
    assert_eq!(mgr.verify("payments", Some(1), MSG, &old_sig).unwrap(), 1);
    assert_eq!(
        kind(mgr.verify("payments", Some(2), MSG, &old_sig)),
        ErrorKind::SignatureInvalid
    );
}

#[test]
fn retire_archive_destroy_follow_the_version_lifecycle() {
    let f = Fixture::new();
    f.generate("k", Purpose::Signing, "ec-p256");
    let mgr = f.manager();
    // The only active version cannot be retired (ERR_KMS_005) nor archived or destroyed.
    let e = mgr.retire("k", 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LastActiveVersion);
    assert!(e.message().contains("rotate"), "{e}");
    assert_eq!(kind(mgr.archive("k", 1)), ErrorKind::StateTransition);
    assert_eq!(
        kind(mgr.destroy_version("k", 1)),
        ErrorKind::StateTransition
    );
    assert_eq!(kind(mgr.retire("k", 7)), ErrorKind::KeyNotFound);

    mgr.rotate("k").unwrap();
    // Retiring a retired version changes nothing and succeeds.
    mgr.retire("k", 1).unwrap();
    assert_eq!(
        kind(mgr.destroy_version("k", 1)),
        ErrorKind::StateTransition
    );
    let (m, s) = (&f.module, f.session);
    let v1_pub = object(m, s, "k", 1, ck::CKO_PUBLIC_KEY);
    let v2_sig = mgr.sign("k", None, MSG).unwrap().1;
    mgr.rotate("k").unwrap();
    mgr.archive("k", 1).unwrap();
    mgr.archive("k", 1).unwrap();
    assert_eq!(states(&f, "k")[0], (1, VersionState::Archived));
    // Archived versions do nothing at all: no verification either, and no flag says so.
    assert!(!flag(m, s, v1_pub, ck::CKA_VERIFY));
    let e = client_verify(m, s, v1_pub, MSG, &[0; 64]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyLifecycle);
    assert!(e.message().contains("archived"), "{e}");
    assert_eq!(mgr.verify("k", Some(2), MSG, &v2_sig).unwrap(), 2);
    assert_eq!(kind(mgr.retire("k", 1)), ErrorKind::StateTransition);
    assert_eq!(kind(mgr.archive("k", 3)), ErrorKind::StateTransition);

    let ids_before = f
        .backend
        .store(&f.module.token_info(0).unwrap().serial)
        .unwrap()
        .ids()
        .len();
    mgr.destroy_version("k", 1).unwrap();
    // The material is gone from the store; the record stays.
    assert!(find(
        m,
        s,
        vec![Attr::new(ck::CKA_ID, 1u32.to_be_bytes().to_vec())]
    )
    .is_empty());
    let store = f
        .backend
        .store(&f.module.token_info(0).unwrap().serial)
        .unwrap();
    assert_eq!(
        store.ids().len(),
        ids_before - 1,
        "two objects out, one record in"
    );
    assert_eq!(
        states(&f, "k"),
        vec![
            (1, VersionState::Destroyed),
            (2, VersionState::Retired),
            (3, VersionState::Active)
        ]
    );
    assert_eq!(
        kind(mgr.destroy_version("k", 1)),
        ErrorKind::StateTransition
    );
    assert_eq!(kind(mgr.sign("k", Some(1), MSG)), ErrorKind::KeyLifecycle);
    // A new version never reuses a destroyed version's number.
    assert_eq!(mgr.rotate("k").unwrap().version, 4);
}

#[test]
fn revoked_keys_verify_but_never_sign_again() {
    let f = Fixture::new();
    f.generate("k", Purpose::Signing, "ec-p256");
    let mgr = f.manager();
    let (_, sig) = mgr.sign("k", None, MSG).unwrap();
    mgr.revoke("k").unwrap();
    mgr.revoke("k").unwrap();
    assert_eq!(mgr.show("k").unwrap().state, KeyState::Revoked);
    let e = mgr.sign("k", None, MSG).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyLifecycle);
    assert!(e.message().contains("revoked"), "{e}");
    mgr.verify("k", None, MSG, &sig).unwrap();
    let (m, s) = (&f.module, f.session);
    assert!(!flag(
        m,
        s,
        object(m, s, "k", 1, ck::CKO_PRIVATE_KEY),
        ck::CKA_SIGN
    ));
    assert_eq!(kind(mgr.rotate("k")), ErrorKind::StateTransition);
    assert_eq!(
        kind(mgr.set_expiry("k", Some(T0 + DAY))),
        ErrorKind::StateTransition
    );
}

#[test]
fn expiry_stops_signing_when_it_passes_even_before_the_daemon_runs() {
    let f = Fixture::new();
    let mut req = request("k", Purpose::Signing, "ec-p256");
    req.expires_at = Some(T0 + 100);
    f.manager().generate(&req).unwrap();
    let mgr = f.manager();
    let (_, sig) = mgr.sign("k", None, MSG).unwrap();
    f.clock.set(T0 + 100);
    let e = mgr.sign("k", None, MSG).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyLifecycle);
    assert!(e.message().contains("expired at"), "{e}");
    mgr.verify("k", None, MSG, &sig).unwrap();
    assert_eq!(mgr.show("k").unwrap().state, KeyState::Expired);
    assert_eq!(kind(mgr.rotate("k")), ErrorKind::StateTransition);
    // The daemon records it and the flags follow.
    let report = mgr.run_due().unwrap();
    assert_eq!(report.expired, vec!["k".to_string()]);
    let (m, s) = (&f.module, f.session);
    assert!(!flag(
        m,
        s,
        object(m, s, "k", 1, ck::CKO_PRIVATE_KEY),
        ck::CKA_SIGN
    ));
    // A past expiry is refused; a new one re-enables the key.
    assert_eq!(
        kind(mgr.set_expiry("k", Some(T0 + 50))),
        ErrorKind::ArgumentsBad
    );
    mgr.set_expiry("k", Some(T0 + DAY)).unwrap();
    assert_eq!(mgr.show("k").unwrap().state, KeyState::Enabled);
    mgr.sign("k", None, MSG).unwrap();
    mgr.set_expiry("k", None).unwrap();
    assert_eq!(mgr.show("k").unwrap().expires_at, None);
}

#[test]
fn deletion_waits_for_its_grace_period_and_can_be_cancelled_until_then() {
    let f = Fixture::new();
    f.generate("k", Purpose::Signing, "ec-p256");
    let mgr = f.manager();
    mgr.rotate("k").unwrap();
    mgr.revoke("k").unwrap();
    assert_eq!(kind(mgr.schedule_deletion("k", 0)), ErrorKind::ArgumentsBad);
    let deadline = mgr.schedule_deletion("k", 7 * DAY).unwrap();
    assert_eq!(deadline, T0 + 7 * DAY);
    assert_eq!(
        kind(mgr.schedule_deletion("k", DAY)),
        ErrorKind::StateTransition
    );
    // Pending deletion: nothing at all, not even verification.
    let e = mgr.verify("k", Some(2), MSG, &[0; 64]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyLifecycle);
    assert!(e.message().contains("cancel-delete k"), "{e}");
    assert_eq!(kind(mgr.revoke("k")), ErrorKind::StateTransition);
    // Cancelling returns to the state before (revoked).
    mgr.cancel_deletion("k").unwrap();
    assert_eq!(mgr.show("k").unwrap().state, KeyState::Revoked);
    assert_eq!(kind(mgr.cancel_deletion("k")), ErrorKind::StateTransition);

    mgr.schedule_deletion("k", 7 * DAY).unwrap();
    f.clock.advance(7 * DAY - 1);
    assert!(mgr.run_due().unwrap().deleted.is_empty());
    assert!(!mgr.complete_deletion("k").unwrap());
    f.clock.advance(1);
    let e = mgr.cancel_deletion("k").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StateTransition);
    assert!(e.message().contains("grace period"), "{e}");
    assert_eq!(mgr.run_due().unwrap().deleted, vec!["k".to_string()]);
    // Every version's material is gone; the metadata stays; the name stays taken.
    let (m, s) = (&f.module, f.session);
    assert!(find(m, s, vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_PRIVATE_KEY)]).is_empty());
    assert!(find(m, s, vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_PUBLIC_KEY)]).is_empty());
    assert_eq!(
        states(&f, "k"),
        vec![(1, VersionState::Destroyed), (2, VersionState::Destroyed)]
    );
    assert_eq!(mgr.show("k").unwrap().state, KeyState::Deleted);
    assert_eq!(
        kind(mgr.generate(&request("k", Purpose::Signing, "ec-p256"))),
        ErrorKind::KeyExists
    );
    assert_eq!(kind(mgr.rotate("k")), ErrorKind::StateTransition);
    assert!(mgr
        .list(&ListFilter::default(), SortBy::Name)
        .unwrap()
        .is_empty());
    let all = ListFilter {
        include_deleted: true,
        ..ListFilter::default()
    };
    assert_eq!(mgr.list(&all, SortBy::Name).unwrap().len(), 1);
    audit::verify(mgr.token()).unwrap();
}

#[test]
fn policies_rotate_once_per_due_interval_and_prune_old_versions() {
    let f = Fixture::new();
    f.generate("k", Purpose::Signing, "ec-p256");
    let mgr = f.manager();
    let daily = RotationPolicy {
        interval_secs: Some(DAY),
        max_versions: Some(3),
    };
    assert_eq!(
        kind(mgr.set_rotation_policy(
            "k",
            Some(RotationPolicy {
                interval_secs: Some(60),
                max_versions: None
            })
        )),
        ErrorKind::ArgumentsBad
    );
    assert_eq!(
        kind(mgr.set_rotation_policy(
            "k",
            Some(RotationPolicy {
                interval_secs: None,
                max_versions: Some(1)
            })
        )),
        ErrorKind::ArgumentsBad
    );
    mgr.set_rotation_policy("k", Some(daily)).unwrap();
    assert!(mgr.run_due().unwrap().rotated.is_empty());
    // Ten days of downtime: one rotation, not ten.
    f.clock.advance(10 * DAY);
    let report = mgr.run_due().unwrap();
    assert_eq!(report.rotated.len(), 1);
    assert_eq!(report.rotated[0].version, 2);
    assert!(mgr.run_due().unwrap().rotated.is_empty());
    f.clock.advance(DAY);
    assert_eq!(mgr.run_due().unwrap().rotated[0].version, 3);
    f.clock.advance(DAY);
    // The fourth version pushes the first out (at most three keep material).
    let r = mgr.run_due().unwrap().rotated.remove(0);
    assert_eq!((r.version, r.pruned.clone()), (4, vec![1]));
    assert_eq!(
        states(&f, "k"),
        vec![
            (1, VersionState::Destroyed),
            (2, VersionState::Retired),
            (3, VersionState::Retired),
            (4, VersionState::Active)
        ]
    );
    let next = mgr.show("k").unwrap().rotation_policy.unwrap();
    assert_eq!(next.frequency.as_deref(), Some("daily"));
    assert_eq!(
        next.next_rotation_at,
        Some(crate::manage::clock::format_time(T0 + 13 * DAY))
    );
    mgr.set_rotation_policy("k", None).unwrap();
    f.clock.advance(30 * DAY);
    assert!(mgr.run_due().unwrap().rotated.is_empty());
}

#[test]
fn labels_description_defaults_and_listing() {
    let f = Fixture::new();
    f.generate("a", Purpose::Signing, "ec-p256");
    f.generate("b", Purpose::Signing, "ed25519");
    f.generate("mac", Purpose::Hmac, "hmac-sha256");
    let mgr = f.manager();
    let set: BTreeMap<String, String> = [("env".to_string(), "prod".to_string())].into();
    mgr.set_labels("a", &set, &[]).unwrap();
    mgr.set_description("a", "card payments").unwrap();
    let only = |filter: ListFilter| -> Vec<String> {
        mgr.list(&filter, SortBy::Name)
            .unwrap()
            .into_iter()
            .map(|k| k.name)
            .collect()
    };
    assert_eq!(
        only(ListFilter {
            labels: vec![("env".into(), Some("prod".into()))],
            ..Default::default()
        }),
        vec!["a"]
    );
    assert_eq!(
        only(ListFilter {
            labels: vec![("env".into(), Some("dev".into()))],
            ..Default::default()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        only(ListFilter {
            search: Some("CARD".into()),
            ..Default::default()
        }),
        vec!["a"]
    );
    assert_eq!(
        only(ListFilter {
            purpose: Some(Purpose::Hmac),
            ..Default::default()
        }),
        vec!["mac"]
    );
    mgr.set_labels("a", &BTreeMap::new(), &["env".to_string()])
        .unwrap();
    assert!(mgr.show("a").unwrap().labels.is_empty());

    assert_eq!(mgr.default_key(Purpose::Signing).unwrap(), None);
    mgr.set_default("a").unwrap();
    mgr.set_default("b").unwrap();
    assert_eq!(
        mgr.default_key(Purpose::Signing).unwrap().as_deref(),
        Some("b")
    );
    assert!(!mgr.show("a").unwrap().default);
    mgr.revoke("b").unwrap();
    assert_eq!(mgr.default_key(Purpose::Signing).unwrap(), None);
    assert_eq!(kind(mgr.set_default("b")), ErrorKind::StateTransition);
}
