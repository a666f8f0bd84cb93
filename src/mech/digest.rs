//! SHA-2 digests (CKM_SHA224/256/384/512) and the hash lookup every hash-and-sign or
//! hash-parameterised mechanism uses. Only SHA-2 (and SHA-1 where a parameter names it
//! for OAEP) is ever selected here.

use super::family::Family;
use super::params::{MechType, Mechanism};
use super::DigestOp;
use crate::error::{err, ErrorKind, Result};
use cryptoki_sys as ck;
use digest::DynDigest;

/// A fresh hasher for a digest mechanism number (CKM_SHA256, ...).
pub fn hasher(ty: MechType) -> Option<Box<dyn DynDigest + Send>> {
    Some(match ty {
        ck::CKM_SHA224 => Box::new(sha2::Sha224::default()),
        ck::CKM_SHA256 => Box::new(sha2::Sha256::default()),
        ck::CKM_SHA384 => Box::new(sha2::Sha384::default()),
        ck::CKM_SHA512 => Box::new(sha2::Sha512::default()),
        _ => return None,
    })
}

/// The output length of a digest mechanism, or None for anything else.
pub fn output_len(ty: MechType) -> Option<usize> {
    match ty {
        ck::CKM_SHA_1 => Some(20),
        ck::CKM_SHA224 => Some(28),
        ck::CKM_SHA256 => Some(32),
        ck::CKM_SHA384 => Some(48),
        ck::CKM_SHA512 => Some(64),
        _ => None,
    }
}

#[derive(Debug)]
pub struct Digest;

struct Op(Box<dyn DynDigest + Send>);

impl DigestOp for Op {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn len(&self) -> usize {
        self.0.output_size()
    }
    fn finish(&mut self) -> Vec<u8> {
        self.0.finalize_reset().into_vec()
    }
}

impl Family for Digest {
    fn digest_init(&self, m: &Mechanism) -> Result<Box<dyn DigestOp>> {
        if m.param != super::params::MechParam::None {
            return err(
                ErrorKind::MechanismParamInvalid,
                "digest mechanisms take no parameter",
            );
        }
        match hasher(m.ty) {
            Some(h) => Ok(Box::new(Op(h))),
            None => super::family::unsupported(m, "digest"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::digest_init;

    #[test]
    fn sha256_of_abc_in_two_parts() {
        let mut op = digest_init(&Mechanism::new(ck::CKM_SHA256)).unwrap();
        assert_eq!(op.len(), 32);
        op.update(b"a");
        op.update(b"bc");
        let expected =
            hex::decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
                .unwrap();
        assert_eq!(op.finish(), expected);
    }

    #[test]
    fn every_digest_row_has_a_hasher_of_the_stated_length() {
        for ty in [
            ck::CKM_SHA224,
            ck::CKM_SHA256,
            ck::CKM_SHA384,
            ck::CKM_SHA512,
        ] {
            let mut op = digest_init(&Mechanism::new(ty)).unwrap();
            assert_eq!(op.finish().len(), output_len(ty).unwrap());
        }
    }

    #[test]
    fn digest_with_a_signing_mechanism_is_refused() {
        let e = digest_init(&Mechanism::new(ck::CKM_SHA256_HMAC))
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::MechanismInvalid);
    }
}
