//! The entropy bridge's error type: why a source delivered nothing, or why a configuration
//! was refused. Messages name the source and say what to check; they never carry sample bytes.

use crate::health::HealthFailure;

/// What went wrong while configuring or drawing from an entropy source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The `rng` configuration is invalid; the message names the key.
    #[error("rng configuration: {0}")]
    Config(String),
    /// The source could not be opened or read (unplugged, refused, timed out).
    #[error("{0}")]
    Unreachable(String),
    /// The source answered, but the answer was not acceptable entropy (a lying HTTP API).
    #[error("rejected response: {0}")]
    Rejected(String),
    /// An SP 800-90B health test tripped: the source is quarantined.
    #[error("health test failed: {0}")]
    Health(HealthFailure),
    /// The source is healthy but has nothing to give right now (rate limit, back-off).
    #[error("{0}")]
    NotReady(String),
    /// The OS RNG failed: nothing may be served.
    #[error("the OS random number generator failed: {0}")]
    Os(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
