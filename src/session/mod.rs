//! Sessions: a handle bound to one token, read-only or read/write, with its own operation
//! state behind its own lock so sessions run crypto in parallel. The PKCS#11 session
//! state (CKS_*) is derived from the token's login state, never stored twice.

pub mod message;
pub mod ops;

use crate::module::{SessionHandle, SessionInfo, SlotId};
use crate::token::{lk, Token, Who};
use cryptoki_sys as ck;
use std::sync::{Arc, Mutex, MutexGuard};

/// The operations a session may have active, one of each kind at a time.
#[derive(Default)]
pub struct Ops {
    pub find: Option<ops::Find>,
    pub encrypt: Option<ops::Cipher>,
    pub decrypt: Option<ops::Cipher>,
    pub digest: Option<ops::Digest>,
    pub sign: Option<ops::Sign>,
    pub verify: Option<ops::Verify>,
    pub message_encrypt: Option<message::MessageOp>,
    pub message_decrypt: Option<message::MessageOp>,
}

impl Ops {
    /// C_SessionCancel: end the operations named by CKF_* function flags.
    pub fn cancel(&mut self, flags: ck::CK_FLAGS) {
        if flags & ck::CKF_FIND_OBJECTS != 0 {
            self.find = None;
        }
        if flags & ck::CKF_ENCRYPT != 0 {
            self.encrypt = None;
        }
        if flags & ck::CKF_DECRYPT != 0 {
            self.decrypt = None;
        }
        if flags & ck::CKF_DIGEST != 0 {
            self.digest = None;
        }
        if flags & ck::CKF_SIGN != 0 {
            self.sign = None;
        }
        if flags & ck::CKF_VERIFY != 0 {
            self.verify = None;
        }
        if flags & ck::CKF_MESSAGE_ENCRYPT != 0 {
            self.message_encrypt = None;
        }
        if flags & ck::CKF_MESSAGE_DECRYPT != 0 {
            self.message_decrypt = None;
        }
    }

    /// End everything (logout: operations may hold key material).
    pub fn clear(&mut self) {
        *self = Ops::default();
    }
}

pub struct Session {
    pub handle: SessionHandle,
    pub slot: SlotId,
    pub token: Arc<Token>,
    pub rw: bool,
    ops: Mutex<Ops>,
}

impl Session {
    pub fn new(handle: SessionHandle, slot: SlotId, token: Arc<Token>, rw: bool) -> Self {
        Session {
            handle,
            slot,
            token,
            rw,
            ops: Mutex::default(),
        }
    }

    /// This session's operations. Held for the whole of one call, crypto included; no
    /// other session waits on it.
    pub fn ops(&self) -> MutexGuard<'_, Ops> {
        lk(&self.ops)
    }

    pub fn state(&self) -> ck::CK_STATE {
        match (self.token.who(), self.rw) {
            (Who::Public, false) => ck::CKS_RO_PUBLIC_SESSION,
            (Who::Public, true) => ck::CKS_RW_PUBLIC_SESSION,
            (Who::User, false) => ck::CKS_RO_USER_FUNCTIONS,
            (Who::User, true) => ck::CKS_RW_USER_FUNCTIONS,
            // An SO login refuses read-only sessions, so this pair cannot occur.
            (Who::So, _) => ck::CKS_RW_SO_FUNCTIONS,
        }
    }

    pub fn info(&self) -> SessionInfo {
        let rw = if self.rw { ck::CKF_RW_SESSION } else { 0 };
        SessionInfo {
            slot_id: self.slot,
            state: self.state(),
            flags: ck::CKF_SERIAL_SESSION | rw,
            device_error: 0,
        }
    }
}
