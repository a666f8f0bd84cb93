//! ML-KEM (FIPS 203) for CKK_ML_KEM: key pair generation, C_EncapsulateKey/C_DecapsulateKey
//! (CKM_ML_KEM), key import checks (seed d‖z, expanded decapsulation key, or both) and PKCS#8.
//! Decapsulation of a well-sized but bad ciphertext never fails: it yields the FIPS 203
//! implicit-rejection secret, so nothing about the ciphertext leaks through an error.

#![allow(deprecated)] // ExpandedKeyEncoding: PKCS#11 3.2 keeps the expanded key in CKA_VALUE.

use super::family::Family;
use super::params::Mechanism;
use super::pqc_encoding::{self as enc, PrivateKey, PrivateKeyChoice};
use super::{keys, AttrSource, GeneratedPair, KeyAttrs, KeyMaterial};
use crate::attr::{Attr, Template};
use crate::error::{err, Error, ErrorKind, Result};
use crate::rng::CoreRng;
use cryptoki_sys as ck;
use hybrid_array::Array;
use ml_kem::kem::{Decapsulate, Encapsulate, KeyExport};
use ml_kem::{
    DecapsulationKey, EncapsulationKey, ExpandedKeyEncoding, MlKem1024, MlKem512, MlKem768,
};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Seed d‖z, 64 bytes for every parameter set.
pub const SEED_LEN: usize = 64;
/// Shared secret length for every parameter set.
pub const SHARED_SECRET_LEN: usize = 32;

/// An ML-KEM parameter set with its FIPS 203 sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlKemSet {
    MlKem512,
    MlKem768,
    MlKem1024,
}

impl MlKemSet {
    pub const ALL: [MlKemSet; 3] = [MlKemSet::MlKem512, MlKemSet::MlKem768, MlKemSet::MlKem1024];

    pub fn from_ckp(ckp: ck::CK_ULONG) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.ckp() == ckp)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ParameterSetNotSupported,
                    format!("ML-KEM parameter set {ckp} is not one of CKP_ML_KEM_512/768/1024"),
                )
            })
    }
    pub fn ckp(self) -> ck::CK_ULONG {
        match self {
            MlKemSet::MlKem512 => ck::CKP_ML_KEM_512,
            MlKemSet::MlKem768 => ck::CKP_ML_KEM_768,
            MlKemSet::MlKem1024 => ck::CKP_ML_KEM_1024,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            MlKemSet::MlKem512 => "ML-KEM-512",
            MlKemSet::MlKem768 => "ML-KEM-768",
            MlKemSet::MlKem1024 => "ML-KEM-1024",
        }
    }
    /// Encapsulation key (public key) length.
    pub fn public_len(self) -> usize {
        match self {
            MlKemSet::MlKem512 => 800,
            MlKemSet::MlKem768 => 1184,
            MlKemSet::MlKem1024 => 1568,
        }
    }
    /// Expanded decapsulation key length.
    pub fn private_len(self) -> usize {
        match self {
            MlKemSet::MlKem512 => 1632,
            MlKemSet::MlKem768 => 2400,
            MlKemSet::MlKem1024 => 3168,
        }
    }
    pub fn ciphertext_len(self) -> usize {
        match self {
            MlKemSet::MlKem512 => 768,
            MlKemSet::MlKem768 => 1088,
            MlKemSet::MlKem1024 => 1568,
        }
    }
}

/// A decapsulation key of one parameter set, parsed once.
enum Dk {
    K512(Box<DecapsulationKey<MlKem512>>),
    K768(Box<DecapsulationKey<MlKem768>>),
    K1024(Box<DecapsulationKey<MlKem1024>>),
}

enum Ek {
    K512(Box<EncapsulationKey<MlKem512>>),
    K768(Box<EncapsulationKey<MlKem768>>),
    K1024(Box<EncapsulationKey<MlKem1024>>),
}

/// Run `$body` with `$k` bound to the parameter-set-specific key inside `$e`.
macro_rules! each {
    ($e:expr, $T:ident, $k:ident => $body:expr) => {
        match $e {
            $T::K512($k) => $body,
            $T::K768($k) => $body,
            $T::K1024($k) => $body,
        }
    };
}

/// An ML-KEM key as the token holds it: the parsed crate key, so encapsulation and
/// decapsulation never re-expand anything.
pub struct MlKemKey {
    set: MlKemSet,
    inner: Inner,
}

enum Inner {
    Public(Ek),
    Private(Dk),
}

impl MlKemKey {
    pub fn set(&self) -> MlKemSet {
        self.set
    }
    pub fn is_private(&self) -> bool {
        matches!(self.inner, Inner::Private(_))
    }
    /// The encapsulation key bytes (CKA_VALUE of the public key).
    pub fn public_bytes(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Public(ek) => each!(ek, Ek, k => k.to_bytes().to_vec()),
            Inner::Private(dk) => each!(dk, Dk, k => k.encapsulation_key().to_bytes().to_vec()),
        }
    }
    /// Key size for C_GetMechanismInfo: the public key length in bytes (PKCS#11 3.2).
    pub fn size(&self) -> u64 {
        self.set.public_len() as u64
    }

    fn dk(&self) -> Result<&Dk> {
        match &self.inner {
            Inner::Private(dk) => Ok(dk),
            Inner::Public(_) => err(
                ErrorKind::KeyTypeInconsistent,
                "decapsulation needs the ML-KEM private key; this is the public key",
            ),
        }
    }

    /// d‖z when the key was made from its seed.
    fn seed(&self) -> Option<Zeroizing<Vec<u8>>> {
        let dk = self.dk().ok()?;
        each!(dk, Dk, k => k.to_seed().map(|s| Zeroizing::new(s.to_vec())))
    }

    fn expanded(&self) -> Result<Zeroizing<Vec<u8>>> {
        let dk = self.dk()?;
        Ok(each!(dk, Dk, k => Zeroizing::new(k.to_expanded_bytes().to_vec())))
    }

    fn from_seed(set: MlKemSet, seed: &[u8]) -> Result<Self> {
        let seed: [u8; SEED_LEN] = seed.try_into().map_err(|_| {
            Error::new(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "an ML-KEM seed (d‖z) is {SEED_LEN} bytes, got {}",
                    seed.len()
                ),
            )
        })?;
        let seed = Zeroizing::new(seed);
        let a = Array::from(*seed);
        let dk = match set {
            MlKemSet::MlKem512 => Dk::K512(Box::new(DecapsulationKey::from_seed(a))),
            MlKemSet::MlKem768 => Dk::K768(Box::new(DecapsulationKey::from_seed(a))),
            MlKemSet::MlKem1024 => Dk::K1024(Box::new(DecapsulationKey::from_seed(a))),
        };
        Ok(MlKemKey {
            set,
            inner: Inner::Private(dk),
        })
    }

    /// Parse an expanded decapsulation key with the FIPS 203 §7.3 input checks: its length,
    /// and that the hash H(ek) it carries is the hash of the encapsulation key it carries
    /// (which must itself pass the §7.2 modulus check).
    fn from_expanded(set: MlKemSet, bytes: &[u8]) -> Result<Self> {
        let invalid = || {
            Error::new(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "the {} decapsulation key fails the FIPS 203 input check (H(ek) or ek is corrupt)",
                    set.name()
                ),
            )
        };
        if bytes.len() != set.private_len() {
            return err(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "an {} decapsulation key is {} bytes, got {}",
                    set.name(),
                    set.private_len(),
                    bytes.len()
                ),
            );
        }
        macro_rules! parse {
            ($P:ty, $V:ident) => {{
                let a = Zeroizing::new(Array::try_from(bytes).map_err(|_| invalid())?);
                Dk::$V(Box::new(
                    DecapsulationKey::<$P>::from_expanded_bytes(&a).map_err(|_| invalid())?,
                ))
            }};
        }
        let dk = match set {
            MlKemSet::MlKem512 => parse!(MlKem512, K512),
            MlKemSet::MlKem768 => parse!(MlKem768, K768),
            MlKemSet::MlKem1024 => parse!(MlKem1024, K1024),
        };
        Ok(MlKemKey {
            set,
            inner: Inner::Private(dk),
        })
    }

    /// Parse an encapsulation key with the FIPS 203 §7.2 checks (length and modulus).
    fn from_public(set: MlKemSet, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != set.public_len() {
            return err(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "an {} public key is {} bytes, got {}",
                    set.name(),
                    set.public_len(),
                    bytes.len()
                ),
            );
        }
        let invalid = || {
            Error::new(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "the {} public key fails the FIPS 203 modulus check",
                    set.name()
                ),
            )
        };
        macro_rules! parse {
            ($P:ty, $V:ident) => {{
                let a = Array::try_from(bytes).map_err(|_| invalid())?;
                Ek::$V(Box::new(
                    EncapsulationKey::<$P>::new(&a).map_err(|_| invalid())?,
                ))
            }};
        }
        let ek = match set {
            MlKemSet::MlKem512 => parse!(MlKem512, K512),
            MlKemSet::MlKem768 => parse!(MlKem768, K768),
            MlKemSet::MlKem1024 => parse!(MlKem1024, K1024),
        };
        Ok(MlKemKey {
            set,
            inner: Inner::Public(ek),
        })
    }

    /// Private key from CKA_SEED and/or CKA_VALUE: derive from the seed when there is one and
    /// require a given expanded key to be exactly the seed's expansion.
    fn from_parts(set: MlKemSet, seed: Option<&[u8]>, expanded: Option<&[u8]>) -> Result<Self> {
        match (seed, expanded) {
            (Some(seed), expanded) => {
                let key = Self::from_seed(set, seed)?;
                if let Some(given) = expanded {
                    let derived = key.expanded()?;
                    if !bool::from(derived.as_slice().ct_eq(given)) {
                        return err(
                            ErrorKind::TemplateInconsistent,
                            format!(
                                "the {} CKA_VALUE is not the decapsulation key of its CKA_SEED",
                                set.name()
                            ),
                        );
                    }
                }
                Ok(key)
            }
            (None, Some(expanded)) => Self::from_expanded(set, expanded),
            (None, None) => err(
                ErrorKind::TemplateIncomplete,
                "an ML-KEM private key needs CKA_SEED (d‖z) or CKA_VALUE (the decapsulation key)",
            ),
        }
    }

    /// Attributes of the public key object: CKA_PARAMETER_SET, CKA_VALUE, CKA_PUBLIC_KEY_INFO.
    fn public_attrs(&self) -> Result<Vec<Attr>> {
        let public = self.public_bytes();
        let info = enc::spki_der(ck::CKK_ML_KEM, self.set.ckp(), &public)?;
        Ok(vec![
            Attr::ulong(ck::CKA_PARAMETER_SET, self.set.ckp()),
            Attr::new(ck::CKA_VALUE, public),
            Attr::new(ck::CKA_PUBLIC_KEY_INFO, info),
        ])
    }

    /// Attributes of the private key object: parameter set and SPKI in the clear, CKA_SEED
    /// (when known) and CKA_VALUE sealed.
    fn private_attrs(&self) -> Result<KeyAttrs> {
        let info = enc::spki_der(ck::CKK_ML_KEM, self.set.ckp(), &self.public_bytes())?;
        let mut secret = Vec::new();
        if let Some(seed) = self.seed() {
            secret.push(Attr::new(ck::CKA_SEED, seed.to_vec()));
        }
        secret.push(Attr::new(ck::CKA_VALUE, self.expanded()?.to_vec()));
        Ok(KeyAttrs {
            public: vec![
                Attr::ulong(ck::CKA_PARAMETER_SET, self.set.ckp()),
                Attr::new(ck::CKA_PUBLIC_KEY_INFO, info),
            ],
            secret,
        })
    }

    fn attrs(&self) -> Result<KeyAttrs> {
        if self.is_private() {
            self.private_attrs()
        } else {
            Ok(KeyAttrs {
                public: self.public_attrs()?,
                secret: Vec::new(),
            })
        }
    }

    /// ML-KEM.Encaps with randomness from `rng`: (ciphertext, shared secret).
    pub(crate) fn encapsulate_with(
        &self,
        rng: &mut impl CryptoRng,
    ) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
        let Inner::Public(ek) = &self.inner else {
            return err(
                ErrorKind::KeyTypeInconsistent,
                "encapsulation takes the ML-KEM public key; this is the private key",
            );
        };
        Ok(each!(ek, Ek, k => {
            let (ct, ss) = k.encapsulate_with_rng(rng);
            (ct.to_vec(), Zeroizing::new(ss.to_vec()))
        }))
    }

    /// ML-KEM.Decaps. Only the ciphertext length can make it fail.
    pub(crate) fn decapsulate(&self, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let dk = self.dk()?;
        if ct.len() != self.set.ciphertext_len() {
            return err(
                ErrorKind::EncryptedDataLenRange,
                format!(
                    "an {} ciphertext is {} bytes, got {}",
                    self.set.name(),
                    self.set.ciphertext_len(),
                    ct.len()
                ),
            );
        }
        let bad_len = || Error::new(ErrorKind::EncryptedDataLenRange, "ciphertext length");
        Ok(each!(dk, Dk, k => {
            let ct = Array::try_from(ct).map_err(|_| bad_len())?;
            Zeroizing::new(k.decapsulate(&ct).to_vec())
        }))
    }
}

/// The CKM_ML_KEM_KEY_PAIR_GEN / CKM_ML_KEM family.
#[derive(Debug)]
pub struct MlKem;

fn key_of(k: &KeyMaterial) -> Result<&MlKemKey> {
    match k {
        KeyMaterial::MlKem(k) => Ok(k),
        _ => err(
            ErrorKind::KeyTypeInconsistent,
            "CKM_ML_KEM needs an ML-KEM key",
        ),
    }
}

impl Family for MlKem {
    fn generate_key_pair(
        &self,
        _m: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<GeneratedPair> {
        let set = MlKemSet::from_ckp(keys::pair_parameter_set(public, private, "ML-KEM")?)?;
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        crate::rng::fill_bytes(seed.as_mut());
        let key = MlKemKey::from_seed(set, seed.as_ref())?;
        Ok(GeneratedPair {
            key_type: ck::CKK_ML_KEM,
            public_key: key.public_attrs()?,
            private_key: key.private_attrs()?,
        })
    }

    fn encapsulate(
        &self,
        _m: &Mechanism,
        public: &KeyMaterial,
    ) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
        key_of(public)?.encapsulate_with(&mut CoreRng)
    }

    fn ciphertext_len(&self, _m: &Mechanism, public: &KeyMaterial) -> Result<usize> {
        Ok(key_of(public)?.set.ciphertext_len())
    }

    fn decapsulate(
        &self,
        _m: &Mechanism,
        private: &KeyMaterial,
        ct: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        key_of(private)?.decapsulate(ct)
    }
}

fn set_of(src: &dyn AttrSource) -> Result<MlKemSet> {
    let Some(ckp) = keys::ulong_attr(src, ck::CKA_PARAMETER_SET)? else {
        return err(
            ErrorKind::TemplateIncomplete,
            "an ML-KEM key needs CKA_PARAMETER_SET (CKP_ML_KEM_512/768/1024)",
        );
    };
    MlKemSet::from_ckp(ckp)
}

/// Parse a stored key object. The store only holds keys that passed `check_import` or were
/// generated here; a stored seed is preferred because deriving from it needs no checks.
pub fn load(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<MlKemKey> {
    let set = set_of(src)?;
    if class == ck::CKO_PUBLIC_KEY {
        return MlKemKey::from_public(set, keys::required(src, ck::CKA_VALUE)?);
    }
    match src.attr(ck::CKA_SEED) {
        Some(seed) => MlKemKey::from_seed(set, seed),
        None => MlKemKey::from_parts(set, None, src.attr(ck::CKA_VALUE)),
    }
}

/// C_CreateObject / C_UnwrapKey: validate and complete an ML-KEM key template.
pub fn check_import(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    let set = set_of(t)?;
    let key = if class == ck::CKO_PUBLIC_KEY {
        MlKemKey::from_public(set, keys::required(t, ck::CKA_VALUE)?)?
    } else {
        MlKemKey::from_parts(set, t.get(ck::CKA_SEED), t.get(ck::CKA_VALUE))?
    };
    key.attrs()
}

/// PKCS#8 of a private key: the seed form when the seed is known (LAMPS prefers it), the
/// expanded form otherwise.
pub fn to_pkcs8(k: &MlKemKey) -> Result<Zeroizing<Vec<u8>>> {
    k.dk()?;
    let choice = match k.seed() {
        Some(seed) => PrivateKeyChoice::Seed(seed),
        None => PrivateKeyChoice::Expanded(k.expanded()?),
    };
    enc::pkcs8_der(ck::CKK_ML_KEM, k.set.ckp(), &PrivateKey::Lattice(choice))
}

/// Attributes of a decoded PKCS#8 ML-KEM key (any of the three LAMPS forms).
pub fn from_pkcs8(key: &enc::Pkcs8Key) -> Result<KeyAttrs> {
    let set = MlKemSet::from_ckp(key.parameter_set)?;
    let PrivateKey::Lattice(choice) = &key.private else {
        return err(
            ErrorKind::WrappedKeyInvalid,
            "an ML-KEM PKCS#8 key must hold the LAMPS private key CHOICE",
        );
    };
    let k = MlKemKey::from_parts(set, choice.seed(), choice.expanded())
        .map_err(|e| Error::new(ErrorKind::WrappedKeyInvalid, e.message()))?;
    if let Some(public) = &key.public {
        if *public != k.public_bytes() {
            return err(
                ErrorKind::WrappedKeyInvalid,
                "the PKCS#8 public key does not belong to its private key",
            );
        }
    }
    k.attrs()
}

#[cfg(test)]
mod tests;
