//! Single- and multi-part operations: encryption, decryption, digests, signatures and
//! MACs, verification (including the 3.2 signature-first form). Each call locks only its
//! own session; the key material comes from the token's per-login cache.

use super::keyuse::{mechanism_for, use_key, KeyUse, DECRYPT, ENCRYPT, SIGN, VERIFY};
use super::{Dest, Module, ObjectHandle, Output, SessionHandle};
use crate::error::{err, Error, ErrorKind, Result};
use crate::mech::{self, params::Mechanism};
use crate::session::ops::{
    drive, ends, idle, keeps_on_ok, keeps_output, Cipher, Digest, Parts, Sign, Verify,
};
use crate::session::Ops;
use cryptoki_sys as ck;

fn cipher_slot(ops: &mut Ops, encrypt: bool) -> &mut Option<Cipher> {
    if encrypt {
        &mut ops.encrypt
    } else {
        &mut ops.decrypt
    }
}

fn cipher_name(encrypt: bool) -> &'static str {
    if encrypt {
        "encryption"
    } else {
        "decryption"
    }
}

/// Whether the signature mechanism `m` takes data in parts (its table row says).
fn parts(m: &Mechanism, u: &KeyUse) -> Result<Parts> {
    Ok(Parts::of(mechanism_for(m, u.function, u.what)?))
}

impl Module {
    // ----- encryption / decryption (single and multi-part) -----

    fn start_cipher(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
        encrypt: bool,
    ) -> Result<()> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        let slot = cipher_slot(&mut ops, encrypt);
        idle(slot, cipher_name(encrypt))?;
        let op = if encrypt {
            mech::encrypt_init(m, &use_key(&s, m, key, &ENCRYPT)?.1)?
        } else {
            mech::decrypt_init(m, &use_key(&s, m, key, &DECRYPT)?.1)?
        };
        *slot = Some(Cipher::new(op, encrypt));
        Ok(())
    }

    /// One call on the active encryption or decryption; `update` calls keep it going.
    fn cipher_call(
        &self,
        h: SessionHandle,
        encrypt: bool,
        update: bool,
        f: impl FnOnce(&mut Cipher) -> Result<Output>,
    ) -> Result<Output> {
        self.with_ops(h, |o| {
            drive(
                cipher_slot(o, encrypt),
                cipher_name(encrypt),
                keeps_output(update),
                f,
            )
        })
    }

    pub fn encrypt_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        self.start_cipher(h, m, key, true)
    }
    pub fn encrypt(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        self.encrypt_to(h, data, Dest::from_cap(out_cap))
    }
    /// C_Encrypt with the caller's buffer at hand (see [`Cipher::single_to`]).
    ///
    /// [`Cipher::single_to`]: crate::session::ops::Cipher::single_to
    pub fn encrypt_to(&self, h: SessionHandle, data: &[u8], dest: Dest<'_>) -> Result<Output> {
        self.cipher_call(h, true, false, |c| c.single_to(data, dest))
    }
    pub fn encrypt_update(
        &self,
        h: SessionHandle,
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        self.cipher_call(h, true, true, |c| c.update(data, out_cap))
    }
    pub fn encrypt_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        self.cipher_call(h, true, false, |c| c.finish(out_cap))
    }

    pub fn decrypt_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        self.start_cipher(h, m, key, false)
    }
    pub fn decrypt(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        self.decrypt_to(h, data, Dest::from_cap(out_cap))
    }
    /// C_Decrypt with the caller's buffer at hand (see [`Module::encrypt_to`]).
    pub fn decrypt_to(&self, h: SessionHandle, data: &[u8], dest: Dest<'_>) -> Result<Output> {
        self.cipher_call(h, false, false, |c| c.single_to(data, dest))
    }
    pub fn decrypt_update(
        &self,
        h: SessionHandle,
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        self.cipher_call(h, false, true, |c| c.update(data, out_cap))
    }
    pub fn decrypt_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        self.cipher_call(h, false, false, |c| c.finish(out_cap))
    }

    // ----- digests -----

    pub fn digest_init(&self, h: SessionHandle, m: &Mechanism) -> Result<()> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        idle(&ops.digest, "digest")?;
        ops.digest = Some(Digest::new(mech::digest_init(m)?));
        Ok(())
    }
    pub fn digest(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        self.with_ops(h, |o| {
            drive(&mut o.digest, "digest", keeps_output(false), |d| {
                d.single(data, out_cap)
            })
        })
    }
    pub fn digest_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.digest, "digest", keeps_on_ok, |d| d.update(data))
        })
    }
    /// C_DigestKey: feed a secret key's value. Only keys whose value may be revealed
    /// (CKA_SENSITIVE=FALSE, CKA_EXTRACTABLE=TRUE) are digestible: a digest of a hidden
    /// key would be an oracle on it.
    pub fn digest_key(&self, h: SessionHandle, key: ObjectHandle) -> Result<()> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        drive(&mut ops.digest, "digest", keeps_on_ok, |d| {
            let obj = s.token.object(key).map_err(|e| match e.kind() {
                ErrorKind::ObjectHandleInvalid => {
                    Error::new(ErrorKind::KeyHandleInvalid, e.message())
                }
                _ => e,
            })?;
            if obj.class() != ck::CKO_SECRET_KEY {
                return err(
                    ErrorKind::KeyIndigestible,
                    format!("only secret keys can be digested, not a {}", obj.kind.name),
                );
            }
            if obj.hides_secrets() {
                return err(
                    ErrorKind::KeyIndigestible,
                    "this key's value is sensitive or unextractable: it cannot be digested",
                );
            }
            let secret = s.token.secret_of(&obj)?;
            match secret.get(ck::CKA_VALUE) {
                Some(v) => d.update(v),
                None => err(
                    ErrorKind::KeyIndigestible,
                    "this key has no value to digest",
                ),
            }
        })
    }
    pub fn digest_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        self.with_ops(h, |o| {
            drive(&mut o.digest, "digest", keeps_output(false), |d| {
                d.finish(out_cap)
            })
        })
    }

    // ----- signatures and MACs -----

    pub fn sign_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        idle(&ops.sign, "signing")?;
        let (_, k) = use_key(&s, m, key, &SIGN)?;
        ops.sign = Some(Sign::new(mech::sign_init(m, &k)?, parts(m, &SIGN)?));
        Ok(())
    }
    pub fn sign(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        self.with_ops(h, |o| {
            drive(&mut o.sign, "signing", keeps_output(false), |o| {
                o.single(data, out_cap)
            })
        })
    }
    pub fn sign_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.sign, "signing", keeps_on_ok, |o| o.update(data))
        })
    }
    pub fn sign_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        self.with_ops(h, |o| {
            drive(&mut o.sign, "signing", keeps_output(false), |o| {
                o.finish(out_cap)
            })
        })
    }

    fn start_verify(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
        sig: Option<&[u8]>,
    ) -> Result<()> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        idle(&ops.verify, "verification")?;
        let (_, k) = use_key(&s, m, key, &VERIFY)?;
        ops.verify = Some(Verify::new(
            mech::verify_init(m, &k)?,
            parts(m, &VERIFY)?,
            sig.map(<[u8]>::to_vec),
        ));
        Ok(())
    }
    pub fn verify_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        self.start_verify(h, m, key, None)
    }
    pub fn verify(&self, h: SessionHandle, data: &[u8], sig: &[u8]) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.verify, "verification", ends, |v| {
                v.single(data, Some(sig))
            })
        })
    }
    pub fn verify_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.verify, "verification", keeps_on_ok, |v| {
                v.update(data, false)
            })
        })
    }
    pub fn verify_final(&self, h: SessionHandle, sig: &[u8]) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.verify, "verification", ends, |v| v.finish(Some(sig)))
        })
    }
    /// PKCS#11 3.2: the signature is given at init; data follows.
    pub fn verify_signature_init(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
        sig: &[u8],
    ) -> Result<()> {
        self.start_verify(h, m, key, Some(sig))
    }
    pub fn verify_signature(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.verify, "verification", ends, |v| {
                v.single(data, None)
            })
        })
    }
    pub fn verify_signature_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.verify, "verification", keeps_on_ok, |v| {
                v.update(data, true)
            })
        })
    }
    pub fn verify_signature_final(&self, h: SessionHandle) -> Result<()> {
        self.with_ops(h, |o| {
            drive(&mut o.verify, "verification", ends, |v| v.finish(None))
        })
    }
}
