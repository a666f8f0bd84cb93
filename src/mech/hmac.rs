//! HMAC-SHA-2 and generic secret keys.

use super::family::Family;

#[derive(Debug)]
pub struct Hmac;

impl Family for Hmac {}
