//! HMAC-SHA-2 (CKM_SHA*_HMAC and *_HMAC_GENERAL) and generic secret key generation.
//! Verification compares in constant time and never reveals how much of a MAC matched.

use super::family::Family;
use super::keys::secret_attrs;
use super::ops::{MacSign, MacVerify};
use super::params::{MechParam, MechType, Mechanism};
use super::{KeyAttrs, KeyMaterial, SignOp, VerifyOp};
use crate::attr::Template;
use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;
use zeroize::Zeroizing;

#[derive(Debug)]
pub struct Hmac;

/// Full MAC length of an HMAC mechanism and the key types it takes.
fn shape(ty: MechType) -> Option<(usize, ck::CK_KEY_TYPE, bool)> {
    Some(match ty {
        ck::CKM_SHA256_HMAC => (32, ck::CKK_SHA256_HMAC, false),
        ck::CKM_SHA256_HMAC_GENERAL => (32, ck::CKK_SHA256_HMAC, true),
        ck::CKM_SHA384_HMAC => (48, ck::CKK_SHA384_HMAC, false),
        ck::CKM_SHA384_HMAC_GENERAL => (48, ck::CKK_SHA384_HMAC, true),
        ck::CKM_SHA512_HMAC => (64, ck::CKK_SHA512_HMAC, false),
        ck::CKM_SHA512_HMAC_GENERAL => (64, ck::CKK_SHA512_HMAC, true),
        _ => return None,
    })
}

/// The MAC length a mechanism asks for: the full length, or CK_MAC_GENERAL_PARAMS for
/// *_GENERAL mechanisms (1..=full).
pub(crate) fn mac_len(m: &Mechanism, full: usize, general: bool) -> Result<usize> {
    match (&m.param, general) {
        (MechParam::None, false) => Ok(full),
        (MechParam::MacLen(n), true) if (1..=full as u64).contains(n) => Ok(*n as usize),
        (MechParam::MacLen(n), true) => err(
            ErrorKind::MechanismParamInvalid,
            format!("the MAC length must be between 1 and {full} bytes, got {n}"),
        ),
        (_, true) => err(
            ErrorKind::MechanismParamInvalid,
            "this mechanism needs CK_MAC_GENERAL_PARAMS",
        ),
        (_, false) => err(
            ErrorKind::MechanismParamInvalid,
            "this mechanism takes no parameter",
        ),
    }
}

fn mac_op(m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
    let Some((full, typed, general)) = shape(m.ty) else {
        return super::family::unsupported(m, "compute a MAC");
    };
    let len = mac_len(m, full, general)?;
    let (k, keyed) = key.secret_keyed(&[ck::CKK_GENERIC_SECRET, typed])?;
    // The keyed state is made once per login; each MAC starts from a copy of it.
    Ok(match full {
        32 => Box::new(MacSign::new(keyed.hmac_sha256(k)?.clone(), len)),
        48 => Box::new(MacSign::new(keyed.hmac_sha384(k)?.clone(), len)),
        _ => Box::new(MacSign::new(keyed.hmac_sha512(k)?.clone(), len)),
    })
}

/// C_GenerateKey of a secret key of `key_type`: CKA_VALUE_LEN from the template, within
/// the mechanism's table range and the key type's allowed lengths, filled from the CSPRNG.
pub(crate) fn generate_secret(
    m: &Mechanism,
    t: &Template,
    key_type: ck::CK_KEY_TYPE,
) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
    if m.param != MechParam::None {
        return err(
            ErrorKind::MechanismParamInvalid,
            "key generation takes no parameter",
        );
    }
    let Some(len) = t.get_ulong(ck::CKA_VALUE_LEN)? else {
        return err(
            ErrorKind::TemplateIncomplete,
            "generating this key needs CKA_VALUE_LEN (in bytes)",
        );
    };
    let (min, max) =
        super::table::lookup(m.ty).map_or((0, 0), |s| (s.min_key_size, s.max_key_size));
    if len < min as ck::CK_ULONG || len > max as ck::CK_ULONG {
        return err(
            ErrorKind::KeySizeRange,
            format!("CKA_VALUE_LEN must be between {min} and {max} bytes, got {len}"),
        );
    }
    super::keys::check_secret_len(key_type, len as usize)?;
    let mut v = Zeroizing::new(vec![0u8; len as usize]);
    crate::rng::fill_bytes(&mut v);
    Ok((key_type, secret_attrs(v)))
}

impl Family for Hmac {
    fn sign_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn SignOp>> {
        mac_op(m, key)
    }

    fn verify_init(&self, m: &Mechanism, key: &KeyMaterial) -> Result<Box<dyn VerifyOp>> {
        Ok(Box::new(MacVerify(mac_op(m, key)?)))
    }

    fn generate_key(&self, m: &Mechanism, t: &Template) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
        generate_secret(m, t, ck::CKK_GENERIC_SECRET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attr;
    use crate::mech::{generate_key, keys, sign_init, verify_init};

    fn key(v: &[u8]) -> KeyMaterial {
        crate::mech::test_support::secret(ck::CKK_GENERIC_SECRET, v)
    }

    #[test]
    fn rfc4231_case_2() {
        let k = key(b"Jefe");
        let mut op = sign_init(&Mechanism::new(ck::CKM_SHA256_HMAC), &k).unwrap();
        assert_eq!(op.sig_len(), 32);
        op.update(b"what do ya want ").unwrap();
        op.update(b"for nothing?").unwrap();
        let mac = op.finish().unwrap();
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(hex::encode(&mac), expected);
    }

    #[test]
    fn general_truncates_and_verify_checks_length_and_value() {
        let k = key(&[7u8; 40]);
        let m = Mechanism {
            ty: ck::CKM_SHA512_HMAC_GENERAL,
            param: MechParam::MacLen(20),
        };
        let mut s = sign_init(&m, &k).unwrap();
        s.update(b"data").unwrap();
        let mac = s.finish().unwrap();
        assert_eq!(mac.len(), 20);
        let mut v = verify_init(&m, &k).unwrap();
        v.update(b"data").unwrap();
        v.finish(&mac).unwrap();
        let mut v = verify_init(&m, &k).unwrap();
        v.update(b"data").unwrap();
        assert_eq!(
            v.finish(&mac[..19]).unwrap_err().kind(),
            ErrorKind::SignatureLenRange
        );
        let mut bad = mac.clone();
        bad[0] ^= 1;
        let mut v = verify_init(&m, &k).unwrap();
        v.update(b"data").unwrap();
        assert_eq!(
            v.finish(&bad).unwrap_err().kind(),
            ErrorKind::SignatureInvalid
        );
        let m = Mechanism {
            ty: ck::CKM_SHA512_HMAC_GENERAL,
            param: MechParam::MacLen(65),
        };
        assert_eq!(
            sign_init(&m, &k).err().unwrap().kind(),
            ErrorKind::MechanismParamInvalid
        );
    }

    #[test]
    fn typed_hmac_keys_only_fit_their_hash() {
        let k = KeyMaterial::secret_key(ck::CKK_SHA384_HMAC, &[1; 48]);
        assert!(sign_init(&Mechanism::new(ck::CKM_SHA384_HMAC), &k).is_ok());
        let e = sign_init(&Mechanism::new(ck::CKM_SHA256_HMAC), &k)
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::KeyTypeInconsistent);
    }

    #[test]
    fn generated_secret_loads_and_macs() {
        let t = Template::new(vec![Attr::ulong(ck::CKA_VALUE_LEN, 32)]).unwrap();
        let (kt, attrs) =
            generate_key(&Mechanism::new(ck::CKM_GENERIC_SECRET_KEY_GEN), &t).unwrap();
        assert_eq!(kt, ck::CKK_GENERIC_SECRET);
        let all = Template::new(attrs.public.into_iter().chain(attrs.secret).collect()).unwrap();
        let k = keys::load(ck::CKO_SECRET_KEY, kt, &all).unwrap();
        assert_eq!(k.size(), 32);
        let t = Template::new(vec![Attr::ulong(ck::CKA_VALUE_LEN, 0)]).unwrap();
        let e = generate_key(&Mechanism::new(ck::CKM_GENERIC_SECRET_KEY_GEN), &t)
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::KeySizeRange);
    }

    fn wycheproof_hmac(file: &str, general: ck::CK_MECHANISM_TYPE) {
        let t = crate::mech::wycheproof_tests::run(file, |c| {
            let k = key(&c.hex("key"));
            let m = Mechanism {
                ty: general,
                param: MechParam::MacLen(c.num("tagSize") / 8),
            };
            let (msg, tag) = (c.hex("msg"), c.hex("tag"));
            let verified = verify_init(&m, &k).and_then(|mut v| {
                v.update(&msg)?;
                v.finish(&tag)
            });
            if c.result() == "valid" {
                let mut s = sign_init(&m, &k).unwrap();
                s.update(&msg).unwrap();
                assert_eq!(s.finish().unwrap(), tag, "tcId {}", c.id());
            }
            verified.is_ok()
        });
        assert!(t.invalid > 0);
    }

    #[test]
    fn wycheproof_hmac_sha256() {
        wycheproof_hmac("hmac_sha256_test.json", ck::CKM_SHA256_HMAC_GENERAL);
    }

    #[test]
    fn wycheproof_hmac_sha384() {
        wycheproof_hmac("hmac_sha384_test.json", ck::CKM_SHA384_HMAC_GENERAL);
    }

    #[test]
    fn wycheproof_hmac_sha512() {
        wycheproof_hmac("hmac_sha512_test.json", ck::CKM_SHA512_HMAC_GENERAL);
    }
}
