//! Where the CLI gets PINs: a file named on the command line, an environment variable, or
//! an interactive prompt, in that order. PINs stay in zeroizing buffers.

use super::CliError;
use std::io::IsTerminal;
use std::path::Path;
use zeroize::Zeroizing;

/// Which PIN is asked for; names the environment variable and the prompt.
#[derive(Clone, Copy, Debug)]
pub enum PinRole {
    So,
    User,
}

impl PinRole {
    fn env(self) -> &'static str {
        match self {
            PinRole::So => "PQHSM_SO_PIN",
            PinRole::User => "PQHSM_PIN",
        }
    }
    fn name(self) -> &'static str {
        match self {
            PinRole::So => "SO PIN",
            PinRole::User => "user PIN",
        }
    }
}

/// Read a PIN from `file` (first line), else `$PQHSM_SO_PIN`/`$PQHSM_PIN`, else a prompt
/// (asked twice when `confirm`). Fails with a clear message when none is available.
pub fn read_pin(
    role: PinRole,
    file: Option<&Path>,
    confirm: bool,
) -> Result<Zeroizing<String>, CliError> {
    if let Some(path) = file {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!(
                "cannot read the {} from {}: {e}",
                role.name(),
                path.display()
            ))
        })?);
        let line = text.lines().next().unwrap_or("");
        return non_empty(role, Zeroizing::new(line.to_string()));
    }
    if let Ok(v) = std::env::var(role.env()) {
        return non_empty(role, Zeroizing::new(v));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "no {} given: set {} or pass --{}-file (no terminal to prompt on)",
            role.name(),
            role.env(),
            match role {
                PinRole::So => "so-pin",
                PinRole::User => "pin",
            }
        )));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("{}: ", role.name()))
            .map_err(|e| CliError::usage(format!("cannot read the {}: {e}", role.name())))?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password(format!("{} again: ", role.name()))
                .map_err(|e| CliError::usage(format!("cannot read the {}: {e}", role.name())))?,
        );
        if *again != *first {
            return Err(CliError::usage(format!("the two {}s differ", role.name())));
        }
    }
    non_empty(role, first)
}

fn non_empty(role: PinRole, pin: Zeroizing<String>) -> Result<Zeroizing<String>, CliError> {
    if pin.is_empty() {
        return Err(CliError::usage(format!("the {} is empty", role.name())));
    }
    Ok(pin)
}
