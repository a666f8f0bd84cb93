//! CK_MECHANISM and the parameter structs behind it, parsed into the core's owned
//! `Mechanism`/`MechParam`, plus CK_GCM_MESSAGE_PARAMS for the message API with its
//! write-back. Which struct a mechanism takes is decided here and only here; whether its
//! values make sense (IV length, tag bits, hash choice) is the core's call.

use crate::marshal::{arguments_bad, len};
use cryptoki_sys as ck;
use pqhsm::mech::params::{GcmMessageParams, HkdfSalt, MechParam, Mechanism};
use pqhsm::{Error, ErrorKind, Result};
use std::ffi::c_void;
use std::mem::size_of;
use std::ptr;

fn param_invalid(what: String) -> Error {
    Error::new(ErrorKind::MechanismParamInvalid, what)
}

/// A parameter struct `T` at (p, n): the size must be exactly `size_of::<T>()`.
///
/// # Safety
/// When non-NULL, `p` must be valid for reads of `n` bytes.
unsafe fn param<T: Copy>(p: *const c_void, n: ck::CK_ULONG, name: &str) -> Result<T> {
    if len(n)? != size_of::<T>() {
        return Err(param_invalid(format!(
            "the mechanism parameter must be a {name} ({} bytes), got {n} bytes",
            size_of::<T>()
        )));
    }
    if p.is_null() {
        return Err(arguments_bad(
            "pParameter is NULL but ulParameterLen is not 0",
        ));
    }
    // SAFETY: non-NULL, valid for size_of::<T>() bytes per contract; any alignment.
    Ok(unsafe { ptr::read_unaligned(p as *const T) })
}

/// Bytes a parameter struct points to, copied. NULL only when empty.
///
/// # Safety
/// When non-NULL, `p` must be valid for reads of `n` bytes.
unsafe fn inner_bytes(p: *const u8, n: ck::CK_ULONG, field: &str) -> Result<Vec<u8>> {
    let n = len(n).map_err(|_| param_invalid(format!("{field}: length out of range")))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(param_invalid(format!(
            "{field} is NULL but its length is {n}"
        )));
    }
    // SAFETY: non-NULL, u8 alignment, bounded length, validity per contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) }.to_vec())
}

/// The client's mechanism, with its parameter parsed for the mechanism's type.
///
/// # Safety
/// When non-NULL, `p` must point to a CK_MECHANISM whose pParameter is valid for reads of
/// ulParameterLen bytes, and whose parameter struct's own pointers are valid for their lengths.
pub(crate) unsafe fn mechanism(p: *const ck::CK_MECHANISM) -> Result<Mechanism> {
    // SAFETY: forwarded contract.
    let m = unsafe { crate::marshal::read(p, "pMechanism is NULL")? };
    // SAFETY: forwarded contract for pParameter and the structs it points to.
    let param = unsafe { parse_param(m.mechanism, m.pParameter, m.ulParameterLen)? };
    Ok(Mechanism {
        ty: m.mechanism,
        param,
    })
}

/// The mechanism of C_MessageEncryptInit / C_MessageDecryptInit. Each message brings its
/// own parameters, but clients (the `cryptoki` crate among them) may also hand the
/// CK_GCM_MESSAGE_PARAMS template to the init call. It is the same size as CK_GCM_PARAMS, so it
/// must never be read as one; it is checked for size and otherwise left unread.
///
/// # Safety
/// As [`mechanism`].
pub(crate) unsafe fn message_mechanism(p: *const ck::CK_MECHANISM) -> Result<Mechanism> {
    // SAFETY: forwarded contract.
    let m = unsafe { crate::marshal::read(p, "pMechanism is NULL")? };
    if m.mechanism != ck::CKM_AES_GCM {
        // SAFETY: forwarded contract.
        return unsafe { mechanism(p) };
    }
    match len(m.ulParameterLen)? {
        0 => Ok(Mechanism::new(m.mechanism)),
        n if n == size_of::<ck::CK_GCM_MESSAGE_PARAMS>() => Ok(Mechanism::new(m.mechanism)),
        n => Err(param_invalid(format!(
            "C_Message*Init with CKM_AES_GCM takes no parameter (or a CK_GCM_MESSAGE_PARAMS), got {n} bytes"
        ))),
    }
}

/// # Safety
/// As [`mechanism`] for (p, n).
unsafe fn parse_param(
    ty: ck::CK_MECHANISM_TYPE,
    p: *const c_void,
    n: ck::CK_ULONG,
) -> Result<MechParam> {
    if n == 0 {
        // No parameter at all; the core decides whether the mechanism needs one.
        return Ok(MechParam::None);
    }
    if p.is_null() {
        return Err(arguments_bad(
            "pParameter is NULL but ulParameterLen is not 0",
        ));
    }
    // SAFETY (all arms): forwarded contract for (p, n) and the pointers inside.
    unsafe {
        match ty {
            ck::CKM_AES_GCM => gcm(p, n),
            ck::CKM_AES_CTR => {
                let c: ck::CK_AES_CTR_PARAMS = param(p, n, "CK_AES_CTR_PARAMS")?;
                Ok(MechParam::Ctr {
                    counter_bits: c.ulCounterBits as u64,
                    cb: c.cb,
                })
            }
            ck::CKM_RSA_PKCS_PSS
            | ck::CKM_SHA1_RSA_PKCS_PSS
            | ck::CKM_SHA224_RSA_PKCS_PSS
            | ck::CKM_SHA256_RSA_PKCS_PSS
            | ck::CKM_SHA384_RSA_PKCS_PSS
            | ck::CKM_SHA512_RSA_PKCS_PSS
            | ck::CKM_SHA3_224_RSA_PKCS_PSS
            | ck::CKM_SHA3_256_RSA_PKCS_PSS
            | ck::CKM_SHA3_384_RSA_PKCS_PSS
            | ck::CKM_SHA3_512_RSA_PKCS_PSS => {
                let s: ck::CK_RSA_PKCS_PSS_PARAMS = param(p, n, "CK_RSA_PKCS_PSS_PARAMS")?;
                Ok(MechParam::Pss {
                    hash: s.hashAlg,
                    mgf: s.mgf,
                    salt_len: s.sLen as u64,
                })
            }
            ck::CKM_RSA_PKCS_OAEP => oaep(p, n),
            ck::CKM_ECDH1_DERIVE | ck::CKM_ECDH1_COFACTOR_DERIVE => {
                let e: ck::CK_ECDH1_DERIVE_PARAMS = param(p, n, "CK_ECDH1_DERIVE_PARAMS")?;
                Ok(MechParam::Ecdh {
                    kdf: e.kdf,
                    shared_data: inner_bytes(e.pSharedData, e.ulSharedDataLen, "pSharedData")?,
                    public_data: inner_bytes(e.pPublicData, e.ulPublicDataLen, "pPublicData")?,
                })
            }
            ck::CKM_HKDF_DERIVE | ck::CKM_HKDF_DATA => hkdf(p, n),
            ck::CKM_SHA_1_HMAC_GENERAL
            | ck::CKM_SHA224_HMAC_GENERAL
            | ck::CKM_SHA256_HMAC_GENERAL
            | ck::CKM_SHA384_HMAC_GENERAL
            | ck::CKM_SHA512_HMAC_GENERAL
            | ck::CKM_SHA3_224_HMAC_GENERAL
            | ck::CKM_SHA3_256_HMAC_GENERAL
            | ck::CKM_SHA3_384_HMAC_GENERAL
            | ck::CKM_SHA3_512_HMAC_GENERAL
            | ck::CKM_AES_MAC_GENERAL
            | ck::CKM_AES_CMAC_GENERAL => {
                let l: ck::CK_MAC_GENERAL_PARAMS = param(p, n, "CK_MAC_GENERAL_PARAMS")?;
                Ok(MechParam::MacLen(l as u64))
            }
            ck::CKM_ML_DSA | ck::CKM_SLH_DSA => sign_context(p, n),
            ty if is_hash_then_sign(ty) => sign_context(p, n),
            ck::CKM_HASH_ML_DSA | ck::CKM_HASH_SLH_DSA => {
                let c: ck::CK_HASH_SIGN_ADDITIONAL_CONTEXT =
                    param(p, n, "CK_HASH_SIGN_ADDITIONAL_CONTEXT")?;
                Ok(MechParam::HashSignContext {
                    hedge: c.hedgeVariant,
                    context: inner_bytes(c.pContext, c.ulContextLen, "pContext")?,
                    hash: c.hash,
                })
            }
            ck::CKM_EDDSA => eddsa(p, n),
            // CBC IVs, key-wrap IVs and whatever else takes plain bytes.
            _ => Ok(MechParam::Bytes(inner_bytes(
                p as *const u8,
                n,
                "pParameter",
            )?)),
        }
    }
}

/// The HashML-DSA / HashSLH-DSA variants that hash the message themselves; they take a
/// CK_SIGN_ADDITIONAL_CONTEXT (the hash is implied by the mechanism).
fn is_hash_then_sign(ty: ck::CK_MECHANISM_TYPE) -> bool {
    (ck::CKM_HASH_ML_DSA_SHA224..=ck::CKM_HASH_ML_DSA_SHAKE256).contains(&ty)
        || (ck::CKM_HASH_SLH_DSA_SHA224..=ck::CKM_HASH_SLH_DSA_SHAKE256).contains(&ty)
}

/// # Safety
/// As [`parse_param`].
unsafe fn gcm(p: *const c_void, n: ck::CK_ULONG) -> Result<MechParam> {
    /// CK_GCM_PARAMS as PKCS#11 2.40 headers before the errata declared it (no ulIvBits);
    /// some clients still send this layout, and its size tells it apart.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct LegacyGcmParams {
        p_iv: *mut u8,
        ul_iv_len: ck::CK_ULONG,
        p_aad: *mut u8,
        ul_aad_len: ck::CK_ULONG,
        ul_tag_bits: ck::CK_ULONG,
    }
    // SAFETY: forwarded contract.
    let g: ck::CK_GCM_PARAMS = unsafe {
        if len(n)? == size_of::<LegacyGcmParams>() {
            let l: LegacyGcmParams = param(p, n, "CK_GCM_PARAMS")?;
            ck::CK_GCM_PARAMS {
                pIv: l.p_iv,
                ulIvLen: l.ul_iv_len,
                ulIvBits: 0,
                pAAD: l.p_aad,
                ulAADLen: l.ul_aad_len,
                ulTagBits: l.ul_tag_bits,
            }
        } else {
            param(p, n, "CK_GCM_PARAMS")?
        }
    };
    // ulIvBits is advisory (the spec says to use ulIvLen); when given it must agree.
    if g.ulIvBits != 0 && Some(g.ulIvBits) != g.ulIvLen.checked_mul(8) {
        return Err(param_invalid(format!(
            "CK_GCM_PARAMS: ulIvBits {} does not match ulIvLen {} bytes",
            g.ulIvBits, g.ulIvLen
        )));
    }
    // SAFETY: forwarded contract for the struct's pointers.
    let (iv, aad) = unsafe {
        (
            inner_bytes(g.pIv, g.ulIvLen, "CK_GCM_PARAMS.pIv")?,
            inner_bytes(g.pAAD, g.ulAADLen, "CK_GCM_PARAMS.pAAD")?,
        )
    };
    Ok(MechParam::Gcm {
        iv,
        aad,
        tag_bits: g.ulTagBits as u64,
    })
}

/// # Safety
/// As [`parse_param`].
unsafe fn oaep(p: *const c_void, n: ck::CK_ULONG) -> Result<MechParam> {
    // SAFETY: forwarded contract.
    let o: ck::CK_RSA_PKCS_OAEP_PARAMS = unsafe { param(p, n, "CK_RSA_PKCS_OAEP_PARAMS")? };
    let label = match o.source {
        // SAFETY: forwarded contract for pSourceData.
        ck::CKZ_DATA_SPECIFIED => unsafe {
            inner_bytes(o.pSourceData as *const u8, o.ulSourceDataLen, "pSourceData")?
        },
        // Some clients leave the source 0 when they have no label.
        0 if o.ulSourceDataLen == 0 => Vec::new(),
        other => {
            return Err(param_invalid(format!(
                "CK_RSA_PKCS_OAEP_PARAMS: source {other:#x} is not CKZ_DATA_SPECIFIED"
            )))
        }
    };
    Ok(MechParam::Oaep {
        hash: o.hashAlg,
        mgf: o.mgf,
        label,
    })
}

/// # Safety
/// As [`parse_param`].
unsafe fn hkdf(p: *const c_void, n: ck::CK_ULONG) -> Result<MechParam> {
    // SAFETY: forwarded contract.
    let h: ck::CK_HKDF_PARAMS = unsafe { param(p, n, "CK_HKDF_PARAMS")? };
    let salt = match h.ulSaltType {
        ck::CKF_HKDF_SALT_NULL => HkdfSalt::Null,
        // SAFETY: forwarded contract for pSalt.
        ck::CKF_HKDF_SALT_DATA => {
            HkdfSalt::Data(unsafe { inner_bytes(h.pSalt, h.ulSaltLen, "pSalt")? })
        }
        ck::CKF_HKDF_SALT_KEY => HkdfSalt::Key(h.hSaltKey),
        other => {
            return Err(param_invalid(format!(
                "CK_HKDF_PARAMS: ulSaltType {other:#x} is not a CKF_HKDF_SALT_* value"
            )))
        }
    };
    Ok(MechParam::Hkdf {
        extract: h.bExtract != ck::CK_FALSE,
        expand: h.bExpand != ck::CK_FALSE,
        prf: h.prfHashMechanism,
        salt,
        // SAFETY: forwarded contract for pInfo.
        info: unsafe { inner_bytes(h.pInfo, h.ulInfoLen, "pInfo")? },
    })
}

/// # Safety
/// As [`parse_param`].
unsafe fn sign_context(p: *const c_void, n: ck::CK_ULONG) -> Result<MechParam> {
    // SAFETY: forwarded contract.
    let c: ck::CK_SIGN_ADDITIONAL_CONTEXT = unsafe { param(p, n, "CK_SIGN_ADDITIONAL_CONTEXT")? };
    Ok(MechParam::SignContext {
        hedge: c.hedgeVariant,
        // SAFETY: forwarded contract for pContext.
        context: unsafe { inner_bytes(c.pContext, c.ulContextLen, "pContext")? },
    })
}

/// CKM_EDDSA takes an optional CK_EDDSA_PARAMS. Only plain Ed25519 is offered: the struct
/// is accepted when it asks for exactly that (no prehash, no context).
///
/// # Safety
/// As [`parse_param`].
unsafe fn eddsa(p: *const c_void, n: ck::CK_ULONG) -> Result<MechParam> {
    // SAFETY: forwarded contract.
    let e: ck::CK_EDDSA_PARAMS = unsafe { param(p, n, "CK_EDDSA_PARAMS")? };
    if e.phFlag != ck::CK_FALSE || e.ulContextDataLen != 0 {
        return Err(param_invalid(
            "CK_EDDSA_PARAMS: Ed25519ph and Ed25519ctx are not supported; use plain Ed25519 (no parameter)".into(),
        ));
    }
    Ok(MechParam::None)
}

/// Where the message API writes back: the caller's IV (generated bits) and tag buffers.
pub(crate) struct GcmMessageOut {
    iv: *mut u8,
    iv_len: usize,
    tag: *mut u8,
    tag_len: usize,
}

/// What a message call does with CK_GCM_MESSAGE_PARAMS.pTag.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// Not used by this call.
    Unused,
    /// Read: the tag to check (decryption of the last part).
    In,
    /// Written: the tag produced (encryption of the last part).
    Out,
}

/// CK_GCM_MESSAGE_PARAMS of one message call.
///
/// # Safety
/// When non-NULL, `p` must be valid for reads of `n` bytes; the struct's pIv must be valid
/// for reads and writes of ulIvLen bytes and pTag for ulTagBits/8 bytes while the call runs.
pub(crate) unsafe fn gcm_message(
    p: *mut c_void,
    n: ck::CK_ULONG,
    tag: Tag,
) -> Result<(GcmMessageParams, GcmMessageOut)> {
    // SAFETY: forwarded contract.
    let g: ck::CK_GCM_MESSAGE_PARAMS = unsafe { param(p, n, "CK_GCM_MESSAGE_PARAMS")? };
    let iv_len = len(g.ulIvLen)?;
    if iv_len > 0 && g.pIv.is_null() {
        return Err(arguments_bad("CK_GCM_MESSAGE_PARAMS.pIv is NULL"));
    }
    let tag_len = len(g.ulTagBits.div_ceil(8))?;
    if tag != Tag::Unused && g.pTag.is_null() {
        return Err(arguments_bad("CK_GCM_MESSAGE_PARAMS.pTag is NULL"));
    }
    // SAFETY: forwarded contract for pIv and pTag.
    let (iv, tag_in) = unsafe {
        (
            inner_bytes(g.pIv, g.ulIvLen, "pIv")?,
            if tag == Tag::In {
                inner_bytes(g.pTag, g.ulTagBits.div_ceil(8), "pTag")?
            } else {
                Vec::new()
            },
        )
    };
    let params = GcmMessageParams {
        iv,
        iv_fixed_bits: g.ulIvFixedBits as u64,
        iv_generator: g.ivGenerator,
        tag_bits: g.ulTagBits as u64,
        tag: tag_in,
    };
    Ok((
        params,
        GcmMessageOut {
            iv: g.pIv,
            iv_len,
            tag: g.pTag,
            tag_len,
        },
    ))
}

impl GcmMessageOut {
    /// Write the (possibly generated) IV and, when produced, the tag back to the caller.
    pub(crate) fn write_back(&self, p: &GcmMessageParams) -> Result<()> {
        if p.iv.len() != self.iv_len {
            return Err(Error::new(
                ErrorKind::General,
                "the IV changed length during the operation",
            ));
        }
        if !p.iv.is_empty() {
            // SAFETY: pIv is non-NULL (iv_len > 0 was checked in gcm_message) and valid for
            // iv_len bytes for the call.
            unsafe { ptr::copy_nonoverlapping(p.iv.as_ptr(), self.iv, self.iv_len) };
        }
        if !p.tag.is_empty() {
            if self.tag.is_null() || p.tag.len() > self.tag_len {
                return Err(Error::new(
                    ErrorKind::General,
                    "the tag produced does not fit CK_GCM_MESSAGE_PARAMS.pTag",
                ));
            }
            // SAFETY: pTag is non-NULL and valid for ulTagBits/8 >= tag.len() bytes.
            unsafe { ptr::copy_nonoverlapping(p.tag.as_ptr(), self.tag, p.tag.len()) };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T>(ty: ck::CK_MECHANISM_TYPE, param: &T) -> Result<Mechanism> {
        parse_raw(ty, param as *const T as *mut c_void, size_of::<T>())
    }

    fn parse_raw(ty: ck::CK_MECHANISM_TYPE, p: *mut c_void, n: usize) -> Result<Mechanism> {
        let m = ck::CK_MECHANISM {
            mechanism: ty,
            pParameter: p,
            ulParameterLen: n as ck::CK_ULONG,
        };
        // SAFETY: p is valid for n bytes in every caller, or refused before reading.
        unsafe { mechanism(&m) }
    }

    fn kind(r: Result<Mechanism>) -> ck::CK_RV {
        r.map(|_| ck::CKR_OK).unwrap_or_else(|e| e.ckr())
    }

    #[test]
    fn null_mechanism_and_no_parameter() {
        // SAFETY: NULL is refused before reading.
        assert_eq!(
            unsafe { mechanism(ptr::null()) }.unwrap_err().ckr(),
            ck::CKR_ARGUMENTS_BAD
        );
        let m = parse_raw(ck::CKM_ECDSA, ptr::null_mut(), 0).unwrap();
        assert_eq!(m, Mechanism::new(ck::CKM_ECDSA));
        assert_eq!(
            kind(parse_raw(ck::CKM_AES_CBC, ptr::null_mut(), 16)),
            ck::CKR_ARGUMENTS_BAD
        );
    }

    #[test]
    fn cbc_iv_is_bytes() {
        let iv = [7u8; 16];
        let m = parse(ck::CKM_AES_CBC_PAD, &iv).unwrap();
        assert_eq!(m.param, MechParam::Bytes(iv.to_vec()));
    }

    fn gcm_params(iv: &mut [u8], aad: &mut [u8], iv_bits: ck::CK_ULONG) -> ck::CK_GCM_PARAMS {
        ck::CK_GCM_PARAMS {
            pIv: iv.as_mut_ptr(),
            ulIvLen: iv.len() as ck::CK_ULONG,
            ulIvBits: iv_bits,
            pAAD: aad.as_mut_ptr(),
            ulAADLen: aad.len() as ck::CK_ULONG,
            ulTagBits: 128,
        }
    }

    #[test]
    fn gcm_params_parse_and_check() {
        let (mut iv, mut aad) = ([1u8; 12], *b"header");
        let expected = MechParam::Gcm {
            iv: iv.to_vec(),
            aad: aad.to_vec(),
            tag_bits: 128,
        };
        let g = gcm_params(&mut iv, &mut aad, 96);
        assert_eq!(parse(ck::CKM_AES_GCM, &g).unwrap().param, expected);
        let g = gcm_params(&mut iv, &mut aad, 0);
        assert_eq!(parse(ck::CKM_AES_GCM, &g).unwrap().param, expected);
        let g = gcm_params(&mut iv, &mut aad, 64);
        assert_eq!(
            kind(parse(ck::CKM_AES_GCM, &g)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
        // A NULL IV with a length is a bad parameter, not a crash.
        let mut g = gcm_params(&mut iv, &mut aad, 96);
        g.pIv = ptr::null_mut();
        assert_eq!(
            kind(parse(ck::CKM_AES_GCM, &g)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
        // Wrong size.
        let g = gcm_params(&mut iv, &mut aad, 96);
        let short = size_of::<ck::CK_GCM_PARAMS>() - 1;
        assert_eq!(
            kind(parse_raw(
                ck::CKM_AES_GCM,
                &g as *const _ as *mut c_void,
                short
            )),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
        // The pre-errata 2.40 layout (no ulIvBits).
        let legacy: [usize; 5] = [
            iv.as_mut_ptr() as usize,
            iv.len(),
            aad.as_mut_ptr() as usize,
            aad.len(),
            128,
        ];
        assert_eq!(parse(ck::CKM_AES_GCM, &legacy).unwrap().param, expected);
    }

    #[test]
    fn misaligned_parameter_struct() {
        let (mut iv, mut aad) = ([3u8; 12], [0u8; 0]);
        let g = gcm_params(&mut iv, &mut aad, 96);
        let n = size_of::<ck::CK_GCM_PARAMS>();
        let mut raw = vec![0u8; n + 1];
        // SAFETY: raw has n bytes after offset 1.
        unsafe {
            ptr::copy_nonoverlapping(&g as *const _ as *const u8, raw.as_mut_ptr().add(1), n)
        };
        // SAFETY: offset 1 is within raw.
        let p = unsafe { raw.as_mut_ptr().add(1) } as *mut c_void;
        let m = parse_raw(ck::CKM_AES_GCM, p, n).unwrap();
        assert_eq!(
            m.param,
            MechParam::Gcm {
                iv: iv.to_vec(),
                aad: vec![],
                tag_bits: 128
            }
        );
    }

    #[test]
    fn ctr_pss_and_mac_length() {
        let c = ck::CK_AES_CTR_PARAMS {
            ulCounterBits: 32,
            cb: [9; 16],
        };
        assert_eq!(
            parse(ck::CKM_AES_CTR, &c).unwrap().param,
            MechParam::Ctr {
                counter_bits: 32,
                cb: [9; 16]
            }
        );
        let s = ck::CK_RSA_PKCS_PSS_PARAMS {
            hashAlg: ck::CKM_SHA256,
            mgf: ck::CKG_MGF1_SHA256,
            sLen: 32,
        };
        assert_eq!(
            parse(ck::CKM_SHA256_RSA_PKCS_PSS, &s).unwrap().param,
            MechParam::Pss {
                hash: ck::CKM_SHA256,
                mgf: ck::CKG_MGF1_SHA256,
                salt_len: 32
            }
        );
        // A PSS parameter where a MAC length belongs.
        assert_eq!(
            kind(parse(ck::CKM_SHA256_HMAC_GENERAL, &s)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
        let l: ck::CK_MAC_GENERAL_PARAMS = 16;
        assert_eq!(
            parse(ck::CKM_SHA256_HMAC_GENERAL, &l).unwrap().param,
            MechParam::MacLen(16)
        );
        assert_eq!(
            parse(ck::CKM_AES_CMAC_GENERAL, &l).unwrap().param,
            MechParam::MacLen(16)
        );
    }

    #[test]
    fn oaep_label_sources() {
        let mut label = *b"label";
        let mut o = ck::CK_RSA_PKCS_OAEP_PARAMS {
            hashAlg: ck::CKM_SHA256,
            mgf: ck::CKG_MGF1_SHA256,
            source: ck::CKZ_DATA_SPECIFIED,
            pSourceData: label.as_mut_ptr() as *mut c_void,
            ulSourceDataLen: 5,
        };
        let want = |label: &[u8]| MechParam::Oaep {
            hash: ck::CKM_SHA256,
            mgf: ck::CKG_MGF1_SHA256,
            label: label.to_vec(),
        };
        assert_eq!(
            parse(ck::CKM_RSA_PKCS_OAEP, &o).unwrap().param,
            want(b"label")
        );
        o.source = 0;
        assert_eq!(
            kind(parse(ck::CKM_RSA_PKCS_OAEP, &o)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
        o.ulSourceDataLen = 0;
        o.pSourceData = ptr::null_mut();
        assert_eq!(parse(ck::CKM_RSA_PKCS_OAEP, &o).unwrap().param, want(b""));
    }

    #[test]
    fn ecdh_and_hkdf() {
        let mut point = [4u8; 65];
        let e = ck::CK_ECDH1_DERIVE_PARAMS {
            kdf: ck::CKD_NULL,
            ulSharedDataLen: 0,
            pSharedData: ptr::null_mut(),
            ulPublicDataLen: 65,
            pPublicData: point.as_mut_ptr(),
        };
        assert_eq!(
            parse(ck::CKM_ECDH1_DERIVE, &e).unwrap().param,
            MechParam::Ecdh {
                kdf: ck::CKD_NULL,
                shared_data: vec![],
                public_data: point.to_vec()
            }
        );
        let (mut salt, mut info) = (*b"salt", *b"info");
        let mut h = ck::CK_HKDF_PARAMS {
            bExtract: ck::CK_TRUE,
            bExpand: ck::CK_TRUE,
            prfHashMechanism: ck::CKM_SHA256,
            ulSaltType: ck::CKF_HKDF_SALT_DATA,
            pSalt: salt.as_mut_ptr(),
            ulSaltLen: 4,
            hSaltKey: 0,
            pInfo: info.as_mut_ptr(),
            ulInfoLen: 4,
        };
        let want = |salt| MechParam::Hkdf {
            extract: true,
            expand: true,
            prf: ck::CKM_SHA256,
            salt,
            info: b"info".to_vec(),
        };
        assert_eq!(
            parse(ck::CKM_HKDF_DERIVE, &h).unwrap().param,
            want(HkdfSalt::Data(b"salt".to_vec()))
        );
        h.ulSaltType = ck::CKF_HKDF_SALT_KEY;
        h.hSaltKey = 42;
        assert_eq!(
            parse(ck::CKM_HKDF_DERIVE, &h).unwrap().param,
            want(HkdfSalt::Key(42))
        );
        h.ulSaltType = ck::CKF_HKDF_SALT_NULL;
        assert_eq!(
            parse(ck::CKM_HKDF_DATA, &h).unwrap().param,
            want(HkdfSalt::Null)
        );
        h.ulSaltType = 8;
        assert_eq!(
            kind(parse(ck::CKM_HKDF_DERIVE, &h)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
    }

    #[test]
    fn pqc_sign_contexts() {
        let mut ctx = *b"ctx";
        let c = ck::CK_SIGN_ADDITIONAL_CONTEXT {
            hedgeVariant: ck::CKH_DETERMINISTIC_REQUIRED,
            pContext: ctx.as_mut_ptr(),
            ulContextLen: 3,
        };
        let want = MechParam::SignContext {
            hedge: ck::CKH_DETERMINISTIC_REQUIRED,
            context: b"ctx".to_vec(),
        };
        assert_eq!(parse(ck::CKM_ML_DSA, &c).unwrap().param, want);
        assert_eq!(parse(ck::CKM_SLH_DSA, &c).unwrap().param, want);
        assert_eq!(parse(ck::CKM_HASH_ML_DSA_SHA256, &c).unwrap().param, want);
        assert_eq!(
            parse(ck::CKM_HASH_SLH_DSA_SHAKE256, &c).unwrap().param,
            want
        );
        // The pre-hashed variant needs the struct that names the hash.
        assert_eq!(
            kind(parse(ck::CKM_HASH_ML_DSA, &c)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
        let h = ck::CK_HASH_SIGN_ADDITIONAL_CONTEXT {
            hedgeVariant: ck::CKH_HEDGE_PREFERRED,
            pContext: ctx.as_mut_ptr(),
            ulContextLen: 3,
            hash: ck::CKM_SHA512,
        };
        assert_eq!(
            parse(ck::CKM_HASH_ML_DSA, &h).unwrap().param,
            MechParam::HashSignContext {
                hedge: ck::CKH_HEDGE_PREFERRED,
                context: b"ctx".to_vec(),
                hash: ck::CKM_SHA512
            }
        );
        assert_eq!(
            kind(parse(ck::CKM_ML_DSA, &h)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
    }

    #[test]
    fn eddsa_plain_only() {
        let mut e = ck::CK_EDDSA_PARAMS {
            phFlag: ck::CK_FALSE,
            ulContextDataLen: 0,
            pContextData: ptr::null_mut(),
        };
        assert_eq!(parse(ck::CKM_EDDSA, &e).unwrap().param, MechParam::None);
        e.phFlag = ck::CK_TRUE;
        assert_eq!(
            kind(parse(ck::CKM_EDDSA, &e)),
            ck::CKR_MECHANISM_PARAM_INVALID
        );
    }

    #[test]
    fn message_init_never_reads_the_message_struct_as_gcm_params() {
        let (mut iv, mut tag) = ([0u8; 12], [0u8; 16]);
        // CKG_GENERATE with no fixed bits: read as CK_GCM_PARAMS, ivGenerator would become
        // pAAD (address 1) and pTag the AAD length.
        let mut g = message_params(&mut iv, &mut tag);
        g.ulIvFixedBits = 0;
        g.ivGenerator = ck::CKG_GENERATE;
        let m = ck::CK_MECHANISM {
            mechanism: ck::CKM_AES_GCM,
            pParameter: &mut g as *mut _ as *mut c_void,
            ulParameterLen: size_of::<ck::CK_GCM_MESSAGE_PARAMS>() as ck::CK_ULONG,
        };
        // SAFETY: m and g are valid; the struct is not dereferenced further.
        assert_eq!(
            unsafe { message_mechanism(&m) }.unwrap(),
            Mechanism::new(ck::CKM_AES_GCM)
        );
        let m = ck::CK_MECHANISM {
            ulParameterLen: 8,
            ..m
        };
        // SAFETY: as above.
        let e = unsafe { message_mechanism(&m) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_MECHANISM_PARAM_INVALID);
        let m = ck::CK_MECHANISM {
            mechanism: ck::CKM_AES_GCM,
            pParameter: ptr::null_mut(),
            ulParameterLen: 0,
        };
        // SAFETY: no parameter.
        assert_eq!(
            unsafe { message_mechanism(&m) }.unwrap(),
            Mechanism::new(ck::CKM_AES_GCM)
        );
    }

    fn message_params(iv: &mut [u8], tag: &mut [u8]) -> ck::CK_GCM_MESSAGE_PARAMS {
        ck::CK_GCM_MESSAGE_PARAMS {
            pIv: iv.as_mut_ptr(),
            ulIvLen: iv.len() as ck::CK_ULONG,
            ulIvFixedBits: 32,
            ivGenerator: ck::CKG_GENERATE_COUNTER,
            pTag: if tag.is_empty() {
                ptr::null_mut()
            } else {
                tag.as_mut_ptr()
            },
            ulTagBits: (tag.len() * 8) as ck::CK_ULONG,
        }
    }

    #[test]
    fn gcm_message_params_round_trip() {
        let (mut iv, mut tag) = ([0xaau8; 12], [0x55u8; 16]);
        let mut g = message_params(&mut iv, &mut tag);
        let n = size_of::<ck::CK_GCM_MESSAGE_PARAMS>() as ck::CK_ULONG;
        let gp = &mut g as *mut _ as *mut c_void;
        // SAFETY: g and the buffers it points to are valid.
        let (mut p, back) = unsafe { gcm_message(gp, n, Tag::In) }.unwrap();
        assert_eq!(
            (
                p.iv.as_slice(),
                p.iv_fixed_bits,
                p.iv_generator,
                p.tag_bits,
                p.tag.as_slice()
            ),
            (
                &[0xaa; 12][..],
                32,
                ck::CKG_GENERATE_COUNTER,
                128,
                &[0x55; 16][..]
            )
        );
        // The core generated the IV and produced a tag: both reach the caller's buffers.
        p.iv = vec![1; 12];
        p.tag = vec![2; 16];
        back.write_back(&p).unwrap();
        assert_eq!((iv, tag), ([1; 12], [2; 16]));
        // An IV of another length is never written past the caller's buffer.
        p.iv = vec![1; 13];
        assert_eq!(
            back.write_back(&p).unwrap_err().ckr(),
            ck::CKR_GENERAL_ERROR
        );
    }

    #[test]
    fn gcm_message_params_rules() {
        let (mut iv, mut no_tag) = ([0u8; 12], [0u8; 0]);
        let mut g = message_params(&mut iv, &mut no_tag);
        let n = size_of::<ck::CK_GCM_MESSAGE_PARAMS>() as ck::CK_ULONG;
        let gp = &mut g as *mut _ as *mut c_void;
        // SAFETY (all): g is valid; NULL pTag is refused where a tag is needed.
        unsafe {
            assert_eq!(
                gcm_message(gp, n, Tag::Out).err().unwrap().ckr(),
                ck::CKR_ARGUMENTS_BAD
            );
            assert_eq!(
                gcm_message(gp, n, Tag::In).err().unwrap().ckr(),
                ck::CKR_ARGUMENTS_BAD
            );
            assert!(gcm_message(gp, n, Tag::Unused).is_ok());
            assert_eq!(
                gcm_message(gp, n - 1, Tag::Unused).err().unwrap().ckr(),
                ck::CKR_MECHANISM_PARAM_INVALID
            );
            assert_eq!(
                gcm_message(ptr::null_mut(), n, Tag::Unused)
                    .err()
                    .unwrap()
                    .ckr(),
                ck::CKR_ARGUMENTS_BAD
            );
        }
    }
}
