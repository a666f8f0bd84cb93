//! The module driven like a client (without FFI), on in-memory stores: slots and tokens,
//! sessions and login, PINs, objects. Tests needing real key material live in
//! `tests_keys.rs`.

use super::*;
use crate::attr::{Attr, Template};
use crate::store::memory::MemoryStore;
use crate::token::backend::MemoryBackend;
use std::sync::Arc;

pub(super) const SO: &[u8] = b"so-secret";
pub(super) const PIN: &[u8] = b"user-pin";
pub(super) const RW: ck::CK_FLAGS = ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION;
pub(super) const RO: ck::CK_FLAGS = ck::CKF_SERIAL_SESSION;

pub(super) fn module_on(backend: &MemoryBackend, config: Config) -> Module {
    Module::with_backend(config, Arc::new(backend.clone()), InitOptions::default()).unwrap()
}

/// A module with one initialised token (slot 0) whose user PIN is set, nobody logged in.
pub(super) fn ready_with(config: Config) -> (Module, MemoryBackend) {
    let backend = MemoryBackend::new(config.policy.max_pin_failures);
    let m = module_on(&backend, config);
    m.init_token(0, SO, "test token").unwrap();
    let s = m.open_session(0, RW).unwrap();
    m.login(s, ck::CKU_SO, SO).unwrap();
    m.init_pin(s, PIN).unwrap();
    m.close_session(s).unwrap();
    (m, backend)
}

pub(super) fn ready() -> (Module, MemoryBackend) {
    ready_with(Config::default())
}

/// An open read/write session with the user logged in.
pub(super) fn user_session(m: &Module) -> SessionHandle {
    let s = m.open_session(0, RW).unwrap();
    m.login(s, ck::CKU_USER, PIN).unwrap();
    s
}

pub(super) fn tpl(attrs: Vec<Attr>) -> Template {
    Template::new(attrs).unwrap()
}

pub(super) fn kind(r: Result<impl std::fmt::Debug>) -> ErrorKind {
    r.unwrap_err().kind()
}

pub(super) fn store(backend: &MemoryBackend, m: &Module) -> Arc<MemoryStore> {
    backend.store(&m.token_info(0).unwrap().serial).unwrap()
}

fn data_object(label: &str, token: bool, private: bool) -> Template {
    tpl(vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA),
        Attr::bool(ck::CKA_TOKEN, token),
        Attr::bool(ck::CKA_PRIVATE, private),
        Attr::new(ck::CKA_LABEL, label.as_bytes().to_vec()),
        Attr::new(ck::CKA_VALUE, b"payload".to_vec()),
    ])
}

fn get(m: &Module, s: SessionHandle, o: ObjectHandle, ty: ck::CK_ATTRIBUTE_TYPE) -> Vec<u8> {
    match m
        .get_attribute_value(
            s,
            o,
            &[AttrRequest {
                ty,
                cap: Some(4096),
            }],
        )
        .unwrap()
        .remove(0)
    {
        AttrAnswer::Value(v) => v.to_vec(),
        other => panic!("attribute {ty:#x}: {other:?}"),
    }
}

fn find(m: &Module, s: SessionHandle, t: Template) -> Vec<ObjectHandle> {
    m.find_objects_init(s, &t).unwrap();
    let found = m.find_objects(s, 100).unwrap();
    m.find_objects_final(s).unwrap();
    found
}

#[test]
fn module_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Module>();
}

#[test]
fn free_slot_then_token_then_new_free_slot() {
    let backend = MemoryBackend::new(10);
    let m = module_on(&backend, Config::default());
    assert_eq!(m.slot_list(true), vec![0]);
    let info = m.token_info(0).unwrap();
    assert_eq!(info.flags & ck::CKF_TOKEN_INITIALIZED, 0);
    assert_ne!(info.flags & ck::CKF_RNG, 0);
    assert_eq!(kind(m.open_session(0, RW)), ErrorKind::TokenNotRecognized);
    assert_eq!(kind(m.slot_info(1)), ErrorKind::SlotIdInvalid);

    assert_eq!(kind(m.init_token(0, b"123", "x")), ErrorKind::PinLenRange);
    m.init_token(0, SO, "first").unwrap();
    assert_eq!(m.slot_list(false), vec![0, 1]);
    let info = m.token_info(0).unwrap();
    assert_eq!(info.label, "first");
    assert_eq!(info.serial.len(), 16);
    let want =
        ck::CKF_TOKEN_INITIALIZED | ck::CKF_LOGIN_REQUIRED | ck::CKF_RNG | ck::CKF_CLOCK_ON_TOKEN;
    assert_eq!(info.flags, want, "no user PIN yet");
    assert_eq!(info.utc_time.len(), 16);
    assert_eq!(
        m.token_info(1).unwrap().flags & ck::CKF_TOKEN_INITIALIZED,
        0
    );

    m.init_token(1, SO, "second").unwrap();
    assert_eq!(m.slot_list(true).len(), 3);
    // Another process (module) sees both, sorted by serial, then one free slot.
    let other = module_on(&backend, Config::default());
    let serials: Vec<String> = (0..2)
        .map(|i| other.token_info(i).unwrap().serial)
        .collect();
    let mut sorted = serials.clone();
    sorted.sort();
    assert_eq!(serials, sorted);
    assert_eq!(
        other.token_info(2).unwrap().flags & ck::CKF_TOKEN_INITIALIZED,
        0
    );
}

#[test]
fn reinit_needs_the_so_pin_and_no_sessions_and_wipes_objects() {
    let (m, _b) = ready();
    let s = user_session(&m);
    m.create_object(s, &data_object("keep?", true, false))
        .unwrap();
    assert_eq!(kind(m.init_token(0, SO, "again")), ErrorKind::SessionExists);
    m.close_session(s).unwrap();
    assert_eq!(
        kind(m.init_token(0, b"wrong-pin", "again")),
        ErrorKind::PinIncorrect
    );
    assert_ne!(m.token_info(0).unwrap().flags & ck::CKF_SO_PIN_COUNT_LOW, 0);
    m.init_token(0, SO, "again").unwrap();
    let info = m.token_info(0).unwrap();
    assert_eq!(info.label, "again");
    assert_eq!(info.flags & ck::CKF_USER_PIN_INITIALIZED, 0);
    let s = m.open_session(0, RO).unwrap();
    assert!(find(&m, s, tpl(vec![])).is_empty());
}

#[test]
fn session_flags_states_and_counts() {
    let (m, _b) = ready();
    assert_eq!(
        kind(m.open_session(0, ck::CKF_RW_SESSION)),
        ErrorKind::SessionParallelNotSupported
    );
    let ro = m.open_session(0, RO).unwrap();
    let rw = m.open_session(0, RW).unwrap();
    assert_eq!(m.session_info(ro).unwrap().state, ck::CKS_RO_PUBLIC_SESSION);
    assert_eq!(m.session_info(rw).unwrap().state, ck::CKS_RW_PUBLIC_SESSION);
    assert_eq!(m.session_info(rw).unwrap().flags, RW);
    let info = m.token_info(0).unwrap();
    assert_eq!(
        (info.session_count, info.rw_session_count),
        (Some(2), Some(1))
    );

    m.login(ro, ck::CKU_USER, PIN).unwrap();
    // One login state per token, shared by every session.
    assert_eq!(m.session_info(rw).unwrap().state, ck::CKS_RW_USER_FUNCTIONS);
    assert_eq!(m.session_info(ro).unwrap().state, ck::CKS_RO_USER_FUNCTIONS);
    assert_eq!(
        kind(m.login(rw, ck::CKU_USER, PIN)),
        ErrorKind::UserAlreadyLoggedIn
    );
    assert_eq!(
        kind(m.login(rw, ck::CKU_SO, SO)),
        ErrorKind::UserAnotherAlreadyLoggedIn
    );
    m.logout(rw).unwrap();
    assert_eq!(m.session_info(ro).unwrap().state, ck::CKS_RO_PUBLIC_SESSION);
    assert_eq!(kind(m.logout(rw)), ErrorKind::UserNotLoggedIn);

    assert_eq!(
        kind(m.login(rw, ck::CKU_SO, SO)),
        ErrorKind::SessionReadOnlyExists
    );
    m.close_session(ro).unwrap();
    m.login(rw, ck::CKU_SO, SO).unwrap();
    assert_eq!(m.session_info(rw).unwrap().state, ck::CKS_RW_SO_FUNCTIONS);
    assert_eq!(
        kind(m.open_session(0, RO)),
        ErrorKind::SessionReadWriteSoExists
    );
    let rw2 = m.open_session(0, RW).unwrap();
    // Closing every session ends the login.
    m.close_all_sessions(0).unwrap();
    assert_eq!(kind(m.session_info(rw2)), ErrorKind::SessionHandleInvalid);
    let s = m.open_session(0, RO).unwrap();
    assert_eq!(m.session_info(s).unwrap().state, ck::CKS_RO_PUBLIC_SESSION);
}

#[test]
fn last_session_closed_logs_out() {
    let (m, _b) = ready();
    let s = user_session(&m);
    m.close_session(s).unwrap();
    assert_eq!(kind(m.close_session(s)), ErrorKind::SessionHandleInvalid);
    let s = m.open_session(0, RO).unwrap();
    assert_eq!(m.session_info(s).unwrap().state, ck::CKS_RO_PUBLIC_SESSION);
}

#[test]
fn login_user_types_and_pin_failures() {
    let backend = MemoryBackend::new(3);
    let mut config = Config::default();
    config.policy.max_pin_failures = 3;
    let m = module_on(&backend, config);
    m.init_token(0, SO, "t").unwrap();
    let s = m.open_session(0, RW).unwrap();
    assert_eq!(
        kind(m.login(s, ck::CKU_USER, PIN)),
        ErrorKind::UserPinNotInitialized
    );
    assert_eq!(
        kind(m.login(s, ck::CKU_CONTEXT_SPECIFIC, PIN)),
        ErrorKind::OperationNotInitialized
    );
    assert_eq!(kind(m.login(s, 77, PIN)), ErrorKind::UserTypeInvalid);
    assert_eq!(kind(m.init_pin(s, PIN)), ErrorKind::UserNotLoggedIn);
    m.login(s, ck::CKU_SO, SO).unwrap();
    assert_eq!(kind(m.init_pin(s, b"12")), ErrorKind::PinLenRange);
    m.init_pin(s, PIN).unwrap();
    m.logout(s).unwrap();

    assert_eq!(
        kind(m.login(s, ck::CKU_USER, b"wrong-pin")),
        ErrorKind::PinIncorrect
    );
    let flags = m.token_info(0).unwrap().flags;
    assert_ne!(flags & ck::CKF_USER_PIN_COUNT_LOW, 0);
    assert_eq!(flags & ck::CKF_USER_PIN_FINAL_TRY, 0);
    assert_eq!(
        kind(m.login(s, ck::CKU_USER, b"wrong-pin")),
        ErrorKind::PinIncorrect
    );
    assert_ne!(
        m.token_info(0).unwrap().flags & ck::CKF_USER_PIN_FINAL_TRY,
        0
    );
    assert_eq!(
        kind(m.login(s, ck::CKU_USER, b"wrong-pin")),
        ErrorKind::PinIncorrect
    );
    assert_ne!(m.token_info(0).unwrap().flags & ck::CKF_USER_PIN_LOCKED, 0);
    assert_eq!(kind(m.login(s, ck::CKU_USER, PIN)), ErrorKind::PinLocked);
    // The SO unlocks by setting a new user PIN.
    m.login(s, ck::CKU_SO, SO).unwrap();
    m.init_pin(s, b"fresh-pin").unwrap();
    m.logout(s).unwrap();
    m.login(s, ck::CKU_USER, b"fresh-pin").unwrap();
    assert_eq!(m.token_info(0).unwrap().flags & ck::CKF_USER_PIN_LOCKED, 0);
}

#[test]
fn set_pin_rules() {
    let (m, _b) = ready();
    let ro = m.open_session(0, RO).unwrap();
    assert_eq!(
        kind(m.set_pin(ro, PIN, b"new-pin")),
        ErrorKind::SessionReadOnly
    );
    let rw = m.open_session(0, RW).unwrap();
    assert_eq!(kind(m.set_pin(rw, PIN, b"")), ErrorKind::PinLenRange);
    assert_eq!(
        kind(m.set_pin(rw, b"not-it", b"new-pin")),
        ErrorKind::PinIncorrect
    );
    // Not logged in: the user PIN changes.
    m.set_pin(rw, PIN, b"new-pin").unwrap();
    assert_eq!(
        kind(m.login(rw, ck::CKU_USER, PIN)),
        ErrorKind::PinIncorrect
    );
    m.login(rw, ck::CKU_USER, b"new-pin").unwrap();
    m.set_pin(rw, b"new-pin", b"newer-pin").unwrap();
    m.logout(rw).unwrap();
    m.close_session(ro).unwrap();
    // Logged in as SO: the SO PIN changes.
    m.login(rw, ck::CKU_SO, SO).unwrap();
    m.set_pin(rw, SO, b"so-secret-2").unwrap();
    m.logout(rw).unwrap();
    assert_eq!(kind(m.login(rw, ck::CKU_SO, SO)), ErrorKind::PinIncorrect);
    m.login(rw, ck::CKU_SO, b"so-secret-2").unwrap();
}

#[test]
fn data_objects_token_and_session_with_read_only_rules() {
    let (m, _b) = ready();
    let ro = m.open_session(0, RO).unwrap();
    assert_eq!(
        kind(m.create_object(ro, &data_object("t", true, false))),
        ErrorKind::SessionReadOnly
    );
    let session_obj = m
        .create_object(ro, &data_object("s", false, false))
        .unwrap();
    let rw = m.open_session(0, RW).unwrap();
    let token_obj = m.create_object(rw, &data_object("t", true, false)).unwrap();
    assert_eq!(get(&m, ro, token_obj, ck::CKA_VALUE), b"payload");
    assert_eq!(get(&m, ro, token_obj, ck::CKA_TOKEN), vec![ck::CK_TRUE]);
    assert_eq!(get(&m, ro, token_obj, ck::CKA_APPLICATION), b"");
    let id1 = get(&m, ro, token_obj, ck::CKA_UNIQUE_ID);
    let id2 = get(&m, ro, session_obj, ck::CKA_UNIQUE_ID);
    assert_eq!(id1.len(), 32);
    assert_ne!(id1, id2);

    let relabel = tpl(vec![Attr::new(ck::CKA_LABEL, b"renamed".to_vec())]);
    assert_eq!(
        kind(m.set_attribute_value(ro, token_obj, &relabel)),
        ErrorKind::SessionReadOnly
    );
    m.set_attribute_value(ro, session_obj, &relabel).unwrap();
    m.set_attribute_value(rw, token_obj, &relabel).unwrap();
    assert_eq!(get(&m, ro, token_obj, ck::CKA_LABEL), b"renamed");
    let value = tpl(vec![Attr::new(ck::CKA_VALUE, b"other".to_vec())]);
    assert_eq!(
        kind(m.set_attribute_value(rw, token_obj, &value)),
        ErrorKind::AttributeReadOnly
    );

    assert_eq!(
        kind(m.destroy_object(ro, token_obj)),
        ErrorKind::SessionReadOnly
    );
    m.destroy_object(rw, token_obj).unwrap();
    assert_eq!(
        kind(m.object_size(rw, token_obj)),
        ErrorKind::ObjectHandleInvalid
    );
    // Session objects are visible to every session of the process and die with their own.
    assert!(m.object_size(rw, session_obj).unwrap() > 0);
    m.close_session(ro).unwrap();
    assert_eq!(
        kind(m.object_size(rw, session_obj)),
        ErrorKind::ObjectHandleInvalid
    );
}

#[test]
fn private_objects_need_and_follow_the_user_login() {
    let (m, _b) = ready();
    let s = m.open_session(0, RW).unwrap();
    assert_eq!(
        kind(m.create_object(s, &data_object("p", true, true))),
        ErrorKind::UserNotLoggedIn
    );
    m.login(s, ck::CKU_USER, PIN).unwrap();
    let private = m.create_object(s, &data_object("p", true, true)).unwrap();
    let public = m.create_object(s, &data_object("q", true, false)).unwrap();
    assert_eq!(
        find(&m, s, tpl(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA)])),
        vec![private, public]
    );
    m.logout(s).unwrap();
    assert_eq!(
        kind(m.object_size(s, private)),
        ErrorKind::ObjectHandleInvalid
    );
    assert_eq!(find(&m, s, tpl(vec![])), vec![public]);
    // The SO sees public objects only.
    m.login(s, ck::CKU_SO, SO).unwrap();
    assert_eq!(find(&m, s, tpl(vec![])), vec![public]);
    assert_eq!(
        kind(m.create_object(s, &data_object("p2", true, true))),
        ErrorKind::UserNotLoggedIn
    );
}

#[test]
fn get_attribute_value_answers_per_attribute() {
    let (m, _b) = ready();
    let s = m.open_session(0, RW).unwrap();
    let o = m
        .create_object(s, &data_object("label", false, false))
        .unwrap();
    let req = [
        AttrRequest {
            ty: ck::CKA_LABEL,
            cap: None,
        },
        AttrRequest {
            ty: ck::CKA_LABEL,
            cap: Some(2),
        },
        AttrRequest {
            ty: ck::CKA_VALUE,
            cap: Some(7),
        },
        AttrRequest {
            ty: ck::CKA_MODULUS,
            cap: Some(64),
        },
    ];
    let a = m.get_attribute_value(s, o, &req).unwrap();
    assert!(matches!(a[0], AttrAnswer::Len(5)));
    assert!(matches!(a[1], AttrAnswer::TooSmall));
    assert!(matches!(&a[2], AttrAnswer::Value(v) if v.as_slice() == b"payload"));
    assert!(matches!(a[3], AttrAnswer::TypeInvalid));
    assert_eq!(get_attribute_rv(&a), ck::CKR_ATTRIBUTE_TYPE_INVALID);
}

#[test]
fn copy_and_destroy_follow_the_object_flags() {
    let (m, _b) = ready();
    let s = user_session(&m);
    let mut t = data_object("orig", false, false).0;
    t.push(Attr::bool(ck::CKA_DESTROYABLE, false));
    let o = m.create_object(s, &tpl(t)).unwrap();
    assert_eq!(kind(m.destroy_object(s, o)), ErrorKind::ActionProhibited);
    let c = m
        .copy_object(
            s,
            o,
            &tpl(vec![
                Attr::bool(ck::CKA_TOKEN, true),
                Attr::bool(ck::CKA_DESTROYABLE, true),
            ]),
        )
        .unwrap();
    assert_ne!(c, o);
    assert_eq!(get(&m, s, c, ck::CKA_TOKEN), vec![ck::CK_TRUE]);
    assert_eq!(get(&m, s, c, ck::CKA_VALUE), b"payload");
    assert_ne!(
        get(&m, s, c, ck::CKA_UNIQUE_ID),
        get(&m, s, o, ck::CKA_UNIQUE_ID)
    );
    m.destroy_object(s, c).unwrap();
    let frozen = m
        .copy_object(s, o, &tpl(vec![Attr::bool(ck::CKA_COPYABLE, false)]))
        .unwrap();
    assert_eq!(
        kind(m.copy_object(s, frozen, &tpl(vec![]))),
        ErrorKind::ActionProhibited
    );
    let fixed = m
        .copy_object(s, o, &tpl(vec![Attr::bool(ck::CKA_MODIFIABLE, false)]))
        .unwrap();
    let relabel = tpl(vec![Attr::new(ck::CKA_LABEL, b"x".to_vec())]);
    assert_eq!(
        kind(m.set_attribute_value(s, fixed, &relabel)),
        ErrorKind::ActionProhibited
    );
    let ro = m.open_session(0, RO).unwrap();
    assert_eq!(
        kind(m.copy_object(ro, o, &tpl(vec![Attr::bool(ck::CKA_TOKEN, true)]))),
        ErrorKind::SessionReadOnly
    );
}

#[test]
fn certificates_are_stored_as_given() {
    let (m, _b) = ready();
    let s = m.open_session(0, RW).unwrap();
    let base = vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_CERTIFICATE),
        Attr::ulong(ck::CKA_CERTIFICATE_TYPE, ck::CKC_X_509),
        Attr::bool(ck::CKA_TOKEN, true),
        Attr::new(ck::CKA_SUBJECT, b"subject-der".to_vec()),
    ];
    assert_eq!(
        kind(m.create_object(s, &tpl(base.clone()))),
        ErrorKind::TemplateIncomplete
    );
    let mut full = base;
    full.push(Attr::new(ck::CKA_VALUE, b"certificate-der".to_vec()));
    let c = m.create_object(s, &tpl(full)).unwrap();
    assert_eq!(get(&m, s, c, ck::CKA_VALUE), b"certificate-der");
    assert_eq!(get(&m, s, c, ck::CKA_PRIVATE), vec![ck::CK_FALSE]);
    assert_eq!(get(&m, s, c, ck::CKA_TRUSTED), vec![ck::CK_FALSE]);
    let wtls = tpl(vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_CERTIFICATE),
        Attr::ulong(ck::CKA_CERTIFICATE_TYPE, ck::CKC_WTLS),
    ]);
    assert_eq!(
        kind(m.create_object(s, &wtls)),
        ErrorKind::AttributeValueInvalid
    );
}

#[test]
fn find_matches_bytes_and_follows_operation_rules() {
    let (m, _b) = ready();
    let s = m.open_session(0, RW).unwrap();
    let a = m.create_object(s, &data_object("a", false, false)).unwrap();
    let b = m.create_object(s, &data_object("b", true, false)).unwrap();
    assert_eq!(
        find(&m, s, tpl(vec![Attr::new(ck::CKA_LABEL, b"b".to_vec())])),
        vec![b]
    );
    assert_eq!(
        find(&m, s, tpl(vec![Attr::bool(ck::CKA_TOKEN, false)])),
        vec![a]
    );
    assert!(find(&m, s, tpl(vec![Attr::new(ck::CKA_LABEL, b"a ".to_vec())])).is_empty());
    assert_eq!(
        kind(m.find_objects(s, 1)),
        ErrorKind::OperationNotInitialized
    );
    m.find_objects_init(s, &tpl(vec![])).unwrap();
    assert_eq!(
        kind(m.find_objects_init(s, &tpl(vec![]))),
        ErrorKind::OperationActive
    );
    assert_eq!(m.find_objects(s, 1).unwrap(), vec![a]);
    assert_eq!(m.find_objects(s, 5).unwrap(), vec![b]);
    m.session_cancel(s, ck::CKF_FIND_OBJECTS).unwrap();
    assert_eq!(
        kind(m.find_objects_final(s)),
        ErrorKind::OperationNotInitialized
    );
}

#[test]
fn another_process_writes_are_seen_through_the_generation() {
    let (a, backend) = ready();
    let b = module_on(&backend, Config::default());
    let sa = a.open_session(0, RW).unwrap();
    let sb = b.open_session(0, RW).unwrap();
    let o = a
        .create_object(sa, &data_object("shared", true, false))
        .unwrap();
    let found = find(
        &b,
        sb,
        tpl(vec![Attr::new(ck::CKA_LABEL, b"shared".to_vec())]),
    );
    assert_eq!(found.len(), 1);
    let ob = found[0];
    a.set_attribute_value(
        sa,
        o,
        &tpl(vec![Attr::new(ck::CKA_LABEL, b"changed".to_vec())]),
    )
    .unwrap();
    assert_eq!(
        get(&b, sb, ob, ck::CKA_LABEL),
        b"changed",
        "same handle, new attributes"
    );
    a.destroy_object(sa, o).unwrap();
    assert_eq!(kind(b.object_size(sb, ob)), ErrorKind::ObjectHandleInvalid);
}

#[test]
fn serving_a_token_object_reads_the_store_only_when_it_changed() {
    let (m, backend) = ready();
    let s = m.open_session(0, RW).unwrap();
    let o = m.create_object(s, &data_object("x", true, false)).unwrap();
    m.object_size(s, o).unwrap();
    let st = store(&backend, &m);
    let before = st.reads();
    for _ in 0..20 {
        m.object_size(s, o).unwrap();
        get(&m, s, o, ck::CKA_LABEL);
    }
    assert_eq!(st.reads(), before);
}

#[test]
fn random_is_served_and_seeding_refused() {
    let (m, _b) = ready();
    let s = m.open_session(0, RO).unwrap();
    let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
    m.generate_random(s, &mut x).unwrap();
    m.generate_random(s, &mut y).unwrap();
    assert_ne!(x, y);
    assert_ne!(x, [0u8; 32]);
    assert_eq!(
        kind(m.seed_random(s, b"seed")),
        ErrorKind::RandomSeedNotSupported
    );
    assert_eq!(
        kind(m.generate_random(999, &mut x)),
        ErrorKind::SessionHandleInvalid
    );
}

#[test]
fn many_threads_many_sessions() {
    let (m, _b) = ready();
    let m = Arc::new(m);
    let keeper = user_session(&m);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let m = m.clone();
            std::thread::spawn(move || {
                let s = m.open_session(0, RW).unwrap();
                let label = format!("t{i}");
                for _ in 0..10 {
                    let o = m
                        .create_object(s, &data_object(&label, i % 2 == 0, i % 3 == 0))
                        .unwrap();
                    assert_eq!(get(&m, s, o, ck::CKA_LABEL), label.as_bytes());
                }
                let n = find(
                    &m,
                    s,
                    tpl(vec![Attr::new(ck::CKA_LABEL, label.into_bytes())]),
                )
                .len();
                m.close_session(s).unwrap();
                n
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 10);
    }
    // Session objects went with their sessions; token objects stayed.
    assert_eq!(
        find(
            &m,
            keeper,
            tpl(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA)])
        )
        .len(),
        40
    );
}
