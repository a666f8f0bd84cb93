//! Temporary `pqhsm` entry point carrying only `pqhsm rng ...`; the CLI's own main replaces
//! it and keeps the `Rng` arm.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "pqhsm", about = "pqhsm management CLI")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Entropy sources, the entropy bridge and the kernel feeder
    #[command(subcommand)]
    Rng(pqhsm::cli::rng::RngCmd),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Rng(cmd) => pqhsm::cli::rng::run(cmd),
    };
    if let Err(e) = result {
        eprintln!("pqhsm: {e}");
        std::process::exit(e.exit_code());
    }
}
