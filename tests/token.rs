//! A client's first look at a module: library, slot and token information, the mechanism
//! list and what it promises, random numbers, and the rules of C_InitToken.

mod common;

use common::{mech_name, Token, CKM_AES_KEY_WRAP_KWP, TOKEN_LABEL};
use cryptoki::slot::Slot;
use cryptoki_sys::*;

/// Every mechanism pqhsm must list; dispatch must serve each one (the other tests check).
pub const PQHSM_REQUIRED: &[CK_MECHANISM_TYPE] = &[
    CKM_RSA_PKCS_KEY_PAIR_GEN,
    CKM_RSA_PKCS,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKM_RSA_PKCS_PSS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKM_RSA_PKCS_OAEP,
    CKM_EC_KEY_PAIR_GEN,
    CKM_ECDSA,
    CKM_ECDSA_SHA256,
    CKM_ECDSA_SHA384,
    CKM_ECDSA_SHA512,
    CKM_ECDH1_DERIVE,
    CKM_EC_EDWARDS_KEY_PAIR_GEN,
    CKM_EDDSA,
    CKM_GENERIC_SECRET_KEY_GEN,
    CKM_SHA256_HMAC,
    CKM_SHA384_HMAC,
    CKM_SHA512_HMAC,
    CKM_AES_KEY_GEN,
    CKM_AES_ECB,
    CKM_AES_CBC,
    CKM_AES_CBC_PAD,
    CKM_AES_CTR,
    CKM_AES_GCM,
    CKM_AES_CMAC,
    CKM_AES_KEY_WRAP,
    CKM_AES_KEY_WRAP_KWP,
    CKM_SHA256,
    CKM_SHA384,
    CKM_SHA512,
    CKM_HKDF_DERIVE,
];

fn info(t: &Token, m: CK_MECHANISM_TYPE) -> CK_MECHANISM_INFO {
    let (rv, info) = t.raw.mechanism_info(t.slot.id(), m);
    assert_eq!(
        rv,
        CKR_OK,
        "{}: C_GetMechanismInfo({}) failed with {}",
        t.backend,
        mech_name(m),
        common::Outcomes::outcome(&rv)
    );
    info
}

fn expect_flags(t: &Token, m: CK_MECHANISM_TYPE, flags: CK_FLAGS) {
    if !t.has(m) {
        return;
    }
    let i = info(t, m);
    assert_eq!(
        i.flags & flags,
        flags,
        "{}: {} flags {:#x} lack {:#x}",
        t.backend,
        mech_name(m),
        i.flags,
        flags
    );
}

both_backends! {
    /// C_GetInfo, C_GetSlotInfo, C_GetTokenInfo after the fixture's initialisation.
    fn library_slot_and_token_info(b: Backend) {
        let t = Token::new(b);
        let lib = ck!(t.ctx.get_library_info());
        assert!(lib.cryptoki_version().major() >= 2, "Cryptoki version {:?}", lib.cryptoki_version());
        assert!(!lib.manufacturer_id().trim().is_empty(), "empty manufacturerID");

        let slot = ck!(t.ctx.get_slot_info(t.slot));
        assert!(slot.token_present(), "the token's slot must report CKF_TOKEN_PRESENT");
        assert!(!slot.slot_description().trim().is_empty());

        let tok = ck!(t.ctx.get_token_info(t.slot));
        assert_eq!(tok.label().trim_end(), TOKEN_LABEL);
        assert!(tok.token_initialized(), "CKF_TOKEN_INITIALIZED");
        assert!(tok.user_pin_initialized(), "CKF_USER_PIN_INITIALIZED after C_InitPIN");
        assert!(tok.login_required(), "CKF_LOGIN_REQUIRED");
        assert!(tok.rng(), "CKF_RNG: the token has a random number generator");
        assert!(!tok.write_protected(), "a fresh token must be writable");
        assert!(!tok.user_pin_locked() && !tok.user_pin_count_low() && !tok.user_pin_final_try());
        assert!(!tok.so_pin_locked());
        assert!(tok.min_pin_length() >= 1, "ulMinPinLen");
        assert!(tok.min_pin_length() <= tok.max_pin_length(), "ulMinPinLen <= ulMaxPinLen");
        assert!(tok.max_pin_length() >= common::USER_PIN.len());
        assert!(!tok.serial_number().trim().is_empty(), "serialNumber");
        assert!(!tok.model().trim().is_empty(), "model");
    }

    /// ulSessionCount and ulRwSessionCount follow the sessions this application opens.
    fn token_info_counts_sessions(b: Backend) {
        let t = Token::new(b);
        let before = ck!(t.ctx.get_token_info(t.slot));
        let (Some(all0), Some(rw0)) = (before.session_count(), before.rw_session_count()) else {
            assert!(!t.is_pqhsm(), "pqhsm must report real session counts, got unavailable");
            common::note("SoftHSM2 reports CK_UNAVAILABLE_INFORMATION for session counts");
            return;
        };
        assert_eq!((all0, rw0), (1, 1), "the fixture holds one RW session");
        let ro = t.open_ro();
        let rw = t.open_rw();
        let during = ck!(t.ctx.get_token_info(t.slot));
        assert_eq!(during.session_count(), Some(3));
        assert_eq!(during.rw_session_count(), Some(2));
        drop(ro);
        drop(rw);
        let after = ck!(t.ctx.get_token_info(t.slot));
        assert_eq!(after.session_count(), Some(1));
        assert_eq!(after.rw_session_count(), Some(1));
    }

    /// Every listed mechanism answers C_GetMechanismInfo with sane sizes and the flags its
    /// use needs; an unknown mechanism is CKR_MECHANISM_INVALID.
    fn mechanism_list_and_info(b: Backend) {
        let t = Token::new(b);
        assert!(!t.mechanisms().is_empty());
        if t.is_pqhsm() {
            let missing: Vec<String> = PQHSM_REQUIRED
                .iter()
                .filter(|m| !t.has(**m))
                .map(|m| mech_name(*m))
                .collect();
            assert!(missing.is_empty(), "pqhsm does not list: {}", missing.join(", "));
        }
        for &m in t.mechanisms() {
            let i = info(&t, m);
            assert!(
                i.ulMinKeySize <= i.ulMaxKeySize,
                "{}: min key size {} > max {}",
                mech_name(m),
                i.ulMinKeySize,
                i.ulMaxKeySize
            );
            assert_ne!(i.flags, 0, "{}: no usage flags", mech_name(m));
        }
        expect_flags(&t, CKM_RSA_PKCS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR);
        expect_flags(&t, CKM_EC_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR);
        expect_flags(&t, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKF_GENERATE_KEY_PAIR);
        expect_flags(&t, CKM_AES_KEY_GEN, CKF_GENERATE);
        expect_flags(&t, CKM_GENERIC_SECRET_KEY_GEN, CKF_GENERATE);
        expect_flags(&t, CKM_RSA_PKCS, CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT);
        expect_flags(&t, CKM_RSA_PKCS_OAEP, CKF_ENCRYPT | CKF_DECRYPT);
        expect_flags(&t, CKM_SHA256_RSA_PKCS_PSS, CKF_SIGN | CKF_VERIFY);
        expect_flags(&t, CKM_ECDSA, CKF_SIGN | CKF_VERIFY);
        expect_flags(&t, CKM_ECDSA_SHA256, CKF_SIGN | CKF_VERIFY);
        expect_flags(&t, CKM_EDDSA, CKF_SIGN | CKF_VERIFY);
        expect_flags(&t, CKM_ECDH1_DERIVE, CKF_DERIVE);
        expect_flags(&t, CKM_HKDF_DERIVE, CKF_DERIVE);
        expect_flags(&t, CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT);
        expect_flags(&t, CKM_AES_CBC_PAD, CKF_ENCRYPT | CKF_DECRYPT);
        expect_flags(&t, CKM_AES_CMAC, CKF_SIGN | CKF_VERIFY);
        expect_flags(&t, CKM_AES_KEY_WRAP, CKF_WRAP | CKF_UNWRAP);
        expect_flags(&t, CKM_AES_KEY_WRAP_KWP, CKF_WRAP | CKF_UNWRAP);
        expect_flags(&t, CKM_SHA256_HMAC, CKF_SIGN | CKF_VERIFY);
        expect_flags(&t, CKM_SHA256, CKF_DIGEST);
        expect_flags(&t, CKM_SHA512, CKF_DIGEST);

        // Sizes: RSA in bits, AES in bytes (PKCS#11 3.0 section 2.1.1 / 2.10.1).
        let rsa = info(&t, CKM_RSA_PKCS_KEY_PAIR_GEN);
        assert!(rsa.ulMinKeySize <= 2048 && rsa.ulMaxKeySize >= 4096, "RSA sizes {}..{}", rsa.ulMinKeySize, rsa.ulMaxKeySize);
        let aes = info(&t, CKM_AES_KEY_GEN);
        assert!(aes.ulMinKeySize <= 16 && aes.ulMaxKeySize >= 32, "AES sizes {}..{}", aes.ulMinKeySize, aes.ulMaxKeySize);
        if t.has(CKM_EC_KEY_PAIR_GEN) {
            let ec = info(&t, CKM_EC_KEY_PAIR_GEN);
            assert!(ec.ulMinKeySize <= 256 && ec.ulMaxKeySize >= 521, "EC sizes {}..{}", ec.ulMinKeySize, ec.ulMaxKeySize);
        }

        let (rv, _) = t.raw.mechanism_info(t.slot.id(), CKM_VENDOR_DEFINED | 0x0bad_0bad);
        assert_ckr!(rv, MechanismInvalid);
    }

    /// C_GenerateRandom: any length, never the same twice, no login needed.
    fn generate_random(b: Backend) {
        let t = Token::new(b);
        let a = ck!(t.session().generate_random_vec(32));
        let c = ck!(t.session().generate_random_vec(32));
        assert_eq!(a.len(), 32);
        assert_ne!(a, c, "two 32-byte random strings are equal");
        assert_ne!(a, vec![0u8; 32]);
        let big = ck!(t.session().generate_random_vec(65536));
        // A crude sanity check, not a statistical test: every byte value shows up.
        let mut seen = [false; 256];
        big.iter().for_each(|x| seen[*x as usize] = true);
        assert!(seen.iter().all(|s| *s), "64 KiB of random output misses some byte values");

        let public = t.open_ro();
        ck!(public.logout());
        let mut buf = [0u8; 16];
        ck!(public.generate_random_slice(&mut buf));

        // C_SeedRandom: mixing in is fine, refusing is allowed; nothing else.
        let r = t.session().seed_random(b"extra seed material");
        if r.is_err() {
            assert_ckr!(r, RandomSeedNotSupported | RandomNoRng);
        }
    }

    /// An unknown slot ID is CKR_SLOT_ID_INVALID everywhere a slot is taken.
    fn unknown_slot_is_invalid(b: Backend) {
        let t = Token::new(b);
        let known: Vec<u64> = ck!(t.ctx.get_all_slots()).iter().map(|s| s.id()).collect();
        let bogus = (0..u64::from(u32::MAX)).map(|i| 0x7654_3210 + i).find(|i| !known.contains(i)).unwrap_or(0x7654_3210);
        let bogus = Slot::try_from(bogus).expect("slot id");
        assert_ckr!(t.ctx.get_slot_info(bogus), SlotIdInvalid);
        assert_ckr!(t.ctx.get_token_info(bogus), SlotIdInvalid);
        assert_ckr!(t.ctx.open_rw_session(bogus), SlotIdInvalid);
        assert_ckr!(t.ctx.get_mechanism_list(bogus), SlotIdInvalid);
    }

    /// C_InitToken refuses while a session is open, and with a wrong SO PIN.
    fn init_token_rules(b: Backend) {
        let mut t = Token::new(b);
        assert_ckr!(t.ctx.init_token(t.slot, &common::so_pin(), TOKEN_LABEL), SessionExists);
        t.close_session();
        assert_ckr!(
            t.ctx.init_token(t.slot, &common::pin("not-the-so-pin"), TOKEN_LABEL),
            PinIncorrect
        );
        // The right SO PIN re-initialises: the user PIN is gone, objects are gone.
        ck!(t.ctx.init_token(t.slot, &common::so_pin(), TOKEN_LABEL));
        let slot = common::find_token_slot(&t.ctx);
        let tok = ck!(t.ctx.get_token_info(slot));
        assert!(tok.token_initialized());
        assert!(!tok.user_pin_initialized(), "re-initialisation must clear the user PIN");
    }
}
