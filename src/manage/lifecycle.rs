//! Lifecycle rules: which uses each version and key state allows, the usage flags that
//! reflect it (only the usable active version says CKA_SIGN/CKA_ENCRYPT/CKA_WRAP/
//! CKA_ENCAPSULATE = TRUE), and the check every operation start runs (`check_use`, called
//! where the core resolves a key). A refusal says what to do, is logged and audited.

use super::audit::{self, Entry, Outcome};
use super::clock::{format_time, Timestamp};
use super::meta::{self, KeyMeta, VersionMeta};
use crate::attr::{Attr, AttrType, Template};
use crate::error::{Error, ErrorKind, Result};
use crate::object::schema::Kind;
use crate::object::vendor::{self, KeyState, Purpose, Standing, VersionState};
use crate::object::Object;
use crate::token::Token;
use cryptoki_sys as ck;

/// Usage attributes that make new protected data: refused once a version is retired or
/// the key is revoked or expired.
const ISSUING: &[AttrType] = &[
    ck::CKA_SIGN,
    ck::CKA_SIGN_RECOVER,
    ck::CKA_ENCRYPT,
    ck::CKA_WRAP,
    ck::CKA_ENCAPSULATE,
    ck::CKA_DERIVE,
];

/// Usage attributes that open or check existing data.
const CONSUMING: &[AttrType] = &[
    ck::CKA_VERIFY,
    ck::CKA_VERIFY_RECOVER,
    ck::CKA_DECRYPT,
    ck::CKA_UNWRAP,
    ck::CKA_DECAPSULATE,
];

/// The usage flags a fully usable object of this purpose has.
fn natural(
    purpose: Purpose,
    class: ck::CK_OBJECT_CLASS,
    key_type: ck::CK_KEY_TYPE,
) -> &'static [AttrType] {
    let private = class != ck::CKO_PUBLIC_KEY;
    match (purpose, key_type, private) {
        (Purpose::Signing, _, true) => &[ck::CKA_SIGN],
        (Purpose::Signing, _, false) => &[ck::CKA_VERIFY],
        (Purpose::Encryption, ck::CKK_ML_KEM, true) => &[ck::CKA_DECAPSULATE],
        (Purpose::Encryption, ck::CKK_ML_KEM, false) => &[ck::CKA_ENCAPSULATE],
        (Purpose::Encryption, _, true) => &[ck::CKA_DECRYPT, ck::CKA_UNWRAP],
        (Purpose::Encryption, _, false) => &[ck::CKA_ENCRYPT, ck::CKA_WRAP],
        (Purpose::Hmac, _, _) => &[ck::CKA_SIGN, ck::CKA_VERIFY],
        (Purpose::Symmetric, _, _) => &[
            ck::CKA_ENCRYPT,
            ck::CKA_DECRYPT,
            ck::CKA_WRAP,
            ck::CKA_UNWRAP,
        ],
    }
}

/// What a version may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    Everything,
    /// Verify, decrypt, decapsulate, unwrap.
    ConsumeOnly,
    Nothing,
}

/// Why a use is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Retired,
    Archived,
    Destroyed,
    Revoked,
    Expired(Option<Timestamp>),
    PendingDeletion(Option<Timestamp>),
    Deleted,
}

/// The refusal, if any, of a use of version `ver` of `key` at `now`. `issues`: the use
/// makes new protected data (sign, encrypt, encapsulate, wrap, derive).
pub fn refusal(key: &KeyMeta, ver: &VersionMeta, issues: bool, now: Timestamp) -> Option<Reason> {
    refusal_of(&standing(key, ver), issues, || now)
}

/// What of `key` and `ver` a use checks.
fn standing(key: &KeyMeta, ver: &VersionMeta) -> Standing {
    Standing {
        version: ver.state,
        key: key.state,
        deletion_date: key.deletion_date,
        expires_at: key.expires_at,
    }
}

/// `refusal` of a decoded standing; `now` is called only when an expiry has to be checked.
fn refusal_of(s: &Standing, issues: bool, now: impl FnOnce() -> Timestamp) -> Option<Reason> {
    match s.version {
        VersionState::Archived => return Some(Reason::Archived),
        VersionState::Destroyed => return Some(Reason::Destroyed),
        VersionState::Active | VersionState::Retired => {}
    }
    match s.key {
        KeyState::PendingDeletion => return Some(Reason::PendingDeletion(s.deletion_date)),
        KeyState::Deleted => return Some(Reason::Deleted),
        KeyState::Enabled | KeyState::Revoked | KeyState::Expired => {}
    }
    if !issues {
        return None;
    }
    if s.key == KeyState::Revoked {
        Some(Reason::Revoked)
    } else if vendor::is_expired(s.key, s.expires_at, now) {
        Some(Reason::Expired(s.expires_at))
    } else if s.version == VersionState::Retired {
        Some(Reason::Retired)
    } else {
        None
    }
}

/// What version `ver` of `key` may do at `now`.
pub fn allowed(key: &KeyMeta, ver: &VersionMeta, now: Timestamp) -> Allowed {
    match (refusal(key, ver, false, now), refusal(key, ver, true, now)) {
        (Some(_), _) => Allowed::Nothing,
        (None, Some(_)) => Allowed::ConsumeOnly,
        (None, None) => Allowed::Everything,
    }
}

/// Every usage attribute `kind` declares, set as the state allows: the flags a client
/// reads always say what the object may do now.
pub fn usage_flags(kind: &Kind, purpose: Purpose, allowed: Allowed) -> Vec<Attr> {
    let natural = natural(purpose, kind.class, kind.sub.unwrap_or(0));
    ISSUING
        .iter()
        .chain(CONSUMING)
        .filter(|ty| kind.rule(**ty).is_some())
        .map(|&ty| {
            let on = natural.contains(&ty)
                && match allowed {
                    Allowed::Everything => true,
                    Allowed::ConsumeOnly => CONSUMING.contains(&ty),
                    Allowed::Nothing => false,
                };
            Attr::bool(ty, on)
        })
        .collect()
}

impl Reason {
    /// What a user reads: the state, then what to do. `what` is the refused use ("sign").
    pub fn message(self, name: &str, version: u32, what: &str, active: Option<u32>) -> String {
        let active_v = active.map(|v| format!(" v{v}")).unwrap_or_default();
        match self {
            Reason::Retired => format!(
                "key `{name}` v{version} is retired: {what} with the active version{active_v} or rotate (`pqhsm keys rotate {name}`)"
            ),
            Reason::Archived => format!(
                "key `{name}` v{version} is archived and can no longer be used: {what} with the active version{active_v}"
            ),
            Reason::Destroyed => format!(
                "key `{name}` v{version} is destroyed: its key material is gone"
            ),
            Reason::Revoked => format!(
                "key `{name}` is revoked: it can no longer {what} (existing data still verifies or decrypts); generate a new key"
            ),
            Reason::Expired(at) => format!(
                "key `{name}` expired{}: it can no longer {what}; extend it (`pqhsm keys expiry {name} --expires DATE`) or generate a new key",
                at.map(|t| format!(" at {}", format_time(t))).unwrap_or_default()
            ),
            Reason::PendingDeletion(at) => format!(
                "key `{name}` is scheduled for deletion{}: cancel it (`pqhsm keys cancel-delete {name}`) to use the key",
                at.map(|t| format!(" at {}", format_time(t))).unwrap_or_default()
            ),
            Reason::Deleted => format!("key `{name}` is deleted: its key material is gone"),
        }
    }
}

/// The active version of key `name` as this token's cache sees it.
fn active_version(token: &Token, name: &str) -> Option<u32> {
    let t = Template::new(vec![
        Attr::new(ck::CKA_LABEL, name.as_bytes().to_vec()),
        Attr::ulong(vendor::CKA_PQHSM_VERSION_STATE, VersionState::Active.code()),
    ])
    .ok()?;
    token
        .find(&t)
        .ok()?
        .into_iter()
        .filter_map(|h| token.object(h).ok())
        .find_map(|o| {
            meta::read(o.public())
                .and_then(|r| r.ok())
                .map(|(_, v)| v.version)
        })
}

/// The lifecycle check at the start of every operation on a key (sign, verify, encrypt,
/// decrypt, wrap, unwrap, derive, encapsulate, decapsulate). Unmanaged keys pass. A
/// refusal is ErrorKind::KeyLifecycle (CKR_KEY_FUNCTION_NOT_PERMITTED), logged, and
/// audited when a user is logged in.
pub(crate) fn check_use(token: &Token, obj: &Object, issues: bool, what: &str) -> Result<()> {
    if !obj.is_managed() {
        return Ok(());
    }
    // The object's management attributes are decoded (and checked whole) on its first use
    // only: a key use must not parse them again.
    let decoded = obj.standing(|public| {
        let (key, ver) = meta::read(public)?.ok()?;
        Some(standing(&key, &ver))
    });
    // Most keys have no expiry: their use reads no clock.
    let now = || token.caller().clock.now();
    if decoded.is_some_and(|s| refusal_of(&s, issues, now).is_none()) {
        return Ok(());
    }
    let now = now();
    // Refused, or damaged: the full read names the key and says what is wrong.
    let Some(read) = meta::read(obj.public()) else {
        return Ok(());
    };
    let (key, ver) = read?;
    let Some(reason) = refusal(&key, &ver, issues, now) else {
        return Ok(());
    };
    let message = reason.message(
        &key.name,
        ver.version,
        what,
        active_version(token, &key.name),
    );
    tracing::warn!(key = %key.name, version = ver.version, "operation refused: {message}");
    let entry = Entry::new(
        token,
        &format!("use:{}", what.replace(' ', "-")),
        Some(&key.name),
        Some(ver.version),
        Outcome::Refused,
        message.clone(),
    );
    if let Err(e) = audit::record(token, &entry) {
        tracing::warn!(key = %key.name, "the refusal could not be audited: {e}");
    }
    Err(Error::new(ErrorKind::KeyLifecycle, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::schema;
    use std::collections::BTreeMap;

    fn key(state: KeyState) -> KeyMeta {
        KeyMeta {
            name: "payments".into(),
            purpose: Purpose::Signing,
            algorithm: "ec-p256".into(),
            state,
            prior_state: None,
            deletion_date: None,
            expires_at: None,
            created_at: 0,
            rotated_at: None,
            policy: None,
            labels: BTreeMap::new(),
            description: String::new(),
            is_default: false,
        }
    }

    fn ver(state: VersionState) -> VersionMeta {
        VersionMeta {
            version: 1,
            state,
            created_at: 0,
            state_changed_at: 0,
        }
    }

    #[test]
    fn each_state_allows_what_the_lifecycle_says() {
        use Allowed::*;
        let e = key(KeyState::Enabled);
        assert_eq!(allowed(&e, &ver(VersionState::Active), 10), Everything);
        assert_eq!(allowed(&e, &ver(VersionState::Retired), 10), ConsumeOnly);
        assert_eq!(allowed(&e, &ver(VersionState::Archived), 10), Nothing);
        assert_eq!(allowed(&e, &ver(VersionState::Destroyed), 10), Nothing);
        let active = ver(VersionState::Active);
        assert_eq!(allowed(&key(KeyState::Revoked), &active, 10), ConsumeOnly);
        assert_eq!(allowed(&key(KeyState::Expired), &active, 10), ConsumeOnly);
        assert_eq!(
            allowed(&key(KeyState::PendingDeletion), &active, 10),
            Nothing
        );
        let expiring = KeyMeta {
            expires_at: Some(100),
            ..e.clone()
        };
        assert_eq!(allowed(&expiring, &active, 99), Everything);
        assert_eq!(allowed(&expiring, &active, 100), ConsumeOnly);
        assert_eq!(
            refusal(&expiring, &active, true, 100),
            Some(Reason::Expired(Some(100)))
        );
        assert_eq!(refusal(&expiring, &active, false, 100), None);
    }

    #[test]
    fn only_a_key_with_an_expiry_reads_the_clock() {
        let active = ver(VersionState::Active);
        let never = standing(&key(KeyState::Enabled), &active);
        assert_eq!(refusal_of(&never, true, || unreachable!("no expiry")), None);
        let revoked = standing(&key(KeyState::Revoked), &active);
        assert_eq!(
            refusal_of(&revoked, true, || unreachable!("revoked")),
            Some(Reason::Revoked)
        );
        let expiring = Standing {
            expires_at: Some(100),
            ..never
        };
        assert_eq!(refusal_of(&expiring, true, || 99), None);
        assert_eq!(
            refusal_of(&expiring, true, || 100),
            Some(Reason::Expired(Some(100)))
        );
        // Consuming uses never depend on expiry.
        assert_eq!(
            refusal_of(&expiring, false, || unreachable!("consume")),
            None
        );
    }

    #[test]
    fn a_managed_key_is_decoded_on_first_use_and_damage_is_still_refused() {
        use crate::manage::tests::{object, Fixture};
        let f = Fixture::new();
        f.generate("k", Purpose::Signing, "ec-p256");
        let mgr = f.manager();
        let h = object(&f.module, f.session, "k", 1, ck::CKO_PRIVATE_KEY);
        let obj = mgr.token().object(h).unwrap();
        check_use(mgr.token(), &obj, true, "sign").unwrap();
        let decoded = obj.standing(|_| unreachable!("decoded by the first use"));
        assert_eq!(
            decoded.map(|s| (s.version, s.key)),
            Some((VersionState::Active, KeyState::Enabled))
        );
        check_use(mgr.token(), &obj, true, "sign").unwrap();
        // The same object with a CKA_ID that is not its version: damaged, on every use.
        let mut public = obj.public().clone();
        public.set(Attr::new(ck::CKA_ID, vec![9, 9, 9, 9]));
        let damaged = obj.with_public(public);
        for _ in 0..2 {
            let e = check_use(mgr.token(), &damaged, false, "verify").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::StoreTampered, "{e}");
            assert!(e.message().contains("CKA_ID"), "{e}");
        }
        assert_eq!(damaged.standing(|_| unreachable!("decoded")), None);
    }

    #[test]
    fn flags_follow_the_state() {
        let private = schema::kind(ck::CKO_PRIVATE_KEY, Some(ck::CKK_EC)).unwrap();
        let public = schema::kind(ck::CKO_PUBLIC_KEY, Some(ck::CKK_EC)).unwrap();
        let on = |attrs: Vec<Attr>| -> Vec<AttrType> {
            attrs
                .into_iter()
                .filter(|a| a.value[..] == [ck::CK_TRUE])
                .map(|a| a.ty)
                .collect()
        };
        assert_eq!(
            on(usage_flags(private, Purpose::Signing, Allowed::Everything)),
            vec![ck::CKA_SIGN]
        );
        assert!(on(usage_flags(private, Purpose::Signing, Allowed::ConsumeOnly)).is_empty());
        assert_eq!(
            on(usage_flags(public, Purpose::Signing, Allowed::ConsumeOnly)),
            vec![ck::CKA_VERIFY]
        );
        assert!(on(usage_flags(public, Purpose::Signing, Allowed::Nothing)).is_empty());
        // Every usage attribute the kind has is set, so none keeps a stale TRUE.
        let flags = usage_flags(private, Purpose::Signing, Allowed::Nothing);
        assert!(flags.iter().any(|a| a.ty == ck::CKA_DECRYPT));
        assert!(!flags.iter().any(|a| a.ty == ck::CKA_ENCAPSULATE));
        let aes = schema::kind(ck::CKO_SECRET_KEY, Some(ck::CKK_AES)).unwrap();
        assert_eq!(
            on(usage_flags(aes, Purpose::Symmetric, Allowed::ConsumeOnly)),
            vec![ck::CKA_DECRYPT, ck::CKA_UNWRAP]
        );
    }

    #[test]
    fn refusals_say_what_to_do() {
        let m = Reason::Retired.message("payments", 1, "sign", Some(2));
        assert_eq!(
            m,
            "key `payments` v1 is retired: sign with the active version v2 or rotate (`pqhsm keys rotate payments`)"
        );
        assert!(Reason::PendingDeletion(Some(0))
            .message("k", 1, "sign", None)
            .contains("cancel-delete k"));
        assert!(Reason::Expired(Some(0))
            .message("k", 1, "encrypt", None)
            .contains("1970-01-01T00:00:00Z"));
    }
}
