//! Random number generation functions (spec 5.16). The bytes come from the core's DRBG.

use crate::ceremony::call;
use crate::marshal::{arguments_bad, bytes, len};
use cryptoki_sys as ck;

#[no_mangle]
pub extern "C" fn C_SeedRandom(
    hSession: ck::CK_SESSION_HANDLE,
    pSeed: *mut ck::CK_BYTE,
    ulSeedLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_SeedRandom", |m| {
        // SAFETY: pSeed is valid for ulSeedLen bytes (spec 5.16).
        m.seed_random(hSession, unsafe { bytes(pSeed, ulSeedLen)? })
    })
}

#[no_mangle]
pub extern "C" fn C_GenerateRandom(
    hSession: ck::CK_SESSION_HANDLE,
    RandomData: *mut ck::CK_BYTE,
    ulRandomLen: ck::CK_ULONG,
) -> ck::CK_RV {
    call("C_GenerateRandom", |m| {
        let n = len(ulRandomLen)?;
        let out: &mut [u8] = if n == 0 {
            &mut []
        } else if RandomData.is_null() {
            return Err(arguments_bad("RandomData is NULL but ulRandomLen is not 0"));
        } else {
            // SAFETY: non-NULL, valid for writes of ulRandomLen bytes (spec 5.16); u8 needs
            // no alignment; n <= isize::MAX.
            unsafe { std::slice::from_raw_parts_mut(RandomData, n) }
        };
        m.generate_random(hSession, out)
    })
}
