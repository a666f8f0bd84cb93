//! Object management: C_CreateObject, C_CopyObject, C_DestroyObject, C_GetObjectSize,
//! C_Get/SetAttributeValue and C_FindObjects*. The rules live in `crate::object`; this file
//! adds who may do what in which session.

use super::{AttrAnswer, AttrRequest, Module, ObjectHandle, SessionHandle};
use crate::attr::Template;
use crate::error::{err, Error, ErrorKind, Result};
use crate::mech::keys;
use crate::object::schema;
use crate::object::template::{self, Draft, NewObject, Op, Provenance};
use crate::object::{Attrs, Readable};
use crate::session::{ops, Session};
use crate::token::Who;
use cryptoki_sys as ck;
use zeroize::Zeroizing;

fn sized(v: &[u8], cap: Option<usize>) -> AttrAnswer {
    match cap {
        None => AttrAnswer::Len(v.len()),
        Some(c) if c >= v.len() => AttrAnswer::Value(Zeroizing::new(v.to_vec())),
        Some(_) => AttrAnswer::TooSmall,
    }
}

/// Key material of the wrong size is a bad attribute value to C_CreateObject and a bad
/// wrapped key to C_UnwrapKey: neither function reports CKR_KEY_SIZE_RANGE.
pub(super) fn key_size_as(kind: ErrorKind) -> impl Fn(Error) -> Error {
    move |e| match e.kind() {
        ErrorKind::KeySizeRange => Error::new(kind, e.message()),
        _ => e,
    }
}

/// The kind a creation template names through CKA_CLASS and the key/certificate type.
pub(super) fn kind_of_template(
    t: &Template,
    default_class: Option<ck::CK_OBJECT_CLASS>,
) -> Result<&'static schema::Kind> {
    let class = match (t.get_ulong(ck::CKA_CLASS)?, default_class) {
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            return err(
                ErrorKind::TemplateIncomplete,
                "the template must give CKA_CLASS",
            )
        }
    };
    let sub = match class {
        ck::CKO_CERTIFICATE => t.get_ulong(ck::CKA_CERTIFICATE_TYPE)?,
        ck::CKO_PUBLIC_KEY | ck::CKO_PRIVATE_KEY | ck::CKO_SECRET_KEY => {
            t.get_ulong(ck::CKA_KEY_TYPE)?
        }
        _ => None,
    };
    schema::kind(class, sub)
}

impl Module {
    /// May this session create `draft`? Token objects need a read/write session; private
    /// objects and anything with a secret part need the user logged in.
    pub(super) fn check_create(&self, s: &Session, draft: &Draft) -> Result<()> {
        if draft.is_token() && !s.rw {
            return err(
                ErrorKind::SessionReadOnly,
                "token objects need a read/write session",
            );
        }
        if (draft.is_private() || draft.kind.is_sensitive_kind()) && s.token.who() != Who::User {
            return err(
                ErrorKind::UserNotLoggedIn,
                format!(
                    "log in as the user to create a {} (private objects and key material need it)",
                    draft.kind.name
                ),
            );
        }
        Ok(())
    }

    /// Insert a checked object for session `s`.
    pub(super) fn insert(&self, s: &Session, new: NewObject) -> Result<ObjectHandle> {
        Ok(s.token.insert(s.handle, new)?.handle)
    }

    pub fn create_object(&self, h: SessionHandle, t: &Template) -> Result<ObjectHandle> {
        let s = self.session(h)?;
        let kind = kind_of_template(t, None)?;
        let draft = template::check(kind, Op::Create, t, &self.ctx(&s))?;
        self.check_create(&s, &draft)?;
        let new = match (kind.is_key(), kind.sub) {
            (true, Some(key_type)) => {
                let key = keys::check_import(kind.class, key_type, t)
                    .map_err(key_size_as(ErrorKind::AttributeValueInvalid))?;
                draft.finish_key(t, key, Provenance::imported())
            }
            _ => draft.into_object(Attrs::default()),
        };
        self.insert(&s, new)
    }

    pub fn copy_object(
        &self,
        h: SessionHandle,
        o: ObjectHandle,
        t: &Template,
    ) -> Result<ObjectHandle> {
        let s = self.session(h)?;
        let src = s.token.object(o)?;
        let draft = template::copy(&src, t, &self.ctx(&s))?;
        self.check_create(&s, &draft)?;
        let secret = s.token.secret_of(&src)?;
        self.insert(&s, draft.into_object(secret))
    }

    pub fn destroy_object(&self, h: SessionHandle, o: ObjectHandle) -> Result<()> {
        let s = self.session(h)?;
        let obj = s.token.object(o)?;
        if obj.is_token() && !s.rw {
            return err(
                ErrorKind::SessionReadOnly,
                "destroying a token object needs a read/write session",
            );
        }
        if !obj.flag(ck::CKA_DESTROYABLE) {
            return err(
                ErrorKind::ActionProhibited,
                "this object has CKA_DESTROYABLE=FALSE",
            );
        }
        s.token.remove(&obj)
    }

    pub fn object_size(&self, h: SessionHandle, o: ObjectHandle) -> Result<u64> {
        let s = self.session(h)?;
        Ok(s.token.object(o)?.size())
    }

    pub fn get_attribute_value(
        &self,
        h: SessionHandle,
        o: ObjectHandle,
        req: &[AttrRequest],
    ) -> Result<Vec<AttrAnswer>> {
        let s = self.session(h)?;
        let obj = s.token.object(o)?;
        let mut secret: Option<Attrs> = None;
        let mut answers = Vec::with_capacity(req.len());
        for r in req {
            let answer = match obj.readable(r.ty) {
                Readable::Public(v) => sized(v, r.cap),
                Readable::Sensitive => AttrAnswer::Sensitive,
                Readable::Absent => AttrAnswer::TypeInvalid,
                Readable::Secret => {
                    if secret.is_none() {
                        secret = Some(s.token.secret_of(&obj)?);
                    }
                    match secret.as_ref().and_then(|sec| sec.get(r.ty)) {
                        Some(v) => sized(v, r.cap),
                        None => AttrAnswer::TypeInvalid,
                    }
                }
            };
            answers.push(answer);
        }
        Ok(answers)
    }

    pub fn set_attribute_value(
        &self,
        h: SessionHandle,
        o: ObjectHandle,
        t: &Template,
    ) -> Result<()> {
        let s = self.session(h)?;
        let obj = s.token.object(o)?;
        if obj.is_token() && !s.rw {
            return err(
                ErrorKind::SessionReadOnly,
                "changing a token object needs a read/write session",
            );
        }
        let public = template::set(&obj, t, &self.ctx(&s))?;
        s.token.replace(&obj, public)
    }

    pub fn find_objects_init(&self, h: SessionHandle, t: &Template) -> Result<()> {
        let s = self.session(h)?;
        let mut ops = s.ops();
        if ops.find.is_some() {
            return err(
                ErrorKind::OperationActive,
                "a search is active: call C_FindObjectsFinal first",
            );
        }
        ops.find = Some(ops::Find::new(s.token.find(t)?));
        Ok(())
    }

    pub fn find_objects(&self, h: SessionHandle, max: usize) -> Result<Vec<ObjectHandle>> {
        self.with_ops(h, |o| match o.find.as_mut() {
            Some(f) => Ok(f.next(max)),
            None => err(
                ErrorKind::OperationNotInitialized,
                "no search is active: call C_FindObjectsInit first",
            ),
        })
    }

    pub fn find_objects_final(&self, h: SessionHandle) -> Result<()> {
        self.with_ops(h, |o| match o.find.take() {
            Some(_) => Ok(()),
            None => err(ErrorKind::OperationNotInitialized, "no search is active"),
        })
    }
}
