//! Slot and token management: C_GetSlotList/SlotInfo/TokenInfo, the mechanism list, and
//! C_InitToken (a new token in the free slot, or re-initialising an existing one).

use super::{MechanismInfo, Module, Slot, SlotId, SlotInfo, TokenInfo};
use crate::error::{err, ErrorKind, Result};
use crate::mech::params::MechType;
use crate::mech::table;
use crate::store::TokenRecord;
use crate::token::{lk, rd, wr, Token};
use cryptoki_sys as ck;
use std::sync::Arc;

const MANUFACTURER: &str = "pqhsm";
const MODEL: &str = "pqhsm soft token";

fn version() -> (u8, u8) {
    let part = |s: &str| s.parse().unwrap_or(0);
    (
        part(env!("CARGO_PKG_VERSION_MAJOR")),
        part(env!("CARGO_PKG_VERSION_MINOR")),
    )
}

/// PIN counter flags for one PIN, per the spec's CKF_*_PIN_COUNT_LOW/FINAL_TRY/LOCKED.
fn pin_flags(
    failures: u32,
    max: u32,
    locked: bool,
    low: ck::CK_FLAGS,
    final_try: ck::CK_FLAGS,
    lock: ck::CK_FLAGS,
) -> ck::CK_FLAGS {
    if locked {
        lock
    } else if failures > 0 && failures + 1 >= max {
        low | final_try
    } else if failures > 0 {
        low
    } else {
        0
    }
}

fn token_flags(rec: Option<&TokenRecord>) -> ck::CK_FLAGS {
    let mut flags = ck::CKF_RNG | ck::CKF_LOGIN_REQUIRED | ck::CKF_CLOCK_ON_TOKEN;
    let Some(r) = rec else { return flags };
    flags |= ck::CKF_TOKEN_INITIALIZED;
    if r.user_pin_initialized {
        flags |= ck::CKF_USER_PIN_INITIALIZED;
        flags |= pin_flags(
            r.user_pin_failures,
            r.max_pin_failures,
            r.user_pin_locked,
            ck::CKF_USER_PIN_COUNT_LOW,
            ck::CKF_USER_PIN_FINAL_TRY,
            ck::CKF_USER_PIN_LOCKED,
        );
    }
    flags
        | pin_flags(
            r.so_pin_failures,
            r.max_pin_failures,
            r.so_pin_locked,
            ck::CKF_SO_PIN_COUNT_LOW,
            ck::CKF_SO_PIN_FINAL_TRY,
            ck::CKF_SO_PIN_LOCKED,
        )
}

/// UTC now as YYYYMMDDhhmmss00 (CK_TOKEN_INFO.utcTime).
pub(crate) fn utc_time(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian), era-based.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}00",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

impl Module {
    /// Every slot holds a token (the free slot an uninitialised one), so `token_present`
    /// changes nothing.
    pub fn slot_list(&self, _token_present: bool) -> Vec<SlotId> {
        (0..rd(&self.slots).len() as SlotId).collect()
    }

    pub fn slot_info(&self, slot: SlotId) -> Result<SlotInfo> {
        let what = match self.slot(slot)? {
            Slot::Token(t) => format!("pqhsm token {}", t.serial()),
            Slot::Free => "pqhsm free slot (C_InitToken creates a token)".to_string(),
        };
        Ok(SlotInfo {
            description: what,
            manufacturer: MANUFACTURER.to_string(),
            flags: ck::CKF_TOKEN_PRESENT,
            hardware_version: version(),
            firmware_version: version(),
        })
    }

    pub fn token_info(&self, slot: SlotId) -> Result<TokenInfo> {
        let (rec, serial) = match self.slot(slot)? {
            Slot::Token(t) => (t.record()?, t.serial().to_string()),
            Slot::Free => (None, String::new()),
        };
        let sessions = self.sessions_on(slot);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(TokenInfo {
            label: rec.as_ref().map(|r| r.label.clone()).unwrap_or_default(),
            manufacturer: MANUFACTURER.to_string(),
            model: MODEL.to_string(),
            serial,
            flags: token_flags(rec.as_ref()),
            // Some(0) is CK_EFFECTIVELY_INFINITE: sessions are limited only by memory.
            max_session_count: Some(0),
            session_count: Some(sessions.len() as u64),
            max_rw_session_count: Some(0),
            rw_session_count: Some(sessions.iter().filter(|s| s.rw).count() as u64),
            max_pin_len: self.policy().max_pin_len as u64,
            min_pin_len: self.policy().min_pin_len as u64,
            total_public_memory: None,
            free_public_memory: None,
            total_private_memory: None,
            free_private_memory: None,
            hardware_version: version(),
            firmware_version: version(),
            utc_time: utc_time(now),
        })
    }

    pub fn mechanism_list(&self, slot: SlotId) -> Result<Vec<MechType>> {
        self.slot(slot)?;
        Ok(table::MECHANISMS.iter().map(|m| m.ty).collect())
    }

    pub fn mechanism_info(&self, slot: SlotId, mech: MechType) -> Result<MechanismInfo> {
        self.slot(slot)?;
        match table::lookup(mech) {
            Some(m) => Ok(MechanismInfo {
                min_key_size: m.min_key_size,
                max_key_size: m.max_key_size,
                flags: m.flags,
            }),
            None => err(
                ErrorKind::MechanismInvalid,
                format!("mechanism {mech:#x} is not supported by this token"),
            ),
        }
    }

    pub(super) fn check_pin_len(&self, pin: &[u8]) -> Result<()> {
        let p = self.policy();
        if pin.len() < p.min_pin_len || pin.len() > p.max_pin_len {
            return err(
                ErrorKind::PinLenRange,
                format!(
                    "a PIN must have {} to {} bytes (policy in the configuration)",
                    p.min_pin_len, p.max_pin_len
                ),
            );
        }
        Ok(())
    }

    /// C_InitToken: (re)initialise the token in `slot` with an SO PIN and a 32-char label.
    pub fn init_token(&self, slot: SlotId, so_pin: &[u8], label: &str) -> Result<()> {
        self.check_pin_len(so_pin)?;
        // CK_TOKEN_INFO pads labels with blanks; the store keeps the meaningful part.
        let label = label.trim_end_matches(' ');
        if label.len() > 32 {
            return err(
                ErrorKind::ArgumentsBad,
                "a token label has at most 32 bytes",
            );
        }
        match self.slot(slot)? {
            Slot::Token(t) => self.reinit_token(slot, &t, so_pin, label),
            Slot::Free => {
                let _gate = lk(&self.init_gate);
                if let Slot::Token(t) = self.slot(slot)? {
                    // Initialised by another thread meanwhile: this is now a re-init.
                    return self.reinit_token(slot, &t, so_pin, label);
                }
                let (serial, store) = self.backend.create()?;
                if let Err(e) = store.init_token(so_pin, label) {
                    drop(store);
                    if let Err(d) = self.backend.discard(&serial) {
                        tracing::warn!(serial = %serial, "could not remove the failed token: {d}");
                    }
                    return Err(e);
                }
                let token = Token::new(
                    serial,
                    store,
                    self.object_handles.clone(),
                    self.caller.clone(),
                );
                let mut slots = wr(&self.slots);
                if let Some(s) = usize::try_from(slot).ok().and_then(|i| slots.get_mut(i)) {
                    *s = Slot::Token(Arc::new(token));
                }
                slots.push(Slot::Free);
                Ok(())
            }
        }
    }

    fn reinit_token(&self, slot: SlotId, t: &Token, so_pin: &[u8], label: &str) -> Result<()> {
        let _gate = lk(&t.login_gate);
        // Held throughout so no session opens on a token being wiped.
        let sessions = rd(&self.sessions);
        if sessions.values().any(|s| s.slot == slot) {
            return err(
                ErrorKind::SessionExists,
                "close every session on this token before C_InitToken",
            );
        }
        t.store().init_token(so_pin, label)?;
        t.reset();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_time_formats_civil_dates() {
        assert_eq!(utc_time(0), "1970010100000000");
        // 2024-02-29 12:34:56 UTC (a leap day).
        assert_eq!(utc_time(1_709_210_096), "2024022912345600");
        // 2000-03-01 00:00:00 UTC.
        assert_eq!(utc_time(951_868_800), "2000030100000000");
    }

    #[test]
    fn pin_counter_flags() {
        let f = |n, locked| pin_flags(n, 3, locked, 1, 2, 4);
        assert_eq!(f(0, false), 0);
        assert_eq!(f(1, false), 1);
        assert_eq!(f(2, false), 1 | 2);
        assert_eq!(f(3, true), 4);
    }
}
