//! The objects a new key version is made of, generated on the token or built from imported
//! material: token objects, private and sensitive, never extractable, not copyable or
//! destroyable by clients, checked by the same template rules as any PKCS#11 object, and
//! dressed with the version's management attributes before they are stored.

use super::algorithms::{Algorithm, Shape};
use super::clock::Timestamp;
use super::lifecycle::{allowed, usage_flags};
use super::meta::{KeyMeta, VersionMeta};
use super::view::dress;
use super::Manager;
use crate::attr::{Attr, Template};
use crate::error::{Error, ErrorKind, Result};
use crate::mech::params::Mechanism;
use crate::mech::{self, KeyAttrs};
use crate::object::schema::{self, Kind};
use crate::object::template::{self, NewObject, Op, Provenance};
use cryptoki_sys as ck;

/// The facts a new version's objects carry.
pub(crate) struct Version<'a> {
    pub alg: &'static Algorithm,
    pub key: &'a KeyMeta,
    pub ver: &'a VersionMeta,
    pub now: Timestamp,
}

/// Where the key material of a new version comes from.
pub(crate) enum Material {
    Generate,
    /// Imported: the private (or secret) key's attributes and, for pairs, the public key's.
    Imported {
        private: KeyAttrs,
        public: Option<KeyAttrs>,
    },
}

impl Version<'_> {
    /// The template of one object of the version, without key material.
    fn template(&self, kind: &Kind) -> Result<Template> {
        let mut t = vec![
            Attr::bool(ck::CKA_TOKEN, true),
            Attr::bool(ck::CKA_PRIVATE, kind.is_sensitive_kind()),
            Attr::new(ck::CKA_LABEL, self.key.name.as_bytes().to_vec()),
            Attr::new(ck::CKA_ID, self.ver.version.to_be_bytes().to_vec()),
            // Copies would escape the lifecycle; deletion goes through `pqhsm keys`.
            Attr::bool(ck::CKA_COPYABLE, false),
            Attr::bool(ck::CKA_DESTROYABLE, false),
        ];
        if kind.is_sensitive_kind() {
            t.push(Attr::bool(ck::CKA_SENSITIVE, true));
            t.push(Attr::bool(ck::CKA_EXTRACTABLE, false));
        }
        t.extend(usage_flags(
            kind,
            self.key.purpose,
            allowed(self.key, self.ver, self.now),
        ));
        Template::new(t)
    }
}

fn finish(mut o: NewObject, v: &Version<'_>) -> NewObject {
    dress(&mut o.public, o.kind, v.key, v.ver, v.now);
    o
}

impl Manager<'_> {
    /// The objects of a new version: the key pair (public first) or the secret key.
    pub(crate) fn make_version(
        &self,
        v: &Version<'_>,
        material: Material,
    ) -> Result<Vec<NewObject>> {
        let s = self.module.session(self.session)?;
        let ctx = self.module.ctx(&s);
        let key_type = v.alg.key_type();
        let check = |kind: &'static Kind, t: &Template, op| template::check(kind, op, t, &ctx);
        match (v.alg.shape, material) {
            (Shape::Pair(m, _, _), material) => {
                let pub_kind = schema::kind(ck::CKO_PUBLIC_KEY, Some(key_type))?;
                let priv_kind = schema::kind(ck::CKO_PRIVATE_KEY, Some(key_type))?;
                let mut pub_t = v.template(pub_kind)?.0;
                let priv_t = v.template(priv_kind)?;
                let (public, private, prov) = match material {
                    Material::Generate => {
                        pub_t.extend(v.alg.key_attrs());
                        let pub_t = Template::new(pub_t)?;
                        let pair = mech::generate_key_pair(&Mechanism::new(m), &pub_t, &priv_t)?;
                        let public = KeyAttrs {
                            public: pair.public_key,
                            secret: Vec::new(),
                        };
                        (
                            (pub_t, public),
                            (priv_t, pair.private_key),
                            Provenance::generated(m),
                        )
                    }
                    Material::Imported { private, public } => {
                        let public = public.ok_or_else(|| {
                            Error::new(
                                ErrorKind::General,
                                "an imported key pair lacks its public key",
                            )
                        })?;
                        let pub_t = Template::new(pub_t)?;
                        ((pub_t, public), (priv_t, private), Provenance::imported())
                    }
                };
                let op = if prov.local { Op::Generate } else { Op::Unwrap };
                let pub_obj = check(pub_kind, &public.0, op)?.finish_key(&public.0, public.1, prov);
                let priv_obj =
                    check(priv_kind, &private.0, op)?.finish_key(&private.0, private.1, prov);
                Ok(vec![finish(pub_obj, v), finish(priv_obj, v)])
            }
            (Shape::Secret(m, _, len), material) => {
                let kind = schema::kind(ck::CKO_SECRET_KEY, Some(key_type))?;
                let t = v.template(kind)?;
                let (attrs, prov, op) = match material {
                    Material::Generate => {
                        let mut gen_t = t.0.clone();
                        gen_t.push(Attr::ulong(ck::CKA_VALUE_LEN, len as ck::CK_ULONG));
                        let (_, attrs) =
                            mech::generate_key(&Mechanism::new(m), &Template::new(gen_t)?)?;
                        (attrs, Provenance::generated(m), Op::Generate)
                    }
                    Material::Imported { private, .. } => {
                        (private, Provenance::imported(), Op::Unwrap)
                    }
                };
                let obj = check(kind, &t, op)?.finish_key(&t, attrs, prov);
                Ok(vec![finish(obj, v)])
            }
        }
    }
}
