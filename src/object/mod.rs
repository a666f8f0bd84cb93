//! The object model: an object is its kind plus public attributes (and, for session
//! objects, its secret attributes held in zeroizing memory). Token objects' secret parts
//! stay sealed in the store; this module never holds them longer than a call.

pub mod schema;
pub mod template;
pub mod vendor;

use crate::attr::{decode_bool, decode_ulong, Attr, AttrType, Template};
use crate::module::{ObjectHandle, SessionHandle};
use crate::store::ObjectId;
use cryptoki_sys as ck;
use schema::Kind;
use std::sync::OnceLock;

/// Where an object lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Token(ObjectId),
    /// A session object, destroyed with the session that created it.
    Session(SessionHandle),
}

/// Attributes kept sorted by type; values zeroize on drop (see `Attr`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attrs(Vec<Attr>);

impl Attrs {
    pub fn from_vec(mut v: Vec<Attr>) -> Self {
        v.sort_by_key(|a| a.ty);
        v.dedup_by_key(|a| a.ty);
        Attrs(v)
    }
    /// Attributes in the order they were set: a later one of a type replaces an earlier
    /// one, as `set` would, with one sort instead of an insertion each.
    pub fn from_ordered(mut v: Vec<Attr>) -> Self {
        v.reverse();
        Self::from_vec(v)
    }
    /// A copy with capacity for `more` attributes beyond these.
    pub fn with_room(&self, more: usize) -> Self {
        let mut v = Vec::with_capacity(self.0.len() + more);
        v.extend_from_slice(&self.0);
        Attrs(v)
    }
    pub fn get(&self, ty: AttrType) -> Option<&[u8]> {
        self.0
            .binary_search_by_key(&ty, |a| a.ty)
            .ok()
            .map(|i| self.0[i].value.as_slice())
    }
    pub fn has(&self, ty: AttrType) -> bool {
        self.get(ty).is_some()
    }
    pub fn set(&mut self, a: Attr) {
        match self.0.binary_search_by_key(&a.ty, |x| x.ty) {
            Ok(i) => self.0[i] = a,
            Err(i) => self.0.insert(i, a),
        }
    }
    pub fn remove(&mut self, ty: AttrType) -> Option<Attr> {
        self.0
            .binary_search_by_key(&ty, |a| a.ty)
            .ok()
            .map(|i| self.0.remove(i))
    }
    /// A boolean attribute; absent or malformed reads as FALSE.
    pub fn flag(&self, ty: AttrType) -> bool {
        self.get(ty)
            .is_some_and(|v| decode_bool(ty, v).unwrap_or(false))
    }
    pub fn ulong(&self, ty: AttrType) -> Option<ck::CK_ULONG> {
        self.get(ty).and_then(|v| decode_ulong(ty, v).ok())
    }
    pub fn as_slice(&self) -> &[Attr] {
        &self.0
    }
    pub fn iter(&self) -> impl Iterator<Item = &Attr> {
        self.0.iter()
    }
}

impl crate::mech::AttrSource for Attrs {
    fn attr(&self, ty: AttrType) -> Option<&[u8]> {
        self.get(ty)
    }
}

/// Public and secret attributes read together (to parse key material).
pub struct Combined<'a> {
    pub public: &'a Attrs,
    pub secret: &'a Attrs,
}

impl crate::mech::AttrSource for Combined<'_> {
    fn attr(&self, ty: AttrType) -> Option<&[u8]> {
        self.secret.get(ty).or_else(|| self.public.get(ty))
    }
}

/// The CK_BBOOL attributes every key use reads (visibility, sensitivity, the usage
/// flags), decoded once when the object is made: an object never changes after that
/// (C_SetAttributeValue makes a new one), and a binary search per flag per operation was
/// a measurable part of a 1 KiB MAC.
const DECODED_FLAGS: [AttrType; 14] = [
    ck::CKA_PRIVATE,
    ck::CKA_SENSITIVE,
    ck::CKA_EXTRACTABLE,
    ck::CKA_SIGN,
    ck::CKA_VERIFY,
    ck::CKA_ENCRYPT,
    ck::CKA_DECRYPT,
    ck::CKA_WRAP,
    ck::CKA_UNWRAP,
    ck::CKA_DERIVE,
    ck::CKA_ENCAPSULATE,
    ck::CKA_DECAPSULATE,
    ck::CKA_SIGN_RECOVER,
    ck::CKA_VERIFY_RECOVER,
];

/// `DECODED_FLAGS` of one object: bit i is `DECODED_FLAGS[i]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Flags(u16);

impl Flags {
    fn of(public: &Attrs) -> Self {
        Flags(
            DECODED_FLAGS
                .iter()
                .enumerate()
                .filter(|(_, ty)| public.flag(**ty))
                .fold(0, |bits, (i, _)| bits | 1 << i),
        )
    }

    /// None: `ty` is not one of `DECODED_FLAGS`.
    fn get(self, ty: AttrType) -> Option<bool> {
        DECODED_FLAGS
            .iter()
            .position(|t| *t == ty)
            .map(|i| self.0 & 1 << i != 0)
    }
}

/// One object as the module sees it.
#[derive(Debug)]
pub struct Object {
    pub handle: ObjectHandle,
    pub origin: Origin,
    pub kind: &'static Kind,
    public: Attrs,
    /// Secret attributes of a session object; token objects keep theirs sealed.
    secret: Option<Attrs>,
    has_secret: bool,
    flags: Flags,
    /// A version of a key the management layer keeps (its lifecycle is checked on use).
    managed: bool,
    /// A managed object's standing, decoded on its first use; None inside: its management
    /// attributes do not decode.
    standing: OnceLock<Option<vendor::Standing>>,
}

/// What C_GetAttributeValue may reveal about one attribute of an object.
pub enum Readable<'a> {
    Public(&'a [u8]),
    /// A secret part the object's CKA_SENSITIVE/CKA_EXTRACTABLE hide.
    Sensitive,
    /// A secret part that may be revealed (extractable, not sensitive key).
    Secret,
    Absent,
}

impl Object {
    pub fn token(
        handle: ObjectHandle,
        id: ObjectId,
        kind: &'static Kind,
        public: Attrs,
        has_secret: bool,
    ) -> Self {
        Self::new(handle, Origin::Token(id), kind, public, None, has_secret)
    }

    pub fn session(
        handle: ObjectHandle,
        owner: SessionHandle,
        kind: &'static Kind,
        public: Attrs,
        secret: Attrs,
    ) -> Self {
        let has_secret = !secret.as_slice().is_empty();
        Self::new(
            handle,
            Origin::Session(owner),
            kind,
            public,
            Some(secret),
            has_secret,
        )
    }

    fn new(
        handle: ObjectHandle,
        origin: Origin,
        kind: &'static Kind,
        public: Attrs,
        secret: Option<Attrs>,
        has_secret: bool,
    ) -> Self {
        Object {
            handle,
            origin,
            kind,
            flags: Flags::of(&public),
            managed: vendor::is_managed(&public),
            standing: OnceLock::new(),
            public,
            secret,
            has_secret,
        }
    }

    /// The same object with new public attributes (C_SetAttributeValue).
    pub fn with_public(&self, public: Attrs) -> Self {
        Self::new(
            self.handle,
            self.origin,
            self.kind,
            public,
            self.secret.clone(),
            self.has_secret,
        )
    }

    pub fn public(&self) -> &Attrs {
        &self.public
    }
    /// In-memory secret part of a session object.
    pub fn session_secret(&self) -> Option<&Attrs> {
        self.secret.as_ref()
    }
    pub fn has_secret(&self) -> bool {
        self.has_secret
    }
    pub fn get(&self, ty: AttrType) -> Option<&[u8]> {
        self.public.get(ty)
    }
    pub fn flag(&self, ty: AttrType) -> bool {
        self.flags.get(ty).unwrap_or_else(|| self.public.flag(ty))
    }
    pub fn is_managed(&self) -> bool {
        self.managed
    }
    /// The standing of a managed object: `decode` runs on the first call only.
    pub fn standing(
        &self,
        decode: impl FnOnce(&Attrs) -> Option<vendor::Standing>,
    ) -> Option<vendor::Standing> {
        *self.standing.get_or_init(|| decode(&self.public))
    }
    pub fn class(&self) -> ck::CK_OBJECT_CLASS {
        self.kind.class
    }
    pub fn key_type(&self) -> Option<ck::CK_KEY_TYPE> {
        if self.kind.is_key() {
            self.kind.sub
        } else {
            None
        }
    }
    pub fn is_token(&self) -> bool {
        matches!(self.origin, Origin::Token(_))
    }
    pub fn is_private(&self) -> bool {
        self.flag(ck::CKA_PRIVATE)
    }
    /// Secret parts hidden from C_GetAttributeValue and wrapping (spec footnote 7).
    pub fn hides_secrets(&self) -> bool {
        self.flag(ck::CKA_SENSITIVE) || !self.flag(ck::CKA_EXTRACTABLE)
    }

    pub fn readable(&self, ty: AttrType) -> Readable<'_> {
        if let Some(v) = self.public.get(ty) {
            return Readable::Public(v);
        }
        let secret = self.kind.rule(ty).is_some_and(|r| r.has(schema::f::SECRET));
        match (secret && self.has_secret, self.hides_secrets()) {
            (true, true) => Readable::Sensitive,
            (true, false) => Readable::Secret,
            (false, _) => Readable::Absent,
        }
    }

    /// C_FindObjects matching: every template attribute equals a public attribute byte
    /// for byte. Secret parts never match.
    pub fn matches(&self, t: &Template) -> bool {
        t.iter()
            .all(|a| self.public.get(a.ty) == Some(a.value.as_slice()))
    }

    /// C_GetObjectSize: the bytes of the public attributes (secret parts are not counted:
    /// their size would say something about them).
    pub fn size(&self) -> u64 {
        self.public.iter().map(|a| a.value.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_stay_sorted_and_unique() {
        let mut a = Attrs::from_vec(vec![
            Attr::bool(ck::CKA_TOKEN, true),
            Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA),
            Attr::new(ck::CKA_LABEL, b"x".to_vec()),
        ]);
        a.set(Attr::new(ck::CKA_LABEL, b"y".to_vec()));
        a.set(Attr::bool(ck::CKA_PRIVATE, false));
        let tys: Vec<_> = a.iter().map(|x| x.ty).collect();
        assert_eq!(
            tys,
            vec![ck::CKA_CLASS, ck::CKA_TOKEN, ck::CKA_PRIVATE, ck::CKA_LABEL]
        );
        assert_eq!(a.get(ck::CKA_LABEL), Some(&b"y"[..]));
        assert!(a.flag(ck::CKA_TOKEN) && !a.flag(ck::CKA_PRIVATE) && !a.flag(ck::CKA_SIGN));
        assert_eq!(a.ulong(ck::CKA_CLASS), Some(ck::CKO_DATA));
    }

    #[test]
    fn flags_decoded_at_creation_read_as_the_attributes_say() {
        let kind = schema::kind(ck::CKO_SECRET_KEY, Some(ck::CKK_AES)).unwrap();
        let mut attrs = vec![
            Attr::bool(ck::CKA_TOKEN, true),
            Attr::bool(ck::CKA_MODIFIABLE, false),
            // Malformed (two bytes): reads as FALSE, as `Attrs::flag` has it.
            Attr::new(ck::CKA_COPYABLE, vec![1, 1]),
        ];
        for (i, ty) in DECODED_FLAGS.iter().enumerate() {
            match i % 3 {
                0 => attrs.push(Attr::bool(*ty, true)),
                1 => attrs.push(Attr::bool(*ty, false)),
                _ => {} // absent
            }
        }
        let public = Attrs::from_vec(attrs);
        let o = Object::session(1, 1, kind, public.clone(), Attrs::default());
        for ty in DECODED_FLAGS.iter().chain(&[
            ck::CKA_TOKEN,
            ck::CKA_MODIFIABLE,
            ck::CKA_COPYABLE,
            ck::CKA_TRUSTED,
        ]) {
            assert_eq!(o.flag(*ty), public.flag(*ty), "{}", schema::attr_name(*ty));
        }
        assert!(o.flag(ck::CKA_PRIVATE) && !o.flag(ck::CKA_SENSITIVE) && o.flag(ck::CKA_TOKEN));
        assert!(!o.is_managed());
        // C_SetAttributeValue's new object decodes its own attributes.
        let mut changed = public;
        changed.set(Attr::bool(ck::CKA_PRIVATE, false));
        changed.set(Attr::bool(ck::CKA_SENSITIVE, true));
        changed.set(Attr::ulong(vendor::CKA_PQHSM_VERSION_STATE, 1));
        let o = o.with_public(changed);
        assert!(!o.is_private() && o.flag(ck::CKA_SENSITIVE) && o.hides_secrets());
        assert!(o.is_managed());
    }

    #[test]
    fn secret_parts_read_as_sensitive_unless_extractable() {
        let kind = schema::kind(ck::CKO_SECRET_KEY, Some(ck::CKK_AES)).unwrap();
        let public = |sensitive, extractable| {
            Attrs::from_vec(vec![
                Attr::bool(ck::CKA_SENSITIVE, sensitive),
                Attr::bool(ck::CKA_EXTRACTABLE, extractable),
            ])
        };
        let secret = Attrs::from_vec(vec![Attr::new(ck::CKA_VALUE, vec![1u8; 16])]);
        let o = Object::session(1, 1, kind, public(true, false), secret.clone());
        assert!(matches!(o.readable(ck::CKA_VALUE), Readable::Sensitive));
        assert!(matches!(o.readable(ck::CKA_MODULUS), Readable::Absent));
        let o = Object::session(1, 1, kind, public(false, false), secret.clone());
        assert!(matches!(o.readable(ck::CKA_VALUE), Readable::Sensitive));
        let o = Object::session(1, 1, kind, public(false, true), secret);
        assert!(matches!(o.readable(ck::CKA_VALUE), Readable::Secret));
        assert!(!o.matches(&Template::new(vec![Attr::new(ck::CKA_VALUE, vec![1u8; 16])]).unwrap()));
        assert!(o.matches(&Template::new(vec![Attr::bool(ck::CKA_EXTRACTABLE, true)]).unwrap()));
    }
}
