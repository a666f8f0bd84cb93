//! The store's byte encoding of attribute lists: a count, then (type u64, length u32,
//! value) entries, all big-endian. Decoding is strict (no trailing bytes, no duplicate
//! types) because an ambiguous list could let a hand-edited row say two things at once.

use crate::attr::{Attr, AttrType};
use zeroize::Zeroizing;

/// Why bytes did not decode as an attribute list. Carries no bytes of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CodecError(pub &'static str);

/// Encode `attrs` in the given order. The buffer is sized up front and zeroized on drop,
/// so no reallocation leaves a copy of secret values behind.
pub(crate) fn encode_attrs(attrs: &[Attr]) -> Zeroizing<Vec<u8>> {
    let len = 4 + attrs.iter().map(|a| 12 + a.value.len()).sum::<usize>();
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    put_u32(&mut out, attrs.len());
    for a in attrs {
        out.extend_from_slice(&type_code(a.ty).to_be_bytes());
        put_u32(&mut out, a.value.len());
        out.extend_from_slice(&a.value);
    }
    out
}

/// Decode a list written by [`encode_attrs`].
pub(crate) fn decode_attrs(mut bytes: &[u8]) -> Result<Vec<Attr>, CodecError> {
    let count = take_u32(&mut bytes)? as usize;
    // Each entry needs at least 12 bytes: refuse counts the input cannot hold before
    // allocating for them.
    if count > bytes.len() / 12 {
        return Err(CodecError("attribute count larger than the data"));
    }
    let mut attrs: Vec<Attr> = Vec::with_capacity(count);
    for _ in 0..count {
        let ty = take_u64(&mut bytes)?;
        let ty = AttrType::try_from(ty).map_err(|_| CodecError("attribute type out of range"))?;
        let len = take_u32(&mut bytes)? as usize;
        let value = take(&mut bytes, len)?;
        if attrs.iter().any(|a| a.ty == ty) {
            return Err(CodecError("attribute appears twice"));
        }
        attrs.push(Attr::new(ty, value));
    }
    if !bytes.is_empty() {
        return Err(CodecError("trailing bytes after the attribute list"));
    }
    Ok(attrs)
}

/// An attribute type as the 64-bit code the store writes: CK_ULONG is 32 bits on some
/// platforms, the stored form is the same everywhere.
#[allow(clippy::useless_conversion)]
pub(crate) fn type_code(ty: AttrType) -> u64 {
    u64::from(ty)
}

/// The first attribute type that appears twice in `attrs`, if any.
pub(crate) fn duplicate_type(attrs: &[Attr]) -> Option<AttrType> {
    attrs
        .iter()
        .enumerate()
        .find(|(i, a)| attrs[..*i].iter().any(|b| b.ty == a.ty))
        .map(|(_, a)| a.ty)
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Attribute values and lists are far below 4 GiB; saturating keeps this total and the
    // decoder then rejects the (impossible) mismatch instead of misreading it.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

pub(crate) fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], CodecError> {
    if bytes.len() < n {
        return Err(CodecError("data ends early"));
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

pub(crate) fn take_u32(bytes: &mut &[u8]) -> Result<u32, CodecError> {
    let b = take(bytes, 4)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn take_u64(bytes: &mut &[u8]) -> Result<u64, CodecError> {
    let mut a = [0u8; 8];
    a.copy_from_slice(take(bytes, 8)?);
    Ok(u64::from_be_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki_sys as ck;

    fn sample() -> Vec<Attr> {
        vec![
            Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
            Attr::new(ck::CKA_LABEL, b"payments".to_vec()),
            Attr::new(ck::CKA_ID, Vec::new()),
            Attr::bool(ck::CKA_SIGN, true),
        ]
    }

    #[test]
    fn round_trip_keeps_order_and_values() {
        let attrs = sample();
        let back = decode_attrs(&encode_attrs(&attrs)).unwrap();
        assert_eq!(back, attrs);
        assert_eq!(
            decode_attrs(&encode_attrs(&[])).unwrap(),
            Vec::<Attr>::new()
        );
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let bytes = encode_attrs(&sample());
        for cut in 0..bytes.len() {
            assert!(
                decode_attrs(&bytes[..cut]).is_err(),
                "accepted a cut at {cut}"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(decode_attrs(&longer).is_err());
    }

    #[test]
    fn duplicates_and_absurd_counts_are_refused() {
        let dup = [
            Attr::bool(ck::CKA_SIGN, false),
            Attr::bool(ck::CKA_SIGN, true),
        ];
        assert_eq!(duplicate_type(&dup), Some(ck::CKA_SIGN));
        assert_eq!(
            decode_attrs(&encode_attrs(&dup)),
            Err(CodecError("attribute appears twice"))
        );
        assert!(decode_attrs(&[0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(duplicate_type(&sample()), None);
    }
}
