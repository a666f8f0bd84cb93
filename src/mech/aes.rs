//! AES: key generation, ECB, CBC, CBC_PAD, CTR, GCM, CMAC and key wrap (RFC 3394, RFC 5649).
//! Decryption never releases GCM plaintext before the tag has been checked, and padding
//! or tag failures all report the same EncryptedDataInvalid.

use super::family::{unsupported, Family};
use super::hmac::{generate_secret, mac_len};
use super::ops::{MacSign, MacVerify, WholeInput};
use super::params::{MechParam, Mechanism};
use super::{CipherOp, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::Template;
use crate::error::{err, Error, ErrorKind, Result};
use ::aes::cipher::block_padding::{Padding, Pkcs7};
use ::aes::cipher::consts::U16;
use ::aes::cipher::inout::InOutBuf;
use ::aes::cipher::{
    BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, KeyInit, KeyIvInit, StreamCipher,
};
use aes_gcm::aead::AeadInOut;
use cryptoki_sys as ck;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

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

/// AES-GCM encryption: (ciphertext, tag of `tag_len` bytes).
pub fn gcm_seal(
    key: &KeyMaterial,
    iv: &[u8],
    aad: &[u8],
    pt: &[u8],
    tag_len: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let key = aes_key(key)?;
    check_gcm(iv, tag_len)?;
    let mut buf = pt.to_vec();
    let tag: [u8; 16] = with_aes!(key, |C| if iv.len() == 12 {
        let g = aes_gcm::AesGcm::<C, aes_gcm::aead::consts::U12>::new_from_slice(key)
            .map_err(bad_key_len)?;
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv)
            .map_err(|_| bad_param("bad IV"))?;
        let tag = g
            .encrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into())
            .map_err(|_| Error::new(ErrorKind::DataLenRange, "GCM input is too long"))?;
        tag.into()
    } else {
        gcm_general::<C>(key, iv, aad, &mut buf, None)?
    });
    Ok((buf, tag[..tag_len].to_vec()))
}

/// AES-GCM decryption; nothing is returned unless the tag matches.
pub fn gcm_open(
    key: &KeyMaterial,
    iv: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let key = aes_key(key)?;
    check_gcm(iv, tag.len())?;
    let mut buf = Zeroizing::new(ct.to_vec());
    with_aes!(key, |C| if iv.len() == 12 && tag.len() == 16 {
        let g = aes_gcm::AesGcm::<C, aes_gcm::aead::consts::U12>::new_from_slice(key)
            .map_err(bad_key_len)?;
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(iv)
            .map_err(|_| bad_param("bad IV"))?;
        let tag = aes_gcm::Tag::try_from(tag).map_err(|_| bad_param("bad tag"))?;
        g.decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag)
            .map_err(|_| {
                Error::new(
                    ErrorKind::EncryptedDataInvalid,
                    "the GCM tag does not match: wrong key, IV, AAD or corrupted data",
                )
            })?;
    } else {
        gcm_general::<C>(key, iv, aad, &mut buf, Some(tag))?;
    });
    Ok(buf)
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
    let key = KeyMaterial::Secret {
        key_type: ck::CKK_AES,
        value: Zeroizing::new(aes_key(key)?.to_vec()),
    };
    let (iv, aad) = (iv.clone(), aad.clone());
    Ok(Box::new(if decrypt {
        WholeInput::new(
            move |n| n.saturating_sub(tag_len),
            move |data| {
                if data.len() < tag_len {
                    return err(
                        ErrorKind::EncryptedDataLenRange,
                        "the GCM ciphertext is shorter than its tag",
                    );
                }
                let (ct, tag) = data.split_at(data.len() - tag_len);
                gcm_open(&key, &iv, &aad, ct, tag)
            },
        )
    } else {
        WholeInput::new(
            move |n| n + tag_len,
            move |data| {
                let (mut ct, tag) = gcm_seal(&key, &iv, &aad, data, tag_len)?;
                ct.extend_from_slice(&tag);
                Ok(Zeroizing::new(ct))
            },
        )
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
mod tests {
    use super::*;
    use crate::mech::test_support::{one_shot, run_parts};
    use crate::mech::wycheproof_tests::{run, Case};
    use crate::mech::{decrypt_init, encrypt_init, sign_init, unwrap, verify_init, wrap, wrap_len};

    fn key(v: &[u8]) -> KeyMaterial {
        crate::mech::test_support::secret(ck::CKK_AES, v)
    }

    fn mech(ty: ck::CK_MECHANISM_TYPE, param: MechParam) -> Mechanism {
        Mechanism { ty, param }
    }

    #[test]
    fn fips197_ecb_vector() {
        let k = key(&hex::decode("000102030405060708090a0b0c0d0e0f").unwrap());
        let pt = hex::decode("00112233445566778899aabbccddeeff").unwrap();
        let m = mech(ck::CKM_AES_ECB, MechParam::None);
        let ct = one_shot(encrypt_init(&m, &k), &pt).unwrap();
        assert_eq!(hex::encode(&ct), "69c4e0d86a7b0430d8cdb78070b4c55a");
        assert_eq!(one_shot(decrypt_init(&m, &k), &ct).unwrap(), pt);
    }

    #[test]
    fn cbc_pad_round_trips_every_length_and_chunking() {
        let k = key(&[3u8; 32]);
        let m = mech(ck::CKM_AES_CBC_PAD, MechParam::Bytes(vec![9u8; 16]));
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100] {
            let pt: Vec<u8> = (0..len as u8).collect();
            let whole = one_shot(encrypt_init(&m, &k), &pt).unwrap();
            assert_eq!(whole.len(), (len / 16 + 1) * 16);
            for chunk in [1, 5, 16, 40] {
                let ct = run_parts(encrypt_init(&m, &k).unwrap(), &pt, chunk).unwrap();
                assert_eq!(ct, whole);
                assert_eq!(
                    run_parts(decrypt_init(&m, &k).unwrap(), &ct, chunk).unwrap(),
                    pt
                );
            }
        }
    }

    #[test]
    fn cbc_pad_rejects_bad_padding_and_truncation() {
        let k = key(&[3u8; 16]);
        let m = mech(ck::CKM_AES_CBC_PAD, MechParam::Bytes(vec![0u8; 16]));
        let mut ct = one_shot(encrypt_init(&m, &k), b"hello").unwrap();
        let e = one_shot(decrypt_init(&m, &k), &ct[..15]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::EncryptedDataLenRange);
        // Decrypting the padded block with raw CBC shows the padding; corrupt it instead.
        let raw = mech(ck::CKM_AES_CBC, MechParam::Bytes(vec![0u8; 16]));
        let mut padded = one_shot(decrypt_init(&raw, &k), &ct).unwrap();
        padded[15] = 0;
        ct = one_shot(encrypt_init(&raw, &k), &padded).unwrap();
        let e = one_shot(decrypt_init(&m, &k), &ct).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::EncryptedDataInvalid);
    }

    #[test]
    fn cbc_without_padding_needs_whole_blocks() {
        let k = key(&[1u8; 24]);
        let m = mech(ck::CKM_AES_CBC, MechParam::Bytes(vec![0u8; 16]));
        let e = one_shot(encrypt_init(&m, &k), &[0u8; 17]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DataLenRange);
        let ct = run_parts(encrypt_init(&m, &k).unwrap(), &[5u8; 48], 7).unwrap();
        assert_eq!(
            run_parts(decrypt_init(&m, &k).unwrap(), &ct, 13).unwrap(),
            vec![5u8; 48]
        );
        let bad = mech(ck::CKM_AES_CBC, MechParam::Bytes(vec![0u8; 8]));
        assert_eq!(
            encrypt_init(&bad, &k).err().unwrap().kind(),
            ErrorKind::MechanismParamInvalid
        );
    }

    #[test]
    fn sp800_38a_ctr_vector_and_counter_limit() {
        let k = key(&hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap());
        let cb: [u8; 16] = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
            .unwrap()
            .try_into()
            .unwrap();
        let m = mech(
            ck::CKM_AES_CTR,
            MechParam::Ctr {
                counter_bits: 128,
                cb,
            },
        );
        let pt = hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
            .unwrap();
        let ct = run_parts(encrypt_init(&m, &k).unwrap(), &pt, 7).unwrap();
        assert_eq!(
            hex::encode(&ct),
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
        );
        assert_eq!(
            run_parts(decrypt_init(&m, &k).unwrap(), &ct, 32).unwrap(),
            pt
        );
        // An 8-bit counter at 0xff has one block left before it would wrap.
        let m = mech(
            ck::CKM_AES_CTR,
            MechParam::Ctr {
                counter_bits: 8,
                cb,
            },
        );
        assert_eq!(one_shot(encrypt_init(&m, &k), &pt[..16]).unwrap(), ct[..16]);
        let e = one_shot(encrypt_init(&m, &k), &pt[..17]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DataLenRange);
        // Across updates too, and for a full 128-bit counter at its last value.
        let m = mech(
            ck::CKM_AES_CTR,
            MechParam::Ctr {
                counter_bits: 128,
                cb: [0xff; 16],
            },
        );
        let mut op = encrypt_init(&m, &k).unwrap();
        op.update(&pt[..10]).unwrap();
        op.update(&pt[10..16]).unwrap();
        assert_eq!(
            op.update(&pt[16..17]).unwrap_err().kind(),
            ErrorKind::DataLenRange
        );
    }

    fn gcm(iv: &[u8], aad: &[u8], tag_bits: u64) -> Mechanism {
        mech(
            ck::CKM_AES_GCM,
            MechParam::Gcm {
                iv: iv.to_vec(),
                aad: aad.to_vec(),
                tag_bits,
            },
        )
    }

    #[test]
    fn gcm_multi_part_holds_plaintext_until_the_tag_is_checked() {
        let k = key(&[7u8; 16]);
        let m = gcm(&[1u8; 12], b"header", 128);
        let pt = vec![0x42u8; 50];
        let ct = run_parts(encrypt_init(&m, &k).unwrap(), &pt, 7).unwrap();
        assert_eq!(ct.len(), 66);
        let mut op = decrypt_init(&m, &k).unwrap();
        for part in ct.chunks(9) {
            assert_eq!(op.update_len(part.len()), 0);
            assert!(op.update(part).unwrap().is_empty());
        }
        assert_eq!(op.final_len(), 50);
        assert_eq!(*op.finish().unwrap(), pt);
        let mut bad = ct.clone();
        bad[3] ^= 1;
        let e = one_shot(decrypt_init(&m, &k), &bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::EncryptedDataInvalid);
        let e = one_shot(decrypt_init(&m, &k), &ct[..10]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::EncryptedDataLenRange);
    }

    #[test]
    fn gcm_general_path_agrees_with_aes_gcm_and_truncates() {
        for klen in [16, 24, 32] {
            let kb = vec![klen as u8; klen];
            let k = key(&kb);
            let (iv, aad, pt) = (
                [9u8; 12],
                b"aad".to_vec(),
                b"some plaintext of 31 bytes long".to_vec(),
            );
            let (ct, tag) = gcm_seal(&k, &iv, &aad, &pt, 16).unwrap();
            let mut buf = pt.clone();
            let t = with_general(&kb, &iv, &aad, &mut buf).unwrap();
            assert_eq!((buf, t.to_vec()), (ct.clone(), tag.clone()));
            for tag_len in GCM_TAG_LENS {
                let (ct2, tag2) = gcm_seal(&k, &iv, &aad, &pt, tag_len).unwrap();
                assert_eq!((&ct2, &tag2[..]), (&ct, &tag[..tag_len]));
                assert_eq!(*gcm_open(&k, &iv, &aad, &ct2, &tag2).unwrap(), pt);
                let mut bad = tag2.clone();
                bad[0] ^= 0x80;
                assert_eq!(
                    gcm_open(&k, &iv, &aad, &ct2, &bad).unwrap_err().kind(),
                    ErrorKind::EncryptedDataInvalid
                );
            }
        }
        let k = key(&[1u8; 16]);
        assert_eq!(
            gcm_seal(&k, &[0u8; 12], b"", b"", 11).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid
        );
        assert_eq!(
            gcm_seal(&k, &[], b"", b"", 16).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid
        );
    }

    fn with_general(key: &[u8], iv: &[u8], aad: &[u8], data: &mut [u8]) -> Result<[u8; 16]> {
        with_aes!(key, |C| gcm_general::<C>(key, iv, aad, data, None))
    }

    #[test]
    fn rfc4493_cmac_and_general_length() {
        let k = key(&hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap());
        let msg = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        let mut op = sign_init(&mech(ck::CKM_AES_CMAC, MechParam::None), &k).unwrap();
        op.update(&msg).unwrap();
        let mac = op.finish().unwrap();
        assert_eq!(hex::encode(&mac), "070a16b46b4d4144f79bdd9dd04a287c");
        let g = mech(ck::CKM_AES_CMAC_GENERAL, MechParam::MacLen(8));
        let mut v = verify_init(&g, &k).unwrap();
        v.update(&msg).unwrap();
        v.finish(&mac[..8]).unwrap();
        let mut v = verify_init(&g, &k).unwrap();
        v.update(&msg[1..]).unwrap();
        assert_eq!(
            v.finish(&mac[..8]).unwrap_err().kind(),
            ErrorKind::SignatureInvalid
        );
    }

    #[test]
    fn rfc3394_and_rfc5649_wrap_through_wrap_and_encrypt() {
        let kek = key(&hex::decode("000102030405060708090A0B0C0D0E0F").unwrap());
        let data = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
        let m = mech(ck::CKM_AES_KEY_WRAP, MechParam::None);
        let w = wrap(&m, &kek, &data).unwrap();
        assert_eq!(
            hex::encode(&w),
            "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"
        );
        assert_eq!(wrap_len(&m, &kek, data.len()).unwrap(), w.len());
        assert_eq!(*unwrap(&m, &kek, &w).unwrap(), data);
        assert_eq!(one_shot(encrypt_init(&m, &kek), &data).unwrap(), w);
        let mut bad = w.clone();
        bad[5] ^= 1;
        assert_eq!(
            unwrap(&m, &kek, &bad).unwrap_err().kind(),
            ErrorKind::WrappedKeyInvalid
        );
        assert_eq!(
            wrap(&m, &kek, &data[..12]).unwrap_err().kind(),
            ErrorKind::KeySizeRange
        );

        let kek = key(&hex::decode("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8").unwrap());
        let m = mech(ck::CKM_AES_KEY_WRAP_KWP, MechParam::None);
        let w = wrap(&m, &kek, &hex::decode("466f7250617369").unwrap()).unwrap();
        assert_eq!(hex::encode(&w), "afbeb0f07dfbf5419200f2ccb50bb24f");
        assert_eq!(wrap_len(&m, &kek, 7).unwrap(), 16);
        assert_eq!(
            hex::encode(&*unwrap(&m, &kek, &w).unwrap()),
            "466f7250617369"
        );
    }

    #[test]
    fn generate_key_respects_value_len() {
        use crate::attr::Attr;
        use crate::mech::generate_key;
        let m = Mechanism::new(ck::CKM_AES_KEY_GEN);
        for (len, ok) in [(16, true), (24, true), (32, true), (20, false), (64, false)] {
            let t = Template::new(vec![Attr::ulong(ck::CKA_VALUE_LEN, len)]).unwrap();
            match generate_key(&m, &t) {
                Ok((kt, attrs)) => {
                    assert!(ok);
                    assert_eq!(kt, ck::CKK_AES);
                    assert_eq!(attrs.secret[0].value.len(), len as usize);
                }
                Err(e) => {
                    assert!(!ok);
                    assert_eq!(e.kind(), ErrorKind::KeySizeRange);
                }
            }
        }
    }

    #[test]
    fn wycheproof_aes_gcm() {
        let t = run("aes_gcm_test.json", |c: &Case| {
            let k = key(&c.hex("key"));
            let m = gcm(&c.hex("iv"), &c.hex("aad"), c.num("tagSize"));
            let (msg, mut ct) = (c.hex("msg"), c.hex("ct"));
            ct.extend_from_slice(&c.hex("tag"));
            let opened = one_shot(decrypt_init(&m, &k), &ct);
            let accepted = opened.is_ok_and(|pt| pt == msg);
            if c.result() == "valid" {
                let sealed = one_shot(encrypt_init(&m, &k), &msg);
                assert_eq!(
                    sealed.ok(),
                    Some(ct),
                    "tcId {} encrypts differently",
                    c.id()
                );
            }
            accepted
        });
        assert!(t.invalid > 0);
    }

    fn key_wrap_file(file: &str, ty: ck::CK_MECHANISM_TYPE) {
        let m = mech(ty, MechParam::None);
        let t = run(file, |c: &Case| {
            let k = key(&c.hex("key"));
            let (msg, ct) = (c.hex("msg"), c.hex("ct"));
            let accepted = unwrap(&m, &k, &ct).is_ok_and(|pt| *pt == msg);
            let decrypted = one_shot(decrypt_init(&m, &k), &ct).is_ok_and(|pt| pt == msg);
            assert_eq!(
                accepted,
                decrypted,
                "tcId {}: unwrap and decrypt disagree",
                c.id()
            );
            if c.result() == "valid" {
                assert_eq!(
                    wrap(&m, &k, &msg).ok(),
                    Some(ct),
                    "tcId {} wraps differently",
                    c.id()
                );
            }
            accepted
        });
        assert!(t.invalid > 0);
    }

    #[test]
    fn wycheproof_aes_wrap() {
        key_wrap_file("aes_wrap_test.json", ck::CKM_AES_KEY_WRAP);
    }

    #[test]
    fn wycheproof_aes_kwp() {
        key_wrap_file("aes_kwp_test.json", ck::CKM_AES_KEY_WRAP_KWP);
    }
}
