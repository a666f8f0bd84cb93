//! The SQLite store told as a client's and an attacker's stories: initialise, log in,
//! seal and unseal; guess PINs; edit the file by hand; share it between threads and
//! processes.

use super::super::codec::{decode_attrs, encode_attrs};
use super::*;
use rusqlite::Connection;
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const SO_PIN: &[u8] = b"so-secret";
const USER_PIN: &[u8] = b"user-secret";
const SMALL_KDF: KdfParams = KdfParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};
const MAX_FAILURES: u32 = 3;

fn small() -> StoreOptions {
    StoreOptions {
        kdf: SMALL_KDF,
        max_pin_failures: MAX_FAILURES,
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = u32::from_be_bytes(seal::random());
        let name = format!("pqhsm-store-{}-{n}-{tag:08x}", std::process::id());
        TempDir(std::env::temp_dir().join(name))
    }
    fn db_file(&self) -> PathBuf {
        self.0.join(super::super::db::FILE_NAME)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An initialised token with a user PIN, and the user's MK.
fn token() -> (TempDir, SqliteStore, MasterKey) {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.0, small()).unwrap();
    store.init_token(SO_PIN, "test token").unwrap();
    let so_mk = store.login(PinKind::So, SO_PIN).unwrap();
    store.init_user_pin(&so_mk, USER_PIN).unwrap();
    let mk = store.login(PinKind::User, USER_PIN).unwrap();
    (dir, store, mk)
}

fn key_public(label: &str) -> Vec<Attr> {
    vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
        Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
        Attr::new(ck::CKA_LABEL, label.as_bytes().to_vec()),
        Attr::new(ck::CKA_ID, 1u32.to_be_bytes().to_vec()),
        Attr::bool(ck::CKA_SENSITIVE, true),
        Attr::bool(ck::CKA_EXTRACTABLE, false),
        Attr::bool(ck::CKA_SIGN, true),
    ]
}

fn key_secret() -> Vec<Attr> {
    vec![Attr::new(ck::CKA_VALUE, seal::random::<32>().to_vec())]
}

/// The error of a login expected to fail (a `MasterKey` has no Debug to unwrap_err with).
fn login_err(store: &SqliteStore, who: PinKind, pin: &[u8]) -> Error {
    match store.login(who, pin) {
        Ok(_) => panic!("the {who:?} PIN was accepted"),
        Err(e) => e,
    }
}

/// Store a fresh AES key labelled `label`; its id.
fn new_key(store: &SqliteStore, mk: &MasterKey, label: &str) -> ObjectId {
    store
        .insert(Some(mk), &key_public(label), &key_secret())
        .unwrap()
}

fn raw(dir: &TempDir) -> Connection {
    Connection::open(dir.db_file()).unwrap()
}

fn sql_get(dir: &TempDir, column: &str, id: ObjectId) -> Option<Vec<u8>> {
    raw(dir)
        .query_row(
            &format!("SELECT {column} FROM objects WHERE id = ?1"),
            [id as i64],
            |r| r.get(0),
        )
        .unwrap()
}

fn sql_set(dir: &TempDir, column: &str, id: ObjectId, value: Option<&[u8]>) {
    let n = raw(dir)
        .execute(
            &format!("UPDATE objects SET {column} = ?1 WHERE id = ?2"),
            params![value, id as i64],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// Edit an object's public attributes behind the store's back.
fn edit_public(dir: &TempDir, id: ObjectId, edit: impl FnOnce(&mut Vec<Attr>)) {
    let mut attrs = decode_attrs(&sql_get(dir, "public", id).unwrap()).unwrap();
    edit(&mut attrs);
    sql_set(dir, "public", id, Some(&encode_attrs(&attrs)));
}

fn set_attr(attrs: &mut [Attr], attr: Attr) {
    let slot = attrs.iter_mut().find(|a| a.ty == attr.ty).unwrap();
    *slot = attr;
}

fn assert_tampered(result: Result<Vec<Attr>>, id: ObjectId) {
    let e = result.expect_err("a tampered object unsealed");
    assert_eq!(e.kind(), ErrorKind::StoreTampered, "{e:?}");
    assert_eq!(
        e.message(),
        format!(
            "object {id} failed its integrity check: the token store was modified outside pqhsm"
        )
    );
}

#[test]
fn round_trip_across_handles() {
    let (dir, store, mk) = token();
    let secret = key_secret();
    let id = store
        .insert(Some(&mk), &key_public("aes"), &secret)
        .unwrap();
    let cert = vec![
        Attr::ulong(ck::CKA_CLASS, ck::CKO_CERTIFICATE),
        Attr::new(ck::CKA_VALUE, vec![0x30, 0]),
    ];
    let public_id = store.insert(None, &cert, &[]).unwrap();
    assert_ne!(id, public_id);

    let listed = store.objects().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].id, id);
    assert!(listed[0].has_secret);
    assert_eq!(listed[0].public, key_public("aes"));
    assert!(!listed[1].has_secret);
    assert_eq!(store.unseal(&mk, id).unwrap(), secret);
    assert_eq!(store.unseal(&mk, public_id).unwrap(), Vec::<Attr>::new());

    // The sealed column holds no plaintext.
    let sealed = sql_get(&dir, "sealed", id).unwrap();
    assert!(!sealed.windows(32).any(|w| w == secret[0].value.as_slice()));

    drop(store);
    let again = SqliteStore::open(&dir.0, small()).unwrap();
    let mk2 = again.login(PinKind::User, USER_PIN).unwrap();
    assert_eq!(again.unseal(&mk2, id).unwrap(), secret);
    let so_mk = again.login(PinKind::So, SO_PIN).unwrap();
    assert_eq!(*so_mk.0, *mk2.0, "SO and user PINs unlock the same MK");
    assert_eq!(
        again.unseal(&mk, 999).unwrap_err().kind(),
        ErrorKind::ObjectHandleInvalid
    );
}

#[test]
fn files_are_private_to_the_owner() {
    let (dir, _store, _mk) = token();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.0), 0o700);
    assert_eq!(mode(&dir.db_file()), 0o600);
}

#[test]
fn token_record_and_uninitialised_token() {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.0, small()).unwrap();
    assert!(store.token().unwrap().is_none());
    let serial = store.serial().unwrap();
    assert_eq!(serial.len(), 16);
    assert_eq!(
        login_err(&store, PinKind::So, SO_PIN).kind(),
        ErrorKind::TokenNotRecognized
    );
    store.init_token(SO_PIN, "first").unwrap();
    assert_eq!(
        login_err(&store, PinKind::User, USER_PIN).kind(),
        ErrorKind::UserPinNotInitialized
    );
    let t = store.token().unwrap().unwrap();
    assert_eq!(
        (t.label.as_str(), t.serial.as_str()),
        ("first", serial.as_str())
    );
    assert!(!t.user_pin_initialized && !t.user_pin_locked && !t.so_pin_locked);
    assert_eq!(t.max_pin_failures, MAX_FAILURES);
}

#[test]
fn generation_moves_on_every_write_only() {
    let (_dir, store, mk) = token();
    let g0 = store.generation().unwrap();
    assert_eq!(store.generation().unwrap(), g0);
    store.objects().unwrap();
    assert_eq!(
        store.generation().unwrap(),
        g0,
        "a read changed the generation"
    );
    let id = new_key(&store, &mk, "a");
    let g1 = store.generation().unwrap();
    assert_ne!(g1, g0);
    store.update(Some(&mk), id, &key_public("b")).unwrap();
    let g2 = store.generation().unwrap();
    assert_ne!(g2, g1);
    store.delete(id).unwrap();
    assert_ne!(store.generation().unwrap(), g2);
    assert_eq!(
        store.delete(id).unwrap_err().kind(),
        ErrorKind::ObjectHandleInvalid
    );
}

#[test]
fn wrong_user_pin_counts_locks_and_so_resets() {
    let (dir, store, _mk) = token();
    let e = login_err(&store, PinKind::User, b"guess-1");
    assert_eq!(e.kind(), ErrorKind::PinIncorrect);
    assert!(e.message().contains("2 attempt(s) left"), "{e:?}");
    assert_eq!(store.token().unwrap().unwrap().user_pin_failures, 1);
    // The right PIN resets the count.
    store.login(PinKind::User, USER_PIN).unwrap();
    assert_eq!(store.token().unwrap().unwrap().user_pin_failures, 0);

    for _ in 0..MAX_FAILURES - 1 {
        assert_eq!(
            login_err(&store, PinKind::User, b"guess").kind(),
            ErrorKind::PinIncorrect
        );
    }
    // The failure is on disk before the error returns: a new handle sees it.
    let other = SqliteStore::open(&dir.0, small()).unwrap();
    assert_eq!(
        other.token().unwrap().unwrap().user_pin_failures,
        MAX_FAILURES - 1
    );
    let last = login_err(&other, PinKind::User, b"guess");
    assert_eq!(last.kind(), ErrorKind::PinIncorrect);
    assert!(last.message().contains("now locked"), "{last:?}");

    let t = store.token().unwrap().unwrap();
    assert!(t.user_pin_locked && !t.so_pin_locked);
    assert_eq!(
        login_err(&store, PinKind::User, USER_PIN).kind(),
        ErrorKind::PinLocked
    );
    assert_eq!(
        store
            .set_pin(PinKind::User, USER_PIN, b"x")
            .unwrap_err()
            .kind(),
        ErrorKind::PinLocked
    );

    let so_mk = store.login(PinKind::So, SO_PIN).unwrap();
    store.init_user_pin(&so_mk, b"fresh-user-pin").unwrap();
    assert!(!store.token().unwrap().unwrap().user_pin_locked);
    assert_eq!(
        login_err(&store, PinKind::User, USER_PIN).kind(),
        ErrorKind::PinIncorrect
    );
    let mk = store.login(PinKind::User, b"fresh-user-pin").unwrap();
    assert_eq!(*mk.0, *so_mk.0);
}

#[test]
fn parallel_guesses_cannot_exceed_the_limit() {
    let (_dir, store, _mk) = token();
    let store = Arc::new(store);
    let guesses: Vec<ErrorKind> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                login_err(&store, PinKind::User, format!("guess-{i}").as_bytes()).kind()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let answered = guesses
        .iter()
        .filter(|k| **k == ErrorKind::PinIncorrect)
        .count();
    let locked = guesses
        .iter()
        .filter(|k| **k == ErrorKind::PinLocked)
        .count();
    assert_eq!(
        (answered, locked),
        (MAX_FAILURES as usize, 8 - MAX_FAILURES as usize),
        "{guesses:?}"
    );
    assert_eq!(
        store.token().unwrap().unwrap().user_pin_failures,
        MAX_FAILURES
    );
}

#[test]
fn processes_creating_one_token_at_once_agree() {
    let dir = Arc::new(TempDir::new());
    let serials: Vec<String> = (0..6)
        .map(|_| {
            let dir = Arc::clone(&dir);
            std::thread::spawn(move || {
                SqliteStore::open(&dir.0, small())
                    .unwrap()
                    .serial()
                    .unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(serials.iter().all(|s| *s == serials[0]), "{serials:?}");
}

#[test]
fn locked_so_pin_blocks_reinitialisation() {
    let (_dir, store, mk) = token();
    let id = new_key(&store, &mk, "kept");
    for _ in 0..MAX_FAILURES {
        assert_eq!(
            store.init_token(b"wrong", "wipe").unwrap_err().kind(),
            ErrorKind::PinIncorrect
        );
    }
    assert!(store.token().unwrap().unwrap().so_pin_locked);
    assert_eq!(
        store.init_token(SO_PIN, "wipe").unwrap_err().kind(),
        ErrorKind::PinLocked
    );
    assert_eq!(
        login_err(&store, PinKind::So, SO_PIN).kind(),
        ErrorKind::PinLocked
    );
    assert!(
        store.unseal(&mk, id).is_ok(),
        "failed re-initialisations wiped data"
    );
}

#[test]
fn set_pin_rewraps_the_same_master_key() {
    let (_dir, store, mk) = token();
    let secret = key_secret();
    let id = store.insert(Some(&mk), &key_public("k"), &secret).unwrap();
    assert_eq!(
        store
            .set_pin(PinKind::User, b"not-it", b"new")
            .unwrap_err()
            .kind(),
        ErrorKind::PinIncorrect
    );
    assert_eq!(store.token().unwrap().unwrap().user_pin_failures, 1);
    store
        .set_pin(PinKind::User, USER_PIN, b"new-user-pin")
        .unwrap();
    assert_eq!(store.token().unwrap().unwrap().user_pin_failures, 0);
    assert_eq!(
        login_err(&store, PinKind::User, USER_PIN).kind(),
        ErrorKind::PinIncorrect
    );
    let mk2 = store.login(PinKind::User, b"new-user-pin").unwrap();
    assert_eq!(store.unseal(&mk2, id).unwrap(), secret);

    store.set_pin(PinKind::So, SO_PIN, b"new-so-pin").unwrap();
    let so_mk = store.login(PinKind::So, b"new-so-pin").unwrap();
    assert_eq!(store.unseal(&so_mk, id).unwrap(), secret);
}

#[test]
fn reinitialisation_needs_the_so_pin_then_wipes_everything() {
    let (_dir, store, mk) = token();
    let serial = store.serial().unwrap();
    let id = new_key(&store, &mk, "old");
    assert_eq!(
        store.init_token(b"wrong", "new").unwrap_err().kind(),
        ErrorKind::PinIncorrect
    );
    assert_eq!(store.objects().unwrap().len(), 1);

    store.init_token(SO_PIN, "new").unwrap();
    let t = store.token().unwrap().unwrap();
    assert_eq!(
        (t.label.as_str(), t.serial.as_str()),
        ("new", serial.as_str())
    );
    assert!(!t.user_pin_initialized);
    assert!(store.objects().unwrap().is_empty());
    let new_mk = store.login(PinKind::So, SO_PIN).unwrap();
    assert_ne!(*new_mk.0, *mk.0, "re-initialisation kept the master key");
    // A master key from before the wipe is refused, not mistaken for tampering.
    for e in [
        store
            .insert(Some(&mk), &key_public("stale"), &key_secret())
            .unwrap_err(),
        store.unseal(&mk, id).unwrap_err(),
        store.init_user_pin(&mk, USER_PIN).unwrap_err(),
    ] {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::UserNotLoggedIn | ErrorKind::ObjectHandleInvalid
            ),
            "{e:?}"
        );
    }
    assert_eq!(
        store.init_user_pin(&mk, USER_PIN).unwrap_err().kind(),
        ErrorKind::UserNotLoggedIn
    );
}

#[test]
fn kdf_parameters_and_limit_come_from_the_token_record() {
    let (dir, store, mk) = token();
    let id = new_key(&store, &mk, "k");
    drop(store);
    // Different options at open: the token's own record still decides.
    let opts = StoreOptions {
        kdf: KdfParams {
            memory_kib: 512,
            iterations: 2,
            parallelism: 2,
        },
        max_pin_failures: 10,
    };
    let store = SqliteStore::open(&dir.0, opts).unwrap();
    let mk = store.login(PinKind::User, USER_PIN).unwrap();
    assert!(store.unseal(&mk, id).is_ok());
    store.set_pin(PinKind::User, USER_PIN, b"changed").unwrap();
    let rows: Vec<(u32, u32, u32)> = {
        let conn = raw(&dir);
        let mut stmt = conn
            .prepare("SELECT kdf_memory_kib, kdf_iterations, kdf_parallelism FROM pins")
            .unwrap();
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap();
        rows.map(|r| r.unwrap()).collect()
    };
    assert_eq!(rows, vec![(256, 1, 1); 2]);
    for _ in 0..MAX_FAILURES {
        let _ = store.login(PinKind::User, b"wrong");
    }
    assert_eq!(
        login_err(&store, PinKind::User, b"changed").kind(),
        ErrorKind::PinLocked
    );
    assert_eq!(
        store.token().unwrap().unwrap().max_pin_failures,
        MAX_FAILURES
    );
}

#[test]
fn bad_options_are_refused() {
    let dir = TempDir::new();
    let kdf = KdfParams {
        memory_kib: 4,
        ..SMALL_KDF
    };
    let e = SqliteStore::open(&dir.0, StoreOptions { kdf, ..small() })
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::ArgumentsBad);
    let e = SqliteStore::open(
        &dir.0,
        StoreOptions {
            max_pin_failures: 0,
            ..small()
        },
    )
    .err()
    .unwrap();
    assert_eq!(e.kind(), ErrorKind::ArgumentsBad);
}

#[test]
fn update_reseals_bound_changes_and_needs_the_key_for_them() {
    let (_dir, store, mk) = token();
    let secret = key_secret();
    let id = store.insert(Some(&mk), &key_public("k"), &secret).unwrap();

    // An unbound attribute (the start date) changes without the key.
    let mut public = key_public("k");
    public.push(Attr::new(ck::CKA_START_DATE, b"20250101".to_vec()));
    store.update(None, id, &public).unwrap();
    assert_eq!(store.unseal(&mk, id).unwrap(), secret);
    let dated = public.clone();

    // A bound one needs it: a usage flag, or the label (a managed key's name).
    let mut renamed = public.clone();
    set_attr(&mut renamed, Attr::new(ck::CKA_LABEL, b"renamed".to_vec()));
    assert_eq!(
        store.update(None, id, &renamed).unwrap_err().kind(),
        ErrorKind::UserNotLoggedIn
    );
    set_attr(&mut public, Attr::bool(ck::CKA_SIGN, false));
    assert_eq!(
        store.update(None, id, &public).unwrap_err().kind(),
        ErrorKind::UserNotLoggedIn
    );
    assert_eq!(
        store.objects().unwrap()[0].public,
        dated,
        "refused update was applied"
    );
    store.update(Some(&mk), id, &public).unwrap();
    assert_eq!(store.objects().unwrap()[0].public, public);
    assert_eq!(store.unseal(&mk, id).unwrap(), secret);

    // Removing a bound attribute is a change too.
    public.retain(|a| a.ty != ck::CKA_EXTRACTABLE);
    assert_eq!(
        store.update(None, id, &public).unwrap_err().kind(),
        ErrorKind::UserNotLoggedIn
    );
    assert_eq!(
        store.update(Some(&mk), 4242, &public).unwrap_err().kind(),
        ErrorKind::ObjectHandleInvalid
    );
}

#[test]
fn malformed_inserts_are_refused() {
    let (_dir, store, mk) = token();
    let mut dup = key_public("d");
    dup.push(Attr::bool(ck::CKA_EXTRACTABLE, true));
    let e = store.insert(Some(&mk), &dup, &key_secret()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TemplateInconsistent);
    let e = store
        .insert(Some(&mk), &key_public("no material"), &[])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TemplateIncomplete);
    let e = store
        .insert(None, &key_public("no key"), &key_secret())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserNotLoggedIn);
    assert!(store.objects().unwrap().is_empty());
}

#[test]
fn flipping_protection_attributes_is_detected() {
    let (dir, store, mk) = token();
    for attr in [
        Attr::bool(ck::CKA_EXTRACTABLE, true),
        Attr::bool(ck::CKA_SENSITIVE, false),
        Attr::bool(ck::CKA_SIGN, false),
        Attr::ulong(ck::CKA_CLASS, ck::CKO_PRIVATE_KEY),
        Attr::new(ck::CKA_ID, 2u32.to_be_bytes().to_vec()),
    ] {
        let id = new_key(&store, &mk, "k");
        let ty = attr.ty;
        edit_public(&dir, id, |attrs| set_attr(attrs, attr));
        assert_tampered(store.unseal(&mk, id), id);
        // And a bound change through the API cannot launder the edit into a fresh seal.
        let mut public = store
            .objects()
            .unwrap()
            .into_iter()
            .find(|o| o.id == id)
            .unwrap()
            .public;
        public.push(Attr::bool(ck::CKA_DECRYPT, true));
        let e = store.update(Some(&mk), id, &public).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::StoreTampered,
            "attribute {ty:#x}: {e:?}"
        );
    }
}

#[test]
fn adding_or_duplicating_a_bound_attribute_is_detected() {
    let (dir, store, mk) = token();
    let id = new_key(&store, &mk, "k");
    edit_public(&dir, id, |attrs| attrs.push(Attr::bool(ck::CKA_WRAP, true)));
    assert_tampered(store.unseal(&mk, id), id);

    // A second CKA_EXTRACTABLE would let the binding and the reader disagree: refused.
    let id2 = new_key(&store, &mk, "k2");
    let mut blob = sql_get(&dir, "public", id2).unwrap();
    let extra = encode_attrs(&[Attr::bool(ck::CKA_EXTRACTABLE, true)]);
    let count = u32::from_be_bytes(blob[..4].try_into().unwrap()) + 1;
    blob[..4].copy_from_slice(&count.to_be_bytes());
    blob.extend_from_slice(&extra[4..]);
    sql_set(&dir, "public", id2, Some(&blob));
    assert_tampered(store.unseal(&mk, id2), id2);
    assert_eq!(
        store.objects().unwrap_err().kind(),
        ErrorKind::StoreTampered
    );
}

#[test]
fn swapping_blobs_or_keys_between_objects_is_detected() {
    let (dir, store, mk) = token();
    let a = new_key(&store, &mk, "a");
    let b = new_key(&store, &mk, "b");
    for column in ["sealed", "wrapped_dek"] {
        let (va, vb) = (sql_get(&dir, column, a), sql_get(&dir, column, b));
        sql_set(&dir, column, a, vb.as_deref());
        sql_set(&dir, column, b, va.as_deref());
        assert_tampered(store.unseal(&mk, a), a);
        assert_tampered(store.unseal(&mk, b), b);
        sql_set(&dir, column, a, va.as_deref());
        sql_set(&dir, column, b, vb.as_deref());
        assert!(store.unseal(&mk, a).is_ok() && store.unseal(&mk, b).is_ok());
    }
    // Both columns moved together still name the wrong object id.
    let (sa, da) = (sql_get(&dir, "sealed", a), sql_get(&dir, "wrapped_dek", a));
    sql_set(&dir, "sealed", b, sa.as_deref());
    sql_set(&dir, "wrapped_dek", b, da.as_deref());
    assert_tampered(store.unseal(&mk, b), b);
}

#[test]
fn copying_a_row_to_another_id_is_detected() {
    let (dir, store, mk) = token();
    let secret = key_secret();
    let id = store
        .insert(Some(&mk), &key_public("orig"), &secret)
        .unwrap();
    raw(&dir)
        .execute(
            "INSERT INTO objects (id, class, key_type, label, cka_id, public, sealed, wrapped_dek)
             SELECT 77, class, key_type, label, cka_id, public, sealed, wrapped_dek FROM objects WHERE id = ?1",
            [id as i64],
        )
        .unwrap();
    assert_tampered(store.unseal(&mk, 77), 77);
    assert_eq!(store.unseal(&mk, id).unwrap(), secret);
}

#[test]
fn rolling_back_part_of_a_row_is_detected() {
    let (dir, store, mk) = token();
    let id = new_key(&store, &mk, "k");
    let old = ["public", "sealed", "wrapped_dek"].map(|c| sql_get(&dir, c, id));
    let mut retired = key_public("k");
    set_attr(&mut retired, Attr::bool(ck::CKA_SIGN, false));
    store.update(Some(&mk), id, &retired).unwrap();
    let new = ["public", "sealed", "wrapped_dek"].map(|c| sql_get(&dir, c, id));

    // Old public attributes (CKA_SIGN back on) over the new seal.
    sql_set(&dir, "public", id, old[0].as_deref());
    assert_tampered(store.unseal(&mk, id), id);
    // New public attributes over the old seal and key.
    sql_set(&dir, "public", id, new[0].as_deref());
    sql_set(&dir, "sealed", id, old[1].as_deref());
    sql_set(&dir, "wrapped_dek", id, old[2].as_deref());
    assert_tampered(store.unseal(&mk, id), id);
    // The old seal with the new key.
    sql_set(&dir, "wrapped_dek", id, new[2].as_deref());
    assert_tampered(store.unseal(&mk, id), id);
}

#[test]
fn damaged_or_stripped_seals_are_detected() {
    let (dir, store, mk) = token();
    let id = new_key(&store, &mk, "k");
    let sealed = sql_get(&dir, "sealed", id).unwrap();
    for i in [0, 1, 3, 20, sealed.len() / 2, sealed.len() - 1] {
        let mut bad = sealed.clone();
        bad[i] ^= 1;
        sql_set(&dir, "sealed", id, Some(&bad));
        assert_tampered(store.unseal(&mk, id), id);
    }
    sql_set(&dir, "sealed", id, Some(&sealed[..sealed.len() - 1]));
    assert_tampered(store.unseal(&mk, id), id);
    // A key whose sealed part was removed is a forged row, not a key without material.
    sql_set(&dir, "sealed", id, None);
    sql_set(&dir, "wrapped_dek", id, None);
    assert_tampered(store.unseal(&mk, id), id);
    sql_set(&dir, "public", id, Some(b"\x00\x00\x00\x05junk"));
    assert_tampered(store.unseal(&mk, id), id);
    assert_eq!(
        store.objects().unwrap_err().kind(),
        ErrorKind::StoreTampered
    );
}

#[test]
fn damaged_token_records_are_reported() {
    let (dir, store, _mk) = token();
    raw(&dir)
        .execute("UPDATE pins SET salt = x'00' WHERE kind = 'user'", [])
        .unwrap();
    assert_eq!(
        login_err(&store, PinKind::User, USER_PIN).kind(),
        ErrorKind::StoreTampered
    );
    raw(&dir)
        .execute(
            "UPDATE pins SET kdf_memory_kib = 4000000000 WHERE kind = 'so'",
            [],
        )
        .unwrap();
    assert_eq!(
        login_err(&store, PinKind::So, SO_PIN).kind(),
        ErrorKind::StoreTampered
    );
    raw(&dir)
        .execute("UPDATE meta SET token_uuid = x'0102'", [])
        .unwrap();
    assert_eq!(store.token().unwrap_err().kind(), ErrorKind::StoreTampered);
    raw(&dir).execute("DELETE FROM meta", []).unwrap();
    assert_eq!(store.token().unwrap_err().kind(), ErrorKind::StoreTampered);
}

/// Open a store on a damaged file and use it; every step may fail, none may panic, and
/// at least one must fail with a store error.
fn open_and_use(dir: &TempDir, id: ObjectId) -> Vec<Error> {
    let store = match SqliteStore::open(&dir.0, small()) {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    errors.extend(store.token().err());
    errors.extend(store.objects().err());
    match store.login(PinKind::User, USER_PIN) {
        Ok(mk) => errors.extend(store.unseal(&mk, id).err()),
        Err(e) => errors.push(e),
    }
    errors
}

type Damage = dyn Fn(&mut Vec<u8>);

#[test]
fn truncated_or_garbage_files_fail_cleanly() {
    // Cut the file short at several points, or overwrite its last pages with noise.
    let damages: [&Damage; 5] = [
        &|b| b.truncate(b.len() * 9 / 10),
        &|b| b.truncate(b.len() / 2),
        &|b| b.truncate(b.len() / 4),
        &|b| b.truncate(100),
        &|b| {
            let n = b.len();
            crate::rng::fill_bytes(&mut b[n - 3 * 4096..]);
        },
    ];
    for (n, damage) in damages.iter().enumerate() {
        let (dir, store, mk) = token();
        let mut id = 0;
        for i in 0..40 {
            id = new_key(&store, &mk, &format!("k{i}"));
        }
        drop(store);
        // Closing the last connection folds the WAL into the file.
        assert!(!dir.0.join("token.sqlite-wal").exists());
        let mut bytes = std::fs::read(dir.db_file()).unwrap();
        damage(&mut bytes);
        std::fs::write(dir.db_file(), &bytes).unwrap();
        let errors = open_and_use(&dir, id);
        assert!(!errors.is_empty(), "damage {n} went unnoticed");
        for e in &errors {
            assert!(
                matches!(e.kind(), ErrorKind::StoreTampered | ErrorKind::StoreIo),
                "damage {n}: {e:?}"
            );
        }
    }

    let dir = TempDir::new();
    std::fs::create_dir_all(&dir.0).unwrap();
    let mut garbage = vec![0u8; 8192];
    crate::rng::fill_bytes(&mut garbage);
    std::fs::write(dir.db_file(), &garbage).unwrap();
    let e = SqliteStore::open(&dir.0, small())
        .err()
        .expect("garbage opened as a store");
    assert_eq!(e.kind(), ErrorKind::StoreTampered, "{e:?}");
}

#[test]
fn a_foreign_sqlite_database_is_not_a_token() {
    let dir = TempDir::new();
    std::fs::create_dir_all(&dir.0).unwrap();
    raw(&dir)
        .execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    let e = SqliteStore::open(&dir.0, small()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::TokenNotRecognized, "{e:?}");
}

#[test]
fn threads_on_two_handles_lose_nothing() {
    let (dir, store, _mk) = token();
    let handles = [
        Arc::new(store),
        Arc::new(SqliteStore::open(&dir.0, small()).unwrap()),
    ];
    const THREADS_PER_HANDLE: usize = 4;
    const EACH: usize = 15;
    let mut joins = Vec::new();
    for (h, store) in handles.iter().enumerate() {
        let mk = Arc::new(store.login(PinKind::User, USER_PIN).unwrap());
        for t in 0..THREADS_PER_HANDLE {
            let (store, mk) = (Arc::clone(store), Arc::clone(&mk));
            joins.push(std::thread::spawn(move || {
                (0..EACH)
                    .map(|i| {
                        let secret = key_secret();
                        let id = store
                            .insert(Some(&mk), &key_public(&format!("h{h}-t{t}-{i}")), &secret)
                            .unwrap();
                        (id, secret)
                    })
                    .collect::<Vec<_>>()
            }));
        }
    }
    let written: Vec<(ObjectId, Vec<Attr>)> =
        joins.into_iter().flat_map(|j| j.join().unwrap()).collect();
    assert_eq!(written.len(), 2 * THREADS_PER_HANDLE * EACH);
    let ids: HashSet<ObjectId> = written.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), written.len(), "two inserts got the same id");
    let listed = handles[1].objects().unwrap();
    assert_eq!(listed.len(), written.len());
    let mk = handles[0].login(PinKind::User, USER_PIN).unwrap();
    for (id, secret) in &written {
        assert_eq!(&handles[0].unseal(&mk, *id).unwrap(), secret);
    }
}

const CHILD_DIR: &str = "PQHSM_STORE_TEST_CHILD_DIR";
const CHILD_COUNT: &str = "PQHSM_STORE_TEST_CHILD_COUNT";
const CHILD_TEST: &str = "store::sqlite::tests::child_writer";

/// Not a test: the body of the second process in `another_process_writes_concurrently`.
/// It opens the token with default options (the record decides the KDF), logs in and
/// inserts objects labelled `child-N`.
#[test]
#[ignore = "helper process, started by another_process_writes_concurrently"]
fn child_writer() {
    let dir = PathBuf::from(std::env::var(CHILD_DIR).expect("run by the parent test only"));
    let count: usize = std::env::var(CHILD_COUNT).unwrap().parse().unwrap();
    let store = SqliteStore::open(&dir, StoreOptions::default()).unwrap();
    let mk = store.login(PinKind::User, USER_PIN).unwrap();
    for i in 0..count {
        new_key(&store, &mk, &format!("child-{i}"));
    }
}

fn spawn_child(dir: &TempDir, count: usize) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            CHILD_TEST,
            "--exact",
            "--ignored",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_DIR, &dir.0)
        .env(CHILD_COUNT, count.to_string())
        // The child's own test-harness chatter; its failures still reach stderr.
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn another_process_writes_concurrently() {
    let (dir, store, mk) = token();
    const CHILD_WRITES: usize = 60;
    let mut child = spawn_child(&dir, CHILD_WRITES);
    let mut mine = 0;
    // Keep writing until the child is done, so the two processes overlap.
    while child.try_wait().unwrap().is_none() || mine < 20 {
        new_key(&store, &mk, &format!("parent-{mine}"));
        mine += 1;
    }
    assert!(child.wait().unwrap().success(), "the child process failed");
    let listed = store.objects().unwrap();
    assert_eq!(listed.len(), mine + CHILD_WRITES);
    let labels: HashSet<Vec<u8>> = listed
        .iter()
        .map(|o| value_of(&o.public, ck::CKA_LABEL).unwrap().to_vec())
        .collect();
    for i in 0..CHILD_WRITES {
        assert!(
            labels.contains(format!("child-{i}").as_bytes()),
            "child-{i} lost"
        );
    }
    for o in &listed {
        store.unseal(&mk, o.id).unwrap();
    }

    // A write by another process alone moves this handle's generation.
    let before = store.generation().unwrap();
    assert_eq!(store.generation().unwrap(), before);
    assert!(spawn_child(&dir, 1).wait().unwrap().success());
    assert_ne!(store.generation().unwrap(), before);
}

// ----- batches and the audit log -----

/// A seal that chains by concatenation and "MACs" with a constant: the store only keeps
/// what it is given, in order.
fn test_seal(seq: u64, prev: Option<&[u8]>) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut chain = prev.unwrap_or_default().to_vec();
    chain.extend_from_slice(&seq.to_be_bytes());
    Ok((chain, b"mac".to_vec()))
}

#[test]
fn a_batch_commits_all_or_nothing() {
    let (_dir, store, mk) = token();
    let old = new_key(&store, &mk, "v1");
    let mut retired = key_public("v1");
    set_attr(&mut retired, Attr::bool(ck::CKA_SIGN, false));
    let v2 = key_public("v2");
    let secret = key_secret();
    let g0 = store.generation().unwrap();

    // A change that cannot apply (no such object) takes the others with it.
    let doomed = [
        Change::Insert {
            public: &v2,
            secret: &secret,
        },
        Change::Update {
            id: old,
            public: &retired,
        },
        Change::Delete { id: 4242 },
    ];
    let e = store.apply(Some(&mk), Some(g0), &doomed, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ObjectHandleInvalid);
    assert_eq!(
        store.objects().unwrap().len(),
        1,
        "a failed batch left objects"
    );
    assert_eq!(store.objects().unwrap()[0].public, key_public("v1"));
    assert_eq!(store.generation().unwrap(), g0);

    // A batch prepared from an older reading is refused whole.
    let rotate = &doomed[..2];
    let e = store
        .apply(Some(&mk), Some(g0 + 1), rotate, None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(store.objects().unwrap().len(), 1);

    // The batch itself: the new version and the resealed old one land together.
    let ids = store.apply(Some(&mk), Some(g0), rotate, None).unwrap();
    assert_eq!(ids.len(), 1);
    assert_ne!(store.generation().unwrap(), g0);
    assert_eq!(store.unseal(&mk, ids[0]).unwrap(), secret);
    let listed = store.objects().unwrap();
    assert_eq!(listed.iter().find(|o| o.id == old).unwrap().public, retired);
    store.unseal(&mk, old).unwrap();
    // Without MK a bound change cannot be resealed, and nothing else lands either.
    let data = [Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA)];
    let back = [
        Change::Insert {
            public: &data,
            secret: &[],
        },
        Change::Update {
            id: old,
            public: &key_public("v1"),
        },
    ];
    let e = store.apply(None, None, &back, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UserNotLoggedIn);
    assert_eq!(store.objects().unwrap().len(), 2);

    store
        .apply(None, None, &[Change::Delete { id: old }], None)
        .unwrap();
    assert_eq!(
        store.unseal(&mk, old).unwrap_err().kind(),
        ErrorKind::ObjectHandleInvalid
    );
}

#[test]
fn audit_rows_append_in_order_with_the_batch_and_survive_reopening() {
    let (dir, store, mk) = token();
    let entry = |n: u8| vec![b'e', n];
    for n in 1..=3u8 {
        let e = entry(n);
        let a = AuditAppend {
            entry: &e,
            seal: &test_seal,
        };
        store.apply(Some(&mk), None, &[], Some(&a)).unwrap();
    }
    // A failing batch appends nothing.
    let e = entry(9);
    let a = AuditAppend {
        entry: &e,
        seal: &test_seal,
    };
    assert!(store
        .apply(Some(&mk), None, &[Change::Delete { id: 99 }], Some(&a))
        .is_err());
    let failing = |_: u64, _: Option<&[u8]>| -> Result<(Vec<u8>, Vec<u8>)> {
        Err(Error::new(ErrorKind::General, "no key"))
    };
    let public = key_public("k");
    let secret = key_secret();
    let a = AuditAppend {
        entry: &e,
        seal: &failing,
    };
    let insert = [Change::Insert {
        public: &public,
        secret: &secret,
    }];
    assert!(store.apply(Some(&mk), None, &insert, Some(&a)).is_err());
    assert!(
        store.objects().unwrap().is_empty(),
        "the audit failure did not roll back"
    );

    let rows = SqliteStore::open(&dir.0, small())
        .unwrap()
        .audit_rows()
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(rows[2].entry, entry(3));
    assert_eq!(
        rows[2].chain,
        [1u64, 2, 3]
            .iter()
            .flat_map(|n| n.to_be_bytes())
            .collect::<Vec<_>>()
    );
    assert_eq!(rows[0].mac, b"mac");

    // Re-initialising the token starts a new log (the new MK cannot vouch for the old one).
    store.init_token(SO_PIN, "again").unwrap();
    assert!(store.audit_rows().unwrap().is_empty());
}

#[test]
fn stores_made_before_the_audit_log_gain_it_on_open() {
    let (dir, store, _mk) = token();
    drop(store);
    raw(&dir).execute_batch("DROP TABLE audit").unwrap();
    let store = SqliteStore::open(&dir.0, small()).unwrap();
    assert!(store.audit_rows().unwrap().is_empty());
}
