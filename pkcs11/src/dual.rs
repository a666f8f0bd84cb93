//! Dual-function cryptographic functions (spec 5.14). Not offered: clients run the two
//! operations one after the other, which every client library already supports.

use crate::ceremony::{call, not_supported};
use cryptoki_sys as ck;

macro_rules! dual_function {
    ($name:ident) => {
        #[no_mangle]
        pub extern "C" fn $name(
            hSession: ck::CK_SESSION_HANDLE,
            pPart: *mut ck::CK_BYTE,
            ulPartLen: ck::CK_ULONG,
            pOutPart: *mut ck::CK_BYTE,
            pulOutPartLen: *mut ck::CK_ULONG,
        ) -> ck::CK_RV {
            call(stringify!($name), |_| {
                let _ = (hSession, pPart, ulPartLen, pOutPart, pulOutPartLen);
                not_supported(concat!(stringify!($name), " (dual-function operations)"))
            })
        }
    };
}

dual_function!(C_DigestEncryptUpdate);
dual_function!(C_DecryptDigestUpdate);
dual_function!(C_SignEncryptUpdate);
dual_function!(C_DecryptVerifyUpdate);
