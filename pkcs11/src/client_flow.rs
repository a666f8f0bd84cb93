//! A client's story through the raw C entry points and the real core: a token is made,
//! a user logs in, keys are generated and used, attributes are read, and the module is
//! finalised. It checks what only the C layer decides: lengths, pointer rules, return codes.

use crate::ceremony::TEST_STATE;
use crate::*;
use cryptoki_sys as ck;
use std::ffi::c_void;
use std::mem::size_of;
use std::ptr::{null_mut, read_unaligned};

const P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn attr<T>(ty: ck::CK_ATTRIBUTE_TYPE, v: &T) -> ck::CK_ATTRIBUTE {
    ck::CK_ATTRIBUTE {
        type_: ty,
        pValue: v as *const T as *mut c_void,
        ulValueLen: size_of::<T>() as ck::CK_ULONG,
    }
}

fn bytes_attr(ty: ck::CK_ATTRIBUTE_TYPE, v: &[u8]) -> ck::CK_ATTRIBUTE {
    ck::CK_ATTRIBUTE {
        type_: ty,
        pValue: v.as_ptr() as *mut c_void,
        ulValueLen: v.len() as ck::CK_ULONG,
    }
}

fn pin(p: &[u8]) -> (*mut u8, ck::CK_ULONG) {
    (p.as_ptr() as *mut u8, p.len() as ck::CK_ULONG)
}

/// Initialise the module on a fresh data directory with one user token; returns the slot
/// and a logged-in read/write session.
fn token_with_user() -> (ck::CK_SLOT_ID, ck::CK_SESSION_HANDLE) {
    let dir = std::env::temp_dir().join(format!(
        "pqhsm-abi-flow-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::env::set_var("PQHSM_DATA_DIR", &dir);
    assert_eq!(C_Initialize(null_mut()), ck::CKR_OK);

    // Only the free slot, which has no token yet.
    let mut n: ck::CK_ULONG = 0;
    assert_eq!(C_GetSlotList(ck::CK_FALSE, null_mut(), &mut n), ck::CKR_OK);
    assert_eq!(n, 1);
    let mut slots = [0 as ck::CK_SLOT_ID; 1];
    assert_eq!(
        C_GetSlotList(ck::CK_FALSE, slots.as_mut_ptr(), &mut n),
        ck::CKR_OK
    );
    let slot = slots[0];

    let mut label = [b' '; 32];
    label[..5].copy_from_slice(b"story");
    let (so, so_len) = pin(b"12345678");
    assert_eq!(
        C_InitToken(slot, so, so_len, label.as_mut_ptr()),
        ck::CKR_OK
    );
    assert_eq!(
        C_InitToken(slot, so, so_len, null_mut()),
        ck::CKR_ARGUMENTS_BAD
    );
    let mut info = std::mem::MaybeUninit::<ck::CK_TOKEN_INFO>::zeroed();
    assert_eq!(C_GetTokenInfo(slot, info.as_mut_ptr()), ck::CKR_OK);
    // SAFETY: filled by C_GetTokenInfo.
    let info = unsafe { info.assume_init() };
    assert_eq!(&info.label, &label, "label space-padded to 32 bytes");
    assert!(info.flags & ck::CKF_TOKEN_INITIALIZED != 0);

    let mut h: ck::CK_SESSION_HANDLE = 0;
    let flags = ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION;
    assert_eq!(
        C_OpenSession(slot, flags, null_mut(), None, &mut h),
        ck::CKR_OK
    );
    assert_eq!(
        C_OpenSession(slot, flags, null_mut(), None, null_mut()),
        ck::CKR_ARGUMENTS_BAD
    );
    assert_eq!(C_Login(h, ck::CKU_SO, so, so_len), ck::CKR_OK);
    let (user, user_len) = pin(b"1234");
    assert_eq!(C_InitPIN(h, user, user_len), ck::CKR_OK);
    assert_eq!(C_Logout(h), ck::CKR_OK);
    // A NULL PIN with a length would be a protected authentication path.
    assert_eq!(
        C_Login(h, ck::CKU_USER, null_mut(), 4),
        ck::CKR_ARGUMENTS_BAD
    );
    assert_eq!(C_Login(h, ck::CKU_USER, user, user_len), ck::CKR_OK);
    (slot, h)
}

fn ec_key_pair(h: ck::CK_SESSION_HANDLE) -> (ck::CK_OBJECT_HANDLE, ck::CK_OBJECT_HANDLE) {
    let yes = ck::CK_TRUE;
    let label = b"signer";
    let public = [
        bytes_attr(ck::CKA_EC_PARAMS, P256),
        attr(ck::CKA_VERIFY, &yes),
        bytes_attr(ck::CKA_LABEL, label),
    ];
    let private = [attr(ck::CKA_SIGN, &yes), bytes_attr(ck::CKA_LABEL, label)];
    let mut mech = ck::CK_MECHANISM {
        mechanism: ck::CKM_EC_KEY_PAIR_GEN,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    let (mut hpub, mut hpriv) = (0, 0);
    let rv = C_GenerateKeyPair(
        h,
        &mut mech,
        public.as_ptr() as *mut _,
        public.len() as ck::CK_ULONG,
        private.as_ptr() as *mut _,
        private.len() as ck::CK_ULONG,
        &mut hpub,
        &mut hpriv,
    );
    assert_eq!(rv, ck::CKR_OK);
    (hpub, hpriv)
}

#[test]
fn a_client_signs_reads_attributes_and_finalises() {
    let _g = TEST_STATE.lock().unwrap_or_else(|e| e.into_inner());
    let (_slot, h) = token_with_user();
    let (hpub, hpriv) = ec_key_pair(h);
    let mut mech = ck::CK_MECHANISM {
        mechanism: ck::CKM_ECDSA_SHA256,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    let data = b"message".as_ptr() as *mut u8;

    // Sign: length query, too small (the operation stays active), then the signature.
    assert_eq!(C_SignInit(h, &mut mech, hpriv), ck::CKR_OK);
    let mut len: ck::CK_ULONG = 0;
    assert_eq!(C_Sign(h, data, 7, null_mut(), &mut len), ck::CKR_OK);
    assert_eq!(len, 64);
    let mut sig = [0u8; 64];
    len = 10;
    assert_eq!(
        C_Sign(h, data, 7, sig.as_mut_ptr(), &mut len),
        ck::CKR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, 64);
    assert_eq!(
        C_Sign(h, data, 7, sig.as_mut_ptr(), null_mut()),
        ck::CKR_ARGUMENTS_BAD
    );
    len = 64;
    assert_eq!(C_Sign(h, data, 7, sig.as_mut_ptr(), &mut len), ck::CKR_OK);

    assert_eq!(C_VerifyInit(h, &mut mech, hpub), ck::CKR_OK);
    assert_eq!(C_Verify(h, data, 7, sig.as_mut_ptr(), 64), ck::CKR_OK);
    sig[5] ^= 1;
    assert_eq!(C_VerifyInit(h, &mut mech, hpub), ck::CKR_OK);
    assert_eq!(
        C_Verify(h, data, 7, sig.as_mut_ptr(), 64),
        ck::CKR_SIGNATURE_INVALID
    );
    assert_eq!(C_SignInit(h, null_mut(), hpriv), ck::CKR_ARGUMENTS_BAD);

    // Attributes: a CK_ULONG into a misaligned buffer, a sensitive value, a length query.
    let mut raw = [0u8; 1 + size_of::<ck::CK_ULONG>()];
    let mut tpl = [
        ck::CK_ATTRIBUTE {
            type_: ck::CKA_CLASS,
            pValue: raw[1..].as_mut_ptr() as *mut c_void,
            ulValueLen: size_of::<ck::CK_ULONG>() as ck::CK_ULONG,
        },
        ck::CK_ATTRIBUTE {
            type_: ck::CKA_VALUE,
            pValue: null_mut(),
            ulValueLen: 0,
        },
        ck::CK_ATTRIBUTE {
            type_: ck::CKA_LABEL,
            pValue: null_mut(),
            ulValueLen: 0,
        },
    ];
    let rv = C_GetAttributeValue(h, hpriv, tpl.as_mut_ptr(), 3);
    assert_eq!(rv, ck::CKR_ATTRIBUTE_SENSITIVE);
    // SAFETY: raw[1..] holds the CK_ULONG just written, at any alignment.
    let class = unsafe { read_unaligned(raw[1..].as_ptr() as *const ck::CK_ULONG) };
    assert_eq!(class, ck::CKO_PRIVATE_KEY);
    assert_eq!(tpl[1].ulValueLen, ck::CK_UNAVAILABLE_INFORMATION);
    assert_eq!(tpl[2].ulValueLen, 6);

    let mut small = [0u8; 4];
    let mut tpl = [ck::CK_ATTRIBUTE {
        type_: ck::CKA_EC_POINT,
        pValue: small.as_mut_ptr() as *mut c_void,
        ulValueLen: 4,
    }];
    assert_eq!(
        C_GetAttributeValue(h, hpub, tpl.as_mut_ptr(), 1),
        ck::CKR_BUFFER_TOO_SMALL
    );
    assert_eq!(tpl[0].ulValueLen, ck::CK_UNAVAILABLE_INFORMATION);

    // Search.
    let class = ck::CKO_PRIVATE_KEY;
    let find = [attr(ck::CKA_CLASS, &class)];
    assert_eq!(C_FindObjectsInit(h, find.as_ptr() as *mut _, 1), ck::CKR_OK);
    let (mut found, mut count) = ([0 as ck::CK_OBJECT_HANDLE; 4], 0);
    assert_eq!(
        C_FindObjects(h, found.as_mut_ptr(), 4, &mut count),
        ck::CKR_OK
    );
    assert_eq!((count, found[0]), (1, hpriv));
    assert_eq!(C_FindObjectsFinal(h), ck::CKR_OK);

    // Digest of "abc" (FIPS 180-2 example).
    let mut sha = ck::CK_MECHANISM {
        mechanism: ck::CKM_SHA256,
        pParameter: null_mut(),
        ulParameterLen: 0,
    };
    assert_eq!(C_DigestInit(h, &mut sha), ck::CKR_OK);
    let (mut digest, mut dlen) = ([0u8; 32], 32);
    assert_eq!(
        C_Digest(
            h,
            b"abc".as_ptr() as *mut u8,
            3,
            digest.as_mut_ptr(),
            &mut dlen
        ),
        ck::CKR_OK
    );
    assert_eq!(&digest[..4], &[0xba, 0x78, 0x16, 0xbf]);

    // 3.2 and declined functions on a valid session.
    let mut flags: ck::CK_FLAGS = 99;
    assert_eq!(
        C_GetSessionValidationFlags(h, ck::CKS_LAST_VALIDATION_OK, &mut flags),
        ck::CKR_OK
    );
    assert_eq!(flags, 0);
    assert_eq!(
        C_GetSessionValidationFlags(h + 1000, ck::CKS_LAST_VALIDATION_OK, &mut flags),
        ck::CKR_SESSION_HANDLE_INVALID
    );
    assert_eq!(
        C_SignRecoverInit(h, &mut mech, hpriv),
        ck::CKR_FUNCTION_NOT_SUPPORTED
    );
    assert_eq!(C_GetFunctionStatus(h), ck::CKR_FUNCTION_NOT_PARALLEL);
    assert_eq!(
        C_WaitForSlotEvent(ck::CKF_DONT_BLOCK, null_mut(), null_mut()),
        ck::CKR_NO_EVENT
    );
    assert_eq!(
        C_WaitForSlotEvent(0, null_mut(), null_mut()),
        ck::CKR_FUNCTION_NOT_SUPPORTED
    );
    let mut random = [0u8; 32];
    assert_eq!(C_GenerateRandom(h, random.as_mut_ptr(), 32), ck::CKR_OK);
    assert_ne!(random, [0u8; 32]);
    assert_eq!(C_GenerateRandom(h, null_mut(), 32), ck::CKR_ARGUMENTS_BAD);

    assert_eq!(C_Finalize(null_mut()), ck::CKR_OK);
    assert_eq!(
        C_SignInit(h, &mut mech, hpriv),
        ck::CKR_CRYPTOKI_NOT_INITIALIZED
    );
}
