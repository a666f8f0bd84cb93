//! Object kinds declared once: for each class (and key type where it matters) which
//! attributes exist, their value type, default, and the PKCS#11 rules (required at
//! creation, never settable, sensitive, modifiable, one-way). Template checks,
//! C_GetAttributeValue, C_SetAttributeValue and C_CopyObject all read only these tables.

use crate::attr::AttrType;
use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;

/// How an attribute's bytes must look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValType {
    Bool,
    Ulong,
    Bytes,
    /// CK_DATE: 8 ASCII digits, or empty.
    Date,
}

/// The value an attribute takes when the template does not give one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dflt {
    None,
    False,
    True,
    Empty,
    Ulong(ck::CK_ULONG),
    /// TRUE when some mechanism of the table uses this key type for the function.
    Usage,
}

/// Rule flags (the footnotes of the PKCS#11 3.0 attribute tables).
pub mod f {
    /// Must be in a C_CreateObject template (footnote 1).
    pub const REQ_CREATE: u16 = 1 << 0;
    /// Computed by the token; never in any template (footnotes 2, 4, 6).
    pub const COMPUTED: u16 = 1 << 1;
    /// Must not be in a C_GenerateKey(Pair) template (footnote 4).
    pub const NO_GENERATE: u16 = 1 << 2;
    /// Must not be in an unwrap / derive / decapsulate template (footnote 6).
    pub const NO_UNWRAP: u16 = 1 << 3;
    /// Secret: sealed, readable only when the key is extractable and not sensitive (footnote 7).
    pub const SECRET: u16 = 1 << 4;
    /// May be changed by C_SetAttributeValue and C_CopyObject (footnote 8).
    pub const MODIFIABLE: u16 = 1 << 5;
    /// May be changed by C_CopyObject only.
    pub const COPY_CHANGE: u16 = 1 << 6;
    /// Can only be set to TRUE by the SO (footnote 10).
    pub const SO_TRUE: u16 = 1 << 7;
    /// Once TRUE stays TRUE (footnote 11).
    pub const ONLY_TO_TRUE: u16 = 1 << 8;
    /// Once FALSE stays FALSE (footnote 12).
    pub const ONLY_TO_FALSE: u16 = 1 << 9;
    /// Part of the key material: validated and completed by `mech::keys`, not by us.
    pub const KEY_PART: u16 = 1 << 10;
}

/// One attribute of an object kind.
#[derive(Clone, Copy, Debug)]
pub struct AttrRule {
    pub ty: AttrType,
    pub val: ValType,
    pub dflt: Dflt,
    pub flags: u16,
}

impl AttrRule {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

const fn r(ty: AttrType, val: ValType, dflt: Dflt, flags: u16) -> AttrRule {
    AttrRule {
        ty,
        val,
        dflt,
        flags,
    }
}

use f::*;
use Dflt as D;
use ValType::*;

const COMMON: &[AttrRule] = &[r(ck::CKA_CLASS, Ulong, D::None, REQ_CREATE)];

const STORAGE: &[AttrRule] = &[
    r(ck::CKA_TOKEN, Bool, D::False, COPY_CHANGE),
    // CKA_PRIVATE's default depends on the class; see `Kind::private_default`.
    r(ck::CKA_PRIVATE, Bool, D::None, COPY_CHANGE),
    r(ck::CKA_MODIFIABLE, Bool, D::True, COPY_CHANGE),
    r(ck::CKA_LABEL, Bytes, D::Empty, MODIFIABLE),
    r(ck::CKA_COPYABLE, Bool, D::True, MODIFIABLE | ONLY_TO_FALSE),
    r(ck::CKA_DESTROYABLE, Bool, D::True, COPY_CHANGE),
    r(ck::CKA_UNIQUE_ID, Bytes, D::None, COMPUTED),
];

const DATA: &[AttrRule] = &[
    r(ck::CKA_APPLICATION, Bytes, D::Empty, 0),
    r(ck::CKA_OBJECT_ID, Bytes, D::Empty, 0),
    r(ck::CKA_VALUE, Bytes, D::Empty, 0),
];

const CERTIFICATE: &[AttrRule] = &[
    r(ck::CKA_CERTIFICATE_TYPE, Ulong, D::None, REQ_CREATE),
    r(ck::CKA_TRUSTED, Bool, D::False, SO_TRUE),
    r(ck::CKA_CERTIFICATE_CATEGORY, Ulong, D::Ulong(0), 0),
    r(ck::CKA_CHECK_VALUE, Bytes, D::None, 0),
    r(ck::CKA_START_DATE, Date, D::Empty, MODIFIABLE),
    r(ck::CKA_END_DATE, Date, D::Empty, MODIFIABLE),
    r(ck::CKA_PUBLIC_KEY_INFO, Bytes, D::Empty, 0),
];

const X509: &[AttrRule] = &[
    r(ck::CKA_SUBJECT, Bytes, D::None, REQ_CREATE),
    r(ck::CKA_ID, Bytes, D::Empty, MODIFIABLE),
    r(ck::CKA_ISSUER, Bytes, D::Empty, MODIFIABLE),
    r(ck::CKA_SERIAL_NUMBER, Bytes, D::Empty, MODIFIABLE),
    r(ck::CKA_VALUE, Bytes, D::None, REQ_CREATE),
    r(ck::CKA_URL, Bytes, D::Empty, 0),
    r(ck::CKA_HASH_OF_SUBJECT_PUBLIC_KEY, Bytes, D::Empty, 0),
    r(ck::CKA_HASH_OF_ISSUER_PUBLIC_KEY, Bytes, D::Empty, 0),
    r(ck::CKA_JAVA_MIDP_SECURITY_DOMAIN, Ulong, D::Ulong(0), 0),
    r(ck::CKA_NAME_HASH_ALGORITHM, Ulong, D::None, 0),
];

const KEY: &[AttrRule] = &[
    r(ck::CKA_KEY_TYPE, Ulong, D::None, REQ_CREATE),
    r(ck::CKA_ID, Bytes, D::Empty, MODIFIABLE),
    r(ck::CKA_START_DATE, Date, D::Empty, MODIFIABLE),
    r(ck::CKA_END_DATE, Date, D::Empty, MODIFIABLE),
    r(ck::CKA_DERIVE, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_LOCAL, Bool, D::None, COMPUTED),
    r(ck::CKA_KEY_GEN_MECHANISM, Ulong, D::None, COMPUTED),
];

const PUBLIC_KEY: &[AttrRule] = &[
    r(ck::CKA_SUBJECT, Bytes, D::Empty, MODIFIABLE),
    r(ck::CKA_ENCRYPT, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_VERIFY, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_VERIFY_RECOVER, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_WRAP, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_ENCAPSULATE, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_TRUSTED, Bool, D::False, SO_TRUE),
    r(ck::CKA_PUBLIC_KEY_INFO, Bytes, D::Empty, 0),
];

/// Attributes shared by private and secret keys.
const SENSITIVE_KEY: &[AttrRule] = &[
    r(ck::CKA_SENSITIVE, Bool, D::True, MODIFIABLE | ONLY_TO_TRUE),
    r(
        ck::CKA_EXTRACTABLE,
        Bool,
        D::False,
        MODIFIABLE | ONLY_TO_FALSE,
    ),
    r(ck::CKA_ALWAYS_SENSITIVE, Bool, D::None, COMPUTED),
    r(ck::CKA_NEVER_EXTRACTABLE, Bool, D::None, COMPUTED),
    r(
        ck::CKA_WRAP_WITH_TRUSTED,
        Bool,
        D::False,
        MODIFIABLE | ONLY_TO_TRUE,
    ),
    r(ck::CKA_DECRYPT, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_SIGN, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_UNWRAP, Bool, D::Usage, MODIFIABLE),
];

const PRIVATE_KEY: &[AttrRule] = &[
    r(ck::CKA_SUBJECT, Bytes, D::Empty, MODIFIABLE),
    r(ck::CKA_SIGN_RECOVER, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_DECAPSULATE, Bool, D::Usage, MODIFIABLE),
    // Per-use re-authentication is not offered; only FALSE is accepted (see template).
    r(ck::CKA_ALWAYS_AUTHENTICATE, Bool, D::False, 0),
    r(ck::CKA_PUBLIC_KEY_INFO, Bytes, D::Empty, 0),
];

const SECRET_KEY: &[AttrRule] = &[
    r(ck::CKA_ENCRYPT, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_VERIFY, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_WRAP, Bool, D::Usage, MODIFIABLE),
    r(ck::CKA_TRUSTED, Bool, D::False, SO_TRUE),
    r(ck::CKA_CHECK_VALUE, Bytes, D::None, 0),
];

// ----- key material, per key type -----

const KP: u16 = KEY_PART;
/// A public key part a generator produces: given at creation, never at generation.
const KP_OUT: u16 = KEY_PART | NO_GENERATE | NO_UNWRAP;
/// A secret key part.
const KP_SECRET: u16 = KEY_PART | SECRET | NO_GENERATE | NO_UNWRAP;

const RSA_PUBLIC: &[AttrRule] = &[
    r(ck::CKA_MODULUS, Bytes, D::None, KP_OUT),
    r(ck::CKA_MODULUS_BITS, Ulong, D::None, KP),
    r(ck::CKA_PUBLIC_EXPONENT, Bytes, D::None, KP),
];

const RSA_PRIVATE: &[AttrRule] = &[
    r(ck::CKA_MODULUS, Bytes, D::None, KP_OUT),
    r(ck::CKA_PUBLIC_EXPONENT, Bytes, D::None, KP_OUT),
    r(ck::CKA_PRIVATE_EXPONENT, Bytes, D::None, KP_SECRET),
    r(ck::CKA_PRIME_1, Bytes, D::None, KP_SECRET),
    r(ck::CKA_PRIME_2, Bytes, D::None, KP_SECRET),
    r(ck::CKA_EXPONENT_1, Bytes, D::None, KP_SECRET),
    r(ck::CKA_EXPONENT_2, Bytes, D::None, KP_SECRET),
    r(ck::CKA_COEFFICIENT, Bytes, D::None, KP_SECRET),
];

/// EC, Edwards and Montgomery public keys.
const EC_PUBLIC: &[AttrRule] = &[
    r(ck::CKA_EC_PARAMS, Bytes, D::None, KP),
    r(ck::CKA_EC_POINT, Bytes, D::None, KP_OUT),
];

const EC_PRIVATE: &[AttrRule] = &[
    r(ck::CKA_EC_PARAMS, Bytes, D::None, KP | NO_UNWRAP),
    r(ck::CKA_VALUE, Bytes, D::None, KP_SECRET),
];

/// ML-KEM, ML-DSA and SLH-DSA public keys.
const PQ_PUBLIC: &[AttrRule] = &[
    r(ck::CKA_PARAMETER_SET, Ulong, D::None, KP),
    r(ck::CKA_VALUE, Bytes, D::None, KP_OUT),
];

/// ML-KEM and ML-DSA private keys: the expanded key and the FIPS seed.
const PQ_PRIVATE_SEEDED: &[AttrRule] = &[
    r(ck::CKA_PARAMETER_SET, Ulong, D::None, KP | NO_UNWRAP),
    r(ck::CKA_VALUE, Bytes, D::None, KP_SECRET),
    r(ck::CKA_SEED, Bytes, D::None, KP_SECRET),
];

const SLH_DSA_PRIVATE: &[AttrRule] = &[
    r(ck::CKA_PARAMETER_SET, Ulong, D::None, KP | NO_UNWRAP),
    r(ck::CKA_VALUE, Bytes, D::None, KP_SECRET),
];

const SECRET_VALUE: &[AttrRule] = &[
    r(ck::CKA_VALUE, Bytes, D::None, KP_SECRET),
    r(ck::CKA_VALUE_LEN, Ulong, D::None, KP),
];

/// First vendor attribute of pqhsm (`CKA_VENDOR_DEFINED | 0x0051_0000`); the management
/// layer numbers its attributes from here (see `super::vendor`). Stored on key objects as
/// plain public bytes. The base keeps bit 0x4000_0000 clear: that bit is
/// CKF_ARRAY_ATTRIBUTE, and a vendor number carrying it would tell every client its value
/// is an array of CK_ATTRIBUTE.
pub const CKA_PQHSM_BASE: AttrType = ck::CKA_VENDOR_DEFINED | 0x0051_0000;

pub fn is_pqhsm_attribute(ty: AttrType) -> bool {
    ty & !0xFFFF == CKA_PQHSM_BASE
}

/// The management attributes of every key: readable by clients, set only by the management
/// layer (never in a template, never by C_SetAttributeValue).
const PQHSM_KEY: &[AttrRule] = {
    use super::vendor::*;
    &[
        r(CKA_PQHSM_KEY_VERSION, Ulong, D::None, COMPUTED),
        r(CKA_PQHSM_VERSION_STATE, Ulong, D::None, COMPUTED),
        r(CKA_PQHSM_KEY_STATE, Ulong, D::None, COMPUTED),
        r(CKA_PQHSM_DELETION_DATE, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_EXPIRES_AT, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_ROTATION_POLICY, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_TAGS, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_DESCRIPTION, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_CREATED_AT, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_ROTATED_AT, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_PURPOSE, Ulong, D::None, COMPUTED),
        r(CKA_PQHSM_ALGORITHM, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_STATE_CHANGED_AT, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_PRIOR_KEY_STATE, Bytes, D::None, COMPUTED),
        r(CKA_PQHSM_DEFAULT, Bool, D::None, COMPUTED),
        r(CKA_PQHSM_KEY_CREATED_AT, Bytes, D::None, COMPUTED),
    ]
};

/// An object kind: a class, optionally narrowed by key or certificate type.
#[derive(Debug)]
pub struct Kind {
    pub name: &'static str,
    pub class: ck::CK_OBJECT_CLASS,
    /// Key type for key classes, certificate type for certificates.
    pub sub: Option<ck::CK_ULONG>,
    groups: &'static [&'static [AttrRule]],
}

impl Kind {
    /// The rule for `ty`, if this kind has such an attribute.
    pub fn rule(&self, ty: AttrType) -> Option<AttrRule> {
        self.rules().find(|r| r.ty == ty)
    }

    /// Every declared attribute (each once; a test holds the tables to that).
    pub fn rules(&self) -> impl Iterator<Item = AttrRule> + '_ {
        self.groups.iter().flat_map(|g| g.iter()).copied()
    }

    pub fn is_key(&self) -> bool {
        matches!(
            self.class,
            ck::CKO_PUBLIC_KEY | ck::CKO_PRIVATE_KEY | ck::CKO_SECRET_KEY
        )
    }

    /// Private and secret keys: the kinds with secret parts and the sensitivity rules.
    pub fn is_sensitive_kind(&self) -> bool {
        matches!(self.class, ck::CKO_PRIVATE_KEY | ck::CKO_SECRET_KEY)
    }

    /// CKA_PRIVATE when the template does not say: keys with secrets need a login.
    pub fn private_default(&self) -> bool {
        self.is_sensitive_kind()
    }
}

/// A public, private or secret key kind: the key groups plus the key type's own.
macro_rules! key_kind {
    (public $name:expr, $ty:expr, $own:expr) => {
        Kind {
            name: $name,
            class: ck::CKO_PUBLIC_KEY,
            sub: Some($ty),
            groups: &[COMMON, STORAGE, KEY, PUBLIC_KEY, $own, PQHSM_KEY],
        }
    };
    (private $name:expr, $ty:expr, $own:expr) => {
        Kind {
            name: $name,
            class: ck::CKO_PRIVATE_KEY,
            sub: Some($ty),
            groups: &[
                COMMON,
                STORAGE,
                KEY,
                SENSITIVE_KEY,
                PRIVATE_KEY,
                $own,
                PQHSM_KEY,
            ],
        }
    };
    (secret $name:expr, $ty:expr) => {
        Kind {
            name: $name,
            class: ck::CKO_SECRET_KEY,
            sub: Some($ty),
            groups: &[
                COMMON,
                STORAGE,
                KEY,
                SENSITIVE_KEY,
                SECRET_KEY,
                SECRET_VALUE,
                PQHSM_KEY,
            ],
        }
    };
}

#[rustfmt::skip]
static KINDS: &[Kind] = &[
    Kind { name: "data object", class: ck::CKO_DATA, sub: None, groups: &[COMMON, STORAGE, DATA] },
    Kind { name: "X.509 certificate", class: ck::CKO_CERTIFICATE, sub: Some(ck::CKC_X_509), groups: &[COMMON, STORAGE, CERTIFICATE, X509] },
    key_kind!(public "RSA public key", ck::CKK_RSA, RSA_PUBLIC),
    key_kind!(private "RSA private key", ck::CKK_RSA, RSA_PRIVATE),
    key_kind!(public "EC public key", ck::CKK_EC, EC_PUBLIC),
    key_kind!(private "EC private key", ck::CKK_EC, EC_PRIVATE),
    key_kind!(public "Edwards public key", ck::CKK_EC_EDWARDS, EC_PUBLIC),
    key_kind!(private "Edwards private key", ck::CKK_EC_EDWARDS, EC_PRIVATE),
    key_kind!(public "Montgomery public key", ck::CKK_EC_MONTGOMERY, EC_PUBLIC),
    key_kind!(private "Montgomery private key", ck::CKK_EC_MONTGOMERY, EC_PRIVATE),
    key_kind!(public "ML-KEM public key", ck::CKK_ML_KEM, PQ_PUBLIC),
    key_kind!(private "ML-KEM private key", ck::CKK_ML_KEM, PQ_PRIVATE_SEEDED),
    key_kind!(public "ML-DSA public key", ck::CKK_ML_DSA, PQ_PUBLIC),
    key_kind!(private "ML-DSA private key", ck::CKK_ML_DSA, PQ_PRIVATE_SEEDED),
    key_kind!(public "SLH-DSA public key", ck::CKK_SLH_DSA, PQ_PUBLIC),
    key_kind!(private "SLH-DSA private key", ck::CKK_SLH_DSA, SLH_DSA_PRIVATE),
    key_kind!(secret "AES key", ck::CKK_AES),
    key_kind!(secret "generic secret key", ck::CKK_GENERIC_SECRET),
    key_kind!(secret "HKDF key", ck::CKK_HKDF),
    key_kind!(secret "SHA-1 HMAC key", ck::CKK_SHA_1_HMAC),
    key_kind!(secret "SHA-224 HMAC key", ck::CKK_SHA224_HMAC),
    key_kind!(secret "SHA-256 HMAC key", ck::CKK_SHA256_HMAC),
    key_kind!(secret "SHA-384 HMAC key", ck::CKK_SHA384_HMAC),
    key_kind!(secret "SHA-512 HMAC key", ck::CKK_SHA512_HMAC),
    key_kind!(secret "SHA3-224 HMAC key", ck::CKK_SHA3_224_HMAC),
    key_kind!(secret "SHA3-256 HMAC key", ck::CKK_SHA3_256_HMAC),
    key_kind!(secret "SHA3-384 HMAC key", ck::CKK_SHA3_384_HMAC),
    key_kind!(secret "SHA3-512 HMAC key", ck::CKK_SHA3_512_HMAC),
];

/// Every kind of object the token holds.
pub fn kinds() -> impl Iterator<Item = &'static Kind> {
    KINDS.iter()
}

/// The kind for a class and (for keys) key type / (for certificates) certificate type.
pub fn kind(class: ck::CK_OBJECT_CLASS, sub: Option<ck::CK_ULONG>) -> Result<&'static Kind> {
    let narrowed = matches!(
        class,
        ck::CKO_CERTIFICATE | ck::CKO_PUBLIC_KEY | ck::CKO_PRIVATE_KEY | ck::CKO_SECRET_KEY
    );
    if !narrowed {
        return KINDS.iter().find(|k| k.class == class && k.sub.is_none()).ok_or_else(|| {
            crate::Error::new(
                ErrorKind::AttributeValueInvalid,
                format!("object class {class:#x} is not supported: use data, certificate or key objects"),
            )
        });
    }
    let Some(sub) = sub else {
        let what = if class == ck::CKO_CERTIFICATE {
            "CKA_CERTIFICATE_TYPE"
        } else {
            "CKA_KEY_TYPE"
        };
        return err(
            ErrorKind::TemplateIncomplete,
            format!("the template must give {what}"),
        );
    };
    KINDS
        .iter()
        .find(|k| k.class == class && k.sub == Some(sub))
        .ok_or_else(|| {
            let what = if class == ck::CKO_CERTIFICATE {
                format!("certificate type {sub:#x} is not supported (only CKC_X_509)")
            } else {
                format!("key type {sub:#x} is not supported for object class {class:#x}")
            };
            crate::Error::new(ErrorKind::AttributeValueInvalid, what)
        })
}

/// A readable name for messages.
pub fn attr_name(ty: AttrType) -> String {
    let name = match ty {
        ck::CKA_CLASS => "CKA_CLASS",
        ck::CKA_TOKEN => "CKA_TOKEN",
        ck::CKA_PRIVATE => "CKA_PRIVATE",
        ck::CKA_LABEL => "CKA_LABEL",
        ck::CKA_UNIQUE_ID => "CKA_UNIQUE_ID",
        ck::CKA_VALUE => "CKA_VALUE",
        ck::CKA_KEY_TYPE => "CKA_KEY_TYPE",
        ck::CKA_ID => "CKA_ID",
        ck::CKA_SENSITIVE => "CKA_SENSITIVE",
        ck::CKA_EXTRACTABLE => "CKA_EXTRACTABLE",
        ck::CKA_ENCRYPT => "CKA_ENCRYPT",
        ck::CKA_DECRYPT => "CKA_DECRYPT",
        ck::CKA_WRAP => "CKA_WRAP",
        ck::CKA_UNWRAP => "CKA_UNWRAP",
        ck::CKA_SIGN => "CKA_SIGN",
        ck::CKA_VERIFY => "CKA_VERIFY",
        ck::CKA_DERIVE => "CKA_DERIVE",
        ck::CKA_ENCAPSULATE => "CKA_ENCAPSULATE",
        ck::CKA_DECAPSULATE => "CKA_DECAPSULATE",
        ck::CKA_LOCAL => "CKA_LOCAL",
        ck::CKA_ALWAYS_SENSITIVE => "CKA_ALWAYS_SENSITIVE",
        ck::CKA_NEVER_EXTRACTABLE => "CKA_NEVER_EXTRACTABLE",
        ck::CKA_KEY_GEN_MECHANISM => "CKA_KEY_GEN_MECHANISM",
        ck::CKA_MODIFIABLE => "CKA_MODIFIABLE",
        ck::CKA_COPYABLE => "CKA_COPYABLE",
        ck::CKA_DESTROYABLE => "CKA_DESTROYABLE",
        ck::CKA_VALUE_LEN => "CKA_VALUE_LEN",
        ck::CKA_MODULUS => "CKA_MODULUS",
        ck::CKA_MODULUS_BITS => "CKA_MODULUS_BITS",
        ck::CKA_PUBLIC_EXPONENT => "CKA_PUBLIC_EXPONENT",
        ck::CKA_PRIVATE_EXPONENT => "CKA_PRIVATE_EXPONENT",
        ck::CKA_EC_PARAMS => "CKA_EC_PARAMS",
        ck::CKA_EC_POINT => "CKA_EC_POINT",
        ck::CKA_PARAMETER_SET => "CKA_PARAMETER_SET",
        ck::CKA_SEED => "CKA_SEED",
        ck::CKA_TRUSTED => "CKA_TRUSTED",
        ck::CKA_WRAP_WITH_TRUSTED => "CKA_WRAP_WITH_TRUSTED",
        ck::CKA_ALWAYS_AUTHENTICATE => "CKA_ALWAYS_AUTHENTICATE",
        ck::CKA_SUBJECT => "CKA_SUBJECT",
        ck::CKA_CERTIFICATE_TYPE => "CKA_CERTIFICATE_TYPE",
        _ => match super::vendor::name(ty) {
            Some(n) => n,
            None => return format!("attribute {ty:#x}"),
        },
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_declares_each_attribute_once() {
        for k in KINDS {
            let rules: Vec<AttrRule> = k.rules().collect();
            for (i, r) in rules.iter().enumerate() {
                assert!(
                    !rules[..i].iter().any(|e| e.ty == r.ty),
                    "{}: {} twice",
                    k.name,
                    attr_name(r.ty)
                );
            }
            assert!(
                k.rule(ck::CKA_CLASS).is_some() && k.rule(ck::CKA_UNIQUE_ID).is_some(),
                "{}",
                k.name
            );
        }
        let data = kind(ck::CKO_DATA, None).unwrap();
        assert!(!data.rule(ck::CKA_VALUE).unwrap().has(SECRET));
        let aes = kind(ck::CKO_SECRET_KEY, Some(ck::CKK_AES)).unwrap();
        assert!(aes.rule(ck::CKA_VALUE).unwrap().has(SECRET));
        let ec_pub = kind(ck::CKO_PUBLIC_KEY, Some(ck::CKK_EC)).unwrap();
        assert!(ec_pub.rule(ck::CKA_SIGN).is_none());
        assert!(ec_pub.rule(ck::CKA_PRIME_1).is_none());
    }

    #[test]
    fn every_private_component_is_secret() {
        let rsa = kind(ck::CKO_PRIVATE_KEY, Some(ck::CKK_RSA)).unwrap();
        for ty in [
            ck::CKA_PRIVATE_EXPONENT,
            ck::CKA_PRIME_1,
            ck::CKA_PRIME_2,
            ck::CKA_EXPONENT_1,
            ck::CKA_EXPONENT_2,
            ck::CKA_COEFFICIENT,
        ] {
            assert!(rsa.rule(ty).unwrap().has(SECRET), "{}", attr_name(ty));
        }
        assert!(!rsa.rule(ck::CKA_MODULUS).unwrap().has(SECRET));
        let mldsa = kind(ck::CKO_PRIVATE_KEY, Some(ck::CKK_ML_DSA)).unwrap();
        assert!(mldsa.rule(ck::CKA_SEED).unwrap().has(SECRET));
        let secret_kinds = KINDS.iter().filter(|k| k.is_sensitive_kind());
        for k in secret_kinds {
            assert!(
                k.rules().any(|r| r.has(SECRET)),
                "{} has no secret part",
                k.name
            );
        }
    }

    #[test]
    fn vendor_attributes_only_on_keys() {
        let ty = CKA_PQHSM_BASE + 3;
        assert!(is_pqhsm_attribute(ty));
        assert!(!is_pqhsm_attribute(ck::CKA_VENDOR_DEFINED | 0x1234));
        assert!(kind(ck::CKO_SECRET_KEY, Some(ck::CKK_AES))
            .unwrap()
            .rule(ty)
            .is_some());
        assert!(kind(ck::CKO_DATA, None).unwrap().rule(ty).is_none());
    }

    #[test]
    fn unknown_classes_and_types_are_refused() {
        assert_eq!(
            kind(ck::CKO_HW_FEATURE, None).unwrap_err().kind(),
            ErrorKind::AttributeValueInvalid
        );
        assert_eq!(
            kind(ck::CKO_SECRET_KEY, None).unwrap_err().kind(),
            ErrorKind::TemplateIncomplete
        );
        assert_eq!(
            kind(ck::CKO_SECRET_KEY, Some(ck::CKK_DES3))
                .unwrap_err()
                .kind(),
            ErrorKind::AttributeValueInvalid
        );
    }
}
