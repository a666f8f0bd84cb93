//! The mechanism table: every mechanism the token offers, with the family that serves it,
//! key types, key sizes and flags. C_GetMechanismList, C_GetMechanismInfo and dispatch read
//! only this; a mechanism missing here does not exist for any caller.

use super::ec;
use super::family::Family;
use super::params::MechType;
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
/// HMAC/generic secret sizes in bytes: at least 112 bits of key, at most what a client
/// can reasonably hold in one attribute.
pub const SECRET_MIN_BYTES: u64 = 1;
pub const SECRET_MAX_BYTES: u64 = 512;
/// Post-quantum key sizes are public key lengths in bytes (PKCS#11 3.2 says so for every
/// ML-KEM, ML-DSA and SLH-DSA mechanism): ML-KEM-512..1024, ML-DSA-44..87, SLH-DSA n=16..32.
pub const ML_KEM_MIN: u64 = 800;
pub const ML_KEM_MAX: u64 = 1568;
pub const ML_DSA_MIN: u64 = 1312;
pub const ML_DSA_MAX: u64 = 2592;
pub const SLH_DSA_MIN: u64 = 32;
pub const SLH_DSA_MAX: u64 = 64;

macro_rules! row {
    ($ty:ident, $fam:expr, $keys:expr, $min:expr, $max:expr, $flags:expr) => {
        MechSpec {
            ty: ck::$ty,
            name: stringify!($ty),
            family: $fam,
            key_types: $keys,
            min_key_size: $min,
            max_key_size: $max,
            flags: $flags,
        }
    };
}

#[rustfmt::skip]
pub static MECHANISMS: &[MechSpec] = &[
    // ----- RSA -----
    row!(CKM_RSA_PKCS_KEY_PAIR_GEN, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, ck::CKF_GENERATE_KEY_PAIR),
    row!(CKM_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY | ENC_DEC | WRAP_UNWRAP),
    row!(CKM_SHA256_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY),
    row!(CKM_SHA384_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY),
    row!(CKM_SHA512_RSA_PKCS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY),
    row!(CKM_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY),
    row!(CKM_SHA256_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY),
    row!(CKM_SHA384_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY),
    row!(CKM_SHA512_RSA_PKCS_PSS, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, SIGN_VERIFY),
    row!(CKM_RSA_PKCS_OAEP, &rsa::Rsa, RSA, RSA_MIN_BITS, RSA_MAX_BITS, ENC_DEC | WRAP_UNWRAP),
    // ----- EC (NIST prime curves) -----
    row!(CKM_EC_KEY_PAIR_GEN, &ec::Ec, EC, 256, 521, ck::CKF_GENERATE_KEY_PAIR | EC_CAPS),
    row!(CKM_ECDSA, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS),
    row!(CKM_ECDSA_SHA256, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS),
    row!(CKM_ECDSA_SHA384, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS),
    row!(CKM_ECDSA_SHA512, &ec::Ec, EC, 256, 521, SIGN_VERIFY | EC_CAPS),
    row!(CKM_ECDH1_DERIVE, &ec::Ec, EC, 256, 521, ck::CKF_DERIVE | EC_CAPS),
    // ----- Edwards curves -----
    row!(CKM_EC_EDWARDS_KEY_PAIR_GEN, &eddsa::EdDsa, EDWARDS, 256, 256, ck::CKF_GENERATE_KEY_PAIR),
    row!(CKM_EDDSA, &eddsa::EdDsa, EDWARDS, 256, 256, SIGN_VERIFY),
    // ----- AES -----
    row!(CKM_AES_KEY_GEN, &aes::Aes, AES, 16, 32, ck::CKF_GENERATE),
    row!(CKM_AES_ECB, &aes::Aes, AES, 16, 32, ENC_DEC),
    row!(CKM_AES_CBC, &aes::Aes, AES, 16, 32, ENC_DEC),
    row!(CKM_AES_CBC_PAD, &aes::Aes, AES, 16, 32, ENC_DEC | WRAP_UNWRAP),
    row!(CKM_AES_CTR, &aes::Aes, AES, 16, 32, ENC_DEC),
    row!(CKM_AES_GCM, &aes::Aes, AES, 16, 32, ENC_DEC | ck::CKF_MESSAGE_ENCRYPT | ck::CKF_MESSAGE_DECRYPT | ck::CKF_MULTI_MESSAGE),
    row!(CKM_AES_CMAC, &aes::Aes, AES, 16, 32, SIGN_VERIFY),
    row!(CKM_AES_CMAC_GENERAL, &aes::Aes, AES, 16, 32, SIGN_VERIFY),
    row!(CKM_AES_KEY_WRAP, &aes::Aes, AES, 16, 32, ENC_DEC | WRAP_UNWRAP),
    row!(CKM_AES_KEY_WRAP_KWP, &aes::Aes, AES, 16, 32, ENC_DEC | WRAP_UNWRAP),
    // ----- HMAC and generic secrets -----
    row!(CKM_GENERIC_SECRET_KEY_GEN, &hmac::Hmac, GENERIC, SECRET_MIN_BYTES, SECRET_MAX_BYTES, ck::CKF_GENERATE),
    row!(CKM_SHA256_HMAC, &hmac::Hmac, HMAC_SHA256, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY),
    row!(CKM_SHA256_HMAC_GENERAL, &hmac::Hmac, HMAC_SHA256, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY),
    row!(CKM_SHA384_HMAC, &hmac::Hmac, HMAC_SHA384, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY),
    row!(CKM_SHA384_HMAC_GENERAL, &hmac::Hmac, HMAC_SHA384, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY),
    row!(CKM_SHA512_HMAC, &hmac::Hmac, HMAC_SHA512, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY),
    row!(CKM_SHA512_HMAC_GENERAL, &hmac::Hmac, HMAC_SHA512, SECRET_MIN_BYTES, SECRET_MAX_BYTES, SIGN_VERIFY),
    // ----- digests -----
    row!(CKM_SHA224, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST),
    row!(CKM_SHA256, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST),
    row!(CKM_SHA384, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST),
    row!(CKM_SHA512, &digest::Digest, NO_KEY, 0, 0, ck::CKF_DIGEST),
    // ----- key derivation -----
    row!(CKM_HKDF_KEY_GEN, &kdf::Kdf, &[ck::CKK_HKDF], SECRET_MIN_BYTES, SECRET_MAX_BYTES, ck::CKF_GENERATE),
    row!(CKM_HKDF_DERIVE, &kdf::Kdf, HKDF_BASE, SECRET_MIN_BYTES, SECRET_MAX_BYTES, ck::CKF_DERIVE),
    // ----- ML-KEM (FIPS 203) -----
    row!(CKM_ML_KEM_KEY_PAIR_GEN, &mlkem::MlKem, ML_KEM, ML_KEM_MIN, ML_KEM_MAX, ck::CKF_GENERATE_KEY_PAIR),
    row!(CKM_ML_KEM, &mlkem::MlKem, ML_KEM, ML_KEM_MIN, ML_KEM_MAX, ENCAPS_DECAPS),
    // ----- ML-DSA (FIPS 204); CKM_HASH_ML_DSA is single-part only -----
    row!(CKM_ML_DSA_KEY_PAIR_GEN, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, ck::CKF_GENERATE_KEY_PAIR),
    row!(CKM_ML_DSA, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA224, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA256, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA384, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA512, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA3_224, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA3_256, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA3_384, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHA3_512, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHAKE128, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_ML_DSA_SHAKE256, &mldsa::MlDsa, ML_DSA, ML_DSA_MIN, ML_DSA_MAX, SIGN_VERIFY),
    // ----- SLH-DSA (FIPS 205); CKM_HASH_SLH_DSA is single-part only -----
    row!(CKM_SLH_DSA_KEY_PAIR_GEN, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, ck::CKF_GENERATE_KEY_PAIR),
    row!(CKM_SLH_DSA, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA224, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA256, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA384, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA512, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA3_224, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA3_256, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA3_384, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHA3_512, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHAKE128, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
    row!(CKM_HASH_SLH_DSA_SHAKE256, &slhdsa::SlhDsa, SLH_DSA, SLH_DSA_MIN, SLH_DSA_MAX, SIGN_VERIFY),
];

pub fn lookup(ty: MechType) -> Option<&'static MechSpec> {
    MECHANISMS.iter().find(|m| m.ty == ty)
}
