//! SHA-2 digests.

use super::family::Family;

#[derive(Debug)]
pub struct Digest;

impl Family for Digest {}
