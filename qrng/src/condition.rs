//! Conditioning (SP 800-90B §3.1.5): device samples that passed the health tests are hashed
//! with SHA-512, a vetted conditioning function, into full-entropy seeds. Owns the only
//! constructors of [`Seed`], so raw device bytes can never reach the DRBG unconditioned.
//!
//! Full entropy of the 512-bit output needs at least 512 + 64 bits of min-entropy in
//! (SP 800-90C); the conditioner credits each sample with the source's claimed H and emits
//! a seed only once 576 bits have been credited (83 bytes at H = 7, 73 at H = 8).

use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

/// Bytes of a conditioned seed: one SHA-512 output.
pub const SEED_LEN: usize = 64;
/// Min-entropy (bits) the conditioner needs in before it emits [`SEED_LEN`] bytes out.
pub const BITS_IN_PER_SEED: f64 = (SEED_LEN * 8 + 64) as f64;

const DOMAIN: &[u8] = b"pqhsm-qrng condition v1\0";

/// Where a seed came from, for logs and `rng status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The configured source name (`primary`, `backup`, `os`, ...).
    pub source: String,
    /// The source kind (`serial`, `http`, `file`, `bridge`, `os`).
    pub kind: &'static str,
    /// For a bridge: the source that served the bridge.
    pub upstream: Option<String>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.source, self.kind)?;
        if let Some(up) = &self.upstream {
            write!(f, " via {up}")?;
        }
        Ok(())
    }
}

/// 64 bytes of full-entropy seed material and its origin. Built only by [`Conditioner`] or
/// from the OS RNG; no `Debug` of the bytes.
pub struct Seed {
    bytes: Zeroizing<[u8; SEED_LEN]>,
    origin: Origin,
}

impl Seed {
    /// A seed straight from the OS RNG (the kernel's output is already conditioned).
    pub fn from_os() -> crate::Result<Seed> {
        let mut bytes = Zeroizing::new([0u8; SEED_LEN]);
        getrandom::fill(&mut bytes[..]).map_err(|e| crate::Error::Os(e.to_string()))?;
        let origin = Origin {
            source: "os".into(),
            kind: "os",
            upstream: None,
        };
        Ok(Seed { bytes, origin })
    }

    pub fn bytes(&self) -> &[u8; SEED_LEN] {
        &self.bytes
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seed")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Accumulates health-tested samples of one source and emits seeds.
pub struct Conditioner {
    hash: Sha512,
    bits_per_byte: f64,
    credited: f64,
    blocks: u64,
}

impl Conditioner {
    /// A conditioner crediting each byte with `bits_per_byte` of min-entropy.
    pub fn new(bits_per_byte: f64) -> Conditioner {
        let mut c = Conditioner {
            hash: Sha512::new(),
            bits_per_byte,
            credited: 0.0,
            blocks: 0,
        };
        c.reset();
        c
    }

    /// Drop everything absorbed since the last seed (after a health-test failure).
    pub fn reset(&mut self) {
        self.hash = Sha512::new();
        self.hash.update(DOMAIN);
        self.hash.update(self.blocks.to_be_bytes());
        self.credited = 0.0;
    }

    /// Absorb one health-tested sample; returns true once a seed is ready.
    pub fn absorb(&mut self, sample: u8) -> bool {
        self.hash.update([sample]);
        self.credited += self.bits_per_byte;
        self.is_ready()
    }

    pub fn is_ready(&self) -> bool {
        self.credited >= BITS_IN_PER_SEED
    }

    /// The seed, if enough entropy was credited; the conditioner starts a new block.
    pub fn finish(&mut self, origin: Origin) -> Option<Seed> {
        if !self.is_ready() {
            return None;
        }
        let hash = std::mem::replace(&mut self.hash, Sha512::new());
        let mut bytes = Zeroizing::new([0u8; SEED_LEN]);
        let mut digest = hash.finalize();
        bytes.copy_from_slice(&digest);
        zeroize::Zeroize::zeroize(digest.as_mut_slice());
        self.blocks += 1;
        self.reset();
        Some(Seed { bytes, origin })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            source: "t".into(),
            kind: "serial",
            upstream: None,
        }
    }

    #[test]
    fn emits_only_after_576_credited_bits() {
        let mut c = Conditioner::new(7.0);
        let mut n = 0;
        while !c.absorb(0x5a) {
            n += 1;
            assert!(c.finish(origin()).is_none());
        }
        assert_eq!(n + 1, (BITS_IN_PER_SEED / 7.0).ceil() as usize);
        assert!(c.finish(origin()).is_some());
        assert!(!c.is_ready());
    }

    #[test]
    fn identical_input_blocks_give_distinct_seeds() {
        // A stuck device that slipped past the tests must still not repeat a seed.
        let mut c = Conditioner::new(8.0);
        let mut seeds = Vec::new();
        for _ in 0..2 {
            while !c.absorb(0) {}
            let s = c.finish(origin()).unwrap();
            assert_ne!(s.bytes(), &[0u8; SEED_LEN]);
            seeds.push(*s.bytes());
        }
        assert_ne!(seeds[0], seeds[1]);
    }

    #[test]
    fn os_seed_is_not_zero_and_debug_hides_bytes() {
        let s = Seed::from_os().unwrap();
        assert_ne!(s.bytes(), &[0u8; SEED_LEN]);
        let dbg = format!("{s:?}");
        assert!(dbg.contains("os") && !dbg.contains("bytes"));
    }
}
