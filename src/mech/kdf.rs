//! HKDF (CKM_HKDF_DERIVE: extract, expand or both, salt none/data/key) and CKK_HKDF key
//! generation. Returns raw derived bytes; the session layer turns them into a key object.

use super::family::Family;
use super::hmac::generate_secret;
use super::params::{HkdfSalt, MechParam, Mechanism};
use super::{KeyAttrs, KeyMaterial};
use crate::attr::Template;
use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use zeroize::Zeroizing;

#[derive(Debug)]
pub struct Kdf;

/// Secret key types HKDF accepts as input keying material or salt key.
const HKDF_KEYS: &[ck::CK_KEY_TYPE] = &[ck::CKK_GENERIC_SECRET, ck::CKK_HKDF];

fn hkdf_with<H>(
    extract: bool,
    expand: bool,
    salt: Option<&[u8]>,
    ikm: &[u8],
    info: &[u8],
    out_len: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>>
where
    H: hmac::EagerHash + Clone,
    hkdf::Hkdf<H>: Clone,
{
    let hash_len = <H as digest::OutputSizeUser>::output_size();
    let (prk, hk) = if extract {
        let (prk, hk) = hkdf::Hkdf::<H>::extract(salt, ikm);
        (Zeroizing::new(prk.to_vec()), hk)
    } else {
        let hk = hkdf::Hkdf::<H>::from_prk(ikm).map_err(|_| {
            Error::new(
                ErrorKind::KeySizeRange,
                format!("HKDF expand needs a pseudorandom key of at least {hash_len} bytes"),
            )
        })?;
        (Zeroizing::new(Vec::new()), hk)
    };
    if !expand {
        return match out_len {
            None => Ok(prk),
            Some(n) if n == hash_len => Ok(prk),
            Some(n) => err(
                ErrorKind::TemplateInconsistent,
                format!("HKDF extract yields {hash_len} bytes; the template asks for {n}"),
            ),
        };
    }
    let Some(len) = out_len else {
        return err(
            ErrorKind::TemplateIncomplete,
            "HKDF expand needs CKA_VALUE_LEN for the derived key",
        );
    };
    let mut okm = Zeroizing::new(vec![0u8; len]);
    hk.expand(info, &mut okm).map_err(|_| {
        Error::new(
            ErrorKind::TemplateInconsistent,
            format!("HKDF can derive at most {} bytes", 255 * hash_len),
        )
    })?;
    Ok(okm)
}

fn hkdf_derive(
    m: &Mechanism,
    base: &KeyMaterial,
    salt_key: Option<&KeyMaterial>,
    out_len: Option<usize>,
) -> Result<Zeroizing<Vec<u8>>> {
    let MechParam::Hkdf {
        extract,
        expand,
        prf,
        salt,
        info,
    } = &m.param
    else {
        return err(
            ErrorKind::MechanismParamInvalid,
            "CKM_HKDF_DERIVE needs CK_HKDF_PARAMS",
        );
    };
    if !extract && !expand {
        return err(
            ErrorKind::MechanismParamInvalid,
            "CK_HKDF_PARAMS must ask for extract, expand or both",
        );
    }
    let ikm = base.secret(HKDF_KEYS)?;
    let salt: Option<&[u8]> = match (salt, *extract) {
        (_, false) | (HkdfSalt::Null, true) => None,
        (HkdfSalt::Data(d), true) => Some(d),
        (HkdfSalt::Key(_), true) => match salt_key {
            Some(k) => Some(k.secret(HKDF_KEYS)?),
            None => {
                return err(
                    ErrorKind::MechanismParamInvalid,
                    "the HKDF salt key was not given",
                )
            }
        },
    };
    match *prf {
        ck::CKM_SHA256 => hkdf_with::<sha2::Sha256>(*extract, *expand, salt, ikm, info, out_len),
        ck::CKM_SHA384 => hkdf_with::<sha2::Sha384>(*extract, *expand, salt, ikm, info, out_len),
        ck::CKM_SHA512 => hkdf_with::<sha2::Sha512>(*extract, *expand, salt, ikm, info, out_len),
        other => err(
            ErrorKind::MechanismParamInvalid,
            format!("HKDF supports SHA-256/384/512, not mechanism {other:#x}"),
        ),
    }
}

impl Family for Kdf {
    fn derive(
        &self,
        m: &Mechanism,
        base: &KeyMaterial,
        salt_key: Option<&KeyMaterial>,
        out_len: Option<usize>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        hkdf_derive(m, base, salt_key, out_len)
    }

    fn generate_key(&self, m: &Mechanism, t: &Template) -> Result<(ck::CK_KEY_TYPE, KeyAttrs)> {
        generate_secret(m, t, ck::CKK_HKDF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::derive;
    use crate::mech::wycheproof_tests::run;

    fn key(v: &[u8]) -> KeyMaterial {
        crate::mech::test_support::secret(ck::CKK_GENERIC_SECRET, v)
    }

    fn hkdf(
        extract: bool,
        expand: bool,
        prf: ck::CK_MECHANISM_TYPE,
        salt: HkdfSalt,
        info: &[u8],
    ) -> Mechanism {
        Mechanism {
            ty: ck::CKM_HKDF_DERIVE,
            param: MechParam::Hkdf {
                extract,
                expand,
                prf,
                salt,
                info: info.to_vec(),
            },
        }
    }

    #[test]
    fn extract_then_expand_equals_both_and_salt_key_equals_salt_data() {
        let ikm = key(&[0x0b; 22]);
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let both = derive(
            &hkdf(
                true,
                true,
                ck::CKM_SHA256,
                HkdfSalt::Data(salt.clone()),
                &info,
            ),
            &ikm,
            None,
            Some(42),
        )
        .unwrap();
        assert_eq!(
            hex::encode(&*both),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        let prk = derive(
            &hkdf(
                true,
                false,
                ck::CKM_SHA256,
                HkdfSalt::Data(salt.clone()),
                b"",
            ),
            &ikm,
            None,
            None,
        )
        .unwrap();
        assert_eq!(prk.len(), 32);
        let okm = derive(
            &hkdf(false, true, ck::CKM_SHA256, HkdfSalt::Null, &info),
            &key(&prk),
            None,
            Some(42),
        )
        .unwrap();
        assert_eq!(okm, both);
        let by_key = derive(
            &hkdf(true, true, ck::CKM_SHA256, HkdfSalt::Key(7), &info),
            &ikm,
            Some(&key(&salt)),
            Some(42),
        )
        .unwrap();
        assert_eq!(by_key, both);
    }

    #[test]
    fn bad_parameters_are_refused() {
        let ikm = key(&[1; 32]);
        let refused = [
            hkdf(false, false, ck::CKM_SHA256, HkdfSalt::Null, b""),
            hkdf(true, true, ck::CKM_SHA_1, HkdfSalt::Null, b""),
            // CKF_HKDF_SALT_KEY without the resolved salt key.
            hkdf(true, true, ck::CKM_SHA256, HkdfSalt::Key(3), b""),
        ];
        for m in &refused {
            let e = derive(m, &ikm, None, Some(32)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MechanismParamInvalid, "{m:?}");
        }
        let m = hkdf(true, true, ck::CKM_SHA256, HkdfSalt::Null, b"");
        let aes = crate::mech::test_support::secret(ck::CKK_AES, &[0; 16]);
        assert_eq!(
            derive(&m, &aes, None, Some(32)).unwrap_err().kind(),
            ErrorKind::KeyTypeInconsistent
        );
        assert_eq!(
            derive(&m, &ikm, None, Some(255 * 32 + 1))
                .unwrap_err()
                .kind(),
            ErrorKind::TemplateInconsistent
        );
        assert_eq!(
            derive(&m, &ikm, None, None).unwrap_err().kind(),
            ErrorKind::TemplateIncomplete
        );
    }

    fn wycheproof_hkdf(file: &str, prf: ck::CK_MECHANISM_TYPE) {
        let t = run(file, |c| {
            let m = hkdf(
                true,
                true,
                prf,
                HkdfSalt::Data(c.hex("salt")),
                &c.hex("info"),
            );
            let out = derive(&m, &key(&c.hex("ikm")), None, Some(c.num("size") as usize));
            out.is_ok_and(|okm| *okm == c.hex("okm"))
        });
        assert!(t.invalid > 0);
    }

    #[test]
    fn wycheproof_hkdf_sha256() {
        wycheproof_hkdf("hkdf_sha256_test.json", ck::CKM_SHA256);
    }

    #[test]
    fn wycheproof_hkdf_sha384() {
        wycheproof_hkdf("hkdf_sha384_test.json", ck::CKM_SHA384);
    }

    #[test]
    fn wycheproof_hkdf_sha512() {
        wycheproof_hkdf("hkdf_sha512_test.json", ck::CKM_SHA512);
    }
}
