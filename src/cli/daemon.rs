//! `pqhsm daemon`: runs what falls due with time — policy rotations, expiries, deletions
//! whose grace period ended — every `--interval` (or once with `--once`), and POSTs a JSON
//! notification to `--webhook` for each rotation, retrying with exponential back-off. A
//! delivery that never succeeds is recorded in the audit log. Catching up after downtime
//! rotates once (the core counts the next interval from the rotation it makes).

use super::open::{open, print_json, Opened, TokenArgs};
use super::CliError;
use crate::manage::audit::Outcome;
use crate::manage::clock::format_time;
use crate::manage::policy::DueReport;
use crate::manage::Rotated;
use clap::Args;
use serde_json::json;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// How often to look for due work.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub interval: String,
    /// Do the due work once and exit (for cron jobs and scripts).
    #[arg(long)]
    pub once: bool,
    /// URL that receives a JSON POST for each rotation (http or https).
    #[arg(long, env = "PQHSM_WEBHOOK_URL", value_name = "URL")]
    pub webhook: Option<String>,
    /// Delivery attempts per notification.
    #[arg(long, default_value_t = 5)]
    pub webhook_attempts: u32,
    /// Wait before the first retry; doubled after each failure.
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub webhook_backoff: String,
    /// Time limit of one delivery attempt.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub webhook_timeout: String,
    #[command(flatten)]
    pub token: TokenArgs,
    /// One JSON report per run instead of lines of text.
    #[arg(long)]
    pub json: bool,
}

fn duration(s: &str) -> Result<Duration, CliError> {
    humantime::parse_duration(s).map_err(|e| {
        CliError::usage(format!(
            "`{s}` is not a duration ({e}): use e.g. 60s, 500ms, 5m"
        ))
    })
}

/// Where and how notifications are delivered.
struct Webhook {
    url: String,
    client: reqwest::Client,
    attempts: u32,
    backoff: Duration,
}

impl Webhook {
    /// POST `body`; Err(reason of the last failure) after every attempt failed.
    async fn deliver(&self, body: &serde_json::Value) -> Result<u32, String> {
        let mut wait = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            let sent = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return Ok(attempt),
                Ok(r) => last = format!("HTTP {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            tracing::warn!(url = %self.url, attempt, "webhook delivery failed: {last}");
            if attempt < self.attempts {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
        }
        Err(last)
    }
}

fn notification(token: &str, r: &Rotated) -> serde_json::Value {
    json!({
        "event": "key.rotated",
        "token": token,
        "key": r.key,
        "version": r.version,
        "previousVersion": r.previous_version,
        "algorithm": r.algorithm,
        "rotatedAt": format_time(r.rotated_at),
        "destroyedVersions": r.pruned,
    })
}

/// One run of the due work, then the notifications of its rotations.
async fn run_once(
    o: &Opened,
    hook: Option<&Webhook>,
    as_json: bool,
) -> Result<DueReport, CliError> {
    let m = o.manager()?;
    let report = m.run_due()?;
    if as_json {
        print_json(&report)?;
    } else {
        for r in &report.rotated {
            println!(
                "rotated key `{}`: v{} active, v{} retired",
                r.key, r.version, r.previous_version
            );
        }
        for k in &report.expired {
            println!("key `{k}` expired");
        }
        for k in &report.deleted {
            println!("key `{k}` deleted (grace period ended)");
        }
        for (k, why) in &report.failed {
            eprintln!("pqhsm: due work on key `{k}` failed: {why}");
        }
    }
    if let Some(hook) = hook {
        for r in &report.rotated {
            match hook.deliver(&notification(&o.label, r)).await {
                Ok(n) => tracing::info!(key = %r.key, attempts = n, "webhook delivered"),
                Err(why) => {
                    let detail = format!(
                        "rotation notification to {} failed after {} attempts: {why}",
                        hook.url, hook.attempts
                    );
                    eprintln!("pqhsm: {detail}");
                    if let Err(e) = m.record(
                        "webhook",
                        Some(&r.key),
                        Some(r.version),
                        Outcome::Failed,
                        &detail,
                    ) {
                        eprintln!("pqhsm: the failed delivery could not be audited: {e}");
                    }
                }
            }
        }
    }
    Ok(report)
}

pub fn run(a: DaemonArgs) -> Result<(), CliError> {
    let interval = duration(&a.interval)?;
    let hook = match &a.webhook {
        Some(url) => Some(Webhook {
            url: url.clone(),
            client: reqwest::Client::builder()
                .timeout(duration(&a.webhook_timeout)?)
                .build()
                .map_err(|e| CliError::usage(format!("cannot set up the webhook client: {e}")))?,
            attempts: a.webhook_attempts,
            backoff: duration(&a.webhook_backoff)?,
        }),
        None => None,
    };
    let o = open(&a.token, "daemon")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::usage(format!("cannot start the daemon's runtime: {e}")))?;
    rt.block_on(async {
        loop {
            if let Err(e) = run_once(&o, hook.as_ref(), a.json).await {
                if a.once {
                    return Err(e);
                }
                // A daemon keeps going: the store may be busy or briefly unavailable.
                eprintln!("pqhsm: daemon run failed: {}", e.message);
            }
            if a.once {
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    })
}
