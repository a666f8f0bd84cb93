//! Message-based encryption and decryption (PKCS#11 3.0, AES-GCM only). An error in one
//! message ends that message; the operation stays for the next one until
//! C_Message*Final or C_SessionCancel.

use super::keyuse::{use_key, MESSAGE_DECRYPT, MESSAGE_ENCRYPT};
use super::{Dest, Module, ObjectHandle, Output, SessionHandle};
use crate::error::{err, ErrorKind, Result};
use crate::mech::params::{GcmMessageParams, MechParam, Mechanism};
use crate::session::message::MessageOp;
use crate::session::ops::idle;
use crate::session::Ops;
use cryptoki_sys as ck;

fn message_slot(ops: &mut Ops, encrypt: bool) -> &mut Option<MessageOp> {
    if encrypt {
        &mut ops.message_encrypt
    } else {
        &mut ops.message_decrypt
    }
}

fn not_active<T>() -> Result<T> {
    err(
        ErrorKind::OperationNotInitialized,
        "no message-based operation is active: call C_Message*Init first",
    )
}

impl Module {
    fn start_message(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
        encrypt: bool,
    ) -> Result<()> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        let slot = message_slot(&mut ops, encrypt);
        idle(slot, "message-based")?;
        if m.ty != ck::CKM_AES_GCM {
            return err(
                ErrorKind::MechanismInvalid,
                "message-based encryption is offered for CKM_AES_GCM only",
            );
        }
        if m.param != MechParam::None {
            return err(
                ErrorKind::MechanismParamInvalid,
                "C_Message*Init takes no parameter: IV and tag travel with each message",
            );
        }
        let u = if encrypt {
            &MESSAGE_ENCRYPT
        } else {
            &MESSAGE_DECRYPT
        };
        let (_, k) = use_key(&s, m, key, u)?;
        *slot = Some(MessageOp::new(k, encrypt));
        Ok(())
    }

    /// Run `f` on the session's message operation (encrypting or decrypting).
    fn with_message<R>(
        &self,
        h: SessionHandle,
        encrypt: bool,
        f: impl FnOnce(&mut MessageOp) -> Result<R>,
    ) -> Result<R> {
        self.with_ops(h, |ops| match message_slot(ops, encrypt).as_mut() {
            Some(op) => f(op),
            None => not_active(),
        })
    }

    fn end_message(&self, h: SessionHandle, encrypt: bool) -> Result<()> {
        self.with_ops(h, |ops| match message_slot(ops, encrypt).take() {
            Some(_) => Ok(()),
            None => not_active(),
        })
    }

    pub fn message_encrypt_init(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        self.start_message(h, m, key, true)
    }
    /// C_EncryptMessage: returns the ciphertext (or its length) and updates `p` (generated
    /// IV, tag) for the C ABI to write back.
    pub fn encrypt_message(
        &self,
        h: SessionHandle,
        p: &mut GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        self.encrypt_message_to(h, p, aad, data, Dest::from_cap(out_cap))
    }
    /// C_EncryptMessage with the caller's buffer at hand: the ciphertext is written there.
    pub fn encrypt_message_to(
        &self,
        h: SessionHandle,
        p: &mut GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        dest: Dest<'_>,
    ) -> Result<Output> {
        let (out, ivt) = self.with_message(h, true, |op| op.one_shot_to(p, aad, data, dest))?;
        p.iv = ivt.iv;
        p.tag = ivt.tag;
        Ok(out)
    }
    pub fn encrypt_message_begin(
        &self,
        h: SessionHandle,
        p: &mut GcmMessageParams,
        aad: &[u8],
    ) -> Result<()> {
        p.iv = self.with_message(h, true, |op| op.begin(p, aad))?;
        Ok(())
    }
    /// C_EncryptMessageNext; `last` is CKF_END_OF_MESSAGE, after which `p.tag` holds the tag.
    pub fn encrypt_message_next(
        &self,
        h: SessionHandle,
        p: &mut GcmMessageParams,
        data: &[u8],
        last: bool,
        out_cap: Option<usize>,
    ) -> Result<Output> {
        let (out, ivt) = self.with_message(h, true, |op| op.next(data, last, &[], out_cap))?;
        p.iv = ivt.iv;
        if last {
            p.tag = ivt.tag;
        }
        Ok(out)
    }
    pub fn message_encrypt_final(&self, h: SessionHandle) -> Result<()> {
        self.end_message(h, true)
    }

    pub fn message_decrypt_init(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        self.start_message(h, m, key, false)
    }
    pub fn decrypt_message(
        &self,
        h: SessionHandle,
        p: &GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        self.decrypt_message_to(h, p, aad, data, Dest::from_cap(out_cap))
    }
    /// C_DecryptMessage with the caller's buffer at hand: the plaintext is written there.
    pub fn decrypt_message_to(
        &self,
        h: SessionHandle,
        p: &GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        dest: Dest<'_>,
    ) -> Result<Output> {
        self.with_message(h, false, |op| op.one_shot_to(p, aad, data, dest))
            .map(|(o, _)| o)
    }
    pub fn decrypt_message_begin(
        &self,
        h: SessionHandle,
        p: &GcmMessageParams,
        aad: &[u8],
    ) -> Result<()> {
        self.with_message(h, false, |op| op.begin(p, aad))
            .map(|_| ())
    }
    /// The tag is checked with the last part, from that call's `p.tag`.
    pub fn decrypt_message_next(
        &self,
        h: SessionHandle,
        p: &GcmMessageParams,
        data: &[u8],
        last: bool,
        out_cap: Option<usize>,
    ) -> Result<Output> {
        self.with_message(h, false, |op| op.next(data, last, &p.tag, out_cap))
            .map(|(o, _)| o)
    }
    pub fn message_decrypt_final(&self, h: SessionHandle) -> Result<()> {
        self.end_message(h, false)
    }
}
