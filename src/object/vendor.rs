//! pqhsm's vendor attributes (`CKA_VENDOR_DEFINED | 0x0051_0000 + n`): the management state
//! of a key version, carried on its own PKCS#11 objects so clients and the CLI read one truth.
//! Numbers and encodings are published in the README and never reused. Clients read them;
//! only the management layer (`crate::manage`) writes them.

use super::schema::CKA_PQHSM_BASE;
use super::Attrs;
use crate::attr::AttrType;
use cryptoki_sys as ck;

/// Key version (CK_ULONG, 1-based); also CKA_ID as 4 bytes big-endian.
pub const CKA_PQHSM_KEY_VERSION: AttrType = CKA_PQHSM_BASE + 0x01;
/// State of this version (CK_ULONG, [`VersionState`]).
pub const CKA_PQHSM_VERSION_STATE: AttrType = CKA_PQHSM_BASE + 0x02;
/// State of the key as a whole (CK_ULONG, [`KeyState`]).
pub const CKA_PQHSM_KEY_STATE: AttrType = CKA_PQHSM_BASE + 0x03;
/// End of the deletion grace period (time; empty unless pending deletion).
pub const CKA_PQHSM_DELETION_DATE: AttrType = CKA_PQHSM_BASE + 0x04;
/// Expiry of the key (time; empty: never).
pub const CKA_PQHSM_EXPIRES_AT: AttrType = CKA_PQHSM_BASE + 0x05;
/// Rotation policy (UTF-8 JSON `{"intervalSecs":N,"maxVersions":M}`; empty: none).
pub const CKA_PQHSM_ROTATION_POLICY: AttrType = CKA_PQHSM_BASE + 0x06;
/// Labels (UTF-8 JSON object of strings).
pub const CKA_PQHSM_TAGS: AttrType = CKA_PQHSM_BASE + 0x07;
/// Description (UTF-8).
pub const CKA_PQHSM_DESCRIPTION: AttrType = CKA_PQHSM_BASE + 0x08;
/// When this version was created (time).
pub const CKA_PQHSM_CREATED_AT: AttrType = CKA_PQHSM_BASE + 0x09;
/// When the key last rotated (time; empty: never).
pub const CKA_PQHSM_ROTATED_AT: AttrType = CKA_PQHSM_BASE + 0x0A;
/// What the key is for (CK_ULONG, [`Purpose`]).
pub const CKA_PQHSM_PURPOSE: AttrType = CKA_PQHSM_BASE + 0x0B;
/// Algorithm name as the CLI spells it (UTF-8, e.g. `ml-dsa-65`).
pub const CKA_PQHSM_ALGORITHM: AttrType = CKA_PQHSM_BASE + 0x0C;
/// When this version last changed state (time).
pub const CKA_PQHSM_STATE_CHANGED_AT: AttrType = CKA_PQHSM_BASE + 0x0D;
/// The key state a cancelled deletion returns to (CK_ULONG; empty unless pending deletion).
pub const CKA_PQHSM_PRIOR_KEY_STATE: AttrType = CKA_PQHSM_BASE + 0x0E;
/// The default key of its purpose (CK_BBOOL).
pub const CKA_PQHSM_DEFAULT: AttrType = CKA_PQHSM_BASE + 0x0F;
/// When the key (its version 1) was created (time).
pub const CKA_PQHSM_KEY_CREATED_AT: AttrType = CKA_PQHSM_BASE + 0x10;

/// Every pqhsm vendor attribute with its name, in number order.
pub const ALL: &[(AttrType, &str)] = &[
    (CKA_PQHSM_KEY_VERSION, "CKA_PQHSM_KEY_VERSION"),
    (CKA_PQHSM_VERSION_STATE, "CKA_PQHSM_VERSION_STATE"),
    (CKA_PQHSM_KEY_STATE, "CKA_PQHSM_KEY_STATE"),
    (CKA_PQHSM_DELETION_DATE, "CKA_PQHSM_DELETION_DATE"),
    (CKA_PQHSM_EXPIRES_AT, "CKA_PQHSM_EXPIRES_AT"),
    (CKA_PQHSM_ROTATION_POLICY, "CKA_PQHSM_ROTATION_POLICY"),
    (CKA_PQHSM_TAGS, "CKA_PQHSM_TAGS"),
    (CKA_PQHSM_DESCRIPTION, "CKA_PQHSM_DESCRIPTION"),
    (CKA_PQHSM_CREATED_AT, "CKA_PQHSM_CREATED_AT"),
    (CKA_PQHSM_ROTATED_AT, "CKA_PQHSM_ROTATED_AT"),
    (CKA_PQHSM_PURPOSE, "CKA_PQHSM_PURPOSE"),
    (CKA_PQHSM_ALGORITHM, "CKA_PQHSM_ALGORITHM"),
    (CKA_PQHSM_STATE_CHANGED_AT, "CKA_PQHSM_STATE_CHANGED_AT"),
    (CKA_PQHSM_PRIOR_KEY_STATE, "CKA_PQHSM_PRIOR_KEY_STATE"),
    (CKA_PQHSM_DEFAULT, "CKA_PQHSM_DEFAULT"),
    (CKA_PQHSM_KEY_CREATED_AT, "CKA_PQHSM_KEY_CREATED_AT"),
];

/// The attributes whose edit in the database must be detected: bound into the AAD of the
/// object's sealed part (see `store::BOUND_ATTRIBUTES`).
pub const BOUND: &[AttrType] = &[
    CKA_PQHSM_KEY_VERSION,
    CKA_PQHSM_VERSION_STATE,
    CKA_PQHSM_KEY_STATE,
    CKA_PQHSM_DELETION_DATE,
    CKA_PQHSM_EXPIRES_AT,
    CKA_PQHSM_PURPOSE,
];

/// Standard attributes of a managed key that only the management layer changes: the name,
/// the version and every usage flag (they follow the lifecycle state).
pub const MANAGED_STANDARD: &[AttrType] = &[
    ck::CKA_LABEL,
    ck::CKA_ID,
    ck::CKA_ENCRYPT,
    ck::CKA_DECRYPT,
    ck::CKA_SIGN,
    ck::CKA_VERIFY,
    ck::CKA_SIGN_RECOVER,
    ck::CKA_VERIFY_RECOVER,
    ck::CKA_WRAP,
    ck::CKA_UNWRAP,
    ck::CKA_DERIVE,
    ck::CKA_ENCAPSULATE,
    ck::CKA_DECAPSULATE,
];

/// A key object carrying a version state is managed by pqhsm.
pub fn is_managed(public: &Attrs) -> bool {
    public.has(CKA_PQHSM_VERSION_STATE)
}

/// The name of a vendor attribute, if it is one of ours.
pub fn name(ty: AttrType) -> Option<&'static str> {
    ALL.iter().find(|(t, _)| *t == ty).map(|(_, n)| *n)
}

/// Encode a time attribute: seconds since the Unix epoch (UTC), 8 bytes big-endian.
pub fn encode_time(secs: Option<u64>) -> Vec<u8> {
    secs.map(|s| s.to_be_bytes().to_vec()).unwrap_or_default()
}

/// Decode a time attribute; empty (or malformed) reads as "not set".
pub fn decode_time(v: &[u8]) -> Option<u64> {
    let b: [u8; 8] = v.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}

/// Whether a key in `state` with expiry `expires_at` (time) is expired at `now()`: it says
/// so, or its expiry time has passed. The clock is read only for a key that has an expiry.
pub fn is_expired(state: KeyState, expires_at: Option<u64>, now: impl FnOnce() -> u64) -> bool {
    state == KeyState::Expired || expires_at.is_some_and(|t| t <= now())
}

/// What every use of a managed key version checks: the two states and the two times that
/// can refuse it. The management layer decodes it on an object's first use and the object
/// keeps it, as an object never changes (C_SetAttributeValue makes a new one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub version: VersionState,
    pub key: KeyState,
    pub deletion_date: Option<u64>,
    pub expires_at: Option<u64>,
}

/// Defines a published CK_ULONG-coded enumeration with its numbers and names.
macro_rules! coded {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $n:literal, $text:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> ck::CK_ULONG {
                match self {
                    $($name::$variant => $n),+
                }
            }

            pub fn from_code(n: ck::CK_ULONG) -> Option<Self> {
                match n {
                    $($n => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The lower-case name the CLI and JSON use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {}: {s}", stringify!($name)))
                })
            }
        }
    };
}

coded! {
    /// The lifecycle state of one key version.
    VersionState {
        Active = 1, "active";
        Retired = 2, "retired";
        Archived = 3, "archived";
        Destroyed = 4, "destroyed";
    }
}

coded! {
    /// The state of a key as a whole (all its versions).
    KeyState {
        Enabled = 1, "enabled";
        Revoked = 2, "revoked";
        PendingDeletion = 3, "pending-deletion";
        Expired = 4, "expired";
        Deleted = 5, "deleted";
    }
}

coded! {
    /// What a key is for; decides its usage flags and operations.
    Purpose {
        Signing = 1, "signing";
        Encryption = 2, "encryption";
        Hmac = 3, "hmac";
        Symmetric = 4, "symmetric";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_in_our_range() {
        for (i, (ty, n)) in ALL.iter().enumerate() {
            assert!(super::super::schema::is_pqhsm_attribute(*ty), "{n}");
            assert!(!ALL[..i].iter().any(|(t, _)| t == ty), "{n} twice");
            assert_eq!(*ty - CKA_PQHSM_BASE, i as AttrType + 1, "{n} out of order");
        }
        for ty in BOUND {
            assert!(name(*ty).is_some());
        }
    }

    #[test]
    fn codes_round_trip() {
        for s in VersionState::ALL {
            assert_eq!(VersionState::from_code(s.code()), Some(*s));
            assert_eq!(VersionState::parse(s.as_str()), Some(*s));
        }
        for s in KeyState::ALL {
            assert_eq!(KeyState::from_code(s.code()), Some(*s));
        }
        assert_eq!(Purpose::parse("hmac"), Some(Purpose::Hmac));
        assert_eq!(VersionState::from_code(0), None);
        assert_eq!(
            decode_time(&encode_time(Some(1_800_000_000))),
            Some(1_800_000_000)
        );
        assert_eq!(decode_time(&encode_time(None)), None);
    }
}
