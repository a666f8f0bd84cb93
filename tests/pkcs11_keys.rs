//! A PKCS#11 client (the `cryptoki` crate loading libpqhsm_pkcs11.so, as any client does)
//! and the `pqhsm` CLI on one token: the client finds "the signing key called NAME",
//! reads the management attributes, keeps its session while the CLI rotates in another
//! process, and from then on signs only with the new version; it can change nothing the
//! management layer owns; its refusals land in the token's audit log.
//!
//! Needs the module built first: `cargo build -p pqhsm-pkcs11`.

mod cli_common;

use cli_common::{Env, PIN};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::dsa::{HedgeType, SignAdditionalContext};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use std::path::PathBuf;

const BASE: u64 = 0x8000_0000 | 0x0051_0000;
const KEY_VERSION: u64 = BASE + 1;
const VERSION_STATE: u64 = BASE + 2;
const KEY_STATE: u64 = BASE + 3;
const ALGORITHM: u64 = BASE + 0x0C;

fn module_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = std::env::var_os("PQHSM_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| target.join("debug").join("libpqhsm_pkcs11.so"));
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p pqhsm-pkcs11`",
        path.display()
    );
    path
}

fn rv(r: cryptoki::error::Result<impl std::fmt::Debug>) -> RvError {
    match r {
        Err(Error::Pkcs11(rv, _)) => rv,
        other => panic!("expected a PKCS#11 error, got {other:?}"),
    }
}

fn vendor(s: &Session, o: ObjectHandle, ty: u64) -> Vec<u8> {
    let t = AttributeType::VendorDefined(ty as cryptoki_sys::CK_ATTRIBUTE_TYPE);
    match s.get_attributes(o, &[t]).unwrap().pop() {
        Some(Attribute::VendorDefined((_, v))) => v,
        other => panic!("vendor attribute {ty:#x}: {other:?}"),
    }
}

fn ulong(v: u64) -> Vec<u8> {
    (v as cryptoki_sys::CK_ULONG).to_ne_bytes().to_vec()
}

fn find(s: &Session, t: &[Attribute]) -> Vec<ObjectHandle> {
    s.find_objects(t).unwrap()
}

fn signing_key(s: &Session, name: &str) -> Vec<ObjectHandle> {
    find(
        s,
        &[
            Attribute::Label(name.as_bytes().to_vec()),
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Sign(true),
        ],
    )
}

fn version_object(s: &Session, name: &str, v: u32, class: ObjectClass) -> ObjectHandle {
    let found = find(
        s,
        &[
            Attribute::Label(name.as_bytes().to_vec()),
            Attribute::Id(v.to_be_bytes().to_vec()),
            Attribute::Class(class),
        ],
    );
    assert_eq!(found.len(), 1, "{name} v{v}");
    found[0]
}

fn flag(s: &Session, o: ObjectHandle, t: AttributeType) -> bool {
    match s.get_attributes(o, &[t]).unwrap().pop() {
        Some(Attribute::Sign(b) | Attribute::Verify(b)) => b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_client_sees_the_cli_rotate_without_restarting() {
    let e = Env::new();
    e.ok(&["keys", "generate", "payments", "--algorithm", "ec-p256"]);
    e.ok(&["keys", "generate", "docs", "--algorithm", "ml-dsa-65"]);

    // This test binary holds one test: setting the environment before loading is safe.
    std::env::set_var("PQHSM_CONF", e.conf());
    std::env::set_var("PQHSM_DATA_DIR", e.data_dir());
    let p11 = Pkcs11::new(module_path()).unwrap();
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = p11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| p11.get_token_info(*s).unwrap().label() == "test")
        .expect("the token the CLI made");
    let s = p11.open_rw_session(slot).unwrap();
    s.login(UserType::User, Some(&AuthPin::from(PIN.to_string())))
        .unwrap();

    // "The signing key called payments" is version 1, and says so.
    let v1 = signing_key(&s, "payments");
    assert_eq!(v1.len(), 1);
    let v1 = v1[0];
    assert_eq!(vendor(&s, v1, KEY_VERSION), ulong(1));
    assert_eq!(vendor(&s, v1, VERSION_STATE), ulong(1), "active");
    assert_eq!(vendor(&s, v1, KEY_STATE), ulong(1), "enabled");
    assert_eq!(vendor(&s, v1, ALGORITHM), b"ec-p256");
    let msg = b"transfer 100";
    let old_sig = s.sign(&Mechanism::EcdsaSha256, v1, msg).unwrap();

    // ML-DSA-65 signed by the client, verified by the CLI.
    let docs = signing_key(&s, "docs")[0];
    let pq_sig = s
        .sign(
            &Mechanism::MlDsa(SignAdditionalContext::new(HedgeType::Preferred, None)),
            docs,
            msg,
        )
        .unwrap();
    let m = e.write("msg", msg);
    let sig_file = e.write("docs.sig", &pq_sig);
    e.ok(&[
        "verify",
        "--key",
        "docs",
        "--version",
        "1",
        "--in",
        &m,
        "--signature",
        &sig_file,
    ]);

    // Another process rotates; this session stays open and sees it at once.
    e.ok(&["keys", "rotate", "payments"]);
    assert_eq!(
        rv(s.sign(&Mechanism::EcdsaSha256, v1, msg)),
        RvError::KeyFunctionNotPermitted
    );
    assert!(!flag(&s, v1, AttributeType::Sign));
    assert_eq!(vendor(&s, v1, VERSION_STATE), ulong(2), "retired");
    let v2 = signing_key(&s, "payments");
    assert_eq!(v2.len(), 1);
    assert_ne!(v2[0], v1);
    assert_eq!(vendor(&s, v2[0], KEY_VERSION), ulong(2));
    assert_eq!(
        v2[0],
        version_object(&s, "payments", 2, ObjectClass::PRIVATE_KEY)
    );
    let new_sig = s.sign(&Mechanism::EcdsaSha256, v2[0], msg).unwrap();
    let pub1 = version_object(&s, "payments", 1, ObjectClass::PUBLIC_KEY);
    let pub2 = version_object(&s, "payments", 2, ObjectClass::PUBLIC_KEY);
    s.verify(&Mechanism::EcdsaSha256, pub1, msg, &old_sig)
        .unwrap();
    s.verify(&Mechanism::EcdsaSha256, pub2, msg, &new_sig)
        .unwrap();
    // The CLI agrees with the client's signature.
    let f = e.write("new.sig", &new_sig);
    e.ok(&["verify", "--key", "payments", "--in", &m, "--signature", &f]);

    // Nothing the management layer owns can be changed, copied or destroyed by a client.
    let active =
        Attribute::VendorDefined((AttributeType::VendorDefined(VERSION_STATE as _), ulong(1)));
    assert_eq!(
        rv(s.update_attributes(v1, std::slice::from_ref(&active))),
        RvError::AttributeReadOnly
    );
    assert_eq!(
        rv(s.update_attributes(v1, &[Attribute::Sign(true)])),
        RvError::AttributeReadOnly
    );
    assert_eq!(
        rv(s.update_attributes(v1, &[Attribute::Label(b"x".to_vec())])),
        RvError::AttributeReadOnly
    );
    assert_eq!(rv(s.copy_object(v1, &[])), RvError::ActionProhibited);
    assert_eq!(rv(s.destroy_object(v1)), RvError::ActionProhibited);
    let forged = s.generate_key(
        &Mechanism::AesKeyGen,
        &[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            active,
        ],
    );
    assert_eq!(rv(forged), RvError::AttributeReadOnly);

    // Archived by the CLI: the client's verification stops too.
    e.ok(&["keys", "archive", "payments", "--version", "1"]);
    assert!(!flag(&s, pub1, AttributeType::Verify));
    assert_eq!(
        rv(s.verify(&Mechanism::EcdsaSha256, pub1, msg, &old_sig)),
        RvError::KeyFunctionNotPermitted
    );

    // The client's refusals are in the audit log under its own name.
    let log = e.json(&["audit", "list", "--json"]);
    let mine = format!("pkcs11 (pid {})", std::process::id());
    let refused: Vec<&serde_json::Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["actor"] == mine.as_str())
        .collect();
    assert_eq!(refused.len(), 2, "{log}");
    assert!(refused
        .iter()
        .all(|r| r["outcome"] == "refused" && r["version"] == 1));
    assert_eq!(refused[0]["action"], "use:sign");
    assert_eq!(refused[1]["action"], "use:verify");
    e.ok(&["audit", "verify"]);

    s.logout().unwrap();
    drop(s);
    p11.finalize().unwrap();
}
