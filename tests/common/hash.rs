//! The SHA-2 hashes the suite uses, with everything a test needs to name one: the
//! digest computed by the `sha2` crate (for independent checks) and the PKCS#11
//! mechanisms and parameters built on it. Names only; nothing here calls the module.

use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use rsa::sha2::{Digest, Sha256, Sha384, Sha512};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub const ALL: [Hash; 3] = [Hash::Sha256, Hash::Sha384, Hash::Sha512];

    /// Wycheproof's spelling ("SHA-256").
    pub fn from_name(name: &str) -> Hash {
        match name {
            "SHA-256" => Hash::Sha256,
            "SHA-384" => Hash::Sha384,
            "SHA-512" => Hash::Sha512,
            other => panic!("unexpected hash {other}"),
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub fn len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// The DER DigestInfo prefix of PKCS#1 v1.5 (RFC 8017 section 9.2 note 1).
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            Hash::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            Hash::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            Hash::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }

    /// CKM_SHA256 / CKM_SHA384 / CKM_SHA512 as a mechanism type (PSS, OAEP, HKDF params).
    pub fn mechanism_type(self) -> MechanismType {
        match self {
            Hash::Sha256 => MechanismType::SHA256,
            Hash::Sha384 => MechanismType::SHA384,
            Hash::Sha512 => MechanismType::SHA512,
        }
    }

    pub fn mgf1(self) -> PkcsMgfType {
        match self {
            Hash::Sha256 => PkcsMgfType::MGF1_SHA256,
            Hash::Sha384 => PkcsMgfType::MGF1_SHA384,
            Hash::Sha512 => PkcsMgfType::MGF1_SHA512,
        }
    }

    /// The digest mechanism itself.
    pub fn digest_mechanism(self) -> Mechanism<'static> {
        match self {
            Hash::Sha256 => Mechanism::Sha256,
            Hash::Sha384 => Mechanism::Sha384,
            Hash::Sha512 => Mechanism::Sha512,
        }
    }

    /// PSS parameters with this hash for the message and MGF1.
    pub fn pss(self, salt: usize) -> PkcsPssParams {
        PkcsPssParams {
            hash_alg: self.mechanism_type(),
            mgf: self.mgf1(),
            s_len: (salt as u64).into(),
        }
    }

    /// CKM_SHA*_RSA_PKCS.
    pub fn rsa_pkcs1(self) -> Mechanism<'static> {
        match self {
            Hash::Sha256 => Mechanism::Sha256RsaPkcs,
            Hash::Sha384 => Mechanism::Sha384RsaPkcs,
            Hash::Sha512 => Mechanism::Sha512RsaPkcs,
        }
    }

    /// CKM_SHA*_RSA_PKCS_PSS with the given parameters.
    pub fn rsa_pss(self, p: PkcsPssParams) -> Mechanism<'static> {
        match self {
            Hash::Sha256 => Mechanism::Sha256RsaPkcsPss(p),
            Hash::Sha384 => Mechanism::Sha384RsaPkcsPss(p),
            Hash::Sha512 => Mechanism::Sha512RsaPkcsPss(p),
        }
    }

    /// CKM_ECDSA_SHA*.
    pub fn ecdsa(self) -> Mechanism<'static> {
        match self {
            Hash::Sha256 => Mechanism::EcdsaSha256,
            Hash::Sha384 => Mechanism::EcdsaSha384,
            Hash::Sha512 => Mechanism::EcdsaSha512,
        }
    }
}
