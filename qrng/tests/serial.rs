//! The serial QRNG driven through its simulator on a pseudo terminal, one fault mode at a
//! time: which health test trips, which source takes over, and that output keeps coming.

mod common;

use common::{chain, http, serial, sim, source};
use pqhsm_qrng::chain::State;
use pqhsm_qrng::sim::http::{HttpOptions, HttpSim};
use pqhsm_qrng::sim::serial::{SerialOptions, SerialSim};
use pqhsm_qrng::sim::Fault;
use std::time::{Duration, Instant};

#[test]
fn good_device_serves_after_start_up_test() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Good);
    let mut chain = chain(&[serial("primary", dev.path(), "")]);
    let seed = chain.device_seed().expect("a seed from the good device");
    assert_eq!(seed.origin().source, "primary");
    assert_eq!(seed.origin().kind, "serial");
    let st = source(&chain, "primary");
    assert_eq!(st.state, State::Healthy);
    assert_eq!(st.bytes, 64);
    // 1024 start-up samples are read and discarded before the 83 that make the seed.
    assert!(st.raw_bytes >= 1024 + 83, "{st:?}");
    assert_eq!(chain.status().serving, "primary");
    let again = chain.device_seed().unwrap();
    assert_ne!(seed.bytes(), again.bytes());
}

#[test]
fn stuck_device_is_quarantined_by_rct_and_backup_serves() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Stuck);
    let web = HttpSim::start(HttpOptions::default()).unwrap();
    let mut chain = chain(&[
        serial("primary", dev.path(), ""),
        http("backup", &web.url(1024), "anu-json", ""),
    ]);
    let seed = chain.device_seed().expect("backup serves");
    assert_eq!(seed.origin().source, "backup");
    let st = source(&chain, "primary");
    assert_eq!(st.state, State::Quarantined);
    assert_eq!(
        (st.health_failures, st.bytes),
        (1, 0),
        "nothing from a stuck device"
    );
    let why = st.last_error.unwrap();
    assert!(
        why.contains("start-up repetition count test: byte 0xa5 repeated 6 times"),
        "{why}"
    );
    assert_eq!(chain.status().serving, "backup");
}

#[test]
fn biased_and_text_devices_fail_the_start_up_test() {
    for (fault, test) in [
        (Fault::Biased, "test"),
        (
            Fault::Malformed(pqhsm_qrng::sim::Malformed::Length),
            "adaptive proportion",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let dev = sim(&dir, fault);
        let mut chain = chain(&[serial("primary", dev.path(), "")]);
        let err = chain
            .device_seed()
            .expect_err("no seed from a broken device");
        assert!(err.to_string().contains("no device source"), "{err}");
        let st = source(&chain, "primary");
        assert_eq!((st.state, st.bytes), (State::Quarantined, 0), "{fault:?}");
        let why = st.last_error.unwrap();
        assert!(
            why.contains("start-up") && why.contains(test),
            "{fault:?}: {why}"
        );
        // The OS RNG still serves.
        let seed = chain.seed().unwrap();
        assert_eq!(seed.origin().source, "os");
        assert_eq!(chain.status().serving, "os");
    }
}

#[test]
fn unplugged_device_is_reopened_after_back_off() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SerialOptions {
        fault: Fault::Disconnect,
        // Counted as written into the pty, and the pty buffers up to ~68 KiB (64 KiB of
        // flip buffers and the 4 KiB line discipline) before the source opens the port and
        // flushes it: the unplug must come well after that, or under load it can come
        // before the source has read a byte.
        disconnect_after: 256 * 1024,
        replug_after: Duration::from_millis(150),
        ..SerialOptions::default()
    };
    let dev = SerialSim::start(&dir.path().join("ttyQRNG"), opts).unwrap();
    let mut chain = chain(&[serial("primary", dev.path(), "")]);
    let start = Instant::now();
    let mut served_before = 0;
    while chain.device_seed().is_ok() {
        served_before += 1;
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "never disconnected"
        );
    }
    assert!(served_before > 0);
    let st = source(&chain, "primary");
    assert_eq!(st.state, State::Unreachable);
    assert!(
        st.last_error.as_deref().unwrap_or("").contains("unplugged"),
        "{st:?}"
    );
    // Back-off, replug, start-up test again, serve again.
    let seed = loop {
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(s) = chain.device_seed() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            source(&chain, "primary")
        );
    };
    assert_eq!(seed.origin().source, "primary");
    assert_eq!(dev.replugs(), 1);
    assert_eq!(source(&chain, "primary").state, State::Healthy);
}

#[test]
fn slow_device_is_unreachable_and_os_serves() {
    let dir = tempfile::tempdir().unwrap();
    let dev = sim(&dir, Fault::Slow);
    let mut chain = chain(&[serial("primary", dev.path(), "deadline_ms = 300")]);
    let started = Instant::now();
    let seed = chain.seed().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(seed.origin().source, "os");
    let st = source(&chain, "primary");
    assert_eq!(st.state, State::Unreachable);
    assert!(st.last_error.unwrap().contains("too slow"));
}

#[test]
fn start_command_starts_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SerialOptions {
        start_command: Some("cmdO".into()),
        ..SerialOptions::default()
    };
    let dev = SerialSim::start(&dir.path().join("ttyQRNG"), opts).unwrap();
    let mut silent = chain(&[serial("primary", dev.path(), "")]);
    assert!(silent.device_seed().is_err());
    let why = source(&silent, "primary").last_error.unwrap();
    assert!(why.contains("no data"), "{why}");
    drop(silent);
    // With the TrueRNGpro mode knock before the real open, as a Pro in raw mode needs.
    let extra = "start_command = \"cmdO\"\nknock = [110, 300, 110]\nbaud = 19200";
    let mut chain = chain(&[serial("primary", dev.path(), extra).replace("baud = 115200\n", "")]);
    chain.device_seed().expect("streams after cmdO");
}

#[test]
fn missing_device_is_unreachable() {
    let mut chain = chain(&[serial(
        "primary",
        std::path::Path::new("/dev/nonexistent-qrng"),
        "",
    )]);
    assert_eq!(chain.seed().unwrap().origin().source, "os");
    let st = source(&chain, "primary");
    assert_eq!(st.state, State::Unreachable);
    assert!(st
        .last_error
        .unwrap()
        .contains("cannot open /dev/nonexistent-qrng"));
    assert!(st.retry_in_ms.is_some());
}

#[test]
fn character_device_source_reads_until_end_of_data() {
    // A regular file stands in for /dev/hwrng: 8 KiB of noise, then end of data.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hwrng");
    let mut noise = vec![0u8; 8192];
    getrandom::fill(&mut noise).unwrap();
    std::fs::write(&path, &noise).unwrap();
    let entry = format!(
        "[[rng.sources]]\nname = \"hw\"\nkind = \"file\"\npath = \"{}\"\nmin_entropy_per_byte = 7.5\n",
        path.display()
    );
    let mut chain = chain(&[entry]);
    let mut seeds = 0;
    while chain.device_seed().is_ok() {
        seeds += 1;
    }
    // (8192 − 1024 start-up samples) / 77 samples per seed at H = 7.5.
    assert_eq!(seeds, (8192 - 1024) / 77);
    let st = source(&chain, "hw");
    assert_eq!(st.state, State::Unreachable);
    assert!(st.last_error.unwrap().contains("end of data"));
}
