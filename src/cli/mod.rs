//! The `pqhsm` management CLI: argument parsing and one module per command family.
//! Commands act on tokens through the same core `Module` a PKCS#11 client reaches, so the
//! CLI and every client see one truth. Nothing here prints a secret.

mod pin;
pub mod quickstart;
pub mod rng;
pub mod token;

use clap::{Parser, Subcommand};

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
}

/// Run a parsed command; the error carries the process exit code.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Quickstart(a) => quickstart::run(a),
        Command::Token(c) => token::run(c),
        Command::Rng(c) => Ok(rng::run(c)?),
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

impl From<crate::Error> for CliError {
    fn from(e: crate::Error) -> Self {
        CliError {
            message: e.to_string(),
            code: e.exit_code(),
        }
    }
}
