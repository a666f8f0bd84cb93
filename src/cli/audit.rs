//! `pqhsm audit list|verify`: the token's audit log (every management operation and every
//! refused operation), and the check that no entry was edited, removed or reordered.

use super::open::{open, print_json, print_table, TokenArgs};
use super::CliError;
use crate::manage::audit::{self, Outcome};
use clap::{Args, Subcommand};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Show the audit log, oldest first.
    List(ListArgs),
    /// Check the whole log's hash chain and MACs.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only the last N entries.
    #[arg(long)]
    pub last: Option<usize>,
    /// Only entries about this key.
    #[arg(long)]
    pub key: Option<String>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: AuditCmd) -> Result<(), CliError> {
    match cmd {
        AuditCmd::List(a) => list(a),
        AuditCmd::Verify(a) => verify(a),
    }
}

fn list(a: ListArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let mut rows = audit::list(m.token())?;
    if let Some(k) = &a.key {
        rows.retain(|r| r.entry.as_ref().and_then(|e| e.key.as_deref()) == Some(k));
    }
    if let Some(n) = a.last {
        let skip = rows.len().saturating_sub(n);
        rows.drain(..skip);
    }
    if a.json {
        return print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| match &r.entry {
            Some(e) => vec![
                r.seq.to_string(),
                r.time_text.clone().unwrap_or_default(),
                e.actor.clone(),
                e.action.clone(),
                e.key.clone().unwrap_or_else(|| "-".into()),
                e.version
                    .map(|v| format!("v{v}"))
                    .unwrap_or_else(|| "-".into()),
                match e.outcome {
                    Outcome::Ok => "ok".into(),
                    Outcome::Refused => "refused".into(),
                    Outcome::Failed => "failed".into(),
                },
                format!(
                    "{}{}",
                    e.detail,
                    if e.test_clock { " [test clock]" } else { "" }
                ),
            ],
            None => vec![
                r.seq.to_string(),
                "?".into(),
                "-".into(),
                "(undecodable entry)".into(),
            ],
        })
        .collect();
    print_table(
        &[
            "SEQ", "TIME", "ACTOR", "ACTION", "KEY", "VERSION", "OUTCOME", "DETAIL",
        ],
        &table,
    );
    Ok(())
}

fn verify(a: VerifyArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let report = audit::verify(m.token())?;
    if a.json {
        return print_json(&json!({"valid": true, "entries": report.entries, "head": report.head}));
    }
    println!(
        "audit log intact: {} entries, head {}",
        report.entries,
        report.head.as_deref().unwrap_or("-")
    );
    Ok(())
}
