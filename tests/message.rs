//! PKCS#11 3.0 message-based encryption with AES-GCM (C_MessageEncryptInit,
//! C_EncryptMessage, C_EncryptMessageBegin/Next, C_MessageEncryptFinal and the decrypt
//! side), through cryptoki's API. SoftHSM2 is a 2.40 module without it: pqhsm only.

mod common;

use common::gcm_tc4::{AAD, CT, IV, KEY, PT, TAG};
use common::unhex;

use common::keys::import_secret;
use common::Token;
use cryptoki::context::Function;
use cryptoki::mechanism::aead::{GcmMessageParams, GeneratorFunction};
use cryptoki::mechanism::{Mechanism, MessageParam};
use cryptoki::object::KeyType;
use cryptoki_sys::*;

fn message_functions(t: &Token) {
    for f in [
        Function::MessageEncryptInit,
        Function::EncryptMessage,
        Function::EncryptMessageBegin,
        Function::EncryptMessageNext,
        Function::MessageEncryptFinal,
        Function::MessageDecryptInit,
        Function::DecryptMessage,
        Function::DecryptMessageBegin,
        Function::DecryptMessageNext,
        Function::MessageDecryptFinal,
    ] {
        assert!(
            t.ctx.is_fn_supported(f),
            "pqhsm's 3.0 interface must provide {f:?}"
        );
    }
}

pqhsm_only! {
    /// One-shot messages: the known answer with a caller IV, then module-generated IVs
    /// (CKG_GENERATE_RANDOM) that differ per message and decrypt; a bad tag is refused.
    fn gcm_message_one_shot(b: Backend) {
        let t = Token::new(b);
        message_functions(&t);
        let s = t.session();
        let key = import_secret(s, KeyType::AES, &unhex(KEY));
        let (aad, pt) = (unhex(AAD), unhex(PT));

        let mut iv = unhex(IV);
        let mut tag = [0u8; 16];
        let p = ck!(GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::NoGenerate, &mut tag));
        ck!(s.message_encrypt_init(&Mechanism::AesGcmMessage(p), key));
        let ct = ck!(s.encrypt_message(&MessageParam::AesGcmMessage(p), &aad, &pt));
        assert_eq!(hex::encode(&ct), CT);
        assert_eq!(hex::encode(tag), TAG);
        // A second message under the same init, another caller IV.
        let mut iv2 = [0x11u8; 12];
        let mut tag2 = [0u8; 16];
        let p2 = ck!(GcmMessageParams::new(&mut iv2, 0.into(), GeneratorFunction::NoGenerate, &mut tag2));
        let ct2 = ck!(s.encrypt_message(&MessageParam::AesGcmMessage(p2), b"", b"second message"));
        ck!(s.message_encrypt_final());

        let mut iv = unhex(IV);
        let mut tag_in: [u8; 16] = unhex(TAG).try_into().expect("16-byte tag");
        let p = ck!(GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::NoGenerate, &mut tag_in));
        ck!(s.message_decrypt_init(&Mechanism::AesGcmMessage(p), key));
        assert_eq!(ck!(s.decrypt_message(&MessageParam::AesGcmMessage(p), &aad, &ct)), pt);
        let p2 = ck!(GcmMessageParams::new(&mut iv2, 0.into(), GeneratorFunction::NoGenerate, &mut tag2));
        assert_eq!(ck!(s.decrypt_message(&MessageParam::AesGcmMessage(p2), b"", &ct2)), b"second message");
        let mut bad_tag = tag2;
        bad_tag[0] ^= 1;
        let pbad = ck!(GcmMessageParams::new(&mut iv2, 0.into(), GeneratorFunction::NoGenerate, &mut bad_tag));
        assert_ckr!(s.decrypt_message(&MessageParam::AesGcmMessage(pbad), b"", &ct2), EncryptedDataInvalid);
        ck!(s.message_decrypt_final());

        // The module generates the IV.
        let k = t.gen_aes(32);
        let mut seen = Vec::new();
        let mut iv_init = [0u8; 12];
        let mut tag_init = [0u8; 16];
        let pinit = ck!(GcmMessageParams::new(&mut iv_init, 0.into(), GeneratorFunction::GenerateRandom, &mut tag_init));
        ck!(s.message_encrypt_init(&Mechanism::AesGcmMessage(pinit), k));
        let mut sealed = Vec::new();
        for i in 0..3u8 {
            let mut iv = [0u8; 12];
            let mut tag = [0u8; 16];
            let p = ck!(GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::GenerateRandom, &mut tag));
            let ct = ck!(s.encrypt_message(&MessageParam::AesGcmMessage(p), &[i], b"same plaintext"));
            assert_ne!(iv, [0u8; 12], "message {i}: the generated IV was not written back");
            assert!(!seen.contains(&iv), "message {i}: IV repeated");
            seen.push(iv);
            sealed.push((iv, tag, ct));
        }
        ck!(s.message_encrypt_final());
        ck!(s.message_decrypt_init(&Mechanism::AesGcmMessage(pinit), k));
        for (i, (mut iv, mut tag, ct)) in sealed.into_iter().enumerate() {
            let p = ck!(GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::NoGenerate, &mut tag));
            assert_eq!(ck!(s.decrypt_message(&MessageParam::AesGcmMessage(p), &[i as u8], &ct)), b"same plaintext");
        }
        ck!(s.message_decrypt_final());
    }

    /// Multi-part messages: Begin, Next..., Next with CKF_END_OF_MESSAGE; the known answer
    /// again, and the decrypt side in parts.
    fn gcm_message_in_parts(b: Backend) {
        let t = Token::new(b);
        message_functions(&t);
        let s = t.session();
        let key = import_secret(s, KeyType::AES, &unhex(KEY));
        let (aad, pt) = (unhex(AAD), unhex(PT));

        let mut iv = unhex(IV);
        let mut tag = [0u8; 16];
        let p = ck!(GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::NoGenerate, &mut tag));
        ck!(s.message_encrypt_init(&Mechanism::AesGcmMessage(p), key));
        ck!(s.encrypt_message_begin(MessageParam::AesGcmMessage(p), &aad));
        let mut ct = Vec::new();
        let parts: Vec<&[u8]> = pt.chunks(17).collect();
        for (i, part) in parts.iter().enumerate() {
            ct.extend(ck!(s.encrypt_message_next(MessageParam::AesGcmMessage(p), part, i + 1 == parts.len())));
        }
        ck!(s.message_encrypt_final());
        assert_eq!(hex::encode(&ct), CT);
        assert_eq!(hex::encode(tag), TAG);

        let mut iv = unhex(IV);
        let mut tag_in: [u8; 16] = unhex(TAG).try_into().expect("16-byte tag");
        let p = ck!(GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::NoGenerate, &mut tag_in));
        ck!(s.message_decrypt_init(&Mechanism::AesGcmMessage(p), key));
        ck!(s.decrypt_message_begin(MessageParam::AesGcmMessage(p), &aad));
        let mut back = Vec::new();
        let parts: Vec<&[u8]> = ct.chunks(23).collect();
        for (i, part) in parts.iter().enumerate() {
            back.extend(ck!(s.decrypt_message_next(MessageParam::AesGcmMessage(p), part, i + 1 == parts.len())));
        }
        ck!(s.message_decrypt_final());
        assert_eq!(back, pt);
    }

    /// C_EncryptMessageNext by hand: with buffers large enough, and with a NULL-buffer
    /// length query before each part (which must not consume the part, PKCS#11 5.2), the
    /// parts concatenate to the known answer.
    fn gcm_message_next_length_queries(b: Backend) {
        let t = Token::new(b);
        message_functions(&t);
        let s = t.session();
        let key = import_secret(s, KeyType::AES, &unhex(KEY));
        let (aad, pt) = (unhex(AAD), unhex(PT));
        for query_first in [false, true] {
            let mut iv = unhex(IV);
            let mut tag = [0u8; 16];
            let p = ck!(GcmMessageParams::new(&mut iv, 0.into(), GeneratorFunction::NoGenerate, &mut tag));
            ck!(s.message_encrypt_init(&Mechanism::AesGcmMessage(p), key));
            ck!(s.encrypt_message_begin(MessageParam::AesGcmMessage(p), &aad));
            let mut raw = CK_GCM_MESSAGE_PARAMS {
                pIv: iv.as_mut_ptr(),
                ulIvLen: 12,
                ulIvFixedBits: 0,
                ivGenerator: CKG_NO_GENERATE,
                pTag: tag.as_mut_ptr(),
                ulTagBits: 128,
            };
            let parts: Vec<&[u8]> = pt.chunks(17).collect();
            let mut ct = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                if query_first {
                    let q = t.raw.encrypt_message_next(s, &mut raw, part, last, None);
                    assert_ok!(q);
                }
                // A module may hold parts back (GCM output can wait for the end): room for all.
                let cap = pt.len() + 16;
                let out = t.raw.encrypt_message_next(s, &mut raw, part, last, Some(cap));
                let what = format!(
                    "C_EncryptMessageNext part {i} ({} bytes, last {last}) into {cap} bytes, module reports {} bytes",
                    part.len(),
                    out.len
                );
                ct.extend(out.ok(&what));
            }
            ck!(s.message_encrypt_final());
            let how = if query_first { "with a length query before each part" } else { "with pre-sized buffers" };
            assert_eq!(hex::encode(&ct), CT, "ciphertext {how}");
            assert_eq!(hex::encode(tag), TAG, "tag {how}");
        }
    }
}
