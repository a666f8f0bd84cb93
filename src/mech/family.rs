//! The seam between dispatch and the algorithm families: one trait every family module
//! implements for the operations it serves. A family answers only for mechanisms its
//! table rows name; every default refuses, so a missing operation is an error, never a panic.

use super::params::Mechanism;
use super::{CipherOp, DigestOp, GeneratedPair, KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::Template;
use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;
use zeroize::Zeroizing;

/// The refusal every default returns: the table listed the mechanism for this family but
/// the family does not offer that function with it.
pub fn unsupported<T>(m: &Mechanism, what: &str) -> Result<T> {
    err(
        ErrorKind::MechanismInvalid,
        format!("mechanism {:#x} cannot be used to {what}", m.ty),
    )
}

/// Operations of one algorithm family. Dispatch has already checked that the mechanism is
/// in the table, that the table row allows the function, and that the key type and size
/// fit the row; a family still checks parameters and public/private key roles.
pub trait Family: Sync + std::fmt::Debug {
    fn sign_init(&self, m: &Mechanism, _key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        unsupported(m, "sign")
    }
    fn verify_init(&self, m: &Mechanism, _key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        unsupported(m, "verify")
    }
    fn encrypt_init(&self, m: &Mechanism, _key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
        unsupported(m, "encrypt")
    }
    fn decrypt_init(&self, m: &Mechanism, _key: &KeyMaterial) -> Result<Box<dyn CipherOp>> {
        unsupported(m, "decrypt")
    }
    fn digest_init(&self, m: &Mechanism) -> Result<Box<dyn DigestOp>> {
        unsupported(m, "digest")
    }
    fn generate_key(&self, m: &Mechanism, _t: &Template) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
        unsupported(m, "generate a key")
    }
    fn generate_key_pair(
        &self,
        m: &Mechanism,
        _public: &Template,
        _private: &Template,
    ) -> Result<GeneratedPair> {
        unsupported(m, "generate a key pair")
    }
    fn derive(
        &self,
        m: &Mechanism,
        _base: &KeyMaterial,
        _salt_key: Option<&KeyMaterial>,
        _out_len: Option<usize>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        unsupported(m, "derive a key")
    }
    /// Wrapping is single-part encryption unless a family says otherwise.
    fn wrap(&self, m: &Mechanism, wrapping: &KeyMaterial, key_bytes: &[u8]) -> Result<Vec<u8>> {
        let mut op = self.encrypt_init(m, wrapping)?;
        let mut out = op.update(key_bytes)?;
        out.extend_from_slice(&op.finish()?);
        Ok(out.to_vec())
    }
    fn wrap_len(&self, m: &Mechanism, wrapping: &KeyMaterial, key_len: usize) -> Result<usize> {
        Ok(self.encrypt_init(m, wrapping)?.one_shot_len(key_len))
    }
    fn unwrap(
        &self,
        m: &Mechanism,
        unwrapping: &KeyMaterial,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let mut op = self.decrypt_init(m, unwrapping)?;
        let mut out = op.update(wrapped)?;
        out.extend_from_slice(&op.finish()?);
        Ok(out)
    }
    fn encapsulate(
        &self,
        m: &Mechanism,
        _public: &KeyMaterial,
    ) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
        unsupported(m, "encapsulate")
    }
    fn ciphertext_len(&self, m: &Mechanism, _public: &KeyMaterial) -> Result<usize> {
        unsupported(m, "encapsulate")
    }
    fn decapsulate(
        &self,
        m: &Mechanism,
        _private: &KeyMaterial,
        _ct: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        unsupported(m, "decapsulate")
    }
}
