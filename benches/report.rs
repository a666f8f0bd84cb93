//! The one table `ci/bench` prints: every row the comparison benches recorded in
//! target/bench-report/ (ops, store, pqc), with the ratios, versions and notes. With
//! `PQHSM_BENCH_JSON=FILE` it also writes the rows as
//! `[{"op", "unit", "pqhsm", "raw", "softhsm2"}]` (null where a system lacks the operation).

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;

const BENCHES: &[&str] = &["ops", "store", "pqc"];
/// Provider crates whose versions the report names (from Cargo.lock).
const CRATES: &[&str] = &[
    "aws-lc-rs",
    "aws-lc-sys",
    "rsa",
    "p256",
    "p384",
    "ed25519-dalek",
    "hmac",
    "aes-gcm",
    "sha2",
    "ml-dsa",
    "ml-kem",
    "slh-dsa",
    "rusqlite",
    "libsqlite3-sys",
    "argon2",
];

/// "name version" of each provider crate in the lock file.
fn crate_versions() -> Vec<String> {
    let lock = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return vec![];
    };
    let Ok(v) = text.parse::<toml::Table>() else {
        return vec![];
    };
    let packages = v
        .get("package")
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();
    CRATES
        .iter()
        .filter_map(|name| {
            let versions: Vec<&str> = packages
                .iter()
                .filter(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
                .filter_map(|p| p.get("version").and_then(|v| v.as_str()))
                .collect();
            (!versions.is_empty()).then(|| format!("{name} {}", versions.join("/")))
        })
        .collect()
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "ops/s" if v >= 1e6 => format!("{:.2}M", v / 1e6),
        "ops/s" if v >= 1e4 => format!("{:.1}k", v / 1e3),
        "ops/s" if v >= 100.0 => format!("{v:.0}"),
        "ops/s" => format!("{v:.1}"),
        "×" => format!("{v:.2}×"),
        _ if v >= 100.0 => format!("{v:.0}"),
        _ if v >= 10.0 => format!("{v:.1}"),
        _ if v >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// How many times as fast pqhsm is as `other` (> 1: pqhsm is faster).
fn speed_ratio(pqhsm: f64, other: f64, higher_is_better: bool) -> f64 {
    if higher_is_better {
        pqhsm / other
    } else {
        other / pqhsm
    }
}

fn main() {
    let dir = support::record::report_dir();
    let mut rows = Vec::new();
    let mut versions = BTreeMap::new();
    let mut notes = Vec::new();
    let mut provider = None;
    let mut smoke = false;
    let mut missing = Vec::new();
    for bench in BENCHES {
        let path = dir.join(format!("{bench}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            missing.push(*bench);
            continue;
        };
        let v: Value = serde_json::from_str(&text).expect("bench rows parse");
        rows.extend(v["rows"].as_array().cloned().unwrap_or_default());
        for (k, val) in v["versions"].as_object().cloned().unwrap_or_default() {
            versions.insert(k, val.as_str().unwrap_or_default().to_string());
        }
        notes.extend(
            v["notes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|n| n.as_str().map(String::from)),
        );
        provider = v["provider"].as_str().map(String::from).or(provider);
        smoke |= v["smoke"].as_bool().unwrap_or(false);
    }
    for m in &missing {
        notes.push(format!("no rows from benches/{m}.rs: it did not run"));
    }

    println!(
        "### pqhsm benchmark: {} build{}\n",
        provider.as_deref().unwrap_or("?"),
        if smoke {
            " (SMOKE RUN: few iterations, small stores; not a measurement)"
        } else {
            ""
        }
    );
    println!("| operation | unit | pqhsm | raw provider | SoftHSM2 | pqhsm / raw | pqhsm / SoftHSM2 | target |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
    let mut json_rows = Vec::new();
    for r in &rows {
        let unit = r["unit"].as_str().unwrap_or("");
        let hib = r["higher_is_better"].as_bool().unwrap_or(true);
        let get = |k: &str| r[k].as_f64();
        let (pq, raw, sh) = (get("pqhsm"), get("raw"), get("softhsm2"));
        let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| fmt_value(v, unit));
        let raw_cell = match (raw, r["raw_provider"].as_str()) {
            (Some(v), Some(p)) => format!("{} ({p})", fmt_value(v, unit)),
            (v, _) => cell(v),
        };
        // A scaling row's figures are ratios already.
        let ratio = |other: Option<f64>| match (pq, other, unit) {
            (Some(a), Some(b), u) if u != "×" => format!("{:.2}×", speed_ratio(a, b, hib)),
            _ => "–".to_string(),
        };
        println!(
            "| {} | {unit} | {} | {raw_cell} | {} | {} | {} | {} |",
            r["op"].as_str().unwrap_or("?"),
            cell(pq),
            cell(sh),
            ratio(raw),
            ratio(sh),
            r["target"].as_str().unwrap_or(""),
        );
        json_rows.push(json!({
            "op": r["op"],
            "unit": unit,
            "pqhsm": pq,
            "raw": raw,
            "softhsm2": sh,
        }));
    }
    println!();
    for (k, v) in &versions {
        println!("- {k}: {v}");
    }
    println!(
        "- crates (Cargo.lock; the build uses those its features enable): {}",
        crate_versions().join(", ")
    );
    for n in &notes {
        println!("- NOTE: {n}");
    }
    println!("- Ratios are speed ratios (> 1: pqhsm is faster); medians of criterion samples, one run, one machine.");
    if let Some(path) = std::env::var("PQHSM_BENCH_JSON")
        .ok()
        .filter(|p| !p.is_empty())
    {
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&json_rows).expect("JSON") + "\n",
        )
        .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        eprintln!("rows written to {path}");
    }
}
