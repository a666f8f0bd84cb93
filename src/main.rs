//! The `pqhsm` management CLI entry point.

use clap::Parser;

fn main() {
    // A CLI whose output is piped into `head` should end quietly like other Unix tools,
    // not panic on a closed stdout.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = pqhsm::cli::Cli::parse();
    if let Err(e) = pqhsm::cli::run(cli) {
        eprintln!("pqhsm: {}", e.message);
        std::process::exit(e.code);
    }
}
