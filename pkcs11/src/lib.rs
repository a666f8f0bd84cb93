//! libpqhsm_pkcs11.so: the PKCS#11 2.40/3.0/3.2 C ABI of pqhsm. One file per function
//! family; each `C_*` checks pointers, converts arguments, calls one `pqhsm::Module` method
//! and writes the outputs. No crypto and no storage here, and no panic leaves through C.

// Entry points keep the spec's names (C_Sign, pulSignatureLen, ...).
#![allow(non_snake_case)]
// The C entry points take raw pointers by definition; the PKCS#11 contract puts their
// validity on the caller, and marking the functions `unsafe` would change nothing for C.
// Every dereference still sits in an `unsafe` block with its SAFETY line.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![allow(clippy::too_many_arguments)]
#![deny(unsafe_op_in_unsafe_fn)]

mod asynchronous;
mod ceremony;
mod digest;
mod dual;
mod encryption;
mod function_list;
mod general;
mod key_management;
mod log;
mod marshal;
mod mechanism;
mod message;
mod object;
mod random;
mod session;
mod sign_verify;
mod slot_token;
mod template;

#[cfg(test)]
mod client_flow;

pub use asynchronous::*;
pub use digest::*;
pub use dual::*;
pub use encryption::*;
pub use general::*;
pub use key_management::*;
pub use message::*;
pub use object::*;
pub use random::*;
pub use session::*;
pub use sign_verify::*;
pub use slot_token::*;
