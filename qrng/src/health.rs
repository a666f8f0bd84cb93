//! NIST SP 800-90B §4.4 health tests on a device's raw byte samples: the Repetition Count
//! Test, the Adaptive Proportion Test and the start-up test built from them. Owns the cutoff
//! arithmetic; never passes a sample on once a test has failed until the source restarts.
//!
//! Cutoffs, for a claimed min-entropy of H bits per sample and a false-alarm rate α = 2^-a:
//!
//! - RCT: C = 1 + ⌈a / H⌉ (§4.4.1). A run of C identical samples fails.
//! - APT: windows of W = 512 samples (1024 for binary samples); the count B of the window's
//!   first sample (that sample included) fails when it reaches
//!   C = 2 + CRITBINOM(W − 1, 2^−H, 1 − α), the corrected form the Linux kernel uses: the
//!   first sample is always seen, only the other W − 1 are random. The form usually quoted,
//!   1 + CRITBINOM(W, 2^−H, 1 − α), gives 17 at H = 7.9, α = 2^−30, and a true false-alarm
//!   rate above α.
//!
//! CRITBINOM(n, p, 1 − α) is the least k with P(X ≤ k) ≥ 1 − α for X ~ Binomial(n, p),
//! computed here from the upper tail in log space (see [`critbinom`]). At α = 2^−30 this gives,
//! for byte samples: H = 1 → RCT 31, APT 325; H = 7 → RCT 6, APT 23; H = 7.9 → RCT 5, APT 18;
//! H = 8 → RCT 5, APT 17 (the unit tests hold these against the reference table).
//!
//! At H ≈ 7–8 the expected APT count per window is 2–4, so a byte-level APT catches gross
//! failures (stuck, strongly biased or text output), not subtle bias: that is what the
//! conditioner and the OS-RNG mixing are for.

use std::fmt;

/// The window of the Adaptive Proportion Test for non-binary (byte) samples.
pub const APT_WINDOW: u32 = 512;
/// Samples run through the continuous tests before a source's first output (§4.3).
pub const STARTUP_SAMPLES: usize = 1024;

/// Cutoffs of both continuous tests for one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    pub rct: u32,
    pub apt: u32,
    pub window: u32,
}

impl Cutoffs {
    /// Cutoffs for byte samples claiming `h` bits of min-entropy each, α = 2^-`alpha_log2`.
    pub fn for_bytes(h: f64, alpha_log2: u32) -> Cutoffs {
        Cutoffs::new(h, alpha_log2, APT_WINDOW)
    }

    /// Cutoffs for samples claiming `h` bits each, α = 2^-`alpha_log2`, APT window `window`.
    pub fn new(h: f64, alpha_log2: u32, window: u32) -> Cutoffs {
        Cutoffs {
            rct: rct_cutoff(h, alpha_log2),
            apt: 2 + critbinom(window - 1, (-h).exp2(), alpha_log2),
            window,
        }
    }
}

/// RCT cutoff C = 1 + ⌈a / H⌉ for α = 2^-a.
pub fn rct_cutoff(h: f64, alpha_log2: u32) -> u32 {
    1 + (f64::from(alpha_log2) / h).ceil() as u32
}

/// CRITBINOM(n, p, 1 − α) with α = 2^-`alpha_log2`: the least k such that
/// P(X > k) ≤ α for X ~ Binomial(n, p).
///
/// The tail is summed from log-space terms (ln pmf(j+1) = ln pmf(j) + ln((n−j)/(j+1)) +
/// ln(p/(1−p))), so windows of 1024 fair bits (pmf(0) = 2^-1023) do not underflow and the
/// tiny tail probabilities are not lost to 1 − CDF cancellation.
pub fn critbinom(n: u32, p: f64, alpha_log2: u32) -> u32 {
    let alpha = (-f64::from(alpha_log2)).exp2();
    let mut ln_pmf = Vec::with_capacity(n as usize + 1);
    let mut ln = f64::from(n) * (1.0 - p).ln();
    ln_pmf.push(ln);
    let ln_odds = (p / (1.0 - p)).ln();
    for j in 0..n {
        ln += (f64::from(n - j) / f64::from(j + 1)).ln() + ln_odds;
        ln_pmf.push(ln);
    }
    // tail = P(X > k), accumulated from the top down.
    let mut tail = 0.0;
    for k in (0..=n).rev() {
        if tail > alpha {
            return k + 1;
        }
        tail += ln_pmf[k as usize].exp();
    }
    0
}

/// Which test tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthTest {
    RepetitionCount,
    AdaptiveProportion,
}

/// A failed health test, with enough detail to be logged and shown by `rng status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthFailure {
    pub test: HealthTest,
    /// The repeated (RCT) or over-represented (APT) sample value.
    pub value: u8,
    pub count: u32,
    pub cutoff: u32,
    /// Samples seen since the source (re)started, the failing one included.
    pub at_sample: u64,
    /// True when the failure happened during the start-up test.
    pub during_startup: bool,
}

impl fmt::Display for HealthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = if self.during_startup { "start-up " } else { "" };
        match self.test {
            HealthTest::RepetitionCount => write!(
                f,
                "{phase}repetition count test: byte {:#04x} repeated {} times (cutoff {}) at sample {}",
                self.value, self.count, self.cutoff, self.at_sample
            ),
            HealthTest::AdaptiveProportion => write!(
                f,
                "{phase}adaptive proportion test: byte {:#04x} seen {} times in a window (cutoff {}) at sample {}",
                self.value, self.count, self.cutoff, self.at_sample
            ),
        }
    }
}

/// Running state of the continuous tests over one source's sample stream.
#[derive(Debug, Clone)]
pub struct HealthTests {
    cutoffs: Cutoffs,
    startup: usize,
    seen: u64,
    rct_value: u8,
    rct_count: u32,
    apt_value: u8,
    apt_count: u32,
    apt_pos: u32,
}

impl HealthTests {
    /// Tests with `startup` samples to pass before [`is_started`](Self::is_started).
    pub fn new(cutoffs: Cutoffs, startup: usize) -> HealthTests {
        HealthTests {
            cutoffs,
            startup,
            seen: 0,
            rct_value: 0,
            rct_count: 0,
            apt_value: 0,
            apt_count: 0,
            apt_pos: 0,
        }
    }

    pub fn cutoffs(&self) -> Cutoffs {
        self.cutoffs
    }

    /// Forget everything: the next samples run the start-up test again.
    pub fn restart(&mut self) {
        *self = HealthTests::new(self.cutoffs, self.startup);
    }

    /// True once the start-up test has passed: samples may be used.
    pub fn is_started(&self) -> bool {
        self.seen >= self.startup as u64
    }

    /// Run one sample through both continuous tests.
    pub fn check(&mut self, sample: u8) -> Result<(), HealthFailure> {
        let during_startup = !self.is_started();
        self.seen += 1;
        let failure = |test, value, count, cutoff, at_sample| HealthFailure {
            test,
            value,
            count,
            cutoff,
            at_sample,
            during_startup,
        };

        if self.seen > 1 && sample == self.rct_value {
            self.rct_count += 1;
            if self.rct_count >= self.cutoffs.rct {
                let f = failure(
                    HealthTest::RepetitionCount,
                    sample,
                    self.rct_count,
                    self.cutoffs.rct,
                    self.seen,
                );
                return Err(f);
            }
        } else {
            self.rct_value = sample;
            self.rct_count = 1;
        }

        if self.apt_pos == 0 {
            self.apt_value = sample;
            self.apt_count = 1;
        } else if sample == self.apt_value {
            self.apt_count += 1;
            if self.apt_count >= self.cutoffs.apt {
                let f = failure(
                    HealthTest::AdaptiveProportion,
                    sample,
                    self.apt_count,
                    self.cutoffs.apt,
                    self.seen,
                );
                return Err(f);
            }
        }
        self.apt_pos += 1;
        if self.apt_pos == self.cutoffs.window {
            self.apt_pos = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};

    /// ENTROPY.md's table (byte samples, W = 512, corrected APT): (a, H, RCT, APT).
    const TABLE: &[(u32, f64, u32, u32)] = &[
        (20, 1.0, 21, 311),
        (20, 7.9, 4, 14),
        (30, 1.0, 31, 325),
        (30, 7.9, 5, 18),
        (30, 8.0, 5, 17),
        // Not in the reference table; quoted in this module's docs (H of the example config).
        (30, 7.0, 6, 23),
        (40, 1.0, 41, 337),
        (60, 1.0, 61, 355),
    ];

    #[test]
    fn cutoffs_match_reference_table() {
        for &(a, h, rct, apt) in TABLE {
            let c = Cutoffs::for_bytes(h, a);
            assert_eq!((c.rct, c.apt), (rct, apt), "alpha 2^-{a}, H {h}");
        }
        // Binary samples: W = 1024, H = 1, α = 2^-30.
        let c = Cutoffs::new(1.0, 30, 1024);
        assert_eq!((c.rct, c.apt), (31, 609));
    }

    #[test]
    fn plain_apt_formula_is_one_lower_and_exceeds_alpha() {
        // 1 + CRITBINOM(W, p, 1 − α) at H = 7.9: the cutoff the corrected formula replaces.
        let p = (-7.9f64).exp2();
        assert_eq!(1 + critbinom(512, p, 30), 17);
        // Real false-alarm rate of cutoff 17: P[1 + Binomial(511, p) ≥ 17] = P[X ≥ 16].
        let tail: f64 = (16..=511u32).map(|k| binom_pmf(511, p, k)).sum();
        let log2 = tail.log2();
        assert!(log2 > -30.0 && log2 < -29.5, "false-alarm rate 2^{log2}");
    }

    fn binom_pmf(n: u32, p: f64, k: u32) -> f64 {
        let mut ln = 0.0;
        for i in 0..k {
            ln += (f64::from(n - i) / f64::from(i + 1)).ln();
        }
        (ln + f64::from(k) * p.ln() + f64::from(n - k) * (1.0 - p).ln()).exp()
    }

    #[test]
    fn stuck_source_trips_rct_at_cutoff() {
        let c = Cutoffs::for_bytes(7.0, 30);
        let mut t = HealthTests::new(c, STARTUP_SAMPLES);
        let mut n = 0;
        let f = loop {
            n += 1;
            if let Err(f) = t.check(0xAA) {
                break f;
            }
        };
        assert_eq!(f.test, HealthTest::RepetitionCount);
        assert_eq!(n, c.rct);
        assert_eq!(f.value, 0xAA);
        assert!(f.during_startup);
        assert!(f.to_string().contains("repetition count"));
    }

    #[test]
    fn biased_source_trips_apt() {
        let c = Cutoffs::for_bytes(7.0, 30);
        let mut t = HealthTests::new(c, STARTUP_SAMPLES);
        // Every other sample is 0x00, never twice in a row: invisible to the RCT.
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let mut result = Ok(());
        for i in 0..4096u32 {
            let s = if i % 2 == 0 {
                0
            } else {
                rng.next_u32() as u8 | 1
            };
            result = t.check(s);
            if result.is_err() {
                break;
            }
        }
        let f = result.expect_err("a 50% bias must trip the APT");
        assert_eq!(f.test, HealthTest::AdaptiveProportion);
        assert_eq!(f.count, c.apt);
    }

    #[test]
    fn uniform_bytes_pass_and_start_up_completes() {
        let mut t = HealthTests::new(Cutoffs::for_bytes(7.9, 30), STARTUP_SAMPLES);
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let mut buf = vec![0u8; 1 << 20];
        rng.fill_bytes(&mut buf);
        for (i, &b) in buf.iter().enumerate() {
            assert_eq!(t.is_started(), i >= STARTUP_SAMPLES);
            t.check(b).expect("uniform bytes pass at alpha 2^-30");
        }
    }

    #[test]
    fn restart_requires_a_new_start_up() {
        let mut t = HealthTests::new(Cutoffs::for_bytes(7.0, 30), 4);
        for b in [1, 2, 3, 4] {
            t.check(b).unwrap();
        }
        assert!(t.is_started());
        t.restart();
        assert!(!t.is_started());
    }
}
