//! The token store as clients feel it, pqhsm against SoftHSM2 through PKCS#11: finding a
//! key by label among many, creating a token key (durable when the call returns), opening
//! and closing a session, and logging in, at 100 objects and at large sizes (10k for both,
//! 100k for pqhsm). Large tokens are built once and cached under target/bench-cache/.

mod support;

use criterion::Criterion;
use cryptoki::object::Attribute;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::hint::black_box;
use std::time::{Duration, Instant};
use support::record::{self, Row, Unit};
use support::tokens::{self, Module};
use support::System;

/// A filled token: its size, slot and a logged-in session that keeps the login alive.
struct Filled {
    n: usize,
    slot: Slot,
    s: Session,
}

fn size_name(n: usize) -> String {
    match n {
        n if n >= 1000 && n % 1000 == 0 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

fn system_of(m: &Module) -> System {
    if m.name == "pqhsm" {
        System::Pqhsm
    } else {
        System::SoftHsm2
    }
}

fn filled(m: &Module, n: usize) -> Filled {
    let slot = m.token(&format!("bench-{}", size_name(n)));
    let s = m.user_session(slot);
    tokens::fill(m, &s, n);
    // Load whatever the module loads on first use, so every measurement is warm.
    assert!(
        tokens::find_one(&s, &[Attribute::Label(tokens::fill_label(0).into_bytes())]).is_some(),
        "{}: the bench token of {n} keys lacks its first key",
        m.name
    );
    Filled { n, slot, s }
}

/// C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal by CKA_LABEL, a different label
/// every time, spread over the whole token.
fn find(c: &mut Criterion, m: &Module, t: &Filled) {
    let group = format!("find-label-{}", size_name(t.n));
    let mut g = c.benchmark_group(&group);
    g.sample_size(10);
    let mut i = 0usize;
    record::run(&mut g, &group, system_of(m), |b| {
        b.iter(|| {
            i = (i + 7919) % t.n;
            let found =
                t.s.find_objects(&[Attribute::Label(tokens::fill_label(i).into_bytes())])
                    .expect("C_FindObjects");
            assert_eq!(
                found.len(),
                1,
                "{}: label fill-{i:06} found {} times",
                m.name,
                found.len()
            );
            black_box(found)
        })
    });
    g.finish();
}

/// Set in a child process of this bench: the token directory it writes to as "another
/// process" (see `find_after_foreign_write`).
const FOREIGN_WRITE: &str = "PQHSM_BENCH_FOREIGN_WRITE";

/// The child's whole job: add and remove a public data object in the token store at `dir`
/// through the pqhsm library, then exit.
fn foreign_write(dir: &str) {
    use pqhsm::attr::Attr;
    use pqhsm::store::{SqliteStore, Store, StoreOptions};
    let store = SqliteStore::open(std::path::Path::new(dir), StoreOptions::default())
        .expect("open the token store");
    let public = [
        Attr::ulong(cryptoki_sys::CKA_CLASS, cryptoki_sys::CKO_DATA),
        Attr::bool(cryptoki_sys::CKA_TOKEN, true),
        Attr::bool(cryptoki_sys::CKA_PRIVATE, false),
        Attr::new(cryptoki_sys::CKA_LABEL, b"foreign".to_vec()),
    ];
    let id = store.insert(None, &public, &[]).expect("insert");
    store.delete(id).expect("delete");
}

/// C_FindObjects right after another process changed the token, which makes this process
/// reload the token's objects. The other process is this bench run again as a child that
/// adds and removes an object (untimed); only the find is timed.
fn find_after_foreign_write(c: &mut Criterion, m: &Module, t: &Filled) {
    let serial = m
        .ctx
        .get_token_info(t.slot)
        .expect("C_GetTokenInfo")
        .serial_number()
        .trim()
        .to_string();
    let dir = m.tokens_dir.join(&serial);
    assert!(dir.is_dir(), "no token directory {}", dir.display());
    let exe = std::env::current_exe().expect("the bench's own path");
    let group = format!("find-after-foreign-write-{}", size_name(t.n));
    let mut g = c.benchmark_group(&group);
    g.sample_size(10);
    let mut i = 0usize;
    record::run(&mut g, &group, system_of(m), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let status = std::process::Command::new(&exe)
                    .env(FOREIGN_WRITE, &dir)
                    .status()
                    .expect("run the writing process");
                assert!(status.success(), "the writing process failed");
                i = (i + 7919) % t.n;
                let t0 = Instant::now();
                let found =
                    t.s.find_objects(&[Attribute::Label(tokens::fill_label(i).into_bytes())])
                        .expect("C_FindObjects");
                spent += t0.elapsed();
                assert_eq!(found.len(), 1);
            }
            spent
        })
    });
    g.finish();
}

/// Another session opened and closed while `t.s` keeps the token logged in.
fn open_close(c: &mut Criterion, m: &Module, t: &Filled) {
    let group = format!("session-open-close-{}", size_name(t.n));
    let mut g = c.benchmark_group(&group);
    record::run(&mut g, &group, system_of(m), |b| {
        b.iter(|| {
            let s = m.ctx.open_rw_session(t.slot).expect("C_OpenSession");
            s.close().expect("C_CloseSession")
        })
    });
    g.finish();
}

/// C_Login of the user; the logout after each login is not timed. Runs while no other
/// session of the token is logged in (`t.s` logs out first and back in after).
fn login(c: &mut Criterion, m: &Module, t: &Filled) {
    let group = format!("login-{}", size_name(t.n));
    let mut g = c.benchmark_group(&group);
    g.sample_size(10);
    let pin = AuthPin::new(tokens::USER_PIN.into());
    t.s.logout().expect("C_Logout");
    record::run(&mut g, &group, system_of(m), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                t.s.login(UserType::User, Some(&pin)).expect("C_Login");
                spent += t0.elapsed();
                t.s.logout().expect("C_Logout");
            }
            spent
        })
    });
    t.s.login(UserType::User, Some(&pin)).expect("C_Login");
    g.finish();
}

/// C_CreateObject of a token AES-256 key in the scratch token; the destruction afterwards
/// is not timed, so the token keeps its size.
fn create(c: &mut Criterion, mods: &[&Module]) {
    let group = "create-token-aes";
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for m in mods {
        let slot = m.scratch();
        let s = m.user_session(slot);
        let mut n = 0u32;
        record::run(&mut g, group, system_of(m), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut made = Vec::new();
                for _ in 0..iters {
                    n += 1;
                    let t =
                        tokens::aes_key_template("created", &n.to_be_bytes(), vec![n as u8; 32]);
                    let t0 = Instant::now();
                    made.push(s.create_object(&t).expect("C_CreateObject"));
                    spent += t0.elapsed();
                }
                for h in made {
                    s.destroy_object(h).expect("C_DestroyObject");
                }
                spent
            })
        });
    }
    g.finish();
}

fn main() {
    if let Ok(dir) = std::env::var(FOREIGN_WRITE) {
        return foreign_write(&dir);
    }
    let smoke = support::smoke();
    let sizes: &[usize] = if smoke {
        &[100, 1000]
    } else {
        &[100, 10_000, 100_000]
    };
    let softhsm_max = if smoke { 1000 } else { 10_000 };
    let (pq, sh) = tokens::modules();
    let mut mods: Vec<&Module> = vec![&pq];
    mods.extend(sh.as_ref());

    let mut c = support::criterion();
    let mut rows = Vec::new();
    for &n in sizes {
        let name = size_name(n);
        let on: Vec<(&Module, Filled)> = mods
            .iter()
            .filter(|m| m.name == "pqhsm" || n <= softhsm_max)
            .map(|m| (*m, filled(m, n)))
            .collect();
        if n > 100 {
            rows.push(
                Row::new(
                    format!("C_FindObjects by label, {name} token objects"),
                    Unit::Micros,
                    format!("find-label-{name}"),
                )
                .target("≥ 1000× SoftHSM2 at 10k"),
            );
        }
        rows.push(
            Row::new(
                format!("C_OpenSession + C_CloseSession, {name} objects"),
                Unit::Micros,
                format!("session-open-close-{name}"),
            )
            .target("within 2× from 100 to 100k"),
        );
        rows.push(
            Row::new(
                format!("C_Login (user), {name} objects"),
                Unit::Millis,
                format!("login-{name}"),
            )
            .target("Argon2id-bound; within 1.2× from 100 to 100k"),
        );
        if n > 100 {
            rows.push(Row::new(
                format!("C_FindObjects after another process wrote (reload), {name} objects"),
                Unit::Micros,
                format!("find-after-foreign-write-{name}"),
            ));
        }
        for (m, t) in &on {
            if n > 100 {
                find(&mut c, m, t);
                if m.name == "pqhsm" {
                    find_after_foreign_write(&mut c, m, t);
                }
            }
            open_close(&mut c, m, t);
            login(&mut c, m, t);
        }
    }
    rows.push(
        Row::new(
            "C_CreateObject, token AES-256 key (durable)",
            Unit::OpsPerSec,
            "create-token-aes",
        )
        .target("≥ 5× SoftHSM2"),
    );
    create(&mut c, &mods);

    c.final_summary();
    record::finish("store", &rows);
}
