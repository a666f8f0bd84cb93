//! Bench tokens: found by label in the module's cached token directory, or initialised on
//! the free slot and filled once. Filling is resumable (objects are created in label order
//! and each creation is durable), so an interrupted build continues where it stopped.
//! The scratch token (object creation, token key generation) is new on every run; its
//! directory is remembered and removed before the next run loads the module.

use super::record::note;
use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const SO_PIN: &str = "bench-so-pin-2468";
pub const USER_PIN: &str = "bench-user-pin-1357";
const SCRATCH_LABEL: &str = "bench-scratch";
const SCRATCH_FILE: &str = "scratch-dirs";

/// One loaded module and the directory its token directories live in.
pub struct Module {
    pub name: &'static str,
    pub ctx: Pkcs11,
    pub tokens_dir: PathBuf,
}

/// pqhsm and, when installed, SoftHSM2, each with its cached token directory; both
/// versions go into the report.
pub fn modules() -> (Module, Option<Module>) {
    let pq = Module {
        name: "pqhsm",
        ctx: super::load_pqhsm(),
        tokens_dir: super::cache_dir("pqhsm").join("tokens"),
    };
    let sh = super::load_softhsm().map(|ctx| Module {
        name: "SoftHSM2",
        ctx,
        tokens_dir: super::cache_dir("softhsm2").join("tokens"),
    });
    super::record::version("pqhsm", &super::module_version(&pq.ctx));
    if let Some(sh) = &sh {
        let release = super::softhsm_release().unwrap_or_else(|| "?".into());
        super::record::version(
            "SoftHSM2",
            &format!("{} (release {release})", super::module_version(&sh.ctx)),
        );
    }
    (pq, sh)
}

fn dirs(path: &Path) -> BTreeSet<String> {
    std::fs::read_dir(path)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn forget_scratch(tokens: &Path, record: &Path) {
    if let Ok(list) = std::fs::read_to_string(record) {
        for name in list.lines().filter(|l| !l.is_empty() && !l.contains('/')) {
            let _ = std::fs::remove_dir_all(tokens.join(name));
        }
    }
    let _ = std::fs::remove_file(record);
}

/// Remove last run's scratch token of pqhsm (`<data>/tokens/<serial>`).
pub fn forget_scratch_pqhsm(data: &Path) {
    forget_scratch(&data.join("tokens"), &data.join(SCRATCH_FILE));
}

/// Remove last run's scratch token of SoftHSM2 (`<tokendir>/<uuid>`).
pub fn forget_scratch_softhsm(tokens: &Path) {
    let record = tokens.parent().unwrap_or(tokens).join(SCRATCH_FILE);
    forget_scratch(tokens, &record);
}

fn pin(p: &str) -> AuthPin {
    AuthPin::new(p.into())
}

impl Module {
    /// The slot holding the initialised token labelled `label`.
    pub fn find_token(&self, label: &str) -> Option<Slot> {
        let slots = self
            .ctx
            .get_slots_with_initialized_token()
            .expect("C_GetSlotList");
        slots.into_iter().find(|s| {
            self.ctx
                .get_token_info(*s)
                .is_ok_and(|t| t.label().trim_end() == label)
        })
    }

    /// Initialise a new token labelled `label` on the free slot, with both PINs.
    fn init_token(&self, label: &str) -> Slot {
        let free = self
            .ctx
            .get_slots_with_token()
            .expect("C_GetSlotList")
            .into_iter()
            .find(|s| {
                self.ctx
                    .get_token_info(*s)
                    .is_ok_and(|t| !t.token_initialized())
            })
            .unwrap_or_else(|| panic!("{}: no free slot for a new token", self.name));
        self.ctx
            .init_token(free, &pin(SO_PIN), label)
            .expect("C_InitToken");
        // SoftHSM2 renumbers slots after C_InitToken: find the token again.
        let slot = self
            .find_token(label)
            .expect("the token just initialised is listed");
        let s = self.ctx.open_rw_session(slot).expect("C_OpenSession");
        s.login(UserType::So, Some(&pin(SO_PIN))).expect("SO login");
        s.init_pin(&pin(USER_PIN)).expect("C_InitPIN");
        s.logout().expect("C_Logout");
        slot
    }

    /// The token labelled `label`, initialised on the free slot if it does not exist yet.
    pub fn token(&self, label: &str) -> Slot {
        match self.find_token(label) {
            Some(s) => s,
            None => self.init_token(label),
        }
    }

    /// A new token for this run only, removed before the next run loads the module.
    pub fn scratch(&self) -> Slot {
        let before = dirs(&self.tokens_dir);
        let slot = self.init_token(SCRATCH_LABEL);
        let new: Vec<String> = dirs(&self.tokens_dir)
            .difference(&before)
            .cloned()
            .collect();
        let record = self
            .tokens_dir
            .parent()
            .unwrap_or(&self.tokens_dir)
            .join(SCRATCH_FILE);
        let _ = std::fs::write(record, new.join("\n"));
        slot
    }

    /// A read/write session with the user logged in (the login is shared by the token's
    /// sessions, so it may already be there).
    pub fn user_session(&self, slot: Slot) -> Session {
        let s = self.ctx.open_rw_session(slot).expect("C_OpenSession");
        match s.login(UserType::User, Some(&pin(USER_PIN))) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("{}: user login failed: {e}", self.name),
        }
        s
    }
}

/// The label of filler object `i`.
pub fn fill_label(i: usize) -> String {
    format!("fill-{i:06}")
}

/// A token AES-256 key as clients import one: private, sensitive, not extractable.
pub fn aes_key_template(label: &str, id: &[u8], value: Vec<u8>) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.to_vec()),
        Attribute::Value(value),
    ]
}

pub fn find_one(s: &Session, template: &[Attribute]) -> Option<ObjectHandle> {
    s.find_objects(template)
        .expect("C_FindObjects")
        .first()
        .copied()
}

fn has_fill(s: &Session, i: usize) -> bool {
    find_one(s, &[Attribute::Label(fill_label(i).into_bytes())]).is_some()
}

/// Make sure the token holds filler keys `fill-000000` .. `fill-{n-1}` (AES-256, token,
/// private). Creation is in label order, so the count is found by bisection.
pub fn fill(m: &Module, s: &Session, n: usize) {
    if n == 0 || has_fill(s, n - 1) {
        return;
    }
    let (mut lo, mut hi) = (0, n - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if has_fill(s, mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    note(&format!(
        "{}: building a bench token of {n} keys (have {lo}); cached under target/bench-cache for later runs",
        m.name
    ));
    let t0 = Instant::now();
    for i in lo..n {
        let mut value = vec![0u8; 32];
        getrandom::fill(&mut value).expect("OS RNG");
        let id = (i as u32).to_be_bytes();
        s.create_object(&aes_key_template(&fill_label(i), &id, value))
            .expect("C_CreateObject");
        if (i + 1) % 5000 == 0 {
            eprintln!(
                "  {}: {} / {n} keys ({:.0} s)",
                m.name,
                i + 1,
                t0.elapsed().as_secs_f64()
            );
        }
    }
}

/// The key (private or secret) labelled `label`, generated by `generate` when missing.
/// Returns (private or secret key, public key or the same secret key).
pub fn key(
    s: &Session,
    label: &str,
    generate: impl FnOnce(&Session, &str) -> (ObjectHandle, ObjectHandle),
) -> (ObjectHandle, ObjectHandle) {
    let by = |class| {
        find_one(
            s,
            &[
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
            ],
        )
    };
    if let Some(k) = by(ObjectClass::SECRET_KEY) {
        return (k, k);
    }
    match (by(ObjectClass::PRIVATE_KEY), by(ObjectClass::PUBLIC_KEY)) {
        (Some(prv), Some(public)) => (prv, public),
        _ => generate(s, label),
    }
}

/// Key-pair templates for a token pair used for signing.
pub fn pair_templates(
    label: &str,
    token: bool,
    public_extra: Vec<Attribute>,
) -> (Vec<Attribute>, Vec<Attribute>) {
    let l = Attribute::Label(label.as_bytes().to_vec());
    let mut public = vec![Attribute::Token(token), Attribute::Verify(true), l.clone()];
    public.extend(public_extra);
    let private = vec![
        Attribute::Token(token),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        l,
    ];
    (public, private)
}

/// Generate a signing key pair.
pub fn generate_pair(
    s: &Session,
    m: &Mechanism,
    label: &str,
    token: bool,
    public_extra: Vec<Attribute>,
) -> (ObjectHandle, ObjectHandle) {
    let (public, private) = pair_templates(label, token, public_extra);
    let (public, private) = s
        .generate_key_pair(m, &public, &private)
        .unwrap_or_else(|e| panic!("C_GenerateKeyPair {m:?}: {e}"));
    (private, public)
}

/// Generate a token secret key of `len` bytes with the given usage.
pub fn generate_secret(
    s: &Session,
    m: &Mechanism,
    label: &str,
    key_type: KeyType,
    usage: Vec<Attribute>,
) -> ObjectHandle {
    let mut t = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(key_type),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::ValueLen(32.into()),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    t.extend(usage);
    s.generate_key(m, &t)
        .unwrap_or_else(|e| panic!("C_GenerateKey {m:?}: {e}"))
}
