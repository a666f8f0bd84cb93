//! AES tests: known answers and round trips of every mode with announced lengths checked,
//! and the Wycheproof GCM, KW and KWP files through the mechanism API.

use super::*;
use crate::mech::test_support::{one_shot, run_parts};
use crate::mech::wycheproof_tests::{run, Case};
use crate::mech::{
    decrypt_init, encrypt_init, gcm_open, gcm_seal, sign_init, unwrap, verify_init, wrap, wrap_len,
};

fn key(v: &[u8]) -> KeyMaterial {
    crate::mech::test_support::secret(ck::CKK_AES, v)
}

fn mech(ty: ck::CK_MECHANISM_TYPE, param: MechParam) -> Mechanism {
    Mechanism { ty, param }
}

#[test]
fn fips197_ecb_vector() {
    let k = key(&hex::decode("000102030405060708090a0b0c0d0e0f").unwrap());
    let pt = hex::decode("00112233445566778899aabbccddeeff").unwrap();
    let m = mech(ck::CKM_AES_ECB, MechParam::None);
    let ct = one_shot(encrypt_init(&m, &k), &pt).unwrap();
    assert_eq!(hex::encode(&ct), "69c4e0d86a7b0430d8cdb78070b4c55a");
    assert_eq!(one_shot(decrypt_init(&m, &k), &ct).unwrap(), pt);
}

#[test]
fn cbc_pad_round_trips_every_length_and_chunking() {
    let k = key(&[3u8; 32]);
    let m = mech(ck::CKM_AES_CBC_PAD, MechParam::Bytes(vec![9u8; 16]));
    for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100] {
        let pt: Vec<u8> = (0..len as u8).collect();
        let whole = one_shot(encrypt_init(&m, &k), &pt).unwrap();
        assert_eq!(whole.len(), (len / 16 + 1) * 16);
        for chunk in [1, 5, 16, 40] {
            let ct = run_parts(encrypt_init(&m, &k).unwrap(), &pt, chunk).unwrap();
            assert_eq!(ct, whole);
            assert_eq!(
                run_parts(decrypt_init(&m, &k).unwrap(), &ct, chunk).unwrap(),
                pt
            );
        }
    }
}

#[test]
fn cbc_pad_rejects_bad_padding_and_truncation() {
    let k = key(&[3u8; 16]);
    let m = mech(ck::CKM_AES_CBC_PAD, MechParam::Bytes(vec![0u8; 16]));
    let mut ct = one_shot(encrypt_init(&m, &k), b"hello").unwrap();
    let e = one_shot(decrypt_init(&m, &k), &ct[..15]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EncryptedDataLenRange);
    // Decrypting the padded block with raw CBC shows the padding; corrupt it instead.
    let raw = mech(ck::CKM_AES_CBC, MechParam::Bytes(vec![0u8; 16]));
    let mut padded = one_shot(decrypt_init(&raw, &k), &ct).unwrap();
    padded[15] = 0;
    ct = one_shot(encrypt_init(&raw, &k), &padded).unwrap();
    let e = one_shot(decrypt_init(&m, &k), &ct).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EncryptedDataInvalid);
}

#[test]
fn cbc_without_padding_needs_whole_blocks() {
    let k = key(&[1u8; 24]);
    let m = mech(ck::CKM_AES_CBC, MechParam::Bytes(vec![0u8; 16]));
    let e = one_shot(encrypt_init(&m, &k), &[0u8; 17]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataLenRange);
    let ct = run_parts(encrypt_init(&m, &k).unwrap(), &[5u8; 48], 7).unwrap();
    assert_eq!(
        run_parts(decrypt_init(&m, &k).unwrap(), &ct, 13).unwrap(),
        vec![5u8; 48]
    );
    let bad = mech(ck::CKM_AES_CBC, MechParam::Bytes(vec![0u8; 8]));
    assert_eq!(
        encrypt_init(&bad, &k).err().unwrap().kind(),
        ErrorKind::MechanismParamInvalid
    );
}

#[test]
fn sp800_38a_ctr_vector_and_counter_limit() {
    let k = key(&hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap());
    let cb: [u8; 16] = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
        .unwrap()
        .try_into()
        .unwrap();
    let m = mech(
        ck::CKM_AES_CTR,
        MechParam::Ctr {
            counter_bits: 128,
            cb,
        },
    );
    let pt =
        hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51").unwrap();
    let ct = run_parts(encrypt_init(&m, &k).unwrap(), &pt, 7).unwrap();
    assert_eq!(
        hex::encode(&ct),
        "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
    );
    assert_eq!(
        run_parts(decrypt_init(&m, &k).unwrap(), &ct, 32).unwrap(),
        pt
    );
    // An 8-bit counter at 0xff has one block left before it would wrap.
    let m = mech(
        ck::CKM_AES_CTR,
        MechParam::Ctr {
            counter_bits: 8,
            cb,
        },
    );
    assert_eq!(one_shot(encrypt_init(&m, &k), &pt[..16]).unwrap(), ct[..16]);
    let e = one_shot(encrypt_init(&m, &k), &pt[..17]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataLenRange);
    // Across updates too, and for a full 128-bit counter at its last value.
    let m = mech(
        ck::CKM_AES_CTR,
        MechParam::Ctr {
            counter_bits: 128,
            cb: [0xff; 16],
        },
    );
    let mut op = encrypt_init(&m, &k).unwrap();
    op.update(&pt[..10]).unwrap();
    op.update(&pt[10..16]).unwrap();
    assert_eq!(
        op.update(&pt[16..17]).unwrap_err().kind(),
        ErrorKind::DataLenRange
    );
}

fn gcm(iv: &[u8], aad: &[u8], tag_bits: u64) -> Mechanism {
    mech(
        ck::CKM_AES_GCM,
        MechParam::Gcm {
            iv: iv.to_vec(),
            aad: aad.to_vec(),
            tag_bits,
        },
    )
}

#[test]
fn gcm_multi_part_holds_plaintext_until_the_tag_is_checked() {
    let k = key(&[7u8; 16]);
    let m = gcm(&[1u8; 12], b"header", 128);
    let pt = vec![0x42u8; 50];
    let ct = run_parts(encrypt_init(&m, &k).unwrap(), &pt, 7).unwrap();
    assert_eq!(ct.len(), 66);
    let mut op = decrypt_init(&m, &k).unwrap();
    for part in ct.chunks(9) {
        assert_eq!(op.update_len(part.len()), 0);
        assert!(op.update(part).unwrap().is_empty());
    }
    assert_eq!(op.final_len(), 50);
    assert_eq!(*op.finish().unwrap(), pt);
    let mut bad = ct.clone();
    bad[3] ^= 1;
    let e = one_shot(decrypt_init(&m, &k), &bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EncryptedDataInvalid);
    let e = one_shot(decrypt_init(&m, &k), &ct[..10]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::EncryptedDataLenRange);
}

#[test]
fn gcm_general_path_agrees_with_aes_gcm_and_truncates() {
    for klen in [16, 24, 32] {
        let kb = vec![klen as u8; klen];
        let k = key(&kb);
        let (iv, aad, pt) = (
            [9u8; 12],
            b"aad".to_vec(),
            b"some plaintext of 31 bytes long".to_vec(),
        );
        let (ct, tag) = gcm_seal(&k, &iv, &aad, &pt, 16).unwrap();
        let mut buf = pt.clone();
        let t = with_general(&kb, &iv, &aad, &mut buf).unwrap();
        assert_eq!((buf, t.to_vec()), (ct.clone(), tag.clone()));
        for tag_len in GCM_TAG_LENS {
            let (ct2, tag2) = gcm_seal(&k, &iv, &aad, &pt, tag_len).unwrap();
            assert_eq!((&ct2, &tag2[..]), (&ct, &tag[..tag_len]));
            assert_eq!(*gcm_open(&k, &iv, &aad, &ct2, &tag2).unwrap(), pt);
            let mut bad = tag2.clone();
            bad[0] ^= 0x80;
            assert_eq!(
                gcm_open(&k, &iv, &aad, &ct2, &bad).unwrap_err().kind(),
                ErrorKind::EncryptedDataInvalid
            );
        }
    }
    let k = key(&[1u8; 16]);
    assert_eq!(
        gcm_seal(&k, &[0u8; 12], b"", b"", 11).unwrap_err().kind(),
        ErrorKind::MechanismParamInvalid
    );
    assert_eq!(
        gcm_seal(&k, &[], b"", b"", 16).unwrap_err().kind(),
        ErrorKind::MechanismParamInvalid
    );
}

fn with_general(key: &[u8], iv: &[u8], aad: &[u8], data: &mut [u8]) -> Result<[u8; 16]> {
    with_aes!(key, |C| gcm_general::<C>(key, iv, aad, data, None))
}

#[test]
fn rfc4493_cmac_and_general_length() {
    let k = key(&hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap());
    let msg = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
    let mut op = sign_init(&mech(ck::CKM_AES_CMAC, MechParam::None), &k).unwrap();
    op.update(&msg).unwrap();
    let mac = op.finish().unwrap();
    assert_eq!(hex::encode(&mac), "070a16b46b4d4144f79bdd9dd04a287c");
    let g = mech(ck::CKM_AES_CMAC_GENERAL, MechParam::MacLen(8));
    let mut v = verify_init(&g, &k).unwrap();
    v.update(&msg).unwrap();
    v.finish(&mac[..8]).unwrap();
    let mut v = verify_init(&g, &k).unwrap();
    v.update(&msg[1..]).unwrap();
    assert_eq!(
        v.finish(&mac[..8]).unwrap_err().kind(),
        ErrorKind::SignatureInvalid
    );
}

#[test]
fn rfc3394_and_rfc5649_wrap_through_wrap_and_encrypt() {
    let kek = key(&hex::decode("000102030405060708090A0B0C0D0E0F").unwrap());
    let data = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
    let m = mech(ck::CKM_AES_KEY_WRAP, MechParam::None);
    let w = wrap(&m, &kek, &data).unwrap();
    assert_eq!(
        hex::encode(&w),
        "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"
    );
    assert_eq!(wrap_len(&m, &kek, data.len()).unwrap(), w.len());
    assert_eq!(*unwrap(&m, &kek, &w).unwrap(), data);
    assert_eq!(one_shot(encrypt_init(&m, &kek), &data).unwrap(), w);
    let mut bad = w.clone();
    bad[5] ^= 1;
    assert_eq!(
        unwrap(&m, &kek, &bad).unwrap_err().kind(),
        ErrorKind::WrappedKeyInvalid
    );
    assert_eq!(
        wrap(&m, &kek, &data[..12]).unwrap_err().kind(),
        ErrorKind::KeySizeRange
    );

    let kek = key(&hex::decode("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8").unwrap());
    let m = mech(ck::CKM_AES_KEY_WRAP_KWP, MechParam::None);
    let w = wrap(&m, &kek, &hex::decode("466f7250617369").unwrap()).unwrap();
    assert_eq!(hex::encode(&w), "afbeb0f07dfbf5419200f2ccb50bb24f");
    assert_eq!(wrap_len(&m, &kek, 7).unwrap(), 16);
    assert_eq!(
        hex::encode(&*unwrap(&m, &kek, &w).unwrap()),
        "466f7250617369"
    );
}

#[test]
fn generate_key_respects_value_len() {
    use crate::attr::Attr;
    use crate::mech::generate_key;
    let m = Mechanism::new(ck::CKM_AES_KEY_GEN);
    for (len, ok) in [(16, true), (24, true), (32, true), (20, false), (64, false)] {
        let t = Template::new(vec![Attr::ulong(ck::CKA_VALUE_LEN, len)]).unwrap();
        match generate_key(&m, &t) {
            Ok((kt, attrs)) => {
                assert!(ok);
                assert_eq!(kt, ck::CKK_AES);
                assert_eq!(attrs.secret[0].value.len(), len as usize);
            }
            Err(e) => {
                assert!(!ok);
                assert_eq!(e.kind(), ErrorKind::KeySizeRange);
            }
        }
    }
}

#[test]
fn wycheproof_aes_gcm() {
    let t = run("aes_gcm_test.json", |c: &Case| {
        let k = key(&c.hex("key"));
        let m = gcm(&c.hex("iv"), &c.hex("aad"), c.num("tagSize"));
        let (msg, mut ct) = (c.hex("msg"), c.hex("ct"));
        ct.extend_from_slice(&c.hex("tag"));
        let opened = one_shot(decrypt_init(&m, &k), &ct);
        let accepted = opened.is_ok_and(|pt| pt == msg);
        if c.result() == "valid" {
            let sealed = one_shot(encrypt_init(&m, &k), &msg);
            assert_eq!(
                sealed.ok(),
                Some(ct),
                "tcId {} encrypts differently",
                c.id()
            );
        }
        accepted
    });
    assert!(t.invalid > 0);
}

fn key_wrap_file(file: &str, ty: ck::CK_MECHANISM_TYPE) {
    let m = mech(ty, MechParam::None);
    let t = run(file, |c: &Case| {
        let k = key(&c.hex("key"));
        let (msg, ct) = (c.hex("msg"), c.hex("ct"));
        let accepted = unwrap(&m, &k, &ct).is_ok_and(|pt| *pt == msg);
        let decrypted = one_shot(decrypt_init(&m, &k), &ct).is_ok_and(|pt| pt == msg);
        assert_eq!(
            accepted,
            decrypted,
            "tcId {}: unwrap and decrypt disagree",
            c.id()
        );
        if c.result() == "valid" {
            assert_eq!(
                wrap(&m, &k, &msg).ok(),
                Some(ct),
                "tcId {} wraps differently",
                c.id()
            );
        }
        accepted
    });
    assert!(t.invalid > 0);
}

#[test]
fn wycheproof_aes_wrap() {
    key_wrap_file("aes_wrap_test.json", ck::CKM_AES_KEY_WRAP);
}

#[test]
fn wycheproof_aes_kwp() {
    key_wrap_file("aes_kwp_test.json", ck::CKM_AES_KEY_WRAP_KWP);
}

/// The GCM ciphers one key gets: the general construction (None) and each provider's
/// keyed cipher built here.
fn gcm_ciphers(k: &[u8]) -> Vec<Option<Arc<Gcm>>> {
    let mut all = vec![None];
    let keyed = crate::mech::keyed::Keyed::default();
    all.push(Some(keyed.gcm(k, provider::Provider::RustCrypto).unwrap()));
    #[cfg(feature = "aws-lc")]
    all.push(Some(keyed.gcm(k, provider::Provider::AwsLc).unwrap()));
    all
}

#[test]
fn gcm_apart_gives_the_in_place_answers_and_wipes_on_a_bad_tag() {
    let k = [0x42u8; 32];
    let pt: Vec<u8> = (0..=200u8).collect();
    for iv in [vec![1u8; 12], vec![2u8; 16]] {
        let mut want = pt.clone();
        let want_tag = seal(&k, None, &iv, b"aad", Io::InPlace(&mut want)).unwrap();
        for fast in gcm_ciphers(&k) {
            let fast = fast.as_deref();
            let mut ct = vec![0u8; pt.len()];
            let tag = seal(&k, fast, &iv, b"aad", Io::Apart(&pt, &mut ct)).unwrap();
            assert_eq!(
                (&ct, tag),
                (&want, want_tag),
                "seal apart, IV of {}",
                iv.len()
            );
            let open_apart = |tag: &[u8]| {
                let mut out = vec![0x55u8; ct.len()];
                let opened = open(&k, fast, &iv, b"aad", Io::Apart(&ct, &mut out), tag);
                (opened, out)
            };
            for tag_len in [16, 12] {
                let (opened, out) = open_apart(&tag[..tag_len]);
                opened.unwrap();
                assert_eq!(out, pt, "open apart, IV of {}, tag of {tag_len}", iv.len());
                let mut bad = tag;
                bad[0] ^= 1;
                let (opened, out) = open_apart(&bad[..tag_len]);
                assert_eq!(opened.unwrap_err().kind(), ErrorKind::EncryptedDataInvalid);
                assert!(out.iter().all(|b| *b == 0), "a failed open leaves zeros");
            }
        }
    }
}
