//! RSA as clients use it: key generation at 2048/3072/4096 bits, PKCS#1 v1.5 and PSS
//! signatures (raw and hash-and-sign, single and multi-part), PKCS#1 v1.5 and OAEP
//! encryption. Every signature is also verified by the `rsa` crate.

mod common;

use common::external::{
    rsa_oaep_encrypt, rsa_pkcs1_encrypt, rsa_pkcs1_raw_verify, rsa_pkcs1_verify,
    rsa_pss_verify_prehash, rsa_public, Hash,
};
use common::keys::{attr_bool, attr_bytes, KeyPair};
use common::Token;
use cryptoki::mechanism::rsa::{PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki_sys::*;

const HASHES: [Hash; 3] = Hash::ALL;

/// Sign with SHA*-RSA-PKCS, check with the crate and the token, and see a flipped bit fail.
fn pkcs1_round(t: &Token, kp: KeyPair, h: Hash, msg: &[u8]) -> Vec<u8> {
    let s = t.session();
    let pk = rsa_public(s, kp.public);
    let sig = ck!(s.sign(&h.rsa_pkcs1(), kp.private, msg));
    assert!(
        rsa_pkcs1_verify(&pk, h, msg, &sig),
        "{h:?}-RSA-PKCS signature rejected by the rsa crate"
    );
    ck!(s.verify(&h.rsa_pkcs1(), kp.public, msg, &sig));
    let mut bad = sig.clone();
    bad[10] ^= 1;
    assert_ckr!(
        s.verify(&h.rsa_pkcs1(), kp.public, msg, &bad),
        SignatureInvalid
    );
    sig
}

fn check_rsa_key(t: &Token, kp: KeyPair, bits: usize) {
    let s = t.session();
    let n = attr_bytes(s, kp.public, AttributeType::Modulus);
    assert_eq!(n.len() * 8, bits, "CKA_MODULUS length");
    assert!(n[0] & 0x80 != 0, "modulus has its top bit set");
    assert_eq!(
        attr_bytes(s, kp.public, AttributeType::PublicExponent),
        vec![1, 0, 1]
    );
    let a = ck!(s.get_attributes(
        kp.public,
        &[
            AttributeType::ModulusBits,
            AttributeType::KeyType,
            AttributeType::Class
        ]
    ));
    assert!(
        a.contains(&Attribute::ModulusBits((bits as u64).into())),
        "{a:?}"
    );
    assert!(a.contains(&Attribute::KeyType(KeyType::RSA)));
    assert!(a.contains(&Attribute::Class(ObjectClass::PUBLIC_KEY)));
    let a = ck!(s.get_attributes(
        kp.private,
        &[
            AttributeType::KeyType,
            AttributeType::Class,
            AttributeType::Modulus
        ]
    ));
    assert!(a.contains(&Attribute::Class(ObjectClass::PRIVATE_KEY)));
    assert!(
        a.contains(&Attribute::Modulus(n)),
        "private and public halves share the modulus"
    );
    assert!(attr_bool(s, kp.private, AttributeType::Local));
}

both_backends! {
    /// 2048 and 3072-bit key pairs: attributes, and each signs verifiably.
    fn rsa_keygen_2048_and_3072(b: Backend) {
        let t = Token::new(b);
        for bits in [2048, 3072] {
            let kp = t.gen_rsa(bits as u64);
            check_rsa_key(&t, kp, bits);
            pkcs1_round(&t, kp, Hash::Sha256, b"RSA keygen check");
        }
    }

    /// One 4096-bit key (slow to make): PKCS#1 v1.5, PSS and OAEP all work with it.
    fn rsa_4096(b: Backend) {
        let t = Token::new(b);
        let kp = t.gen_rsa(4096);
        check_rsa_key(&t, kp, 4096);
        pkcs1_round(&t, kp, Hash::Sha512, b"4096-bit signature");
        let s = t.session();
        let pk = rsa_public(s, kp.public);
        let sig = ck!(s.sign(&Mechanism::Sha512RsaPkcsPss(Hash::Sha512.pss(64)), kp.private, b"pss 4096"));
        assert!(rsa_pss_verify_prehash(&pk, Hash::Sha512, &Hash::Sha512.digest(b"pss 4096"), 64, &sig));
        let ct = rsa_pkcs1_encrypt(&pk, b"to a 4096-bit key");
        assert_eq!(ck!(s.decrypt(&Mechanism::RsaPkcs, kp.private, &ct)), b"to a 4096-bit key");
    }

    /// CKM_RSA_PKCS over a DigestInfo and CKM_SHA*_RSA_PKCS over the message give the
    /// same (deterministic) signature; both verify with the rsa crate; wrong lengths and
    /// wrong hashes fail.
    fn rsa_pkcs1_v15_signatures(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let kp = t.gen_rsa(2048);
        let pk = rsa_public(s, kp.public);
        let msg = b"PKCS#1 v1.5 signature test message";
        for h in HASHES {
            let sig = pkcs1_round(&t, kp, h, msg);
            assert_eq!(sig.len(), 256);
            let mut digest_info = h.digest_info_prefix().to_vec();
            digest_info.extend(h.digest(msg));
            let raw = ck!(s.sign(&Mechanism::RsaPkcs, kp.private, &digest_info));
            assert_eq!(raw, sig, "{h:?}: CKM_RSA_PKCS over the DigestInfo equals hash-and-sign");
            assert!(rsa_pkcs1_raw_verify(&pk, &digest_info, &raw));
            ck!(s.verify(&Mechanism::RsaPkcs, kp.public, &digest_info, &raw));
            assert_ckr!(s.verify(&h.rsa_pkcs1(), kp.public, b"another message", &sig), SignatureInvalid);
            assert_ckr!(s.verify(&h.rsa_pkcs1(), kp.public, msg, &sig[..255]), SignatureLenRange | SignatureInvalid);
        }
        let other = if HASHES[0] == Hash::Sha256 { Hash::Sha384 } else { Hash::Sha256 };
        let sig = ck!(s.sign(&Hash::Sha256.rsa_pkcs1(), kp.private, msg));
        assert_ckr!(s.verify(&other.rsa_pkcs1(), kp.public, msg, &sig), SignatureInvalid);
        // Raw CKM_RSA_PKCS input longer than k-11 bytes.
        assert_spec!(b, s.sign(&Mechanism::RsaPkcs, kp.private, &[1u8; 246]), DataLenRange; softhsm2: GeneralError);
    }

    /// PSS: CKM_RSA_PKCS_PSS over a hash and CKM_SHA*_RSA_PKCS_PSS over the message,
    /// salt = hash length and salt = 0; randomised; verified by the rsa crate.
    fn rsa_pss_signatures(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let kp = t.gen_rsa(2048);
        let pk = rsa_public(s, kp.public);
        let msg = b"PSS signature test message";
        for h in HASHES {
            let digest = h.digest(msg);
            for salt in [h.len(), 0] {
                let p = h.pss(salt);
                let sig = ck!(s.sign(&Mechanism::RsaPkcsPss(p), kp.private, &digest));
                assert!(rsa_pss_verify_prehash(&pk, h, &digest, salt, &sig), "{h:?} salt {salt}: CKM_RSA_PKCS_PSS");
                ck!(s.verify(&Mechanism::RsaPkcsPss(p), kp.public, &digest, &sig));
                let sig2 = ck!(s.sign(&h.rsa_pss(p), kp.private, msg));
                assert!(rsa_pss_verify_prehash(&pk, h, &digest, salt, &sig2), "{h:?} salt {salt}: hash-and-sign PSS");
                ck!(s.verify(&h.rsa_pss(p), kp.public, msg, &sig2));
                if salt > 0 {
                    assert_ne!(sig, sig2, "PSS with a salt is randomised");
                }
                let mut bad = sig2.clone();
                bad[0] ^= 0x01;
                assert_ckr!(s.verify(&h.rsa_pss(p), kp.public, msg, &bad), SignatureInvalid);
            }
            // A hash of the wrong length for CKM_RSA_PKCS_PSS.
            assert_spec!(
                b,
                s.sign(&Mechanism::RsaPkcsPss(h.pss(h.len())), kp.private, &digest[1..]),
                DataLenRange | DataInvalid; softhsm2: GeneralError
            );
        }
    }

    /// Multi-part hash-and-sign equals single-part (PKCS#1 v1.5 is deterministic); PSS
    /// multi-part verifies with the crate.
    fn rsa_multipart_sign_verify(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let kp = t.gen_rsa(2048);
        let pk = rsa_public(s, kp.public);
        let msg: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        let single = ck!(s.sign(&Mechanism::Sha256RsaPkcs, kp.private, &msg));
        ck!(s.sign_init(&Mechanism::Sha256RsaPkcs, kp.private));
        for chunk in msg.chunks(333) {
            ck!(s.sign_update(chunk));
        }
        assert_eq!(ck!(s.sign_final()), single);
        ck!(s.verify_init(&Mechanism::Sha256RsaPkcs, kp.public));
        for chunk in msg.chunks(1000) {
            ck!(s.verify_update(chunk));
        }
        ck!(s.verify_final(&single));

        let p = Hash::Sha384.pss(48);
        ck!(s.sign_init(&Mechanism::Sha384RsaPkcsPss(p), kp.private));
        for chunk in msg.chunks(64) {
            ck!(s.sign_update(chunk));
        }
        let sig = ck!(s.sign_final());
        assert!(rsa_pss_verify_prehash(&pk, Hash::Sha384, &Hash::Sha384.digest(&msg), 48, &sig));
        ck!(s.verify_init(&Mechanism::Sha384RsaPkcsPss(p), kp.public));
        ck!(s.verify_update(&msg));
        let mut bad = sig.clone();
        bad[100] ^= 4;
        assert_ckr!(s.verify_final(&bad), SignatureInvalid);
    }

    /// PKCS#1 v1.5 encryption: the token decrypts what it and the rsa crate encrypt;
    /// oversized input and garbage ciphertexts fail.
    fn rsa_pkcs1_v15_encryption(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        let kp = t.gen_rsa(2048);
        let pk = rsa_public(s, kp.public);
        let msg = b"a short secret";
        let ct = ck!(s.encrypt(&Mechanism::RsaPkcs, kp.public, msg));
        assert_eq!(ct.len(), 256);
        assert_eq!(ck!(s.decrypt(&Mechanism::RsaPkcs, kp.private, &ct)), msg);
        let ct2 = ck!(s.encrypt(&Mechanism::RsaPkcs, kp.public, msg));
        assert_ne!(ct, ct2, "PKCS#1 v1.5 encryption is randomised");
        let ct3 = rsa_pkcs1_encrypt(&pk, msg);
        assert_eq!(ck!(s.decrypt(&Mechanism::RsaPkcs, kp.private, &ct3)), msg);
        assert_spec!(b, s.encrypt(&Mechanism::RsaPkcs, kp.public, &[7u8; 246]), DataLenRange; softhsm2: GeneralError);
        let max = ck!(s.encrypt(&Mechanism::RsaPkcs, kp.public, &[7u8; 245]));
        assert_eq!(ck!(s.decrypt(&Mechanism::RsaPkcs, kp.private, &max)), vec![7u8; 245]);
        let mut garbage = ct.clone();
        garbage[0] = 0;
        garbage[1] ^= 0x55;
        garbage[200] ^= 0x55;
        // Bad padding: PKCS#11 names CKR_ENCRYPTED_DATA_INVALID. A module with implicit
        // rejection (draft-irtf-cfrg-rsa-guidance; pqhsm documents it in SECURITY.md)
        // answers CKR_OK with a synthetic message instead: the same for the same
        // ciphertext, never the original message.
        match s.decrypt(&Mechanism::RsaPkcs, kp.private, &garbage) {
            Ok(synthetic) => {
                assert_ne!(synthetic, msg.to_vec(), "a corrupted ciphertext decrypted to the message");
                assert_eq!(
                    ck!(s.decrypt(&Mechanism::RsaPkcs, kp.private, &garbage)),
                    synthetic,
                    "implicit rejection must be deterministic"
                );
                common::note(&format!(
                    "{b}: CKM_RSA_PKCS decryption uses implicit rejection (CKR_OK and a synthetic message for bad padding)"
                ));
            }
            r => assert_spec!(b, r, EncryptedDataInvalid; softhsm2: GeneralError),
        }
        assert_spec!(b, s.decrypt(&Mechanism::RsaPkcs, kp.private, &ct[..255]), EncryptedDataLenRange; softhsm2: GeneralError);
    }

    /// OAEP with SHA-256 (MGF1-SHA-256) and a label: the token decrypts what the rsa crate
    /// encrypts, and its own ciphertexts; a wrong label fails.
    fn rsa_oaep_encryption(b: Backend) {
        let t = Token::new(b);
        if !t.require(&[CKM_RSA_PKCS_OAEP]) {
            return;
        }
        let s = t.session();
        let kp = t.gen_rsa(2048);
        let pk = rsa_public(s, kp.public);
        let label = b"oaep label";
        let oaep = |l: &'static [u8]| {
            Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
                Hash::Sha256.mechanism_type(),
                Hash::Sha256.mgf1(),
                if l.is_empty() { PkcsOaepSource::empty() } else { PkcsOaepSource::data_specified(l) },
            ))
        };
        let ct = rsa_oaep_encrypt(&pk, Hash::Sha256, label, b"OAEP secret");
        let r = s.decrypt(&oaep(label), kp.private, &ct);
        if t.backend == common::Backend::SoftHsm2 && r.is_err() {
            common::note(&format!("SoftHSM2 refuses OAEP with SHA-256 and a label: {}", common::Outcomes::outcome(&r)));
            return;
        }
        assert_eq!(ck!(r), b"OAEP secret");
        let own = ck!(s.encrypt(&oaep(label), kp.public, b"from the token"));
        assert_eq!(ck!(s.decrypt(&oaep(label), kp.private, &own)), b"from the token");
        assert_ckr!(s.decrypt(&oaep(b"another label"), kp.private, &ct), EncryptedDataInvalid);
        let no_label = rsa_oaep_encrypt(&pk, Hash::Sha256, b"", b"no label");
        assert_eq!(ck!(s.decrypt(&oaep(b""), kp.private, &no_label)), b"no label");
        // k - 2*hLen - 2 = 190 bytes is the most OAEP-SHA-256 carries in a 2048-bit key.
        ck!(s.encrypt(&oaep(b""), kp.public, &[1u8; 190]));
        assert_ckr!(s.encrypt(&oaep(b""), kp.public, &[1u8; 191]), DataLenRange);
    }
}
