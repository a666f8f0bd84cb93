//! Helpers shared by the integration tests: configs that point at simulators.
#![allow(dead_code)]

use pqhsm_qrng::sim::serial::{SerialOptions, SerialSim};
use pqhsm_qrng::sim::Fault;
use pqhsm_qrng::{Chain, RngConfig, SourceStatus};

/// A `[[rng.sources]]` serial entry for a simulator path, with short timeouts.
pub fn serial(name: &str, path: &std::path::Path, extra: &str) -> String {
    format!(
        "[[rng.sources]]\nname = \"{name}\"\nkind = \"serial\"\npath = \"{}\"\nbaud = 115200\n\
         min_entropy_per_byte = 7.0\ntimeout_ms = 300\nretry_ms = 100\n{extra}\n",
        path.display()
    )
}

/// A `[[rng.sources]]` http entry for a simulator URL, with short timeouts and no quota.
pub fn http(name: &str, url: &str, format: &str, extra: &str) -> String {
    format!(
        "[[rng.sources]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{url}\"\nformat = \"{format}\"\n\
         min_interval_ms = 0\ntimeout_ms = 1000\nretry_ms = 100\n{extra}\n"
    )
}

pub fn config(entries: &[String], rng: &str) -> RngConfig {
    let text = format!("[rng]\n{rng}\n{}", entries.concat());
    RngConfig::from_conf_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub fn chain(entries: &[String]) -> Chain {
    Chain::devices_only(&config(entries, "")).expect("chain")
}

pub fn source(chain: &Chain, name: &str) -> SourceStatus {
    chain
        .status()
        .sources
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no source {name}"))
}

/// A simulated serial QRNG with `fault`, reachable at DIR/ttyQRNG.
pub fn sim(dir: &tempfile::TempDir, fault: Fault) -> SerialSim {
    let opts = SerialOptions {
        fault,
        ..SerialOptions::default()
    };
    SerialSim::start(&dir.path().join("ttyQRNG"), opts).expect("pty")
}
