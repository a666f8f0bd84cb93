//! Object management functions (spec 5.7): create, copy, destroy, size, attribute reads
//! and writes, and search. Templates are converted in `template`; policy is the core's.

use crate::ceremony::call;
use crate::marshal::{arguments_bad, len, out_value, write};
use crate::template::{attr_requests, template, write_answers};
use cryptoki_sys as ck;
use pqhsm::{Error, ErrorKind};
use std::ptr;

#[no_mangle]
pub extern "C" fn C_CreateObject(
    hSession: ck::CK_SESSION_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
    phObject: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_CreateObject", |m| {
        // SAFETY: pTemplate holds ulCount attributes with valid values and phObject, when
        // non-NULL, points to a handle the caller owns (spec 5.7).
        unsafe {
            let t = template(pTemplate, ulCount)?;
            out_value(phObject, "phObject is NULL", || {
                m.create_object(hSession, &t)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_CopyObject(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
    phNewObject: *mut ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_CopyObject", |m| {
        // SAFETY: pTemplate holds ulCount attributes with valid values and phNewObject, when
        // non-NULL, points to a handle the caller owns (spec 5.7).
        unsafe {
            let t = template(pTemplate, ulCount)?;
            out_value(phNewObject, "phNewObject is NULL", || {
                m.copy_object(hSession, hObject, &t)
            })
        }
    })
}

#[no_mangle]
pub extern "C" fn C_DestroyObject(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
) -> ck::CK_RV {
    call("C_DestroyObject", |m| m.destroy_object(hSession, hObject))
}

#[no_mangle]
pub extern "C" fn C_GetObjectSize(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
    pulSize: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_GetObjectSize", |m| {
        let size = || m.object_size(hSession, hObject).map(|s| s as ck::CK_ULONG);
        // SAFETY: pulSize, when non-NULL, points to a CK_ULONG the caller owns.
        unsafe { out_value(pulSize, "pulSize is NULL", size) }
    })
}

#[no_mangle]
pub extern "C" fn C_GetAttributeValue(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_GetAttributeValue", |m| {
        // SAFETY: pTemplate holds ulCount attributes (spec 5.7).
        let requests = unsafe { attr_requests(pTemplate, ulCount)? };
        let answers = m.get_attribute_value(hSession, hObject, &requests)?;
        if answers.len() != requests.len() {
            return Err(Error::new(
                ErrorKind::General,
                "the token answered a different number of attributes than were asked",
            ));
        }
        // SAFETY: the same array, writable, with each non-NULL pValue valid for its length.
        unsafe { write_answers(pTemplate, answers) }
    })
}

#[no_mangle]
pub extern "C" fn C_SetAttributeValue(
    hSession: ck::CK_SESSION_HANDLE,
    hObject: ck::CK_OBJECT_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_SetAttributeValue", |m| {
        // SAFETY: pTemplate holds ulCount attributes with valid values (spec 5.7).
        let t = unsafe { template(pTemplate, ulCount)? };
        m.set_attribute_value(hSession, hObject, &t)
    })
}

#[no_mangle]
pub extern "C" fn C_FindObjectsInit(
    hSession: ck::CK_SESSION_HANDLE,
    pTemplate: *mut ck::CK_ATTRIBUTE,
    ulCount: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_FindObjectsInit", |m| {
        // SAFETY: pTemplate holds ulCount attributes with valid values (spec 5.7).
        let t = unsafe { template(pTemplate, ulCount)? };
        m.find_objects_init(hSession, &t)
    })
}

#[no_mangle]
pub extern "C" fn C_FindObjects(
    hSession: ck::CK_SESSION_HANDLE,
    phObject: *mut ck::CK_OBJECT_HANDLE,
    ulMaxObjectCount: ck::CK_ULONG,
    pulObjectCount: *mut ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_FindObjects", |m| {
        let max = len(ulMaxObjectCount)?;
        if pulObjectCount.is_null() || (phObject.is_null() && max > 0) {
            return Err(arguments_bad("phObject or pulObjectCount is NULL"));
        }
        let found = m.find_objects(hSession, max)?;
        let found = &found[..found.len().min(max)];
        for (i, h) in found.iter().enumerate() {
            // SAFETY: i < max, the room the caller gave in phObject.
            unsafe { ptr::write_unaligned(phObject.add(i), *h) };
        }
        // SAFETY: pulObjectCount is non-NULL and points to a CK_ULONG the caller owns.
        unsafe {
            write(
                pulObjectCount,
                found.len() as ck::CK_ULONG,
                "pulObjectCount is NULL",
            )
        }
    })
}

#[no_mangle]
pub extern "C" fn C_FindObjectsFinal(hSession: ck::CK_SESSION_HANDLE) -> ck::CK_RV {
    call("C_FindObjectsFinal", |m| m.find_objects_final(hSession))
}
