//! Resolving a key handle for an operation: the mechanism must offer the function, the
//! object must be a visible key of a class and type the mechanism takes, its lifecycle
//! state must allow the use (managed keys) and its usage attribute (CKA_SIGN, ...) too.
//! Then the cached key material is returned.

use super::ObjectHandle;
use crate::attr::AttrType;
use crate::error::{Error, ErrorKind, Result};
use crate::mech::params::Mechanism;
use crate::mech::table::{self, MechSpec};
use crate::mech::KeyMaterial;
use crate::object::schema::attr_name;
use crate::object::Object;
use crate::session::Session;
use cryptoki_sys as ck;
use std::sync::Arc;

/// One way of using a key, with the error kinds its function reports.
pub(super) struct KeyUse {
    pub attr: AttrType,
    pub function: ck::CK_FLAGS,
    pub classes: &'static [ck::CK_OBJECT_CLASS],
    pub what: &'static str,
    /// The use makes new protected data (sign, encrypt, wrap, ...): retired, revoked and
    /// expired keys refuse it but still verify, decrypt and unwrap.
    pub issues: bool,
    pub handle_invalid: ErrorKind,
    pub type_inconsistent: ErrorKind,
}

const PUBLIC_OR_SECRET: &[ck::CK_OBJECT_CLASS] = &[ck::CKO_PUBLIC_KEY, ck::CKO_SECRET_KEY];
const PRIVATE_OR_SECRET: &[ck::CK_OBJECT_CLASS] = &[ck::CKO_PRIVATE_KEY, ck::CKO_SECRET_KEY];

const fn plain(
    attr: AttrType,
    function: ck::CK_FLAGS,
    classes: &'static [ck::CK_OBJECT_CLASS],
    what: &'static str,
) -> KeyUse {
    KeyUse {
        attr,
        function,
        classes,
        what,
        issues: matches!(
            attr,
            ck::CKA_SIGN | ck::CKA_ENCRYPT | ck::CKA_WRAP | ck::CKA_ENCAPSULATE | ck::CKA_DERIVE
        ),
        handle_invalid: ErrorKind::KeyHandleInvalid,
        type_inconsistent: ErrorKind::KeyTypeInconsistent,
    }
}

pub(super) const ENCRYPT: KeyUse = plain(
    ck::CKA_ENCRYPT,
    ck::CKF_ENCRYPT,
    PUBLIC_OR_SECRET,
    "encrypt",
);
pub(super) const DECRYPT: KeyUse = plain(
    ck::CKA_DECRYPT,
    ck::CKF_DECRYPT,
    PRIVATE_OR_SECRET,
    "decrypt",
);
pub(super) const SIGN: KeyUse = plain(ck::CKA_SIGN, ck::CKF_SIGN, PRIVATE_OR_SECRET, "sign");
pub(super) const VERIFY: KeyUse = plain(ck::CKA_VERIFY, ck::CKF_VERIFY, PUBLIC_OR_SECRET, "verify");
pub(super) const DERIVE: KeyUse = plain(
    ck::CKA_DERIVE,
    ck::CKF_DERIVE,
    PRIVATE_OR_SECRET,
    "derive keys",
);
pub(super) const ENCAPSULATE: KeyUse = plain(
    ck::CKA_ENCAPSULATE,
    ck::CKF_ENCAPSULATE,
    &[ck::CKO_PUBLIC_KEY],
    "encapsulate",
);
pub(super) const DECAPSULATE: KeyUse = plain(
    ck::CKA_DECAPSULATE,
    ck::CKF_DECAPSULATE,
    &[ck::CKO_PRIVATE_KEY],
    "decapsulate",
);
pub(super) const MESSAGE_ENCRYPT: KeyUse = plain(
    ck::CKA_ENCRYPT,
    ck::CKF_MESSAGE_ENCRYPT,
    &[ck::CKO_SECRET_KEY],
    "encrypt messages",
);
pub(super) const MESSAGE_DECRYPT: KeyUse = plain(
    ck::CKA_DECRYPT,
    ck::CKF_MESSAGE_DECRYPT,
    &[ck::CKO_SECRET_KEY],
    "decrypt messages",
);
pub(super) const WRAP: KeyUse = KeyUse {
    handle_invalid: ErrorKind::WrappingKeyHandleInvalid,
    type_inconsistent: ErrorKind::WrappingKeyTypeInconsistent,
    ..plain(ck::CKA_WRAP, ck::CKF_WRAP, PUBLIC_OR_SECRET, "wrap keys")
};
pub(super) const UNWRAP: KeyUse = KeyUse {
    handle_invalid: ErrorKind::UnwrappingKeyHandleInvalid,
    type_inconsistent: ErrorKind::UnwrappingKeyTypeInconsistent,
    ..plain(
        ck::CKA_UNWRAP,
        ck::CKF_UNWRAP,
        PRIVATE_OR_SECRET,
        "unwrap keys",
    )
};

/// The table row of `m` if it offers `function` (CKF_*).
pub(super) fn mechanism_for(
    m: &Mechanism,
    function: ck::CK_FLAGS,
    what: &str,
) -> Result<&'static MechSpec> {
    match table::lookup(m.ty) {
        Some(spec) if spec.flags & function != 0 => Ok(spec),
        Some(spec) => Err(Error::new(
            ErrorKind::MechanismInvalid,
            format!("{} cannot {what}", spec.name),
        )),
        None => Err(Error::new(
            ErrorKind::MechanismInvalid,
            format!("mechanism {:#x} is not supported by this token", m.ty),
        )),
    }
}

/// The object behind `h` as a key for `u` with mechanism `m` (checks only; no material).
pub(super) fn key_object(
    s: &Session,
    m: &Mechanism,
    h: ObjectHandle,
    u: &KeyUse,
) -> Result<Arc<Object>> {
    let spec = mechanism_for(m, u.function, u.what)?;
    let obj = s.token.key_object(h).map_err(|e| match e.kind() {
        ErrorKind::ObjectHandleInvalid => Error::new(u.handle_invalid, e.message()),
        _ => e,
    })?;
    let Some(key_type) = obj.key_type() else {
        return Err(Error::new(
            u.handle_invalid,
            format!("object {h} is a {}, not a key", obj.kind.name),
        ));
    };
    if !u.classes.contains(&obj.class()) || !spec.key_types.contains(&key_type) {
        return Err(Error::new(
            u.type_inconsistent,
            format!("{} cannot use a {}", spec.name, obj.kind.name),
        ));
    }
    crate::manage::lifecycle::check_use(&s.token, &obj, u.issues, u.what)?;
    if !obj.flag(u.attr) {
        return Err(Error::new(
            ErrorKind::KeyFunctionNotPermitted,
            format!(
                "this {} has {}=FALSE: it may not {}",
                obj.kind.name,
                attr_name(u.attr),
                u.what
            ),
        ));
    }
    Ok(obj)
}

/// `key_object` plus the key material (cached for this login).
pub(super) fn use_key(
    s: &Session,
    m: &Mechanism,
    h: ObjectHandle,
    u: &KeyUse,
) -> Result<(Arc<Object>, Arc<KeyMaterial>)> {
    let obj = key_object(s, m, h, u)?;
    let material = s.token.key_material(&obj)?;
    Ok((obj, material))
}
