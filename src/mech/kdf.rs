//! HKDF.

use super::family::Family;

#[derive(Debug)]
pub struct Kdf;

impl Family for Kdf {}
