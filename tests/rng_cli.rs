//! `pqhsm rng ...` as a user runs it, against the simulated QRNGs: status, 1 MiB samples
//! that pass the statistical battery, a bridge process serving a second process, the kernel
//! feeder's dry run, and a bad configuration refused with the key named.

use pqhsm_qrng::config::HttpFormat;
use pqhsm_qrng::sim::http::{HttpOptions, HttpSim};
use pqhsm_qrng::sim::serial::{SerialOptions, SerialSim};
use pqhsm_qrng::sim::Fault;
use pqhsm_qrng::stats::Battery;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const PQHSM: &str = env!("CARGO_BIN_EXE_pqhsm");

fn serial_entry(name: &str, path: &Path) -> String {
    format!(
        "[[rng.sources]]\nname = \"{name}\"\nkind = \"serial\"\npath = \"{}\"\nbaud = 115200\n\
         min_entropy_per_byte = 7.0\n",
        path.display()
    )
}

fn http_entry(name: &str, url: &str, format: &str) -> String {
    format!(
        "[[rng.sources]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{url}\"\nformat = \"{format}\"\n\
         api_key_env = \"QRNG_API_KEY\"\nmin_interval_ms = 0\n"
    )
}

fn write_conf(dir: &Path, rng: &str, entries: &[String]) -> PathBuf {
    let path = dir.join("pqhsm.toml");
    std::fs::write(&path, format!("[rng]\n{rng}\n{}", entries.concat())).unwrap();
    path
}

fn pqhsm(conf: &Path, args: &[&str]) -> Output {
    Command::new(PQHSM)
        .args(args)
        .env("PQHSM_CONF", conf)
        .env("QRNG_API_KEY", "test-key")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .output()
        .expect("run pqhsm")
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "pqhsm failed: {stderr}");
    stderr
}

/// Sample 1 MiB through the configured chain; check origin and the battery.
fn sample_passes(conf: &Path, dir: &Path, seeded_from: &str) {
    let file = dir.join("sample.bin");
    let out = pqhsm(
        conf,
        &[
            "rng",
            "sample",
            "--bytes",
            "1048576",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    let stderr = ok(&out);
    assert!(
        stderr.contains(&format!("DRBG seeded from {seeded_from}")),
        "{stderr}"
    );
    let data = std::fs::read(&file).unwrap();
    assert_eq!(data.len(), 1 << 20);
    let battery = Battery::run(&data);
    battery
        .verdict()
        .unwrap_or_else(|e| panic!("{battery}: {e}"));
}

#[test]
fn samples_from_each_simulator_pass_the_battery() {
    let dir = tempfile::tempdir().unwrap();
    let dev = SerialSim::start(&dir.path().join("ttyQRNG"), SerialOptions::default()).unwrap();
    let conf = write_conf(dir.path(), "", &[serial_entry("primary", dev.path())]);
    sample_passes(&conf, dir.path(), "os + primary (serial)");

    for (format, name) in [
        (HttpFormat::AnuJson, "anu-json"),
        (HttpFormat::Octets, "octets"),
    ] {
        let web = HttpSim::start(HttpOptions {
            format,
            api_key: Some("test-key".into()),
            ..HttpOptions::default()
        })
        .unwrap();
        let conf = write_conf(
            dir.path(),
            "",
            &[http_entry("backup", &web.url(1024), name)],
        );
        sample_passes(&conf, dir.path(), "os + backup (http)");
    }
}

#[test]
fn stuck_and_biased_devices_are_caught_and_output_still_passes() {
    for fault in [Fault::Stuck, Fault::Biased] {
        let dir = tempfile::tempdir().unwrap();
        let opts = SerialOptions {
            fault,
            ..SerialOptions::default()
        };
        let dev = SerialSim::start(&dir.path().join("ttyQRNG"), opts).unwrap();
        let conf = write_conf(dir.path(), "", &[serial_entry("primary", dev.path())]);
        // Caught before any byte is served: the DRBG names the OS RNG alone.
        sample_passes(&conf, dir.path(), "os (serving: os)");
        let out = pqhsm(&conf, &["rng", "status", "--json"]);
        ok(&out);
        let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(st["serving"], "os");
        let primary = &st["sources"][0];
        assert_eq!(
            (primary["state"].as_str(), primary["bytes"].as_u64()),
            (Some("quarantined"), Some(0))
        );
        assert!(
            primary["last_error"]
                .as_str()
                .unwrap()
                .contains("health test failed"),
            "{fault:?}"
        );
    }
}

#[test]
fn status_shows_the_chain_and_who_serves() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SerialOptions {
        fault: Fault::Stuck,
        ..SerialOptions::default()
    };
    let dev = SerialSim::start(&dir.path().join("ttyQRNG"), opts).unwrap();
    let web = HttpSim::start(HttpOptions::default()).unwrap();
    let conf = write_conf(
        dir.path(),
        "",
        &[
            serial_entry("primary", dev.path()),
            http_entry("backup", &web.url(1024), "anu-json"),
        ],
    );
    let out = pqhsm(&conf, &["rng", "status", "--json"]);
    ok(&out);
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["serving"], "backup");
    let names: Vec<_> = st["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, ["primary", "backup", "os"]);
    for s in st["sources"].as_array().unwrap() {
        for key in ["name", "kind", "state", "bytes", "failures", "last_error"] {
            assert!(s.get(key).is_some(), "{key} missing in {s}");
        }
    }
    assert_eq!(st["sources"][1]["state"], "healthy");

    let out = pqhsm(&conf, &["rng", "status"]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("serving: backup"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("* backup") && l.contains("healthy")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("primary") && l.contains("quarantined")),
        "{text}"
    );
}

#[test]
fn bridge_process_serves_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let dev = SerialSim::start(&dir.path().join("ttyQRNG"), SerialOptions::default()).unwrap();
    let sock = dir.path().join("rng.sock");
    let conf = write_conf(
        dir.path(),
        &format!("bridge = \"{}\"", sock.display()),
        &[serial_entry("primary", dev.path())],
    );
    let mut bridge = Command::new(PQHSM)
        .args(["rng", "bridge"])
        .env("PQHSM_CONF", &conf)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !sock.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let result = std::panic::catch_unwind(|| {
        sample_passes(&conf, dir.path(), "os + bridge (bridge) via primary");
        let out = pqhsm(&conf, &["rng", "status", "--json"]);
        ok(&out);
        let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(st["bridge"]["reachable"], true);
        assert_eq!(st["serving"], "primary");
        assert!(st["sources"][0]["bytes"].as_u64().unwrap() >= 64);
    });
    let _ = bridge.kill();
    let _ = bridge.wait();
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn feed_kernel_dry_run_reports_credits() {
    let dir = tempfile::tempdir().unwrap();
    let dev = SerialSim::start(&dir.path().join("ttyQRNG"), SerialOptions::default()).unwrap();
    let conf = write_conf(dir.path(), "", &[serial_entry("primary", dev.path())]);
    let out = pqhsm(
        &conf,
        &[
            "rng",
            "feed-kernel",
            "--dry-run",
            "--count",
            "2",
            "--interval-ms",
            "0",
        ],
    );
    let stderr = ok(&out);
    assert!(
        stderr.contains("dry run: would credit 512 bits from primary (serial)"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "would have credited 1024 bits from 2 seeds (0 attempts without device entropy)"
    );
}

#[test]
fn bad_configuration_is_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.toml");
    let text = "[[rng.sources]]\nname = \"p\"\nkind = \"serial\"\npath = \"/dev/x\"\nbuad = 9600\n\
                min_entropy_per_byte = 7.0\n";
    std::fs::write(&conf, text).unwrap();
    let out = pqhsm(&conf, &["rng", "status"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `buad`"), "{stderr}");
}
