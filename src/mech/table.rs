//! The mechanism table: every mechanism the token offers, with key types, key sizes and
//! flags. C_GetMechanismList, C_GetMechanismInfo and dispatch read only this.

use super::params::MechType;
use cryptoki_sys as ck;

/// One mechanism row.
#[derive(Clone, Copy, Debug)]
pub struct MechSpec {
    pub ty: MechType,
    pub name: &'static str,
    pub key_types: &'static [ck::CK_KEY_TYPE],
    pub min_key_size: u64,
    pub max_key_size: u64,
    pub flags: ck::CK_FLAGS,
}

pub static MECHANISMS: &[MechSpec] = &[];

pub fn lookup(ty: MechType) -> Option<&'static MechSpec> {
    MECHANISMS.iter().find(|m| m.ty == ty)
}
