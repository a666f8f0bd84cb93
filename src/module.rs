//! The process-wide PKCS#11 module state: slots, tokens, sessions and the operations on
//! them, in PKCS#11 terms but plain Rust types. `pkcs11/` calls exactly one method here
//! per C function; nothing here knows a C pointer.
//!
//! Output convention for every call that returns bytes: `out_cap` is `None` for a length
//! query (C buffer pointer NULL) and `Some(capacity)` otherwise.
//! - `None` -> `Ok(Output::Len(n))`, the operation stays active;
//! - capacity too small -> `Err(Error::buffer_too_small(n))`, the operation stays active;
//! - otherwise `Ok(Output::Data(bytes))` and a single-part/final call ends the operation.
//! Any other error ends the active operation, as the spec requires.

use crate::attr::{AttrType, Template};
use crate::error::Result;
use crate::mech::params::{GcmMessageParams, MechType, Mechanism};
use cryptoki_sys as ck;
use zeroize::Zeroizing;

pub type SlotId = ck::CK_SLOT_ID;
pub type SessionHandle = ck::CK_SESSION_HANDLE;
pub type ObjectHandle = ck::CK_OBJECT_HANDLE;

/// Bytes produced by an operation, or the length a query asked for.
#[derive(Debug)]
pub enum Output {
    Len(usize),
    Data(Zeroizing<Vec<u8>>),
}

/// C_GetSlotInfo, unpadded.
#[derive(Clone, Debug)]
pub struct SlotInfo {
    pub description: String,
    pub manufacturer: String,
    pub flags: ck::CK_FLAGS,
    pub hardware_version: (u8, u8),
    pub firmware_version: (u8, u8),
}

/// C_GetTokenInfo, unpadded. Counts are real; `None` means CK_UNAVAILABLE_INFORMATION.
#[derive(Clone, Debug)]
pub struct TokenInfo {
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub flags: ck::CK_FLAGS,
    pub max_session_count: Option<u64>,
    pub session_count: Option<u64>,
    pub max_rw_session_count: Option<u64>,
    pub rw_session_count: Option<u64>,
    pub max_pin_len: u64,
    pub min_pin_len: u64,
    pub total_public_memory: Option<u64>,
    pub free_public_memory: Option<u64>,
    pub total_private_memory: Option<u64>,
    pub free_private_memory: Option<u64>,
    pub hardware_version: (u8, u8),
    pub firmware_version: (u8, u8),
    /// 16 characters, YYYYMMDDhhmmss00.
    pub utc_time: String,
}

/// C_GetMechanismInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MechanismInfo {
    pub min_key_size: u64,
    pub max_key_size: u64,
    pub flags: ck::CK_FLAGS,
}

/// C_GetSessionInfo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub slot_id: SlotId,
    pub state: ck::CK_STATE,
    pub flags: ck::CK_FLAGS,
    pub device_error: u64,
}

/// One requested attribute of C_GetAttributeValue: `cap` is `None` when pValue is NULL.
#[derive(Clone, Copy, Debug)]
pub struct AttrRequest {
    pub ty: AttrType,
    pub cap: Option<usize>,
}

/// The answer for one requested attribute; the C ABI writes value/length accordingly and
/// derives the return code with [`get_attribute_rv`].
#[derive(Debug)]
pub enum AttrAnswer {
    Value(Zeroizing<Vec<u8>>),
    /// Length query answered (pValue was NULL).
    Len(usize),
    Sensitive,
    TypeInvalid,
    /// pValue given but too small: the length is CK_UNAVAILABLE_INFORMATION.
    TooSmall,
}

/// The return code of C_GetAttributeValue for a set of answers (spec 5.7: the first
/// applicable of SENSITIVE, TYPE_INVALID, BUFFER_TOO_SMALL; any may be returned).
pub fn get_attribute_rv(answers: &[AttrAnswer]) -> ck::CK_RV {
    if answers.iter().any(|a| matches!(a, AttrAnswer::Sensitive)) {
        ck::CKR_ATTRIBUTE_SENSITIVE
    } else if answers.iter().any(|a| matches!(a, AttrAnswer::TypeInvalid)) {
        ck::CKR_ATTRIBUTE_TYPE_INVALID
    } else if answers.iter().any(|a| matches!(a, AttrAnswer::TooSmall)) {
        ck::CKR_BUFFER_TOO_SMALL
    } else {
        ck::CKR_OK
    }
}

/// Options of C_Initialize that the core cares about.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitOptions {
    /// CKF_LIBRARY_CANT_CREATE_OS_THREADS: do not start background threads.
    pub no_os_threads: bool,
}

/// The module: created by C_Initialize, dropped (and every secret zeroized) by C_Finalize.
pub struct Module {
    // Implementation detail; see the submodules of `crate::token` and `crate::session`.
    _private: (),
}

#[allow(unused_variables)]
impl Module {
    /// Load configuration (`PQHSM_CONF` or the embedded default), open every token's store.
    pub fn new(opts: InitOptions) -> Result<Module> {
        todo!()
    }

    // ----- slots and tokens -----
    pub fn slot_list(&self, token_present: bool) -> Vec<SlotId> {
        todo!()
    }
    pub fn slot_info(&self, slot: SlotId) -> Result<SlotInfo> {
        todo!()
    }
    pub fn token_info(&self, slot: SlotId) -> Result<TokenInfo> {
        todo!()
    }
    pub fn mechanism_list(&self, slot: SlotId) -> Result<Vec<MechType>> {
        todo!()
    }
    pub fn mechanism_info(&self, slot: SlotId, mech: MechType) -> Result<MechanismInfo> {
        todo!()
    }
    /// C_InitToken: (re)initialise the token in `slot` with an SO PIN and a 32-char label.
    pub fn init_token(&self, slot: SlotId, so_pin: &[u8], label: &str) -> Result<()> {
        todo!()
    }

    // ----- sessions -----
    pub fn open_session(&self, slot: SlotId, flags: ck::CK_FLAGS) -> Result<SessionHandle> {
        todo!()
    }
    pub fn close_session(&self, h: SessionHandle) -> Result<()> {
        todo!()
    }
    pub fn close_all_sessions(&self, slot: SlotId) -> Result<()> {
        todo!()
    }
    pub fn session_info(&self, h: SessionHandle) -> Result<SessionInfo> {
        todo!()
    }
    pub fn login(&self, h: SessionHandle, user: ck::CK_USER_TYPE, pin: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn logout(&self, h: SessionHandle) -> Result<()> {
        todo!()
    }
    pub fn init_pin(&self, h: SessionHandle, pin: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn set_pin(&self, h: SessionHandle, old: &[u8], new: &[u8]) -> Result<()> {
        todo!()
    }
    /// C_SessionCancel: end the operations named by `flags` (CKF_ENCRYPT, CKF_SIGN, ...).
    pub fn session_cancel(&self, h: SessionHandle, flags: ck::CK_FLAGS) -> Result<()> {
        todo!()
    }

    // ----- objects -----
    pub fn create_object(&self, h: SessionHandle, t: &Template) -> Result<ObjectHandle> {
        todo!()
    }
    pub fn copy_object(
        &self,
        h: SessionHandle,
        o: ObjectHandle,
        t: &Template,
    ) -> Result<ObjectHandle> {
        todo!()
    }
    pub fn destroy_object(&self, h: SessionHandle, o: ObjectHandle) -> Result<()> {
        todo!()
    }
    pub fn object_size(&self, h: SessionHandle, o: ObjectHandle) -> Result<u64> {
        todo!()
    }
    pub fn get_attribute_value(
        &self,
        h: SessionHandle,
        o: ObjectHandle,
        req: &[AttrRequest],
    ) -> Result<Vec<AttrAnswer>> {
        todo!()
    }
    pub fn set_attribute_value(
        &self,
        h: SessionHandle,
        o: ObjectHandle,
        t: &Template,
    ) -> Result<()> {
        todo!()
    }
    pub fn find_objects_init(&self, h: SessionHandle, t: &Template) -> Result<()> {
        todo!()
    }
    pub fn find_objects(&self, h: SessionHandle, max: usize) -> Result<Vec<ObjectHandle>> {
        todo!()
    }
    pub fn find_objects_final(&self, h: SessionHandle) -> Result<()> {
        todo!()
    }

    // ----- encryption / decryption (single and multi-part) -----
    pub fn encrypt_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        todo!()
    }
    pub fn encrypt(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }
    pub fn encrypt_update(
        &self,
        h: SessionHandle,
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        todo!()
    }
    pub fn encrypt_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }
    pub fn decrypt_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        todo!()
    }
    pub fn decrypt(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }
    pub fn decrypt_update(
        &self,
        h: SessionHandle,
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        todo!()
    }
    pub fn decrypt_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }

    // ----- message-based encryption (PKCS#11 3.0, AES-GCM) -----
    pub fn message_encrypt_init(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        todo!()
    }
    /// C_EncryptMessage: returns the ciphertext (or its length) and updates `p` (generated
    /// IV, tag) for the C ABI to write back.
    pub fn encrypt_message(
        &self,
        h: SessionHandle,
        p: &mut GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        todo!()
    }
    pub fn encrypt_message_begin(
        &self,
        h: SessionHandle,
        p: &mut GcmMessageParams,
        aad: &[u8],
    ) -> Result<()> {
        todo!()
    }
    /// C_EncryptMessageNext; `last` is CKF_END_OF_MESSAGE, after which `p.tag` holds the tag.
    pub fn encrypt_message_next(
        &self,
        h: SessionHandle,
        p: &mut GcmMessageParams,
        data: &[u8],
        last: bool,
        out_cap: Option<usize>,
    ) -> Result<Output> {
        todo!()
    }
    pub fn message_encrypt_final(&self, h: SessionHandle) -> Result<()> {
        todo!()
    }
    pub fn message_decrypt_init(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
    ) -> Result<()> {
        todo!()
    }
    pub fn decrypt_message(
        &self,
        h: SessionHandle,
        p: &GcmMessageParams,
        aad: &[u8],
        data: &[u8],
        out_cap: Option<usize>,
    ) -> Result<Output> {
        todo!()
    }
    pub fn decrypt_message_begin(
        &self,
        h: SessionHandle,
        p: &GcmMessageParams,
        aad: &[u8],
    ) -> Result<()> {
        todo!()
    }
    pub fn decrypt_message_next(
        &self,
        h: SessionHandle,
        p: &GcmMessageParams,
        data: &[u8],
        last: bool,
        out_cap: Option<usize>,
    ) -> Result<Output> {
        todo!()
    }
    pub fn message_decrypt_final(&self, h: SessionHandle) -> Result<()> {
        todo!()
    }

    // ----- digests -----
    pub fn digest_init(&self, h: SessionHandle, m: &Mechanism) -> Result<()> {
        todo!()
    }
    pub fn digest(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }
    pub fn digest_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        todo!()
    }
    /// C_DigestKey: feed a secret key's value (it must not be sensitive... per policy).
    pub fn digest_key(&self, h: SessionHandle, key: ObjectHandle) -> Result<()> {
        todo!()
    }
    pub fn digest_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }

    // ----- signatures and MACs -----
    pub fn sign_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        todo!()
    }
    pub fn sign(&self, h: SessionHandle, data: &[u8], out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }
    pub fn sign_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn sign_final(&self, h: SessionHandle, out_cap: Option<usize>) -> Result<Output> {
        todo!()
    }
    pub fn verify_init(&self, h: SessionHandle, m: &Mechanism, key: ObjectHandle) -> Result<()> {
        todo!()
    }
    pub fn verify(&self, h: SessionHandle, data: &[u8], sig: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn verify_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn verify_final(&self, h: SessionHandle, sig: &[u8]) -> Result<()> {
        todo!()
    }
    /// PKCS#11 3.2: the signature is given at init; data follows.
    pub fn verify_signature_init(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        key: ObjectHandle,
        sig: &[u8],
    ) -> Result<()> {
        todo!()
    }
    pub fn verify_signature(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn verify_signature_update(&self, h: SessionHandle, data: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn verify_signature_final(&self, h: SessionHandle) -> Result<()> {
        todo!()
    }

    // ----- keys -----
    pub fn generate_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        t: &Template,
    ) -> Result<ObjectHandle> {
        todo!()
    }
    pub fn generate_key_pair(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        public: &Template,
        private: &Template,
    ) -> Result<(ObjectHandle, ObjectHandle)> {
        todo!()
    }
    pub fn wrap_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        wrapping: ObjectHandle,
        key: ObjectHandle,
        out_cap: Option<usize>,
    ) -> Result<Output> {
        todo!()
    }
    pub fn unwrap_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        unwrapping: ObjectHandle,
        wrapped: &[u8],
        t: &Template,
    ) -> Result<ObjectHandle> {
        todo!()
    }
    pub fn derive_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        base: ObjectHandle,
        t: &Template,
    ) -> Result<ObjectHandle> {
        todo!()
    }
    /// PKCS#11 3.2 C_EncapsulateKey. With `ct_cap == None` only the ciphertext length is
    /// returned and no key is created.
    pub fn encapsulate_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        public: ObjectHandle,
        t: &Template,
        ct_cap: Option<usize>,
    ) -> Result<(Output, Option<ObjectHandle>)> {
        todo!()
    }
    pub fn decapsulate_key(
        &self,
        h: SessionHandle,
        m: &Mechanism,
        private: ObjectHandle,
        t: &Template,
        ct: &[u8],
    ) -> Result<ObjectHandle> {
        todo!()
    }

    // ----- random -----
    pub fn seed_random(&self, h: SessionHandle, seed: &[u8]) -> Result<()> {
        todo!()
    }
    pub fn generate_random(&self, h: SessionHandle, out: &mut [u8]) -> Result<()> {
        todo!()
    }
}
