//! From criterion's measurements to report rows: each bench names its rows (operation,
//! unit, which criterion group measures it), runs, then writes
//! `target/bench-report/<bench>.json` from the medians of the groups that ran in this
//! process. Nothing measured in an earlier run is ever read back as if it were new.

use super::{target_dir, System};
use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkGroup};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

pub fn criterion_dir() -> PathBuf {
    target_dir().join("criterion")
}

pub fn report_dir() -> PathBuf {
    target_dir().join("bench-report")
}

/// Groups measured in this process, as `group/system`.
static RAN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static VERSIONS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// A loud note on stderr that also goes into the report (skips are never silent).
pub fn note(msg: &str) {
    eprintln!("\n!!!! NOTE: {msg}\n");
    NOTES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(msg.to_string());
}

/// A version line for the report ("SoftHSM2" -> "Implementation of PKCS11 2.6").
pub fn version(what: &str, v: &str) {
    VERSIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(what.to_string(), v.to_string());
}

/// Measure `f` as `group/system`.
pub fn run(
    g: &mut BenchmarkGroup<'_, WallTime>,
    group: &str,
    system: System,
    f: impl FnMut(&mut Bencher<'_, WallTime>),
) {
    g.bench_function(system.id(), f);
    RAN.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(format!("{group}/{}", system.id()));
}

/// How a row turns a median time per iteration into its figure.
#[derive(Clone, Debug)]
pub enum Unit {
    /// Operations per second.
    OpsPerSec,
    /// Decimal gigabytes per second for `bytes` per iteration.
    GbPerSec(u64),
    Micros,
    Millis,
    /// Speed-up of `group` (per operation) over the single-thread group `one`.
    Scaling {
        one: String,
    },
}

impl Unit {
    fn name(&self) -> &'static str {
        match self {
            Unit::OpsPerSec => "ops/s",
            Unit::GbPerSec(_) => "GB/s",
            Unit::Micros => "µs",
            Unit::Millis => "ms",
            Unit::Scaling { .. } => "×",
        }
    }

    fn higher_is_better(&self) -> bool {
        !matches!(self, Unit::Micros | Unit::Millis)
    }
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Row {
    pub op: String,
    pub unit: Unit,
    pub group: String,
    /// The crate serving this operation in pqhsm and measured as "raw".
    pub raw_provider: Option<String>,
    /// The target for this line, for the reader.
    pub target: Option<String>,
}

impl Row {
    pub fn new(op: impl Into<String>, unit: Unit, group: impl Into<String>) -> Row {
        Row {
            op: op.into(),
            unit,
            group: group.into(),
            raw_provider: None,
            target: None,
        }
    }
    pub fn raw(mut self, provider: &str) -> Row {
        self.raw_provider = Some(provider.to_string());
        self
    }
    pub fn target(mut self, t: &str) -> Row {
        self.target = Some(t.to_string());
        self
    }
}

/// The median nanoseconds per iteration of `group/system`, if it ran in this process.
fn median_ns(group: &str, system: System) -> Option<f64> {
    let key = format!("{group}/{}", system.id());
    if !RAN.lock().unwrap_or_else(|p| p.into_inner()).contains(&key) {
        return None;
    }
    let path = criterion_dir()
        .join(&key)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("criterion wrote no {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("estimates.json parses");
    v["median"]["point_estimate"].as_f64()
}

fn figure(row: &Row, system: System) -> Option<f64> {
    let ns = median_ns(&row.group, system)?;
    Some(match &row.unit {
        Unit::OpsPerSec => 1e9 / ns,
        Unit::GbPerSec(bytes) => *bytes as f64 / ns,
        Unit::Micros => ns / 1e3,
        Unit::Millis => ns / 1e6,
        Unit::Scaling { one } => median_ns(one, system)? / ns,
    })
}

/// Write this bench's rows (and notes and versions) for the report.
pub fn finish(bench: &str, rows: &[Row]) {
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "op": r.op,
                "unit": r.unit.name(),
                "higher_is_better": r.unit.higher_is_better(),
                "pqhsm": figure(r, System::Pqhsm),
                "raw": figure(r, System::Raw),
                "softhsm2": figure(r, System::SoftHsm2),
                "raw_provider": r.raw_provider,
                "target": r.target,
            })
        })
        .collect();
    let out = json!({
        "bench": bench,
        "smoke": super::smoke(),
        "provider": super::raw::PROVIDER,
        "rows": rows,
        "notes": *NOTES.lock().unwrap_or_else(|p| p.into_inner()),
        "versions": *VERSIONS.lock().unwrap_or_else(|p| p.into_inner()),
    });
    let dir = report_dir();
    std::fs::create_dir_all(&dir).expect("create target/bench-report");
    let path = dir.join(format!("{bench}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&out).expect("JSON"))
        .expect("write the bench rows");
    eprintln!("rows written to {}", path.display());
}
