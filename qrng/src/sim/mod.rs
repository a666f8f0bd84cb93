//! Simulated QRNG devices for tests and demos: a serial QRNG on a pseudo terminal and an
//! HTTP QRNG on a loopback socket, each with fault modes. Owns the fault behaviour; never
//! listens beyond the loopback interface.

pub mod http;
pub mod serial;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::str::FromStr;

/// How a simulated device misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Uniform random bytes.
    Good,
    /// Every byte the same (a dead noise source): the RCT trips.
    Stuck,
    /// Half the bytes are 0x00 (a failing amplifier): the RCT or APT trips in start-up.
    Biased,
    /// The stream stops mid-way: serial closes the port (then replugs), HTTP cuts the body.
    Disconnect,
    /// Bytes trickle (serial) or the body stalls (HTTP slow loris).
    Slow,
    /// Not raw entropy: serial sends ASCII hex text (the APT trips); HTTP lies as named.
    Malformed(Malformed),
}

/// The lies of a malformed HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Fewer values than asked for.
    Length,
    /// A value outside 0..=255.
    Range,
    /// `{"success":false}`.
    Failure,
    /// An HTML error page with status 200.
    Html,
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Fault, String> {
        Ok(match s {
            "good" => Fault::Good,
            "stuck" => Fault::Stuck,
            "biased" => Fault::Biased,
            "disconnect" => Fault::Disconnect,
            "slow" => Fault::Slow,
            "malformed" | "malformed:length" => Fault::Malformed(Malformed::Length),
            "malformed:range" => Fault::Malformed(Malformed::Range),
            "malformed:failure" => Fault::Malformed(Malformed::Failure),
            "malformed:html" => Fault::Malformed(Malformed::Html),
            other => {
                return Err(format!(
                    "unknown fault `{other}`: good, stuck, biased, disconnect, slow, \
                     malformed[:length|:range|:failure|:html]"
                ))
            }
        })
    }
}

/// The byte stream of a simulated noise source.
pub struct Generator {
    fault: Fault,
    rng: ChaCha20Rng,
    text_pos: usize,
}

/// The value a stuck simulator repeats.
pub const STUCK_BYTE: u8 = 0xA5;

impl Generator {
    pub fn new(fault: Fault) -> Generator {
        let mut seed = [0u8; 32];
        // The simulator's own noise; a failing OS RNG only makes it predictable.
        let _ = getrandom::fill(&mut seed);
        Generator {
            fault,
            rng: ChaCha20Rng::from_seed(seed),
            text_pos: 0,
        }
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        match self.fault {
            Fault::Stuck => buf.fill(STUCK_BYTE),
            Fault::Biased => {
                self.rng.fill_bytes(buf);
                for b in buf.iter_mut() {
                    if *b & 1 == 0 {
                        *b = 0;
                    }
                }
            }
            Fault::Malformed(_) => {
                self.rng.fill_bytes(buf);
                for b in buf.iter_mut() {
                    self.text_pos += 1;
                    *b = if self.text_pos.is_multiple_of(65) {
                        b'\n'
                    } else {
                        b"0123456789abcdef"[usize::from(*b & 15)]
                    };
                }
            }
            Fault::Good | Fault::Disconnect | Fault::Slow => self.rng.fill_bytes(buf),
        }
    }
}
