//! What ML-DSA and SLH-DSA signing share: the PKCS#11 3.2 signing parameters (context string,
//! hedging, pre-hash function), the FIPS 204/205 message representative M' they define, and
//! the sign/verify operation that streams M' to a family. The algorithms stay in the families.

use super::params::{MechParam, MechType, Mechanism};
use super::{SignOp, VerifyOp};
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use der::oid::AssociatedOid;
use der::Encode;
use pkcs8::ObjectIdentifier;
use sha2::Digest;
use shake::{ExtendableOutput, Update, XofReader};

/// FIPS 204/205 context strings are at most 255 bytes (their length is one byte of M').
pub const MAX_CONTEXT_LEN: usize = 255;

/// A pre-hash function of HashML-DSA (FIPS 204 §5.4) and HashSLH-DSA (FIPS 205 §10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreHash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
    Sha512_224,
    Sha512_256,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
    /// SHAKE128 with 256 bits of output.
    Shake128,
    /// SHAKE256 with 512 bits of output.
    Shake256,
}

impl PreHash {
    /// Output length in bytes (for SHAKE, the length FIPS 204/205 fix for pre-hashing).
    pub fn output_len(self) -> usize {
        match self {
            PreHash::Sha224 | PreHash::Sha512_224 | PreHash::Sha3_224 => 28,
            PreHash::Sha256 | PreHash::Sha512_256 | PreHash::Sha3_256 | PreHash::Shake128 => 32,
            PreHash::Sha384 | PreHash::Sha3_384 => 48,
            PreHash::Sha512 | PreHash::Sha3_512 | PreHash::Shake256 => 64,
        }
    }

    /// The NIST hash algorithm identifier (2.16.840.1.101.3.4.2.x) that M' carries: the
    /// digest crates' own, and the two SHAKE arcs the XOF crate does not declare.
    fn oid(self) -> ObjectIdentifier {
        match self {
            PreHash::Sha224 => sha2::Sha224::OID,
            PreHash::Sha256 => sha2::Sha256::OID,
            PreHash::Sha384 => sha2::Sha384::OID,
            PreHash::Sha512 => sha2::Sha512::OID,
            PreHash::Sha512_224 => sha2::Sha512_224::OID,
            PreHash::Sha512_256 => sha2::Sha512_256::OID,
            PreHash::Sha3_224 => sha3::Sha3_224::OID,
            PreHash::Sha3_256 => sha3::Sha3_256::OID,
            PreHash::Sha3_384 => sha3::Sha3_384::OID,
            PreHash::Sha3_512 => sha3::Sha3_512::OID,
            PreHash::Shake128 => const { ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.11") },
            PreHash::Shake256 => const { ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.12") },
        }
    }

    /// The hash a CK_HASH_SIGN_ADDITIONAL_CONTEXT names by its digest mechanism. PKCS#11 has
    /// no SHAKE digest mechanism, so the SHAKE pre-hashes are only reachable through the
    /// CKM_HASH_*_SHAKE* mechanisms.
    fn from_digest_mechanism(m: MechType) -> Option<Self> {
        Some(match m {
            ck::CKM_SHA224 => PreHash::Sha224,
            ck::CKM_SHA256 => PreHash::Sha256,
            ck::CKM_SHA384 => PreHash::Sha384,
            ck::CKM_SHA512 => PreHash::Sha512,
            ck::CKM_SHA512_224 => PreHash::Sha512_224,
            ck::CKM_SHA512_256 => PreHash::Sha512_256,
            ck::CKM_SHA3_224 => PreHash::Sha3_224,
            ck::CKM_SHA3_256 => PreHash::Sha3_256,
            ck::CKM_SHA3_384 => PreHash::Sha3_384,
            ck::CKM_SHA3_512 => PreHash::Sha3_512,
            _ => return None,
        })
    }

    fn hasher(self) -> Hasher {
        match self {
            PreHash::Sha224 => Hasher::Sha224(sha2::Sha224::new()),
            PreHash::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            PreHash::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            PreHash::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            PreHash::Sha512_224 => Hasher::Sha512_224(sha2::Sha512_224::new()),
            PreHash::Sha512_256 => Hasher::Sha512_256(sha2::Sha512_256::new()),
            PreHash::Sha3_224 => Hasher::Sha3_224(sha3::Sha3_224::new()),
            PreHash::Sha3_256 => Hasher::Sha3_256(sha3::Sha3_256::new()),
            PreHash::Sha3_384 => Hasher::Sha3_384(sha3::Sha3_384::new()),
            PreHash::Sha3_512 => Hasher::Sha3_512(sha3::Sha3_512::new()),
            PreHash::Shake128 => Hasher::Shake128(shake::Shake128::default()),
            PreHash::Shake256 => Hasher::Shake256(shake::Shake256::default()),
        }
    }

    /// PH(M) in one call.
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(message);
        h.finish()
    }
}

/// A running pre-hash computation.
enum Hasher {
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha512_224(sha2::Sha512_224),
    Sha512_256(sha2::Sha512_256),
    Sha3_224(sha3::Sha3_224),
    Sha3_256(sha3::Sha3_256),
    Sha3_384(sha3::Sha3_384),
    Sha3_512(sha3::Sha3_512),
    Shake128(shake::Shake128),
    Shake256(shake::Shake256),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha224(h) => Digest::update(h, data),
            Hasher::Sha256(h) => Digest::update(h, data),
            Hasher::Sha384(h) => Digest::update(h, data),
            Hasher::Sha512(h) => Digest::update(h, data),
            Hasher::Sha512_224(h) => Digest::update(h, data),
            Hasher::Sha512_256(h) => Digest::update(h, data),
            Hasher::Sha3_224(h) => Digest::update(h, data),
            Hasher::Sha3_256(h) => Digest::update(h, data),
            Hasher::Sha3_384(h) => Digest::update(h, data),
            Hasher::Sha3_512(h) => Digest::update(h, data),
            Hasher::Shake128(h) => Update::update(h, data),
            Hasher::Shake256(h) => Update::update(h, data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha224(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
            Hasher::Sha512_224(h) => h.finalize().to_vec(),
            Hasher::Sha512_256(h) => h.finalize().to_vec(),
            Hasher::Sha3_224(h) => h.finalize().to_vec(),
            Hasher::Sha3_256(h) => h.finalize().to_vec(),
            Hasher::Sha3_384(h) => h.finalize().to_vec(),
            Hasher::Sha3_512(h) => h.finalize().to_vec(),
            Hasher::Shake128(h) => xof(h, PreHash::Shake128.output_len()),
            Hasher::Shake256(h) => xof(h, PreHash::Shake256.output_len()),
        }
    }
}

fn xof(h: impl ExtendableOutput, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    h.finalize_xof().read(&mut out);
    out
}

/// How a mechanism takes its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Pure ML-DSA / SLH-DSA: the message itself.
    Pure,
    /// CKM_HASH_ML_DSA / CKM_HASH_SLH_DSA: the caller's PH(M), hash named by the parameter.
    PreHashed(PreHash),
    /// `CKM_HASH_*_<hash>`: the token computes PH(M) from the message.
    HashOnToken(PreHash),
}

/// The signature mechanisms of one family, by how they take their message.
pub struct Mechanisms {
    pub pure: MechType,
    pub pre_hashed: MechType,
    pub hash_on_token: [(MechType, PreHash); 10],
}

pub static ML_DSA: Mechanisms = Mechanisms {
    pure: ck::CKM_ML_DSA,
    pre_hashed: ck::CKM_HASH_ML_DSA,
    hash_on_token: [
        (ck::CKM_HASH_ML_DSA_SHA224, PreHash::Sha224),
        (ck::CKM_HASH_ML_DSA_SHA256, PreHash::Sha256),
        (ck::CKM_HASH_ML_DSA_SHA384, PreHash::Sha384),
        (ck::CKM_HASH_ML_DSA_SHA512, PreHash::Sha512),
        (ck::CKM_HASH_ML_DSA_SHA3_224, PreHash::Sha3_224),
        (ck::CKM_HASH_ML_DSA_SHA3_256, PreHash::Sha3_256),
        (ck::CKM_HASH_ML_DSA_SHA3_384, PreHash::Sha3_384),
        (ck::CKM_HASH_ML_DSA_SHA3_512, PreHash::Sha3_512),
        (ck::CKM_HASH_ML_DSA_SHAKE128, PreHash::Shake128),
        (ck::CKM_HASH_ML_DSA_SHAKE256, PreHash::Shake256),
    ],
};

pub static SLH_DSA: Mechanisms = Mechanisms {
    pure: ck::CKM_SLH_DSA,
    pre_hashed: ck::CKM_HASH_SLH_DSA,
    hash_on_token: [
        (ck::CKM_HASH_SLH_DSA_SHA224, PreHash::Sha224),
        (ck::CKM_HASH_SLH_DSA_SHA256, PreHash::Sha256),
        (ck::CKM_HASH_SLH_DSA_SHA384, PreHash::Sha384),
        (ck::CKM_HASH_SLH_DSA_SHA512, PreHash::Sha512),
        (ck::CKM_HASH_SLH_DSA_SHA3_224, PreHash::Sha3_224),
        (ck::CKM_HASH_SLH_DSA_SHA3_256, PreHash::Sha3_256),
        (ck::CKM_HASH_SLH_DSA_SHA3_384, PreHash::Sha3_384),
        (ck::CKM_HASH_SLH_DSA_SHA3_512, PreHash::Sha3_512),
        (ck::CKM_HASH_SLH_DSA_SHAKE128, PreHash::Shake128),
        (ck::CKM_HASH_SLH_DSA_SHAKE256, PreHash::Shake256),
    ],
};

/// Whether the parameters are read for signing (hedging matters) or verifying (it is ignored,
/// as PKCS#11 3.2 says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Sign,
    Verify,
}

/// A signature mechanism with its parameter checked.
#[derive(Clone, Debug)]
pub struct SignSpec {
    pub input: Input,
    /// FIPS deterministic variant (CKH_DETERMINISTIC_REQUIRED); otherwise hedged.
    pub deterministic: bool,
    pub context: Vec<u8>,
}

fn param_invalid(m: &Mechanism, why: &str) -> Error {
    Error::new(
        ErrorKind::MechanismParamInvalid,
        format!("mechanism {:#x}: {why}", m.ty),
    )
}

/// Check the mechanism parameter of a signature mechanism of `family`.
pub fn parse(m: &Mechanism, family: &Mechanisms, role: Role) -> Result<SignSpec> {
    let (input, hedge, context) = if m.ty == family.pre_hashed {
        match &m.param {
            MechParam::HashSignContext {
                hedge,
                context,
                hash,
            } => {
                let Some(ph) = PreHash::from_digest_mechanism(*hash) else {
                    return Err(param_invalid(
                        m,
                        &format!("hash mechanism {hash:#x} is not a SHA-2 or SHA-3 digest this token can pre-hash with"),
                    ));
                };
                (Input::PreHashed(ph), *hedge, context.as_slice())
            }
            _ => {
                return Err(param_invalid(
                    m,
                    "needs a CK_HASH_SIGN_ADDITIONAL_CONTEXT naming the pre-hash function",
                ))
            }
        }
    } else {
        let input = if m.ty == family.pure {
            Input::Pure
        } else if let Some((_, ph)) = family.hash_on_token.iter().find(|(t, _)| *t == m.ty) {
            Input::HashOnToken(*ph)
        } else {
            return err(
                ErrorKind::MechanismInvalid,
                format!(
                    "mechanism {:#x} is not a signature mechanism of this key type",
                    m.ty
                ),
            );
        };
        match &m.param {
            MechParam::None => (input, ck::CKH_HEDGE_PREFERRED, &[][..]),
            MechParam::SignContext { hedge, context } => (input, *hedge, context.as_slice()),
            _ => {
                return Err(param_invalid(
                    m,
                    "takes no parameter or a CK_SIGN_ADDITIONAL_CONTEXT",
                ))
            }
        }
    };
    if context.len() > MAX_CONTEXT_LEN {
        return Err(param_invalid(
            m,
            &format!(
                "the context string is {} bytes; at most {MAX_CONTEXT_LEN} are allowed",
                context.len()
            ),
        ));
    }
    let deterministic = match (role, hedge) {
        (Role::Verify, _) => false,
        (Role::Sign, ck::CKH_HEDGE_PREFERRED | ck::CKH_HEDGE_REQUIRED) => false,
        (Role::Sign, ck::CKH_DETERMINISTIC_REQUIRED) => true,
        (Role::Sign, other) => {
            return Err(param_invalid(
                m,
                &format!("hedgeVariant {other:#x} is not CKH_HEDGE_PREFERRED, CKH_HEDGE_REQUIRED or CKH_DETERMINISTIC_REQUIRED"),
            ))
        }
    };
    Ok(SignSpec {
        input,
        deterministic,
        context: context.to_vec(),
    })
}

impl SignSpec {
    /// The bytes of M' before the message: the domain separator (0 pure, 1 pre-hash), the
    /// context length and context, and for pre-hash the DER of the hash OID.
    pub fn prefix(&self) -> Result<Vec<u8>> {
        let (domain, oid) = match self.input {
            Input::Pure => (0u8, None),
            Input::PreHashed(ph) | Input::HashOnToken(ph) => (1u8, Some(ph.oid())),
        };
        // The parser capped the context at 255 bytes, so its length fits the one length byte.
        let len = u8::try_from(self.context.len())
            .map_err(|_| Error::new(ErrorKind::MechanismParamInvalid, "context too long"))?;
        let mut out = vec![domain, len];
        out.extend_from_slice(&self.context);
        if let Some(oid) = oid {
            let der = oid.to_der().map_err(|e| {
                Error::new(
                    ErrorKind::General,
                    format!("encoding a hash OID failed: {e}"),
                )
            })?;
            out.extend_from_slice(&der);
        }
        Ok(out)
    }

    /// A message accumulator for an operation with this spec.
    pub fn message(&self) -> Message {
        Message {
            state: match self.input {
                Input::Pure => State::Pure,
                Input::PreHashed(ph) => State::PreHashed {
                    ph,
                    hash: Vec::new(),
                },
                Input::HashOnToken(ph) => State::Hashing(ph.hasher()),
            },
        }
    }
}

/// The part of M' that follows the prefix, as the caller feeds it.
pub struct Message {
    state: State,
}

enum State {
    Pure,
    PreHashed { ph: PreHash, hash: Vec<u8> },
    Hashing(Hasher),
}

impl Message {
    /// Feed message bytes. Pure message bytes are M' itself and go on to `sink` as they come;
    /// pre-hash input is collected or hashed here.
    pub fn update(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<()> {
        match &mut self.state {
            State::Pure => sink(data),
            State::PreHashed { ph, hash } => {
                if hash.len() + data.len() > ph.output_len() {
                    return err(
                        ErrorKind::DataLenRange,
                        format!(
                            "the pre-hashed input must be the {}-byte {ph:?} hash of the message",
                            ph.output_len()
                        ),
                    );
                }
                hash.extend_from_slice(data);
            }
            State::Hashing(h) => h.update(data),
        }
        Ok(())
    }

    /// The rest of M' after everything fed: PH(M) for the pre-hash variants, nothing for pure.
    pub fn finish(self) -> Result<Vec<u8>> {
        match self.state {
            State::Pure => Ok(Vec::new()),
            State::PreHashed { ph, hash } => {
                if hash.len() != ph.output_len() {
                    return err(
                        ErrorKind::DataLenRange,
                        format!(
                            "the pre-hashed input must be the {}-byte {ph:?} hash of the message, got {} bytes",
                            ph.output_len(),
                            hash.len()
                        ),
                    );
                }
                Ok(hash)
            }
            State::Hashing(h) => Ok(h.finish()),
        }
    }
}

/// The `rnd` input of ML-DSA signing and the `opt_rand` of SLH-DSA for a spec: fresh bytes
/// from the token's CSPRNG when hedged, None for the deterministic variant (each family then
/// uses what its standard prescribes: zeros for ML-DSA, PK.seed for SLH-DSA).
pub fn randomness(spec: &SignSpec, len: usize) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    if spec.deterministic {
        return None;
    }
    let mut r = zeroize::Zeroizing::new(vec![0u8; len]);
    crate::rng::fill_bytes(&mut r);
    Some(r)
}

/// A signature key of one family, as the shared operation drives it.
pub trait SignatureKey: Clone + Send + 'static {
    /// Where M' goes as it streams in: μ's hash for ML-DSA, a buffer for SLH-DSA.
    type Sink: Send;
    const ALGORITHM: &'static str;
    fn mechanisms() -> &'static Mechanisms;
    fn is_private(&self) -> bool;
    fn signature_len(&self) -> usize;
    /// A sink that has taken in the prefix of M'.
    fn sink(&self, prefix: &[u8]) -> Self::Sink;
    fn absorb(sink: &mut Self::Sink, data: &[u8]);
    /// Sign the complete M' (hedged or deterministic as `spec` says).
    fn sign(&self, m_prime: Self::Sink, spec: &SignSpec) -> Result<Vec<u8>>;
    fn verify(&self, m_prime: Self::Sink, sig: &[u8]) -> Result<()>;
}

/// A signature or verification in progress.
struct Operation<K: SignatureKey> {
    key: K,
    spec: SignSpec,
    /// Both are taken when the operation finishes.
    state: Option<(K::Sink, Message)>,
}

impl<K: SignatureKey> Operation<K> {
    fn new(key: &K, m: &Mechanism, role: Role) -> Result<Self> {
        let spec = parse(m, K::mechanisms(), role)?;
        let sink = key.sink(&spec.prefix()?);
        Ok(Operation {
            key: key.clone(),
            state: Some((sink, spec.message())),
            spec,
        })
    }

    fn update(&mut self, data: &[u8]) -> Result<()> {
        let Some((sink, message)) = self.state.as_mut() else {
            return finished();
        };
        message.update(data, &mut |d| K::absorb(sink, d))
    }

    /// The sink holding all of M'.
    fn complete(&mut self) -> Result<K::Sink> {
        let Some((mut sink, message)) = self.state.take() else {
            return finished();
        };
        K::absorb(&mut sink, &message.finish()?);
        Ok(sink)
    }
}

fn finished<T>() -> Result<T> {
    err(
        ErrorKind::OperationNotInitialized,
        "the signature operation has already finished",
    )
}

impl<K: SignatureKey> SignOp for Operation<K> {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        Operation::update(self, data)
    }
    fn sig_len(&self) -> usize {
        self.key.signature_len()
    }
    fn finish(&mut self) -> Result<Vec<u8>> {
        let m_prime = self.complete()?;
        self.key.sign(m_prime, &self.spec)
    }
}

impl<K: SignatureKey> VerifyOp for Operation<K> {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        Operation::update(self, data)
    }
    fn finish(&mut self, sig: &[u8]) -> Result<()> {
        let m_prime = self.complete()?;
        self.key.verify(m_prime, sig)
    }
}

/// C_SignInit with a private key of the family.
pub fn sign_init<K: SignatureKey>(key: &K, m: &Mechanism) -> Result<Box<dyn SignOp>> {
    if !key.is_private() {
        return err(
            ErrorKind::KeyTypeInconsistent,
            format!(
                "signing needs the {} private key; this is the public key",
                K::ALGORITHM
            ),
        );
    }
    Ok(Box::new(Operation::new(key, m, Role::Sign)?))
}

/// C_VerifyInit with a public key of the family.
pub fn verify_init<K: SignatureKey>(key: &K, m: &Mechanism) -> Result<Box<dyn VerifyOp>> {
    if key.is_private() {
        return err(
            ErrorKind::KeyTypeInconsistent,
            format!(
                "verification takes the {} public key; this is the private key",
                K::ALGORITHM
            ),
        );
    }
    Ok(Box::new(Operation::new(key, m, Role::Verify)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mech(ty: MechType, param: MechParam) -> Mechanism {
        Mechanism { ty, param }
    }

    #[test]
    fn defaults_are_hedged_with_an_empty_context() {
        let s = parse(&Mechanism::new(ck::CKM_ML_DSA), &ML_DSA, Role::Sign).unwrap();
        assert_eq!(s.input, Input::Pure);
        assert!(!s.deterministic);
        assert!(s.context.is_empty());
        assert_eq!(s.prefix().unwrap(), vec![0, 0]);
    }

    #[test]
    fn hedge_variants_and_context_length() {
        let ctx = |hedge, n| {
            mech(
                ck::CKM_SLH_DSA,
                MechParam::SignContext {
                    hedge,
                    context: vec![7; n],
                },
            )
        };
        assert!(
            parse(
                &ctx(ck::CKH_DETERMINISTIC_REQUIRED, 3),
                &SLH_DSA,
                Role::Sign
            )
            .unwrap()
            .deterministic
        );
        assert!(
            !parse(&ctx(ck::CKH_HEDGE_REQUIRED, 3), &SLH_DSA, Role::Sign)
                .unwrap()
                .deterministic
        );
        assert_eq!(
            parse(&ctx(7, 3), &SLH_DSA, Role::Sign).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid
        );
        // Verification ignores the hedge variant.
        assert!(parse(&ctx(7, 3), &SLH_DSA, Role::Verify).is_ok());
        assert!(parse(&ctx(ck::CKH_HEDGE_PREFERRED, 255), &SLH_DSA, Role::Sign).is_ok());
        for role in [Role::Sign, Role::Verify] {
            assert_eq!(
                parse(&ctx(ck::CKH_HEDGE_PREFERRED, 256), &SLH_DSA, role)
                    .unwrap_err()
                    .kind(),
                ErrorKind::MechanismParamInvalid
            );
        }
        let s = parse(&ctx(ck::CKH_HEDGE_PREFERRED, 3), &SLH_DSA, Role::Sign).unwrap();
        assert_eq!(s.prefix().unwrap(), vec![0, 3, 7, 7, 7]);
    }

    #[test]
    fn pre_hash_prefix_carries_the_hash_oid() {
        let m = mech(
            ck::CKM_HASH_ML_DSA,
            MechParam::HashSignContext {
                hedge: ck::CKH_HEDGE_PREFERRED,
                context: vec![],
                hash: ck::CKM_SHA256,
            },
        );
        let s = parse(&m, &ML_DSA, Role::Sign).unwrap();
        assert_eq!(s.input, Input::PreHashed(PreHash::Sha256));
        // 0x01, context length 0, then DER 06 09 60 86 48 01 65 03 04 02 01 (FIPS 204 Alg. 4).
        assert_eq!(
            hex::encode(s.prefix().unwrap()),
            "01000609608648016503040201"
        );
        let shake = parse(
            &Mechanism::new(ck::CKM_HASH_SLH_DSA_SHAKE256),
            &SLH_DSA,
            Role::Sign,
        )
        .unwrap();
        assert_eq!(
            hex::encode(shake.prefix().unwrap()),
            "0100060960864801650304020c"
        );
    }

    #[test]
    fn pre_hashed_input_must_have_the_hash_length() {
        let m = mech(
            ck::CKM_HASH_SLH_DSA,
            MechParam::HashSignContext {
                hedge: ck::CKH_HEDGE_PREFERRED,
                context: vec![],
                hash: ck::CKM_SHA384,
            },
        );
        let s = parse(&m, &SLH_DSA, Role::Sign).unwrap();
        let mut sink = |_: &[u8]| panic!("pre-hashed input is not streamed");
        let mut msg = s.message();
        msg.update(&[1; 47], &mut sink).unwrap();
        assert_eq!(msg.finish().unwrap_err().kind(), ErrorKind::DataLenRange);
        let mut msg = s.message();
        assert_eq!(
            msg.update(&[1; 49], &mut sink).unwrap_err().kind(),
            ErrorKind::DataLenRange
        );
        let mut msg = s.message();
        msg.update(&[1; 48], &mut sink).unwrap();
        assert_eq!(msg.finish().unwrap(), vec![1; 48]);
        // A pre-hashed mechanism without its parameter, or with an unknown hash, is refused.
        for bad in [
            Mechanism::new(ck::CKM_HASH_SLH_DSA),
            mech(
                ck::CKM_HASH_SLH_DSA,
                MechParam::HashSignContext {
                    hedge: ck::CKH_HEDGE_PREFERRED,
                    context: vec![],
                    hash: ck::CKM_MD5,
                },
            ),
        ] {
            assert_eq!(
                parse(&bad, &SLH_DSA, Role::Sign).unwrap_err().kind(),
                ErrorKind::MechanismParamInvalid
            );
        }
    }

    #[test]
    fn hashes_match_known_answers() {
        // FIPS 180-4 / 202 "abc" vectors, and the SHAKE output lengths FIPS 204 fixes.
        let abc = b"abc";
        assert_eq!(
            hex::encode(PreHash::Sha256.digest(abc)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(PreHash::Sha3_256.digest(abc)),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert_eq!(
            hex::encode(PreHash::Shake128.digest(b"")),
            "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26"
        );
        for ph in [
            PreHash::Sha224,
            PreHash::Sha384,
            PreHash::Sha512,
            PreHash::Sha512_224,
            PreHash::Sha512_256,
            PreHash::Sha3_224,
            PreHash::Sha3_384,
            PreHash::Sha3_512,
            PreHash::Shake256,
        ] {
            assert_eq!(ph.digest(abc).len(), ph.output_len(), "{ph:?}");
        }
    }
}
