//! Operation shells the families share: input that is hashed or buffered and then handed
//! to a one-shot function, MAC checks by constant-time comparison, and ciphers that can
//! only work on the whole input. Nothing algorithm-specific lives here.

use super::{CipherOp, SignOp, VerifyOp};
use crate::error::{err, ErrorKind, Result};
use crate::secret::SecretBuf;
use digest::DynDigest;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// What a sign/verify operation feeds its one-shot function: the digest of everything
/// seen (hash-and-sign mechanisms) or everything seen itself (raw mechanisms).
pub enum Input {
    Hash(Box<dyn DynDigest + Send>),
    Buffer { data: SecretBuf, max: Option<usize> },
}

impl Input {
    /// Buffer the data; more than `max` bytes is DataLenRange, reported when it happens.
    pub fn buffer(max: Option<usize>) -> Input {
        Input::Buffer {
            data: SecretBuf::new(),
            max,
        }
    }

    pub fn update(&mut self, chunk: &[u8]) -> Result<()> {
        match self {
            Input::Hash(h) => h.update(chunk),
            Input::Buffer { data, max } => {
                if max.is_some_and(|m| data.len() + chunk.len() > m) {
                    return err(
                        ErrorKind::DataLenRange,
                        format!(
                            "this mechanism takes at most {} bytes of input",
                            max.unwrap_or(0)
                        ),
                    );
                }
                data.extend_from_slice(chunk);
            }
        }
        Ok(())
    }

    /// The digest or the buffered data; the input is empty afterwards.
    pub fn take(&mut self) -> Zeroizing<Vec<u8>> {
        match self {
            Input::Hash(h) => Zeroizing::new(h.finalize_reset().into_vec()),
            Input::Buffer { data, .. } => data.take(),
        }
    }
}

type SignFn = Box<dyn FnMut(&[u8]) -> Result<Vec<u8>> + Send>;
type VerifyFn = Box<dyn FnMut(&[u8], &[u8]) -> Result<()> + Send>;

/// A signature computed in one go over the input's digest or buffer.
pub struct OneShotSign {
    input: Input,
    len: usize,
    sign: SignFn,
}

impl OneShotSign {
    pub fn new(
        input: Input,
        len: usize,
        sign: impl FnMut(&[u8]) -> Result<Vec<u8>> + Send + 'static,
    ) -> Self {
        OneShotSign {
            input,
            len,
            sign: Box::new(sign),
        }
    }
}

impl SignOp for OneShotSign {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        self.input.update(data)
    }
    fn sig_len(&self) -> usize {
        self.len
    }
    fn finish(&mut self) -> Result<Vec<u8>> {
        let data = self.input.take();
        (self.sign)(&data)
    }
}

/// A signature check done in one go over the input's digest or buffer.
pub struct OneShotVerify {
    input: Input,
    verify: VerifyFn,
}

impl OneShotVerify {
    pub fn new(
        input: Input,
        verify: impl FnMut(&[u8], &[u8]) -> Result<()> + Send + 'static,
    ) -> Self {
        OneShotVerify {
            input,
            verify: Box::new(verify),
        }
    }
}

impl VerifyOp for OneShotVerify {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        self.input.update(data)
    }
    fn finish(&mut self, sig: &[u8]) -> Result<()> {
        let data = self.input.take();
        (self.verify)(&data, sig)
    }
}

/// A MAC from a RustCrypto `Mac`, truncated to `len` bytes (the *_GENERAL mechanisms).
pub struct MacSign<M> {
    mac: Option<M>,
    len: usize,
}

impl<M: digest::Mac + Send> MacSign<M> {
    pub fn new(mac: M, len: usize) -> Self {
        MacSign {
            mac: Some(mac),
            len,
        }
    }
}

impl<M: digest::Mac + Send> SignOp for MacSign<M> {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        match self.mac.as_mut() {
            Some(m) => {
                m.update(data);
                Ok(())
            }
            None => err(
                ErrorKind::OperationNotInitialized,
                "the MAC operation has already finished",
            ),
        }
    }
    fn sig_len(&self) -> usize {
        self.len
    }
    fn finish(&mut self) -> Result<Vec<u8>> {
        match self.mac.take() {
            Some(m) => Ok(m.finalize().into_bytes()[..self.len].to_vec()),
            None => err(
                ErrorKind::OperationNotInitialized,
                "the MAC operation has already finished",
            ),
        }
    }
}

/// MAC verification: recompute and compare in constant time. A MAC of the wrong length is
/// SignatureLenRange, as the spec asks, before any comparison.
pub struct MacVerify(pub Box<dyn SignOp>);

impl VerifyOp for MacVerify {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        self.0.update(data)
    }
    fn finish(&mut self, sig: &[u8]) -> Result<()> {
        if sig.len() != self.0.sig_len() {
            return err(
                ErrorKind::SignatureLenRange,
                format!(
                    "the MAC must be {} bytes, got {}",
                    self.0.sig_len(),
                    sig.len()
                ),
            );
        }
        let expected = Zeroizing::new(self.0.finish()?);
        if bool::from(expected.as_slice().ct_eq(sig)) {
            Ok(())
        } else {
            err(
                ErrorKind::SignatureInvalid,
                "the MAC does not match the data",
            )
        }
    }
}

pub(crate) type CipherFn = Box<dyn FnMut(&[u8]) -> Result<Zeroizing<Vec<u8>>> + Send>;
type LenFn = Box<dyn Fn(usize) -> usize + Send>;

/// A cipher that needs its whole input before it can output anything (RSA, AES key wrap,
/// AES-GCM decryption): updates only buffer, `finish` runs the one-shot function.
pub struct WholeInput {
    data: SecretBuf,
    out_len: LenFn,
    run: CipherFn,
}

impl WholeInput {
    /// `out_len(n)` bounds the output for `n` bytes of input.
    pub fn new(
        out_len: impl Fn(usize) -> usize + Send + 'static,
        run: impl FnMut(&[u8]) -> Result<Zeroizing<Vec<u8>>> + Send + 'static,
    ) -> Self {
        WholeInput {
            data: SecretBuf::new(),
            out_len: Box::new(out_len),
            run: Box::new(run),
        }
    }
}

impl CipherOp for WholeInput {
    fn update_len(&self, _in_len: usize) -> usize {
        0
    }
    fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.data.extend_from_slice(data);
        Ok(Zeroizing::new(Vec::new()))
    }
    fn final_len(&self) -> usize {
        (self.out_len)(self.data.len())
    }
    fn finish(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        let data = self.data.take();
        (self.run)(&data)
    }
    fn one_shot_len(&self, in_len: usize) -> usize {
        (self.out_len)(self.data.len() + in_len)
    }
    fn one_shot(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if self.data.is_empty() {
            return (self.run)(data);
        }
        self.data.extend_from_slice(data);
        self.finish()
    }
}
