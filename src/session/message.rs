//! Message-based AES-GCM (PKCS#11 3.0 C_MessageEncrypt*/C_MessageDecrypt*): one key, many
//! messages, each with its own IV (generated here per CK_GCM_MESSAGE_PARAMS.ivGenerator)
//! and tag. Multi-part messages are buffered: decryption must not release plaintext
//! before the tag is checked, and encryption mirrors it.

use super::ops::{deliver, Pending, Step};
use crate::error::{err, Error, ErrorKind, Result};
use crate::mech::params::GcmMessageParams;
use crate::mech::{self, Io, KeyMaterial};
use crate::module::{Dest, OutBytes, Output};
use cryptoki_sys as ck;
use std::sync::Arc;
use zeroize::Zeroizing;

/// IV and tag a call hands back to the caller's CK_GCM_MESSAGE_PARAMS.
#[derive(Clone, Debug, Default)]
pub struct IvTag {
    pub iv: Vec<u8>,
    pub tag: Vec<u8>,
}

struct Message {
    iv: Vec<u8>,
    aad: Vec<u8>,
    tag_len: usize,
    buf: Zeroizing<Vec<u8>>,
}

/// A message-based encryption or decryption operation.
pub struct MessageOp {
    key: Arc<KeyMaterial>,
    encrypt: bool,
    /// Messages encrypted so far, for CKG_GENERATE_COUNTER(_XOR).
    counter: u64,
    message: Option<Message>,
    pending: Option<Pending<IvTag>>,
}

fn param_invalid<T>(msg: impl Into<String>) -> Result<T> {
    err(ErrorKind::MechanismParamInvalid, msg)
}

fn tag_len(p: &GcmMessageParams) -> Result<usize> {
    if p.tag_bits == 0 || !p.tag_bits.is_multiple_of(8) || p.tag_bits > 128 {
        return param_invalid(format!(
            "GCM tag length {} bits: use a multiple of 8 up to 128",
            p.tag_bits
        ));
    }
    Ok((p.tag_bits / 8) as usize)
}

/// Overwrite the bits of `iv` after the first `fixed_bits` with those of `value`.
fn set_free_bits(iv: &mut [u8], fixed_bits: usize, value: &[u8]) {
    for (i, (b, v)) in iv.iter_mut().zip(value).enumerate() {
        let start = i * 8;
        let mask: u8 = if start + 8 <= fixed_bits {
            0
        } else if start >= fixed_bits {
            0xff
        } else {
            0xff >> (fixed_bits - start)
        };
        *b = (*b & !mask) | (v & mask);
    }
}

/// The IV of the next message per the generator in `p`; `counter` counts messages.
fn next_iv(p: &GcmMessageParams, counter: &mut u64) -> Result<Vec<u8>> {
    if p.iv.is_empty() {
        return param_invalid("the GCM message parameters need an IV buffer (ulIvLen > 0)");
    }
    let total_bits = p.iv.len() * 8;
    let fixed = usize::try_from(p.iv_fixed_bits).unwrap_or(usize::MAX);
    if p.iv_generator != ck::CKG_NO_GENERATE && fixed > total_bits {
        return param_invalid(format!(
            "ulIvFixedBits {fixed} exceeds the {total_bits}-bit IV"
        ));
    }
    let mut iv = p.iv.clone();
    let counter_bytes = |c: u64| {
        let mut v = vec![0u8; iv.len()];
        let be = c.to_be_bytes();
        let n = be.len().min(v.len());
        let len = v.len();
        v[len - n..].copy_from_slice(&be[be.len() - n..]);
        v
    };
    match p.iv_generator {
        ck::CKG_NO_GENERATE => {}
        // The token's choice for CKG_GENERATE is random: no coordination between
        // sessions or processes sharing a key is needed to avoid repeats.
        ck::CKG_GENERATE | ck::CKG_GENERATE_RANDOM => {
            let mut r = vec![0u8; iv.len()];
            crate::rng::fill_bytes(&mut r);
            set_free_bits(&mut iv, fixed, &r);
        }
        ck::CKG_GENERATE_COUNTER | ck::CKG_GENERATE_COUNTER_XOR => {
            let free = total_bits - fixed;
            if free < 64 && *counter >> free != 0 {
                return param_invalid(
                    "the IV counter is exhausted: start a new operation with a new fixed IV part",
                );
            }
            let c = counter_bytes(*counter);
            let value: Vec<u8> = if p.iv_generator == ck::CKG_GENERATE_COUNTER {
                c
            } else {
                iv.iter().zip(&c).map(|(a, b)| a ^ b).collect()
            };
            set_free_bits(&mut iv, fixed, &value);
            *counter += 1;
        }
        g => return param_invalid(format!("IV generator {g:#x} is not supported")),
    }
    Ok(iv)
}

impl MessageOp {
    pub fn new(key: Arc<KeyMaterial>, encrypt: bool) -> Self {
        MessageOp {
            key,
            encrypt,
            counter: 0,
            message: None,
            pending: None,
        }
    }

    fn seal_or_open(
        &self,
        iv: &[u8],
        aad: &[u8],
        data: &[u8],
        tag: &[u8],
        tag_len: usize,
    ) -> Result<(OutBytes, IvTag)> {
        if self.encrypt {
            let (ct, tag) = mech::gcm_seal(&self.key, iv, aad, data, tag_len)?;
            Ok((
                OutBytes::Public(ct),
                IvTag {
                    iv: iv.to_vec(),
                    tag,
                },
            ))
        } else {
            let pt = mech::gcm_open(&self.key, iv, aad, data, tag)?;
            Ok((
                OutBytes::Secret(pt),
                IvTag {
                    iv: iv.to_vec(),
                    tag: tag.to_vec(),
                },
            ))
        }
    }

    fn no_message_in_progress(&self) -> Result<()> {
        if self.message.is_some() {
            return err(
                ErrorKind::OperationActive,
                "a multi-part message is in progress: end it with CKF_END_OF_MESSAGE",
            );
        }
        Ok(())
    }

    /// C_EncryptMessage / C_DecryptMessage.
    pub fn one_shot(
        &mut self,
        p: &GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        cap: Option<usize>,
    ) -> Result<(Output, IvTag)> {
        self.no_message_in_progress()?;
        let tag_len = tag_len(p)?;
        let encrypt = self.encrypt;
        let mut counter = self.counter;
        let mut pending = self.pending.take();
        let r = deliver(&mut pending, Step::Single, cap, || {
            let iv = if encrypt {
                next_iv(p, &mut counter)?
            } else {
                p.iv.clone()
            };
            self.seal_or_open(&iv, aad, data, &p.tag, tag_len)
        });
        self.pending = pending;
        self.counter = counter;
        r
    }

    /// C_EncryptMessage / C_DecryptMessage into the caller's buffer: the output is exactly
    /// as long as the input, so a length query computes nothing (and draws no IV), and the
    /// real call seals or opens in that buffer with no copy of its own. A buffer that
    /// overlaps the input, or output kept from an earlier call, takes [`one_shot`].
    ///
    /// [`one_shot`]: Self::one_shot
    pub fn one_shot_to(
        &mut self,
        p: &GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        dest: Dest<'_>,
    ) -> Result<(Output, IvTag)> {
        if self.pending.is_some() || matches!(dest, Dest::Room(_)) {
            return self.one_shot(p, aad, data, dest.cap());
        }
        self.no_message_in_progress()?;
        let tag_len = tag_len(p)?;
        let n = data.len();
        let out = match dest {
            Dest::Buf(b) if b.len() >= n => &mut b[..n],
            Dest::Buf(_) => return Err(Error::buffer_too_small(n)),
            _ => {
                let unchanged = IvTag {
                    iv: p.iv.clone(),
                    tag: p.tag.clone(),
                };
                return Ok((Output::Len(n), unchanged));
            }
        };
        if self.encrypt {
            // An IV drawn is spent, whatever happens next.
            let iv = next_iv(p, &mut self.counter)?;
            let tag = mech::gcm_seal_io(&self.key, &iv, aad, Io::Apart(data, out), tag_len)?;
            Ok((Output::Written(n), IvTag { iv, tag }))
        } else {
            mech::gcm_open_io(&self.key, &p.iv, aad, Io::Apart(data, out), &p.tag)?;
            let ivt = IvTag {
                iv: p.iv.clone(),
                tag: p.tag.clone(),
            };
            Ok((Output::Written(n), ivt))
        }
    }

    /// C_EncryptMessageBegin / C_DecryptMessageBegin: returns the IV in use.
    pub fn begin(&mut self, p: &GcmMessageParams, aad: &[u8]) -> Result<Vec<u8>> {
        self.no_message_in_progress()?;
        if self.pending.is_some() {
            return err(
                ErrorKind::OperationActive,
                "an earlier call's output is waiting: repeat that call",
            );
        }
        let tag_len = tag_len(p)?;
        let iv = if self.encrypt {
            next_iv(p, &mut self.counter)?
        } else {
            p.iv.clone()
        };
        self.message = Some(Message {
            iv: iv.clone(),
            aad: aad.to_vec(),
            tag_len,
            buf: Zeroizing::new(Vec::new()),
        });
        Ok(iv)
    }

    /// C_EncryptMessageNext / C_DecryptMessageNext. Parts before the last produce no
    /// output; the last produces the whole message (and, encrypting, the tag). `tag` is
    /// the tag to check when decrypting.
    pub fn next(
        &mut self,
        data: &[u8],
        last: bool,
        tag: &[u8],
        cap: Option<usize>,
    ) -> Result<(Output, IvTag)> {
        let Some(msg) = self.message.as_mut() else {
            return err(
                ErrorKind::OperationNotInitialized,
                "no message was begun: call C_*MessageBegin first",
            );
        };
        if !last {
            if self.pending.is_some() {
                return err(
                    ErrorKind::OperationActive,
                    "the message's output is waiting: repeat the last call",
                );
            }
            let ivt = IvTag {
                iv: msg.iv.clone(),
                tag: Vec::new(),
            };
            // A length query takes nothing in: the real call that follows brings the part.
            let out = match cap {
                None => Output::Len(0),
                Some(_) => {
                    msg.buf.extend_from_slice(data);
                    Output::Data(OutBytes::Public(Vec::new()))
                }
            };
            return Ok((out, ivt));
        }
        let mut pending = self.pending.take();
        let r = {
            let msg = self
                .message
                .as_ref()
                .ok_or_else(|| crate::Error::new(ErrorKind::General, "message state lost"))?;
            let this = &*self;
            deliver(&mut pending, Step::Final, cap, || {
                let mut all = Zeroizing::new(msg.buf.to_vec());
                all.extend_from_slice(data);
                this.seal_or_open(&msg.iv, &msg.aad, &all, tag, msg.tag_len)
            })
        };
        self.pending = pending;
        // The message ends when its output was delivered or failed; the operation stays.
        let keep = match &r {
            Ok((Output::Len(_), _)) => true,
            Err(e) => e.kind() == ErrorKind::BufferTooSmall,
            Ok(_) => false,
        };
        if !keep {
            self.message = None;
            self.pending = None;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(gen: ck::CK_GENERATOR_FUNCTION, iv: Vec<u8>, fixed: u64) -> GcmMessageParams {
        GcmMessageParams {
            iv,
            iv_fixed_bits: fixed,
            iv_generator: gen,
            tag_bits: 128,
            tag: vec![],
        }
    }

    #[test]
    fn counter_ivs_keep_the_fixed_part_and_count() {
        let p = params(ck::CKG_GENERATE_COUNTER, vec![0xAB; 12], 32);
        let mut c = 0;
        let a = next_iv(&p, &mut c).unwrap();
        let b = next_iv(&p, &mut c).unwrap();
        assert_eq!(&a[..4], &[0xAB; 4]);
        assert_eq!(&a[4..], &[0u8; 8]);
        assert_eq!(&b[4..], &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(c, 2);
    }

    #[test]
    fn fixed_part_may_end_inside_a_byte() {
        let p = params(ck::CKG_GENERATE_COUNTER, vec![0xFF; 2], 12);
        let mut c = 5;
        assert_eq!(next_iv(&p, &mut c).unwrap(), vec![0xFF, 0xF5]);
        let mut c = 16;
        assert_eq!(
            next_iv(&p, &mut c).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid,
            "4 free bits hold 0..=15"
        );
    }

    #[test]
    fn random_ivs_differ_and_keep_the_fixed_part() {
        let p = params(ck::CKG_GENERATE_RANDOM, vec![0x11; 12], 64);
        let mut c = 0;
        let a = next_iv(&p, &mut c).unwrap();
        let b = next_iv(&p, &mut c).unwrap();
        assert_eq!(&a[..8], &[0x11; 8]);
        assert_eq!(&b[..8], &[0x11; 8]);
        assert_ne!(a[8..], b[8..]);
    }

    #[test]
    fn counter_xor_and_no_generate() {
        let p = params(ck::CKG_GENERATE_COUNTER_XOR, vec![0x0F; 12], 32);
        let mut c = 3;
        let iv = next_iv(&p, &mut c).unwrap();
        assert_eq!(iv[11], 0x0F ^ 3);
        assert_eq!(&iv[..4], &[0x0F; 4]);
        let p = params(ck::CKG_NO_GENERATE, vec![7; 12], 0);
        assert_eq!(next_iv(&p, &mut c).unwrap(), vec![7; 12]);
        let p = params(ck::CKG_GENERATE, vec![7; 12], 97);
        assert_eq!(
            next_iv(&p, &mut c).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid
        );
        let p = params(99, vec![7; 12], 0);
        assert_eq!(
            next_iv(&p, &mut c).unwrap_err().kind(),
            ErrorKind::MechanismParamInvalid
        );
    }
}
