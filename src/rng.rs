//! The process's one CSPRNG: every key generation, nonce, IV and C_GenerateRandom draws
//! from here. A ChaCha20 DRBG seeded from the OS RNG, reseeded after fork so parent and
//! child never repeat output. The entropy bridge (`pqhsm-qrng`) plugs in here.

use rand_chacha::ChaCha20Rng;
use rand_core::{SeedableRng, TryCryptoRng, TryRng};
use std::sync::Mutex;

struct State {
    pid: u32,
    rng: ChaCha20Rng,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // The OS RNG failing is unrecoverable for a cryptographic module: no output without it.
    getrandom::fill(&mut seed).expect("the OS random number generator is unavailable");
    seed
}

/// Fill `buf` with output of the process CSPRNG.
pub fn fill_bytes(buf: &mut [u8]) {
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    let fresh = !matches!(&*guard, Some(s) if s.pid == pid);
    if fresh {
        *guard = Some(State {
            pid,
            rng: ChaCha20Rng::from_seed(os_seed()),
        });
    }
    if let Some(s) = guard.as_mut() {
        rand_core::Rng::fill_bytes(&mut s.rng, buf);
    }
}

/// A handle implementing the `rand_core` traits over [`fill_bytes`], for crates that take
/// an RNG argument (key generation, signing with randomness).
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreRng;

impl TryRng for CoreRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        fill_bytes(&mut b);
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        fill_bytes(&mut b);
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        fill_bytes(dst);
        Ok(())
    }
}

impl TryCryptoRng for CoreRng {}
