//! Key management: generate, generate pair, wrap, unwrap, derive, encapsulate and
//! decapsulate. Templates are checked before any key work; the mechanism's attributes are
//! merged with the caller's under the object declarations; nothing unextractable leaves.

use super::keyuse::{mechanism_for, use_key, DECAPSULATE, DERIVE, ENCAPSULATE, UNWRAP, WRAP};
use super::objects::{key_size_as, kind_of_template};
use super::{Module, ObjectHandle, OutBytes, Output, SessionHandle};
use crate::attr::Template;
use crate::error::{err, Error, ErrorKind, Result};
use crate::mech::params::{HkdfSalt, MechParam, Mechanism};
use crate::mech::{self, keys, KeyAttrs, KeyMaterial};
use crate::object::schema::{self, Kind};
use crate::object::template::{self, Draft, Op, Provenance};
use crate::session::Session;
use cryptoki_sys as ck;
use zeroize::Zeroizing;

/// A key-generation mechanism's key type (the first of its row).
fn generated_type(m: &Mechanism, function: ck::CK_FLAGS) -> Result<ck::CK_KEY_TYPE> {
    let spec = mechanism_for(m, function, "generate keys")?;
    spec.key_types.first().copied().ok_or_else(|| {
        Error::new(
            ErrorKind::MechanismInvalid,
            format!("{} names no key type", spec.name),
        )
    })
}

/// The kind of a secret key made by derive/encapsulate/decapsulate: CKO_SECRET_KEY,
/// CKK_GENERIC_SECRET unless the template says otherwise.
fn secret_kind(t: &Template) -> Result<&'static Kind> {
    if let Some(class) = t.get_ulong(ck::CKA_CLASS)? {
        if class != ck::CKO_SECRET_KEY {
            return err(
                ErrorKind::TemplateInconsistent,
                "this operation makes secret keys: CKA_CLASS must be CKO_SECRET_KEY",
            );
        }
    }
    let key_type = t
        .get_ulong(ck::CKA_KEY_TYPE)?
        .unwrap_or(ck::CKK_GENERIC_SECRET);
    schema::kind(ck::CKO_SECRET_KEY, Some(key_type))
}

/// A secret shortened to CKA_VALUE_LEN when the template asks for fewer bytes.
fn fit_value_len(t: &Template, mut secret: Zeroizing<Vec<u8>>) -> Result<Zeroizing<Vec<u8>>> {
    if let Some(n) = t.get_ulong(ck::CKA_VALUE_LEN)? {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > secret.len() {
            return err(
                ErrorKind::TemplateInconsistent,
                format!(
                    "CKA_VALUE_LEN {n} exceeds the {} bytes the operation produced",
                    secret.len()
                ),
            );
        }
        secret.truncate(n);
    }
    Ok(secret)
}

impl Module {
    /// Check a template for a secret key made from operation output.
    fn secret_draft(&self, s: &Session, t: &Template) -> Result<Draft> {
        let draft = template::check(secret_kind(t)?, Op::Unwrap, t, &self.ctx(s))?;
        self.check_create(s, &draft)?;
        Ok(draft)
    }

    /// Make the secret key object `draft` describes from `secret`.
    fn insert_secret(
        &self,
        s: &Session,
        draft: Draft,
        t: &Template,
        secret: Zeroizing<Vec<u8>>,
        prov: Provenance,
    ) -> Result<ObjectHandle> {
        let key_type = draft.kind.sub.unwrap_or(ck::CKK_GENERIC_SECRET);
        let key = keys::secret_from_output(key_type, fit_value_len(t, secret)?)?;
        self.insert(s, draft.finish_key(t, key, prov))
    }

    pub fn generate_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        t: &Template,
    ) -> Result<ObjectHandle> {
        let s = self.session(h)?;
        let key_type = generated_type(m, ck::CKF_GENERATE)?;
        let kind = schema::kind(ck::CKO_SECRET_KEY, Some(key_type))?;
        let draft = template::check(kind, Op::Generate, t, &self.ctx(&s))?;
        self.check_create(&s, &draft)?;
        let (made, key) = mech::generate_key(m, t)?;
        if made != key_type {
            return err(
                ErrorKind::General,
                format!(
                    "{:#x} generated a key of type {made:#x}, not {key_type:#x}",
                    m.ty
                ),
            );
        }
        self.insert(&s, draft.finish_key(t, key, Provenance::generated(m.ty)))
    }

    pub fn generate_key_pair(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<(ObjectHandle, ObjectHandle)> {
        let s = self.session(h)?;
        let key_type = generated_type(m, ck::CKF_GENERATE_KEY_PAIR)?;
        let ctx = self.ctx(&s);
        let pub_draft = template::check(
            schema::kind(ck::CKO_PUBLIC_KEY, Some(key_type))?,
            Op::Generate,
            public,
            &ctx,
        )?;
        let priv_draft = template::check(
            schema::kind(ck::CKO_PRIVATE_KEY, Some(key_type))?,
            Op::Generate,
            private,
            &ctx,
        )?;
        self.check_create(&s, &pub_draft)?;
        self.check_create(&s, &priv_draft)?;
        let pair = mech::generate_key_pair(m, public, private)?;
        if pair.key_type != key_type {
            return err(
                ErrorKind::General,
                format!("{:#x} generated a pair of type {:#x}", m.ty, pair.key_type),
            );
        }
        let prov = Provenance::generated(m.ty);
        let pub_key = KeyAttrs {
            public: pair.public_key,
            secret: Vec::new(),
        };
        let pub_h = self.insert(&s, pub_draft.finish_key(public, pub_key, prov))?;
        match self.insert(&s, priv_draft.finish_key(private, pair.private_key, prov)) {
            Ok(priv_h) => Ok((pub_h, priv_h)),
            Err(e) => {
                // No half pairs: take the public key back.
                if let Ok(o) = s.token.object(pub_h) {
                    if let Err(d) = s.token.remove(&o) {
                        tracing::warn!("could not remove the public half of a failed pair: {d}");
                    }
                }
                Err(e)
            }
        }
    }

    pub fn wrap_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        wrapping: ObjectHandle,
        key: ObjectHandle,
        out_cap: Option<usize>,
    ) -> Result<Output> {
        let s = self.session(h)?;
        let (wrapper, wk) = use_key(&s, m, wrapping, &WRAP)?;
        let obj = s.token.object(key).map_err(|e| match e.kind() {
            ErrorKind::ObjectHandleInvalid => Error::new(ErrorKind::KeyHandleInvalid, e.message()),
            _ => e,
        })?;
        if !obj.kind.is_sensitive_kind() {
            return err(
                ErrorKind::KeyNotWrappable,
                format!(
                    "a {} cannot be wrapped: only secret and private keys",
                    obj.kind.name
                ),
            );
        }
        if !obj.flag(ck::CKA_EXTRACTABLE) {
            return err(
                ErrorKind::KeyUnextractable,
                "this key has CKA_EXTRACTABLE=FALSE: it never leaves the token",
            );
        }
        if obj.flag(ck::CKA_WRAP_WITH_TRUSTED) && !wrapper.flag(ck::CKA_TRUSTED) {
            return err(
                ErrorKind::KeyNotWrappable,
                "this key may only be wrapped by a key with CKA_TRUSTED=TRUE",
            );
        }
        let material = s.token.key_material(&obj)?;
        let bytes = match (obj.class(), &*material) {
            (ck::CKO_SECRET_KEY, KeyMaterial::Secret { value, .. }) => value.clone(),
            (ck::CKO_PRIVATE_KEY, k) => keys::to_pkcs8(k)?,
            _ => {
                return err(
                    ErrorKind::KeyNotWrappable,
                    format!("no wrapping encoding for a {}", obj.kind.name),
                )
            }
        };
        let Some(cap) = out_cap else {
            return Ok(Output::Len(mech::wrap_len(m, &wk, bytes.len())?));
        };
        let wrapped = mech::wrap(m, &wk, &bytes)?;
        if wrapped.len() > cap {
            return Err(Error::buffer_too_small(wrapped.len()));
        }
        Ok(Output::Data(OutBytes::Public(wrapped)))
    }

    pub fn unwrap_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        unwrapping: ObjectHandle,
        wrapped: &[u8],
        t: &Template,
    ) -> Result<ObjectHandle> {
        let s = self.session(h)?;
        let ctx = self.ctx(&s);
        let class = t.get_ulong(ck::CKA_CLASS)?;
        let early = match (class, t.has(ck::CKA_KEY_TYPE)) {
            (Some(ck::CKO_SECRET_KEY | ck::CKO_PRIVATE_KEY), true) => {
                Some(kind_of_template(t, None)?)
            }
            (Some(ck::CKO_PRIVATE_KEY), false) => None,
            (Some(ck::CKO_SECRET_KEY), false) => {
                return err(
                    ErrorKind::TemplateIncomplete,
                    "unwrapping a secret key needs CKA_KEY_TYPE",
                )
            }
            (None, _) => {
                return err(
                    ErrorKind::TemplateIncomplete,
                    "C_UnwrapKey needs CKA_CLASS in the template",
                )
            }
            (Some(_), _) => {
                return err(
                    ErrorKind::TemplateInconsistent,
                    "C_UnwrapKey makes secret or private keys",
                )
            }
        };
        let early_draft = match early {
            Some(kind) => {
                let d = template::check(kind, Op::Unwrap, t, &ctx)?;
                self.check_create(&s, &d)?;
                Some(d)
            }
            None => None,
        };
        let (_, uk) = use_key(&s, m, unwrapping, &UNWRAP)?;
        let bytes = mech::unwrap(m, &uk, wrapped)?;
        if class == Some(ck::CKO_SECRET_KEY) {
            let draft = early_draft
                .ok_or_else(|| Error::new(ErrorKind::General, "secret-key draft missing"))?;
            return self
                .insert_secret(&s, draft, t, bytes, Provenance::imported())
                .map_err(key_size_as(ErrorKind::WrappedKeyInvalid));
        }
        let (key_type, key) =
            keys::from_pkcs8(&bytes).map_err(key_size_as(ErrorKind::WrappedKeyInvalid))?;
        let draft = match early_draft {
            Some(d) if d.kind.sub == Some(key_type) => d,
            Some(_) => {
                return err(
                    ErrorKind::TemplateInconsistent,
                    "CKA_KEY_TYPE does not match the unwrapped private key",
                )
            }
            None => {
                let d = template::check(
                    schema::kind(ck::CKO_PRIVATE_KEY, Some(key_type))?,
                    Op::Unwrap,
                    t,
                    &ctx,
                )?;
                self.check_create(&s, &d)?;
                d
            }
        };
        self.insert(&s, draft.finish_key(t, key, Provenance::imported()))
    }

    pub fn derive_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        base: ObjectHandle,
        t: &Template,
    ) -> Result<ObjectHandle> {
        let s = self.session(h)?;
        let draft = self.secret_draft(&s, t)?;
        let (base_obj, bk) = use_key(&s, m, base, &DERIVE)?;
        let salt_key = match &m.param {
            MechParam::Hkdf {
                salt: HkdfSalt::Key(salt),
                ..
            } => {
                let o = s.token.object(*salt).map_err(|e| match e.kind() {
                    ErrorKind::ObjectHandleInvalid => Error::new(
                        ErrorKind::MechanismParamInvalid,
                        format!("HKDF salt key: {}", e.message()),
                    ),
                    _ => e,
                })?;
                if o.class() != ck::CKO_SECRET_KEY {
                    return err(
                        ErrorKind::MechanismParamInvalid,
                        "the HKDF salt key must be a secret key",
                    );
                }
                Some(s.token.key_material(&o)?)
            }
            _ => None,
        };
        let out_len = t
            .get_ulong(ck::CKA_VALUE_LEN)?
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let secret = mech::derive(m, &bk, salt_key.as_deref(), out_len)?;
        self.insert_secret(&s, draft, t, secret, Provenance::derived(&base_obj))
    }

    /// PKCS#11 3.2 C_EncapsulateKey. With `ct_cap == None` only the ciphertext length is
    /// returned and no key is created.
    pub fn encapsulate_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        public: ObjectHandle,
        t: &Template,
        ct_cap: Option<usize>,
    ) -> Result<(Output, Option<ObjectHandle>)> {
        let s = self.session(h)?;
        let draft = self.secret_draft(&s, t)?;
        let (_, pk) = use_key(&s, m, public, &ENCAPSULATE)?;
        let n = mech::ciphertext_len(m, &pk)?;
        let cap = match ct_cap {
            None => return Ok((Output::Len(n), None)),
            Some(c) if c < n => return Err(Error::buffer_too_small(n)),
            Some(c) => c,
        };
        let (ct, secret) = mech::encapsulate(m, &pk)?;
        if ct.len() > cap {
            return Err(Error::buffer_too_small(ct.len()));
        }
        let key = self.insert_secret(&s, draft, t, secret, Provenance::shared())?;
        Ok((Output::Data(OutBytes::Public(ct)), Some(key)))
    }

    pub fn decapsulate_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        private: ObjectHandle,
        t: &Template,
        ct: &[u8],
    ) -> Result<ObjectHandle> {
        let s = self.session(h)?;
        let draft = self.secret_draft(&s, t)?;
        let (_, sk) = use_key(&s, m, private, &DECAPSULATE)?;
        let secret = mech::decapsulate(m, &sk, ct)?;
        self.insert_secret(&s, draft, t, secret, Provenance::shared())
    }
}
