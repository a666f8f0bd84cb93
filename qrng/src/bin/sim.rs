//! `pqhsm-qrng-sim`: run a simulated QRNG for demos and manual tests, until interrupted.
//! Prints the device path or URL to put in the [[rng.sources]] entry.

use clap::{Parser, Subcommand};
use pqhsm_qrng::config::HttpFormat;
use pqhsm_qrng::sim::http::{HttpOptions, HttpSim};
use pqhsm_qrng::sim::serial::{SerialOptions, SerialSim};
use pqhsm_qrng::sim::Fault;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "pqhsm-qrng-sim",
    about = "Simulated serial and HTTP QRNGs with fault modes"
)]
struct Cli {
    #[command(subcommand)]
    device: Device,
}

#[derive(Subcommand)]
enum Device {
    /// A serial QRNG on a pseudo terminal, reachable through the symlink LINK
    Serial {
        link: PathBuf,
        /// good, stuck, biased, disconnect, slow, malformed
        #[arg(long, default_value = "good")]
        fault: Fault,
        /// Stream only after the host writes this command (e.g. cmdO)
        #[arg(long)]
        start_command: Option<String>,
    },
    /// An HTTP QRNG on 127.0.0.1
    Http {
        /// good, stuck, biased, disconnect, slow, malformed[:length|:range|:failure|:html]
        #[arg(long, default_value = "good")]
        fault: Fault,
        /// anu-json or octets
        #[arg(long, default_value = "anu-json")]
        format: String,
        /// Require this x-api-key header
        #[arg(long)]
        api_key: Option<String>,
    },
}

fn main() -> Result<(), String> {
    let cli = Cli::parse();
    let _keep: Box<dyn std::any::Any> = match cli.device {
        Device::Serial {
            link,
            fault,
            start_command,
        } => {
            let opts = SerialOptions {
                fault,
                start_command,
                ..SerialOptions::default()
            };
            let sim = SerialSim::start(&link, opts).map_err(|e| e.to_string())?;
            println!("{}", sim.path().display());
            Box::new(sim)
        }
        Device::Http {
            fault,
            format,
            api_key,
        } => {
            let format = match format.as_str() {
                "anu-json" => HttpFormat::AnuJson,
                "octets" => HttpFormat::Octets,
                other => return Err(format!("unknown format `{other}`: anu-json or octets")),
            };
            let sim = HttpSim::start(HttpOptions {
                format,
                fault,
                api_key,
                ..HttpOptions::default()
            })
            .map_err(|e| e.to_string())?;
            println!("{}", sim.url(1024));
            Box::new(sim)
        }
    };
    use std::io::Write;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
