//! `pqhsm rng ...`: status of the entropy chain, sampling through it, the bridge daemon and
//! the kernel feeder. Owns argument handling and output format; never touches key material.

use crate::error::{Error, ErrorKind};
use clap::Subcommand;
use pqhsm_qrng::bridge::{self, BridgeServer};
use pqhsm_qrng::kernel::{self, FeedOptions};
use pqhsm_qrng::stats::Battery;
use pqhsm_qrng::{Chain, ChainStatus, RngConfig};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand, Debug, Clone)]
pub enum RngCmd {
    /// Probe the configured source chain and show each source's state
    Status {
        /// Print JSON: {"serving", "sources": [{"name", "kind", "state", "bytes", ...}]}
        #[arg(long)]
        json: bool,
    },
    /// Draw random bytes through the chain (the same DRBG the module uses)
    Sample {
        /// How many bytes
        #[arg(long)]
        bytes: u64,
        /// Write them to FILE (default: standard output, which must not be a terminal)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print hexadecimal instead of raw bytes
        #[arg(long)]
        hex: bool,
        /// Run an ent-style battery (chi-square, mean, serial correlation) on the sample
        /// and fail if it does not pass
        #[arg(long)]
        stats: bool,
    },
    /// Own the devices and serve conditioned entropy to module instances on a Unix socket
    Bridge {
        /// Socket path (default: `bridge` of the [rng] table)
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Credit the kernel entropy pool from the device sources (RNDADDENTROPY), like rngd
    FeedKernel {
        /// Draw and log what would be credited, without the ioctl (needs no privilege)
        #[arg(long)]
        dry_run: bool,
        /// Stop after this many 64-byte seeds (default: run until stopped)
        #[arg(long)]
        count: Option<u64>,
        /// Pause between two seeds, milliseconds
        #[arg(long, default_value_t = 1000)]
        interval_ms: u64,
    },
}

/// Run one `pqhsm rng` subcommand.
pub fn run(cmd: RngCmd) -> Result<(), Error> {
    init_logs();
    let cfg = crate::rng::load_config()?;
    match cmd {
        RngCmd::Status { json } => status(&cfg, json),
        RngCmd::Sample {
            bytes,
            out,
            hex,
            stats,
        } => sample(bytes, out, hex, stats),
        RngCmd::Bridge { socket } => serve_bridge(&cfg, socket),
        RngCmd::FeedKernel {
            dry_run,
            count,
            interval_ms,
        } => {
            let mut chain = Chain::from_config(&cfg).map_err(config_error)?;
            let opts = FeedOptions {
                dry_run,
                seeds: count,
                interval: Duration::from_millis(interval_ms),
            };
            let report = kernel::feed(&mut chain, &opts).map_err(io_error)?;
            let verb = if dry_run {
                "would have credited"
            } else {
                "credited"
            };
            println!(
                "{verb} {} bits from {} seeds ({} attempts without device entropy)",
                report.bits_credited, report.seeds, report.skipped
            );
            Ok(())
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Another subcommand's main may have set a subscriber already; keep that one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn config_error(e: pqhsm_qrng::Error) -> Error {
    Error::new(ErrorKind::ArgumentsBad, e.to_string())
}

fn io_error(e: std::io::Error) -> Error {
    Error::new(ErrorKind::General, e.to_string())
}

#[derive(Serialize)]
struct StatusReport {
    serving: String,
    sources: Vec<pqhsm_qrng::SourceStatus>,
    /// The bridge socket, when one is configured, and whether it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    bridge: Option<BridgeReport>,
}

#[derive(Serialize)]
struct BridgeReport {
    socket: PathBuf,
    reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn status(cfg: &RngConfig, json: bool) -> Result<(), Error> {
    // A running bridge owns the devices: ask it rather than fight it for the ports.
    let (chain, bridge): (ChainStatus, Option<BridgeReport>) = match &cfg.bridge {
        Some(path) => match bridge::query_status(path) {
            Ok(st) => (
                st,
                Some(BridgeReport {
                    socket: path.clone(),
                    reachable: true,
                    error: None,
                }),
            ),
            Err(e) => {
                let report = BridgeReport {
                    socket: path.clone(),
                    reachable: false,
                    error: Some(e.to_string()),
                };
                (probe(cfg)?, Some(report))
            }
        },
        None => (probe(cfg)?, None),
    };
    let report = StatusReport {
        serving: chain.serving,
        sources: chain.sources,
        bridge,
    };
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::new(ErrorKind::General, e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    if let Some(b) = &report.bridge {
        match &b.error {
            None => println!(
                "bridge: {} (the chain below is the bridge's)",
                b.socket.display()
            ),
            Some(e) => println!(
                "bridge: {} unreachable ({e}); probed directly",
                b.socket.display()
            ),
        }
    }
    println!("serving: {}", report.serving);
    println!(
        "  {:<12} {:<7} {:<12} {:>10} {:>9}  LAST ERROR",
        "NAME", "KIND", "STATE", "BYTES", "FAILURES"
    );
    for s in &report.sources {
        let mark = if s.name == report.serving { '*' } else { ' ' };
        println!(
            "{mark} {:<12} {:<7} {:<12} {:>10} {:>9}  {}",
            s.name,
            s.kind,
            s.state.to_string(),
            s.bytes,
            s.failures,
            s.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

fn probe(cfg: &RngConfig) -> Result<ChainStatus, Error> {
    let mut chain = Chain::from_config(cfg).map_err(config_error)?;
    chain.probe();
    Ok(chain.status())
}

fn sample(bytes: u64, out: Option<PathBuf>, hex: bool, stats: bool) -> Result<(), Error> {
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| {
            Error::new(
                ErrorKind::ArgumentsBad,
                format!("cannot create {}: {e}", path.display()),
            )
        })?),
        None if !hex && std::io::stdout().is_terminal() => {
            return Err(Error::new(
                ErrorKind::ArgumentsBad,
                "refusing to write raw bytes to a terminal: use --out FILE or --hex",
            ))
        }
        None => Box::new(std::io::stdout().lock()),
    };
    // Let the first device seed reach the DRBG, so the sample shows the configured chain.
    crate::rng::settle(Duration::from_secs(10))?;
    let st = crate::rng::status();
    eprintln!(
        "DRBG seeded from {} (serving: {})",
        st.drbg_seeded_from, st.serving
    );

    let bar = if bytes >= 1 << 20 {
        indicatif::ProgressBar::new(bytes)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        crate::rng::try_fill_bytes(&mut buf[..n])?;
        let written = if hex {
            sink.write_all(hex::encode(&buf[..n]).as_bytes())
        } else {
            sink.write_all(&buf[..n])
        };
        written.map_err(io_error)?;
        if stats {
            kept.extend_from_slice(&buf[..n]);
        }
        left -= n as u64;
        bar.inc(n as u64);
    }
    if hex {
        sink.write_all(b"\n").map_err(io_error)?;
    }
    sink.flush().map_err(io_error)?;
    bar.finish_and_clear();
    if stats {
        let battery = Battery::run(&kept);
        eprintln!("{battery}");
        battery.verdict().map_err(|e| {
            Error::new(
                ErrorKind::General,
                format!("statistical battery failed: {e}"),
            )
        })?;
        eprintln!("statistical battery: pass");
    }
    Ok(())
}

fn serve_bridge(cfg: &RngConfig, socket: Option<PathBuf>) -> Result<(), Error> {
    let path = socket.or_else(|| cfg.bridge.clone()).ok_or_else(|| {
        Error::new(
            ErrorKind::ArgumentsBad,
            "no socket: pass --socket PATH or set `bridge` in [rng]",
        )
    })?;
    let chain = Chain::devices_only(cfg).map_err(config_error)?;
    if !chain.has_devices() {
        tracing::warn!("no device source configured: the bridge will answer `not ready`");
    }
    let server = BridgeServer::bind(&path, chain).map_err(|e| {
        Error::new(
            ErrorKind::General,
            format!("cannot serve on {}: {e}", path.display()),
        )
    })?;
    server.serve();
    Ok(())
}
