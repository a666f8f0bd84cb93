//! ML-DSA (FIPS 204) for CKK_ML_DSA: key pair generation, CKM_ML_DSA, CKM_HASH_ML_DSA and
//! `CKM_HASH_ML_DSA_<hash>` signatures, key import checks (seed ξ, expanded key, or both) and
//! PKCS#8. Every variant signs μ = H(tr‖M') computed here while the message streams in, so a
//! multi-part operation never buffers the message; expanded keys are checked before use.

#![allow(deprecated)] // ExpandedSigningKey::{from,to}_expanded: PKCS#11 keeps sk in CKA_VALUE.

use super::family::Family;
use super::params::Mechanism;
use super::pqc_encoding as enc;
use super::pqc_keys::{self, PqKey, SeededKey};
use super::pqc_sign::{self, SignSpec};
use super::{keys, AttrSource, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::{Attr, Template};
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use hybrid_array::Array;
use ml_dsa::{ExpandedSigningKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signature, VerifyingKey};
use rand_core::{TryCryptoRng, TryRng};
use shake::{ExtendableOutput, Update, XofReader};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The seed ξ, 32 bytes for every parameter set.
pub const SEED_LEN: usize = 32;
/// tr = H(pk, 64) and μ are 64 bytes; rnd is 32.
const TR_LEN: usize = 64;
const RND_LEN: usize = 32;

/// An ML-DSA parameter set with its FIPS 204 sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MlDsaSet {
    MlDsa44,
    MlDsa65,
    MlDsa87,
}

impl MlDsaSet {
    pub const ALL: [MlDsaSet; 3] = [MlDsaSet::MlDsa44, MlDsaSet::MlDsa65, MlDsaSet::MlDsa87];

    pub fn from_ckp(ckp: ck::CK_ULONG) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.ckp() == ckp)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ParameterSetNotSupported,
                    format!("ML-DSA parameter set {ckp} is not one of CKP_ML_DSA_44/65/87"),
                )
            })
    }
    pub fn ckp(self) -> ck::CK_ULONG {
        match self {
            MlDsaSet::MlDsa44 => ck::CKP_ML_DSA_44,
            MlDsaSet::MlDsa65 => ck::CKP_ML_DSA_65,
            MlDsaSet::MlDsa87 => ck::CKP_ML_DSA_87,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            MlDsaSet::MlDsa44 => "ML-DSA-44",
            MlDsaSet::MlDsa65 => "ML-DSA-65",
            MlDsaSet::MlDsa87 => "ML-DSA-87",
        }
    }
    pub fn public_len(self) -> usize {
        match self {
            MlDsaSet::MlDsa44 => 1312,
            MlDsaSet::MlDsa65 => 1952,
            MlDsaSet::MlDsa87 => 2592,
        }
    }
    /// Length of the expanded private key sk (skEncode).
    pub fn private_len(self) -> usize {
        match self {
            MlDsaSet::MlDsa44 => 2560,
            MlDsaSet::MlDsa65 => 4032,
            MlDsaSet::MlDsa87 => 4896,
        }
    }
    pub fn signature_len(self) -> usize {
        match self {
            MlDsaSet::MlDsa44 => 2420,
            MlDsaSet::MlDsa65 => 3309,
            MlDsaSet::MlDsa87 => 4627,
        }
    }
    /// (k, ℓ, η) of FIPS 204 Table 1.
    fn dimensions(self) -> (usize, usize, u32) {
        match self {
            MlDsaSet::MlDsa44 => (4, 4, 2),
            MlDsaSet::MlDsa65 => (6, 5, 4),
            MlDsaSet::MlDsa87 => (8, 7, 2),
        }
    }
}

/// skDecode (FIPS 204 Alg. 25) cannot tell a coefficient outside [−η, η] from a valid one,
/// and the crate signs with whatever it decoded. Check s1 and s2 on the encoding itself:
/// each coefficient is stored as η − c in bitlen(2η) bits, little-endian bit order, so a
/// valid one reads as at most 2η.
fn secret_vectors_in_range(set: MlDsaSet, sk: &[u8]) -> bool {
    let (k, l, eta) = set.dimensions();
    let bits = if eta == 2 { 3 } else { 4 };
    let start = 32 + 32 + TR_LEN;
    let len = (k + l) * 256 * bits / 8;
    let Some(packed) = sk.get(start..start + len) else {
        return false;
    };
    let mut acc: u32 = 0;
    let mut have = 0;
    let mut in_range = true;
    for &byte in packed {
        acc |= u32::from(byte) << have;
        have += 8;
        while have >= bits {
            in_range &= (acc & ((1 << bits) - 1)) <= 2 * eta;
            acc >>= bits;
            have -= bits;
        }
    }
    in_range
}

enum Sk {
    L44(Box<ExpandedSigningKey<MlDsa44>>),
    L65(Box<ExpandedSigningKey<MlDsa65>>),
    L87(Box<ExpandedSigningKey<MlDsa87>>),
}

enum Vk {
    L44(Box<VerifyingKey<MlDsa44>>),
    L65(Box<VerifyingKey<MlDsa65>>),
    L87(Box<VerifyingKey<MlDsa87>>),
}

macro_rules! each {
    ($e:expr, $T:ident, $k:ident => $body:expr) => {
        match $e {
            $T::L44($k) => $body,
            $T::L65($k) => $body,
            $T::L87($k) => $body,
        }
    };
}

/// Build a parameter-set-specific value: `$body` sees `$P` as the crate's parameter type.
macro_rules! for_set {
    ($set:expr, $P:ident, $V:ident => $body:expr) => {
        match $set {
            MlDsaSet::MlDsa44 => {
                type $P = MlDsa44;
                let $V = |x| Sk::L44(Box::new(x));
                $body
            }
            MlDsaSet::MlDsa65 => {
                type $P = MlDsa65;
                let $V = |x| Sk::L65(Box::new(x));
                $body
            }
            MlDsaSet::MlDsa87 => {
                type $P = MlDsa87;
                let $V = |x| Sk::L87(Box::new(x));
                $body
            }
        }
    };
}

enum Inner {
    Public(Vk),
    Private {
        sk: Sk,
        seed: Option<Zeroizing<[u8; SEED_LEN]>>,
    },
}

/// An ML-DSA key as the token holds it: the expanded crate key (or the decoded public key),
/// its public key encoding and tr = H(pk). Cloning shares the parsed key, so starting an
/// operation never copies or re-expands it.
#[derive(Clone)]
pub struct MlDsaKey {
    set: MlDsaSet,
    public: Arc<[u8]>,
    tr: [u8; TR_LEN],
    inner: Arc<Inner>,
    /// aws-lc-rs's form of the key, built on first use where the table names it.
    #[cfg(feature = "aws-lc")]
    aws: Arc<std::sync::OnceLock<Option<Arc<aws::Key>>>>,
}

fn shake256<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut h = shake::Shake256::default();
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; N];
    h.finalize_xof().read(&mut out);
    out
}

/// The one 32-byte `rnd` of FIPS 204 signing, handed to the crate's signer as an RNG that
/// yields exactly those bytes once: fresh CSPRNG output when hedged, zeros when deterministic.
struct Rnd<'a> {
    bytes: &'a [u8; RND_LEN],
    used: bool,
}

#[derive(Debug)]
struct RndMisuse;

impl std::fmt::Display for RndMisuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ML-DSA signing asked for randomness other than its one 32-byte rnd")
    }
}

impl std::error::Error for RndMisuse {}

impl TryRng for Rnd<'_> {
    type Error = RndMisuse;
    fn try_next_u32(&mut self) -> std::result::Result<u32, RndMisuse> {
        Err(RndMisuse)
    }
    fn try_next_u64(&mut self) -> std::result::Result<u64, RndMisuse> {
        Err(RndMisuse)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> std::result::Result<(), RndMisuse> {
        if self.used || dst.len() != RND_LEN {
            return Err(RndMisuse);
        }
        dst.copy_from_slice(self.bytes);
        self.used = true;
        Ok(())
    }
}

impl TryCryptoRng for Rnd<'_> {}

fn sign_mu_with<P: MlDsaParams>(
    sk: &ExpandedSigningKey<P>,
    mu: &[u8; TR_LEN],
    rnd: &[u8; RND_LEN],
) -> Result<Vec<u8>> {
    let mut rng = Rnd {
        bytes: rnd,
        used: false,
    };
    let sig = sk
        .sign_mu_randomized(&Array::from(*mu), &mut rng)
        .map_err(|_| Error::new(ErrorKind::FunctionFailed, "ML-DSA signing failed"))?;
    Ok(sig.encode().to_vec())
}

fn verify_mu_with<P: MlDsaParams>(vk: &VerifyingKey<P>, mu: &[u8; TR_LEN], sig: &[u8]) -> bool {
    match Signature::<P>::try_from(sig) {
        Ok(sig) => vk.verify_mu(&Array::from(*mu), &sig),
        Err(_) => false,
    }
}

fn invalid_signature() -> Error {
    Error::new(
        ErrorKind::SignatureInvalid,
        "the ML-DSA signature does not verify",
    )
}

impl MlDsaKey {
    pub fn set(&self) -> MlDsaSet {
        self.set
    }
    /// Key size for C_GetMechanismInfo: the public key length in bytes (PKCS#11 3.2).
    pub fn size(&self) -> u64 {
        self.set.public_len() as u64
    }

    fn private(set: MlDsaSet, sk: Sk, seed: Option<Zeroizing<[u8; SEED_LEN]>>) -> Self {
        let public: Vec<u8> = each!(&sk, Sk, k => k.verifying_key().encode().to_vec());
        let tr = shake256::<TR_LEN>(&[&public]);
        MlDsaKey {
            set,
            public: public.into(),
            tr,
            inner: Arc::new(Inner::Private { sk, seed }),
            #[cfg(feature = "aws-lc")]
            aws: Arc::default(),
        }
    }

    /// The public half of this key.
    pub fn public_key(&self) -> Result<Self> {
        match *self.inner {
            Inner::Public(_) => Ok(self.clone()),
            Inner::Private { .. } => Self::from_public(self.set, &self.public),
        }
    }

    fn sk(&self) -> Result<&Sk> {
        match &*self.inner {
            Inner::Private { sk, .. } => Ok(sk),
            Inner::Public(_) => err(
                ErrorKind::KeyTypeInconsistent,
                "signing needs the ML-DSA private key; this is the public key",
            ),
        }
    }

    /// Start μ = H(tr‖M', 64): absorb tr, then M' as it comes.
    fn mu_hasher(&self) -> shake::Shake256 {
        let mut h = shake::Shake256::default();
        h.update(&self.tr);
        h
    }

    /// ML-DSA.Sign_internal from μ with the given rnd (zeros: the deterministic variant).
    pub(crate) fn sign_mu(&self, mu: &[u8; TR_LEN], rnd: &[u8; RND_LEN]) -> Result<Vec<u8>> {
        each!(self.sk()?, Sk, k => sign_mu_with(k, mu, rnd))
    }

    /// ML-DSA.Verify_internal from μ.
    pub(crate) fn verify_mu(&self, mu: &[u8; TR_LEN], sig: &[u8]) -> Result<()> {
        let Inner::Public(vk) = &*self.inner else {
            return err(
                ErrorKind::KeyTypeInconsistent,
                "verification takes the ML-DSA public key; this is the private key",
            );
        };
        if sig.len() != self.set.signature_len() {
            return err(
                ErrorKind::SignatureLenRange,
                format!(
                    "an {} signature is {} bytes, got {}",
                    self.set.name(),
                    self.set.signature_len(),
                    sig.len()
                ),
            );
        }
        if each!(vk, Vk, k => verify_mu_with(k, mu, sig)) {
            Ok(())
        } else {
            Err(invalid_signature())
        }
    }

    /// μ for a whole message M'.
    #[cfg(test)]
    pub(crate) fn mu_of(&self, m_prime: &[&[u8]]) -> [u8; TR_LEN] {
        let mut h = self.mu_hasher();
        for p in m_prime {
            h.update(p);
        }
        let mut mu = [0u8; TR_LEN];
        h.finalize_xof().read(&mut mu);
        mu
    }
}

impl PqKey for MlDsaKey {
    const KEY_TYPE: ck::CK_KEY_TYPE = ck::CKK_ML_DSA;
    const ALGORITHM: &'static str = "ML-DSA";
    fn parameter_set(&self) -> ck::CK_ULONG {
        self.set.ckp()
    }
    fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    fn is_private(&self) -> bool {
        matches!(*self.inner, Inner::Private { .. })
    }

    fn secret_attrs(&self) -> Result<Vec<Attr>> {
        self.seeded_secret_attrs()
    }
}

impl SeededKey for MlDsaKey {
    type Set = MlDsaSet;
    fn set_from_ckp(ckp: ck::CK_ULONG) -> Result<MlDsaSet> {
        MlDsaSet::from_ckp(ckp)
    }
    fn set_name(set: MlDsaSet) -> &'static str {
        set.name()
    }
    /// ML-DSA.KeyGen_internal from ξ.
    fn from_seed(set: MlDsaSet, seed: &[u8]) -> Result<Self> {
        let seed: [u8; SEED_LEN] = seed.try_into().map_err(|_| {
            Error::new(
                ErrorKind::AttributeValueInvalid,
                format!("an ML-DSA seed (ξ) is {SEED_LEN} bytes, got {}", seed.len()),
            )
        })?;
        let seed = Zeroizing::new(seed);
        let xi = Zeroizing::new(Array::from(*seed));
        let sk = for_set!(set, P, wrap => wrap(ExpandedSigningKey::<P>::from_seed(&xi)));
        Ok(Self::private(set, sk, Some(seed)))
    }

    /// Parse an expanded key sk and check it: s1 and s2 in range, tr the hash of the public
    /// key its s1/s2 give, and a pairwise signature check under that public key. t0 is the one
    /// part the crate cannot recompute for us: the signature check catches a garbled t0, while
    /// a t0 off by small amounts may pass it (such a key still signs verifiably almost always).
    fn from_expanded(set: MlDsaSet, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != set.private_len() {
            return err(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "an {} private key is {} bytes, got {}",
                    set.name(),
                    set.private_len(),
                    bytes.len()
                ),
            );
        }
        let corrupt = |what: &str| {
            Error::new(
                ErrorKind::AttributeValueInvalid,
                format!("the {} private key is corrupt: {what}", set.name()),
            )
        };
        if !secret_vectors_in_range(set, bytes) {
            return Err(corrupt("s1 or s2 has a coefficient outside [-η, η]"));
        }
        let sk = for_set!(set, P, wrap => {
            let a = Zeroizing::new(Array::try_from(bytes).map_err(|_| corrupt("length"))?);
            wrap(ExpandedSigningKey::<P>::from_expanded(&a))
        });
        let key = Self::private(set, sk, None);
        if !bool::from(key.tr.ct_eq(&bytes[64..64 + TR_LEN])) {
            return Err(corrupt("tr is not the hash of the public key"));
        }
        let mu = [0u8; TR_LEN];
        let sig = key.sign_mu(&mu, &[0u8; RND_LEN])?;
        let vk = key.public_key()?;
        if vk.verify_mu(&mu, &sig).is_err() {
            return Err(corrupt("its signatures do not verify (t0 does not match)"));
        }
        Ok(key)
    }

    fn from_public(set: MlDsaSet, bytes: &[u8]) -> Result<Self> {
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
        let bad = || Error::new(ErrorKind::AttributeValueInvalid, "public key length");
        let vk = match set {
            MlDsaSet::MlDsa44 => Vk::L44(Box::new(VerifyingKey::decode(
                &Array::try_from(bytes).map_err(|_| bad())?,
            ))),
            MlDsaSet::MlDsa65 => Vk::L65(Box::new(VerifyingKey::decode(
                &Array::try_from(bytes).map_err(|_| bad())?,
            ))),
            MlDsaSet::MlDsa87 => Vk::L87(Box::new(VerifyingKey::decode(
                &Array::try_from(bytes).map_err(|_| bad())?,
            ))),
        };
        Ok(MlDsaKey {
            set,
            public: bytes.into(),
            tr: shake256::<TR_LEN>(&[bytes]),
            inner: Arc::new(Inner::Public(vk)),
            #[cfg(feature = "aws-lc")]
            aws: Arc::default(),
        })
    }

    fn seed(&self) -> Option<Zeroizing<Vec<u8>>> {
        match &*self.inner {
            Inner::Private {
                seed: Some(seed), ..
            } => Some(Zeroizing::new(seed.to_vec())),
            _ => None,
        }
    }

    fn expanded(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(each!(self.sk()?, Sk, k => Zeroizing::new(k.to_expanded().to_vec())))
    }
}

/// Every ML-DSA variant signs μ = H(tr‖M'): M' streams into μ's hash, so nothing buffers.
impl pqc_sign::SignatureKey for MlDsaKey {
    type Sink = shake::Shake256;
    const ALGORITHM: &'static str = "ML-DSA";
    fn mechanisms() -> &'static pqc_sign::Mechanisms {
        &pqc_sign::ML_DSA
    }
    fn is_private(&self) -> bool {
        PqKey::is_private(self)
    }
    fn signature_len(&self) -> usize {
        self.set.signature_len()
    }
    fn sink(&self, prefix: &[u8]) -> shake::Shake256 {
        let mut h = self.mu_hasher();
        h.update(prefix);
        h
    }
    fn absorb(sink: &mut shake::Shake256, data: &[u8]) {
        sink.update(data);
    }
    fn sign(&self, m_prime: shake::Shake256, spec: &SignSpec) -> Result<Vec<u8>> {
        // FIPS 204: rnd is 32 fresh bytes when hedged, all zeros when deterministic.
        let mut rnd = Zeroizing::new([0u8; RND_LEN]);
        if let Some(fresh) = pqc_sign::randomness(spec, RND_LEN) {
            rnd.copy_from_slice(&fresh);
        }
        self.sign_mu(&squeeze_mu(m_prime), &rnd)
    }
    fn verify(&self, m_prime: shake::Shake256, sig: &[u8]) -> Result<()> {
        self.verify_mu(&squeeze_mu(m_prime), sig)
    }
}

fn squeeze_mu(h: shake::Shake256) -> [u8; TR_LEN] {
    let mut mu = [0u8; TR_LEN];
    h.finalize_xof().read(&mut mu);
    mu
}

/// The ML-DSA family: CKM_ML_DSA_KEY_PAIR_GEN and the signature mechanisms.
#[derive(Debug)]
pub struct MlDsa;

fn key_of(k: &KeyMaterial) -> Result<&MlDsaKey> {
    match k {
        KeyMaterial::MlDsa(k) => Ok(k),
        _ => err(
            ErrorKind::KeyTypeInconsistent,
            "this mechanism needs an ML-DSA key",
        ),
    }
}

/// Whether aws-lc-rs may serve this operation: pure ML-DSA, empty context, hedged (the
/// deterministic flag matters for signing only), and the table naming it.
#[cfg(feature = "aws-lc")]
fn aws_serves(m: &Mechanism, role: pqc_sign::Role) -> Result<bool> {
    let p = match role {
        pqc_sign::Role::Sign => super::provider::private(m.ty),
        pqc_sign::Role::Verify => super::provider::public(m.ty),
    };
    if !super::provider::is_aws_lc(p) {
        return Ok(false);
    }
    let spec = pqc_sign::parse(m, &pqc_sign::ML_DSA, role)?;
    Ok(spec.input == pqc_sign::Input::Pure
        && spec.context.is_empty()
        && (role == pqc_sign::Role::Verify || !spec.deterministic))
}

#[cfg(feature = "aws-lc")]
impl MlDsaKey {
    /// aws-lc-rs's form of this key (built once).
    fn aws_key(&self) -> Option<Arc<aws::Key>> {
        self.aws
            .get_or_init(|| {
                let key = match &*self.inner {
                    Inner::Private { .. } => aws::Key::private(self.set, &self.expanded().ok()?),
                    Inner::Public(_) => aws::Key::public(self.set, &self.public),
                };
                key.map(Arc::new)
            })
            .clone()
    }
}

impl Family for MlDsa {
    fn sign_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        let k = key_of(key)?;
        let streaming = pqc_sign::sign_init(k, m)?;
        #[cfg(feature = "aws-lc")]
        if aws_serves(m, pqc_sign::Role::Sign)? {
            if let Some(a) = k.aws_key() {
                let len = k.set.signature_len();
                return Ok(Box::new(aws::Sign::new(a, len, streaming)));
            }
        }
        Ok(streaming)
    }

    fn verify_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        let k = key_of(key)?;
        let streaming = pqc_sign::verify_init(k, m)?;
        #[cfg(feature = "aws-lc")]
        if aws_serves(m, pqc_sign::Role::Verify)? {
            if let Some(a) = k.aws_key() {
                let len = k.set.signature_len();
                return Ok(Box::new(aws::Verify::new(a, len, streaming)));
            }
        }
        Ok(streaming)
    }

    fn generate_key_pair(
        &self,
        _m: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<GeneratedPair> {
        let set = MlDsaSet::from_ckp(keys::pair_parameter_set(public, private, "ML-DSA")?)?;
        let mut seed = Zeroizing::new([0u8; SEED_LEN]);
        crate::rng::fill_bytes(seed.as_mut());
        pqc_keys::generated_pair(&MlDsaKey::from_seed(set, seed.as_ref())?)
    }
}

/// Parse a stored key object.
pub fn load(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<MlDsaKey> {
    pqc_keys::load(class, src)
}

/// C_CreateObject / C_UnwrapKey: validate and complete an ML-DSA key template.
pub fn check_import(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    pqc_keys::check_import::<MlDsaKey>(class, t)
}

pub fn to_pkcs8(k: &MlDsaKey) -> Result<Zeroizing<Vec<u8>>> {
    pqc_keys::to_pkcs8(k)
}

pub fn from_pkcs8(key: &enc::Pkcs8Key) -> Result<KeyAttrs> {
    pqc_keys::from_pkcs8::<MlDsaKey>(key)
}

#[cfg(feature = "aws-lc")]
mod aws;
#[cfg(test)]
mod tests;
