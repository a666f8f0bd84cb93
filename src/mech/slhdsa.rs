//! SLH-DSA (FIPS 205) for CKK_SLH_DSA, all twelve parameter sets: key pair generation,
//! CKM_SLH_DSA, CKM_HASH_SLH_DSA and `CKM_HASH_SLH_DSA_<hash>` signatures, import checks and
//! PKCS#8 (the raw 4n-byte key). SLH-DSA reads the message twice, so a signature operation
//! buffers M'; an imported private key must reproduce its own PK.root.

use super::family::Family;
use super::params::Mechanism;
use super::pqc_encoding::{self as enc, PrivateKey};
use super::pqc_keys::{self, PqKey};
use super::pqc_sign::{self, SignSpec};
use super::{keys, AttrSource, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::{Attr, Template};
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use slh_dsa::{
    ParameterSet, Sha2_128f, Sha2_128s, Sha2_192f, Sha2_192s, Sha2_256f, Sha2_256s, Shake128f,
    Shake128s, Shake192f, Shake192s, Shake256f, Shake256s, Signature, SigningKey, VerifyingKey,
};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

fn keygen<P: ParameterSet>(sk_seed: &[u8], sk_prf: &[u8], pk_seed: &[u8]) -> SigningKey<P> {
    SigningKey::<P>::slh_keygen_internal(sk_seed, sk_prf, pk_seed)
}

fn sign<P: ParameterSet>(
    sk: &SigningKey<P>,
    m_prime: &[&[u8]],
    opt_rand: Option<&[u8]>,
) -> Vec<u8> {
    sk.slh_sign_internal(m_prime, opt_rand).to_vec()
}

fn verify<P: ParameterSet>(vk: &VerifyingKey<P>, m_prime: &[&[u8]], sig: &[u8]) -> bool {
    match Signature::<P>::try_from(sig) {
        Ok(sig) => vk.slh_verify_internal(m_prime, &sig).is_ok(),
        Err(_) => false,
    }
}

/// Every parameter set once: variant, crate type, CKP_ value, name, n, signature length
/// (FIPS 205 Table 2).
macro_rules! parameter_sets {
    ($($V:ident => $P:ty, $ckp:ident, $name:literal, $n:literal, $sig:literal;)*) => {
        /// An SLH-DSA parameter set.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum SlhDsaSet { $($V),* }

        impl SlhDsaSet {
            pub const ALL: [SlhDsaSet; 12] = [$(SlhDsaSet::$V),*];

            pub fn ckp(self) -> ck::CK_ULONG {
                match self { $(SlhDsaSet::$V => ck::$ckp),* }
            }
            pub fn name(self) -> &'static str {
                match self { $(SlhDsaSet::$V => $name),* }
            }
            /// The security parameter n in bytes.
            pub fn n(self) -> usize {
                match self { $(SlhDsaSet::$V => $n),* }
            }
            pub fn signature_len(self) -> usize {
                match self { $(SlhDsaSet::$V => $sig),* }
            }
            fn keygen(self, sk_seed: &[u8], sk_prf: &[u8], pk_seed: &[u8]) -> Sk {
                match self { $(SlhDsaSet::$V => Sk::$V(Box::new(keygen::<$P>(sk_seed, sk_prf, pk_seed)))),* }
            }
            /// Parse SK.seed‖SK.prf‖PK.seed‖PK.root without recomputing PK.root.
            fn signing_key(self, bytes: &[u8]) -> Option<Sk> {
                match self { $(SlhDsaSet::$V => SigningKey::<$P>::try_from(bytes).ok().map(|k| Sk::$V(Box::new(k)))),* }
            }
            fn verifying_key(self, bytes: &[u8]) -> Option<Vk> {
                match self { $(SlhDsaSet::$V => VerifyingKey::<$P>::try_from(bytes).ok().map(|k| Vk::$V(Box::new(k)))),* }
            }
        }

        enum Sk { $($V(Box<SigningKey<$P>>)),* }
        enum Vk { $($V(Box<VerifyingKey<$P>>)),* }

        impl Sk {
            fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
                match self { $(Sk::$V(k) => Zeroizing::new(k.to_bytes().to_vec())),* }
            }
            fn public(&self) -> Vec<u8> {
                match self { $(Sk::$V(k) => AsRef::<VerifyingKey<$P>>::as_ref(k.as_ref()).to_bytes().to_vec()),* }
            }
            fn sign(&self, m_prime: &[&[u8]], opt_rand: Option<&[u8]>) -> Vec<u8> {
                match self { $(Sk::$V(k) => sign(k, m_prime, opt_rand)),* }
            }
        }

        impl Vk {
            fn verify(&self, m_prime: &[&[u8]], sig: &[u8]) -> bool {
                match self { $(Vk::$V(k) => verify(k, m_prime, sig)),* }
            }
        }
    };
}

parameter_sets! {
    Sha2_128s => Sha2_128s, CKP_SLH_DSA_SHA2_128S, "SLH-DSA-SHA2-128s", 16, 7856;
    Shake128s => Shake128s, CKP_SLH_DSA_SHAKE_128S, "SLH-DSA-SHAKE-128s", 16, 7856;
    Sha2_128f => Sha2_128f, CKP_SLH_DSA_SHA2_128F, "SLH-DSA-SHA2-128f", 16, 17088;
    Shake128f => Shake128f, CKP_SLH_DSA_SHAKE_128F, "SLH-DSA-SHAKE-128f", 16, 17088;
    Sha2_192s => Sha2_192s, CKP_SLH_DSA_SHA2_192S, "SLH-DSA-SHA2-192s", 24, 16224;
    Shake192s => Shake192s, CKP_SLH_DSA_SHAKE_192S, "SLH-DSA-SHAKE-192s", 24, 16224;
    Sha2_192f => Sha2_192f, CKP_SLH_DSA_SHA2_192F, "SLH-DSA-SHA2-192f", 24, 35664;
    Shake192f => Shake192f, CKP_SLH_DSA_SHAKE_192F, "SLH-DSA-SHAKE-192f", 24, 35664;
    Sha2_256s => Sha2_256s, CKP_SLH_DSA_SHA2_256S, "SLH-DSA-SHA2-256s", 32, 29792;
    Shake256s => Shake256s, CKP_SLH_DSA_SHAKE_256S, "SLH-DSA-SHAKE-256s", 32, 29792;
    Sha2_256f => Sha2_256f, CKP_SLH_DSA_SHA2_256F, "SLH-DSA-SHA2-256f", 32, 49856;
    Shake256f => Shake256f, CKP_SLH_DSA_SHAKE_256F, "SLH-DSA-SHAKE-256f", 32, 49856;
}

impl SlhDsaSet {
    pub fn from_ckp(ckp: ck::CK_ULONG) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.ckp() == ckp)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ParameterSetNotSupported,
                    format!(
                        "SLH-DSA parameter set {ckp} is not one of the twelve CKP_SLH_DSA_* sets"
                    ),
                )
            })
    }
    /// PK.seed‖PK.root.
    pub fn public_len(self) -> usize {
        2 * self.n()
    }
    /// SK.seed‖SK.prf‖PK.seed‖PK.root.
    pub fn private_len(self) -> usize {
        4 * self.n()
    }
}

enum Inner {
    Public(Vk),
    Private(Sk),
}

/// An SLH-DSA key as the token holds it. Cloning shares the parsed key.
#[derive(Clone)]
pub struct SlhDsaKey {
    set: SlhDsaSet,
    public: Arc<[u8]>,
    inner: Arc<Inner>,
}

impl SlhDsaKey {
    pub fn set(&self) -> SlhDsaSet {
        self.set
    }
    /// Key size for C_GetMechanismInfo: the public key length in bytes (PKCS#11 3.2).
    pub fn size(&self) -> u64 {
        self.set.public_len() as u64
    }

    /// slh_keygen_internal (FIPS 205 Alg. 18) from SK.seed, SK.prf and PK.seed.
    pub(crate) fn keygen_internal(
        set: SlhDsaSet,
        sk_seed: &[u8],
        sk_prf: &[u8],
        pk_seed: &[u8],
    ) -> Result<Self> {
        let n = set.n();
        if sk_seed.len() != n || sk_prf.len() != n || pk_seed.len() != n {
            return err(
                ErrorKind::AttributeValueInvalid,
                format!("{} key generation takes three {n}-byte seeds", set.name()),
            );
        }
        let sk = set.keygen(sk_seed, sk_prf, pk_seed);
        Ok(SlhDsaKey {
            set,
            public: sk.public().into(),
            inner: Arc::new(Inner::Private(sk)),
        })
    }

    /// A private key SK.seed‖SK.prf‖PK.seed‖PK.root, accepted only if recomputing the
    /// top-level tree from SK.seed and PK.seed gives its PK.root.
    fn from_private(set: SlhDsaSet, bytes: &[u8]) -> Result<Self> {
        let n = set.n();
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
        let key = Self::keygen_internal(set, &bytes[..n], &bytes[n..2 * n], &bytes[2 * n..3 * n])?;
        let derived = key.private_bytes()?;
        if !bool::from(derived.as_slice().ct_eq(bytes)) {
            return err(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "the {} private key is corrupt: PK.root does not match SK.seed",
                    set.name()
                ),
            );
        }
        Ok(key)
    }

    fn from_public(set: SlhDsaSet, bytes: &[u8]) -> Result<Self> {
        let Some(vk) = set.verifying_key(bytes) else {
            return err(
                ErrorKind::AttributeValueInvalid,
                format!(
                    "an {} public key is {} bytes, got {}",
                    set.name(),
                    set.public_len(),
                    bytes.len()
                ),
            );
        };
        Ok(SlhDsaKey {
            set,
            public: bytes.into(),
            inner: Arc::new(Inner::Public(vk)),
        })
    }

    fn sk(&self) -> Result<&Sk> {
        match &*self.inner {
            Inner::Private(sk) => Ok(sk),
            Inner::Public(_) => err(
                ErrorKind::KeyTypeInconsistent,
                "signing needs the SLH-DSA private key; this is the public key",
            ),
        }
    }

    fn private_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.sk()?.to_bytes())
    }

    /// slh_sign_internal over M'. `opt_rand` None is the deterministic variant (PK.seed).
    pub(crate) fn sign_internal(
        &self,
        m_prime: &[&[u8]],
        opt_rand: Option<&[u8]>,
    ) -> Result<Vec<u8>> {
        if opt_rand.is_some_and(|r| r.len() != self.set.n()) {
            return err(ErrorKind::General, "SLH-DSA randomness must be n bytes");
        }
        Ok(self.sk()?.sign(m_prime, opt_rand))
    }

    /// slh_verify_internal over M'.
    pub(crate) fn verify_internal(&self, m_prime: &[&[u8]], sig: &[u8]) -> Result<()> {
        let Inner::Public(vk) = &*self.inner else {
            return err(
                ErrorKind::KeyTypeInconsistent,
                "verification takes the SLH-DSA public key; this is the private key",
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
        if vk.verify(m_prime, sig) {
            Ok(())
        } else {
            err(
                ErrorKind::SignatureInvalid,
                "the SLH-DSA signature does not verify",
            )
        }
    }
}

impl PqKey for SlhDsaKey {
    const KEY_TYPE: ck::CK_KEY_TYPE = ck::CKK_SLH_DSA;
    const ALGORITHM: &'static str = "SLH-DSA";
    fn parameter_set(&self) -> ck::CK_ULONG {
        self.set.ckp()
    }
    fn public_bytes(&self) -> &[u8] {
        &self.public
    }

    fn is_private(&self) -> bool {
        matches!(*self.inner, Inner::Private(_))
    }

    /// CKA_VALUE = SK.seed‖SK.prf‖PK.seed‖PK.root; SLH-DSA has no CKA_SEED.
    fn secret_attrs(&self) -> Result<Vec<Attr>> {
        Ok(vec![Attr::new(
            ck::CKA_VALUE,
            self.private_bytes()?.to_vec(),
        )])
    }
}

/// SLH-DSA reads M' twice (for the randomizer, then the digest), so M' is buffered.
impl pqc_sign::SignatureKey for SlhDsaKey {
    type Sink = Zeroizing<Vec<u8>>;
    const ALGORITHM: &'static str = "SLH-DSA";
    fn mechanisms() -> &'static pqc_sign::Mechanisms {
        &pqc_sign::SLH_DSA
    }
    fn is_private(&self) -> bool {
        PqKey::is_private(self)
    }
    fn signature_len(&self) -> usize {
        self.set.signature_len()
    }
    fn sink(&self, prefix: &[u8]) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(prefix.to_vec())
    }
    fn absorb(sink: &mut Zeroizing<Vec<u8>>, data: &[u8]) {
        sink.extend_from_slice(data);
    }
    fn sign(&self, m_prime: Zeroizing<Vec<u8>>, spec: &SignSpec) -> Result<Vec<u8>> {
        // FIPS 205: opt_rand is n fresh bytes when hedged, PK.seed (None) when deterministic.
        let opt_rand = pqc_sign::randomness(spec, self.set.n());
        self.sign_internal(&[&m_prime], opt_rand.as_deref().map(|r| r.as_slice()))
    }
    fn verify(&self, m_prime: Zeroizing<Vec<u8>>, sig: &[u8]) -> Result<()> {
        self.verify_internal(&[&m_prime], sig)
    }
}

/// The SLH-DSA family: CKM_SLH_DSA_KEY_PAIR_GEN and the signature mechanisms.
#[derive(Debug)]
pub struct SlhDsa;

fn key_of(k: &KeyMaterial) -> Result<&SlhDsaKey> {
    match k {
        KeyMaterial::SlhDsa(k) => Ok(k),
        _ => err(
            ErrorKind::KeyTypeInconsistent,
            "this mechanism needs an SLH-DSA key",
        ),
    }
}

impl Family for SlhDsa {
    fn sign_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        pqc_sign::sign_init(key_of(key)?, m)
    }

    fn verify_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        pqc_sign::verify_init(key_of(key)?, m)
    }

    fn generate_key_pair(
        &self,
        _m: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<GeneratedPair> {
        let set = SlhDsaSet::from_ckp(keys::pair_parameter_set(public, private, "SLH-DSA")?)?;
        let n = set.n();
        let mut seeds = Zeroizing::new(vec![0u8; 3 * n]);
        crate::rng::fill_bytes(&mut seeds);
        let key = SlhDsaKey::keygen_internal(set, &seeds[..n], &seeds[n..2 * n], &seeds[2 * n..])?;
        pqc_keys::generated_pair(&key)
    }
}

fn set_of(src: &dyn AttrSource) -> Result<SlhDsaSet> {
    SlhDsaSet::from_ckp(pqc_keys::parameter_set::<SlhDsaKey>(src)?)
}

/// Parse a stored key object. Stored private keys passed the PK.root check on import, so
/// loading does not repeat the (slow) top-level tree computation.
pub fn load(class: ck::CK_OBJECT_CLASS, src: &dyn AttrSource) -> Result<SlhDsaKey> {
    let set = set_of(src)?;
    let value = keys::required(src, ck::CKA_VALUE)?;
    if class == ck::CKO_PUBLIC_KEY {
        return SlhDsaKey::from_public(set, value);
    }
    let Some(sk) = set.signing_key(value) else {
        return err(
            ErrorKind::AttributeValueInvalid,
            format!("a stored {} private key has the wrong length", set.name()),
        );
    };
    let n = set.n();
    Ok(SlhDsaKey {
        set,
        public: value[2 * n..].into(),
        inner: Arc::new(Inner::Private(sk)),
    })
}

/// C_CreateObject / C_UnwrapKey: validate and complete an SLH-DSA key template.
pub fn check_import(class: ck::CK_OBJECT_CLASS, t: &Template) -> Result<KeyAttrs> {
    let set = set_of(t)?;
    let value = keys::required(t, ck::CKA_VALUE)?;
    let key = if class == ck::CKO_PUBLIC_KEY {
        SlhDsaKey::from_public(set, value)?
    } else {
        SlhDsaKey::from_private(set, value)?
    };
    pqc_keys::object(&key)
}

/// PKCS#8 with the raw FIPS 205 private key.
pub fn to_pkcs8(k: &SlhDsaKey) -> Result<Zeroizing<Vec<u8>>> {
    enc::pkcs8_der(
        ck::CKK_SLH_DSA,
        k.set.ckp(),
        &PrivateKey::Raw(k.private_bytes()?),
    )
}

/// Attributes of a decoded PKCS#8 SLH-DSA key.
pub fn from_pkcs8(key: &enc::Pkcs8Key) -> Result<KeyAttrs> {
    let set = SlhDsaSet::from_ckp(key.parameter_set)?;
    let PrivateKey::Raw(raw) = &key.private else {
        return err(
            ErrorKind::WrappedKeyInvalid,
            "an SLH-DSA PKCS#8 key holds the raw private key",
        );
    };
    let k = SlhDsaKey::from_private(set, raw)
        .map_err(|e| Error::new(ErrorKind::WrappedKeyInvalid, e.message()))?;
    pqc_keys::check_pkcs8_public(&k, key)?;
    pqc_keys::object(&k)
}

#[cfg(test)]
mod tests;
