//! The `pqhsm` management CLI entry point.

use clap::Parser;

fn main() {
    let cli = pqhsm::cli::Cli::parse();
    if let Err(e) = pqhsm::cli::run(cli) {
        eprintln!("pqhsm: {}", e.message);
        std::process::exit(e.code);
    }
}
