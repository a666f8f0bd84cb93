//! What every key command does first: load the module (configuration, data directory),
//! say who is acting and on which clock, pick the token (`--token LABEL` or the only one),
//! open a read/write session and log in with the user PIN. Dropping it logs out, so the
//! master key and parsed keys are zeroized before the process ends. Also file I/O and
//! output helpers shared by the commands.

use super::pin::{read_pin, PinRole};
use super::token::find_token;
use super::CliError;
use crate::manage::{clock, Caller, Manager};
use crate::module::{InitOptions, Module, SessionHandle};
use clap::Args;
use cryptoki_sys as ck;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The token a command works on and how to unlock it.
#[derive(Args, Debug, Clone, Default)]
pub struct TokenArgs {
    /// Token label (default: the only initialised token).
    #[arg(long, value_name = "LABEL")]
    pub token: Option<String>,
    /// File whose first line is the user PIN (else PQHSM_PIN, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
}

/// A logged-in read/write session on the chosen token.
pub struct Opened {
    pub module: Module,
    pub session: SessionHandle,
    pub label: String,
}

impl Opened {
    pub fn manager(&self) -> Result<Manager<'_>, CliError> {
        Ok(Manager::new(&self.module, self.session)?)
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        let _ = self.module.logout(self.session);
        let _ = self.module.close_session(self.session);
    }
}

/// Who the CLI acts as, for audit entries: the role, the login user and the process.
fn actor(role: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "?".into());
    format!("{role} (user {user}, pid {})", std::process::id())
}

/// Open the token for `role` ("cli", "daemon").
pub fn open(args: &TokenArgs, role: &str) -> Result<Opened, CliError> {
    let module = Module::new(InitOptions::default())?;
    let clock = clock::from_env()?;
    if clock.is_test() {
        eprintln!(
            "pqhsm: warning: using the test clock ({}): expiry, grace periods and rotations follow it",
            clock::format_time(clock.now())
        );
    }
    module.set_caller(Caller {
        clock,
        actor: actor(role),
    });
    let (slot, info) = find_token(&module, args.token.as_deref())?;
    let pin = read_pin(PinRole::User, args.pin_file.as_deref(), false)?;
    let session = module.open_session(slot, ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION)?;
    let opened = Opened {
        module,
        session,
        label: info.label,
    };
    opened.module.login(session, ck::CKU_USER, pin.as_bytes())?;
    Ok(opened)
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> CliError {
    CliError::usage(format!("cannot {what} {}: {e}", path.display()))
}

/// The bytes of `path` (`-`: standard input), in zeroizing memory.
pub fn read_input(path: &Path) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut buf = Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| io_error("read", path, e))?;
    } else {
        let mut f = std::fs::File::open(path).map_err(|e| io_error("open", path, e))?;
        f.read_to_end(&mut buf)
            .map_err(|e| io_error("read", path, e))?;
    }
    Ok(buf)
}

/// Write `data` to `path` (`-`: standard output). `secret` outputs are created 0600.
pub fn write_output(path: &Path, data: &[u8], secret: bool) -> Result<(), CliError> {
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(data)
            .and_then(|()| out.flush())
            .map_err(|e| io_error("write", path, e));
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    if secret {
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| io_error("create", path, e))?;
    f.write_all(data).map_err(|e| io_error("write", path, e))
}

/// Print a value as pretty JSON.
pub fn print_json<T: serde::Serialize>(v: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| CliError::usage(format!("cannot format JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// Print rows under headers, columns padded to their widest cell.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row.clone());
    }
}
