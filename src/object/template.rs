//! Template checks driven by the kind declarations of `schema`: building a new object
//! (create, generate, unwrap/derive), copying one, and changing attributes. The token
//! policy (non-exportable keys) is enforced here and nowhere else.

use super::schema::{self, attr_name, f, AttrRule, Dflt, Kind, ValType};
use super::{vendor, Attrs, Object};
use crate::attr::{decode_bool, decode_ulong, Attr, Template};
use crate::config::Policy;
use crate::error::{err, ErrorKind, Result};
use crate::mech::params::MechType;
use crate::mech::{table, KeyAttrs};
use cryptoki_sys as ck;
use std::sync::OnceLock;

/// The function creating an object: decides which attributes a template may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// C_CreateObject: the template carries the key material.
    Create,
    /// C_GenerateKey(Pair): the mechanism produces the key material.
    Generate,
    /// C_UnwrapKey, C_DeriveKey, C_EncapsulateKey, C_DecapsulateKey: the key material
    /// comes out of the operation.
    Unwrap,
}

/// Who is asking, and under which policy.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    pub policy: &'a Policy,
    /// The SO is logged in (may set CKA_TRUSTED).
    pub so: bool,
}

/// A new object's public attributes, checked, before its key material is merged in.
#[derive(Debug)]
pub struct Draft {
    pub kind: &'static Kind,
    pub public: Attrs,
}

/// A complete new object: public attributes and secret parts (to seal or keep in memory).
#[derive(Debug)]
pub struct NewObject {
    pub kind: &'static Kind,
    pub public: Attrs,
    pub secret: Attrs,
}

/// How the key material came to be: sets CKA_LOCAL, CKA_KEY_GEN_MECHANISM and the
/// "always sensitive / never extractable" history.
#[derive(Clone, Copy, Debug)]
pub struct Provenance {
    pub local: bool,
    pub gen_mechanism: Option<MechType>,
    /// The material has never been outside the token unprotected so far.
    pub always_sensitive: bool,
    pub never_extractable: bool,
}

impl Provenance {
    /// C_CreateObject and C_UnwrapKey: the material was known outside the token.
    pub fn imported() -> Self {
        Provenance {
            local: false,
            gen_mechanism: None,
            always_sensitive: false,
            never_extractable: false,
        }
    }
    /// C_GenerateKey(Pair).
    pub fn generated(m: MechType) -> Self {
        Provenance {
            local: true,
            gen_mechanism: Some(m),
            always_sensitive: true,
            never_extractable: true,
        }
    }
    /// C_EncapsulateKey / C_DecapsulateKey: a KEM secret is shared with the holder of the
    /// other half of the key pair, outside this token, so PKCS#11 3.2 gives the new key
    /// CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE FALSE (and CKA_LOCAL FALSE).
    pub fn shared() -> Self {
        Provenance {
            local: false,
            gen_mechanism: None,
            always_sensitive: false,
            never_extractable: false,
        }
    }
    /// C_DeriveKey: inherits the history of the base key.
    pub fn derived(base: &Object) -> Self {
        Provenance {
            local: false,
            gen_mechanism: None,
            always_sensitive: base.flag(ck::CKA_ALWAYS_SENSITIVE),
            never_extractable: base.flag(ck::CKA_NEVER_EXTRACTABLE),
        }
    }
}

fn validate(rule: &AttrRule, a: &Attr) -> Result<()> {
    match rule.val {
        ValType::Bool => decode_bool(a.ty, &a.value).map(|_| ()),
        ValType::Ulong => decode_ulong(a.ty, &a.value).map(|_| ()),
        ValType::Bytes => Ok(()),
        ValType::Date => {
            if a.value.is_empty() || (a.value.len() == 8 && a.value.iter().all(u8::is_ascii_digit))
            {
                Ok(())
            } else {
                err(
                    ErrorKind::AttributeValueInvalid,
                    format!("{} must be a CK_DATE (YYYYMMDD) or empty", attr_name(a.ty)),
                )
            }
        }
    }
}

fn rule_for(kind: &Kind, a: &Attr) -> Result<AttrRule> {
    let rule = kind.rule(a.ty).ok_or_else(|| {
        crate::Error::new(
            ErrorKind::AttributeTypeInvalid,
            format!("{} does not apply to a {}", attr_name(a.ty), kind.name),
        )
    })?;
    validate(&rule, a)?;
    Ok(rule)
}

/// The default of CKA_ENCRYPT etc.: TRUE when some mechanism uses this key type for it.
fn usage_default(kind: &Kind, ty: ck::CK_ATTRIBUTE_TYPE) -> bool {
    let function = match ty {
        ck::CKA_ENCRYPT => ck::CKF_ENCRYPT | ck::CKF_MESSAGE_ENCRYPT,
        ck::CKA_DECRYPT => ck::CKF_DECRYPT | ck::CKF_MESSAGE_DECRYPT,
        ck::CKA_SIGN => ck::CKF_SIGN | ck::CKF_MESSAGE_SIGN,
        ck::CKA_VERIFY => ck::CKF_VERIFY | ck::CKF_MESSAGE_VERIFY,
        ck::CKA_SIGN_RECOVER => ck::CKF_SIGN_RECOVER,
        ck::CKA_VERIFY_RECOVER => ck::CKF_VERIFY_RECOVER,
        ck::CKA_WRAP => ck::CKF_WRAP,
        ck::CKA_UNWRAP => ck::CKF_UNWRAP,
        // A public key is never the base of a derivation here.
        ck::CKA_DERIVE if kind.class == ck::CKO_PUBLIC_KEY => 0,
        ck::CKA_DERIVE => ck::CKF_DERIVE,
        ck::CKA_ENCAPSULATE => ck::CKF_ENCAPSULATE,
        ck::CKA_DECAPSULATE => ck::CKF_DECAPSULATE,
        _ => 0,
    };
    let Some(key_type) = kind.sub else {
        return false;
    };
    table::functions_for(key_type) & function != 0
}

fn check_one_way(rule: &AttrRule, old: bool, new: bool) -> Result<()> {
    if rule.has(f::ONLY_TO_TRUE) && old && !new {
        return err(
            ErrorKind::AttributeReadOnly,
            format!("{} can only change from FALSE to TRUE", attr_name(rule.ty)),
        );
    }
    if rule.has(f::ONLY_TO_FALSE) && !old && new {
        return err(
            ErrorKind::AttributeReadOnly,
            format!("{} can only change from TRUE to FALSE", attr_name(rule.ty)),
        );
    }
    Ok(())
}

fn check_so_only(rule: &AttrRule, value: &Attrs, ctx: &Ctx) -> Result<()> {
    if rule.has(f::SO_TRUE) && value.flag(rule.ty) && !ctx.so {
        return err(
            ErrorKind::AttributeReadOnly,
            format!("only the SO can set {} to TRUE", attr_name(rule.ty)),
        );
    }
    Ok(())
}

/// Non-exportable by policy, and the options this token does not offer.
fn check_policy(kind: &Kind, public: &Attrs, policy: &Policy) -> Result<()> {
    if kind.is_sensitive_kind()
        && !policy.allow_extractable
        && (!public.flag(ck::CKA_SENSITIVE) || public.flag(ck::CKA_EXTRACTABLE))
    {
        return err(
            ErrorKind::AttributeValueInvalid,
            format!(
                "token policy keeps {}s non-exportable: CKA_SENSITIVE must be TRUE and \
                 CKA_EXTRACTABLE FALSE (policy.allow_extractable = false in the configuration)",
                kind.name
            ),
        );
    }
    if public.flag(ck::CKA_ALWAYS_AUTHENTICATE) {
        return err(
            ErrorKind::AttributeValueInvalid,
            "CKA_ALWAYS_AUTHENTICATE=TRUE is not supported: per-use PIN entry is not offered",
        );
    }
    Ok(())
}

/// The attributes naming the kind must agree with it (e.g. CKA_CLASS in a generate template).
fn check_identity(kind: &Kind, t: &Template) -> Result<()> {
    let mut expect = vec![(ck::CKA_CLASS, kind.class)];
    if let Some(sub) = kind.sub {
        expect.push((
            if kind.is_key() {
                ck::CKA_KEY_TYPE
            } else {
                ck::CKA_CERTIFICATE_TYPE
            },
            sub,
        ));
    }
    for (ty, want) in expect {
        if let Some(given) = t.get_ulong(ty)? {
            if given != want {
                return err(
                    ErrorKind::TemplateInconsistent,
                    format!(
                        "{} {given:#x} contradicts the {} being made",
                        attr_name(ty),
                        kind.name
                    ),
                );
            }
        }
    }
    Ok(())
}

/// Check a template for a new object of `kind` made by `op`, and fill in defaults.
/// Key material attributes are left to `mech` (they arrive through `Draft::finish_key`).
pub fn check(kind: &'static Kind, op: Op, t: &Template, ctx: &Ctx) -> Result<Draft> {
    check_identity(kind, t)?;
    let mut given = Vec::with_capacity(t.0.len() + 2);
    for a in t.iter() {
        let rule = rule_for(kind, a)?;
        if rule.has(f::COMPUTED) {
            return err(
                ErrorKind::AttributeReadOnly,
                format!("{} is set by the token, not by a template", attr_name(a.ty)),
            );
        }
        let refused = match op {
            Op::Generate => rule.has(f::NO_GENERATE),
            Op::Unwrap => rule.has(f::NO_UNWRAP),
            Op::Create => false,
        };
        if refused {
            return err(
                ErrorKind::TemplateInconsistent,
                format!(
                    "{} comes from the operation and cannot be given in its template",
                    attr_name(a.ty)
                ),
            );
        }
        if !rule.has(f::KEY_PART) {
            given.push(a.clone());
        }
    }
    given.push(Attr::ulong(ck::CKA_CLASS, kind.class));
    if let Some(sub) = kind.sub {
        let ty = if kind.is_key() {
            ck::CKA_KEY_TYPE
        } else {
            ck::CKA_CERTIFICATE_TYPE
        };
        given.push(Attr::ulong(ty, sub));
    }
    if op == Op::Create {
        let needed =
            |r: &AttrRule| r.has(f::REQ_CREATE) && !r.has(f::KEY_PART) && !r.has(f::COMPUTED);
        if let Some(missing) = kind
            .rules()
            .find(|r| needed(r) && !given.iter().any(|a| a.ty == r.ty))
        {
            return err(
                ErrorKind::TemplateIncomplete,
                format!("a {} needs {}", kind.name, attr_name(missing.ty)),
            );
        }
    }
    // A handful of given attributes into some thirty defaults: an insertion each is
    // cheaper than sorting them all again.
    let mut public = defaults(kind, given.len() + ROOM_FOR_KEY);
    for a in given {
        public.set(a);
    }
    check_policy(kind, &public, ctx.policy)?;
    for rule in kind.rules() {
        check_so_only(&rule, &public, ctx)?;
    }
    Ok(Draft { kind, public })
}

/// Attributes `Draft::finish_key` may add to a checked template (the key's own public
/// parts, CKA_LOCAL, CKA_KEY_GEN_MECHANISM, CKA_ALWAYS_SENSITIVE, ...).
const ROOM_FOR_KEY: usize = 12;

/// What an object of `kind` holds where its template is silent, with room for `more`
/// attributes. The same for every object of the kind, so made once per kind: a copy is one
/// allocation, as the values are inline, and the room spares the reallocations of growing
/// it an attribute at a time.
fn defaults(kind: &'static Kind, more: usize) -> Attrs {
    static MADE: OnceLock<Vec<(&'static Kind, Attrs)>> = OnceLock::new();
    MADE.get_or_init(|| schema::kinds().map(|k| (k, made_defaults(k))).collect())
        .iter()
        .find(|(k, _)| std::ptr::eq(*k, kind))
        .map_or_else(|| made_defaults(kind), |(_, d)| d.with_room(more))
}

fn made_defaults(kind: &Kind) -> Attrs {
    let defaults = kind.rules().filter_map(|rule| {
        if rule.has(f::KEY_PART) || rule.has(f::COMPUTED) {
            return None;
        }
        Some(match rule.dflt {
            Dflt::None if rule.ty == ck::CKA_PRIVATE => Attr::bool(rule.ty, kind.private_default()),
            Dflt::None => return None,
            Dflt::False => Attr::bool(rule.ty, false),
            Dflt::True => Attr::bool(rule.ty, true),
            Dflt::Empty => Attr::new(rule.ty, Vec::new()),
            Dflt::Ulong(v) => Attr::ulong(rule.ty, v),
            Dflt::Usage => Attr::bool(rule.ty, usage_default(kind, rule.ty)),
        })
    });
    Attrs::from_ordered(defaults.collect())
}

/// A random CKA_UNIQUE_ID: 128 bits as 32 hex characters.
fn unique_id() -> Attr {
    let mut raw = [0u8; 16];
    crate::rng::fill_bytes(&mut raw);
    Attr::new(ck::CKA_UNIQUE_ID, hex::encode(raw).into_bytes())
}

impl Draft {
    pub fn is_token(&self) -> bool {
        self.public.flag(ck::CKA_TOKEN)
    }
    pub fn is_private(&self) -> bool {
        self.public.flag(ck::CKA_PRIVATE)
    }

    /// Finish an object without key material (data objects, certificates, copies).
    pub fn into_object(mut self, secret: Attrs) -> NewObject {
        self.public.set(unique_id());
        NewObject {
            kind: self.kind,
            public: self.public,
            secret,
        }
    }

    /// Merge the key material `mech` produced or checked. The kind's declarations decide
    /// what is secret, whatever side `key` put an attribute on. Key attributes the caller
    /// gave that the mechanism did not echo (e.g. CKA_MODULUS_BITS) are kept as given.
    pub fn finish_key(mut self, t: &Template, key: KeyAttrs, prov: Provenance) -> NewObject {
        let mut secret = Attrs::default();
        let is_secret = |ty| self.kind.rule(ty).is_some_and(|r| r.has(f::SECRET));
        for a in key.public {
            if is_secret(a.ty) {
                secret.set(a);
            } else {
                self.public.set(a);
            }
        }
        for a in key.secret {
            secret.set(a);
        }
        for a in t.iter() {
            let key_part = self.kind.rule(a.ty).is_some_and(|r| r.has(f::KEY_PART));
            if key_part && !is_secret(a.ty) && !self.public.has(a.ty) && !secret.has(a.ty) {
                self.public.set(a.clone());
            }
        }
        if self.kind.is_key() {
            self.public.set(Attr::bool(ck::CKA_LOCAL, prov.local));
            let mech = prov.gen_mechanism.unwrap_or(ck::CK_UNAVAILABLE_INFORMATION);
            self.public
                .set(Attr::ulong(ck::CKA_KEY_GEN_MECHANISM, mech));
        }
        if self.kind.is_sensitive_kind() {
            let sensitive = self.public.flag(ck::CKA_SENSITIVE);
            let extractable = self.public.flag(ck::CKA_EXTRACTABLE);
            self.public.set(Attr::bool(
                ck::CKA_ALWAYS_SENSITIVE,
                prov.always_sensitive && sensitive,
            ));
            self.public.set(Attr::bool(
                ck::CKA_NEVER_EXTRACTABLE,
                prov.never_extractable && !extractable,
            ));
        }
        self.into_object(secret)
    }
}

/// Apply `t` to a copy of `src`'s public attributes under the change rules of
/// C_SetAttributeValue (`copy == false`) or C_CopyObject (`copy == true`).
fn apply_changes(src: &Object, t: &Template, ctx: &Ctx, copy: bool) -> Result<Attrs> {
    let kind = src.kind;
    let mut public = src.public().clone();
    for a in t.iter() {
        let rule = rule_for(kind, a)?;
        if src.get(a.ty) == Some(a.value.as_slice()) {
            continue;
        }
        if vendor::is_managed(src.public()) && vendor::MANAGED_STANDARD.contains(&a.ty) {
            return err(
                ErrorKind::AttributeReadOnly,
                format!(
                    "{} of a managed key follows its name, version and lifecycle state: change it with `pqhsm keys`",
                    attr_name(a.ty)
                ),
            );
        }
        let changeable = rule.has(f::MODIFIABLE) || (copy && rule.has(f::COPY_CHANGE));
        if !changeable {
            let how = if copy {
                "while copying"
            } else {
                "after creation"
            };
            return err(
                ErrorKind::AttributeReadOnly,
                format!("{} of a {} cannot change {how}", attr_name(a.ty), kind.name),
            );
        }
        if rule.val == ValType::Bool {
            check_one_way(&rule, src.flag(a.ty), public_flag(a))?;
        }
        public.set(a.clone());
        check_so_only(&rule, &public, ctx)?;
    }
    Ok(public)
}

fn public_flag(a: &Attr) -> bool {
    decode_bool(a.ty, &a.value).unwrap_or(false)
}

/// C_SetAttributeValue: the object's new public attributes.
pub fn set(obj: &Object, t: &Template, ctx: &Ctx) -> Result<Attrs> {
    if !obj.flag(ck::CKA_MODIFIABLE) {
        return err(
            ErrorKind::ActionProhibited,
            format!("this {} has CKA_MODIFIABLE=FALSE", obj.kind.name),
        );
    }
    apply_changes(obj, t, ctx, false)
}

/// C_CopyObject: the copy's public attributes (without CKA_UNIQUE_ID; the caller finishes
/// the draft with the source's secret part).
pub fn copy(src: &Object, t: &Template, ctx: &Ctx) -> Result<Draft> {
    if !src.flag(ck::CKA_COPYABLE) {
        return err(
            ErrorKind::ActionProhibited,
            format!("this {} has CKA_COPYABLE=FALSE", src.kind.name),
        );
    }
    let mut public = apply_changes(src, t, ctx, true)?;
    public.remove(ck::CKA_UNIQUE_ID);
    if src.kind.is_sensitive_kind() {
        let always = src.flag(ck::CKA_ALWAYS_SENSITIVE) && public.flag(ck::CKA_SENSITIVE);
        let never = src.flag(ck::CKA_NEVER_EXTRACTABLE) && !public.flag(ck::CKA_EXTRACTABLE);
        public.set(Attr::bool(ck::CKA_ALWAYS_SENSITIVE, always));
        public.set(Attr::bool(ck::CKA_NEVER_EXTRACTABLE, never));
    }
    Ok(Draft {
        kind: src.kind,
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::super::schema::kind;
    use super::*;

    const STRICT: Policy = Policy {
        allow_extractable: false,
        max_pin_failures: 10,
        min_pin_len: 4,
        max_pin_len: 255,
    };
    const LAX: Policy = Policy {
        allow_extractable: true,
        ..STRICT
    };

    fn ctx(p: &Policy) -> Ctx<'_> {
        Ctx {
            policy: p,
            so: false,
        }
    }

    fn t(attrs: Vec<Attr>) -> Template {
        Template::new(attrs).unwrap()
    }

    fn aes() -> &'static Kind {
        kind(ck::CKO_SECRET_KEY, Some(ck::CKK_AES)).unwrap()
    }

    #[test]
    fn data_object_gets_defaults_and_a_unique_id() {
        let k = kind(ck::CKO_DATA, None).unwrap();
        let d = check(
            k,
            Op::Create,
            &t(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA)]),
            &ctx(&STRICT),
        )
        .unwrap();
        assert!(!d.is_token() && !d.is_private());
        let o = d.into_object(Attrs::default());
        assert!(o.public.flag(ck::CKA_MODIFIABLE) && o.public.flag(ck::CKA_COPYABLE));
        assert_eq!(o.public.get(ck::CKA_VALUE), Some(&[][..]));
        assert_eq!(o.public.get(ck::CKA_UNIQUE_ID).unwrap().len(), 32);
    }

    #[test]
    fn required_computed_and_foreign_attributes() {
        let cert = kind(ck::CKO_CERTIFICATE, Some(ck::CKC_X_509)).unwrap();
        let base = vec![
            Attr::ulong(ck::CKA_CLASS, ck::CKO_CERTIFICATE),
            Attr::ulong(ck::CKA_CERTIFICATE_TYPE, ck::CKC_X_509),
        ];
        let e = check(cert, Op::Create, &t(base.clone()), &ctx(&STRICT)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TemplateIncomplete);
        let mut full = base.clone();
        full.push(Attr::new(ck::CKA_SUBJECT, b"s".to_vec()));
        full.push(Attr::new(ck::CKA_VALUE, b"der".to_vec()));
        check(cert, Op::Create, &t(full.clone()), &ctx(&STRICT)).unwrap();
        full.push(Attr::bool(ck::CKA_SIGN, true));
        assert_eq!(
            check(cert, Op::Create, &t(full), &ctx(&STRICT))
                .unwrap_err()
                .kind(),
            ErrorKind::AttributeTypeInvalid
        );
        let e = check(
            aes(),
            Op::Generate,
            &t(vec![Attr::bool(ck::CKA_LOCAL, true)]),
            &ctx(&STRICT),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AttributeReadOnly);
        let e = check(
            aes(),
            Op::Generate,
            &t(vec![Attr::new(ck::CKA_VALUE, vec![0; 16])]),
            &ctx(&STRICT),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TemplateInconsistent);
        let e = check(
            aes(),
            Op::Generate,
            &t(vec![Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_RSA)]),
            &ctx(&STRICT),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TemplateInconsistent);
        let e = check(
            aes(),
            Op::Generate,
            &t(vec![Attr::new(ck::CKA_START_DATE, b"2024".to_vec())]),
            &ctx(&STRICT),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AttributeValueInvalid);
    }

    #[test]
    fn keys_are_non_exportable_unless_policy_allows() {
        let d = check(aes(), Op::Generate, &t(vec![]), &ctx(&STRICT)).unwrap();
        assert!(
            d.public.flag(ck::CKA_SENSITIVE)
                && !d.public.flag(ck::CKA_EXTRACTABLE)
                && d.is_private()
        );
        for bad in [
            Attr::bool(ck::CKA_EXTRACTABLE, true),
            Attr::bool(ck::CKA_SENSITIVE, false),
        ] {
            let e = check(aes(), Op::Generate, &t(vec![bad.clone()]), &ctx(&STRICT)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AttributeValueInvalid);
            assert!(e.message().contains("allow_extractable"), "{}", e.message());
            check(aes(), Op::Generate, &t(vec![bad]), &ctx(&LAX)).unwrap();
        }
        let e = check(
            aes(),
            Op::Generate,
            &t(vec![Attr::bool(ck::CKA_TRUSTED, true)]),
            &ctx(&STRICT),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AttributeReadOnly);
        check(
            aes(),
            Op::Generate,
            &t(vec![Attr::bool(ck::CKA_TRUSTED, true)]),
            &Ctx {
                policy: &STRICT,
                so: true,
            },
        )
        .unwrap();
    }

    #[test]
    fn provenance_sets_history_attributes() {
        let gen = check(aes(), Op::Generate, &t(vec![]), &ctx(&LAX)).unwrap();
        let key = KeyAttrs {
            public: vec![Attr::ulong(ck::CKA_VALUE_LEN, 16)],
            secret: vec![Attr::new(ck::CKA_VALUE, vec![9; 16])],
        };
        let o = gen.finish_key(&t(vec![]), key, Provenance::generated(ck::CKM_AES_KEY_GEN));
        assert!(
            o.public.flag(ck::CKA_LOCAL)
                && o.public.flag(ck::CKA_ALWAYS_SENSITIVE)
                && o.public.flag(ck::CKA_NEVER_EXTRACTABLE)
        );
        assert_eq!(
            o.public.ulong(ck::CKA_KEY_GEN_MECHANISM),
            Some(ck::CKM_AES_KEY_GEN)
        );
        assert_eq!(o.secret.get(ck::CKA_VALUE).unwrap().len(), 16);
        assert!(!o.public.has(ck::CKA_VALUE));

        let ext = t(vec![Attr::bool(ck::CKA_EXTRACTABLE, true)]);
        let imp = check(aes(), Op::Create, &ext, &ctx(&LAX)).unwrap();
        // A secret part the mechanism put on the public side still ends up secret.
        let key = KeyAttrs {
            public: vec![Attr::new(ck::CKA_VALUE, vec![9; 16])],
            secret: vec![],
        };
        let o = imp.finish_key(&ext, key, Provenance::imported());
        assert!(
            !o.public.flag(ck::CKA_LOCAL)
                && !o.public.flag(ck::CKA_ALWAYS_SENSITIVE)
                && !o.public.flag(ck::CKA_NEVER_EXTRACTABLE)
        );
        assert_eq!(
            o.public.ulong(ck::CKA_KEY_GEN_MECHANISM),
            Some(ck::CK_UNAVAILABLE_INFORMATION)
        );
        assert!(o.secret.has(ck::CKA_VALUE) && !o.public.has(ck::CKA_VALUE));
    }

    fn session_key(extra: Vec<Attr>) -> Object {
        let d = check(aes(), Op::Generate, &t(extra), &ctx(&LAX)).unwrap();
        let key = KeyAttrs {
            public: vec![],
            secret: vec![Attr::new(ck::CKA_VALUE, vec![1; 16])],
        };
        let n = d.finish_key(&t(vec![]), key, Provenance::generated(ck::CKM_AES_KEY_GEN));
        Object::session(7, 1, n.kind, n.public, n.secret)
    }

    #[test]
    fn set_follows_one_way_rules() {
        let o = session_key(vec![
            Attr::bool(ck::CKA_SENSITIVE, false),
            Attr::bool(ck::CKA_EXTRACTABLE, true),
        ]);
        let c = ctx(&LAX);
        let p = set(
            &o,
            &t(vec![
                Attr::bool(ck::CKA_SENSITIVE, true),
                Attr::bool(ck::CKA_EXTRACTABLE, false),
            ]),
            &c,
        )
        .unwrap();
        let o2 = o.with_public(p);
        assert!(o2.flag(ck::CKA_SENSITIVE) && !o2.flag(ck::CKA_EXTRACTABLE));
        for back in [
            Attr::bool(ck::CKA_SENSITIVE, false),
            Attr::bool(ck::CKA_EXTRACTABLE, true),
        ] {
            assert_eq!(
                set(&o2, &t(vec![back]), &c).unwrap_err().kind(),
                ErrorKind::AttributeReadOnly
            );
        }
        // Same value again is not a change.
        set(&o2, &t(vec![Attr::bool(ck::CKA_SENSITIVE, true)]), &c).unwrap();
        assert_eq!(
            set(&o2, &t(vec![Attr::bool(ck::CKA_TOKEN, true)]), &c)
                .unwrap_err()
                .kind(),
            ErrorKind::AttributeReadOnly
        );
        assert_eq!(
            set(&o2, &t(vec![Attr::ulong(ck::CKA_VALUE_LEN, 32)]), &c)
                .unwrap_err()
                .kind(),
            ErrorKind::AttributeReadOnly
        );
        assert_eq!(
            set(&o2, &t(vec![Attr::bool(ck::CKA_MODULUS, true)]), &c)
                .unwrap_err()
                .kind(),
            ErrorKind::AttributeTypeInvalid
        );
        let label = set(&o2, &t(vec![Attr::new(ck::CKA_LABEL, b"n".to_vec())]), &c).unwrap();
        assert_eq!(label.get(ck::CKA_LABEL), Some(&b"n"[..]));
        let mut p = o2.public().clone();
        p.set(Attr::bool(ck::CKA_MODIFIABLE, false));
        let frozen = o2.with_public(p);
        let e = set(
            &frozen,
            &t(vec![Attr::new(ck::CKA_LABEL, b"m".to_vec())]),
            &c,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ActionProhibited);
    }

    #[test]
    fn copy_may_change_storage_attributes_and_keeps_history_honest() {
        let o = session_key(vec![Attr::bool(ck::CKA_SENSITIVE, false)]);
        assert!(!o.flag(ck::CKA_ALWAYS_SENSITIVE));
        let c = ctx(&LAX);
        let d = copy(
            &o,
            &t(vec![
                Attr::bool(ck::CKA_TOKEN, true),
                Attr::bool(ck::CKA_SENSITIVE, true),
            ]),
            &c,
        )
        .unwrap();
        assert!(d.is_token() && d.public.flag(ck::CKA_SENSITIVE));
        assert!(
            !d.public.flag(ck::CKA_ALWAYS_SENSITIVE),
            "a key that was readable is never 'always sensitive'"
        );
        assert!(!d.public.has(ck::CKA_UNIQUE_ID));
        let e = copy(&o, &t(vec![Attr::bool(ck::CKA_LOCAL, false)]), &c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AttributeReadOnly);
        let mut p = o.public().clone();
        p.set(Attr::bool(ck::CKA_COPYABLE, false));
        assert_eq!(
            copy(&o.with_public(p), &t(vec![]), &c).unwrap_err().kind(),
            ErrorKind::ActionProhibited
        );
    }
}
