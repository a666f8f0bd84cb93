//! The process's one CSPRNG: every key generation, nonce, IV and C_GenerateRandom draws
//! from here. A thin front over the entropy bridge's DRBG service (`pqhsm-qrng`), configured
//! from the `rng` table of PQHSM_CONF; never does device I/O on the caller's thread.
//!
//! Hot path: a ChaCha20 fill under a short lock; large requests are expanded outside the
//! lock from DRBG-drawn AES-256 keys (`bulk`, default build). Reseeds (OS RNG always, plus a conditioned
//! device seed when one waits in the slot) happen after `reseed_bytes` or `reseed_seconds`,
//! after `fork()`, and when the background thread has a fresh device seed.

use pqhsm_qrng::{RngConfig, Service, ServiceStatus};
use rand_core::{TryCryptoRng, TryRng};
use std::sync::OnceLock;
use std::time::Duration;

use crate::error::{Error, ErrorKind};

#[cfg(feature = "aws-lc")]
mod bulk;

static SERVICE: OnceLock<Service> = OnceLock::new();

/// The `rng` configuration from PQHSM_CONF (unset: the OS RNG alone).
pub fn load_config() -> crate::Result<RngConfig> {
    RngConfig::from_env().map_err(|e| Error::new(ErrorKind::ArgumentsBad, e.to_string()))
}

fn service() -> &'static Service {
    SERVICE.get_or_init(|| {
        let cfg = load_config().unwrap_or_else(|e| {
            // A bad configuration must not take randomness away: the OS RNG still serves.
            tracing::error!("{e}; random numbers come from the OS RNG alone");
            RngConfig::default()
        });
        Service::new(&cfg)
    })
}

/// Fill `buf` with output of the process CSPRNG.
///
/// Panics only if the OS RNG cannot seed the generator (first use, or first use after a
/// fork): no output is safe then. Use [`try_fill_bytes`] where that must be an error.
pub fn fill_bytes(buf: &mut [u8]) {
    if let Err(e) = try_fill_bytes(buf) {
        panic!("{e}");
    }
}

/// [`fill_bytes`], with an OS RNG failure as [`ErrorKind::RandomNoRng`].
pub fn try_fill_bytes(buf: &mut [u8]) -> crate::Result<()> {
    #[cfg(feature = "aws-lc")]
    if buf.len() >= bulk::MIN {
        return bulk::fill(buf, drbg_fill);
    }
    drbg_fill(buf)
}

fn drbg_fill(buf: &mut [u8]) -> crate::Result<()> {
    service()
        .fill(buf)
        .map_err(|e| Error::new(ErrorKind::RandomNoRng, format!("no random numbers: {e}")))
}

/// Fill `buf` after reseeding from a seed drawn now from the source chain (prediction
/// resistance). Waits for the device; for the rare caller that asks for it.
pub fn fill_bytes_prediction_resistant(buf: &mut [u8]) -> crate::Result<()> {
    service()
        .fill_prediction_resistant(buf)
        .map_err(|e| Error::new(ErrorKind::RandomNoRng, format!("no random numbers: {e}")))
}

/// Wait up to `timeout` for the first device seed to reach the DRBG (CLI use).
pub fn settle(timeout: Duration) -> crate::Result<()> {
    service()
        .settle(timeout)
        .map_err(|e| Error::new(ErrorKind::RandomNoRng, format!("no random numbers: {e}")))
}

/// Which sources feed this process's DRBG, their health, and what seeded it last.
pub fn status() -> ServiceStatus {
    service().status()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn outputs_differ_and_core_rng_draws_from_the_same_service() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        fill_bytes(&mut a);
        fill_bytes(&mut b);
        assert_ne!(a, b);
        let x = CoreRng.next_u64();
        let y = CoreRng.next_u64();
        assert_ne!(x, y);
        assert!(status().drbg_reseeds >= 1);
    }

    #[test]
    fn large_draws_differ_from_each_other_and_within() {
        // Two MiB and a tail: two bulk keys and a short last chunk.
        let n = (2 << 20) + 100;
        let (mut a, mut b) = (vec![0u8; n], vec![0u8; n]);
        try_fill_bytes(&mut a).unwrap();
        try_fill_bytes(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a[..1 << 20], a[1 << 20..2 << 20]);
        assert!(a[2 << 20..].iter().any(|&x| x != 0));
    }
}
