//! Login, logout and PIN management as a client meets them: wrong PINs, the retry
//! counter flags, lockout, C_SetPIN and C_InitPIN, and who may call what.

mod common;

use common::{pin, so_pin, user_pin, Backend, Options, Token, USER_PIN};
use cryptoki::session::{SessionState, UserType};

const WRONG: &str = "wrong-pin-0000";

fn flags(t: &Token) -> cryptoki::slot::TokenInfo {
    ck!(t.ctx.get_token_info(t.slot))
}

both_backends! {
    /// Wrong PIN, double login, logout while logged out, SO while the user is in.
    fn login_logout_rules(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        assert_ckr!(s.login(UserType::User, Some(&user_pin())), UserAlreadyLoggedIn);
        assert_ckr!(s.login(UserType::So, Some(&so_pin())), UserAnotherAlreadyLoggedIn);
        ck!(s.logout());
        if b == Backend::SoftHsm2 {
            // SoftHSM2 answers CKR_OK to a logout with nobody logged in.
            ck!(s.logout());
            common::note("SoftHSM2 deviation: C_Logout with nobody logged in returns CKR_OK, not CKR_USER_NOT_LOGGED_IN");
        } else {
            assert_ckr!(s.logout(), UserNotLoggedIn);
        }
        assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect);
        assert_eq!(ck!(s.get_session_info()).session_state(), SessionState::RwPublic);
        ck!(s.login(UserType::User, Some(&user_pin())));
        assert_eq!(ck!(s.get_session_info()).session_state(), SessionState::RwUser);
        ck!(s.logout());
        assert_ckr!(s.login(UserType::So, Some(&pin(WRONG))), PinIncorrect);
        ck!(s.login(UserType::So, Some(&so_pin())));
        assert_eq!(ck!(s.get_session_info()).session_state(), SessionState::RwSecurityOfficer);
        assert_ckr!(s.login(UserType::User, Some(&user_pin())), UserAnotherAlreadyLoggedIn);
    }

    /// Login state belongs to the application, not the session: every session sees it.
    fn login_state_is_shared_by_sessions(b: Backend) {
        let t = Token::new(b);
        let ro = t.open_ro();
        assert_eq!(ck!(ro.get_session_info()).session_state(), SessionState::RoUser);
        ck!(ro.logout());
        assert_eq!(ck!(t.session().get_session_info()).session_state(), SessionState::RwPublic);
        assert_eq!(ck!(ro.get_session_info()).session_state(), SessionState::RoPublic);
        ck!(ro.login(UserType::User, Some(&user_pin())));
        assert_eq!(ck!(t.session().get_session_info()).session_state(), SessionState::RwUser);
    }

    /// The SO cannot log in while a read-only session is open (PKCS#11 C_Login).
    fn so_login_refused_with_ro_session(b: Backend) {
        let t = Token::new(b);
        ck!(t.session().logout());
        let ro = t.open_ro();
        assert_ckr!(t.session().login(UserType::So, Some(&so_pin())), SessionReadOnlyExists);
        drop(ro);
        ck!(t.session().login(UserType::So, Some(&so_pin())));
    }

    /// Closing the application's last session logs the user out.
    fn closing_last_session_logs_out(b: Backend) {
        let mut t = Token::new(b);
        t.close_session();
        let s = t.open_rw();
        assert_eq!(ck!(s.get_session_info()).session_state(), SessionState::RwPublic);
    }

    /// CKF_USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED. pqhsm, limited to three failures by
    /// its configuration, counts down and locks; a successful login resets the count;
    /// C_InitPIN by the SO unlocks. SoftHSM2 never locks a PIN: it only raises
    /// CKF_USER_PIN_COUNT_LOW after a failure and clears it on success; asserted as such.
    fn pin_retry_counter_and_lockout(b: Backend) {
        let t = Token::with(b, Options::pqhsm_conf("[policy]\nmax_pin_failures = 3\n"));
        let s = t.session();
        ck!(s.logout());
        assert!(!flags(&t).user_pin_count_low());

        assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect);
        assert!(flags(&t).user_pin_count_low(), "CKF_USER_PIN_COUNT_LOW after one failure");
        ck!(s.login(UserType::User, Some(&user_pin())));
        assert!(!flags(&t).user_pin_count_low(), "a successful login resets the count");
        ck!(s.logout());

        match b {
            Backend::Pqhsm => {
                // Two failures, a success, then the full count again: the success reset it.
                assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect);
                assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect);
                let f = flags(&t);
                assert!(f.user_pin_count_low() && f.user_pin_final_try(), "CKF_USER_PIN_FINAL_TRY with one try left");
                ck!(s.login(UserType::User, Some(&user_pin())));
                ck!(s.logout());
                assert!(!flags(&t).user_pin_final_try());

                assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect);
                assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect);
                assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect | PinLocked);
                assert!(flags(&t).user_pin_locked(), "CKF_USER_PIN_LOCKED after three failures");
                assert_ckr!(s.login(UserType::User, Some(&user_pin())), PinLocked);
                assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinLocked);

                // The lock is on the token, not in this process's memory.
                let mut t = t;
                t.reinitialize_logged_out();
                let s = t.session();
                assert!(flags(&t).user_pin_locked(), "the lock survives C_Finalize/C_Initialize");
                assert_ckr!(s.login(UserType::User, Some(&user_pin())), PinLocked);

                ck!(s.login(UserType::So, Some(&so_pin())));
                ck!(s.init_pin(&pin("fresh-user-pin-42")));
                ck!(s.logout());
                let f = flags(&t);
                assert!(!f.user_pin_locked() && !f.user_pin_count_low() && !f.user_pin_final_try());
                ck!(s.login(UserType::User, Some(&pin("fresh-user-pin-42"))));
            }
            Backend::SoftHsm2 => {
                for _ in 0..6 {
                    assert_ckr!(s.login(UserType::User, Some(&pin(WRONG))), PinIncorrect);
                }
                let f = flags(&t);
                assert!(f.user_pin_count_low());
                assert!(!f.user_pin_locked(), "SoftHSM2 does not lock user PINs");
                ck!(s.login(UserType::User, Some(&user_pin())));
                common::note("SoftHSM2 has no PIN lockout: six wrong PINs, then the right one logs in");
            }
        }
    }

    /// C_SetPIN: the old PIN must be right, the new one must fit the length limits,
    /// read-only sessions cannot, and afterwards only the new PIN works.
    fn set_pin(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let info = flags(&t);
        assert_ckr!(s.set_pin(&pin(WRONG), &pin("new-user-pin-1")), PinIncorrect);
        let too_long = "x".repeat(info.max_pin_length() + 1);
        assert_ckr!(s.set_pin(&user_pin(), &pin(&too_long)), PinLenRange);
        if info.min_pin_length() > 1 {
            let too_short = "x".repeat(info.min_pin_length() - 1);
            assert_ckr!(s.set_pin(&user_pin(), &pin(&too_short)), PinLenRange);
        }
        let ro = t.open_ro();
        assert_ckr!(ro.set_pin(&user_pin(), &pin("new-user-pin-1")), SessionReadOnly);
        drop(ro);

        ck!(s.set_pin(&user_pin(), &pin("new-user-pin-1")));
        ck!(s.logout());
        assert_ckr!(s.login(UserType::User, Some(&user_pin())), PinIncorrect);
        ck!(s.login(UserType::User, Some(&pin("new-user-pin-1"))));
        ck!(s.logout());

        // The SO changes its own PIN the same way.
        ck!(s.login(UserType::So, Some(&so_pin())));
        ck!(s.set_pin(&so_pin(), &pin("new-so-pin-123")));
        ck!(s.logout());
        assert_ckr!(s.login(UserType::So, Some(&so_pin())), PinIncorrect);
        ck!(s.login(UserType::So, Some(&pin("new-so-pin-123"))));
    }

    /// C_InitPIN is the SO's: refused to the user and to nobody-logged-in, and it
    /// replaces the user PIN.
    fn init_pin_is_for_the_so(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        assert_ckr!(s.init_pin(&pin("another-user-pin")), UserNotLoggedIn);
        ck!(s.logout());
        assert_ckr!(s.init_pin(&pin("another-user-pin")), UserNotLoggedIn);
        ck!(s.login(UserType::So, Some(&so_pin())));
        let too_long = "x".repeat(flags(&t).max_pin_length() + 1);
        assert_ckr!(s.init_pin(&pin(&too_long)), PinLenRange);
        ck!(s.init_pin(&pin("another-user-pin")));
        ck!(s.logout());
        assert_ckr!(s.login(UserType::User, Some(&pin(USER_PIN))), PinIncorrect);
        ck!(s.login(UserType::User, Some(&pin("another-user-pin"))));
    }
}
