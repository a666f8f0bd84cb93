//! The test fixture every integration test uses: one backend (pqhsm or SoftHSM2), a fresh
//! token directory, an initialised token with SO and user PINs, a logged-in RW session.
//! The same test body runs against both backends, so it checks PKCS#11 semantics, not our
//! own reading of them. It never hides a skip: every skip is printed and logged to a file.
#![allow(dead_code)]

pub mod external;
pub mod hash;
pub mod interface;
pub mod keys;
pub mod pqc;
pub mod raw;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use cryptoki_sys::CK_MECHANISM_TYPE;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

pub const SO_PIN: &str = "so-pin-24681357";
pub const USER_PIN: &str = "user-pin-13572468";
pub const TOKEN_LABEL: &str = "pqhsm integration";

/// Which PKCS#11 module a test drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Pqhsm,
    SoftHsm2,
}

impl Backend {
    pub fn module_path(self) -> PathBuf {
        match self {
            Backend::Pqhsm => pqhsm_module_path(),
            Backend::SoftHsm2 => std::env::var_os("SOFTHSM2_MODULE")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Pqhsm => "pqhsm",
            Backend::SoftHsm2 => "SoftHSM2",
        })
    }
}

/// `$PQHSM_MODULE`, else `$CARGO_TARGET_DIR/debug/libpqhsm_pkcs11.so`, else the repository's
/// `target/debug/libpqhsm_pkcs11.so`.
pub fn pqhsm_module_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PQHSM_MODULE") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("debug").join("libpqhsm_pkcs11.so")
}

fn in_ci() -> bool {
    std::env::var("CI")
        .map(|v| v == "true" || v == "1")
        .unwrap_or(false)
}

/// Print a loud note and append it to `target/pqhsm-test-notes.txt`, which `ci/test`
/// prints after the run, so a skipped check is never silent.
pub fn note(msg: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_string();
    // One line per note (messages quote multi-line call expressions).
    let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = format!("[{test}] {msg}");
    eprintln!("\n!!!!!!!! NOTE: {line}\n");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target.join("pqhsm-test-notes.txt"))
    {
        let _ = writeln!(f, "{line}");
    }
}

/// Run one test body against one backend. SoftHSM2 missing: a failure under CI=true,
/// otherwise a loud skip. The pqhsm module missing is always a failure.
pub fn run(backend: Backend, test: fn(Backend)) {
    let path = backend.module_path();
    if !path.exists() {
        match backend {
            Backend::Pqhsm => panic!(
                "pqhsm module not found at {}: build it first: cargo build -p pqhsm-pkcs11",
                path.display()
            ),
            Backend::SoftHsm2 if in_ci() => panic!(
                "SoftHSM2 not found at {} and CI=true: install softhsm2 (apt-get install softhsm2)",
                path.display()
            ),
            Backend::SoftHsm2 => {
                note(&format!(
                    "SKIPPED: SoftHSM2 not installed at {} (apt-get install softhsm2); \
                     this test did NOT run against the reference module",
                    path.display()
                ));
                return;
            }
        }
    }
    test(backend)
}

/// One test per backend from one body: `fn name(b: Backend)` plus a module `name` holding
/// `#[test] fn softhsm2()` and `#[test] fn pqhsm()`.
#[macro_export]
macro_rules! both_backends {
    ($( $(#[$m:meta])* fn $name:ident($b:ident : Backend) $body:block )*) => {
        $(
            $(#[$m])*
            fn $name($b: $crate::common::Backend) $body

            mod $name {
                #[test]
                fn softhsm2() {
                    $crate::common::run($crate::common::Backend::SoftHsm2, super::$name)
                }
                #[test]
                fn pqhsm() {
                    $crate::common::run($crate::common::Backend::Pqhsm, super::$name)
                }
            }
        )*
    };
}

/// Tests of pqhsm's own policy and features that SoftHSM2 does not have.
#[macro_export]
macro_rules! pqhsm_only {
    ($( $(#[$m:meta])* fn $name:ident($b:ident : Backend) $body:block )*) => {
        $(
            $(#[$m])*
            fn $name($b: $crate::common::Backend) $body

            mod $name {
                #[test]
                fn pqhsm() {
                    $crate::common::run($crate::common::Backend::Pqhsm, super::$name)
                }
            }
        )*
    };
}

/// What a PKCS#11 call returned, for assertions over cryptoki results and raw CK_RVs alike.
#[derive(Clone, Debug)]
pub enum Outcome {
    Ok,
    Rv(RvError),
    Other(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("CKR_OK"),
            Outcome::Rv(rv) => f.write_str(&ckr_name(*rv)),
            Outcome::Other(e) => write!(f, "non-PKCS#11 error: {e}"),
        }
    }
}

/// `RvError::PinIncorrect` -> `CKR_PIN_INCORRECT`, the spelling of the spec.
pub fn ckr_name(rv: RvError) -> String {
    let camel = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

pub trait Outcomes {
    fn outcome(&self) -> Outcome;
}

impl<T> Outcomes for cryptoki::error::Result<T> {
    fn outcome(&self) -> Outcome {
        match self {
            Ok(_) => Outcome::Ok,
            Err(Error::Pkcs11(rv, _)) => Outcome::Rv(*rv),
            Err(e) => Outcome::Other(e.to_string()),
        }
    }
}

impl Outcomes for cryptoki_sys::CK_RV {
    fn outcome(&self) -> Outcome {
        match cryptoki::error::Rv::from(*self) {
            cryptoki::error::Rv::Ok => Outcome::Ok,
            cryptoki::error::Rv::Error(e) => Outcome::Rv(e),
        }
    }
}

/// Assert that a call failed with one of the named CKR codes (RvError variant names):
/// `assert_ckr!(s.login(..), PinIncorrect)`, `assert_ckr!(r, SignatureInvalid | SignatureLenRange)`.
#[macro_export]
macro_rules! assert_ckr {
    ($res:expr, $($rv:ident)|+) => {{
        let res = &$res;
        match $crate::common::Outcomes::outcome(res) {
            $crate::common::Outcome::Rv(got) if matches!(got, $(cryptoki::error::RvError::$rv)|+) => got,
            other => panic!(
                "{}:\n  expected {}\n  got      {}",
                stringify!($res),
                [$($crate::common::ckr_name(cryptoki::error::RvError::$rv)),+].join(" or "),
                other
            ),
        }
    }};
}

/// As `assert_ckr!`, where SoftHSM2 is known to answer with another code: on SoftHSM2 the
/// listed deviation is accepted and logged as a note; pqhsm is held to the spec.
/// `assert_spec!(t.backend, call, DataLenRange; softhsm2: GeneralError)`.
#[macro_export]
macro_rules! assert_spec {
    ($backend:expr, $res:expr, $($rv:ident)|+ ; softhsm2: $($dev:ident)|+) => {{
        let res = &$res;
        let deviation = $backend == $crate::common::Backend::SoftHsm2
            && matches!(
                $crate::common::Outcomes::outcome(res),
                $crate::common::Outcome::Rv($(cryptoki::error::RvError::$dev)|+)
            );
        if deviation {
            $crate::common::note(&format!(
                "SoftHSM2 deviation: {} returns {} where PKCS#11 names {}",
                stringify!($res),
                $crate::common::Outcomes::outcome(res),
                [$($crate::common::ckr_name(cryptoki::error::RvError::$rv)),+].join(" or ")
            ));
        } else {
            assert_ckr!(*res, $($rv)|+);
        }
    }};
}

/// Assert that a call (cryptoki result, raw CK_RV or RawOut) returned CKR_OK.
#[macro_export]
macro_rules! assert_ok {
    ($res:expr) => {{
        let res = &$res;
        match $crate::common::Outcomes::outcome(res) {
            $crate::common::Outcome::Ok => {}
            other => panic!(
                "{}:\n  expected CKR_OK\n  got      {}",
                stringify!($res),
                other
            ),
        }
    }};
}

/// Unwrap a cryptoki result, naming the call and the CKR code on failure.
#[macro_export]
macro_rules! ck {
    ($res:expr) => {{
        match $res {
            Ok(v) => v,
            Err(e) => panic!(
                "{}\n  failed: {}",
                stringify!($res),
                $crate::common::Outcomes::outcome(&Err::<(), _>(e))
            ),
        }
    }};
}

/// Bytes of a hex literal in a test.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex literal")
}

/// Test case 4 of the GCM specification (McGrew and Viega): AES-128, 96-bit IV, AAD.
pub mod gcm_tc4 {
    pub const KEY: &str = "feffe9928665731c6d6a8f9467308308";
    pub const IV: &str = "cafebabefacedbaddecaf888";
    pub const AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    pub const PT: &str = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    pub const CT: &str = "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091";
    pub const TAG: &str = "5bc94fbc3221a5db94fae95ae7121a47";
}

/// CKM_AES_KEY_WRAP_KWP (PKCS#11 3.0, RFC 5649); cryptoki 0.12 has no name for it.
pub const CKM_AES_KEY_WRAP_KWP: CK_MECHANISM_TYPE = 0x0000_210B;

/// The spec name of a mechanism number, for messages.
pub fn mech_name(m: CK_MECHANISM_TYPE) -> String {
    match m {
        CKM_AES_KEY_WRAP_KWP => "CKM_AES_KEY_WRAP_KWP".into(),
        cryptoki_sys::CKM_SHA256_HMAC_GENERAL => "CKM_SHA256_HMAC_GENERAL".into(),
        cryptoki_sys::CKM_SHA384_HMAC_GENERAL => "CKM_SHA384_HMAC_GENERAL".into(),
        cryptoki_sys::CKM_SHA512_HMAC_GENERAL => "CKM_SHA512_HMAC_GENERAL".into(),
        _ => match MechanismType::try_from(m) {
            Ok(t) => t.to_string(),
            Err(_) => format!("mechanism {m:#x}"),
        },
    }
}

/// Per-test knobs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Contents of a pqhsm configuration file, written to the token directory and named by
    /// `PQHSM_CONF`. `None` unsets `PQHSM_CONF` (embedded defaults).
    pub pqhsm_conf: Option<String>,
}

impl Options {
    pub fn pqhsm_conf(conf: &str) -> Options {
        Options {
            pqhsm_conf: Some(conf.to_string()),
        }
    }
}

// PKCS#11 state is per process; nextest gives every test its own process. Under plain
// `cargo test` the tests of one binary share a process, so fixtures take turns.
static FIXTURE_LOCK: Mutex<()> = Mutex::new(());
static LABELS: AtomicUsize = AtomicUsize::new(0);

/// An initialised token on a fresh directory, with a logged-in (user) RW session.
pub struct Token {
    pub backend: Backend,
    pub ctx: Pkcs11,
    pub slot: Slot,
    pub raw: raw::Raw,
    session: Option<Session>,
    mechanisms: Vec<CK_MECHANISM_TYPE>,
    dir: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
    _guard: MutexGuard<'static, ()>,
}

pub fn so_pin() -> AuthPin {
    AuthPin::from(SO_PIN)
}

pub fn user_pin() -> AuthPin {
    AuthPin::from(USER_PIN)
}

pub fn pin(s: &str) -> AuthPin {
    AuthPin::from(s)
}

fn configure_env(backend: Backend, dir: &Path, opts: &Options) {
    // SAFETY of set_var: called while FIXTURE_LOCK is held and before the module starts
    // any thread of its own.
    match backend {
        Backend::Pqhsm => {
            std::env::set_var("PQHSM_DATA_DIR", dir.join("pqhsm"));
            match &opts.pqhsm_conf {
                Some(conf) => {
                    // data_dir too, so the file alone names this test's token directory.
                    let path = dir.join("pqhsm.toml");
                    let text = format!(
                        "data_dir = {:?}\n{conf}",
                        dir.join("pqhsm").display().to_string()
                    );
                    std::fs::write(&path, text).expect("write pqhsm.toml in the temp dir");
                    std::env::set_var("PQHSM_CONF", path);
                }
                None => std::env::remove_var("PQHSM_CONF"),
            }
            std::fs::create_dir_all(dir.join("pqhsm")).expect("create pqhsm data dir");
        }
        Backend::SoftHsm2 => {
            let tokens = dir.join("softhsm-tokens");
            std::fs::create_dir_all(&tokens).expect("create SoftHSM2 token dir");
            let conf = dir.join("softhsm2.conf");
            std::fs::write(
                &conf,
                format!(
                    "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                    tokens.display()
                ),
            )
            .expect("write softhsm2.conf");
            std::env::set_var("SOFTHSM2_CONF", conf);
        }
    }
}

fn load(backend: Backend) -> Pkcs11 {
    let path = backend.module_path();
    let ctx = Pkcs11::new(&path).unwrap_or_else(|e| {
        panic!(
            "loading {backend} module {} failed: {e}{}",
            path.display(),
            if backend == Backend::Pqhsm {
                " (build it first: cargo build -p pqhsm-pkcs11)"
            } else {
                ""
            }
        )
    });
    ck!(ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)));
    ctx
}

/// The slot whose token carries our label (SoftHSM2 renumbers a slot once its token is
/// initialised, so the slot is found again by label, as clients do).
pub fn find_token_slot(ctx: &Pkcs11) -> Slot {
    let slots = ck!(ctx.get_slots_with_token());
    for s in slots {
        if let Ok(info) = ctx.get_token_info(s) {
            if info.token_initialized() && info.label().trim_end() == TOKEN_LABEL {
                return s;
            }
        }
    }
    panic!("no slot holds an initialised token labelled {TOKEN_LABEL:?}");
}

impl Token {
    /// A fresh token with default configuration.
    pub fn new(backend: Backend) -> Token {
        Token::with(backend, Options::default())
    }

    /// A fresh token: temp dir, module loaded and initialised, C_InitToken on the first
    /// slot without an initialised token, SO login, C_InitPIN, user login on an RW session.
    pub fn with(backend: Backend, opts: Options) -> Token {
        let guard = FIXTURE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let tempdir = tempfile::Builder::new()
            .prefix("pqhsm-it-")
            .tempdir()
            .expect("create a temp dir");
        let dir = tempdir.path().to_path_buf();
        configure_env(backend, &dir, &opts);
        let ctx = load(backend);

        let slot = ck!(ctx.get_slots_with_token())
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .map(|i| !i.token_initialized())
                    .unwrap_or(false)
            })
            .unwrap_or_else(|| panic!("{backend}: no slot with an uninitialised token"));
        ck!(ctx.init_token(slot, &so_pin(), TOKEN_LABEL));
        let slot = find_token_slot(&ctx);
        {
            let so = ck!(ctx.open_rw_session(slot));
            ck!(so.login(UserType::So, Some(&so_pin())));
            ck!(so.init_pin(&user_pin()));
            ck!(so.logout());
        }
        Token::finish(backend, ctx, slot, dir, Some(tempdir), guard)
    }

    /// Attach to a token another process initialised in `dir` (same backend, same PINs),
    /// with a logged-in user RW session.
    pub fn attach(backend: Backend, dir: &Path, opts: Options) -> Token {
        let guard = FIXTURE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        configure_env(backend, dir, &opts);
        let ctx = load(backend);
        let slot = find_token_slot(&ctx);
        Token::finish(backend, ctx, slot, dir.to_path_buf(), None, guard)
    }

    fn finish(
        backend: Backend,
        ctx: Pkcs11,
        slot: Slot,
        dir: PathBuf,
        tempdir: Option<tempfile::TempDir>,
        guard: MutexGuard<'static, ()>,
    ) -> Token {
        let session = ck!(ctx.open_rw_session(slot));
        ck!(session.login(UserType::User, Some(&user_pin())));
        let raw = raw::Raw::load(&backend.module_path());
        // Raw, because cryptoki drops mechanism numbers it does not know (e.g. 0x210B).
        let mechanisms = raw.mechanism_list(slot.id());
        Token {
            backend,
            ctx,
            slot,
            raw,
            session: Some(session),
            mechanisms,
            dir,
            _tempdir: tempdir,
            _guard: guard,
        }
    }

    /// The logged-in user RW session.
    pub fn session(&self) -> &Session {
        self.session
            .as_ref()
            .expect("the fixture session is open between construction and drop")
    }

    pub fn is_pqhsm(&self) -> bool {
        self.backend == Backend::Pqhsm
    }

    /// The token directory (shared with helper processes).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn open_rw(&self) -> Session {
        ck!(self.ctx.open_rw_session(self.slot))
    }

    pub fn open_ro(&self) -> Session {
        ck!(self.ctx.open_ro_session(self.slot))
    }

    /// Every mechanism number C_GetMechanismList returned.
    pub fn mechanisms(&self) -> &[CK_MECHANISM_TYPE] {
        &self.mechanisms
    }

    pub fn has(&self, m: CK_MECHANISM_TYPE) -> bool {
        self.mechanisms.contains(&m)
    }

    /// True when the token lists every mechanism in `mechs`. A mechanism pqhsm must offer
    /// but does not list is a failure; a mechanism SoftHSM2 lacks skips the test loudly.
    pub fn require(&self, mechs: &[CK_MECHANISM_TYPE]) -> bool {
        let missing: Vec<String> = mechs
            .iter()
            .filter(|m| !self.has(**m))
            .map(|m| mech_name(*m))
            .collect();
        if missing.is_empty() {
            return true;
        }
        match self.backend {
            Backend::Pqhsm => panic!(
                "pqhsm must offer {} but C_GetMechanismList does not list it",
                missing.join(", ")
            ),
            Backend::SoftHsm2 => {
                note(&format!(
                    "SKIPPED on SoftHSM2: it does not offer {}",
                    missing.join(", ")
                ));
                false
            }
        }
    }

    /// A label no other object of this test uses (pqhsm treats CKA_LABEL as a key name).
    pub fn label(&self, what: &str) -> String {
        format!("{what}-{}", LABELS.fetch_add(1, Ordering::Relaxed))
    }

    /// Close the fixture's session (and with it, in PKCS#11, nothing else): for tests that
    /// need no session open on the token, e.g. C_InitToken.
    pub fn close_session(&mut self) {
        if let Some(s) = self.session.take() {
            ck!(s.close());
        }
    }

    /// C_Finalize, then C_Initialize again in the same process, find the token again and
    /// log the user back in: what a long-running client does across a module restart.
    pub fn reinitialize(&mut self) {
        self.restart(true)
    }

    /// As [`Token::reinitialize`], leaving the new session logged out.
    pub fn reinitialize_logged_out(&mut self) {
        self.restart(false)
    }

    fn restart(&mut self, login: bool) {
        if let Some(s) = self.session.take() {
            ck!(s.close());
        }
        ck!(self.ctx.clone().finalize());
        ck!(self
            .ctx
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)));
        self.slot = find_token_slot(&self.ctx);
        let session = ck!(self.ctx.open_rw_session(self.slot));
        if login {
            ck!(session.login(UserType::User, Some(&user_pin())));
        }
        self.session = Some(session);
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = s.close();
        }
        let _ = self.ctx.clone().finalize();
    }
}
