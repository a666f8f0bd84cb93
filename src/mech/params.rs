//! Mechanism parameters, parsed out of C structs by `pkcs11/` and validated by the core.
//! Plain owned Rust data: the core never sees a pointer.

use cryptoki_sys as ck;

pub type MechType = ck::CK_MECHANISM_TYPE;

/// A mechanism as the client asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mechanism {
    pub ty: MechType,
    pub param: MechParam,
}

impl Mechanism {
    pub fn new(ty: MechType) -> Self {
        Mechanism {
            ty,
            param: MechParam::None,
        }
    }
}

/// Salt choice of CK_HKDF_PARAMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HkdfSalt {
    Null,
    Data(Vec<u8>),
    /// CKF_HKDF_SALT_KEY: the salt is the value of this secret-key object.
    Key(ck::CK_OBJECT_HANDLE),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MechParam {
    /// No parameter (pParameter NULL, ulParameterLen 0).
    None,
    /// CBC / CBC_PAD IV, or AES key wrap IV: raw bytes.
    Bytes(Vec<u8>),
    /// CK_AES_CTR_PARAMS.
    Ctr { counter_bits: u64, cb: [u8; 16] },
    /// CK_GCM_PARAMS (single-shot and multi-part C_Encrypt/C_Decrypt).
    Gcm {
        iv: Vec<u8>,
        aad: Vec<u8>,
        tag_bits: u64,
    },
    /// CK_RSA_PKCS_PSS_PARAMS.
    Pss {
        hash: MechType,
        mgf: ck::CK_RSA_PKCS_MGF_TYPE,
        salt_len: u64,
    },
    /// CK_RSA_PKCS_OAEP_PARAMS (source data = OAEP label; empty when none).
    Oaep {
        hash: MechType,
        mgf: ck::CK_RSA_PKCS_MGF_TYPE,
        label: Vec<u8>,
    },
    /// CK_ECDH1_DERIVE_PARAMS.
    Ecdh {
        kdf: ck::CK_EC_KDF_TYPE,
        shared_data: Vec<u8>,
        public_data: Vec<u8>,
    },
    /// CK_HKDF_PARAMS.
    Hkdf {
        extract: bool,
        expand: bool,
        prf: MechType,
        salt: HkdfSalt,
        info: Vec<u8>,
    },
    /// CK_MAC_GENERAL_PARAMS: the MAC length in bytes for *_GENERAL mechanisms.
    MacLen(u64),
    /// CK_SIGN_ADDITIONAL_CONTEXT (ML-DSA, SLH-DSA): hedging choice and context (<= 255 bytes).
    SignContext {
        hedge: ck::CK_HEDGE_TYPE,
        context: Vec<u8>,
    },
    /// CK_HASH_SIGN_ADDITIONAL_CONTEXT (HashML-DSA, HashSLH-DSA).
    HashSignContext {
        hedge: ck::CK_HEDGE_TYPE,
        context: Vec<u8>,
        hash: MechType,
    },
}

/// CK_GCM_MESSAGE_PARAMS of one C_EncryptMessage/C_DecryptMessage call, minus the
/// pointers: the C ABI writes `iv` (when generated) and the tag back to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcmMessageParams {
    pub iv: Vec<u8>,
    pub iv_fixed_bits: u64,
    pub iv_generator: ck::CK_GENERATOR_FUNCTION,
    pub tag_bits: u64,
    /// For decryption: the tag to check. For encryption: ignored (output).
    pub tag: Vec<u8>,
}
