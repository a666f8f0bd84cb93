//! A managed key's metadata as Rust values, read from and written to the vendor attributes
//! of its objects (`crate::object::vendor`): key-level facts (replicated on every object
//! of the key) and version-level facts. Reading never trusts a malformed value.

use super::clock::Timestamp;
use crate::attr::{decode_bool, decode_ulong, Attr};
use crate::error::{Error, ErrorKind, Result};
use crate::object::vendor::{self, KeyState, Purpose, VersionState};
use crate::object::Attrs;
use cryptoki_sys as ck;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When a key rotates by itself, and how many versions it keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationPolicy {
    /// Seconds between rotations; None: no automatic rotation.
    pub interval_secs: Option<u64>,
    /// At most this many versions keep key material; older retired ones are destroyed on
    /// rotation. None: keep all.
    pub max_versions: Option<u32>,
}

/// Facts about the key as a whole: the same on every object of the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyMeta {
    pub name: String,
    pub purpose: Purpose,
    pub algorithm: String,
    pub state: KeyState,
    /// The state a cancelled deletion returns to.
    pub prior_state: Option<KeyState>,
    pub deletion_date: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
    pub policy: Option<RotationPolicy>,
    pub labels: BTreeMap<String, String>,
    pub description: String,
    pub is_default: bool,
}

/// Facts about one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionMeta {
    pub version: u32,
    pub state: VersionState,
    pub created_at: Timestamp,
    pub state_changed_at: Timestamp,
}

impl KeyMeta {
    /// Expired: the key says so, or its expiry time has passed.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        vendor::is_expired(self.state, self.expires_at, || now)
    }

    /// The state as a user sees it at `now` (expiry applies even before the daemon marks it).
    pub fn effective_state(&self, now: Timestamp) -> KeyState {
        match self.state {
            KeyState::Enabled if self.is_expired(now) => KeyState::Expired,
            s => s,
        }
    }
}

impl VersionState {
    /// Material gone or put away: no operation at all.
    pub fn is_dormant(self) -> bool {
        matches!(self, VersionState::Archived | VersionState::Destroyed)
    }
}

impl Purpose {
    pub fn is_asymmetric(self) -> bool {
        matches!(self, Purpose::Signing | Purpose::Encryption)
    }
}

fn damaged(name: &str, what: &str) -> Error {
    Error::new(
        ErrorKind::StoreTampered,
        format!("the management attributes of key `{name}` are damaged ({what}): the token store was modified outside pqhsm"),
    )
}

fn ulong(public: &Attrs, ty: ck::CK_ATTRIBUTE_TYPE) -> Option<ck::CK_ULONG> {
    public.get(ty).and_then(|v| decode_ulong(ty, v).ok())
}

fn time(public: &Attrs, ty: ck::CK_ATTRIBUTE_TYPE) -> Option<Timestamp> {
    public.get(ty).and_then(vendor::decode_time)
}

fn text(public: &Attrs, ty: ck::CK_ATTRIBUTE_TYPE) -> Option<String> {
    public
        .get(ty)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_string)
}

/// The key's name: CKA_LABEL.
pub fn name_of(public: &Attrs) -> Option<String> {
    text(public, ck::CKA_LABEL)
}

/// Decode the management attributes of a managed object. None for objects pqhsm does not
/// manage; an error when a managed object's attributes do not decode.
pub fn read(public: &Attrs) -> Option<Result<(KeyMeta, VersionMeta)>> {
    if !vendor::is_managed(public) {
        return None;
    }
    Some(read_managed(public))
}

fn read_managed(public: &Attrs) -> Result<(KeyMeta, VersionMeta)> {
    let name = name_of(public).unwrap_or_default();
    let bad = |what: &str| damaged(&name, what);
    let version = ulong(public, vendor::CKA_PQHSM_KEY_VERSION)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| bad("version"))?;
    if public.get(ck::CKA_ID) != Some(&version.to_be_bytes()[..]) {
        return Err(bad("CKA_ID does not match the version"));
    }
    let vstate = ulong(public, vendor::CKA_PQHSM_VERSION_STATE)
        .and_then(VersionState::from_code)
        .ok_or_else(|| bad("version state"))?;
    let state = ulong(public, vendor::CKA_PQHSM_KEY_STATE)
        .and_then(KeyState::from_code)
        .ok_or_else(|| bad("key state"))?;
    let purpose = ulong(public, vendor::CKA_PQHSM_PURPOSE)
        .and_then(Purpose::from_code)
        .ok_or_else(|| bad("purpose"))?;
    let policy = match public.get(vendor::CKA_PQHSM_ROTATION_POLICY) {
        None | Some([]) => None,
        Some(v) => Some(serde_json::from_slice(v).map_err(|_| bad("rotation policy"))?),
    };
    let labels = match public.get(vendor::CKA_PQHSM_TAGS) {
        None | Some([]) => BTreeMap::new(),
        Some(v) => serde_json::from_slice(v).map_err(|_| bad("labels"))?,
    };
    let prior_state = match public.get(vendor::CKA_PQHSM_PRIOR_KEY_STATE) {
        None | Some([]) => None,
        Some(v) => Some(
            decode_ulong(vendor::CKA_PQHSM_PRIOR_KEY_STATE, v)
                .ok()
                .and_then(KeyState::from_code)
                .ok_or_else(|| bad("prior key state"))?,
        ),
    };
    let created_at = time(public, vendor::CKA_PQHSM_CREATED_AT).unwrap_or(0);
    let key = KeyMeta {
        name,
        purpose,
        algorithm: text(public, vendor::CKA_PQHSM_ALGORITHM).unwrap_or_default(),
        state,
        prior_state,
        deletion_date: time(public, vendor::CKA_PQHSM_DELETION_DATE),
        expires_at: time(public, vendor::CKA_PQHSM_EXPIRES_AT),
        created_at: time(public, vendor::CKA_PQHSM_KEY_CREATED_AT).unwrap_or(created_at),
        rotated_at: time(public, vendor::CKA_PQHSM_ROTATED_AT),
        policy,
        labels,
        description: text(public, vendor::CKA_PQHSM_DESCRIPTION).unwrap_or_default(),
        is_default: public
            .get(vendor::CKA_PQHSM_DEFAULT)
            .is_some_and(|v| decode_bool(vendor::CKA_PQHSM_DEFAULT, v).unwrap_or(false)),
    };
    let ver = VersionMeta {
        version,
        state: vstate,
        created_at,
        state_changed_at: time(public, vendor::CKA_PQHSM_STATE_CHANGED_AT).unwrap_or(created_at),
    };
    Ok((key, ver))
}

/// Write the management attributes (and CKA_LABEL / CKA_ID) of `key` and `ver` into
/// `public`. Usage flags are the lifecycle's business (`lifecycle::usage_flags`).
pub fn write(public: &mut Attrs, key: &KeyMeta, ver: &VersionMeta) {
    public.set(Attr::new(ck::CKA_LABEL, key.name.as_bytes().to_vec()));
    public.set(Attr::new(ck::CKA_ID, ver.version.to_be_bytes().to_vec()));
    public.set(Attr::ulong(
        vendor::CKA_PQHSM_KEY_VERSION,
        ck::CK_ULONG::from(ver.version),
    ));
    public.set(Attr::ulong(
        vendor::CKA_PQHSM_VERSION_STATE,
        ver.state.code(),
    ));
    public.set(Attr::ulong(vendor::CKA_PQHSM_KEY_STATE, key.state.code()));
    public.set(Attr::new(
        vendor::CKA_PQHSM_DELETION_DATE,
        vendor::encode_time(key.deletion_date),
    ));
    public.set(Attr::new(
        vendor::CKA_PQHSM_EXPIRES_AT,
        vendor::encode_time(key.expires_at),
    ));
    public.set(Attr::new(
        vendor::CKA_PQHSM_ROTATION_POLICY,
        key.policy.as_ref().map(json).unwrap_or_default(),
    ));
    public.set(Attr::new(vendor::CKA_PQHSM_TAGS, json(&key.labels)));
    public.set(Attr::new(
        vendor::CKA_PQHSM_DESCRIPTION,
        key.description.as_bytes().to_vec(),
    ));
    public.set(Attr::new(
        vendor::CKA_PQHSM_CREATED_AT,
        vendor::encode_time(Some(ver.created_at)),
    ));
    public.set(Attr::new(
        vendor::CKA_PQHSM_ROTATED_AT,
        vendor::encode_time(key.rotated_at),
    ));
    public.set(Attr::ulong(vendor::CKA_PQHSM_PURPOSE, key.purpose.code()));
    public.set(Attr::new(
        vendor::CKA_PQHSM_ALGORITHM,
        key.algorithm.as_bytes().to_vec(),
    ));
    public.set(Attr::new(
        vendor::CKA_PQHSM_STATE_CHANGED_AT,
        vendor::encode_time(Some(ver.state_changed_at)),
    ));
    public.set(Attr::new(
        vendor::CKA_PQHSM_PRIOR_KEY_STATE,
        key.prior_state
            .map(|s| crate::attr::encode_ulong(s.code()))
            .unwrap_or_default(),
    ));
    public.set(Attr::bool(vendor::CKA_PQHSM_DEFAULT, key.is_default));
    public.set(Attr::new(
        vendor::CKA_PQHSM_KEY_CREATED_AT,
        vendor::encode_time(Some(key.created_at)),
    ));
}

/// JSON of a small owned value; serialising maps of strings and plain structs cannot fail.
fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// What remains of a destroyed version: a data object (CKA_APPLICATION [`TOMBSTONE_APP`],
/// CKA_LABEL the key's name, CKA_VALUE this JSON) holding its metadata for audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    pub key: KeyMeta,
    pub version: VersionMeta,
    /// SHA-256 of the public key's SubjectPublicKeyInfo, hex (asymmetric keys).
    pub public_key_sha256: Option<String>,
}

pub const TOMBSTONE_APP: &[u8] = b"pqhsm destroyed key version";

impl Tombstone {
    /// The tombstone in a data object's public attributes, if this is one.
    pub fn read(public: &Attrs) -> Option<Result<Tombstone>> {
        if public.ulong(ck::CKA_CLASS) != Some(ck::CKO_DATA)
            || public.get(ck::CKA_APPLICATION) != Some(TOMBSTONE_APP)
        {
            return None;
        }
        let name = name_of(public).unwrap_or_default();
        Some(
            public
                .get(ck::CKA_VALUE)
                .and_then(|v| serde_json::from_slice::<Tombstone>(v).ok())
                .filter(|t| t.key.name == name)
                .ok_or_else(|| damaged(&name, "destroyed version record")),
        )
    }

    /// The data object template that keeps this tombstone (private, read-only).
    pub fn template(&self) -> Vec<Attr> {
        vec![
            Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA),
            Attr::bool(ck::CKA_TOKEN, true),
            Attr::bool(ck::CKA_PRIVATE, true),
            Attr::bool(ck::CKA_MODIFIABLE, false),
            Attr::bool(ck::CKA_DESTROYABLE, false),
            Attr::bool(ck::CKA_COPYABLE, false),
            Attr::new(ck::CKA_LABEL, self.key.name.as_bytes().to_vec()),
            Attr::new(ck::CKA_APPLICATION, TOMBSTONE_APP.to_vec()),
            Attr::new(ck::CKA_VALUE, json(self)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> (KeyMeta, VersionMeta) {
        (
            KeyMeta {
                name: "payments".into(),
                purpose: Purpose::Signing,
                algorithm: "ec-p256".into(),
                state: KeyState::PendingDeletion,
                prior_state: Some(KeyState::Revoked),
                deletion_date: Some(1_900_000_000),
                expires_at: Some(1_950_000_000),
                created_at: 1_700_000_000,
                rotated_at: Some(1_800_000_000),
                policy: Some(RotationPolicy {
                    interval_secs: Some(86_400),
                    max_versions: Some(3),
                }),
                labels: [("env".to_string(), "prod".to_string())].into(),
                description: "card payments".into(),
                is_default: true,
            },
            VersionMeta {
                version: 2,
                state: VersionState::Retired,
                created_at: 1_800_000_000,
                state_changed_at: 1_850_000_000,
            },
        )
    }

    #[test]
    fn attributes_round_trip() {
        let (k, v) = sample();
        let mut public = Attrs::default();
        write(&mut public, &k, &v);
        assert_eq!(public.get(ck::CKA_ID), Some(&[0, 0, 0, 2][..]));
        assert_eq!(public.get(ck::CKA_LABEL), Some(&b"payments"[..]));
        let (k2, v2) = read(&public).unwrap().unwrap();
        assert_eq!((k2, v2), (k.clone(), v.clone()));
        let none = KeyMeta {
            policy: None,
            prior_state: None,
            expires_at: None,
            labels: BTreeMap::new(),
            ..k
        };
        write(&mut public, &none, &v);
        assert_eq!(read(&public).unwrap().unwrap().0, none);
        assert!(read(&Attrs::default()).is_none());
    }

    #[test]
    fn a_version_disagreeing_with_cka_id_is_damage() {
        let (k, v) = sample();
        let mut public = Attrs::default();
        write(&mut public, &k, &v);
        public.set(Attr::new(ck::CKA_ID, vec![0, 0, 0, 9]));
        let e = read(&public).unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::StoreTampered);
        write(&mut public, &k, &v);
        public.set(Attr::ulong(vendor::CKA_PQHSM_VERSION_STATE, 77));
        assert!(read(&public).unwrap().is_err());
    }

    #[test]
    fn tombstones_round_trip() {
        let (key, version) = sample();
        let t = Tombstone {
            key,
            version,
            public_key_sha256: Some("ab".into()),
        };
        let public = Attrs::from_vec(t.template());
        assert_eq!(Tombstone::read(&public).unwrap().unwrap(), t);
        let mut renamed = public.clone();
        renamed.set(Attr::new(ck::CKA_LABEL, b"other".to_vec()));
        assert!(Tombstone::read(&renamed).unwrap().is_err());
    }
}
