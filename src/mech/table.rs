//! The mechanism table: every mechanism the token offers, with the family that serves it,
//! key types, key sizes and flags. C_GetMechanismList, C_GetMechanismInfo and dispatch read
//! only this; a mechanism missing here does not exist for any caller.

use super::ec;
use super::family::Family;
use super::params::MechType;
use super::provider::{self, Serves};
use super::{aes, digest, eddsa, hmac, kdf, mldsa, mlkem, rsa, slhdsa};
use cryptoki_sys as ck;

/// One mechanism row.
#[derive(Clone, Copy, Debug)]
pub struct MechSpec {
    pub ty: MechType,
    pub name: &'static str,
    /// The family module that implements it; dispatch calls only this.
    pub family: &'static dyn Family,
    pub key_types: &'static [ck::CK_KEY_TYPE],
    pub min_key_size: u64,
    pub max_key_size: u64,
    pub flags: ck::CK_FLAGS,
    /// Who computes: the provider of the private-key and of the public-key operations.
    pub serves: Serves,
    /// The mechanism takes its data in one C_Sign/C_Verify/C_VerifySignature call only:
    /// the session refuses *Update for it (see `session::ops::Parts`).
    pub single_part: bool,
}

const SIGN_VERIFY: ck::CK_FLAGS = ck::CKF_SIGN | ck::CKF_VERIFY;
const ENC_DEC: ck::CK_FLAGS = ck::CKF_ENCRYPT | ck::CKF_DECRYPT;
const WRAP_UNWRAP: ck::CK_FLAGS = ck::CKF_WRAP | ck::CKF_UNWRAP;
/// Named prime curves over F_p given by OID, public points uncompressed.
const EC_CAPS: ck::CK_FLAGS = ck::CKF_EC_F_P | ck::CKF_EC_NAMEDCURVE | ck::CKF_EC_UNCOMPRESS;

const RSA: &[ck::CK_KEY_TYPE] = &[ck::CKK_RSA];
const EC: &[ck::CK_KEY_TYPE] = &[ck::CKK_EC];
const EDWARDS: &[ck::CK_KEY_TYPE] = &[ck::CKK_EC_EDWARDS];
const AES: &[ck::CK_KEY_TYPE] = &[ck::CKK_AES];
const GENERIC: &[ck::CK_KEY_TYPE] = &[ck::CKK_GENERIC_SECRET];
const NO_KEY: &[ck::CK_KEY_TYPE] = &[];
/// Keys an HMAC mechanism accepts: generic secrets and the matching CKK_SHA*_HMAC type.
const HMAC_SHA256: &[ck::CK_KEY_TYPE] = &[ck::CKK_GENERIC_SECRET, ck::CKK_SHA256_HMAC];
const HMAC_SHA384: &[ck::CK_KEY_TYPE] = &[ck::CKK_GENERIC_SECRET, ck::CKK_SHA384_HMAC];
const HMAC_SHA512: &[ck::CK_KEY_TYPE] = &[ck::CKK_GENERIC_SECRET, ck::CKK_SHA512_HMAC];
const HKDF_BASE: &[ck::CK_KEY_TYPE] = &[ck::CKK_GENERIC_SECRET, ck::CKK_HKDF];
const ML_KEM: &[ck::CK_KEY_TYPE] = &[ck::CKK_ML_KEM];
const ML_DSA: &[ck::CK_KEY_TYPE] = &[ck::CKK_ML_DSA];
const SLH_DSA: &[ck::CK_KEY_TYPE] = &[ck::CKK_SLH_DSA];
const ENCAPS_DECAPS: ck::CK_FLAGS = ck::CKF_ENCAPSULATE | ck::CKF_DECAPSULATE;

/// RSA modulus sizes in bits.
pub const RSA_MIN_BITS: u64 = 2048;
pub const RSA_MAX_BITS: u64 = 4096;
/// HMAC/generic secret sizes in bytes. The maximum is the longest secret HKDF can derive
/// (255 blocks of SHA-512), so every derivation RFC 5869 allows fits in a key object.
pub const SECRET_MIN_BYTES: u64 = 1;
pub const SECRET_MAX_BYTES: u64 = 255 * 64;
/// Post-quantum key sizes are public key lengths in bytes (PKCS#11 3.2 says so for every
/// ML-KEM, ML-DSA and SLH-DSA mechanism): ML-KEM-512..1024, ML-DSA-44..87, SLH-DSA n=16..32.
pub const ML_KEM_MIN: u64 = 800;
pub const ML_KEM_MAX: u64 = 1568;
pub const ML_DSA_MIN: u64 = 1312;
pub const ML_DSA_MAX: u64 = 2592;
pub const SLH_DSA_MIN: u64 = 32;
pub const SLH_DSA_MAX: u64 = 64;

macro_rules! row {
    ($ty:ident, $fam:expr, $keys:expr, $min:expr, $max:expr, $flags:expr, $serves:expr) => {
        row!(@ $ty, $fam, $keys, $min, $max, $flags, $serves, false)
    };
    ($ty:ident, $fam:expr, $keys:expr, $min:expr, $max:expr, $flags:expr, $serves:expr, single_part) => {
        row!(@ $ty, $fam, $keys, $min, $max, $flags, $serves, true)
    };
    (@ $ty:ident, $fam:expr, $keys:expr, $min:expr, $max:expr, $flags:expr, $serves:expr, $single:expr) => {
        MechSpec {
            ty: ck::$ty,
            name: stringify!($ty),
            family: $fam,
            key_types: $keys,
            min_key_size: $min,
            max_key_size: $max,
            flags: $flags,
            serves: $serves,
            single_part: $single,
        }
    };
}

/// Providers (see `provider`): aws-lc-rs serves where `benches/providers.rs` measured it
/// faster; RustCrypto keeps what it does as fast (digests, HMAC, HKDF, AES key wrap,
/// Ed25519 verification), what aws-lc-rs lacks (SLH-DSA, pre-hash ML-DSA, the other AES
/// modes) and what must draw on the token's generator (RSA key generation, ML-KEM
/// encapsulation, RSA encryption padding).
const AWS: Serves = provider::AWS_LC;
const AWS_PRIVATE: Serves = provider::AWS_LC_PRIVATE;
const RC: Serves = provider::RUST_CRYPTO;

#[rustfmt::skip]
pub static MECHANISMS: &[MechSpec] = &[
    // ----- RSA -----
    row!(CKM_RSA_PKCS_KEY_PAIR_GEN, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, ck::CKF_GENERATE_KEY_PAIR, RC),
    row!(CKM_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY | ENC_DEC | WRAP_UNWRAP, AWS_PRIVATE),
    row!(CKM_SHA256_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY, AWS),
    row!(CKM_SHA384_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY, AWS),
    row!(CKM_SHA512_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY, AWS),
    row!(CKM_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY, AWS),
    row!(CKM_SHA256_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY, AWS),
    row!(CKM_SHA384_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY, AWS),
    row!(CKM_SHA512_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY, AWS),
    row!(CKM_RSA_PKCS_OAEP, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, ENC_DEC | WRAP_UNWRAP, AWS_PRIVATE),
    // ----- EC (NIST prime curves) -----
    row!(CKM_EC_KEY_PAIR_GEN, &ec::Ec, EC, 256, 521, ck::CKF_GENERATE_KEY_PAIR | EC_CAPS, AWS),
    row!(CKM_ECDSA, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS, AWS),
    row!(CKM_ECDSA_SHA256, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS, AWS),
    row!(CKM_ECDSA_SHA384, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS, AWS),
    row!(CKM_ECDSA_SHA512, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS, AWS),
    row!(CKM_ECDH1_DERIVE, &ec::Ec, EC, 256, 521, ck::CKF_DERIVE | EC_CAPS, AWS),
    // ----- Edwards curves -----
    row!(CKM_EC_EDWARDS_KEY_PAIR_GEN, &eddsa::EdDsa, EDWARDS, 256, 256, ck::CKF_GENERATE_KEY_PAIR, RC),
    row!(CKM_EDDSA, &eddsa::EdDsa, EDWARDS, 256, 256, SIGN_VERIFY, AWS_PRIVATE),
    // ----- AES -----
    row!(CKM_AES_KEY_GEN, &aes::Aes, AES, 16, 32, ck::CKF_GENERATE, RC),
    row!(CKM_AES_ECB, &aes::Aes, AES, 16, 32, ENC_DEC, RC),
    row!(CKM_AES_CBC, &aes::Aes, AES, 16, 32, ENC_DEC, RC),
    row!(CKM_AES_CBC_PAD, &aes::Aes, AES, 16, 32, ENC_DEC | WRAP_UNWRAP, RC),
    row!(CKM_AES_CTR, &aes::Aes, AES, 16, 32, ENC_DEC, RC),
    row!(CKM_AES_GCM, &aes::Aes, AES, 16, 32, ENC_DEC | ck::CKF_MESSAGE_ENCRYPT | ck::CKF_MESSAGE_DECRYPT | ck::CKF_MULTI_MESSAGE, AWS),
    row!(CKM_AES_CMAC, &aes::Aes, AES, 16, 32, SIGN_VERIFY, RC),
    row!(CKM_AES_CMAC_GENERAL, &aes::Aes, AES, 16, 32, SIGN_VERIFY, RC),
    row!(CKM_AES_KEY_WRAP, &aes::Aes, AES, 16, 32, ENC_DEC | WRAP_UNWRAP, RC),
    row!(CKM_AES_KEY_WRAP_KWP, &aes::Aes, AES, 16, 32, ENC_DEC | WRAP_UNWRAP, RC),
    // ----- HMAC and generic secrets -----
    row!(CKM_GENERIC_SECRET_KEY_GEN, &hmac::Hmac, GENERIC, SECRET_MIN_BYTES, SECRET_MAX_BYTES, ck::CKF_GENERATE, RC),
    row!(CKM_SHA256_HMAC, &hmac::Hmac, HMAC_SHA256, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY, RC),
    row!(CKM_SHA256_HMAC_GENERAL, &hmac::Hmac, HMAC_SHA256, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY, RC),
    row!(CKM_SHA384_HMAC, &hmac::Hmac, HMAC_SHA384, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY, RC),
    row!(CKM_SHA384_HMAC_GENERAL, &hmac::Hmac, HMAC_SHA384, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY, RC),
    row!(CKM_SHA512_HMAC, &hmac::Hmac, HMAC_SHA512, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY, RC),
    row!(CKM_SHA512_HMAC_GENERAL, &hmac::Hmac, HMAC_SHA512, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY, RC),
    // ----- digests -----
    row!(CKM_SHA224, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST, RC),
    row!(CKM_SHA256, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST, RC),
    row!(CKM_SHA384, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST, RC),
    row!(CKM_SHA512, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST, RC),
    // ----- key derivation -----
    row!(CKM_HKDF_KEY_GEN, &kdf::Kdf, &[ck::CKK_HKDF], SECRET_MIN_BYTES, SECRET_MAX_BYTES, ck::CKF_GENERATE, RC),
    row!(CKM_HKDF_DERIVE, &kdf::Kdf, HKDF_BASE, SECRET_MIN_BYTES, SECRET_MAX_BYTES, ck::CKF_DERIVE, RC),
    // ----- ML-KEM (FIPS 203) -----
    row!(CKM_ML_KEM_KEY_PAIR_GEN, &mlkem::MlKem, ML_KEM, ML_KEM_MIN, ML_KEM_MAX, ck::CKF_GENERATE_KEY_PAIR, RC),
    row!(CKM_ML_KEM, &mlkem::MlKem, ML_KEM, ML_KEM_MIN, ML_KEM_MAX, ENCAPS_DECAPS, AWS_PRIVATE),
    // ----- ML-DSA (FIPS 204) -----
    // PKCS#11 3.2 (HashML-DSA): CKM_HASH_ML_DSA "is a single part mechanism", its C_Sign and
    // C_Verify rows say "Single-part operations only". Pure CKM_ML_DSA restricts only
    // multi-part C_Verify (allowed through C_VerifySignatureInit); we allow C_VerifyUpdate
    // too: FIPS 204 verification streams the message without the signature, so nothing is
    // lost, and 3.2 clients (the cryptoki crate's own ML-DSA tests) verify in parts.
    row!(CKM_ML_DSA_KEY_PAIR_GEN, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, ck::CKF_GENERATE_KEY_PAIR, RC),
    row!(CKM_ML_DSA, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, AWS),
    row!(CKM_HASH_ML_DSA, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC, single_part),
    row!(CKM_HASH_ML_DSA_SHA224, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHA256, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHA384, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHA512, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHA3_224, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHA3_256, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHA3_384, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHA3_512, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHAKE128, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_ML_DSA_SHAKE256, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY, RC),
    // ----- SLH-DSA (FIPS 205) -----
    // CKM_HASH_SLH_DSA is single-part like CKM_HASH_ML_DSA; pure CKM_SLH_DSA verifies in parts
    // as CKM_ML_DSA does (the family buffers M' until the signature comes).
    row!(CKM_SLH_DSA_KEY_PAIR_GEN, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, ck::CKF_GENERATE_KEY_PAIR, RC),
    row!(CKM_SLH_DSA, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC, single_part),
    row!(CKM_HASH_SLH_DSA_SHA224, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHA256, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHA384, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHA512, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHA3_224, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHA3_256, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHA3_384, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHA3_512, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHAKE128, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
    row!(CKM_HASH_SLH_DSA_SHAKE256, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY, RC),
];

/// The functions (CKF_*) some mechanism offers for keys of `key_type`, folded from the
/// table once.
pub fn functions_for(key_type: ck::CK_KEY_TYPE) -> ck::CK_FLAGS {
    static BY_KEY_TYPE: std::sync::OnceLock<crate::handle_map::HandleMap<ck::CK_FLAGS>> =
        std::sync::OnceLock::new();
    let by_type = BY_KEY_TYPE.get_or_init(|| {
        let mut m = crate::handle_map::HandleMap::default();
        for spec in MECHANISMS {
            for t in spec.key_types {
                *m.entry(*t).or_default() |= spec.flags;
            }
        }
        m
    });
    by_type.get(&key_type).copied().unwrap_or(0)
}

/// The row of `ty`. Every operation start asks (dispatch, key checks, provider choice), so
/// the rows are indexed once rather than scanned each time.
pub fn lookup(ty: MechType) -> Option<&'static MechSpec> {
    static INDEX: std::sync::OnceLock<crate::handle_map::HandleMap<usize>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        MECHANISMS
            .iter()
            .enumerate()
            .map(|(i, m)| (m.ty, i))
            .collect()
    });
    index.get(&ty).map(|i| &MECHANISMS[*i])
}

#[cfg(test)]
mod tests {
    //! The table must be truthful: every function a row advertises works for that row.
    use super::*;
    use crate::attr::{Attr, Template};
    use crate::mech::params::{HkdfSalt, MechParam, Mechanism};
    use crate::mech::test_support::{generate_pair, secret};
    use crate::mech::{self, ec::Curve, KeyMaterial};

    /// A private and a public key of this type (the same key for secret keys).
    fn keys_for(key_type: ck::CK_KEY_TYPE) -> (KeyMaterial, KeyMaterial) {
        let pair = |m, t| {
            let (prv, public, _) = generate_pair(m, t);
            (prv, public)
        };
        match key_type {
            ck::CKK_RSA => pair(
                ck::CKM_RSA_PKCS_KEY_PAIR_GEN,
                vec![Attr::ulong(ck::CKA_MODULUS_BITS, 2048)],
            ),
            ck::CKK_EC => pair(
                ck::CKM_EC_KEY_PAIR_GEN,
                vec![Attr::new(ck::CKA_EC_PARAMS, Curve::P256.ec_params())],
            ),
            ck::CKK_EC_EDWARDS => pair(ck::CKM_EC_EDWARDS_KEY_PAIR_GEN, vec![]),
            ck::CKK_ML_KEM => pair(
                ck::CKM_ML_KEM_KEY_PAIR_GEN,
                vec![Attr::ulong(ck::CKA_PARAMETER_SET, ck::CKP_ML_KEM_768)],
            ),
            ck::CKK_ML_DSA => pair(
                ck::CKM_ML_DSA_KEY_PAIR_GEN,
                vec![Attr::ulong(ck::CKA_PARAMETER_SET, ck::CKP_ML_DSA_44)],
            ),
            ck::CKK_SLH_DSA => pair(
                ck::CKM_SLH_DSA_KEY_PAIR_GEN,
                vec![Attr::ulong(
                    ck::CKA_PARAMETER_SET,
                    ck::CKP_SLH_DSA_SHA2_128F,
                )],
            ),
            t => (secret(t, &[0x42; 32]), secret(t, &[0x42; 32])),
        }
    }

    /// A parameter each mechanism accepts.
    fn param(ty: MechType, peer: &KeyMaterial) -> MechParam {
        match ty {
            ck::CKM_AES_CBC | ck::CKM_AES_CBC_PAD => MechParam::Bytes(vec![0; 16]),
            ck::CKM_AES_CTR => MechParam::Ctr {
                counter_bits: 32,
                cb: [0; 16],
            },
            ck::CKM_AES_GCM => MechParam::Gcm {
                iv: vec![1; 12],
                aad: vec![],
                tag_bits: 128,
            },
            ck::CKM_RSA_PKCS_PSS | ck::CKM_SHA256_RSA_PKCS_PSS => MechParam::Pss {
                hash: ck::CKM_SHA256,
                mgf: ck::CKG_MGF1_SHA256,
                salt_len: 32,
            },
            ck::CKM_SHA384_RSA_PKCS_PSS => MechParam::Pss {
                hash: ck::CKM_SHA384,
                mgf: ck::CKG_MGF1_SHA384,
                salt_len: 48,
            },
            ck::CKM_SHA512_RSA_PKCS_PSS => MechParam::Pss {
                hash: ck::CKM_SHA512,
                mgf: ck::CKG_MGF1_SHA512,
                salt_len: 64,
            },
            ck::CKM_RSA_PKCS_OAEP => MechParam::Oaep {
                hash: ck::CKM_SHA256,
                mgf: ck::CKG_MGF1_SHA256,
                label: vec![],
            },
            ck::CKM_ECDH1_DERIVE => {
                let KeyMaterial::Ec(k) = peer else {
                    panic!("ECDH needs an EC peer")
                };
                MechParam::Ecdh {
                    kdf: ck::CKD_NULL,
                    shared_data: vec![],
                    public_data: k.point().to_vec(),
                }
            }
            ck::CKM_HKDF_DERIVE => MechParam::Hkdf {
                extract: true,
                expand: true,
                prf: ck::CKM_SHA256,
                salt: HkdfSalt::Null,
                info: vec![],
            },
            ck::CKM_AES_CMAC_GENERAL
            | ck::CKM_SHA256_HMAC_GENERAL
            | ck::CKM_SHA384_HMAC_GENERAL
            | ck::CKM_SHA512_HMAC_GENERAL => MechParam::MacLen(16),
            // The 32 bytes of test data stand for a SHA-256 hash.
            ck::CKM_HASH_ML_DSA | ck::CKM_HASH_SLH_DSA => MechParam::HashSignContext {
                hedge: ck::CKH_HEDGE_PREFERRED,
                context: vec![],
                hash: ck::CKM_SHA256,
            },
            _ => MechParam::None,
        }
    }

    #[test]
    fn every_advertised_function_works() {
        let mut checked = 0;
        for row in MECHANISMS {
            let key_type = row
                .key_types
                .first()
                .copied()
                .unwrap_or(ck::CKK_GENERIC_SECRET);
            let (prv, public) = keys_for(key_type);
            let m = Mechanism {
                ty: row.ty,
                param: param(row.ty, &public),
            };
            let has = |f| row.flags & f != 0;
            let ctx = |what: &str| format!("{} advertises {what}", row.name);
            // Raw-input mechanisms get input of a size they take.
            let data: &[u8] = &[0x33; 32];
            if has(ck::CKF_SIGN) {
                let mut op =
                    mech::sign_init(&m, &prv).unwrap_or_else(|e| panic!("{}: {e:?}", ctx("sign")));
                op.update(data)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("sign")));
                let sig = op
                    .finish()
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("sign")));
                if has(ck::CKF_VERIFY) {
                    let mut v = mech::verify_init(&m, &public)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("verify")));
                    v.update(data)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("verify")));
                    v.finish(&sig)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("verify")));
                }
                checked += 1;
            }
            if has(ck::CKF_ENCRYPT) {
                let mut op = mech::encrypt_init(&m, &public)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("encrypt")));
                let mut ct = op
                    .update(data)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("encrypt")))
                    .to_vec();
                ct.extend_from_slice(
                    &op.finish()
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("encrypt"))),
                );
                if has(ck::CKF_DECRYPT) {
                    let mut op = mech::decrypt_init(&m, &prv)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("decrypt")));
                    let mut pt = op
                        .update(&ct)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("decrypt")))
                        .to_vec();
                    pt.extend_from_slice(
                        &op.finish()
                            .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("decrypt"))),
                    );
                    assert_eq!(pt, data, "{}", ctx("a decrypt that inverts encrypt"));
                }
                checked += 1;
            }
            if has(ck::CKF_WRAP) {
                let wrapped = mech::wrap(&m, &public, data)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("wrap")));
                assert!(
                    mech::wrap_len(&m, &public, data.len())
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("wrap")))
                        >= wrapped.len()
                );
                if has(ck::CKF_UNWRAP) {
                    assert_eq!(
                        *mech::unwrap(&m, &prv, &wrapped)
                            .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("unwrap"))),
                        data
                    );
                }
                checked += 1;
            }
            if has(ck::CKF_DERIVE) {
                mech::derive(&m, &prv, None, Some(16))
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("derive")));
                checked += 1;
            }
            if has(ck::CKF_DIGEST) {
                let mut op =
                    mech::digest_init(&m).unwrap_or_else(|e| panic!("{}: {e:?}", ctx("digest")));
                op.update(data);
                assert_eq!(op.finish().len(), op.len());
                checked += 1;
            }
            if has(ck::CKF_GENERATE) {
                let t = Template::new(vec![Attr::ulong(ck::CKA_VALUE_LEN, 32)]).unwrap();
                let (kt, _) = mech::generate_key(&m, &t)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("generate")));
                assert!(
                    row.key_types.contains(&kt),
                    "{}",
                    ctx("the key type it generates")
                );
                checked += 1;
            }
            if has(ck::CKF_ENCAPSULATE) {
                let (ct, ss) = mech::encapsulate(&m, &public)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("encapsulate")));
                assert_eq!(mech::ciphertext_len(&m, &public).unwrap(), ct.len());
                if has(ck::CKF_DECAPSULATE) {
                    let back = mech::decapsulate(&m, &prv, &ct)
                        .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("decapsulate")));
                    assert_eq!(
                        back,
                        ss,
                        "{}",
                        ctx("a decapsulate that inverts encapsulate")
                    );
                }
                checked += 1;
            }
            if has(ck::CKF_GENERATE_KEY_PAIR) {
                // keys_for() generated this row's pair already.
                checked += 1;
            }
            if has(ck::CKF_MESSAGE_ENCRYPT) {
                let (ct, tag) = mech::gcm_seal(&public, &[1; 12], b"aad", data, 16)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", ctx("message encrypt")));
                assert_eq!(
                    *mech::gcm_open(&prv, &[1; 12], b"aad", &ct, &tag).unwrap(),
                    data
                );
                checked += 1;
            }
        }
        assert!(checked >= MECHANISMS.len());
    }

    #[test]
    fn functions_a_row_does_not_advertise_are_refused() {
        let (prv, _) = keys_for(ck::CKK_EC);
        let e = mech::encrypt_init(&Mechanism::new(ck::CKM_ECDSA), &prv)
            .err()
            .unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::MechanismInvalid);
        let e = mech::sign_init(&Mechanism::new(0x8000_1234), &prv)
            .err()
            .unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::MechanismInvalid);
        let e = mech::sign_init(&Mechanism::new(ck::CKM_SHA256_RSA_PKCS), &prv)
            .err()
            .unwrap();
        assert_eq!(e.kind(), crate::error::ErrorKind::KeyTypeInconsistent);
    }

    #[test]
    fn single_part_rows_are_the_pre_hashed_signatures() {
        use crate::mech::pqc_sign::{ML_DSA, SLH_DSA};
        let pre_hashed = [ML_DSA.pre_hashed, SLH_DSA.pre_hashed];
        for row in MECHANISMS {
            assert_eq!(
                row.single_part,
                pre_hashed.contains(&row.ty),
                "{}",
                row.name
            );
        }
    }

    #[test]
    fn rows_are_unique_and_sizes_ordered() {
        for (i, row) in MECHANISMS.iter().enumerate() {
            assert!(
                MECHANISMS[..i].iter().all(|r| r.ty != row.ty),
                "{} listed twice",
                row.name
            );
            assert!(row.min_key_size <= row.max_key_size, "{}", row.name);
        }
    }
}
