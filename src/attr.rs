//! Attributes as PKCS#11 encodes them: a type and raw bytes (CK_BBOOL is one byte,
//! CK_ULONG is a native-endian machine word). Values are zeroized on drop because a
//! template may carry key material (C_CreateObject, C_UnwrapKey templates).

use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;
use zeroize::{Zeroize, Zeroizing};

pub type AttrType = ck::CK_ATTRIBUTE_TYPE;

/// One attribute from a client template or an object.
#[derive(Clone, PartialEq, Eq)]
pub struct Attr {
    pub ty: AttrType,
    pub value: Value,
}

impl Attr {
    pub fn new(ty: AttrType, value: impl Into<Vec<u8>>) -> Self {
        Attr {
            ty,
            value: Value::from(Zeroizing::new(value.into())),
        }
    }
    // bool and ulong: values the token writes itself (defaults, class, key type), never
    // key material, so they may live inline (see `Value`).
    pub fn bool(ty: AttrType, v: bool) -> Self {
        Attr {
            ty,
            value: Value::inline(&[bool_byte(v)]),
        }
    }
    pub fn ulong(ty: AttrType, v: ck::CK_ULONG) -> Self {
        Attr {
            ty,
            value: Value::inline(&v.to_ne_bytes()),
        }
    }
}

/// Room for a CK_ULONG.
const INLINE: usize = std::mem::size_of::<ck::CK_ULONG>();

/// An attribute's bytes, wiped when dropped. The CK_BBOOL and CK_ULONG values the token
/// writes itself are kept inline: an object has twenty to forty attributes, mostly those,
/// and a heap block each was the largest cost of making one (C_DecapsulateKey's new key,
/// for one). Everything else, any value a template or a mechanism gives, key material
/// above all, stays in a zeroizing heap block: it never moves as attributes are sorted,
/// inserted or copied, so no stale copy of a secret is left in memory freed or reused.
#[derive(Clone)]
pub struct Value(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Zeroizing<Vec<u8>>),
}

impl Value {
    fn inline(v: &[u8]) -> Self {
        debug_assert!(v.len() <= INLINE);
        let mut bytes = [0u8; INLINE];
        bytes[..v.len()].copy_from_slice(v);
        Value(Repr::Inline {
            len: v.len() as u8,
            bytes,
        })
    }
    pub fn as_slice(&self) -> &[u8] {
        self
    }
}

impl From<Zeroizing<Vec<u8>>> for Value {
    fn from(v: Zeroizing<Vec<u8>>) -> Self {
        Value(Repr::Heap(v))
    }
}

impl std::ops::Deref for Value {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Value {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, bytes } => &mut bytes[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}
impl Eq for Value {}

impl Drop for Value {
    fn drop(&mut self) {
        // The heap form wipes itself (Zeroizing); the inline bytes are wiped here.
        if let Repr::Inline { bytes, .. } = &mut self.0 {
            bytes.zeroize();
        }
    }
}

impl std::fmt::Debug for Attr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print values: a template may hold key material.
        write!(f, "Attr({:#x}, {} bytes)", self.ty, self.value.len())
    }
}

/// A client template: attributes in the order given. Duplicates are rejected on parse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template(pub Vec<Attr>);

impl Template {
    pub fn new(attrs: Vec<Attr>) -> Result<Self> {
        for (i, a) in attrs.iter().enumerate() {
            if attrs[..i].iter().any(|b| b.ty == a.ty) {
                return err(
                    ErrorKind::TemplateInconsistent,
                    format!("attribute {:#x} appears twice in the template", a.ty),
                );
            }
        }
        Ok(Template(attrs))
    }
    pub fn get(&self, ty: AttrType) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|a| a.ty == ty)
            .map(|a| a.value.as_slice())
    }
    pub fn has(&self, ty: AttrType) -> bool {
        self.get(ty).is_some()
    }
    pub fn get_bool(&self, ty: AttrType) -> Result<Option<bool>> {
        self.get(ty).map(|v| decode_bool(ty, v)).transpose()
    }
    pub fn get_ulong(&self, ty: AttrType) -> Result<Option<ck::CK_ULONG>> {
        self.get(ty).map(|v| decode_ulong(ty, v)).transpose()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Attr> {
        self.0.iter()
    }
}

fn bool_byte(v: bool) -> u8 {
    if v {
        ck::CK_TRUE
    } else {
        ck::CK_FALSE
    }
}

pub fn encode_bool(v: bool) -> Vec<u8> {
    vec![bool_byte(v)]
}

pub fn encode_ulong(v: ck::CK_ULONG) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

pub fn decode_bool(ty: AttrType, v: &[u8]) -> Result<bool> {
    match v {
        [b] => Ok(*b != ck::CK_FALSE),
        _ => err(
            ErrorKind::AttributeValueInvalid,
            format!(
                "attribute {ty:#x} must be a CK_BBOOL (1 byte), got {} bytes",
                v.len()
            ),
        ),
    }
}

pub fn decode_ulong(ty: AttrType, v: &[u8]) -> Result<ck::CK_ULONG> {
    let bytes: [u8; std::mem::size_of::<ck::CK_ULONG>()] = v.try_into().map_err(|_| {
        crate::error::Error::new(
            ErrorKind::AttributeValueInvalid,
            format!(
                "attribute {ty:#x} must be a CK_ULONG ({} bytes), got {} bytes",
                std::mem::size_of::<ck::CK_ULONG>(),
                v.len()
            ),
        )
    })?;
    Ok(ck::CK_ULONG::from_ne_bytes(bytes))
}

/// The attribute types whose values are arrays of CK_ATTRIBUTE (they hold pointers and
/// cannot be carried as plain bytes); the C ABI refuses them in templates.
pub fn is_array_attribute(ty: AttrType) -> bool {
    ty & ck::CKF_ARRAY_ATTRIBUTE != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_attributes_are_inconsistent() {
        let t = Template::new(vec![
            Attr::bool(ck::CKA_TOKEN, true),
            Attr::bool(ck::CKA_TOKEN, false),
        ]);
        assert_eq!(t.unwrap_err().kind(), ErrorKind::TemplateInconsistent);
    }

    #[test]
    fn vendor_attributes_are_not_numbered_as_arrays() {
        assert!(is_array_attribute(ck::CKA_WRAP_TEMPLATE));
        assert!(!is_array_attribute(
            crate::object::schema::CKA_PQHSM_BASE | 0xFFFF
        ));
        assert!(!is_array_attribute(ck::CKA_LABEL));
    }

    #[test]
    fn values_read_back_whether_kept_inline_or_on_the_heap() {
        let mut all = Vec::new();
        for len in [0, 1, 8, 9, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
            let a = Attr::new(ck::CKA_VALUE, bytes.clone());
            assert_eq!(a.value.as_slice(), &bytes[..], "{len} bytes");
            assert!(
                matches!(a.value.0, Repr::Heap(_)),
                "{len} bytes: a given value may be a key; it stays on the heap"
            );
            all.push(a);
        }
        let own = [
            (Attr::bool(ck::CKA_TOKEN, true), encode_bool(true)),
            (
                Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
                encode_ulong(ck::CKO_SECRET_KEY),
            ),
        ];
        for (a, want) in own {
            assert!(matches!(a.value.0, Repr::Inline { .. }));
            assert_eq!(a.value.as_slice(), want);
            all.push(a);
        }
        for a in &mut all {
            let copy = a.clone();
            assert_eq!(&copy, a);
            if !a.value.is_empty() {
                a.value[0] ^= 1;
                assert_ne!(&copy, a, "the change went to the value itself");
            }
        }
    }

    #[test]
    fn wrong_length_bool_is_invalid() {
        let t = Template::new(vec![Attr::new(ck::CKA_TOKEN, vec![1, 0])]).unwrap();
        assert_eq!(
            t.get_bool(ck::CKA_TOKEN).unwrap_err().kind(),
            ErrorKind::AttributeValueInvalid
        );
        let t = Template::new(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY)]).unwrap();
        assert_eq!(
            t.get_ulong(ck::CKA_CLASS).unwrap(),
            Some(ck::CKO_SECRET_KEY)
        );
    }
}
