//! Keyed states a secret key derives once per login and every later operation reuses: HMAC
//! inner/outer hash states and the AES-GCM key schedule (RustCrypto's, or aws-lc-rs's when
//! the table names it; aws-lc keeps it in its own heap and wipes it when freed). They live
//! inside the cached `KeyMaterial::Secret`, are built on first use and zeroize on drop with
//! it. Nothing here decides which mechanism may use a key: dispatch has checked that.

use super::provider::Provider;
use crate::error::{Error, ErrorKind, Result};
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::AeadInOut;
use aes_gcm::KeyInit;
use hmac::Hmac;
use std::sync::{Arc, OnceLock};

/// The keyed states of one secret key, each made on first use.
#[derive(Default)]
pub struct Keyed {
    hmac_sha256: OnceLock<Hmac<sha2::Sha256>>,
    hmac_sha384: OnceLock<Hmac<sha2::Sha384>>,
    hmac_sha512: OnceLock<Hmac<sha2::Sha512>>,
    gcm: OnceLock<Arc<Gcm>>,
    #[cfg(feature = "aws-lc")]
    gcm_aws: OnceLock<Arc<Gcm>>,
}

/// The cell's value, made by `make` if it is empty. Two threads racing both make one; the
/// loser's copy is dropped (and so zeroized).
fn cached<T>(cell: &OnceLock<T>, make: impl FnOnce() -> Result<T>) -> Result<&T> {
    if let Some(v) = cell.get() {
        return Ok(v);
    }
    let v = make()?;
    Ok(cell.get_or_init(|| v))
}

fn hmac_key_error(_: impl std::fmt::Debug) -> Error {
    Error::new(ErrorKind::KeySizeRange, "the HMAC key length is not usable")
}

impl Keyed {
    pub fn hmac_sha256(&self, key: &[u8]) -> Result<&Hmac<sha2::Sha256>> {
        cached(&self.hmac_sha256, || {
            hmac::KeyInit::new_from_slice(key).map_err(hmac_key_error)
        })
    }
    pub fn hmac_sha384(&self, key: &[u8]) -> Result<&Hmac<sha2::Sha384>> {
        cached(&self.hmac_sha384, || {
            hmac::KeyInit::new_from_slice(key).map_err(hmac_key_error)
        })
    }
    pub fn hmac_sha512(&self, key: &[u8]) -> Result<&Hmac<sha2::Sha512>> {
        cached(&self.hmac_sha512, || {
            hmac::KeyInit::new_from_slice(key).map_err(hmac_key_error)
        })
    }

    /// The AES-GCM cipher for 96-bit IVs under this AES key, from provider `p`.
    pub fn gcm(&self, key: &[u8], p: Provider) -> Result<Arc<Gcm>> {
        #[cfg(feature = "aws-lc")]
        if super::provider::is_aws_lc(p) {
            return cached(&self.gcm_aws, || Gcm::aws(key).map(Arc::new)).cloned();
        }
        let _ = p;
        cached(&self.gcm, || Gcm::new(key).map(Arc::new)).cloned()
    }
}

/// AES-GCM with a 96-bit IV and a 128-bit tag, key schedule done once.
pub enum Gcm {
    A128(aes_gcm::AesGcm<aes::Aes128, U12>),
    A192(aes_gcm::AesGcm<aes::Aes192, U12>),
    A256(aes_gcm::AesGcm<aes::Aes256, U12>),
    #[cfg(feature = "aws-lc")]
    Aws(aws_lc_rs::aead::LessSafeKey),
}

macro_rules! each_gcm {
    ($g:expr, $c:ident => $body:expr, aws $a:ident => $aws:expr) => {
        match $g {
            Gcm::A128($c) => $body,
            Gcm::A192($c) => $body,
            Gcm::A256($c) => $body,
            #[cfg(feature = "aws-lc")]
            Gcm::Aws($a) => $aws,
        }
    };
}

fn gcm_mismatch() -> Error {
    Error::new(
        ErrorKind::EncryptedDataInvalid,
        "the GCM tag does not match: wrong key, IV, AAD or corrupted data",
    )
}

fn bad_aes_key(_: impl std::fmt::Debug) -> Error {
    Error::new(
        ErrorKind::KeySizeRange,
        "an AES key must be 16, 24 or 32 bytes",
    )
}

impl Gcm {
    fn new(key: &[u8]) -> Result<Gcm> {
        Ok(match key.len() {
            16 => Gcm::A128(KeyInit::new_from_slice(key).map_err(bad_aes_key)?),
            24 => Gcm::A192(KeyInit::new_from_slice(key).map_err(bad_aes_key)?),
            _ => Gcm::A256(KeyInit::new_from_slice(key).map_err(bad_aes_key)?),
        })
    }

    #[cfg(feature = "aws-lc")]
    fn aws(key: &[u8]) -> Result<Gcm> {
        use aws_lc_rs::aead;
        let alg = match key.len() {
            16 => &aead::AES_128_GCM,
            24 => &aead::AES_192_GCM,
            _ => &aead::AES_256_GCM,
        };
        let key = aead::UnboundKey::new(alg, key).map_err(bad_aes_key)?;
        Ok(Gcm::Aws(aead::LessSafeKey::new(key)))
    }

    /// Encrypt `io`; returns the full tag.
    pub fn seal(&self, iv: &[u8; 12], aad: &[u8], io: Io<'_>) -> Result<[u8; 16]> {
        let too_long = || Error::new(ErrorKind::DataLenRange, "GCM input is too long");
        each_gcm!(self, g => g
            .encrypt_inout_detached(&(*iv).into(), aad, io.inout()?)
            .map(Into::into)
            .map_err(|_| too_long()),
        aws k => {
            use aws_lc_rs::aead::{Aad, Nonce};
            super::provider::aws_lc_served();
            let nonce = Nonce::assume_unique_for_key(*iv);
            let mut tag = [0u8; 16];
            match io {
                Io::InPlace(buf) => tag.copy_from_slice(
                    k.seal_in_place_separate_tag(nonce, Aad::from(aad), buf)
                        .map_err(|_| too_long())?
                        .as_ref(),
                ),
                Io::Apart(input, out) => k
                    .seal_out_of_place_scatter(nonce, Aad::from(aad), input, out, &[], &mut tag)
                    .map_err(|_| too_long())?,
            }
            Ok(tag)
        })
    }

    /// Decrypt `io` if the full tag matches. On a mismatch the output holds nothing the
    /// caller may use (callers wipe it).
    pub fn open(&self, iv: &[u8; 12], aad: &[u8], io: Io<'_>, tag: &[u8; 16]) -> Result<()> {
        each_gcm!(self, g => g
            .decrypt_inout_detached(&(*iv).into(), aad, io.inout()?, &(*tag).into())
            .map_err(|_| gcm_mismatch()),
        aws k => {
            use aws_lc_rs::aead::{Aad, Nonce};
            super::provider::aws_lc_served();
            let nonce = Nonce::assume_unique_for_key(*iv);
            match io {
                Io::InPlace(buf) => k
                    .open_in_place_separate_tag(nonce, Aad::from(aad), tag, buf)
                    .map(|_| ()),
                Io::Apart(ct, out) => k.open_separate_gather(nonce, Aad::from(aad), ct, tag, out),
            }
            .map_err(|_| gcm_mismatch())
        })
    }
}

/// Where a GCM seal or open reads and writes: one buffer in place, or an input and an
/// output of the same length apart. The second spares a copy of the data when the output
/// is the caller's own buffer.
pub enum Io<'a> {
    InPlace(&'a mut [u8]),
    Apart(&'a [u8], &'a mut [u8]),
}

impl<'a> Io<'a> {
    /// The buffer the result is written to.
    pub fn out(&mut self) -> &mut [u8] {
        match self {
            Io::InPlace(buf) => buf,
            Io::Apart(_, out) => out,
        }
    }

    /// The same buffers for a shorter while, so the output can still be wiped afterwards.
    pub fn reborrow(&mut self) -> Io<'_> {
        match self {
            Io::InPlace(buf) => Io::InPlace(buf),
            Io::Apart(input, out) => Io::Apart(input, out),
        }
    }

    /// The output holding a copy of the input, for code that only works in place.
    pub fn into_in_place(self) -> &'a mut [u8] {
        match self {
            Io::InPlace(buf) => buf,
            Io::Apart(input, out) => {
                out.copy_from_slice(input);
                out
            }
        }
    }

    fn inout(self) -> Result<InOutBuf<'a, 'a, u8>> {
        match self {
            Io::InPlace(buf) => Ok(buf.into()),
            Io::Apart(input, out) => InOutBuf::new(input, out).map_err(|_| {
                Error::new(
                    ErrorKind::General,
                    "GCM input and output buffers differ in length",
                )
            }),
        }
    }
}
