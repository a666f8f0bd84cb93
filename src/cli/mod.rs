//! The `pqhsm` management CLI: argument parsing and one module per command family.
//! Commands act on tokens through the same core `Module` a PKCS#11 client reaches, so the
//! CLI and every client see one truth. Nothing here prints a secret, except the plaintext
//! data key `data-key --json` is asked for (files with plaintext are created 0600).

mod audit;
mod daemon;
mod envelope;
mod keys;
mod open;
mod pin;
pub mod quickstart;
pub mod rng;
pub mod token;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "pqhsm",
    version,
    about = "pqhsm: a software HSM for the post-quantum transition"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Initialise a token and show what is on the machine, end to end, through the
    /// PKCS#11 module exactly as a client uses it.
    Quickstart(quickstart::QuickstartArgs),
    /// Token set-up and information.
    #[command(subcommand)]
    Token(token::TokenCmd),
    /// Entropy sources, the entropy bridge and the kernel feeder.
    #[command(subcommand)]
    Rng(rng::RngCmd),
    /// Named keys and their versions: generate, rotate, retire, import, export, ...
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Sign a file with a signing key.
    Sign(envelope::SignArgs),
    /// Verify a signature made by a signing key.
    Verify(envelope::VerifyArgs),
    /// Compute or verify an HMAC.
    Mac(envelope::MacArgs),
    /// Make a data key protected by an encryption or symmetric key.
    DataKey(envelope::DataKeyArgs),
    /// Protect key material under an encryption or symmetric key.
    Wrap(envelope::SealArgs),
    /// Recover key material (or a data key) from its envelope.
    Unwrap(envelope::OpenArgs),
    /// Encrypt a file (envelope encryption).
    Encrypt(envelope::SealArgs),
    /// Decrypt a file encrypted by `pqhsm encrypt`.
    Decrypt(envelope::OpenArgs),
    /// The token's audit log.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Run due rotations, expiries and deletions; notify a webhook of rotations.
    Daemon(daemon::DaemonArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
}

/// Run a parsed command; the error carries the process exit code.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Quickstart(a) => quickstart::run(a),
        Command::Token(c) => token::run(c),
        Command::Rng(c) => Ok(rng::run(c)?),
        Command::Keys(c) => keys::run(c),
        Command::Sign(a) => envelope::sign(a),
        Command::Verify(a) => envelope::verify(a),
        Command::Mac(a) => envelope::mac(a),
        Command::DataKey(a) => envelope::data_key(a),
        Command::Wrap(a) => envelope::wrap(a),
        Command::Unwrap(a) => envelope::unwrap(a),
        Command::Encrypt(a) => envelope::encrypt(a),
        Command::Decrypt(a) => envelope::decrypt(a),
        Command::Audit(c) => audit::run(c),
        Command::Daemon(a) => daemon::run(a),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "pqhsm", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// A failure the CLI reports: a message for the user and the process exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: i32,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: 1,
        }
    }
}

/// The ERR_KMS_* code of an error, as key-service users know them (listed in the README).
pub fn kms_code(kind: crate::ErrorKind) -> Option<&'static str> {
    use crate::ErrorKind::*;
    Some(match kind {
        KeyNotFound => "ERR_KMS_001",
        ArgumentsBad | AttributeValueInvalid | TemplateInconsistent | TemplateIncomplete => {
            "ERR_KMS_002"
        }
        PinIncorrect | PinLocked | UserNotLoggedIn | UserPinNotInitialized | PinLenRange => {
            "ERR_KMS_003"
        }
        KeyExists => "ERR_KMS_004",
        LastActiveVersion => "ERR_KMS_005",
        KeyLifecycle => "ERR_KMS_006",
        StateTransition => "ERR_KMS_007",
        KeyFunctionNotPermitted | ActionProhibited | AttributeReadOnly => "ERR_KMS_008",
        SignatureInvalid | SignatureLenRange => "ERR_KMS_009",
        EncryptedDataInvalid | EncryptedDataLenRange => "ERR_KMS_010",
        AuditInvalid => "ERR_KMS_011",
        StoreTampered => "ERR_KMS_012",
        Conflict => "ERR_KMS_013",
        MechanismInvalid
        | FunctionNotSupported
        | ParameterSetNotSupported
        | CurveNotSupported
        | KeySizeRange => "ERR_KMS_014",
        StoreIo => "ERR_KMS_015",
        _ => return None,
    })
}

impl From<crate::Error> for CliError {
    fn from(e: crate::Error) -> Self {
        let message = match kms_code(e.kind()) {
            Some(code) => format!("{code}: {e}"),
            None => e.to_string(),
        };
        CliError {
            message,
            code: e.exit_code(),
        }
    }
}
