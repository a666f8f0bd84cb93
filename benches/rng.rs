//! Random throughput: `pqhsm::rng::fill_bytes` with an entropy bridge configured whose device
//! is slow (about 1 KB/s), next to the same DRBG service on the OS RNG alone and to
//! `rand_chacha` alone, for 32-byte and 1 MiB calls. Reseeds are forced often (every 64 KiB)
//! so that any device latency on the call path would show. Ends with a latency distribution
//! of 32-byte calls (p50/p99/max) measured while the background thread waits on the device.
//!
//! Run: `cargo bench --bench rng`

use criterion::{Criterion, Throughput};
use pqhsm_qrng::bridge::BridgeServer;
use pqhsm_qrng::sim::serial::{SerialOptions, SerialSim};
use pqhsm_qrng::sim::Fault;
use pqhsm_qrng::{Chain, RngConfig, Service};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

struct Rig {
    _dir: tempfile::TempDir,
    _device: SerialSim,
    _bridge: pqhsm_qrng::bridge::BridgeHandle,
}

/// A slow serial QRNG behind an in-process bridge, and PQHSM_CONF pointing the core at it.
fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = SerialOptions {
        fault: Fault::Slow,
        slow_interval: Duration::from_millis(1),
        ..SerialOptions::default()
    };
    let device = SerialSim::start(&dir.path().join("ttyQRNG"), opts).expect("pty");
    let sock = dir.path().join("rng.sock");
    let source = format!(
        "[[rng.sources]]\nname = \"primary\"\nkind = \"serial\"\npath = \"{}\"\n\
         min_entropy_per_byte = 7.0\ntimeout_ms = 1000\n",
        device.path().display()
    );
    let bridge_cfg = RngConfig::from_conf_str(&format!("[rng]\n{source}")).expect("config");
    let chain = Chain::devices_only(&bridge_cfg).expect("chain");
    let bridge = BridgeServer::bind(&sock, chain)
        .expect("bind")
        .spawn()
        .expect("serve");
    // The module side: the bridge only (the device belongs to the bridge).
    let conf = dir.path().join("pqhsm.toml");
    let text = format!(
        "[rng]\nreseed_bytes = 65536\nreseed_seconds = 1\ndevice_seed_interval_ms = 0\nbridge = \"{}\"\n",
        sock.display()
    );
    std::fs::write(&conf, text).expect("write config");
    std::env::set_var("PQHSM_CONF", &conf);
    pqhsm::rng::settle(Duration::from_secs(15)).expect("rng");
    eprintln!("DRBG seeded from {}", pqhsm::rng::status().drbg_seeded_from);
    Rig {
        _dir: dir,
        _device: device,
        _bridge: bridge,
    }
}

fn bench(c: &mut Criterion) {
    let os_only = Service::new(&RngConfig::default());
    let mut chacha = ChaCha20Rng::from_seed([7; 32]);
    for (label, len) in [("32B", 32usize), ("1MiB", MIB)] {
        let mut g = c.benchmark_group(format!("rng/{label}"));
        g.throughput(Throughput::Bytes(len as u64));
        if len == MIB {
            g.sample_size(30);
        }
        let mut buf = vec![0u8; len];
        g.bench_function("rand_chacha ChaCha20Rng alone", |b| {
            b.iter(|| chacha.fill_bytes(black_box(&mut buf)))
        });
        g.bench_function("qrng DRBG, OS RNG only", |b| {
            b.iter(|| os_only.fill(black_box(&mut buf)).expect("fill"))
        });
        g.bench_function("pqhsm::rng::fill_bytes, bridge to a slow device", |b| {
            b.iter(|| pqhsm::rng::fill_bytes(black_box(&mut buf)))
        });
        g.finish();
    }
}

/// Per-call latency of 32-byte requests over a few seconds of device activity (each figure
/// includes the two clock reads that time the call).
fn latency_report() {
    let before = pqhsm::rng::status();
    let mut samples = Vec::with_capacity(400_000);
    let mut buf = [0u8; 32];
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        let t = Instant::now();
        pqhsm::rng::fill_bytes(&mut buf);
        samples.push(t.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    let after = pqhsm::rng::status();
    eprintln!(
        "latency of {} calls of 32 B with the bridge configured: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}; \
         {} reseeds meanwhile, seeded from {}",
        samples.len(),
        pct(0.50),
        pct(0.99),
        pct(0.999),
        samples[samples.len() - 1],
        after.drbg_reseeds - before.drbg_reseeds,
        after.drbg_seeded_from
    );
}

fn main() {
    let _rig = rig();
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    latency_report();
}
