//! The per-process ChaCha20 DRBG: every output byte of pqhsm comes from here. Owns the
//! generator state, the reseed schedule and fork detection; never generates before it has
//! been seeded from the OS RNG, and never reseeds without fresh OS RNG input.
//!
//! ChaCha20 is not one of the SP 800-90A DRBGs (Hash_DRBG, HMAC_DRBG, CTR_DRBG); the
//! construction follows the Linux kernel's instead: a 256-bit ChaCha20 key, fast key
//! erasure (after each request the generator re-keys itself from its own next output, so a
//! later state compromise does not reveal earlier output), and a reseed that hashes the old
//! state, 48 fresh bytes of the OS RNG and, when one is at hand, a 64-byte conditioned device
//! seed with SHA-512. A device seed can add entropy but cannot remove the OS RNG's: output is
//! never weaker than the OS RNG alone. A FIPS-oriented mode would swap this for HMAC_DRBG.
//!
//! Fork safety: a `pthread_atfork` child handler bumps a generation counter; a generator
//! from an older generation reseeds from the OS RNG before its next output, so parent and
//! child never share a stream.

use crate::condition::Seed;
use crate::{Error, Result};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha512};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;
use zeroize::Zeroizing;

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();

extern "C" fn on_fork_child() {
    // Async-signal-safe: one atomic add.
    FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The current fork generation (bumped in every child after `fork()`).
pub fn fork_generation() -> u64 {
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only performs an atomic add, which is
        // async-signal-safe and valid for the whole life of the process.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(on_fork_child)) };
        if rc != 0 {
            tracing::error!("pthread_atfork failed ({rc}): forked children are not detected");
        }
    });
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// Monotonic milliseconds from CLOCK_MONOTONIC_COARSE: a few ns through the vDSO where
/// `Instant::now()` costs ~45 ns here, and tick resolution (≤ 10 ms) is plenty for a
/// reseed interval counted in seconds.
fn coarse_now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the live, writable `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        // Unreachable on Linux; a frozen clock would stop time-based reseeds, not output.
        return 0;
    }
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// When the generator must reseed.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub reseed_bytes: u64,
    pub reseed_interval: Duration,
}

/// ChaCha20 with fast key erasure and a reseed schedule.
pub struct Drbg {
    rng: ChaCha20Rng,
    policy: Policy,
    since_reseed: u64,
    /// Coarse monotonic time of the last reseed, milliseconds.
    seeded_at_ms: u64,
    generation: u64,
    reseeds: u64,
}

const DOMAIN: &[u8] = b"pqhsm-qrng drbg reseed v1\0";
const OS_BYTES: usize = 48;

impl Drbg {
    /// A generator seeded from the OS RNG (and `device`, when given).
    pub fn new(policy: Policy, device: Option<&Seed>) -> Result<Drbg> {
        let mut drbg = Drbg {
            rng: ChaCha20Rng::from_seed([0; 32]),
            policy,
            since_reseed: 0,
            seeded_at_ms: coarse_now_ms(),
            generation: fork_generation(),
            reseeds: 0,
        };
        drbg.reseed(device)?;
        Ok(drbg)
    }

    /// Mix the current state, fresh OS RNG bytes and the optional device seed into a new
    /// key. Fails (and leaves the state untouched) only when the OS RNG fails.
    pub fn reseed(&mut self, device: Option<&Seed>) -> Result<()> {
        let mut os = Zeroizing::new([0u8; OS_BYTES]);
        getrandom::fill(&mut os[..]).map_err(|e| Error::Os(e.to_string()))?;
        let mut old = Zeroizing::new([0u8; 32]);
        self.rng.fill_bytes(&mut old[..]);
        let mut h = Sha512::new();
        h.update(DOMAIN);
        h.update(&old[..]);
        h.update(&os[..]);
        match device {
            Some(seed) => {
                h.update([1]);
                h.update(seed.bytes());
            }
            None => h.update([0]),
        }
        h.update(self.reseeds.to_be_bytes());
        let mut digest = h.finalize();
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&digest[..32]);
        zeroize::Zeroize::zeroize(digest.as_mut_slice());
        self.rng = ChaCha20Rng::from_seed(*key);
        self.since_reseed = 0;
        self.seeded_at_ms = coarse_now_ms();
        self.generation = fork_generation();
        self.reseeds += 1;
        Ok(())
    }

    /// True in a child process that has not reseeded since `fork()`.
    pub fn forked(&self) -> bool {
        self.generation != fork_generation()
    }

    /// True in a forked child (which must reseed before output) or when the byte or time
    /// budget since the last reseed is spent.
    pub fn needs_reseed(&self) -> bool {
        self.forked()
            || self.since_reseed >= self.policy.reseed_bytes
            || coarse_now_ms().saturating_sub(self.seeded_at_ms)
                >= self.policy.reseed_interval.as_millis() as u64
    }

    /// Output; the caller checks [`needs_reseed`](Self::needs_reseed) first.
    pub fn generate(&mut self, buf: &mut [u8]) {
        self.rng.fill_bytes(buf);
        let mut key = Zeroizing::new([0u8; 32]);
        self.rng.fill_bytes(&mut key[..]);
        self.rng = ChaCha20Rng::from_seed(*key);
        self.since_reseed = self.since_reseed.saturating_add(buf.len() as u64);
    }

    /// Reseeds so far (the initial seeding counts as one).
    pub fn reseeds(&self) -> u64 {
        self.reseeds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bytes: u64, secs: u64) -> Policy {
        Policy {
            reseed_bytes: bytes,
            reseed_interval: Duration::from_secs(secs),
        }
    }

    #[test]
    fn two_generators_differ_and_output_moves_on() {
        let mut a = Drbg::new(policy(1 << 20, 60), None).unwrap();
        let mut b = Drbg::new(policy(1 << 20, 60), None).unwrap();
        let (mut x, mut y, mut z) = ([0u8; 32], [0u8; 32], [0u8; 32]);
        a.generate(&mut x);
        b.generate(&mut y);
        a.generate(&mut z);
        assert_ne!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn byte_budget_triggers_reseed() {
        let mut d = Drbg::new(policy(64, 60), None).unwrap();
        assert!(!d.needs_reseed());
        d.generate(&mut [0u8; 64]);
        assert!(d.needs_reseed());
        d.reseed(None).unwrap();
        assert!(!d.needs_reseed());
        assert_eq!(d.reseeds(), 2);
    }

    #[test]
    fn time_budget_triggers_reseed() {
        let mut d = Drbg::new(
            Policy {
                reseed_bytes: 1 << 20,
                reseed_interval: Duration::ZERO,
            },
            None,
        )
        .unwrap();
        assert!(d.needs_reseed());
        d.reseed(None).unwrap();
        assert!(d.needs_reseed());
    }
}
