//! The PKCS#11 output convention (section 5.2) for every call that returns bytes: a NULL
//! buffer asks for the length and leaves the operation active; a buffer too small is
//! CKR_BUFFER_TOO_SMALL with the needed length and the operation still active; a large
//! enough buffer gets the bytes and ends a single-part or final call.

mod common;

use common::external::{ec_point, ecdsa_verify_prehash, rsa_pkcs1_verify, rsa_public, Hash};
use common::keys::{import_secret, Curve};
use common::raw::{Cap, RawOut};
use common::Token;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::KeyType;

/// Drive one output call through query, too-small, exact; return the bytes. `exact`
/// is the true output length when the caller knows it.
fn convention(what: &str, exact: Option<usize>, mut call: impl FnMut(Cap) -> RawOut) -> Vec<u8> {
    let q = call(None);
    assert_ok!(q);
    let announced = q.len;
    assert!(announced > 0, "{what}: length query answered 0");
    if let Some(n) = exact {
        assert!(
            announced >= n,
            "{what}: length query {announced} < output {n}"
        );
    }
    let small = call(Some(1));
    assert_ckr!(small, BufferTooSmall);
    assert!(
        small.len >= exact.unwrap_or(2),
        "{what}: CKR_BUFFER_TOO_SMALL reported {} bytes needed",
        small.len
    );
    let out = call(Some(announced));
    assert_ok!(out);
    if let Some(n) = exact {
        assert_eq!(out.data.len(), n, "{what}: output length");
    }
    out.data
}

both_backends! {
    /// C_Sign for ECDSA, RSA and HMAC, and C_SignFinal after updates.
    fn sign_output_lengths(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let ec = t.gen_ec(Curve::P256);
        let digest = Hash::Sha256.digest(b"length query");
        ck!(s.sign_init(&Mechanism::Ecdsa, ec.private));
        let sig = convention("C_Sign ECDSA", Some(64), |cap| t.raw.sign(s, &digest, cap));
        assert!(ecdsa_verify_prehash(Curve::P256, &ec_point(s, ec.public), &digest, &sig));
        assert_ckr!(t.raw.sign(s, &digest, Some(64)), OperationNotInitialized);

        let rsa = t.gen_rsa(2048);
        ck!(s.sign_init(&Mechanism::Sha256RsaPkcs, rsa.private));
        let sig = convention("C_Sign SHA256-RSA-PKCS", Some(256), |cap| t.raw.sign(s, b"msg", cap));
        assert!(rsa_pkcs1_verify(&rsa_public(s, rsa.public), Hash::Sha256, b"msg", &sig));
        assert_ckr!(t.raw.sign(s, b"msg", Some(256)), OperationNotInitialized);

        let key = import_secret(s, KeyType::GENERIC_SECRET, &[0xaau8; 131]);
        ck!(s.sign_init(&Mechanism::Sha384Hmac, key));
        ck!(s.sign_update(b"Test Using Larger Than Block-Size Key - "));
        ck!(s.sign_update(b"Hash Key First"));
        let mac = convention("C_SignFinal HMAC-SHA384", Some(48), |cap| t.raw.sign_final(s, cap));
        assert_eq!(hex::encode(mac), "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952");
        assert_ckr!(t.raw.sign_final(s, Some(48)), OperationNotInitialized);
    }

    /// C_Digest and C_DigestFinal.
    fn digest_output_lengths(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        ck!(s.digest_init(&Mechanism::Sha256));
        let d = convention("C_Digest SHA-256", Some(32), |cap| t.raw.digest(s, b"abc", cap));
        assert_eq!(d, Hash::Sha256.digest(b"abc"));
        assert_ckr!(t.raw.digest(s, b"abc", Some(32)), OperationNotInitialized);
        ck!(s.digest_init(&Mechanism::Sha384));
        ck!(s.digest_update(b"a"));
        ck!(s.digest_update(b"bc"));
        let d = convention("C_DigestFinal SHA-384", Some(48), |cap| t.raw.digest_final(s, cap));
        assert_eq!(d, Hash::Sha384.digest(b"abc"));
        assert_ckr!(t.raw.digest_final(s, Some(48)), OperationNotInitialized);
    }

    /// C_Encrypt/C_Decrypt single-part (AES-CBC-PAD, RSA) and C_EncryptFinal /
    /// C_DecryptFinal after updates that leave bytes buffered.
    fn cipher_output_lengths(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let key = t.gen_aes(32);
        let m = Mechanism::AesCbcPad([3u8; 16]);
        let data = [0x11u8; 20];
        ck!(s.encrypt_init(&m, key));
        let ct = convention("C_Encrypt AES-CBC-PAD", Some(32), |cap| t.raw.encrypt(s, &data, cap));
        assert_ckr!(t.raw.encrypt(s, &data, Some(32)), OperationNotInitialized);
        ck!(s.decrypt_init(&m, key));
        let pt = convention("C_Decrypt AES-CBC-PAD", Some(20), |cap| t.raw.decrypt(s, &ct, cap));
        assert_eq!(pt, data);

        // Multi-part: 20 bytes in, one block out of the update, one block from the final.
        ck!(s.encrypt_init(&m, key));
        let first = t.raw.encrypt_update(s, &data, Some(64)).ok("C_EncryptUpdate");
        assert_eq!(first.len(), 16);
        let last = convention("C_EncryptFinal AES-CBC-PAD", Some(16), |cap| t.raw.encrypt_final(s, cap));
        assert_eq!([first, last].concat(), ct);
        assert_ckr!(t.raw.encrypt_final(s, Some(16)), OperationNotInitialized);

        ck!(s.decrypt_init(&m, key));
        let head = t.raw.decrypt_update(s, &ct, Some(64)).ok("C_DecryptUpdate");
        assert!(head.len() <= 16, "the last block is held back until the padding is known");
        let tail = convention("C_DecryptFinal AES-CBC-PAD", Some(20 - head.len()), |cap| t.raw.decrypt_final(s, cap));
        assert_eq!([head, tail].concat(), data);

        // An update that does not fill a block may output nothing; a query says so.
        ck!(s.encrypt_init(&m, key));
        let q = t.raw.encrypt_update(s, &data[..5], None);
        assert_ok!(q);
        let nothing = t.raw.encrypt_update(s, &data[..5], Some(q.len.max(1))).ok("C_EncryptUpdate of 5 bytes");
        assert!(nothing.is_empty(), "5 bytes of CBC-PAD input produced {} bytes", nothing.len());
        let fin = t.raw.encrypt_final(s, Some(16)).ok("C_EncryptFinal");
        assert_eq!(fin.len(), 16);

        let rsa = t.gen_rsa(2048);
        let ct = ck!(s.encrypt(&Mechanism::RsaPkcs, rsa.public, b"rsa plaintext"));
        ck!(s.decrypt_init(&Mechanism::RsaPkcs, rsa.private));
        let pt = convention("C_Decrypt RSA-PKCS", None, |cap| t.raw.decrypt(s, &ct, cap));
        assert_eq!(pt, b"rsa plaintext");
        ck!(s.encrypt_init(&Mechanism::RsaPkcs, rsa.public));
        let ct = convention("C_Encrypt RSA-PKCS", Some(256), |cap| t.raw.encrypt(s, b"again", cap));
        assert_eq!(ck!(s.decrypt(&Mechanism::RsaPkcs, rsa.private, &ct)), b"again");
    }
}
