//! Sessions: read-only versus read-write, session objects and their lifetime, stale
//! handles, operation state, and many threads signing at once on separate sessions.

mod common;

use common::external::{ec_point, ecdsa_verify_prehash, rsa_pkcs1_verify, rsa_public, Hash};
use common::keys::Curve;
use common::{Backend, Token};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::session::SessionState;
use cryptoki_sys::*;

fn data_object(token: bool, label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(token),
        Attribute::Private(false),
        Attribute::Label(label.into()),
        Attribute::Value(b"payload".to_vec()),
    ]
}

both_backends! {
    /// A read-only session reads and uses token objects but cannot create, generate,
    /// change or destroy them (CKR_SESSION_READ_ONLY); session objects are fine.
    fn read_only_session_rules(b: Backend) {
        let t = Token::new(b);
        let existing = ck!(t.session().create_object(&data_object(true, "rw-made")));
        let ro = t.open_ro();
        assert_eq!(ck!(ro.get_session_info()).session_state(), SessionState::RoUser);
        assert!(!ck!(ro.get_session_info()).read_write());

        assert_ckr!(ro.create_object(&data_object(true, "ro-token")), SessionReadOnly);
        let session_obj = ck!(ro.create_object(&data_object(false, "ro-session")));
        ck!(ro.destroy_object(session_obj));
        assert_ckr!(ro.destroy_object(existing), SessionReadOnly);
        assert_ckr!(
            ro.update_attributes(existing, &[Attribute::Label(b"renamed".to_vec())]),
            SessionReadOnly
        );
        assert_ckr!(
            ro.generate_key(
                &Mechanism::AesKeyGen,
                &[Attribute::Token(true), Attribute::ValueLen(16.into())]
            ),
            SessionReadOnly
        );
        assert_eq!(ck!(ro.find_objects(&[Attribute::Label(b"rw-made".to_vec())])), vec![existing]);

        // A key generated in the RW session signs from the RO one.
        let kp = t.gen_ec(Curve::P256);
        let digest = Hash::Sha256.digest(b"read-only signer");
        let sig = ck!(ro.sign(&Mechanism::Ecdsa, kp.private, &digest));
        assert!(ecdsa_verify_prehash(Curve::P256, &ec_point(&ro, kp.public), &digest, &sig));
    }

    /// CKF_SERIAL_SESSION is mandatory (CKR_SESSION_PARALLEL_NOT_SUPPORTED without it);
    /// a closed session's handle is CKR_SESSION_HANDLE_INVALID.
    fn session_flags_and_stale_handles(b: Backend) {
        let t = Token::new(b);
        let (rv, _) = t.raw.open_session(t.slot.id(), CKF_RW_SESSION);
        assert_ckr!(rv, SessionParallelNotSupported);
        let (rv, h) = t.raw.open_session(t.slot.id(), CKF_SERIAL_SESSION);
        assert_ok!(rv);
        assert_ok!(t.raw.session_info(h));
        assert_ok!(t.raw.close_session(h));
        assert_ckr!(t.raw.session_info(h), SessionHandleInvalid);
        assert_ckr!(t.raw.close_session(h), SessionHandleInvalid);
    }

    /// Session objects are visible to every session of the application and disappear
    /// with the session that created them.
    fn session_objects_die_with_their_session(b: Backend) {
        let t = Token::new(b);
        let other = t.open_rw();
        let obj = ck!(other.create_object(&data_object(false, "ephemeral")));
        assert_eq!(ck!(t.session().find_objects(&[Attribute::Label(b"ephemeral".to_vec())])), vec![obj]);
        drop(other);
        assert!(ck!(t.session().find_objects(&[Attribute::Label(b"ephemeral".to_vec())])).is_empty());
        assert_ckr!(
            t.session().get_attributes(obj, &[cryptoki::object::AttributeType::Label]),
            ObjectHandleInvalid
        );
    }

    /// One active operation per kind per session: update before init is
    /// CKR_OPERATION_NOT_INITIALIZED, a second init is CKR_OPERATION_ACTIVE, a finished
    /// operation is gone, and a failed call ends the operation.
    fn operation_state(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let key = t.gen_generic_secret(64);
        assert_ckr!(s.sign_update(b"x"), OperationNotInitialized);
        ck!(s.sign_init(&Mechanism::Sha256Hmac, key));
        assert_ckr!(s.sign_init(&Mechanism::Sha256Hmac, key), OperationActive);
        ck!(s.sign_update(b"abc"));
        let mac = ck!(s.sign_final());
        assert_eq!(mac.len(), 32);
        assert_ckr!(s.sign_update(b"x"), OperationNotInitialized);
        assert_ckr!(s.sign_final(), OperationNotInitialized);

        // Verification of the same MAC, multi-part.
        ck!(s.verify_init(&Mechanism::Sha256Hmac, key));
        ck!(s.verify_update(b"abc"));
        ck!(s.verify_final(&mac));

        // A verify that fails ends the operation.
        ck!(s.verify_init(&Mechanism::Sha256Hmac, key));
        ck!(s.verify_update(b"abd"));
        assert_ckr!(s.verify_final(&mac), SignatureInvalid);
        assert_ckr!(s.verify_update(b"x"), OperationNotInitialized);

        // A key of the wrong type for the mechanism: CKR_KEY_TYPE_INCONSISTENT.
        let aes = t.gen_aes(16);
        assert_ckr!(s.sign_init(&Mechanism::Sha256Hmac, aes), KeyTypeInconsistent);
        // A key without the usage attribute: CKR_KEY_FUNCTION_NOT_PERMITTED.
        let kp = t.gen_ec(Curve::P256);
        assert_ckr!(s.sign_init(&Mechanism::Ecdsa, kp.public), KeyFunctionNotPermitted | KeyTypeInconsistent);
        assert_ckr!(s.encrypt_init(&Mechanism::AesEcb, kp.private), KeyTypeInconsistent | KeyFunctionNotPermitted);
    }

    /// Eight threads, each with its own session, sign with two shared keys at once and
    /// generate keys of their own; every signature verifies elsewhere, no key is lost.
    fn many_threads_sign_at_once(b: Backend) {
        let t = Token::new(b);
        let ec = t.gen_ec(Curve::P256);
        let rsa = t.gen_rsa(2048);
        let point = ec_point(t.session(), ec.public);
        let rsa_pk = rsa_public(t.session(), rsa.public);
        const THREADS: usize = 8;
        const ROUNDS: usize = 12;
        // Each thread hands its session back, so its session objects outlive the thread.
        let _sessions: Vec<cryptoki::session::Session> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS).map(|i| {
                let ctx = &t.ctx;
                let slot = t.slot;
                let point = &point;
                let rsa_pk = &rsa_pk;
                scope.spawn(move || {
                    let s = ck!(ctx.open_rw_session(slot));
                    for r in 0..ROUNDS {
                        let msg = format!("thread {i} round {r}");
                        let digest = Hash::Sha256.digest(msg.as_bytes());
                        let sig = ck!(s.sign(&Mechanism::Ecdsa, ec.private, &digest));
                        assert!(ecdsa_verify_prehash(Curve::P256, point, &digest, &sig), "thread {i} round {r}: ECDSA");
                        if r % 4 == 0 {
                            let sig = ck!(s.sign(&Mechanism::Sha256RsaPkcs, rsa.private, msg.as_bytes()));
                            assert!(rsa_pkcs1_verify(rsa_pk, Hash::Sha256, msg.as_bytes(), &sig), "thread {i} round {r}: RSA");
                        }
                    }
                    let label = format!("thread-key-{i}");
                    // SoftHSM2's file store loses concurrent token-object writes from one
                    // process (SoftHSMv2 issue #573), so its keys here are session objects.
                    let on_token = b == Backend::Pqhsm;
                    ck!(s.generate_key(&Mechanism::AesKeyGen, &[
                        Attribute::Token(on_token),
                        Attribute::Label(label.clone().into_bytes()),
                        Attribute::ValueLen(32.into()),
                        Attribute::Encrypt(true),
                        Attribute::Decrypt(true),
                    ]));
                    let found = ck!(s.find_objects(&[Attribute::Label(label.into_bytes())]));
                    assert_eq!(found.len(), 1, "thread {i}: its own key");
                    s
                })
            }).collect();
            handles.into_iter().map(|h| h.join().expect("signing thread")).collect()
        });
        if b == Backend::SoftHsm2 {
            common::note("SoftHSM2: per-thread keys are session objects (its file store races on concurrent token writes, SoftHSMv2 issue #573)");
        }
        for i in 0..THREADS {
            let found = ck!(t.session().find_objects(&[Attribute::Label(format!("thread-key-{i}").into_bytes())]));
            assert_eq!(found.len(), 1, "key of thread {i} after all threads ended");
        }
    }
}
