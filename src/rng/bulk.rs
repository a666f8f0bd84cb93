//! Large random requests: AES-256-CTR keystream under keys drawn from the DRBG.
//!
//! ChaCha20 in software gives ~2.3 GB/s; AES gives two to four times that (5.2 GB/s in CTR
//! mode on a CPU without AVX-512, 10.5 GB/s through GCM on one with it).
//! Each chunk of at most 1 MiB gets its own 256-bit key, drawn from the DRBG under its lock
//! (so fast key erasure and the reseed schedule cover it) and used for that chunk alone;
//! the expansion runs outside the lock, so threads drawing large requests do not queue
//! behind one another. 2^16 blocks under one key are distinguishable from random with
//! advantage below 2^-96; SP 800-90A's smaller CTR_DRBG request cap (2^19 bits) paces its
//! state update, which the per-chunk key from the DRBG already is. Smaller chunks cost a
//! GCM key setup each: 64 KiB chunks ran at 8.6 GB/s, 1 MiB ones at 10.5.
//!
//! The keystream is AES-256-CTR from counter block 0^96 || 2, computed by whichever of
//! AWS-LC's two AES paths is faster on this CPU, measured once per process on a scratch
//! buffer under a throwaway key: its CTR mode (AES-NI, eight blocks at a time), or sealing
//! with AES-256-GCM under the nonce 0^96 and discarding the tag (the ciphertext is the
//! same keystream XOR; the stitched VAES/AVX-512 GCM path doubles AES-NI's speed where the
//! CPU has it, and where it lacks it GHASH makes GCM half as fast as CTR). The two give
//! the same bytes. One key, one chunk: nothing repeats. The buffer is not zeroed first (a
//! tenth of the time at this speed): whatever it held is independent of a keystream drawn
//! afterwards, so the XOR is as uniform as the keystream itself, and it reveals nothing of
//! the old contents.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_256};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

use crate::error::{Error, ErrorKind};

/// Requests from this size on take the bulk path; below it the DRBG's own output is
/// cheaper than a key schedule.
pub const MIN: usize = 4096;

/// Bytes of keystream per key.
const CHUNK: usize = 1 << 20;

/// Overwrite `buf` with random bytes: its contents XOR keystream, one key per chunk drawn
/// with `draw`.
pub fn fill(buf: &mut [u8], draw: fn(&mut [u8]) -> crate::Result<()>) -> crate::Result<()> {
    let xor = fastest();
    for chunk in buf.chunks_mut(CHUNK) {
        let mut key = Zeroizing::new([0u8; 32]);
        draw(&mut key[..])?;
        xor(&key, chunk)?;
    }
    Ok(())
}

/// XOR `buf` with the AES-256-CTR keystream of `key` from counter block 0^96 || 2.
type Xor = fn(&[u8; 32], &mut [u8]) -> crate::Result<()>;

fn gcm_xor(key: &[u8; 32], buf: &mut [u8]) -> crate::Result<()> {
    let sealer = UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| failed())?;
    sealer
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key([0; 12]), Aad::empty(), buf)
        .map(|_tag| ())
        .map_err(|_| failed())
}

fn ctr_xor(key: &[u8; 32], buf: &mut [u8]) -> crate::Result<()> {
    let mut iv = [0u8; 16];
    iv[15] = 2;
    let k = UnboundCipherKey::new(&AES_256, key)
        .and_then(EncryptingKey::ctr)
        .map_err(|_| failed())?;
    k.less_safe_encrypt(buf, EncryptionContext::Iv128(iv.into()))
        .map(|_| ())
        .map_err(|_| failed())
}

/// The faster keystream here: each path times 256 KiB under a zero key (output thrown
/// away), best of three, once per process.
fn fastest() -> Xor {
    static CHOSEN: OnceLock<Xor> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let mut scratch = vec![0u8; 256 << 10];
        let mut best = |xor: Xor| {
            (0..3)
                .map(|_| {
                    let t = Instant::now();
                    let ok = xor(&[0; 32], &mut scratch).is_ok();
                    if ok {
                        t.elapsed()
                    } else {
                        Duration::MAX
                    }
                })
                .min()
                .unwrap_or(Duration::MAX)
        };
        let (gcm, ctr) = (best(gcm_xor), best(ctr_xor));
        if ctr <= gcm {
            ctr_xor
        } else {
            gcm_xor
        }
    })
}

fn failed() -> Error {
    Error::new(
        ErrorKind::RandomNoRng,
        "no random numbers: the AES keystream could not be computed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed "DRBG" that counts its draws, so the test knows each chunk's key.
    fn counting(key: &mut [u8]) -> crate::Result<()> {
        use std::sync::atomic::{AtomicU8, Ordering};
        static N: AtomicU8 = AtomicU8::new(0);
        key.fill(N.fetch_add(1, Ordering::SeqCst));
        Ok(())
    }

    #[test]
    fn each_chunk_is_xored_with_the_aes_ctr_keystream_of_its_own_key() {
        let mut buf = vec![0xAAu8; CHUNK + 100];
        fill(&mut buf, counting).unwrap();
        for (i, chunk) in buf.chunks(CHUNK).enumerate() {
            // AES-256-CTR from counter block 0^96 || 2 (GCM's first data block), by the
            // RustCrypto crates: an independent implementation of the same keystream.
            use ctr::cipher::{KeyIvInit, StreamCipher};
            let mut iv = [0u8; 16];
            iv[15] = 2;
            let mut want = vec![0u8; chunk.len()];
            ctr::Ctr32BE::<aes::Aes256>::new(&[i as u8; 32].into(), &iv.into())
                .apply_keystream(&mut want);
            let got: Vec<u8> = chunk.iter().map(|b| b ^ 0xAA).collect();
            assert_eq!(got, want, "chunk {i}");
        }
    }

    #[test]
    fn both_aes_paths_give_the_same_keystream() {
        let key = [0x5Au8; 32];
        let (mut a, mut b) = (vec![0x33u8; 100_000], vec![0x33u8; 100_000]);
        gcm_xor(&key, &mut a).unwrap();
        ctr_xor(&key, &mut b).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, vec![0x33u8; 100_000]);
    }

    #[test]
    fn a_failing_draw_is_an_error() {
        fn dead(_: &mut [u8]) -> crate::Result<()> {
            Err(Error::new(ErrorKind::RandomNoRng, "dead"))
        }
        let mut buf = vec![0u8; MIN];
        assert_eq!(
            fill(&mut buf, dead).unwrap_err().kind(),
            ErrorKind::RandomNoRng
        );
    }
}
