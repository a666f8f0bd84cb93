//! Maps keyed by numbers the module itself chooses (the session and object handles it hands
//! out, its mechanism numbers), looked up on every PKCS#11 call. A client only ever looks
//! keys up, never inserts one, so a cheap multiplicative hash serves where SipHash's
//! flooding resistance would buy nothing.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Fibonacci hashing of one u64: spreads sequential handles over all hash bits.
#[derive(Default)]
pub struct HandleHasher(u64);

impl Hasher for HandleHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys other than u64: fold the bytes in, still deterministic.
        for b in bytes {
            self.write_u64(u64::from(*b) ^ self.0.rotate_left(8));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub type HandleMap<V> = HashMap<u64, V, BuildHasherDefault<HandleHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn sequential_handles_spread_over_the_high_bits() {
        let b = BuildHasherDefault::<HandleHasher>::default();
        let tops: std::collections::HashSet<u64> =
            (1..=256u64).map(|h| b.hash_one(h) >> 57).collect();
        // hashbrown groups by the top 7 bits: sequential handles must not share them.
        assert!(
            tops.len() > 64,
            "only {} distinct top-7-bit values",
            tops.len()
        );
        let mut m: HandleMap<u64> = HandleMap::default();
        for h in 1..=1000u64 {
            m.insert(h, h * 2);
        }
        assert!((1..=1000u64).all(|h| m.get(&h) == Some(&(h * 2))));
        assert!(!m.contains_key(&0) && !m.contains_key(&1001));
    }
}
