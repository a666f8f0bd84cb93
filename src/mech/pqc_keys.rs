//! What ML-KEM, ML-DSA and SLH-DSA keys share as PKCS#11 objects: CKA_PARAMETER_SET, the
//! CKA_PUBLIC_KEY_INFO they carry, and for the two lattice schemes the seed-or-expanded rules
//! of PKCS#11 3.2 and LAMPS PKCS#8. The family modules derive and check keys; this module
//! decides only which attributes go where.

use super::pqc_encoding::{self as enc, PrivateKey, PrivateKeyChoice};
use super::{keys, AttrSource, GeneratedPair, KeyAttrs};
use crate::attr::{Attr, Template};
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A post-quantum key as the object layer sees it.
pub trait PqKey: Sized {
    const KEY_TYPE: ck::CK_KEY_TYPE;
    /// "ML-KEM", "ML-DSA", "SLH-DSA", for messages.
    const ALGORITHM: &'static str;
    fn parameter_set(&self) -> ck::CK_ULONG;
    fn public_bytes(&self) -> &[u8];
    fn is_private(&self) -> bool;
    /// The sealed attributes of a private key (CKA_SEED when known, CKA_VALUE).
    fn secret_attrs(&self) -> Result<Vec<Attr>>;
}

fn spki<K: PqKey>(k: &K) -> Result<Attr> {
    let der = enc::spki_der(K::KEY_TYPE, k.parameter_set(), k.public_bytes())?;
    Ok(Attr::new(ck::CKA_PUBLIC_KEY_INFO, der))
}

/// Attributes of a public key object: CKA_PARAMETER_SET, CKA_VALUE, CKA_PUBLIC_KEY_INFO.
pub fn public_object<K: PqKey>(k: &K) -> Result<Vec<Attr>> {
    Ok(vec![
        Attr::ulong(ck::CKA_PARAMETER_SET, k.parameter_set()),
        Attr::new(ck::CKA_VALUE, k.public_bytes().to_vec()),
        spki(k)?,
    ])
}

/// Attributes of a private key object: parameter set and SPKI in the clear, the key sealed.
pub fn private_object<K: PqKey>(k: &K) -> Result<KeyAttrs> {
    Ok(KeyAttrs {
        public: vec![
            Attr::ulong(ck::CKA_PARAMETER_SET, k.parameter_set()),
            spki(k)?,
        ],
        secret: k.secret_attrs()?,
    })
}

/// Attributes of whichever object `k` is.
pub fn object<K: PqKey>(k: &K) -> Result<KeyAttrs> {
    if k.is_private() {
        private_object(k)
    } else {
        Ok(KeyAttrs {
            public: public_object(k)?,
            secret: Vec::new(),
        })
    }
}

/// C_GenerateKeyPair output for a freshly generated private key.
pub fn generated_pair<K: PqKey>(k: &K) -> Result<GeneratedPair> {
    Ok(GeneratedPair {
        key_type: K::KEY_TYPE,
        public_key: public_object(k)?,
        private_key: private_object(k)?,
    })
}

/// CKA_PARAMETER_SET of a key object or template (PKCS#11 3.2 requires it on both halves).
pub fn parameter_set<K: PqKey>(src: &dyn AttrSource) -> Result<ck::CK_ULONG> {
    keys::ulong_attr(src, ck::CKA_PARAMETER_SET)?.ok_or_else(|| {
        Error::new(
            ErrorKind::TemplateIncomplete,
            format!("an {} key needs CKA_PARAMETER_SET", K::ALGORITHM),
        )
    })
}

/// A OneAsymmetricKey v2 public key must be the one its private key gives.
pub fn check_pkcs8_public<K: PqKey>(k: &K, key: &enc::Pkcs8Key) -> Result<()> {
    match &key.public {
        Some(public) if public.as_slice() != k.public_bytes() => err(
            ErrorKind::WrappedKeyInvalid,
            "the PKCS#8 public key does not belong to its private key",
        ),
        _ => Ok(()),
    }
}

/// ML-KEM and ML-DSA: a private key is a FIPS seed, an expanded key, or both.
pub trait SeededKey: PqKey {
    type Set: Copy;
    fn set_from_ckp(ckp: ck::CK_ULONG) -> Result<Self::Set>;
    fn set_name(set: Self::Set) -> &'static str;
    /// KeyGen_internal from the seed; the seed length is checked here.
    fn from_seed(set: Self::Set, seed: &[u8]) -> Result<Self>;
    /// Parse an expanded private key with the FIPS input checks.
    fn from_expanded(set: Self::Set, expanded: &[u8]) -> Result<Self>;
    fn from_public(set: Self::Set, public: &[u8]) -> Result<Self>;
    fn seed(&self) -> Option<Zeroizing<Vec<u8>>>;
    fn expanded(&self) -> Result<Zeroizing<Vec<u8>>>;

    /// CKA_SEED (when known) and CKA_VALUE, for `PqKey::secret_attrs`.
    fn seeded_secret_attrs(&self) -> Result<Vec<Attr>> {
        let mut secret = Vec::new();
        if let Some(seed) = self.seed() {
            secret.push(Attr::new(ck::CKA_SEED, seed.to_vec()));
        }
        secret.push(Attr::new(ck::CKA_VALUE, self.expanded()?.to_vec()));
        Ok(secret)
    }
}

/// A private key from CKA_SEED and/or CKA_VALUE: derived from the seed when there is one, and
/// a given expanded key must then be exactly the seed's expansion.
pub fn from_parts<K: SeededKey>(
    set: K::Set,
    seed: Option<&[u8]>,
    expanded: Option<&[u8]>,
) -> Result<K> {
    match (seed, expanded) {
        (Some(seed), expanded) => {
            let key = K::from_seed(set, seed)?;
            if let Some(given) = expanded {
                if !bool::from(key.expanded()?.as_slice().ct_eq(given)) {
                    return err(
                        ErrorKind::TemplateInconsistent,
                        format!(
                            "the {} CKA_VALUE is not the private key of its CKA_SEED",
                            K::set_name(set)
                        ),
                    );
                }
            }
            Ok(key)
        }
        (None, Some(expanded)) => K::from_expanded(set, expanded),
        (None, None) => err(
            ErrorKind::TemplateIncomplete,
            format!(
                "an {} private key needs CKA_SEED or CKA_VALUE (the expanded key)",
                K::ALGORITHM
            ),
        ),
    }
}

/// Parse a stored key object. A stored seed is preferred: deriving from it needs no checks.
pub fn load<K: SeededKey>(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<K> {
    let set = K::set_from_ckp(parameter_set::<K>(src)?)?;
    if class == ck::CKO_PUBLIC_KEY {
        return K::from_public(set, keys::required(src, ck::CKA_VALUE)?);
    }
    match src.attr(ck::CKA_SEED) {
        Some(seed) => K::from_seed(set, seed),
        None => from_parts(set, None, src.attr(ck::CKA_VALUE)),
    }
}

/// C_CreateObject / C_UnwrapKey: validate and complete a key template.
pub fn check_import<K: SeededKey>(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    let set = K::set_from_ckp(parameter_set::<K>(t)?)?;
    let key: K = if class == ck::CKO_PUBLIC_KEY {
        K::from_public(set, keys::required(t, ck::CKA_VALUE)?)?
    } else {
        from_parts(set, t.get(ck::CKA_SEED), t.get(ck::CKA_VALUE))?
    };
    object(&key)
}

/// PKCS#8: the seed form when the seed is known (LAMPS prefers it), the expanded form else.
pub fn to_pkcs8<K: SeededKey>(k: &K) -> Result<Zeroizing<Vec<u8>>> {
    let choice = match k.seed() {
        Some(seed) => PrivateKeyChoice::Seed(seed),
        None => PrivateKeyChoice::Expanded(k.expanded()?),
    };
    enc::pkcs8_der(K::KEY_TYPE, k.parameter_set(), &PrivateKey::Lattice(choice))
}

/// Attributes of a decoded PKCS#8 key in any of the three LAMPS forms.
pub fn from_pkcs8<K: SeededKey>(key: &enc::Pkcs8Key) -> Result<KeyAttrs> {
    let set = K::set_from_ckp(key.parameter_set)?;
    let PrivateKey::Lattice(choice) = &key.private else {
        return err(
            ErrorKind::WrappedKeyInvalid,
            format!(
                "an {} PKCS#8 key holds the LAMPS private key CHOICE",
                K::ALGORITHM
            ),
        );
    };
    let k: K = from_parts(set, choice.seed(), choice.expanded())
        .map_err(|e| Error::new(ErrorKind::WrappedKeyInvalid, e.message()))?;
    check_pkcs8_public(&k, key)?;
    object(&k)
}
