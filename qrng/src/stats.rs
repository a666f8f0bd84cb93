//! A basic statistical battery in the style of `ent`: entropy per byte, chi-square over the
//! 256 byte values, arithmetic mean, Monte Carlo π and serial correlation. Owns the numbers
//! and the pass bounds; it can show that output is not grossly broken, never that it is
//! random.

use serde::Serialize;

/// `ent`-style results over a sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Battery {
    pub bytes: usize,
    /// Shannon entropy, bits per byte (8 is the most).
    pub entropy: f64,
    /// Chi-square of the byte counts against uniform, 255 degrees of freedom.
    pub chi_square: f64,
    pub mean: f64,
    pub monte_carlo_pi: f64,
    pub serial_correlation: f64,
}

/// Least sample the pass bounds are made for.
pub const MIN_BYTES: usize = 1 << 16;

impl Battery {
    pub fn run(data: &[u8]) -> Battery {
        let n = data.len() as f64;
        let mut counts = [0u64; 256];
        for &b in data {
            counts[usize::from(b)] += 1;
        }
        let expected = n / 256.0;
        let mut chi_square = 0.0;
        let mut entropy = 0.0;
        let mut sum = 0.0;
        for (v, &c) in counts.iter().enumerate() {
            let c = c as f64;
            chi_square += (c - expected) * (c - expected) / expected;
            if c > 0.0 {
                let p = c / n;
                entropy -= p * p.log2();
            }
            sum += v as f64 * c;
        }
        // π from points in the unit square: 24-bit coordinates from 6 bytes, as ent does.
        let (mut inside, mut points) = (0u64, 0u64);
        let radius = f64::from((1u32 << 24) - 1);
        for p in data.chunks_exact(6) {
            let x = f64::from(u32::from_be_bytes([0, p[0], p[1], p[2]]));
            let y = f64::from(u32::from_be_bytes([0, p[3], p[4], p[5]]));
            points += 1;
            if x * x + y * y <= radius * radius {
                inside += 1;
            }
        }
        // Serial correlation of each byte with the next (cyclic, as ent).
        let (mut t1, mut t2, mut t3) = (0.0, 0.0, 0.0);
        for (i, &b) in data.iter().enumerate() {
            let x = f64::from(b);
            let y = f64::from(data[(i + 1) % data.len()]);
            t1 += x * y;
            t2 += x;
            t3 += x * x;
        }
        let denom = n * t3 - t2 * t2;
        let serial_correlation = if denom == 0.0 {
            1.0
        } else {
            (n * t1 - t2 * t2) / denom
        };
        Battery {
            bytes: data.len(),
            entropy,
            chi_square,
            mean: sum / n,
            monte_carlo_pi: 4.0 * inside as f64 / points.max(1) as f64,
            serial_correlation,
        }
    }

    /// Pass or the list of failed checks. Bounds sit 3.3–5 standard deviations out, so good
    /// generators fail about once in several thousand runs of 1 MiB.
    pub fn verdict(&self) -> Result<(), String> {
        if self.bytes < MIN_BYTES {
            return Err(format!(
                "{} bytes: the battery needs at least {MIN_BYTES}",
                self.bytes
            ));
        }
        let n = self.bytes as f64;
        let mut failed = Vec::new();
        if self.entropy < 7.99 {
            failed.push(format!("entropy {:.5} bits/byte < 7.99", self.entropy));
        }
        // χ²(255): mean 255, sd 22.6; (180, 340) is about p ∈ (0.9997, 0.0003).
        if !(180.0..340.0).contains(&self.chi_square) {
            failed.push(format!(
                "chi-square {:.1} outside (180, 340)",
                self.chi_square
            ));
        }
        let sd_mean = 73.9 / n.sqrt();
        if (self.mean - 127.5).abs() > 5.0 * sd_mean {
            failed.push(format!("mean {:.4} too far from 127.5", self.mean));
        }
        let quarter = std::f64::consts::FRAC_PI_4;
        let sd_pi = 4.0 * (quarter * (1.0 - quarter) / (n / 6.0)).sqrt();
        if (self.monte_carlo_pi - std::f64::consts::PI).abs() > 5.0 * sd_pi {
            failed.push(format!(
                "Monte Carlo pi {:.5} too far from pi",
                self.monte_carlo_pi
            ));
        }
        if self.serial_correlation.abs() > 5.0 / n.sqrt() {
            failed.push(format!(
                "serial correlation {:.6} too large",
                self.serial_correlation
            ));
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }
}

impl std::fmt::Display for Battery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes: entropy {:.6} bits/byte, chi-square {:.2} (255 dof), mean {:.4}, \
             Monte Carlo pi {:.6}, serial correlation {:.6}",
            self.bytes,
            self.entropy,
            self.chi_square,
            self.mean,
            self.monte_carlo_pi,
            self.serial_correlation
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng, SeedableRng};

    #[test]
    fn chacha_passes_and_broken_streams_fail() {
        let mut buf = vec![0u8; 1 << 20];
        ChaCha20Rng::from_seed([3; 32]).fill_bytes(&mut buf);
        let b = Battery::run(&buf);
        b.verdict().unwrap_or_else(|e| panic!("{b}: {e}"));

        let counter: Vec<u8> = (0..1 << 20).map(|i| i as u8).collect();
        assert!(Battery::run(&counter)
            .verdict()
            .unwrap_err()
            .contains("serial correlation"));

        let mut biased = buf.clone();
        for b in biased.iter_mut().step_by(8) {
            *b = 0;
        }
        assert!(Battery::run(&biased)
            .verdict()
            .unwrap_err()
            .contains("chi-square"));

        let text: Vec<u8> = buf
            .iter()
            .map(|b| b"0123456789abcdef"[usize::from(b & 15)])
            .collect();
        assert!(Battery::run(&text)
            .verdict()
            .unwrap_err()
            .contains("entropy"));
    }
}
