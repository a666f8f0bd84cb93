//! pqhsm's entropy bridge: QRNG sources (serial, HTTP, character device, a bridge socket,
//! the OS RNG), SP 800-90B health tests, SHA-512 conditioning, and the per-process ChaCha20
//! DRBG that every random byte of pqhsm comes from. Knows nothing of keys or PKCS#11.
//!
//! Data flow: source → health tests → conditioner → [`Seed`] → DRBG (always with fresh OS
//! RNG input). The chain tries sources in order (primary, backup, ..., OS RNG) and
//! quarantines a failing one; [`Service`] keeps device I/O off the callers' threads.

pub mod bridge;
pub mod chain;
pub mod condition;
pub mod config;
pub mod drbg;
pub mod error;
pub mod health;
pub mod kernel;
pub mod service;
pub mod sim;
pub mod sources;
pub mod stats;

pub use chain::{Chain, ChainStatus, SourceStatus, State};
pub use condition::{Origin, Seed};
pub use config::RngConfig;
pub use error::{Error, Result};
pub use service::{Service, ServiceStatus};
