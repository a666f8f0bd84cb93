//! The management API told as an operator's and a client's stories, on in-memory tokens
//! with a test clock: every state transition and every refused one, seen through the
//! management calls and through the module calls a PKCS#11 client makes.

mod clients;
mod lifecycle;
mod material;

use super::clock::TestClock;
use super::{Caller, GenerateRequest, Manager};
use crate::attr::{Attr, Template};
use crate::config::Config;
use crate::error::{ErrorKind, Result};
use crate::module::{AttrAnswer, AttrRequest, InitOptions, Module, ObjectHandle, SessionHandle};
use crate::object::vendor::Purpose;
use crate::token::backend::MemoryBackend;
use cryptoki_sys as ck;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const SO: &[u8] = b"so-secret";
pub(super) const PIN: &[u8] = b"user-pin";
pub(super) const T0: u64 = 1_800_000_000;
pub(super) const DAY: u64 = 86_400;
const RW: ck::CK_FLAGS = ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION;

/// A module over `backend` whose caller uses `clock`.
pub(super) fn module_on(backend: &MemoryBackend, clock: &Arc<TestClock>) -> Module {
    let m = Module::with_backend(
        Config::default(),
        Arc::new(backend.clone()),
        InitOptions::default(),
    )
    .unwrap();
    m.set_caller(Caller {
        clock: clock.clone(),
        actor: "test".into(),
    });
    m
}

/// One token with a user PIN, a logged-in RW session, and the test clock at T0.
pub(super) struct Fixture {
    pub backend: MemoryBackend,
    pub clock: Arc<TestClock>,
    pub module: Module,
    pub session: SessionHandle,
}

impl Fixture {
    pub fn new() -> Fixture {
        let backend = MemoryBackend::new(10);
        let clock = TestClock::at(T0);
        let module = module_on(&backend, &clock);
        module.init_token(0, SO, "manage").unwrap();
        let s = module.open_session(0, RW).unwrap();
        module.login(s, ck::CKU_SO, SO).unwrap();
        module.init_pin(s, PIN).unwrap();
        module.logout(s).unwrap();
        module.login(s, ck::CKU_USER, PIN).unwrap();
        Fixture {
            backend,
            clock,
            module,
            session: s,
        }
    }

    pub fn manager(&self) -> Manager<'_> {
        Manager::new(&self.module, self.session).unwrap()
    }

    /// A second process on the same token: its own module, session and login.
    pub fn other_process(&self) -> (Module, SessionHandle) {
        let m = module_on(&self.backend, &self.clock);
        let s = m.open_session(0, RW).unwrap();
        m.login(s, ck::CKU_USER, PIN).unwrap();
        (m, s)
    }

    pub fn generate(&self, name: &str, purpose: Purpose, alg: &str) {
        self.manager()
            .generate(&request(name, purpose, alg))
            .unwrap();
    }
}

pub(super) fn request(name: &str, purpose: Purpose, alg: &str) -> GenerateRequest {
    GenerateRequest {
        name: name.into(),
        purpose,
        algorithm: Some(alg.into()),
        expires_at: None,
        policy: None,
        labels: BTreeMap::new(),
        description: String::new(),
    }
}

pub(super) fn kind<T>(r: Result<T>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.kind(),
    }
}

pub(super) fn tpl(attrs: Vec<Attr>) -> Template {
    Template::new(attrs).unwrap()
}

/// The handle of `name` v`version`'s object of `class` (as a client finds it by URI).
pub(super) fn find(m: &Module, s: SessionHandle, t: Vec<Attr>) -> Vec<ObjectHandle> {
    m.find_objects_init(s, &tpl(t)).unwrap();
    let found = m.find_objects(s, 100).unwrap();
    m.find_objects_final(s).unwrap();
    found
}

pub(super) fn object(
    m: &Module,
    s: SessionHandle,
    name: &str,
    version: u32,
    class: ck::CK_OBJECT_CLASS,
) -> ObjectHandle {
    let found = find(
        m,
        s,
        vec![
            Attr::new(ck::CKA_LABEL, name.as_bytes().to_vec()),
            Attr::new(ck::CKA_ID, version.to_be_bytes().to_vec()),
            Attr::ulong(ck::CKA_CLASS, class),
        ],
    );
    assert_eq!(found.len(), 1, "{name} v{version} class {class}");
    found[0]
}

pub(super) fn value(
    m: &Module,
    s: SessionHandle,
    o: ObjectHandle,
    ty: ck::CK_ATTRIBUTE_TYPE,
) -> Vec<u8> {
    match m
        .get_attribute_value(
            s,
            o,
            &[AttrRequest {
                ty,
                cap: Some(4096),
            }],
        )
        .unwrap()
        .remove(0)
    {
        AttrAnswer::Value(v) => v.to_vec(),
        other => panic!("attribute {ty:#x}: {other:?}"),
    }
}

pub(super) fn flag(
    m: &Module,
    s: SessionHandle,
    o: ObjectHandle,
    ty: ck::CK_ATTRIBUTE_TYPE,
) -> bool {
    value(m, s, o, ty) == [ck::CK_TRUE]
}

/// Sign through the module, as a client: C_SignInit + C_Sign.
pub(super) fn client_sign(
    m: &Module,
    s: SessionHandle,
    key: ObjectHandle,
    msg: &[u8],
) -> Result<Vec<u8>> {
    m.sign_init(
        s,
        &crate::mech::params::Mechanism::new(ck::CKM_ECDSA_SHA256),
        key,
    )?;
    match m.sign(s, msg, Some(1024))? {
        crate::module::Output::Data(d) => Ok(d.to_vec()),
        _ => panic!("length only"),
    }
}

pub(super) fn client_verify(
    m: &Module,
    s: SessionHandle,
    key: ObjectHandle,
    msg: &[u8],
    sig: &[u8],
) -> Result<()> {
    m.verify_init(
        s,
        &crate::mech::params::Mechanism::new(ck::CKM_ECDSA_SHA256),
        key,
    )?;
    m.verify(s, msg, sig)
}
