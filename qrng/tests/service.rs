//! The DRBG service with devices behind it: output keeps coming whatever the devices do,
//! device seeds reach the DRBG only conditioned and only from healthy sources, and the
//! bridge serves module instances and falls back to directly opened sources.

mod common;

use common::{config, serial, sim, source};
use pqhsm_qrng::bridge::{self, BridgeServer};
use pqhsm_qrng::chain::State;
use pqhsm_qrng::kernel::{self, FeedOptions};
use pqhsm_qrng::sim::Fault;
use pqhsm_qrng::stats::Battery;
use pqhsm_qrng::{Chain, Service};
use std::time::Duration;

#[test]
fn good_device_seeds_the_drbg_and_output_passes_the_battery() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Good);
    let svc = Service::new(&config(
        &[serial("primary", dev.path(), "")],
        "reseed_bytes = 65536",
    ));
    svc.settle(Duration::from_secs(5)).unwrap();
    let st = svc.status();
    assert_eq!(st.drbg_seeded_from, "os + primary (serial)");
    assert_eq!(st.serving, "primary");
    let mut out = vec![0u8; 1 << 20];
    for chunk in out.chunks_mut(4096) {
        svc.fill(chunk).unwrap();
    }
    let b = Battery::run(&out);
    b.verdict().unwrap_or_else(|e| panic!("{b}: {e}"));
    assert!(svc.status().drbg_reseeds >= 2);
}

#[test]
fn stuck_device_never_reaches_the_drbg_and_output_keeps_coming() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Stuck);
    let svc = Service::new(&config(&[serial("primary", dev.path(), "")], ""));
    svc.settle(Duration::from_secs(5)).unwrap();
    let st = svc.status();
    assert_eq!(st.drbg_seeded_from, "os");
    assert_eq!(st.serving, "os");
    let primary = st.sources.iter().find(|s| s.name == "primary").unwrap();
    assert_eq!((primary.state, primary.bytes), (State::Quarantined, 0));
    assert!(primary.raw_bytes > 0, "the device was read and rejected");
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    svc.fill(&mut a).unwrap();
    svc.fill(&mut b).unwrap();
    assert_ne!(a, b);
    assert_ne!(a, [pqhsm_qrng::sim::STUCK_BYTE; 32]);
}

#[test]
fn prediction_resistance_reseeds_from_the_device_on_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Good);
    let svc = Service::new(&config(&[serial("primary", dev.path(), "")], ""));
    svc.settle(Duration::from_secs(5)).unwrap();
    let before = svc.status().drbg_reseeds;
    let mut buf = [0u8; 32];
    svc.fill_prediction_resistant(&mut buf).unwrap();
    let st = svc.status();
    assert_eq!(st.drbg_reseeds, before + 1);
    assert_eq!(st.drbg_seeded_from, "os + primary (serial)");
}

#[test]
fn bridge_serves_modules_and_they_fall_back_when_it_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Good);
    let sock = dir.path().join("rng.sock");
    let entries = [serial("primary", dev.path(), "")];
    let bridge_chain = Chain::devices_only(&config(&entries, "")).unwrap();
    let server = BridgeServer::bind(&sock, bridge_chain)
        .unwrap()
        .spawn()
        .unwrap();

    // A module instance: bridge first, the same serial device directly as a fallback.
    let module_cfg = config(&entries, &format!("bridge = \"{}\"", sock.display()));
    let mut module = Chain::from_config(&module_cfg).unwrap();
    let seed = module.device_seed().unwrap();
    assert_eq!(seed.origin().to_string(), "bridge (bridge) via primary");
    assert_eq!(
        source(&module, "primary").state,
        State::Idle,
        "the module never opened the port"
    );
    let remote = bridge::query_status(&sock).unwrap();
    assert_eq!(remote.serving, "primary");
    assert!(remote.sources[0].bytes >= 64);

    drop(server);
    let seed = module.device_seed().unwrap();
    assert_eq!(
        seed.origin().source,
        "primary",
        "direct after the bridge is gone"
    );
    assert_eq!(source(&module, "bridge").state, State::Unreachable);
}

#[test]
fn bridge_refuses_to_pass_os_output_as_device_entropy() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Stuck);
    let sock = dir.path().join("rng.sock");
    let chain = Chain::devices_only(&config(&[serial("primary", dev.path(), "")], "")).unwrap();
    let _server = BridgeServer::bind(&sock, chain).unwrap().spawn().unwrap();
    let mut module =
        Chain::from_config(&config(&[], &format!("bridge = \"{}\"", sock.display()))).unwrap();
    assert!(module.device_seed().is_err());
    assert_eq!(module.seed().unwrap().origin().source, "os");
    let st = source(&module, "bridge");
    assert_eq!(
        st.failures, 0,
        "a bridge without device entropy is not a failing bridge"
    );
}

#[test]
fn feed_kernel_dry_run_credits_device_seeds_only() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Good);
    let mut chain = Chain::devices_only(&config(&[serial("primary", dev.path(), "")], "")).unwrap();
    let opts = FeedOptions {
        dry_run: true,
        seeds: Some(3),
        interval: Duration::ZERO,
    };
    let report = kernel::feed(&mut chain, &opts).unwrap();
    assert_eq!((report.seeds, report.bits_credited), (3, 3 * 512));

    let mut os_only = Chain::devices_only(&config(&[], "")).unwrap();
    let opts = FeedOptions {
        dry_run: true,
        seeds: Some(1),
        interval: Duration::ZERO,
    };
    let err = kernel::feed(&mut os_only, &opts).unwrap_err();
    assert!(err.to_string().contains("no device entropy"), "{err}");
}

#[test]
fn concurrent_callers_never_see_the_same_bytes() {
    let svc = std::sync::Arc::new(Service::new(&config(&[], "reseed_bytes = 4096")));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let svc = svc.clone();
            std::thread::spawn(move || {
                (0..20_000)
                    .map(|_| {
                        let mut b = [0u8; 16];
                        svc.fill(&mut b).unwrap();
                        b
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for t in threads {
        for b in t.join().unwrap() {
            assert!(seen.insert(b), "a 16-byte output repeated");
        }
    }
    assert_eq!(seen.len(), 80_000);
    assert!(svc.status().drbg_reseeds > 300, "reseeds every 4 KiB");
}
