//! What the comparison benches share: the two PKCS#11 modules (pqhsm and SoftHSM2) loaded
//! through `cryptoki`, their tokens (built once under `target/bench-cache/`, then reused),
//! criterion's configuration (full or smoke) and the rows each bench records for
//! `benches/report.rs`. Benches never assert speed; they measure and record.
#![allow(dead_code)]

pub mod raw;
pub mod record;
pub mod tokens;

use criterion::Criterion;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The cargo target directory (`CARGO_TARGET_DIR`, else the repository's `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `PQHSM_BENCH_SMOKE=1` (set by `ci/bench --smoke`): a few iterations, small stores.
pub fn smoke() -> bool {
    std::env::var("PQHSM_BENCH_SMOKE").is_ok_and(|v| v == "1")
}

/// Criterion as `cargo bench -- ARGS` configures it, shortened in smoke mode. Results go to
/// `target/criterion`, where [`record`] reads them back.
pub fn criterion() -> Criterion {
    let c = Criterion::default()
        .output_directory(&record::criterion_dir())
        .without_plots();
    let c = if smoke() {
        c.sample_size(10)
            .warm_up_time(Duration::from_millis(20))
            .measurement_time(Duration::from_millis(50))
            .nresamples(1000)
    } else {
        c.sample_size(30)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
    };
    c.configure_from_args()
}

/// Which implementation a measurement ran on: the three columns of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    Pqhsm,
    Raw,
    SoftHsm2,
}

impl System {
    pub fn id(self) -> &'static str {
        match self {
            System::Pqhsm => "pqhsm",
            System::Raw => "raw",
            System::SoftHsm2 => "softhsm2",
        }
    }
}

/// The pqhsm module under test: `$PQHSM_MODULE`, else `target/release/libpqhsm_pkcs11.so`
/// (`ci/bench` builds it with the same features as the benches).
pub fn pqhsm_module_path() -> PathBuf {
    std::env::var_os("PQHSM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release").join("libpqhsm_pkcs11.so"))
}

pub fn softhsm_module_path() -> PathBuf {
    std::env::var_os("SOFTHSM2_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"))
}

/// Where cached tokens live; one directory per module.
pub fn cache_dir(module: &str) -> PathBuf {
    target_dir().join("bench-cache").join(module)
}

fn init(ctx: &Pkcs11) {
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("C_Initialize");
}

/// Load pqhsm over the cached data directory. Must run before any thread is started (it
/// sets `PQHSM_DATA_DIR` for the module to read at C_Initialize).
pub fn load_pqhsm() -> Pkcs11 {
    let path = pqhsm_module_path();
    assert!(
        path.exists(),
        "pqhsm module not found at {}: build it with `cargo build --release -p pqhsm-pkcs11` (ci/bench does)",
        path.display()
    );
    let data = cache_dir("pqhsm");
    std::fs::create_dir_all(&data).expect("create the pqhsm bench cache");
    tokens::forget_scratch_pqhsm(&data);
    std::env::set_var("PQHSM_DATA_DIR", &data);
    std::env::remove_var("PQHSM_CONF");
    let ctx = Pkcs11::new(&path).expect("load the pqhsm module");
    init(&ctx);
    ctx
}

/// Load SoftHSM2 over its cached token directory, or None (with a loud note) when it is
/// not installed. `ci/bench` installs it, so there it is always present.
pub fn load_softhsm() -> Option<Pkcs11> {
    let path = softhsm_module_path();
    if !path.exists() {
        record::note(&format!(
            "SoftHSM2 is not installed at {}: its column stays empty (ci/bench installs it)",
            path.display()
        ));
        return None;
    }
    let dir = cache_dir("softhsm2");
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).expect("create the SoftHSM2 bench cache");
    tokens::forget_scratch_softhsm(&tokens);
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .expect("write softhsm2.conf");
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let ctx = Pkcs11::new(&path).expect("load SoftHSM2");
    init(&ctx);
    Some(ctx)
}

/// SoftHSM2's release (C_GetInfo carries only major.minor), from `softhsm2-util`.
pub fn softhsm_release() -> Option<String> {
    let out = std::process::Command::new("softhsm2-util")
        .arg("--version")
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!v.is_empty()).then_some(v)
}

/// "name version" of a loaded module, from C_GetInfo.
pub fn module_version(ctx: &Pkcs11) -> String {
    let info = ctx.get_library_info().expect("C_GetInfo");
    format!(
        "{} {}",
        info.library_description().trim(),
        info.library_version()
    )
}
