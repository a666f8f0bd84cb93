//! Mechanisms: one table (`table`) lists every mechanism with its key types, sizes and
//! flags; C_GetMechanismList/C_GetMechanismInfo and dispatch all read it. Algorithms live
//! one module per family behind the small operation traits below. Nothing here knows about
//! sessions, objects or the store: a mechanism sees parsed key material and bytes.

pub mod params;

use crate::attr::{Attr, AttrType, Template};
use crate::error::Result;
use cryptoki_sys as ck;
use zeroize::Zeroizing;

pub use keys::KeyMaterial;

pub mod family;
pub mod keyed;
pub mod keys;
pub mod ops;
pub mod provider;
pub mod table;

// One module per algorithm family; each implements `family::Family` for its table rows.
pub mod aes;
pub mod digest;
pub mod ec;
pub mod eddsa;
pub mod hmac;
pub mod kdf;
pub mod mldsa;
pub mod mlkem;
pub mod pqc_encoding;
pub mod pqc_keys;
pub mod pqc_sign;
#[cfg(test)]
mod pqc_testkit;
pub mod rsa;
pub mod slhdsa;

#[cfg(all(test, feature = "aws-lc"))]
mod differential_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
pub(crate) mod wycheproof_tests;

/// Read access to an object's attributes (public ones and unsealed secret ones), so key
/// material can be parsed without this module knowing how objects are stored.
pub trait AttrSource {
    fn attr(&self, ty: AttrType) -> Option<&[u8]>;
}

impl AttrSource for Template {
    fn attr(&self, ty: AttrType) -> Option<&[u8]> {
        self.get(ty)
    }
}

/// A signing or MAC-ing operation in progress (single-part = one update + finish).
pub trait SignOp: Send {
    fn update(&mut self, data: &[u8]) -> Result<()>;
    /// The exact (or maximum) length `finish` will produce, known before finishing.
    fn sig_len(&self) -> usize;
    /// Produce the signature. Called once; the op is dropped after.
    fn finish(&mut self) -> Result<Vec<u8>>;
}

/// A verification (or MAC check) in progress.
pub trait VerifyOp: Send {
    fn update(&mut self, data: &[u8]) -> Result<()>;
    /// Ok(()) when valid; ErrorKind::SignatureInvalid / SignatureLenRange otherwise.
    fn finish(&mut self, sig: &[u8]) -> Result<()>;
}

/// An encryption or decryption in progress. Implementations buffer what they must
/// (block alignment, GCM tag) and report lengths ahead of time so the session layer can
/// answer length queries without advancing the operation.
pub trait CipherOp: Send {
    /// Upper bound of the output of `update(data)` for `in_len` bytes of input.
    fn update_len(&self, in_len: usize) -> usize;
    fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>>;
    /// Upper bound of the output of `finish`.
    fn final_len(&self) -> usize;
    fn finish(&mut self) -> Result<Zeroizing<Vec<u8>>>;
    /// Upper bound of a single-part call's output for `in_len` bytes of input.
    fn one_shot_len(&self, in_len: usize) -> usize {
        self.update_len(in_len) + self.final_len()
    }
    /// The exact output length of a single-part call on `in_len` bytes, for operations
    /// that can write it straight into the caller's buffer ([`one_shot_into`]); `None` for
    /// the others (the default).
    ///
    /// [`one_shot_into`]: CipherOp::one_shot_into
    fn direct_len(&self, _in_len: usize) -> Option<usize> {
        None
    }
    /// A single-part call writing exactly `direct_len(data.len())` bytes into `out`; called
    /// only when `direct_len` answered. On error `out` holds nothing of the result.
    fn one_shot_into(&mut self, _data: &[u8], _out: &mut [u8]) -> Result<()> {
        Err(crate::error::Error::new(
            crate::error::ErrorKind::General,
            "this operation cannot write into the caller's buffer",
        ))
    }
    /// A single-part call: `update` then `finish`, unless the operation can do better
    /// (work in its output buffer without buffering the input).
    fn one_shot(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut out = self.update(data)?;
        let last = self.finish()?;
        match out.is_empty() {
            true => Ok(last),
            false => {
                out.extend_from_slice(&last);
                Ok(out)
            }
        }
    }
}

/// A digest in progress.
#[allow(clippy::len_without_is_empty)] // `len` is the output length, never empty
pub trait DigestOp: Send {
    fn update(&mut self, data: &[u8]);
    fn len(&self) -> usize;
    fn finish(&mut self) -> Vec<u8>;
}

/// Attributes produced by key generation, split by where they go: `public` attributes
/// are stored in the clear, `secret` ones only sealed.
#[derive(Default, Debug)]
pub struct KeyAttrs {
    pub public: Vec<Attr>,
    pub secret: Vec<Attr>,
}

/// Result of C_GenerateKeyPair at the mechanism level.
#[derive(Debug)]
pub struct GeneratedPair {
    pub key_type: ck::CK_KEY_TYPE,
    /// Key attributes of the public-key object (e.g. CKA_MODULUS, CKA_EC_POINT, CKA_VALUE).
    pub public_key: Vec<Attr>,
    /// Key attributes of the private-key object: public parts and sealed parts.
    pub private_key: KeyAttrs,
}

/// Entry points the session layer calls. Each dispatches through `table` to a family.
pub use dispatch::*;
mod dispatch;
