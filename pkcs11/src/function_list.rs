//! The three function lists this module offers (PKCS#11 2.40, 3.0 and 3.2) and the
//! interfaces naming them. Each list is written once as "the previous version plus its
//! new functions", and the compiler checks that every slot of every struct is filled.

use crate::asynchronous::*;
use crate::digest::*;
use crate::dual::*;
use crate::encryption::*;
use crate::general::*;
use crate::key_management::*;
use crate::message::*;
use crate::object::*;
use crate::random::*;
use crate::session::*;
use crate::sign_verify::*;
use crate::slot_token::*;
use cryptoki_sys as ck;
use std::ffi::c_void;

macro_rules! list {
    ($ty:ident { $major:literal . $minor:literal } $($f:ident)*) => {
        ck::$ty {
            version: ck::CK_VERSION { major: $major, minor: $minor },
            $($f: Some($f),)*
        }
    };
}

macro_rules! v2_40 {
    ($($head:tt)*) => {
        list!($($head)*
            C_Initialize C_Finalize C_GetInfo C_GetFunctionList C_GetSlotList C_GetSlotInfo
            C_GetTokenInfo C_GetMechanismList C_GetMechanismInfo C_InitToken C_InitPIN C_SetPIN
            C_OpenSession C_CloseSession C_CloseAllSessions C_GetSessionInfo
            C_GetOperationState C_SetOperationState C_Login C_Logout C_CreateObject
            C_CopyObject C_DestroyObject C_GetObjectSize C_GetAttributeValue
            C_SetAttributeValue C_FindObjectsInit C_FindObjects C_FindObjectsFinal
            C_EncryptInit C_Encrypt C_EncryptUpdate C_EncryptFinal C_DecryptInit C_Decrypt
            C_DecryptUpdate C_DecryptFinal C_DigestInit C_Digest C_DigestUpdate C_DigestKey
            C_DigestFinal C_SignInit C_Sign C_SignUpdate C_SignFinal C_SignRecoverInit
            C_SignRecover C_VerifyInit C_Verify C_VerifyUpdate C_VerifyFinal
            C_VerifyRecoverInit C_VerifyRecover C_DigestEncryptUpdate C_DecryptDigestUpdate
            C_SignEncryptUpdate C_DecryptVerifyUpdate C_GenerateKey C_GenerateKeyPair
            C_WrapKey C_UnwrapKey C_DeriveKey C_SeedRandom C_GenerateRandom
            C_GetFunctionStatus C_CancelFunction C_WaitForSlotEvent)
    };
}

macro_rules! v3_0 {
    ($($head:tt)*) => {
        v2_40!($($head)*
            C_GetInterfaceList C_GetInterface C_LoginUser C_SessionCancel
            C_MessageEncryptInit C_EncryptMessage C_EncryptMessageBegin C_EncryptMessageNext
            C_MessageEncryptFinal C_MessageDecryptInit C_DecryptMessage C_DecryptMessageBegin
            C_DecryptMessageNext C_MessageDecryptFinal C_MessageSignInit C_SignMessage
            C_SignMessageBegin C_SignMessageNext C_MessageSignFinal C_MessageVerifyInit
            C_VerifyMessage C_VerifyMessageBegin C_VerifyMessageNext C_MessageVerifyFinal)
    };
}

macro_rules! v3_2 {
    ($($head:tt)*) => {
        v3_0!($($head)*
            C_EncapsulateKey C_DecapsulateKey C_VerifySignatureInit C_VerifySignature
            C_VerifySignatureUpdate C_VerifySignatureFinal C_GetSessionValidationFlags
            C_AsyncComplete C_AsyncGetID C_AsyncJoin C_WrapKeyAuthenticated
            C_UnwrapKeyAuthenticated)
    };
}

pub(crate) static FUNCTIONS_2_40: ck::CK_FUNCTION_LIST = v2_40!(CK_FUNCTION_LIST { 2 . 40 });
pub(crate) static FUNCTIONS_3_0: ck::CK_FUNCTION_LIST_3_0 = v3_0!(CK_FUNCTION_LIST_3_0 { 3 . 0 });
pub(crate) static FUNCTIONS_3_2: ck::CK_FUNCTION_LIST_3_2 = v3_2!(CK_FUNCTION_LIST_3_2 { 3 . 2 });

/// The name every standard interface carries, NUL-terminated for C.
pub(crate) const INTERFACE_NAME: &[u8] = b"PKCS 11\0";

/// A CK_INTERFACE pointing into this library's read-only statics.
pub(crate) struct Interface(pub(crate) ck::CK_INTERFACE);

// SAFETY: the pointers inside lead to immutable statics (the name and the function lists);
// sharing them between threads cannot race because nothing ever writes through them.
unsafe impl Sync for Interface {}

const fn interface(list: *const c_void) -> Interface {
    Interface(ck::CK_INTERFACE {
        pInterfaceName: INTERFACE_NAME.as_ptr() as *mut u8,
        pFunctionList: list as *mut c_void,
        flags: 0,
    })
}

/// Newest first: C_GetInterface without a version returns the first match.
pub(crate) static INTERFACES: [Interface; 3] = [
    interface(&FUNCTIONS_3_2 as *const ck::CK_FUNCTION_LIST_3_2 as *const c_void),
    interface(&FUNCTIONS_3_0 as *const ck::CK_FUNCTION_LIST_3_0 as *const c_void),
    interface(&FUNCTIONS_2_40 as *const ck::CK_FUNCTION_LIST as *const c_void),
];

/// The version a function list starts with (every list starts with a CK_VERSION).
pub(crate) fn list_version(i: &Interface) -> ck::CK_VERSION {
    // SAFETY: pFunctionList points to one of our static lists, each beginning with a
    // CK_VERSION (repr(C) first field).
    unsafe { *(i.0.pFunctionList as *const ck::CK_VERSION) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ceremony::TEST_STATE;
    use std::mem::size_of;
    use std::ptr::null_mut as n;

    /// Every slot after the version is a non-NULL function pointer, and the struct has
    /// exactly `count` of them.
    fn all_filled<T>(list: &T, count: usize) {
        let words = size_of::<T>() / size_of::<usize>();
        assert_eq!(
            size_of::<T>(),
            size_of::<usize>() * (1 + count),
            "struct size"
        );
        assert_eq!(words, 1 + count);
        // SAFETY: T is a repr(C) CK_FUNCTION_LIST*: a CK_VERSION padded to a word, then
        // `count` pointer-sized Option<fn> slots (None is 0).
        let slots =
            unsafe { std::slice::from_raw_parts((list as *const T as *const usize).add(1), count) };
        assert!(slots.iter().all(|&f| f != 0), "a function slot is NULL");
    }

    #[test]
    fn lists_have_their_versions_and_every_slot() {
        assert_eq!(
            (FUNCTIONS_2_40.version.major, FUNCTIONS_2_40.version.minor),
            (2, 40)
        );
        assert_eq!(
            (FUNCTIONS_3_0.version.major, FUNCTIONS_3_0.version.minor),
            (3, 0)
        );
        assert_eq!(
            (FUNCTIONS_3_2.version.major, FUNCTIONS_3_2.version.minor),
            (3, 2)
        );
        all_filled(&FUNCTIONS_2_40, 68);
        all_filled(&FUNCTIONS_3_0, 68 + 24);
        all_filled(&FUNCTIONS_3_2, 68 + 24 + 12);
    }

    fn get_interface(
        name: Option<&[u8]>,
        version: Option<(u8, u8)>,
        flags: ck::CK_FLAGS,
    ) -> Result<ck::CK_VERSION, ck::CK_RV> {
        let mut v = version.map(|(major, minor)| ck::CK_VERSION { major, minor });
        let vp = v.as_mut().map_or(n(), |v| v as *mut _);
        let np = name.map_or(n(), |s| s.as_ptr() as *mut u8);
        let mut out: *mut ck::CK_INTERFACE = n();
        match C_GetInterface(np, vp, &mut out, flags) {
            ck::CKR_OK => {
                // SAFETY: on success `out` points to one of our static interfaces.
                let i = unsafe { &*out };
                // SAFETY: the name is our NUL-terminated static.
                let got = unsafe { std::ffi::CStr::from_ptr(i.pInterfaceName as *const _) };
                assert_eq!(got.to_bytes(), b"PKCS 11");
                assert_eq!(i.flags, 0);
                // SAFETY: every function list starts with its CK_VERSION.
                Ok(unsafe { *(i.pFunctionList as *const ck::CK_VERSION) })
            }
            rv => Err(rv),
        }
    }

    #[test]
    fn get_interface_selection() {
        let v = |r: Result<ck::CK_VERSION, ck::CK_RV>| r.map(|v| (v.major, v.minor));
        assert_eq!(v(get_interface(None, None, 0)), Ok((3, 2)));
        assert_eq!(v(get_interface(Some(b"PKCS 11\0"), None, 0)), Ok((3, 2)));
        assert_eq!(
            v(get_interface(Some(b"PKCS 11\0"), Some((3, 0)), 0)),
            Ok((3, 0))
        );
        assert_eq!(v(get_interface(None, Some((2, 40)), 0)), Ok((2, 40)));
        assert_eq!(
            v(get_interface(None, Some((3, 1)), 0)),
            Err(ck::CKR_ARGUMENTS_BAD)
        );
        assert_eq!(
            v(get_interface(Some(b"Vendor X\0"), None, 0)),
            Err(ck::CKR_ARGUMENTS_BAD)
        );
        assert_eq!(
            v(get_interface(Some(b"PKCS 11 \0"), None, 0)),
            Err(ck::CKR_ARGUMENTS_BAD)
        );
        assert_eq!(
            v(get_interface(None, None, ck::CKF_INTERFACE_FORK_SAFE)),
            Err(ck::CKR_ARGUMENTS_BAD)
        );
        assert_eq!(C_GetInterface(n(), n(), n(), 0), ck::CKR_ARGUMENTS_BAD);
    }

    #[test]
    fn get_interface_list_and_function_list() {
        let mut count: ck::CK_ULONG = 0;
        assert_eq!(C_GetInterfaceList(n(), &mut count), ck::CKR_OK);
        assert_eq!(count, 3);
        let empty = ck::CK_INTERFACE {
            pInterfaceName: n(),
            pFunctionList: n(),
            flags: 0,
        };
        let mut list = [empty; 3];
        count = 2;
        assert_eq!(
            C_GetInterfaceList(list.as_mut_ptr(), &mut count),
            ck::CKR_BUFFER_TOO_SMALL
        );
        assert_eq!(count, 3);
        assert_eq!(
            C_GetInterfaceList(list.as_mut_ptr(), &mut count),
            ck::CKR_OK
        );
        let versions: Vec<(u8, u8)> = list
            .iter()
            // SAFETY: each points to one of our static lists, which start with a CK_VERSION.
            .map(|i| unsafe { *(i.pFunctionList as *const ck::CK_VERSION) })
            .map(|v| (v.major, v.minor))
            .collect();
        assert_eq!(versions, [(3, 2), (3, 0), (2, 40)]);
        assert_eq!(
            C_GetInterfaceList(list.as_mut_ptr(), n()),
            ck::CKR_ARGUMENTS_BAD
        );

        let mut fl: *mut ck::CK_FUNCTION_LIST = n();
        assert_eq!(C_GetFunctionList(&mut fl), ck::CKR_OK);
        // SAFETY: on success fl points to our static 2.40 list.
        let v = unsafe { (*fl).version };
        assert_eq!((v.major, v.minor), (2, 40));
        assert_eq!(C_GetFunctionList(n()), ck::CKR_ARGUMENTS_BAD);
    }

    /// Every entry point except the four that may precede C_Initialize answers
    /// CKR_CRYPTOKI_NOT_INITIALIZED before C_Initialize, whatever its arguments; the
    /// declined ones never claim success either.
    #[test]
    fn every_call_before_initialize_is_refused() {
        let _g = TEST_STATE.lock().unwrap_or_else(|e| e.into_inner());
        let f = &FUNCTIONS_3_2;
        macro_rules! all {
            ($($name:ident ( $($arg:expr),* );)*) => {{
                let mut results = Vec::new();
                // SAFETY: calls through our own list with NULL/zero arguments; every
                // function must refuse before touching any pointer.
                $( results.push((stringify!($name), unsafe { (f.$name.unwrap())($($arg),*) })); )*
                results
            }};
        }
        let results = all! {
            C_GetInfo(n());
            C_GetSlotList(0, n(), n()); C_GetSlotInfo(0, n()); C_GetTokenInfo(0, n());
            C_GetMechanismList(0, n(), n()); C_GetMechanismInfo(0, 0, n());
            C_InitToken(0, n(), 0, n()); C_InitPIN(0, n(), 0); C_SetPIN(0, n(), 0, n(), 0);
            C_OpenSession(0, 0, n(), None, n()); C_CloseSession(0); C_CloseAllSessions(0);
            C_GetSessionInfo(0, n()); C_GetOperationState(0, n(), n());
            C_SetOperationState(0, n(), 0, 0, 0); C_Login(0, 0, n(), 0); C_Logout(0);
            C_CreateObject(0, n(), 0, n()); C_CopyObject(0, 0, n(), 0, n());
            C_DestroyObject(0, 0); C_GetObjectSize(0, 0, n());
            C_GetAttributeValue(0, 0, n(), 0); C_SetAttributeValue(0, 0, n(), 0);
            C_FindObjectsInit(0, n(), 0); C_FindObjects(0, n(), 0, n()); C_FindObjectsFinal(0);
            C_EncryptInit(0, n(), 0); C_Encrypt(0, n(), 0, n(), n());
            C_EncryptUpdate(0, n(), 0, n(), n()); C_EncryptFinal(0, n(), n());
            C_DecryptInit(0, n(), 0); C_Decrypt(0, n(), 0, n(), n());
            C_DecryptUpdate(0, n(), 0, n(), n()); C_DecryptFinal(0, n(), n());
            C_DigestInit(0, n()); C_Digest(0, n(), 0, n(), n()); C_DigestUpdate(0, n(), 0);
            C_DigestKey(0, 0); C_DigestFinal(0, n(), n());
            C_SignInit(0, n(), 0); C_Sign(0, n(), 0, n(), n()); C_SignUpdate(0, n(), 0);
            C_SignFinal(0, n(), n()); C_SignRecoverInit(0, n(), 0);
            C_SignRecover(0, n(), 0, n(), n());
            C_VerifyInit(0, n(), 0); C_Verify(0, n(), 0, n(), 0); C_VerifyUpdate(0, n(), 0);
            C_VerifyFinal(0, n(), 0); C_VerifyRecoverInit(0, n(), 0);
            C_VerifyRecover(0, n(), 0, n(), n());
            C_DigestEncryptUpdate(0, n(), 0, n(), n()); C_DecryptDigestUpdate(0, n(), 0, n(), n());
            C_SignEncryptUpdate(0, n(), 0, n(), n()); C_DecryptVerifyUpdate(0, n(), 0, n(), n());
            C_GenerateKey(0, n(), n(), 0, n()); C_GenerateKeyPair(0, n(), n(), 0, n(), 0, n(), n());
            C_WrapKey(0, n(), 0, 0, n(), n()); C_UnwrapKey(0, n(), 0, n(), 0, n(), 0, n());
            C_DeriveKey(0, n(), 0, n(), 0, n()); C_SeedRandom(0, n(), 0);
            C_GenerateRandom(0, n(), 0); C_GetFunctionStatus(0); C_CancelFunction(0);
            C_WaitForSlotEvent(ck::CKF_DONT_BLOCK, n(), n());
            C_LoginUser(0, 0, n(), 0, n(), 0); C_SessionCancel(0, 0);
            C_MessageEncryptInit(0, n(), 0); C_EncryptMessage(0, n(), 0, n(), 0, n(), 0, n(), n());
            C_EncryptMessageBegin(0, n(), 0, n(), 0);
            C_EncryptMessageNext(0, n(), 0, n(), 0, n(), n(), 0);
            C_MessageEncryptFinal(0); C_MessageDecryptInit(0, n(), 0);
            C_DecryptMessage(0, n(), 0, n(), 0, n(), 0, n(), n());
            C_DecryptMessageBegin(0, n(), 0, n(), 0);
            C_DecryptMessageNext(0, n(), 0, n(), 0, n(), n(), 0);
            C_MessageDecryptFinal(0); C_MessageSignInit(0, n(), 0);
            C_SignMessage(0, n(), 0, n(), 0, n(), n()); C_SignMessageBegin(0, n(), 0);
            C_SignMessageNext(0, n(), 0, n(), 0, n(), n()); C_MessageSignFinal(0);
            C_MessageVerifyInit(0, n(), 0); C_VerifyMessage(0, n(), 0, n(), 0, n(), 0);
            C_VerifyMessageBegin(0, n(), 0); C_VerifyMessageNext(0, n(), 0, n(), 0, n(), 0);
            C_MessageVerifyFinal(0);
            C_EncapsulateKey(0, n(), 0, n(), 0, n(), n(), n());
            C_DecapsulateKey(0, n(), 0, n(), 0, n(), 0, n());
            C_VerifySignatureInit(0, n(), 0, n(), 0); C_VerifySignature(0, n(), 0);
            C_VerifySignatureUpdate(0, n(), 0); C_VerifySignatureFinal(0);
            C_GetSessionValidationFlags(0, 0, n());
            C_AsyncComplete(0, n(), n()); C_AsyncGetID(0, n(), n()); C_AsyncJoin(0, n(), 0, n(), 0);
            C_WrapKeyAuthenticated(0, n(), 0, 0, n(), 0, n(), n());
            C_UnwrapKeyAuthenticated(0, n(), 0, n(), 0, n(), 0, n(), 0, n());
        };
        // All 104 slots minus C_Initialize, C_Finalize, C_GetFunctionList, C_GetInterfaceList
        // and C_GetInterface.
        assert_eq!(results.len(), 104 - 5);
        for (name, rv) in results {
            assert_eq!(rv, ck::CKR_CRYPTOKI_NOT_INITIALIZED, "{name}");
        }
        // SAFETY: NULL is the documented "no reserved data" value.
        assert_eq!(
            unsafe { (f.C_Finalize.unwrap())(n()) },
            ck::CKR_CRYPTOKI_NOT_INITIALIZED
        );
    }
}
