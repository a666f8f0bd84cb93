//! ML-KEM (FIPS 203) for CKK_ML_KEM: key pair generation, C_EncapsulateKey/C_DecapsulateKey
//! (CKM_ML_KEM), key import checks (seed d‖z, expanded decapsulation key, or both) and PKCS#8.
//! Decapsulation of a well-sized but bad ciphertext never fails: it yields the FIPS 203
//! implicit-rejection secret, so nothing about the ciphertext leaks through an error.

#![allow(deprecated)] // ExpandedKeyEncoding: PKCS#11 3.2 keeps the expanded key in CKA_VALUE.

use super::family::Family;
use super::params::Mechanism;
use super::pqc_encoding as enc;
use super::pqc_keys::{self, PqKey, SeededKey};
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

/// Parse `bytes` as the crate type of `set`, wrapped in the matching variant of `$T`.
macro_rules! parse_for_set {
    ($set:expr, $T:ident, $bytes:expr, $parse:expr) => {
        match $set {
            MlKemSet::MlKem512 => $T::K512(Box::new($parse(Array::try_from($bytes).ok()?).ok()?)),
            MlKemSet::MlKem768 => $T::K768(Box::new($parse(Array::try_from($bytes).ok()?).ok()?)),
            MlKemSet::MlKem1024 => $T::K1024(Box::new($parse(Array::try_from($bytes).ok()?).ok()?)),
        }
    };
}

/// An ML-KEM key as the token holds it: the parsed crate key, so encapsulation and
/// decapsulation never re-expand anything.
pub struct MlKemKey {
    set: MlKemSet,
    public: Vec<u8>,
    inner: Inner,
    /// aws-lc-rs's decapsulation key, built on first use where the table names it (held in
    /// aws-lc's heap, wiped when freed).
    #[cfg(feature = "aws-lc")]
    aws: std::sync::OnceLock<Option<aws_lc_rs::kem::DecapsulationKey>>,
}

enum Inner {
    Public(Ek),
    Private(Dk),
}

impl MlKemKey {
    pub fn set(&self) -> MlKemSet {
        self.set
    }
    /// Key size for C_GetMechanismInfo: the public key length in bytes (PKCS#11 3.2).
    pub fn size(&self) -> u64 {
        self.set.public_len() as u64
    }

    fn private(set: MlKemSet, dk: Dk) -> Self {
        let public = each!(&dk, Dk, k => k.encapsulation_key().to_bytes().to_vec());
        MlKemKey {
            set,
            public,
            inner: Inner::Private(dk),
            #[cfg(feature = "aws-lc")]
            aws: std::sync::OnceLock::new(),
        }
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

    /// ML-KEM.Decaps. Only the ciphertext length can make it fail: CKR_WRAPPED_KEY_LEN_RANGE,
    /// the code PKCS#11 3.2 lists for C_DecapsulateKey (the ciphertext stands where C_UnwrapKey
    /// has the wrapped key; CKR_ENCRYPTED_DATA_LEN_RANGE is not among its return values).
    pub(crate) fn decapsulate(&self, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let dk = self.dk()?;
        let bad_len = || {
            Error::new(
                ErrorKind::WrappedKeyLenRange,
                format!(
                    "an {} ciphertext is {} bytes, got {}",
                    self.set.name(),
                    self.set.ciphertext_len(),
                    ct.len()
                ),
            )
        };
        if ct.len() != self.set.ciphertext_len() {
            return Err(bad_len());
        }
        #[cfg(feature = "aws-lc")]
        if super::provider::is_aws_lc(super::provider::private(ck::CKM_ML_KEM)) {
            if let Some(ss) = self.aws_decapsulate(ct) {
                return ss;
            }
        }
        Ok(each!(dk, Dk, k => {
            let ct = Array::try_from(ct).map_err(|_| bad_len())?;
            Zeroizing::new(k.decapsulate(&ct).to_vec())
        }))
    }
}

#[cfg(feature = "aws-lc")]
impl MlKemKey {
    /// ML-KEM.Decaps by aws-lc-rs (implicit rejection as FIPS 203 defines it); None when
    /// the key cannot be loaded there.
    fn aws_decapsulate(&self, ct: &[u8]) -> Option<Result<Zeroizing<Vec<u8>>>> {
        use aws_lc_rs::kem;
        let key = self
            .aws
            .get_or_init(|| {
                let alg = match self.set {
                    MlKemSet::MlKem512 => &kem::ML_KEM_512,
                    MlKemSet::MlKem768 => &kem::ML_KEM_768,
                    MlKemSet::MlKem1024 => &kem::ML_KEM_1024,
                };
                kem::DecapsulationKey::new(alg, &self.expanded().ok()?).ok()
            })
            .as_ref()?;
        super::provider::aws_lc_served();
        Some(
            key.decapsulate(kem::Ciphertext::from(ct))
                .map(|ss| Zeroizing::new(ss.as_ref().to_vec()))
                .map_err(|_| Error::new(ErrorKind::FunctionFailed, "ML-KEM decapsulation failed")),
        )
    }
}

fn length_error(set: MlKemSet, what: &str, want: usize, got: usize) -> Error {
    Error::new(
        ErrorKind::AttributeValueInvalid,
        format!("an {} {what} is {want} bytes, got {got}", set.name()),
    )
}

impl PqKey for MlKemKey {
    const KEY_TYPE: ck::CK_KEY_TYPE = ck::CKK_ML_KEM;
    const ALGORITHM: &'static str = "ML-KEM";
    fn parameter_set(&self) -> ck::CK_ULONG {
        self.set.ckp()
    }
    fn public_bytes(&self) -> &[u8] {
        &self.public
    }
    fn is_private(&self) -> bool {
        matches!(self.inner, Inner::Private(_))
    }
    fn secret_attrs(&self) -> Result<Vec<Attr>> {
        self.seeded_secret_attrs()
    }
}

impl SeededKey for MlKemKey {
    type Set = MlKemSet;
    fn set_from_ckp(ckp: ck::CK_ULONG) -> Result<MlKemSet> {
        MlKemSet::from_ckp(ckp)
    }
    fn set_name(set: MlKemSet) -> &'static str {
        set.name()
    }

    /// ML-KEM.KeyGen_internal from d‖z.
    fn from_seed(set: MlKemSet, seed: &[u8]) -> Result<Self> {
        let seed: Zeroizing<[u8; SEED_LEN]> = Zeroizing::new(
            seed.try_into()
                .map_err(|_| length_error(set, "seed (d‖z)", SEED_LEN, seed.len()))?,
        );
        let a = Zeroizing::new(Array::from(*seed));
        let dk = match set {
            MlKemSet::MlKem512 => Dk::K512(Box::new(DecapsulationKey::from_seed(*a))),
            MlKemSet::MlKem768 => Dk::K768(Box::new(DecapsulationKey::from_seed(*a))),
            MlKemSet::MlKem1024 => Dk::K1024(Box::new(DecapsulationKey::from_seed(*a))),
        };
        Ok(Self::private(set, dk))
    }

    /// The FIPS 203 §7.3 input checks: the length, and that the hash H(ek) the key carries is
    /// the hash of the encapsulation key it carries (which must pass the §7.2 modulus check).
    fn from_expanded(set: MlKemSet, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != set.private_len() {
            return Err(length_error(
                set,
                "decapsulation key",
                set.private_len(),
                bytes.len(),
            ));
        }
        let parse = || -> Option<Dk> {
            let bytes = Zeroizing::new(bytes.to_vec());
            Some(parse_for_set!(set, Dk, bytes.as_slice(), |a: Array<
                _,
                _,
            >| {
                let a = Zeroizing::new(a);
                DecapsulationKey::from_expanded_bytes(&a)
            }))
        };
        let dk = parse().ok_or_else(|| {
            Error::new(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "the {} decapsulation key fails the FIPS 203 input check (H(ek) or ek is corrupt)",
                    set.name()
                ),
            )
        })?;
        Ok(Self::private(set, dk))
    }

    /// The FIPS 203 §7.2 checks: length and modulus.
    fn from_public(set: MlKemSet, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != set.public_len() {
            return Err(length_error(
                set,
                "public key",
                set.public_len(),
                bytes.len(),
            ));
        }
        let parse = || -> Option<Ek> {
            Some(parse_for_set!(set, Ek, bytes, |a| EncapsulationKey::new(
                &a
            )))
        };
        let ek = parse().ok_or_else(|| {
            Error::new(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "the {} public key fails the FIPS 203 modulus check",
                    set.name()
                ),
            )
        })?;
        Ok(MlKemKey {
            set,
            public: bytes.to_vec(),
            inner: Inner::Public(ek),
            #[cfg(feature = "aws-lc")]
            aws: std::sync::OnceLock::new(),
        })
    }

    fn seed(&self) -> Option<Zeroizing<Vec<u8>>> {
        let dk = self.dk().ok()?;
        each!(dk, Dk, k => k.to_seed().map(|s| Zeroizing::new(s.to_vec())))
    }

    fn expanded(&self) -> Result<Zeroizing<Vec<u8>>> {
        let dk = self.dk()?;
        Ok(each!(dk, Dk, k => Zeroizing::new(k.to_expanded_bytes().to_vec())))
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
        pqc_keys::generated_pair(&MlKemKey::from_seed(set, seed.as_ref())?)
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

/// Parse a stored key object.
pub fn load(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<MlKemKey> {
    pqc_keys::load(class, src)
}

/// C_CreateObject / C_UnwrapKey: validate and complete an ML-KEM key template.
pub fn check_import(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    pqc_keys::check_import::<MlKemKey>(class, t)
}

pub fn to_pkcs8(k: &MlKemKey) -> Result<Zeroizing<Vec<u8>>> {
    pqc_keys::to_pkcs8(k)
}

pub fn from_pkcs8(key: &enc::Pkcs8Key) -> Result<KeyAttrs> {
    pqc_keys::from_pkcs8::<MlKemKey>(key)
}

#[cfg(test)]
mod tests;
