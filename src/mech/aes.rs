//! AES: key generation, ECB, CBC, CBC_PAD, CTR, GCM, CMAC and key wrap (RFC 3394, RFC 5649).
//! Decryption never releases GCM plaintext before the tag has been checked, and padding
//! or tag failures all report the same EncryptedDataInvalid.

use super::family::{unsupported, Family};
use super::hmac::{generate_secret, mac_len};
use super::keyed::{Gcm, Io};
use super::ops::{MacSign, MacVerify, WholeInput};
use super::params::{MechParam, Mechanism};
use super::provider;
use super::{CipherOp, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::Template;
use crate::error::{err, Error, ErrorKind, Result};
use crate::secret::SecretBuf;
use ::aes::cipher::block_padding::{Padding, Pkcs7};
use ::aes::cipher::consts::U16;
use ::aes::cipher::inout::InOutBuf;
use ::aes::cipher::{
    BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit, StreamCipher,
};
use cryptoki_sys as ck;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

const BLOCK: usize = 16;

#[derive(Debug)]
pub struct Aes;

/// Run `$body` with `$c` bound to the AES type matching the key length.
macro_rules! with_aes {
    ($key:expr, |$c:ident| $body:expr) => {
        match $key.len() {
            16 => {
                type $c = ::aes::Aes128;
                $body
            }
            24 => {
                type $c = ::aes::Aes192;
                $body
            }
            32 => {
                type $c = ::aes::Aes256;
                $body
            }
            n => {
                return err(
                    ErrorKind::KeySizeRange,
                    format!("an AES key must be 16, 24 or 32 bytes, not {n}"),
                )
            }
        }
    };
}

fn aes_key(key: &KeyMaterial) -> Result<&[u8]> {
    key.secret(&[ck::CKK_AES])
}

fn bad_key_len(_: impl std::fmt::Debug) -> Error {
    Error::new(
        ErrorKind::KeySizeRange,
        "an AES key must be 16, 24 or 32 bytes",
    )
}

fn bad_param(what: &str) -> Error {
    Error::new(ErrorKind::MechanismParamInvalid, what.to_string())
}

/// The 16-byte IV of CBC and CBC_PAD.
fn cbc_iv(m: &Mechanism) -> Result<&[u8]> {
    match &m.param {
        MechParam::Bytes(iv) if iv.len() == BLOCK => Ok(iv),
        _ => Err(bad_param("AES-CBC needs a 16-byte IV as its parameter")),
    }
}

fn no_param(m: &Mechanism) -> Result<()> {
    match m.param {
        MechParam::None => Ok(()),
        _ => Err(bad_param("this mechanism takes no parameter")),
    }
}

// ----- block modes (ECB, CBC, CBC_PAD) -----

/// A block mode keeping its chaining state, applied to whole blocks only.
trait Blocks: Send {
    fn apply(&mut self, data: &mut [u8]);
}

struct Enc<M>(M);
struct Dec<M>(M);

impl<M: BlockModeEncrypt<BlockSize = U16> + Send> Blocks for Enc<M> {
    fn apply(&mut self, data: &mut [u8]) {
        let (blocks, _) = InOutBuf::from(data).into_chunks::<U16>();
        self.0.encrypt_blocks_inout(blocks);
    }
}

impl<M: BlockModeDecrypt<BlockSize = U16> + Send> Blocks for Dec<M> {
    fn apply(&mut self, data: &mut [u8]) {
        let (blocks, _) = InOutBuf::from(data).into_chunks::<U16>();
        self.0.decrypt_blocks_inout(blocks);
    }
}

/// ECB/CBC with PKCS#11 buffering: a partial block waits for more input; with CBC_PAD
/// decryption the last full block is held back until `finish` so the padding can be removed.
struct BlockOp {
    mode: Box<dyn Blocks>,
    pending: Zeroizing<Vec<u8>>,
    pad: bool,
    decrypt: bool,
}

impl BlockOp {
    /// How many of `total` buffered bytes `update` may process now.
    fn ready(&self, total: usize) -> usize {
        let aligned = total - total % BLOCK;
        if self.pad && self.decrypt && aligned == total && total > 0 {
            aligned - BLOCK
        } else {
            aligned
        }
    }

    fn len_error(&self) -> Error {
        if self.decrypt {
            Error::new(
                ErrorKind::EncryptedDataLenRange,
                "the ciphertext is not a whole number of 16-byte blocks",
            )
        } else {
            Error::new(
                ErrorKind::DataLenRange,
                "without padding the data must be a whole number of 16-byte blocks",
            )
        }
    }
}

impl CipherOp for BlockOp {
    fn update_len(&self, in_len: usize) -> usize {
        self.ready(self.pending.len() + in_len)
    }

    fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.pending.extend_from_slice(data);
        let n = self.ready(self.pending.len());
        let mut out = Zeroizing::new(self.pending[..n].to_vec());
        self.mode.apply(&mut out);
        self.pending.drain(..n);
        Ok(out)
    }

    fn final_len(&self) -> usize {
        match (self.pad, self.decrypt) {
            (true, false) => BLOCK,
            (true, true) => self.pending.len().saturating_sub(1),
            (false, _) => 0,
        }
    }

    fn finish(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        let mut block = Zeroizing::new(std::mem::take(&mut *self.pending));
        match (self.pad, self.decrypt) {
            (false, _) if block.is_empty() => Ok(block),
            (false, _) => Err(self.len_error()),
            (true, false) => {
                let used = block.len();
                block.resize(BLOCK, 0);
                Pkcs7::raw_pad(&mut block, used);
                self.mode.apply(&mut block);
                Ok(block)
            }
            (true, true) if block.len() != BLOCK => Err(self.len_error()),
            (true, true) => {
                self.mode.apply(&mut block);
                match Pkcs7::raw_unpad(&block) {
                    Ok(pt) => Ok(Zeroizing::new(pt.to_vec())),
                    Err(_) => err(
                        ErrorKind::EncryptedDataInvalid,
                        "the CBC padding is invalid: wrong key or corrupted data",
                    ),
                }
            }
        }
    }

    fn one_shot_len(&self, in_len: usize) -> usize {
        let total = self.pending.len() + in_len;
        match (self.pad, self.decrypt) {
            (true, false) => total - total % BLOCK + BLOCK,
            (true, true) => total,
            (false, _) => total - total % BLOCK,
        }
    }
}

fn block_op(m: &Mechanism, key: &[u8], decrypt: bool) -> Result<Box<dyn CipherOp>> {
    let mode: Box<dyn Blocks> = with_aes!(key, |C| match (m.ty, decrypt) {
        (ck::CKM_AES_ECB, false) => {
            no_param(m)?;
            Box::new(Enc(
                ecb::Encryptor::<C>::new_from_slice(key).map_err(bad_key_len)?
            ))
        }
        (ck::CKM_AES_ECB, true) => {
            no_param(m)?;
            Box::new(Dec(
                ecb::Decryptor::<C>::new_from_slice(key).map_err(bad_key_len)?
            ))
        }
        (_, false) => Box::new(Enc(
            cbc::Encryptor::<C>::new_from_slices(key, cbc_iv(m)?).map_err(bad_key_len)?
        )),
        (_, true) => Box::new(Dec(
            cbc::Decryptor::<C>::new_from_slices(key, cbc_iv(m)?).map_err(bad_key_len)?
        )),
    });
    Ok(Box::new(BlockOp {
        mode,
        pending: Zeroizing::new(Vec::new()),
        pad: m.ty == ck::CKM_AES_CBC_PAD,
        decrypt,
    }))
}

// ----- CTR -----

/// CTR with the counter in the low `counter_bits` of the block. PKCS#11 forbids the counter
/// to wrap, so data beyond what the counter field can number is DataLenRange.
struct CtrOp {
    ks: Box<dyn StreamCipher + Send>,
    /// Blocks the counter field can number from the initial block; None = 2^128.
    blocks: Option<u128>,
    /// Bytes processed so far.
    used: u128,
}

impl CipherOp for CtrOp {
    fn update_len(&self, in_len: usize) -> usize {
        in_len
    }
    fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let used = self.used + data.len() as u128;
        if self
            .blocks
            .is_some_and(|b| used.div_ceil(BLOCK as u128) > b)
        {
            return err(
                ErrorKind::DataLenRange,
                "the CTR counter would wrap: use a larger counter or less data",
            );
        }
        let mut out = Zeroizing::new(data.to_vec());
        self.ks
            .try_apply_keystream(&mut out)
            .map_err(|_| Error::new(ErrorKind::DataLenRange, "the CTR keystream is exhausted"))?;
        self.used = used;
        Ok(out)
    }
    fn final_len(&self) -> usize {
        0
    }
    fn finish(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(Vec::new()))
    }
}

fn ctr_op(m: &Mechanism, key: &[u8]) -> Result<Box<dyn CipherOp>> {
    let MechParam::Ctr { counter_bits, cb } = &m.param else {
        return Err(bad_param("AES-CTR needs CK_AES_CTR_PARAMS"));
    };
    if !(1..=128).contains(counter_bits) {
        return Err(bad_param(
            "CK_AES_CTR_PARAMS.ulCounterBits must be between 1 and 128",
        ));
    }
    let start = u128::from_be_bytes(*cb);
    let blocks = if *counter_bits == 128 {
        // 2^128 - start; a zero start numbers all 2^128 blocks.
        (start != 0).then(|| u128::MAX - start + 1)
    } else {
        let field = 1u128 << counter_bits;
        Some(field - (start & (field - 1)))
    };
    let ks: Box<dyn StreamCipher + Send> = with_aes!(key, |C| Box::new(
        ctr::Ctr128BE::<C>::new_from_slices(key, cb).map_err(bad_key_len)?
    ));
    Ok(Box::new(CtrOp {
        ks,
        blocks,
        used: 0,
    }))
}

// ----- GCM -----

/// Tag lengths SP 800-38D allows, in bytes.
const GCM_TAG_LENS: [usize; 7] = [4, 8, 12, 13, 14, 15, 16];

fn check_gcm(iv: &[u8], tag_len: usize) -> Result<()> {
    if iv.is_empty() {
        return Err(bad_param(
            "the GCM IV must not be empty (12 bytes recommended)",
        ));
    }
    if !GCM_TAG_LENS.contains(&tag_len) {
        return Err(bad_param(
            "the GCM tag must be 32, 64 or 96..=128 bits (a multiple of 8)",
        ));
    }
    Ok(())
}

/// GCM per SP 800-38D for any IV length and tag length, from the AES, CTR and GHASH
/// crates. The aes-gcm crate is used for the common 12-byte IV with a full tag; it fixes the
/// IV length at compile time, so other lengths (legal in PKCS#11) come through here.
fn gcm_general<C: BlockCipherEncrypt<BlockSize = U16> + KeyInit + Clone>(
    key: &[u8],
    iv: &[u8],
    aad: &[u8],
    data: &mut [u8],
    expected_tag: Option<&[u8]>,
) -> Result<[u8; 16]> {
    use ghash::universal_hash::UniversalHash;
    let cipher = C::new_from_slice(key).map_err(bad_key_len)?;
    // H and E_K(J0) are key-derived secrets: wiped when this returns.
    let mut h = Zeroizing::new(ghash::Key::default());
    cipher.encrypt_block(&mut h);
    let ghash = ghash::GHash::new(&h);
    let j0 = if iv.len() == 12 {
        let mut b = ghash::Block::default();
        b[..12].copy_from_slice(iv);
        b[15] = 1;
        b
    } else {
        let mut g = ghash.clone();
        g.update_padded(iv);
        let mut len_block = ghash::Block::default();
        len_block[8..].copy_from_slice(&((iv.len() as u64) * 8).to_be_bytes());
        g.update(&[len_block]);
        g.finalize()
    };
    let mut ctr = ctr::Ctr32BE::<C>::new_from_slices(key, &j0).map_err(bad_key_len)?;
    let mut mask = Zeroizing::new([0u8; 16]);
    let too_long = |_| {
        Error::new(
            ErrorKind::DataLenRange,
            "GCM input is longer than 2^36 - 32 bytes",
        )
    };
    ctr.try_apply_keystream(&mut mask[..]).map_err(too_long)?;
    let tag_of = |ct: &[u8]| {
        let mut g = ghash.clone();
        g.update_padded(aad);
        g.update_padded(ct);
        let mut lens = ghash::Block::default();
        lens[..8].copy_from_slice(&((aad.len() as u64) * 8).to_be_bytes());
        lens[8..].copy_from_slice(&((ct.len() as u64) * 8).to_be_bytes());
        g.update(&[lens]);
        let mut tag: [u8; 16] = g.finalize().into();
        tag.iter_mut().zip(mask.iter()).for_each(|(t, m)| *t ^= m);
        tag
    };
    match expected_tag {
        None => {
            ctr.try_apply_keystream(data).map_err(too_long)?;
            Ok(tag_of(data))
        }
        Some(tag) => {
            let full = tag_of(data);
            if !bool::from(full[..tag.len()].ct_eq(tag)) {
                return err(
                    ErrorKind::EncryptedDataInvalid,
                    "the GCM tag does not match: wrong key, IV, AAD or corrupted data",
                );
            }
            ctr.try_apply_keystream(data).map_err(too_long)?;
            Ok(full)
        }
    }
}

/// The AES key of `key` and, for a 96-bit IV, its cached GCM cipher.
fn gcm_key<'a>(key: &'a KeyMaterial, iv: &[u8]) -> Result<(&'a [u8], Option<Arc<Gcm>>)> {
    let (k, keyed) = key.secret_keyed(&[ck::CKK_AES])?;
    let fast = match iv.len() {
        12 => Some(keyed.gcm(k, provider::private(ck::CKM_AES_GCM))?),
        _ => None,
    };
    Ok((k, fast))
}

/// Encrypt `io`; returns the full tag. The 96-bit IV takes the keyed cipher, other
/// lengths the general construction (in place).
fn seal(key: &[u8], fast: Option<&Gcm>, iv: &[u8], aad: &[u8], io: Io<'_>) -> Result<[u8; 16]> {
    match (fast, <&[u8; 12]>::try_from(iv)) {
        (Some(g), Ok(iv)) => g.seal(iv, aad, io),
        _ => {
            let buf = io.into_in_place();
            with_aes!(key, |C| gcm_general::<C>(key, iv, aad, buf, None))
        }
    }
}

/// Decrypt `io` if the (possibly truncated) tag matches; on a mismatch the output is
/// wiped, so no unauthenticated plaintext is left behind.
fn open(
    key: &[u8],
    fast: Option<&Gcm>,
    iv: &[u8],
    aad: &[u8],
    mut io: Io<'_>,
    tag: &[u8],
) -> Result<()> {
    let opened = match (fast, <&[u8; 12]>::try_from(iv), <&[u8; 16]>::try_from(tag)) {
        (Some(g), Ok(iv), Ok(tag)) => g.open(iv, aad, io.reborrow(), tag),
        _ => {
            let buf = io.reborrow().into_in_place();
            with_aes!(key, |C| gcm_general::<C>(key, iv, aad, buf, Some(tag))
                .map(|_| ()))
        }
    };
    if opened.is_err() {
        io.out().zeroize();
    }
    opened
}

/// AES-GCM encryption for the message-based API; returns the tag, `tag_len` bytes.
pub fn gcm_seal_io(
    key: &KeyMaterial,
    iv: &[u8],
    aad: &[u8],
    io: Io<'_>,
    tag_len: usize,
) -> Result<Vec<u8>> {
    super::dispatch::check_gcm_key(key)?;
    let (k, fast) = gcm_key(key, iv)?;
    check_gcm(iv, tag_len)?;
    let tag = seal(k, fast.as_deref(), iv, aad, io)?;
    Ok(tag[..tag_len].to_vec())
}

/// AES-GCM decryption for the message-based API; on a tag mismatch the output is wiped.
pub fn gcm_open_io(key: &KeyMaterial, iv: &[u8], aad: &[u8], io: Io<'_>, tag: &[u8]) -> Result<()> {
    super::dispatch::check_gcm_key(key)?;
    let (k, fast) = gcm_key(key, iv)?;
    check_gcm(iv, tag.len())?;
    open(k, fast.as_deref(), iv, aad, io, tag)
}

/// C_Encrypt/C_Decrypt with CKM_AES_GCM: the whole input is needed (decryption must not
/// release plaintext before the tag is checked), and a single-part call works in the
/// output buffer directly, without buffering the input first.
struct GcmOp {
    key: SecretBuf,
    fast: Option<Arc<Gcm>>,
    iv: Vec<u8>,
    aad: Vec<u8>,
    tag_len: usize,
    decrypt: bool,
    data: SecretBuf,
}

impl GcmOp {
    fn out_len(&self, in_len: usize) -> usize {
        if self.decrypt {
            in_len.saturating_sub(self.tag_len)
        } else {
            in_len + self.tag_len
        }
    }

    /// Encrypt or decrypt `data` into a new buffer: ciphertext || tag, or the plaintext.
    fn run(&self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let fast = self.fast.as_deref();
        if self.decrypt {
            if data.len() < self.tag_len {
                return err(
                    ErrorKind::EncryptedDataLenRange,
                    "the GCM ciphertext is shorter than its tag",
                );
            }
            let (ct, tag) = data.split_at(data.len() - self.tag_len);
            let mut out = Zeroizing::new(ct.to_vec());
            open(
                &self.key,
                fast,
                &self.iv,
                &self.aad,
                Io::InPlace(&mut out),
                tag,
            )?;
            Ok(out)
        } else {
            let mut out = Zeroizing::new(Vec::with_capacity(data.len() + self.tag_len));
            out.extend_from_slice(data);
            let tag = seal(&self.key, fast, &self.iv, &self.aad, Io::InPlace(&mut out))?;
            out.extend_from_slice(&tag[..self.tag_len]);
            Ok(out)
        }
    }
}

impl CipherOp for GcmOp {
    fn update_len(&self, _in_len: usize) -> usize {
        0
    }
    fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.data.extend_from_slice(data);
        Ok(Zeroizing::new(Vec::new()))
    }
    fn final_len(&self) -> usize {
        self.out_len(self.data.len())
    }
    fn finish(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        let data = self.data.take();
        self.run(&data)
    }
    fn one_shot_len(&self, in_len: usize) -> usize {
        self.out_len(self.data.len() + in_len)
    }
    fn one_shot(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if self.data.is_empty() {
            self.run(data)
        } else {
            self.update(data)?;
            self.finish()
        }
    }
    fn direct_len(&self, in_len: usize) -> Option<usize> {
        let whole = self.data.is_empty() && (!self.decrypt || in_len >= self.tag_len);
        whole.then(|| self.out_len(in_len))
    }
    fn one_shot_into(&mut self, data: &[u8], out: &mut [u8]) -> Result<()> {
        let fast = self.fast.as_deref();
        if self.decrypt {
            let (ct, tag) = data.split_at(data.len() - self.tag_len);
            open(
                &self.key,
                fast,
                &self.iv,
                &self.aad,
                Io::Apart(ct, out),
                tag,
            )
        } else {
            let (body, tag_out) = out.split_at_mut(data.len());
            let tag = seal(&self.key, fast, &self.iv, &self.aad, Io::Apart(data, body))?;
            tag_out.copy_from_slice(&tag[..self.tag_len]);
            Ok(())
        }
    }
}

fn gcm_op(m: &Mechanism, key: &KeyMaterial, decrypt: bool) -> Result<Box<dyn CipherOp>> {
    let MechParam::Gcm { iv, aad, tag_bits } = &m.param else {
        return Err(bad_param("AES-GCM needs CK_GCM_PARAMS"));
    };
    if tag_bits % 8 != 0 {
        return Err(bad_param(
            "the GCM tag length must be a whole number of bytes",
        ));
    }
    let tag_len = (*tag_bits / 8) as usize;
    check_gcm(iv, tag_len)?;
    let (k, fast) = gcm_key(key, iv)?;
    Ok(Box::new(GcmOp {
        // Only the general construction (IVs other than 96 bits) needs the raw key.
        key: if fast.is_some() {
            SecretBuf::new()
        } else {
            SecretBuf::from(k)
        },
        fast,
        iv: iv.clone(),
        aad: aad.clone(),
        tag_len,
        decrypt,
        data: SecretBuf::new(),
    }))
}

// ----- key wrap (RFC 3394, RFC 5649) -----

/// The default ICVs; PKCS#11 lets a client pass them explicitly, anything else is refused.
const KW_IV: [u8; 8] = [0xA6; 8];
const KWP_IV: [u8; 4] = [0xA6, 0x59, 0x59, 0xA6];

fn kw_op(m: &Mechanism, key: &[u8], decrypt: bool) -> Result<Box<dyn CipherOp>> {
    let kwp = m.ty == ck::CKM_AES_KEY_WRAP_KWP;
    match &m.param {
        MechParam::None => {}
        MechParam::Bytes(iv) if !kwp && iv.as_slice() == KW_IV => {}
        MechParam::Bytes(iv) if kwp && iv.as_slice() == KWP_IV => {}
        _ => {
            return Err(bad_param(
                "AES key wrap supports only the default IV of RFC 3394 / RFC 5649",
            ))
        }
    }
    let key = Zeroizing::new(key.to_vec());
    Ok(Box::new(if decrypt {
        WholeInput::new(
            |n| n.saturating_sub(8),
            move |data| kw_unwrap(&key, kwp, data),
        )
    } else {
        WholeInput::new(
            move |n| if kwp { n.div_ceil(8) * 8 + 8 } else { n + 8 },
            move |data| kw_wrap(&key, kwp, data),
        )
    }))
}

fn kw_wrap(key: &[u8], kwp: bool, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    // RFC 3394 wraps at least two 64-bit blocks; RFC 5649 at least one byte.
    let ok = if kwp {
        !data.is_empty()
    } else {
        data.len() >= 16 && data.len().is_multiple_of(8)
    };
    if !ok {
        let need = if kwp {
            "at least 1 byte"
        } else {
            "a multiple of 8 bytes, at least 16"
        };
        return err(
            ErrorKind::DataLenRange,
            format!("the data to wrap must be {need}"),
        );
    }
    let mut out = Zeroizing::new(vec![0u8; data.len().div_ceil(8) * 8 + 8]);
    let res = with_aes!(key, |C| if kwp {
        aes_kw::AesKwp::<C>::new_from_slice(key)
            .map_err(bad_key_len)?
            .wrap_key(data, &mut out)
            .map(|w| w.len())
    } else {
        aes_kw::AesKw::<C>::new_from_slice(key)
            .map_err(bad_key_len)?
            .wrap_key(data, &mut out)
            .map(|w| w.len())
    });
    let n = res.map_err(|_| {
        Error::new(
            ErrorKind::DataLenRange,
            "the data cannot be wrapped with this mechanism",
        )
    })?;
    out.truncate(n);
    Ok(out)
}

fn kw_unwrap(key: &[u8], kwp: bool, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let min = if kwp { 16 } else { 24 };
    if data.len() < min || !data.len().is_multiple_of(8) {
        return err(
            ErrorKind::EncryptedDataLenRange,
            format!("wrapped data must be a multiple of 8 bytes, at least {min}"),
        );
    }
    let mut out = Zeroizing::new(vec![0u8; data.len() - 8]);
    let res = with_aes!(key, |C| if kwp {
        aes_kw::AesKwp::<C>::new_from_slice(key)
            .map_err(bad_key_len)?
            .unwrap_key(data, &mut out)
            .map(|u| u.len())
    } else {
        aes_kw::AesKw::<C>::new_from_slice(key)
            .map_err(bad_key_len)?
            .unwrap_key(data, &mut out)
            .map(|u| u.len())
    });
    match res {
        Ok(n) => {
            out.truncate(n);
            Ok(out)
        }
        Err(aes_kw::Error::IntegrityCheckFailed) => err(
            ErrorKind::EncryptedDataInvalid,
            "the key wrap integrity check failed: wrong key or corrupted data",
        ),
        Err(_) => err(
            ErrorKind::EncryptedDataLenRange,
            "the wrapped data has an impossible length",
        ),
    }
}

// ----- CMAC -----

fn cmac_op(m: &Mechanism, key: &[u8]) -> Result<Box<dyn SignOp>> {
    let len = mac_len(m, BLOCK, m.ty == ck::CKM_AES_CMAC_GENERAL)?;
    Ok(with_aes!(key, |C| Box::new(MacSign::new(
        <cmac::Cmac<C> as KeyInit>::new_from_slice(key).map_err(bad_key_len)?,
        len
    ))))
}

fn cipher_op(m: &Mechanism, key: &KeyMaterial, decrypt: bool) -> Result<Box<dyn CipherOp>> {
    let k = aes_key(key)?;
    match m.ty {
        ck::CKM_AES_ECB | ck::CKM_AES_CBC | ck::CKM_AES_CBC_PAD => block_op(m, k, decrypt),
        ck::CKM_AES_CTR => ctr_op(m, k),
        ck::CKM_AES_GCM => gcm_op(m, key, decrypt),
        ck::CKM_AES_KEY_WRAP | ck::CKM_AES_KEY_WRAP_KWP => kw_op(m, k, decrypt),
        _ => unsupported(m, if decrypt { "decrypt" } else { "encrypt" }),
    }
}

impl Family for Aes {
    fn encrypt_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
        cipher_op(m, key, false)
    }

    fn decrypt_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
        cipher_op(m, key, true)
    }

    fn sign_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        cmac_op(m, aes_key(key)?)
    }

    fn verify_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        Ok(Box::new(MacVerify(cmac_op(m, aes_key(key)?)?)))
    }

    fn generate_key(&self, m: &Mechanism, t: &Template) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
        generate_secret(m, t, ck::CKK_AES)
    }
}

#[cfg(test)]
mod tests;
