//! The core's one error type. Every failure carries a kind that means something to a
//! user and maps to exactly one CKR_ code (here, in one `match`) and one CLI exit code.
//! Messages say what to do next; they never contain secret bytes.

use cryptoki_sys as ck;
use std::fmt;

/// What went wrong, in terms a PKCS#11 client or a CLI user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    // --- library / arguments ---
    NotInitialized,
    AlreadyInitialized,
    ArgumentsBad,
    CantLock,
    FunctionNotSupported,
    /// Legacy parallel-function calls (C_GetFunctionStatus, C_CancelFunction).
    FunctionNotParallel,
    /// C_WaitForSlotEvent with CKF_DONT_BLOCK and nothing to report.
    NoEvent,
    FunctionFailed,
    General,
    HostMemory,
    // --- slots / tokens ---
    SlotIdInvalid,
    TokenNotPresent,
    TokenNotRecognized,
    TokenWriteProtected,
    // --- sessions ---
    SessionHandleInvalid,
    SessionClosed,
    SessionCount,
    SessionParallelNotSupported,
    SessionReadOnly,
    SessionExists,
    SessionReadOnlyExists,
    SessionReadWriteSoExists,
    OperationActive,
    OperationNotInitialized,
    OperationCancelFailed,
    // --- login / PINs ---
    UserNotLoggedIn,
    UserAlreadyLoggedIn,
    UserAnotherAlreadyLoggedIn,
    UserTypeInvalid,
    UserPinNotInitialized,
    PinIncorrect,
    PinInvalid,
    PinLenRange,
    PinLocked,
    // --- objects / attributes ---
    ObjectHandleInvalid,
    AttributeTypeInvalid,
    AttributeValueInvalid,
    AttributeReadOnly,
    AttributeSensitive,
    TemplateIncomplete,
    TemplateInconsistent,
    ActionProhibited,
    // --- keys ---
    KeyHandleInvalid,
    KeyTypeInconsistent,
    KeySizeRange,
    KeyFunctionNotPermitted,
    KeyNotWrappable,
    KeyUnextractable,
    KeyIndigestible,
    WrappingKeyHandleInvalid,
    WrappingKeyTypeInconsistent,
    WrappingKeySizeRange,
    UnwrappingKeyHandleInvalid,
    UnwrappingKeyTypeInconsistent,
    UnwrappingKeySizeRange,
    WrappedKeyInvalid,
    WrappedKeyLenRange,
    /// The key version is retired, archived, revoked, expired or destroyed for this use.
    KeyLifecycle,
    // --- key management (named keys and versions) ---
    /// No managed key (or version) by that name/number.
    KeyNotFound,
    /// A managed key by that name exists already: rotate it instead.
    KeyExists,
    /// The only active version of a key cannot be retired: rotate instead.
    LastActiveVersion,
    /// The key or version is not in a state this change starts from.
    StateTransition,
    /// Another process changed the token while the change was prepared: retry.
    Conflict,
    /// The audit log failed its integrity check (edited, removed or reordered entries).
    AuditInvalid,
    // --- mechanisms / data ---
    MechanismInvalid,
    MechanismParamInvalid,
    ParameterSetNotSupported,
    /// CKA_EC_PARAMS names a curve the token does not offer.
    CurveNotSupported,
    DataInvalid,
    DataLenRange,
    EncryptedDataInvalid,
    EncryptedDataLenRange,
    SignatureInvalid,
    SignatureLenRange,
    /// Output buffer too small; the operation stays active. The needed length travels
    /// in [`Error::needed`].
    BufferTooSmall,
    RandomNoRng,
    RandomSeedNotSupported,
    // --- store ---
    /// The store's content failed authentication (edited, swapped, rolled back, truncated).
    StoreTampered,
    /// The store could not be read or written (I/O, permissions, disk full).
    StoreIo,
    DeviceMemory,
    // --- configuration ---
    /// The configuration file is unreadable or invalid (unknown key, bad value).
    ConfigInvalid,
}

/// A core error: a kind plus a message for humans (never secret material).
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    needed: Option<usize>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            needed: None,
        }
    }

    /// An output buffer of `have` bytes cannot hold `needed`; the operation stays active.
    pub fn buffer_too_small(needed: usize) -> Self {
        Error {
            kind: ErrorKind::BufferTooSmall,
            message: format!("output buffer too small: {needed} bytes needed"),
            needed: Some(needed),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// For [`ErrorKind::BufferTooSmall`]: the length the caller must provide.
    pub fn needed(&self) -> Option<usize> {
        self.needed
    }

    /// The PKCS#11 return value for this error. The only place kinds become CKR_ codes.
    pub fn ckr(&self) -> ck::CK_RV {
        use ErrorKind::*;
        match self.kind {
            NotInitialized => ck::CKR_CRYPTOKI_NOT_INITIALIZED,
            AlreadyInitialized => ck::CKR_CRYPTOKI_ALREADY_INITIALIZED,
            ArgumentsBad => ck::CKR_ARGUMENTS_BAD,
            CantLock => ck::CKR_CANT_LOCK,
            FunctionNotSupported => ck::CKR_FUNCTION_NOT_SUPPORTED,
            FunctionNotParallel => ck::CKR_FUNCTION_NOT_PARALLEL,
            NoEvent => ck::CKR_NO_EVENT,
            FunctionFailed => ck::CKR_FUNCTION_FAILED,
            General => ck::CKR_GENERAL_ERROR,
            HostMemory => ck::CKR_HOST_MEMORY,
            SlotIdInvalid => ck::CKR_SLOT_ID_INVALID,
            TokenNotPresent => ck::CKR_TOKEN_NOT_PRESENT,
            TokenNotRecognized => ck::CKR_TOKEN_NOT_RECOGNIZED,
            TokenWriteProtected => ck::CKR_TOKEN_WRITE_PROTECTED,
            SessionHandleInvalid => ck::CKR_SESSION_HANDLE_INVALID,
            SessionClosed => ck::CKR_SESSION_CLOSED,
            SessionCount => ck::CKR_SESSION_COUNT,
            SessionParallelNotSupported => ck::CKR_SESSION_PARALLEL_NOT_SUPPORTED,
            SessionReadOnly => ck::CKR_SESSION_READ_ONLY,
            SessionExists => ck::CKR_SESSION_EXISTS,
            SessionReadOnlyExists => ck::CKR_SESSION_READ_ONLY_EXISTS,
            SessionReadWriteSoExists => ck::CKR_SESSION_READ_WRITE_SO_EXISTS,
            OperationActive => ck::CKR_OPERATION_ACTIVE,
            OperationNotInitialized => ck::CKR_OPERATION_NOT_INITIALIZED,
            OperationCancelFailed => ck::CKR_OPERATION_CANCEL_FAILED,
            UserNotLoggedIn => ck::CKR_USER_NOT_LOGGED_IN,
            UserAlreadyLoggedIn => ck::CKR_USER_ALREADY_LOGGED_IN,
            UserAnotherAlreadyLoggedIn => ck::CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
            UserTypeInvalid => ck::CKR_USER_TYPE_INVALID,
            UserPinNotInitialized => ck::CKR_USER_PIN_NOT_INITIALIZED,
            PinIncorrect => ck::CKR_PIN_INCORRECT,
            PinInvalid => ck::CKR_PIN_INVALID,
            PinLenRange => ck::CKR_PIN_LEN_RANGE,
            PinLocked => ck::CKR_PIN_LOCKED,
            ObjectHandleInvalid => ck::CKR_OBJECT_HANDLE_INVALID,
            AttributeTypeInvalid => ck::CKR_ATTRIBUTE_TYPE_INVALID,
            AttributeValueInvalid => ck::CKR_ATTRIBUTE_VALUE_INVALID,
            AttributeReadOnly => ck::CKR_ATTRIBUTE_READ_ONLY,
            AttributeSensitive => ck::CKR_ATTRIBUTE_SENSITIVE,
            TemplateIncomplete => ck::CKR_TEMPLATE_INCOMPLETE,
            TemplateInconsistent => ck::CKR_TEMPLATE_INCONSISTENT,
            ActionProhibited => ck::CKR_ACTION_PROHIBITED,
            KeyHandleInvalid => ck::CKR_KEY_HANDLE_INVALID,
            KeyTypeInconsistent => ck::CKR_KEY_TYPE_INCONSISTENT,
            KeySizeRange => ck::CKR_KEY_SIZE_RANGE,
            KeyFunctionNotPermitted | KeyLifecycle => ck::CKR_KEY_FUNCTION_NOT_PERMITTED,
            KeyNotFound => ck::CKR_KEY_HANDLE_INVALID,
            KeyExists | LastActiveVersion | StateTransition => ck::CKR_ACTION_PROHIBITED,
            Conflict => ck::CKR_FUNCTION_FAILED,
            AuditInvalid => ck::CKR_DEVICE_ERROR,
            KeyNotWrappable => ck::CKR_KEY_NOT_WRAPPABLE,
            KeyUnextractable => ck::CKR_KEY_UNEXTRACTABLE,
            KeyIndigestible => ck::CKR_KEY_INDIGESTIBLE,
            WrappingKeyHandleInvalid => ck::CKR_WRAPPING_KEY_HANDLE_INVALID,
            WrappingKeyTypeInconsistent => ck::CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
            WrappingKeySizeRange => ck::CKR_WRAPPING_KEY_SIZE_RANGE,
            UnwrappingKeyHandleInvalid => ck::CKR_UNWRAPPING_KEY_HANDLE_INVALID,
            UnwrappingKeyTypeInconsistent => ck::CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
            UnwrappingKeySizeRange => ck::CKR_UNWRAPPING_KEY_SIZE_RANGE,
            WrappedKeyInvalid => ck::CKR_WRAPPED_KEY_INVALID,
            WrappedKeyLenRange => ck::CKR_WRAPPED_KEY_LEN_RANGE,
            MechanismInvalid => ck::CKR_MECHANISM_INVALID,
            MechanismParamInvalid => ck::CKR_MECHANISM_PARAM_INVALID,
            ParameterSetNotSupported => ck::CKR_PARAMETER_SET_NOT_SUPPORTED,
            CurveNotSupported => ck::CKR_CURVE_NOT_SUPPORTED,
            DataInvalid => ck::CKR_DATA_INVALID,
            DataLenRange => ck::CKR_DATA_LEN_RANGE,
            EncryptedDataInvalid => ck::CKR_ENCRYPTED_DATA_INVALID,
            EncryptedDataLenRange => ck::CKR_ENCRYPTED_DATA_LEN_RANGE,
            SignatureInvalid => ck::CKR_SIGNATURE_INVALID,
            SignatureLenRange => ck::CKR_SIGNATURE_LEN_RANGE,
            BufferTooSmall => ck::CKR_BUFFER_TOO_SMALL,
            RandomNoRng => ck::CKR_RANDOM_NO_RNG,
            RandomSeedNotSupported => ck::CKR_RANDOM_SEED_NOT_SUPPORTED,
            // A tampered store is a device-level failure: the token cannot vouch for it.
            StoreTampered => ck::CKR_DEVICE_ERROR,
            StoreIo => ck::CKR_DEVICE_ERROR,
            DeviceMemory => ck::CKR_DEVICE_MEMORY,
            ConfigInvalid => ck::CKR_GENERAL_ERROR,
        }
    }

    /// Process exit code for the CLI: 1 usage/input, 2 refused by policy, 3 store/device.
    pub fn exit_code(&self) -> i32 {
        use ErrorKind::*;
        match self.kind {
            StoreTampered | StoreIo | DeviceMemory | General | HostMemory | AuditInvalid
            | Conflict => 3,
            KeyFunctionNotPermitted
            | KeyLifecycle
            | KeyExists
            | LastActiveVersion
            | StateTransition
            | KeyUnextractable
            | ActionProhibited
            | PinIncorrect
            | PinLocked
            | UserNotLoggedIn
            | AttributeSensitive => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

/// Shorthand for building an error in `?`-heavy code: `err(Kind, "what to do")`.
pub fn err<T>(kind: ErrorKind, message: impl Into<String>) -> Result<T> {
    Err(Error::new(kind, message))
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::new(ErrorKind::StoreIo, format!("token store: {e}"))
    }
}
