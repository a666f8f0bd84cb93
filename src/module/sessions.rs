//! Session management and authentication: open/close, login/logout (one login state per
//! token shared by all of this process's sessions), C_InitPIN, C_SetPIN, C_SessionCancel
//! and the random-number functions.

use super::{Module, SessionHandle, SessionInfo, SlotId};
use crate::error::{err, ErrorKind, Result};
use crate::session::Session;
use crate::store::PinKind;
use crate::token::{lk, wr, Who};
use cryptoki_sys as ck;
use std::sync::Arc;

impl Module {
    pub fn open_session(&self, slot: SlotId, flags: ck::CK_FLAGS) -> Result<SessionHandle> {
        if flags & ck::CKF_SERIAL_SESSION == 0 {
            return err(
                ErrorKind::SessionParallelNotSupported,
                "CKF_SERIAL_SESSION must be set",
            );
        }
        let token = self.token(slot)?;
        let rw = flags & ck::CKF_RW_SESSION != 0;
        // Under the session map lock so an SO login cannot slip in between check and insert.
        let mut sessions = wr(&self.sessions);
        if !rw && token.who() == Who::So {
            return err(
                ErrorKind::SessionReadWriteSoExists,
                "the SO is logged in: only read/write sessions may open",
            );
        }
        let h = self.next_session_handle();
        sessions.insert(h, Arc::new(Session::new(h, slot, token, rw)));
        Ok(h)
    }

    pub fn close_session(&self, h: SessionHandle) -> Result<()> {
        let s = match wr(&self.sessions).remove(&h) {
            Some(s) => s,
            None => {
                return err(
                    ErrorKind::SessionHandleInvalid,
                    format!("no open session has handle {h}"),
                )
            }
        };
        self.session_closed(&s);
        Ok(())
    }

    pub fn close_all_sessions(&self, slot: SlotId) -> Result<()> {
        self.slot(slot)?;
        let closed: Vec<Arc<Session>> = {
            let mut sessions = wr(&self.sessions);
            let hs: Vec<SessionHandle> = sessions
                .values()
                .filter(|s| s.slot == slot)
                .map(|s| s.handle)
                .collect();
            hs.iter().filter_map(|h| sessions.remove(h)).collect()
        };
        for s in &closed {
            self.session_closed(s);
        }
        Ok(())
    }

    /// A session is gone: its operations and session objects die with it, and the last
    /// session on a token takes the login (and every cached secret) with it.
    fn session_closed(&self, s: &Session) {
        s.ops().clear();
        s.token.remove_session_objects(s.handle);
        let sessions = wr(&self.sessions);
        if !sessions.values().any(|o| o.slot == s.slot) {
            s.token.logout();
        }
    }

    pub fn session_info(&self, h: SessionHandle) -> Result<SessionInfo> {
        Ok(self.session(h)?.info())
    }

    pub fn login(&self, h: SessionHandle, user: ck::CK_USER_TYPE, pin: &[u8]) -> Result<()> {
        let s = self.session(h)?;
        let (kind, who) = match user {
            ck::CKU_SO => (PinKind::So, Who::So),
            ck::CKU_USER => (PinKind::User, Who::User),
            ck::CKU_CONTEXT_SPECIFIC => {
                return err(
                    ErrorKind::OperationNotInitialized,
                    "no operation needs a context-specific login: keys never carry CKA_ALWAYS_AUTHENTICATE",
                )
            }
            _ => return err(ErrorKind::UserTypeInvalid, format!("user type {user:#x} is not CKU_SO or CKU_USER")),
        };
        let t = &s.token;
        let _gate = lk(&t.login_gate);
        match t.who() {
            Who::Public => {}
            w if w == who => return err(ErrorKind::UserAlreadyLoggedIn, "already logged in"),
            _ => {
                return err(
                    ErrorKind::UserAnotherAlreadyLoggedIn,
                    "another user is logged in: log out first",
                )
            }
        }
        let ro_exists = || self.sessions_on(s.slot).iter().any(|x| !x.rw);
        if who == Who::So && ro_exists() {
            return err(
                ErrorKind::SessionReadOnlyExists,
                "close the read-only sessions before the SO logs in",
            );
        }
        if who == Who::User && t.record()?.is_some_and(|r| !r.user_pin_initialized) {
            return err(
                ErrorKind::UserPinNotInitialized,
                "the user PIN is not set: the SO must run C_InitPIN",
            );
        }
        let mk = t.store().login(kind, pin)?;
        let sessions = wr(&self.sessions);
        if who == Who::So && sessions.values().any(|x| x.slot == s.slot && !x.rw) {
            return err(
                ErrorKind::SessionReadOnlyExists,
                "a read-only session opened during the SO login",
            );
        }
        t.set_login(who, mk);
        Ok(())
    }

    pub fn logout(&self, h: SessionHandle) -> Result<()> {
        let s = self.session(h)?;
        {
            let _gate = lk(&s.token.login_gate);
            if s.token.who() == Who::Public {
                return err(ErrorKind::UserNotLoggedIn, "nobody is logged in");
            }
            s.token.logout();
        }
        // Operations may hold parsed keys; none survives the login that unlocked it.
        for other in self.sessions_on(s.slot) {
            other.ops().clear();
        }
        Ok(())
    }

    pub fn init_pin(&self, h: SessionHandle, pin: &[u8]) -> Result<()> {
        let s = self.session(h)?;
        let t = &s.token;
        let _gate = lk(&t.login_gate);
        let mk = match (t.who(), t.master_key()) {
            (Who::So, Some(mk)) if s.rw => mk,
            _ => {
                return err(
                    ErrorKind::UserNotLoggedIn,
                    "C_InitPIN needs the SO logged in on a read/write session",
                )
            }
        };
        self.check_pin_len(pin)?;
        t.store().init_user_pin(&mk, pin)
    }

    /// C_SetPIN changes the PIN of whoever is logged in, or the user PIN when nobody is.
    pub fn set_pin(&self, h: SessionHandle, old: &[u8], new: &[u8]) -> Result<()> {
        let s = self.session(h)?;
        if !s.rw {
            return err(
                ErrorKind::SessionReadOnly,
                "C_SetPIN needs a read/write session",
            );
        }
        self.check_pin_len(new)?;
        let t = &s.token;
        let _gate = lk(&t.login_gate);
        let kind = if t.who() == Who::So {
            PinKind::So
        } else {
            PinKind::User
        };
        if kind == PinKind::User && t.record()?.is_some_and(|r| !r.user_pin_initialized) {
            return err(
                ErrorKind::UserPinNotInitialized,
                "the user PIN is not set: the SO must run C_InitPIN",
            );
        }
        t.store().set_pin(kind, old, new)
    }

    /// C_SessionCancel: end the operations named by `flags` (CKF_ENCRYPT, CKF_SIGN, ...).
    pub fn session_cancel(&self, h: SessionHandle, flags: ck::CK_FLAGS) -> Result<()> {
        self.session(h)?.ops().cancel(flags);
        Ok(())
    }

    /// C_SeedRandom: refused. The token's generator is seeded from the OS and the entropy
    /// bridge only; a caller's seed could add nothing it may rely on.
    pub fn seed_random(&self, h: SessionHandle, _seed: &[u8]) -> Result<()> {
        self.session(h)?;
        err(
            ErrorKind::RandomSeedNotSupported,
            "the token's generator takes no seed from callers",
        )
    }

    pub fn generate_random(&self, h: SessionHandle, out: &mut [u8]) -> Result<()> {
        self.session(h)?;
        crate::rng::try_fill_bytes(out)
    }
}
