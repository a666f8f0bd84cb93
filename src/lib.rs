//! pqhsm core: token, sessions, object model, mechanisms, sealed store, lifecycle and the
//! management API. Plain safe Rust: `pqhsm-pkcs11` adds the C ABI on top, `pqhsm-qrng`
//! supplies entropy below.

pub mod attr;
pub mod cli;
pub mod config;
pub mod error;
pub mod handle_map;
pub mod manage;
pub mod mech;
pub mod module;
pub mod object;
pub mod rng;
pub mod secret;
pub mod session;
pub mod store;
pub mod token;

pub use error::{Error, ErrorKind, Result};
pub use module::Module;
