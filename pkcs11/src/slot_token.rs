//! Slot and token management functions (spec 5.5): slot and token lists and facts,
//! mechanisms, C_InitToken. Strings go out space-padded to their fixed widths; nothing is
//! decided here.

use crate::ceremony::call;
use crate::marshal::{out_value, padded, pin, read, unpadded, version, write_list};
use cryptoki_sys as ck;
use pqhsm::{Error, ErrorKind};
use std::ffi::c_void;

#[no_mangle]
pub extern "C" fn C_GetSlotList(
    tokenPresent: ck::CK_BBOOL,
    pSlotList: *mut ck::CK_SLOT_ID,
    pulCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_GetSlotList", |m| {
        let slots = m.slot_list(tokenPresent != ck::CK_FALSE);
        // SAFETY: pulCount and pSlotList follow the counted-list contract (spec 5.5).
        unsafe { write_list(pSlotList, pulCount, &slots) }
    })
}

#[no_mangle]
pub extern "C" fn C_GetSlotInfo(slotID: ck::CK_SLOT_ID, pInfo: *mut ck::CK_SLOT_INFO) -> ck::CK_RV {
    call("C_GetSlotInfo", |m| {
        let info = || {
            let s = m.slot_info(slotID)?;
            Ok(ck::CK_SLOT_INFO {
                slotDescription: padded(&s.description),
                manufacturerID: padded(&s.manufacturer),
                flags: s.flags,
                hardwareVersion: version(s.hardware_version),
                firmwareVersion: version(s.firmware_version),
            })
        };
        // SAFETY: pInfo, when non-NULL, points to a CK_SLOT_INFO the caller owns.
        unsafe { out_value(pInfo, "pInfo is NULL", info) }
    })
}

/// A count the core may not know: CK_UNAVAILABLE_INFORMATION then.
fn count(v: Option<u64>) -> ck::CK_ULONG {
    v.map_or(ck::CK_UNAVAILABLE_INFORMATION, |v| v as ck::CK_ULONG)
}

#[no_mangle]
pub extern "C" fn C_GetTokenInfo(
    slotID: ck::CK_SLOT_ID,
    pInfo: *mut ck::CK_TOKEN_INFO,
) -> ck::CK_RV {
    call("C_GetTokenInfo", |m| {
        let info = || {
            let t = m.token_info(slotID)?;
            Ok(ck::CK_TOKEN_INFO {
                label: padded(&t.label),
                manufacturerID: padded(&t.manufacturer),
                model: padded(&t.model),
                serialNumber: padded(&t.serial),
                flags: t.flags,
                ulMaxSessionCount: count(t.max_session_count),
                ulSessionCount: count(t.session_count),
                ulMaxRwSessionCount: count(t.max_rw_session_count),
                ulRwSessionCount: count(t.rw_session_count),
                ulMaxPinLen: t.max_pin_len as ck::CK_ULONG,
                ulMinPinLen: t.min_pin_len as ck::CK_ULONG,
                ulTotalPublicMemory: count(t.total_public_memory),
                ulFreePublicMemory: count(t.free_public_memory),
                ulTotalPrivateMemory: count(t.total_private_memory),
                ulFreePrivateMemory: count(t.free_private_memory),
                hardwareVersion: version(t.hardware_version),
                firmwareVersion: version(t.firmware_version),
                utcTime: padded(&t.utc_time),
            })
        };
        // SAFETY: pInfo, when non-NULL, points to a CK_TOKEN_INFO the caller owns.
        unsafe { out_value(pInfo, "pInfo is NULL", info) }
    })
}

#[no_mangle]
pub extern "C" fn C_GetMechanismList(
    slotID: ck::CK_SLOT_ID,
    pMechanismList: *mut ck::CK_MECHANISM_TYPE,
    pulCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_GetMechanismList", |m| {
        let mechs = m.mechanism_list(slotID)?;
        // SAFETY: pulCount and pMechanismList follow the counted-list contract (spec 5.5).
        unsafe { write_list(pMechanismList, pulCount, &mechs) }
    })
}

#[no_mangle]
pub extern "C" fn C_GetMechanismInfo(
    slotID: ck::CK_SLOT_ID,
    type_: ck::CK_MECHANISM_TYPE,
    pInfo: *mut ck::CK_MECHANISM_INFO,
) -> ck::CK_RV {
    call("C_GetMechanismInfo", |m| {
        let info = || {
            let i = m.mechanism_info(slotID, type_)?;
            Ok(ck::CK_MECHANISM_INFO {
                ulMinKeySize: i.min_key_size as ck::CK_ULONG,
                ulMaxKeySize: i.max_key_size as ck::CK_ULONG,
                flags: i.flags,
            })
        };
        // SAFETY: pInfo, when non-NULL, points to a CK_MECHANISM_INFO the caller owns.
        unsafe { out_value(pInfo, "pInfo is NULL", info) }
    })
}

#[no_mangle]
pub extern "C" fn C_InitToken(
    slotID: ck::CK_SLOT_ID,
    pPin: *mut ck::CK_UTF8CHAR,
    ulPinLen: ck::CK_ULONG,
    pLabel: *mut ck::CK_UTF8CHAR,
) -> ck::CK_RV {
    call("C_InitToken", |m| {
        // SAFETY: pPin is valid for ulPinLen bytes (spec 5.5).
        let so_pin = unsafe { pin(pPin, ulPinLen)? };
        // SAFETY: pLabel, when non-NULL, points to the 32-byte label field (spec 5.5).
        let label: [u8; 32] = unsafe { read(pLabel as *const [u8; 32], "pLabel is NULL")? };
        m.init_token(slotID, so_pin, unpadded(&label)?)
    })
}

#[no_mangle]
pub extern "C" fn C_WaitForSlotEvent(
    flags: ck::CK_FLAGS,
    pSlot: *mut ck::CK_SLOT_ID,
    pReserved: *mut c_void,
) -> ck::CK_RV {
    call("C_WaitForSlotEvent", |_| {
        let _ = (pSlot, pReserved);
        // The module does not watch for slot changes, so it never has an event to report.
        if flags & ck::CKF_DONT_BLOCK != 0 {
            Err(Error::new(ErrorKind::NoEvent, "no slot event"))
        } else {
            crate::ceremony::not_supported("C_WaitForSlotEvent (blocking)")
        }
    })
}
