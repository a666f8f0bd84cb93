//! Post-quantum operations through PKCS#11 3.2 (a `cryptoki` client loading
//! target/release/libpqhsm_pkcs11.so) next to the same calls on the crate that serves them
//! inside pqhsm in this build: ML-DSA-65 key generation, signing and verification, ML-KEM-768
//! key generation, encapsulation and decapsulation, SLH-DSA-SHA2-128s signing (few samples:
//! a signature takes a sizeable fraction of a second). SoftHSM2 2.6 has none of them.

mod support;

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use cryptoki::mechanism::dsa::{HedgeType, SignAdditionalContext};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{
    Attribute, KeyType, MlDsaParameterSetType, MlKemParameterSetType, ObjectClass, ObjectHandle,
    SlhDsaParameterSetType,
};
use cryptoki::session::Session;
use pqhsm::rng::CoreRng;
use std::hint::black_box;
use std::time::{Duration, Instant};
use support::raw::Raw;
use support::record::{self, Row, Unit};
use support::tokens::{self, Module};
use support::System;

fn ml_dsa() -> Mechanism<'static> {
    Mechanism::MlDsa(SignAdditionalContext::new(HedgeType::Preferred, None))
}

fn slh_dsa() -> Mechanism<'static> {
    Mechanism::SlhDsa(SignAdditionalContext::new(HedgeType::Preferred, None))
}

/// A session key pair of a post-quantum algorithm with its parameter set.
fn pair(
    s: &Session,
    m: &Mechanism,
    set: Attribute,
    label: &str,
    token: bool,
    usage: (Attribute, Attribute),
) -> (ObjectHandle, ObjectHandle) {
    let l = Attribute::Label(label.as_bytes().to_vec());
    let public = vec![Attribute::Token(token), set, usage.0, l.clone()];
    let private = vec![
        Attribute::Token(token),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        usage.1,
        l,
    ];
    let (public, private) = s
        .generate_key_pair(m, &public, &private)
        .unwrap_or_else(|e| panic!("C_GenerateKeyPair {m:?}: {e}"));
    (private, public)
}

fn dsa_usage() -> (Attribute, Attribute) {
    (Attribute::Verify(true), Attribute::Sign(true))
}

fn kem_usage() -> (Attribute, Attribute) {
    (Attribute::Encapsulate(true), Attribute::Decapsulate(true))
}

/// The template of the secret key an encapsulation or decapsulation makes.
fn shared_key() -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(false),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
    ]
}

/// Time `op` per iteration, destroying what it made afterwards (untimed).
fn timed_making(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &str,
    s: &Session,
    mut op: impl FnMut() -> Vec<ObjectHandle>,
) {
    record::run(g, group, System::Pqhsm, |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut made = Vec::new();
            for _ in 0..iters {
                let t0 = Instant::now();
                made.extend(op());
                spent += t0.elapsed();
            }
            for h in made {
                s.destroy_object(h).expect("C_DestroyObject");
            }
            spent
        })
    });
}

fn raw_group(g: &mut BenchmarkGroup<'_, WallTime>, group: &str, mut r: Raw) {
    record::run(g, group, System::Raw, |b| b.iter(&mut r.op));
}

mod raw {
    //! The crates pqhsm serves these operations with in this build.
    use super::*;

    fn xi() -> ml_dsa::B32 {
        let mut seed = [0u8; 32];
        pqhsm::rng::fill_bytes(&mut seed);
        seed.into()
    }

    fn raw(provider: &'static str, op: impl FnMut() + Send + 'static) -> Raw {
        Raw {
            provider,
            op: Box::new(op),
        }
    }

    /// ML-DSA-65 key generation from a fresh ξ (RustCrypto in both builds).
    pub fn ml_dsa_keygen() -> Raw {
        raw("ml-dsa", move || {
            let sk = ml_dsa::ExpandedSigningKey::<ml_dsa::MlDsa65>::from_seed(&xi());
            black_box(sk.verifying_key().encode());
        })
    }

    #[cfg(feature = "aws-lc")]
    pub fn ml_dsa_sign(msg: Vec<u8>) -> Raw {
        use aws_lc_rs::signature;
        let kp = signature::PqdsaKeyPair::from_seed(&signature::ML_DSA_65_SIGNING, &xi()).unwrap();
        let mut sig = vec![0u8; 3309];
        raw("aws-lc-rs", move || {
            black_box(kp.sign(black_box(&msg), &mut sig).unwrap());
        })
    }

    #[cfg(not(feature = "aws-lc"))]
    pub fn ml_dsa_sign(msg: Vec<u8>) -> Raw {
        let sk = ml_dsa::ExpandedSigningKey::<ml_dsa::MlDsa65>::from_seed(&xi());
        raw("ml-dsa", move || {
            black_box(
                sk.sign_randomized(black_box(&msg), b"", &mut CoreRng)
                    .unwrap(),
            );
        })
    }

    #[cfg(feature = "aws-lc")]
    pub fn ml_dsa_verify(msg: Vec<u8>) -> Raw {
        use aws_lc_rs::signature::{self, KeyPair};
        let kp = signature::PqdsaKeyPair::from_seed(&signature::ML_DSA_65_SIGNING, &xi()).unwrap();
        let mut sig = vec![0u8; 3309];
        kp.sign(&msg, &mut sig).unwrap();
        let pk = signature::ParsedPublicKey::new(&signature::ML_DSA_65, kp.public_key().as_ref())
            .unwrap();
        raw("aws-lc-rs", move || {
            pk.verify_sig(black_box(&msg), &sig).unwrap();
        })
    }

    #[cfg(not(feature = "aws-lc"))]
    pub fn ml_dsa_verify(msg: Vec<u8>) -> Raw {
        let sk = ml_dsa::ExpandedSigningKey::<ml_dsa::MlDsa65>::from_seed(&xi());
        let sig = sk.sign_randomized(&msg, b"", &mut CoreRng).unwrap();
        let vk = sk.verifying_key();
        raw("ml-dsa", move || {
            assert!(vk.verify_with_context(black_box(&msg), b"", &sig));
        })
    }

    fn dk() -> ml_kem::DecapsulationKey<ml_kem::MlKem768> {
        let mut seed = [0u8; 64];
        pqhsm::rng::fill_bytes(&mut seed);
        ml_kem::DecapsulationKey::<ml_kem::MlKem768>::from_seed(seed.into())
    }

    /// ML-KEM-768 key generation from a fresh d‖z (RustCrypto in both builds).
    pub fn ml_kem_keygen() -> Raw {
        raw("ml-kem", move || {
            black_box(dk().encapsulation_key().clone());
        })
    }

    /// Encapsulation (RustCrypto in both builds: its randomness comes from the token).
    pub fn ml_kem_encaps() -> Raw {
        use ml_kem::kem::Encapsulate;
        let ek = dk().encapsulation_key().clone();
        raw("ml-kem", move || {
            black_box(ek.encapsulate_with_rng(&mut CoreRng));
        })
    }

    #[cfg(feature = "aws-lc")]
    pub fn ml_kem_decaps() -> Raw {
        #![allow(deprecated)] // the expanded key, as pqhsm hands it to aws-lc
        use aws_lc_rs::kem;
        use ml_kem::kem::Encapsulate;
        use ml_kem::ExpandedKeyEncoding;
        let d = dk();
        let (ct, _) = d.encapsulation_key().encapsulate_with_rng(&mut CoreRng);
        let key = kem::DecapsulationKey::new(&kem::ML_KEM_768, &d.to_expanded_bytes()).unwrap();
        let ct = ct.to_vec();
        raw("aws-lc-rs", move || {
            black_box(key.decapsulate(kem::Ciphertext::from(&ct[..])).unwrap());
        })
    }

    #[cfg(not(feature = "aws-lc"))]
    pub fn ml_kem_decaps() -> Raw {
        use ml_kem::kem::{Decapsulate, Encapsulate};
        let d = dk();
        let (ct, _) = d.encapsulation_key().encapsulate_with_rng(&mut CoreRng);
        raw("ml-kem", move || {
            black_box(d.decapsulate(&ct));
        })
    }

    /// SLH-DSA-SHA2-128s, hedged (RustCrypto in both builds).
    pub fn slh_dsa_sign(msg: Vec<u8>) -> Raw {
        let sk = slh_dsa::SigningKey::<slh_dsa::Sha2_128s>::new(&mut CoreRng);
        raw("slh-dsa", move || {
            let mut rnd = [0u8; 16];
            pqhsm::rng::fill_bytes(&mut rnd);
            black_box(
                sk.try_sign_with_context(black_box(&msg), b"", Some(&rnd))
                    .unwrap(),
            );
        })
    }
}

fn main() {
    let pq = Module {
        name: "pqhsm",
        ctx: support::load_pqhsm(),
        tokens_dir: support::cache_dir("pqhsm").join("tokens"),
    };
    record::version("pqhsm", &support::module_version(&pq.ctx));
    let slot = pq.token("bench-small");
    let s = pq.user_session(slot);
    let mechs = pq.ctx.get_mechanism_list(slot).expect("C_GetMechanismList");
    let mut c = support::criterion();
    let mut rows = Vec::new();
    let have = |t: MechanismType| mechs.contains(&t);
    if !(have(MechanismType::ML_DSA) && have(MechanismType::ML_KEM) && have(MechanismType::SLH_DSA))
    {
        record::note(
            "this pqhsm module offers no ML-DSA/ML-KEM/SLH-DSA: the PQC rows have no pqhsm column",
        );
    }
    let msg = vec![0x33u8; 32];

    // ----- ML-DSA-65 -----
    let set = || Attribute::ParameterSet(MlDsaParameterSetType::ML_DSA_65.into());
    let (prv, public) = tokens::key(&s, "mldsa65", |s, l| {
        pair(s, &Mechanism::MlDsaKeyPairGen, set(), l, true, dsa_usage())
    });
    let r = raw::ml_dsa_keygen();
    rows.push(
        Row::new(
            "ML-DSA-65 key pair generation (session objects)",
            Unit::OpsPerSec,
            "mldsa65-keygen",
        )
        .raw(r.provider),
    );
    let mut g = c.benchmark_group("mldsa65-keygen");
    timed_making(&mut g, "mldsa65-keygen", &s, || {
        let (a, b) = pair(
            &s,
            &Mechanism::MlDsaKeyPairGen,
            set(),
            "keygen",
            false,
            dsa_usage(),
        );
        vec![a, b]
    });
    raw_group(&mut g, "mldsa65-keygen", r);
    g.finish();

    let r = raw::ml_dsa_sign(msg.clone());
    rows.push(
        Row::new(
            "ML-DSA-65 sign (32 B, hedged)",
            Unit::OpsPerSec,
            "mldsa65-sign",
        )
        .raw(r.provider)
        .target("≥ 0.95× raw"),
    );
    let mut g = c.benchmark_group("mldsa65-sign");
    record::run(&mut g, "mldsa65-sign", System::Pqhsm, |b| {
        b.iter(|| black_box(s.sign(&ml_dsa(), prv, black_box(&msg)).expect("C_Sign")))
    });
    raw_group(&mut g, "mldsa65-sign", r);
    g.finish();

    let sig = s.sign(&ml_dsa(), prv, &msg).expect("C_Sign");
    let r = raw::ml_dsa_verify(msg.clone());
    rows.push(
        Row::new("ML-DSA-65 verify", Unit::OpsPerSec, "mldsa65-verify")
            .raw(r.provider)
            .target("≥ 0.95× raw"),
    );
    let mut g = c.benchmark_group("mldsa65-verify");
    record::run(&mut g, "mldsa65-verify", System::Pqhsm, |b| {
        b.iter(|| {
            s.verify(&ml_dsa(), public, black_box(&msg), &sig)
                .expect("C_Verify")
        })
    });
    raw_group(&mut g, "mldsa65-verify", r);
    g.finish();

    // ----- ML-KEM-768 -----
    let set = || Attribute::ParameterSet(MlKemParameterSetType::ML_KEM_768.into());
    let (dk, ek) = tokens::key(&s, "mlkem768", |s, l| {
        pair(s, &Mechanism::MlKemKeyPairGen, set(), l, true, kem_usage())
    });
    let r = raw::ml_kem_keygen();
    rows.push(
        Row::new(
            "ML-KEM-768 key pair generation (session objects)",
            Unit::OpsPerSec,
            "mlkem768-keygen",
        )
        .raw(r.provider),
    );
    let mut g = c.benchmark_group("mlkem768-keygen");
    timed_making(&mut g, "mlkem768-keygen", &s, || {
        let (a, b) = pair(
            &s,
            &Mechanism::MlKemKeyPairGen,
            set(),
            "keygen",
            false,
            kem_usage(),
        );
        vec![a, b]
    });
    raw_group(&mut g, "mlkem768-keygen", r);
    g.finish();

    let r = raw::ml_kem_encaps();
    rows.push(
        Row::new(
            "ML-KEM-768 encapsulate (C_EncapsulateKey, new AES key)",
            Unit::OpsPerSec,
            "mlkem768-encaps",
        )
        .raw(r.provider),
    );
    let mut g = c.benchmark_group("mlkem768-encaps");
    timed_making(&mut g, "mlkem768-encaps", &s, || {
        let (_, h) = s
            .encapsulate_key(&Mechanism::MlKem, ek, &shared_key())
            .expect("C_EncapsulateKey");
        vec![h]
    });
    raw_group(&mut g, "mlkem768-encaps", r);
    g.finish();

    let (ct, first) = s
        .encapsulate_key(&Mechanism::MlKem, ek, &shared_key())
        .expect("C_EncapsulateKey");
    s.destroy_object(first).expect("C_DestroyObject");
    let r = raw::ml_kem_decaps();
    rows.push(
        Row::new(
            "ML-KEM-768 decapsulate (C_DecapsulateKey, new AES key)",
            Unit::OpsPerSec,
            "mlkem768-decaps",
        )
        .raw(r.provider)
        .target("≥ 0.95× raw"),
    );
    let mut g = c.benchmark_group("mlkem768-decaps");
    timed_making(&mut g, "mlkem768-decaps", &s, || {
        vec![s
            .decapsulate_key(&Mechanism::MlKem, dk, &shared_key(), &ct)
            .expect("C_DecapsulateKey")]
    });
    raw_group(&mut g, "mlkem768-decaps", r);
    g.finish();

    // ----- SLH-DSA-SHA2-128s -----
    let set = || Attribute::ParameterSet(SlhDsaParameterSetType::SHA2_128S.into());
    let (sk, _) = tokens::key(&s, "slhdsa128s", |s, l| {
        pair(s, &Mechanism::SlhDsaKeyPairGen, set(), l, true, dsa_usage())
    });
    let r = raw::slh_dsa_sign(msg.clone());
    rows.push(
        Row::new(
            "SLH-DSA-SHA2-128s sign (32 B, hedged)",
            Unit::OpsPerSec,
            "slhdsa128s-sign",
        )
        .raw(r.provider),
    );
    let mut g = c.benchmark_group("slhdsa128s-sign");
    g.sample_size(10);
    g.sampling_mode(criterion::SamplingMode::Flat);
    record::run(&mut g, "slhdsa128s-sign", System::Pqhsm, |b| {
        b.iter(|| black_box(s.sign(&slh_dsa(), sk, black_box(&msg)).expect("C_Sign")))
    });
    raw_group(&mut g, "slhdsa128s-sign", r);
    g.finish();

    c.final_summary();
    record::finish("pqc", &rows);
}
