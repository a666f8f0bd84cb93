//! Cryptographic operations side by side: pqhsm through PKCS#11 (a `cryptoki` client
//! loading target/release/libpqhsm_pkcs11.so), the crate that serves the operation inside
//! pqhsm called directly, and SoftHSM2 through PKCS#11. Signing keys are token keys of a
//! cached token; key generation and the threads comparison use fresh objects.

mod support;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use cryptoki::mechanism::aead::{GcmMessageParams, GcmParams, GeneratorFunction};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MessageParam};
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use std::hint::black_box;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::raw::{self, Raw};
use support::record::{self, Row, Unit};
use support::tokens::{self, Module};
use support::System;

const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
const MIB: usize = 1 << 20;
/// Filler keys in the token holding the operation keys (the "100 objects" token).
const SMALL: usize = 100;

/// A module's operation keys, in its small token, and a logged-in session on it.
struct Keys {
    slot: Slot,
    s: Session,
    rsa: (ObjectHandle, ObjectHandle),
    p256: (ObjectHandle, ObjectHandle),
    p384: (ObjectHandle, ObjectHandle),
    ed25519: (ObjectHandle, ObjectHandle),
    hmac: ObjectHandle,
    /// pqhsm only: an HMAC key kept by the management layer (`pqhsm keys create`), whose
    /// lifecycle every use checks.
    managed_hmac: Option<ObjectHandle>,
    aes: ObjectHandle,
}

/// The name (CKA_LABEL) of the managed HMAC key.
const MANAGED_HMAC: &str = "bench-managed-hmac";

/// Make the managed HMAC key on the bench token the way the CLI does: through pqhsm's
/// library on the same data directory (`PQHSM_DATA_DIR`, set when the module was loaded),
/// its own logged-in session and the management layer. The loaded module sees it at its
/// next look at the store.
fn make_managed_hmac(token: &str) {
    use pqhsm::manage::{GenerateRequest, Manager};
    use pqhsm::module::{InitOptions, Module as Library};
    use pqhsm::object::vendor::Purpose;
    let lib = Library::new(InitOptions::default()).expect("pqhsm library on the bench data");
    let slot = lib
        .slot_list(true)
        .into_iter()
        .find(|slot| lib.token_info(*slot).is_ok_and(|t| t.label == token))
        .expect("the bench token in the library's view");
    let s = lib
        .open_session(
            slot,
            cryptoki_sys::CKF_SERIAL_SESSION | cryptoki_sys::CKF_RW_SESSION,
        )
        .expect("open a session");
    lib.login(s, cryptoki_sys::CKU_USER, tokens::USER_PIN.as_bytes())
        .expect("log in");
    Manager::new(&lib, s)
        .and_then(|m| {
            m.generate(&GenerateRequest {
                name: MANAGED_HMAC.into(),
                purpose: Purpose::Hmac,
                algorithm: Some("hmac-sha256".into()),
                expires_at: None,
                policy: None,
                labels: Default::default(),
                description: "bench: per-use lifecycle check".into(),
            })
        })
        .expect("generate the managed HMAC key");
    let _ = lib.logout(s);
    let _ = lib.close_session(s);
}

fn ec_pair(curve: &'static [u8]) -> impl Fn(&Session, &str) -> (ObjectHandle, ObjectHandle) {
    move |s, label| {
        tokens::generate_pair(
            s,
            &Mechanism::EccKeyPairGen,
            label,
            true,
            vec![Attribute::EcParams(curve.to_vec())],
        )
    }
}

impl Keys {
    fn new(m: &Module) -> Keys {
        let slot = m.token("bench-small");
        let s = m.user_session(slot);
        tokens::fill(m, &s, SMALL);
        let rsa = tokens::key(&s, "rsa2048", |s, l| {
            tokens::generate_pair(
                s,
                &Mechanism::RsaPkcsKeyPairGen,
                l,
                true,
                vec![
                    Attribute::ModulusBits(2048.into()),
                    Attribute::PublicExponent(vec![1, 0, 1]),
                ],
            )
        });
        let p256 = tokens::key(&s, "p256", ec_pair(P256_OID));
        let p384 = tokens::key(&s, "p384", ec_pair(P384_OID));
        let ed25519 = tokens::key(&s, "ed25519", |s, l| {
            tokens::generate_pair(
                s,
                &Mechanism::EccEdwardsKeyPairGen,
                l,
                true,
                vec![Attribute::EcParams(ED25519_OID.to_vec())],
            )
        });
        let hmac = tokens::key(&s, "hmac", |s, l| {
            let k = tokens::generate_secret(
                s,
                &Mechanism::GenericSecretKeyGen,
                l,
                KeyType::GENERIC_SECRET,
                vec![Attribute::Sign(true), Attribute::Verify(true)],
            );
            (k, k)
        })
        .0;
        let aes = tokens::key(&s, "aes", |s, l| {
            let k = tokens::generate_secret(
                s,
                &Mechanism::AesKeyGen,
                l,
                KeyType::AES,
                vec![Attribute::Encrypt(true), Attribute::Decrypt(true)],
            );
            (k, k)
        })
        .0;
        let managed_hmac = (m.name == "pqhsm").then(|| {
            tokens::key(&s, MANAGED_HMAC, |s, l| {
                make_managed_hmac("bench-small");
                let k = tokens::find_one(
                    s,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::Label(l.as_bytes().to_vec()),
                    ],
                )
                .expect("the managed HMAC key, seen through PKCS#11");
                (k, k)
            })
            .0
        });
        Keys {
            slot,
            s,
            rsa,
            p256,
            p384,
            ed25519,
            hmac,
            managed_hmac,
            aes,
        }
    }
}

fn eddsa() -> Mechanism<'static> {
    Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure))
}

fn msg(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + 7) as u8).collect()
}

/// The three columns of one signing operation.
fn sign_group(
    c: &mut Criterion,
    group: &str,
    mods: &[(&Module, &Keys)],
    mech: &Mechanism,
    key: fn(&Keys) -> ObjectHandle,
    data: &[u8],
    mut raw: Raw,
) {
    let mut g = c.benchmark_group(group);
    for (m, k) in mods {
        let handle = key(k);
        record::run(&mut g, group, system_of(m), |b| {
            b.iter(|| black_box(k.s.sign(mech, handle, black_box(data)).expect("C_Sign")))
        });
    }
    record::run(&mut g, group, System::Raw, |b| b.iter(&mut raw.op));
    g.finish();
}

fn verify_group(
    c: &mut Criterion,
    group: &str,
    mods: &[(&Module, &Keys)],
    mech: &Mechanism,
    key: fn(&Keys) -> (ObjectHandle, ObjectHandle),
    data: &[u8],
    mut raw: Raw,
) {
    let mut g = c.benchmark_group(group);
    for (m, k) in mods {
        let (prv, public) = key(k);
        let sig = k.s.sign(mech, prv, data).expect("C_Sign");
        record::run(&mut g, group, system_of(m), |b| {
            b.iter(|| {
                k.s.verify(mech, public, black_box(data), &sig)
                    .expect("C_Verify")
            })
        });
    }
    record::run(&mut g, group, System::Raw, |b| b.iter(&mut raw.op));
    g.finish();
}

fn system_of(m: &Module) -> System {
    if m.name == "pqhsm" {
        System::Pqhsm
    } else {
        System::SoftHsm2
    }
}

/// AES-256-GCM encryption through C_EncryptInit + C_Encrypt, a fresh IV per message.
fn gcm_encrypt(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &str,
    mods: &[(&Module, &Keys)],
    data: &[u8],
) {
    for (m, k) in mods {
        let mut counter = 0u64;
        record::run(g, group, system_of(m), |b| {
            b.iter(|| {
                counter += 1;
                let mut iv = [0u8; 12];
                iv[4..].copy_from_slice(&counter.to_be_bytes());
                let p = GcmParams::new(&mut iv, &[], 128.into()).expect("GCM params");
                black_box(
                    k.s.encrypt(&Mechanism::AesGcm(p), k.aes, black_box(data))
                        .expect("C_Encrypt"),
                )
            })
        });
    }
}

/// Per-operation time of `ops` run on `threads` worker threads, each owning its state.
struct Workers {
    to: Vec<mpsc::Sender<u64>>,
    done: mpsc::Receiver<()>,
}

impl Workers {
    fn new(ops: Vec<raw::Op>) -> Workers {
        let (done_tx, done) = mpsc::channel();
        let to = ops
            .into_iter()
            .map(|mut op| {
                let (tx, rx) = mpsc::channel::<u64>();
                let done_tx = done_tx.clone();
                std::thread::spawn(move || {
                    for n in rx {
                        for _ in 0..n {
                            op();
                        }
                        let _ = done_tx.send(());
                    }
                });
                tx
            })
            .collect();
        Workers { to, done }
    }

    /// Run `iters` operations spread over the workers; the wall time they took.
    fn run(&self, iters: u64) -> Duration {
        let n = self.to.len() as u64;
        let t0 = Instant::now();
        for (i, tx) in self.to.iter().enumerate() {
            let share = iters / n + u64::from((i as u64) < iters % n);
            tx.send(share).expect("worker alive");
        }
        for _ in 0..n {
            self.done.recv().expect("worker finished");
        }
        t0.elapsed()
    }
}

/// ECDSA P-256 signing on its own session per thread: 1 thread and 2 threads.
fn threads(c: &mut Criterion, mods: &[(&Module, &Keys)], hash: &[u8]) {
    for threads in [1usize, 2] {
        let group = format!("ecdsa-p256-sign-{threads}t");
        let mut g = c.benchmark_group(&group);
        for (m, k) in mods {
            let ops: Vec<raw::Op> = (0..threads)
                .map(|_| {
                    let s = m.user_session(k.slot);
                    let (key, hash) = (k.p256.0, hash.to_vec());
                    Box::new(move || {
                        black_box(s.sign(&Mechanism::Ecdsa, key, &hash).expect("C_Sign"));
                    }) as raw::Op
                })
                .collect();
            let w = Workers::new(ops);
            record::run(&mut g, &group, system_of(m), |b| {
                b.iter_custom(|iters| w.run(iters))
            });
        }
        let ops = (0..threads)
            .map(|_| raw::ecdsa_p256_sign(hash.to_vec()).op)
            .collect();
        let w = Workers::new(ops);
        record::run(&mut g, &group, System::Raw, |b| {
            b.iter_custom(|iters| w.run(iters))
        });
        g.finish();
    }
}

/// EC P-256 key pair generation, token or session objects; only generation is timed (the
/// pair is destroyed afterwards, outside the measurement).
fn keygen(c: &mut Criterion, mods: &[(&Module, Slot)], token: bool) {
    let group = format!("keygen-p256-{}", if token { "token" } else { "session" });
    let mut g = c.benchmark_group(&group);
    g.sample_size(10);
    for (m, slot) in mods {
        let s = m.user_session(*slot);
        record::run(&mut g, &group, system_of(m), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut made = Vec::new();
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let pair = tokens::generate_pair(
                        &s,
                        &Mechanism::EccKeyPairGen,
                        "keygen",
                        token,
                        vec![Attribute::EcParams(P256_OID.to_vec())],
                    );
                    spent += t0.elapsed();
                    made.push(pair);
                }
                for (prv, public) in made {
                    s.destroy_object(prv).expect("C_DestroyObject");
                    s.destroy_object(public).expect("C_DestroyObject");
                }
                spent
            })
        });
    }
    let mut r = raw::keygen_p256();
    record::run(&mut g, &group, System::Raw, |b| b.iter(&mut r.op));
    g.finish();
}

fn random(c: &mut Criterion, mods: &[(&Module, &Keys)], n: usize, group: &str) {
    let mut g = c.benchmark_group(group);
    for (m, k) in mods {
        let mut buf = vec![0u8; n];
        record::run(&mut g, group, system_of(m), |b| {
            b.iter(|| {
                k.s.generate_random_slice(black_box(&mut buf))
                    .expect("C_GenerateRandom")
            })
        });
    }
    let mut r = raw::random(n);
    record::run(&mut g, group, System::Raw, |b| b.iter(&mut r.op));
    g.finish();
}

fn main() {
    let (pq, sh) = tokens::modules();
    let pq_keys = Keys::new(&pq);
    let sh_keys = sh.as_ref().map(Keys::new);
    let mut mods: Vec<(&Module, &Keys)> = vec![(&pq, &pq_keys)];
    if let (Some(m), Some(k)) = (&sh, &sh_keys) {
        mods.push((m, k));
    }
    let mut c = support::criterion();
    let mut rows = Vec::new();
    rows.push(Row::new(
        "one PKCS#11 call (C_GetSessionInfo): the floor under every operation",
        Unit::Micros,
        "call-floor",
    ));
    let mut g = c.benchmark_group("call-floor");
    for (m, k) in &mods {
        record::run(&mut g, "call-floor", system_of(m), |b| {
            b.iter(|| black_box(k.s.get_session_info().expect("C_GetSessionInfo")))
        });
    }
    g.finish();
    let m32 = msg(32);
    let h256 = msg(32);
    let h384 = msg(48);
    let k1 = msg(1024);
    let m1 = msg(MIB);

    let r = raw::rsa2048_sign(m32.clone());
    rows.push(
        Row::new(
            "RSA-2048 sign (PKCS#1 v1.5, SHA-256)",
            Unit::OpsPerSec,
            "rsa2048-sign",
        )
        .raw(r.provider)
        .target("≥ 2× SoftHSM2"),
    );
    sign_group(
        &mut c,
        "rsa2048-sign",
        &mods,
        &Mechanism::Sha256RsaPkcs,
        |k| k.rsa.0,
        &m32,
        r,
    );

    for (curve, hash, sign_raw, verify_raw, key) in [
        (
            "P-256",
            &h256,
            raw::ecdsa_p256_sign as fn(Vec<u8>) -> Raw,
            raw::ecdsa_p256_verify as fn(Vec<u8>) -> Raw,
            (|k: &Keys| k.p256) as fn(&Keys) -> (ObjectHandle, ObjectHandle),
        ),
        (
            "P-384",
            &h384,
            raw::ecdsa_p384_sign,
            raw::ecdsa_p384_verify,
            |k: &Keys| k.p384,
        ),
    ] {
        let id = curve.to_lowercase().replace('-', "");
        let (sg, vg) = (format!("ecdsa-{id}-sign"), format!("ecdsa-{id}-verify"));
        let r = sign_raw(hash.clone());
        rows.push(
            Row::new(
                format!("ECDSA {curve} sign (CKM_ECDSA)"),
                Unit::OpsPerSec,
                &sg,
            )
            .raw(r.provider)
            .target("≥ 0.95× raw, ≥ 2× SoftHSM2"),
        );
        let sign_key: fn(&Keys) -> ObjectHandle = if curve == "P-256" {
            |k| k.p256.0
        } else {
            |k| k.p384.0
        };
        sign_group(&mut c, &sg, &mods, &Mechanism::Ecdsa, sign_key, hash, r);
        let r = verify_raw(hash.clone());
        rows.push(
            Row::new(format!("ECDSA {curve} verify"), Unit::OpsPerSec, &vg)
                .raw(r.provider)
                .target("≥ 0.95× raw, ≥ 2× SoftHSM2"),
        );
        verify_group(&mut c, &vg, &mods, &Mechanism::Ecdsa, key, hash, r);
    }

    let r = raw::ed25519_sign(m32.clone());
    rows.push(
        Row::new("Ed25519 sign (32 B)", Unit::OpsPerSec, "ed25519-sign")
            .raw(r.provider)
            .target("≥ 0.95× raw, ≥ 2× SoftHSM2"),
    );
    sign_group(
        &mut c,
        "ed25519-sign",
        &mods,
        &eddsa(),
        |k| k.ed25519.0,
        &m32,
        r,
    );
    let r = raw::ed25519_verify(m32.clone());
    rows.push(
        Row::new("Ed25519 verify (32 B)", Unit::OpsPerSec, "ed25519-verify")
            .raw(r.provider)
            .target("≥ 0.95× raw, ≥ 2× SoftHSM2"),
    );
    verify_group(
        &mut c,
        "ed25519-verify",
        &mods,
        &eddsa(),
        |k| k.ed25519,
        &m32,
        r,
    );

    let r = raw::hmac_sha256(k1.clone());
    rows.push(
        Row::new("HMAC-SHA256 1 KiB", Unit::OpsPerSec, "hmac-sha256-1k")
            .raw(r.provider)
            .target("≥ 0.95× raw, ≥ 2× SoftHSM2"),
    );
    sign_group(
        &mut c,
        "hmac-sha256-1k",
        &mods,
        &Mechanism::Sha256Hmac,
        |k| k.hmac,
        &k1,
        r,
    );

    // The same MAC with a key the management layer keeps: its version and key states and
    // expiry are checked at every C_SignInit (decoded once per object, not per use).
    let r = raw::hmac_sha256(k1.clone());
    rows.push(
        Row::new(
            "HMAC-SHA256 1 KiB, key kept by `pqhsm keys` (lifecycle checked per use)",
            Unit::OpsPerSec,
            "hmac-sha256-1k-managed",
        )
        .raw(r.provider),
    );
    sign_group(
        &mut c,
        "hmac-sha256-1k-managed",
        &mods[..1],
        &Mechanism::Sha256Hmac,
        |k| {
            k.managed_hmac
                .expect("pqhsm's keys have the managed HMAC key")
        },
        &k1,
        r,
    );

    for (data, group, label, unit) in [
        (
            &k1,
            "aes256-gcm-1k",
            "AES-256-GCM encrypt 1 KiB (C_Encrypt)",
            Unit::OpsPerSec,
        ),
        (
            &m1,
            "aes256-gcm-1m",
            "AES-256-GCM encrypt 1 MiB (C_Encrypt)",
            Unit::GbPerSec(MIB as u64),
        ),
    ] {
        let mut r = raw::aes256_gcm_encrypt(data.clone());
        rows.push(
            Row::new(label, unit, group)
                .raw(r.provider)
                .target("≥ 0.95× raw, ≥ 2× SoftHSM2"),
        );
        let mut g = c.benchmark_group(group);
        if data.len() == MIB {
            g.throughput(criterion::Throughput::Bytes(MIB as u64));
        }
        gcm_encrypt(&mut g, group, &mods, data);
        record::run(&mut g, group, System::Raw, |b| b.iter(&mut r.op));
        g.finish();
    }

    // The message-based API (PKCS#11 3.0): pqhsm only, SoftHSM2 2.6 has none.
    for (data, group, label, unit) in [
        (
            &k1,
            "aes256-gcm-msg-1k",
            "AES-256-GCM C_EncryptMessage 1 KiB",
            Unit::OpsPerSec,
        ),
        (
            &m1,
            "aes256-gcm-msg-1m",
            "AES-256-GCM C_EncryptMessage 1 MiB",
            Unit::GbPerSec(MIB as u64),
        ),
    ] {
        let mut r = raw::aes256_gcm_encrypt(data.clone());
        rows.push(
            Row::new(label, unit, group)
                .raw(r.provider)
                .target("≥ 0.95× raw"),
        );
        let mut g = c.benchmark_group(group);
        let k = &pq_keys;
        let mut iv = [0u8; 12];
        let mut tag = [0u8; 16];
        let p = GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::NoGenerate, &mut tag)
            .expect("GCM params");
        k.s.message_encrypt_init(&Mechanism::AesGcmMessage(p), k.aes)
            .expect("C_MessageEncryptInit");
        let mut counter = 0u64;
        record::run(&mut g, group, System::Pqhsm, |b| {
            b.iter(|| {
                counter += 1;
                let mut iv = [0u8; 12];
                iv[4..].copy_from_slice(&counter.to_be_bytes());
                let mut tag = [0u8; 16];
                let p = GcmMessageParams::new(
                    &mut iv,
                    0.into(),
                    GeneratorFunction::NoGenerate,
                    &mut tag,
                )
                .expect("GCM params");
                black_box(
                    k.s.encrypt_message(&MessageParam::AesGcmMessage(p), b"", black_box(data))
                        .expect("C_EncryptMessage"),
                )
            })
        });
        k.s.message_encrypt_final().expect("C_MessageEncryptFinal");
        record::run(&mut g, group, System::Raw, |b| b.iter(&mut r.op));
        g.finish();
    }

    rows.push(
        Row::new("C_GenerateRandom 32 B", Unit::Micros, "random-32")
            .raw(raw::random(32).provider)
            .target("p50 ≤ 1 µs, ≥ 2× SoftHSM2"),
    );
    random(&mut c, &mods, 32, "random-32");
    rows.push(
        Row::new(
            "C_GenerateRandom 1 MiB",
            Unit::GbPerSec(MIB as u64),
            "random-1m",
        )
        .raw(raw::random(MIB).provider)
        .target("≥ 1 GB/s, ≥ 2× SoftHSM2"),
    );
    random(&mut c, &mods, MIB, "random-1m");

    let scratch: Vec<(&Module, Slot)> = mods.iter().map(|(m, _)| (*m, m.scratch())).collect();
    rows.push(
        Row::new(
            "EC P-256 key pair generation, session objects",
            Unit::OpsPerSec,
            "keygen-p256-session",
        )
        .raw(raw::keygen_p256().provider)
        .target("≥ 2× SoftHSM2"),
    );
    keygen(&mut c, &scratch, false);
    rows.push(
        Row::new(
            "EC P-256 key pair generation, token objects",
            Unit::OpsPerSec,
            "keygen-p256-token",
        )
        .raw(raw::keygen_p256().provider)
        .target("≥ 2× SoftHSM2"),
    );
    keygen(&mut c, &scratch, true);

    rows.push(
        Row::new(
            "ECDSA P-256 sign, 1 thread",
            Unit::OpsPerSec,
            "ecdsa-p256-sign-1t",
        )
        .raw(raw::ecdsa_p256_sign(vec![0; 32]).provider),
    );
    rows.push(
        Row::new(
            "ECDSA P-256 sign, 2 threads / 1 thread",
            Unit::Scaling {
                one: "ecdsa-p256-sign-1t".into(),
            },
            "ecdsa-p256-sign-2t",
        )
        .raw(raw::ecdsa_p256_sign(vec![0; 32]).provider)
        .target("≥ 1.8×"),
    );
    threads(&mut c, &mods, &h256);

    c.final_summary();
    record::finish("ops", &rows);
}
