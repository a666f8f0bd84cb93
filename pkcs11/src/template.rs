//! CK_ATTRIBUTE arrays: client templates into `Template`, C_GetAttributeValue requests into
//! `AttrRequest`, and the core's `AttrAnswer`s back into the client's array as spec 5.7
//! says. Attribute values are copied out byte-wise, so a misaligned CK_ULONG or CK_BBOOL in
//! a client buffer is never read through a reference.

use crate::marshal::{arguments_bad, len, ulong};
use cryptoki_sys as ck;
use pqhsm::attr::{is_array_attribute, Attr, Template};
use pqhsm::module::{get_attribute_rv, AttrAnswer, AttrRequest};
use pqhsm::{Error, ErrorKind, Result};
use std::ptr;

/// The CK_ATTRIBUTE at index `i` (the array itself may be misaligned).
///
/// # Safety
/// `p` must be valid for reads of at least `i + 1` CK_ATTRIBUTEs.
unsafe fn entry(p: *const ck::CK_ATTRIBUTE, i: usize) -> ck::CK_ATTRIBUTE {
    // SAFETY: within the array per contract; read_unaligned accepts any alignment.
    unsafe { ptr::read_unaligned(p.add(i)) }
}

/// The number of entries of a (pTemplate, ulCount) pair; NULL only when empty.
fn count(p: *const ck::CK_ATTRIBUTE, n: ck::CK_ULONG) -> Result<usize> {
    let n = len(n)?;
    if n != 0 && p.is_null() {
        return Err(arguments_bad("pTemplate is NULL but ulCount is not 0"));
    }
    if n.checked_mul(std::mem::size_of::<ck::CK_ATTRIBUTE>())
        .is_none_or(|b| isize::try_from(b).is_err())
    {
        return Err(arguments_bad("ulCount is larger than any template can be"));
    }
    Ok(n)
}

/// A client template (C_CreateObject, C_GenerateKey, C_FindObjectsInit, ...).
///
/// # Safety
/// When `n > 0`, `p` must be valid for reads of `n` CK_ATTRIBUTEs, and each non-NULL
/// `pValue` valid for reads of its `ulValueLen` bytes.
pub(crate) unsafe fn template(p: *const ck::CK_ATTRIBUTE, n: ck::CK_ULONG) -> Result<Template> {
    let n = count(p, n)?;
    let mut attrs = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: i < n, the count the client gave for `p`.
        let a = unsafe { entry(p, i) };
        if is_array_attribute(a.type_) {
            // Their values are arrays of CK_ATTRIBUTE holding pointers, not bytes.
            return Err(Error::new(
                ErrorKind::AttributeTypeInvalid,
                format!(
                    "attribute {:#x} (an attribute array such as CKA_WRAP_TEMPLATE) is not accepted in templates",
                    a.type_
                ),
            ));
        }
        let value_len = len(a.ulValueLen)?;
        let value = if value_len == 0 {
            Vec::new()
        } else if a.pValue.is_null() {
            return Err(arguments_bad(&format!(
                "attribute {:#x} has pValue NULL with ulValueLen {value_len}",
                a.type_
            )));
        } else {
            // SAFETY: non-NULL, u8 needs no alignment, length bounded by `len`, validity per
            // this fn's contract. Copied at once: the template outlives nothing of the client.
            unsafe { std::slice::from_raw_parts(a.pValue as *const u8, value_len) }.to_vec()
        };
        attrs.push(Attr::new(a.type_, value));
    }
    Template::new(attrs)
}

/// The requests of C_GetAttributeValue: type and room (None when pValue is NULL).
///
/// # Safety
/// As [`template`] for `p` (values are not read).
pub(crate) unsafe fn attr_requests(
    p: *const ck::CK_ATTRIBUTE,
    n: ck::CK_ULONG,
) -> Result<Vec<AttrRequest>> {
    let n = count(p, n)?;
    Ok((0..n)
        .map(|i| {
            // SAFETY: i < n, the count the client gave for `p`.
            let a = unsafe { entry(p, i) };
            AttrRequest {
                ty: a.type_,
                cap: (!a.pValue.is_null())
                    .then(|| usize::try_from(a.ulValueLen).unwrap_or(usize::MAX)),
            }
        })
        .collect())
}

/// Write the core's answers into the client's template (spec 5.7): values and lengths,
/// CK_UNAVAILABLE_INFORMATION for sensitive, invalid or too-small entries; the overall
/// return value comes from [`get_attribute_rv`].
///
/// # Safety
/// `p` must be valid for reads and writes of `answers.len()` CK_ATTRIBUTEs (the same array
/// [`attr_requests`] read), each non-NULL `pValue` valid for writes of its `ulValueLen`.
pub(crate) unsafe fn write_answers(
    p: *mut ck::CK_ATTRIBUTE,
    answers: Vec<AttrAnswer>,
) -> Result<()> {
    let mut written = Vec::with_capacity(answers.len());
    for (i, answer) in answers.into_iter().enumerate() {
        // SAFETY: i < answers.len() == the client's ulCount (checked by the caller).
        let a = unsafe { entry(p, i) };
        let answer = if is_array_attribute(a.type_) {
            // Values of attribute arrays are CK_ATTRIBUTE arrays this module never produces.
            AttrAnswer::TypeInvalid
        } else {
            answer
        };
        let (value_len, answer) = match answer {
            AttrAnswer::Value(v) if a.pValue.is_null() => {
                (ulong(v.len()), AttrAnswer::Len(v.len()))
            }
            AttrAnswer::Value(v)
                if usize::try_from(a.ulValueLen).is_ok_and(|cap| v.len() <= cap) =>
            {
                // SAFETY: pValue is non-NULL and valid for ulValueLen >= v.len() bytes.
                unsafe { ptr::copy_nonoverlapping(v.as_ptr(), a.pValue as *mut u8, v.len()) };
                (ulong(v.len()), AttrAnswer::Value(v))
            }
            AttrAnswer::Value(_) => (ck::CK_UNAVAILABLE_INFORMATION, AttrAnswer::TooSmall),
            AttrAnswer::Len(n) => (ulong(n), AttrAnswer::Len(n)),
            other @ (AttrAnswer::Sensitive | AttrAnswer::TypeInvalid | AttrAnswer::TooSmall) => {
                (ck::CK_UNAVAILABLE_INFORMATION, other)
            }
        };
        // SAFETY: entry i is within the array; the field is written unaligned.
        unsafe { ptr::addr_of_mut!((*p.add(i)).ulValueLen).write_unaligned(value_len) };
        written.push(answer);
    }
    match get_attribute_rv(&written) {
        ck::CKR_OK => Ok(()),
        ck::CKR_ATTRIBUTE_SENSITIVE => Err(Error::new(
            ErrorKind::AttributeSensitive,
            "some attributes are sensitive and cannot be revealed",
        )),
        ck::CKR_ATTRIBUTE_TYPE_INVALID => Err(Error::new(
            ErrorKind::AttributeTypeInvalid,
            "some attributes are not defined for this object",
        )),
        _ => Err(Error::new(
            ErrorKind::BufferTooSmall,
            "some attribute buffers are too small; query the lengths with pValue NULL",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::c_void;
    use zeroize::Zeroizing;

    fn attr(ty: ck::CK_ATTRIBUTE_TYPE, p: *mut u8, n: usize) -> ck::CK_ATTRIBUTE {
        ck::CK_ATTRIBUTE {
            type_: ty,
            pValue: p as *mut c_void,
            ulValueLen: n as ck::CK_ULONG,
        }
    }

    #[test]
    fn misaligned_values_and_array_are_read_bytewise() {
        const UL: usize = std::mem::size_of::<ck::CK_ULONG>();
        let class: ck::CK_ULONG = ck::CKO_SECRET_KEY;
        // Values at odd offsets, as a packed client struct would place them.
        let mut values = vec![0u8; 1 + UL + 1];
        values[1..1 + UL].copy_from_slice(&class.to_ne_bytes());
        values[1 + UL] = ck::CK_TRUE;
        let base = values.as_mut_ptr();
        // SAFETY: offsets within `values`.
        let (p_class, p_token) = unsafe { (base.add(1), base.add(1 + UL)) };
        let list = [
            attr(ck::CKA_CLASS, p_class, UL),
            attr(ck::CKA_TOKEN, p_token, 1),
        ];
        // The array itself at an odd address.
        let mut raw = vec![0u8; 1 + std::mem::size_of_val(&list)];
        // SAFETY: raw has room for the array after one byte.
        unsafe {
            ptr::copy_nonoverlapping(
                list.as_ptr() as *const u8,
                raw.as_mut_ptr().add(1),
                std::mem::size_of_val(&list),
            )
        };
        // SAFETY: raw+1 holds two CK_ATTRIBUTEs whose values are valid.
        let t = unsafe { template(raw.as_ptr().add(1) as *const ck::CK_ATTRIBUTE, 2) }.unwrap();
        assert_eq!(
            t.get_ulong(ck::CKA_CLASS).unwrap(),
            Some(ck::CKO_SECRET_KEY)
        );
        assert_eq!(t.get_bool(ck::CKA_TOKEN).unwrap(), Some(true));
    }

    #[test]
    fn template_null_and_length_rules() {
        // SAFETY: NULL with 0 entries is not read.
        assert!(unsafe { template(ptr::null(), 0) }.unwrap().0.is_empty());
        // SAFETY: NULL with entries is refused before reading.
        let e = unsafe { template(ptr::null(), 1) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_ARGUMENTS_BAD);
        let list = [attr(ck::CKA_LABEL, ptr::null_mut(), 3)];
        // SAFETY: one valid entry; its NULL value is refused.
        let e = unsafe { template(list.as_ptr(), 1) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_ARGUMENTS_BAD);
        let list = [attr(ck::CKA_LABEL, ptr::null_mut(), 0)];
        // SAFETY: an empty value is not read.
        let t = unsafe { template(list.as_ptr(), 1) }.unwrap();
        assert_eq!(t.get(ck::CKA_LABEL), Some(&[][..]));
        // SAFETY: a count no array can have is refused before reading.
        let e = unsafe { template(list.as_ptr(), ck::CK_ULONG::MAX / 2) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_ARGUMENTS_BAD);
    }

    #[test]
    fn array_attributes_are_refused_in_templates() {
        let mut inner = [attr(ck::CKA_SIGN, ptr::null_mut(), 0)];
        let list = [attr(
            ck::CKA_WRAP_TEMPLATE,
            inner.as_mut_ptr() as *mut u8,
            std::mem::size_of_val(&inner),
        )];
        // SAFETY: one valid entry.
        let e = unsafe { template(list.as_ptr(), 1) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_ATTRIBUTE_TYPE_INVALID);
    }

    #[test]
    fn duplicate_attributes_are_inconsistent() {
        let mut t = ck::CK_TRUE;
        let list = [
            attr(ck::CKA_TOKEN, &mut t, 1),
            attr(ck::CKA_TOKEN, &mut t, 1),
        ];
        // SAFETY: two valid entries.
        let e = unsafe { template(list.as_ptr(), 2) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_TEMPLATE_INCONSISTENT);
    }

    #[test]
    fn get_attribute_answers_follow_spec_5_7() {
        let mut label = [0u8; 8];
        let mut small = [0u8; 2];
        let mut list = [
            attr(ck::CKA_LABEL, label.as_mut_ptr(), 8),
            attr(ck::CKA_ID, ptr::null_mut(), 0),
            attr(ck::CKA_VALUE, ptr::null_mut(), 0),
            attr(ck::CKA_MODULUS, small.as_mut_ptr(), 2),
            attr(0x7777_0000, ptr::null_mut(), 0),
        ];
        // SAFETY: five valid entries.
        let req = unsafe { attr_requests(list.as_ptr(), 5) }.unwrap();
        assert_eq!(req[0].cap, Some(8));
        assert_eq!(req[1].cap, None);
        let answers = vec![
            AttrAnswer::Value(Zeroizing::new(b"key".to_vec())),
            AttrAnswer::Len(4),
            AttrAnswer::Sensitive,
            AttrAnswer::Value(Zeroizing::new(vec![1, 2, 3])),
            AttrAnswer::TypeInvalid,
        ];
        // SAFETY: the same five entries, writable values.
        let e = unsafe { write_answers(list.as_mut_ptr(), answers) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_ATTRIBUTE_SENSITIVE);
        assert_eq!((list[0].ulValueLen, &label[..3]), (3, &b"key"[..]));
        assert_eq!(list[1].ulValueLen, 4);
        assert_eq!(list[2].ulValueLen, ck::CK_UNAVAILABLE_INFORMATION);
        // Too small for the value: unavailable, and nothing copied.
        assert_eq!(
            (list[3].ulValueLen, small),
            (ck::CK_UNAVAILABLE_INFORMATION, [0, 0])
        );
        assert_eq!(list[4].ulValueLen, ck::CK_UNAVAILABLE_INFORMATION);
    }

    #[test]
    fn too_small_alone_is_buffer_too_small() {
        let mut small = [0u8; 1];
        let mut list = [attr(ck::CKA_LABEL, small.as_mut_ptr(), 1)];
        let answers = vec![AttrAnswer::Value(Zeroizing::new(b"long".to_vec()))];
        // SAFETY: one valid, writable entry.
        let e = unsafe { write_answers(list.as_mut_ptr(), answers) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_BUFFER_TOO_SMALL);
        let mut list = [attr(ck::CKA_LABEL, ptr::null_mut(), 0)];
        let answers = vec![AttrAnswer::Value(Zeroizing::new(b"long".to_vec()))];
        // SAFETY: as above; pValue NULL is a length query.
        unsafe { write_answers(list.as_mut_ptr(), answers) }.unwrap();
        assert_eq!(list[0].ulValueLen, 4);
    }
}
