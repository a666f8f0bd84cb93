//! `pqhsm token init|info`: set up a token and report on it, through the core `Module`
//! (the same code path a PKCS#11 client reaches through the C ABI).

use super::pin::{read_pin, PinRole};
use super::CliError;
use crate::module::{InitOptions, Module, SlotId, TokenInfo};
use clap::{Args, Subcommand};
use cryptoki_sys as ck;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Initialise a new token in the free slot (PINs from PQHSM_SO_PIN / PQHSM_PIN,
    /// --so-pin-file / --pin-file, or prompts).
    Init(InitArgs),
    /// Show a token's information.
    Info(InfoArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Token label (at most 32 bytes).
    #[arg(long)]
    pub label: String,
    /// File whose first line is the SO PIN.
    #[arg(long)]
    pub so_pin_file: Option<PathBuf>,
    /// File whose first line is the user PIN.
    #[arg(long)]
    pub pin_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Token label (default: the only initialised token).
    #[arg(long)]
    pub token: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: TokenCmd) -> Result<(), CliError> {
    let module = Module::new(InitOptions::default())?;
    match cmd {
        TokenCmd::Init(a) => init(&module, a),
        TokenCmd::Info(a) => info(&module, a),
    }
}

fn init(module: &Module, a: InitArgs) -> Result<(), CliError> {
    if a.label.len() > 32 {
        return Err(CliError::usage("a token label has at most 32 bytes"));
    }
    if initialised_tokens(module)?
        .iter()
        .any(|(_, t)| t.label == a.label)
    {
        return Err(CliError::usage(format!(
            "a token labelled `{}` exists already: choose another label",
            a.label
        )));
    }
    let so_pin = read_pin(PinRole::So, a.so_pin_file.as_deref(), true)?;
    let pin = read_pin(PinRole::User, a.pin_file.as_deref(), true)?;
    let slot = init_token(module, &a.label, so_pin.as_bytes(), pin.as_bytes())?;
    let t = module.token_info(slot)?;
    println!(
        "initialised token `{}` (serial {}) in slot {slot}",
        t.label, t.serial
    );
    Ok(())
}

/// Initialise a token labelled `label` in the free slot and set its user PIN, as a client
/// would: C_InitToken, then C_Login as SO and C_InitPIN. Returns the token's slot.
pub fn init_token(
    module: &Module,
    label: &str,
    so_pin: &[u8],
    pin: &[u8],
) -> Result<SlotId, CliError> {
    let free = module
        .slot_list(true)
        .into_iter()
        .find(|&s| {
            module
                .token_info(s)
                .is_ok_and(|t| t.flags & ck::CKF_TOKEN_INITIALIZED == 0)
        })
        .ok_or_else(|| CliError::usage("no free slot to initialise a token in"))?;
    module.init_token(free, so_pin, label)?;
    // The new token keeps or changes its slot number depending on ordering: find it by label
    // among tokens that still lack a user PIN.
    let slot = initialised_tokens(module)?
        .into_iter()
        .find(|(_, t)| t.label == label && t.flags & ck::CKF_USER_PIN_INITIALIZED == 0)
        .map(|(s, _)| s)
        .ok_or_else(|| CliError::usage("the new token did not appear in the slot list"))?;
    let h = module.open_session(slot, ck::CKF_SERIAL_SESSION | ck::CKF_RW_SESSION)?;
    let result = module
        .login(h, ck::CKU_SO, so_pin)
        .and_then(|_| module.init_pin(h, pin))
        .and_then(|_| module.logout(h));
    module.close_session(h)?;
    result?;
    Ok(slot)
}

/// Every initialised token with its information.
pub fn initialised_tokens(module: &Module) -> Result<Vec<(SlotId, TokenInfo)>, CliError> {
    let mut out = Vec::new();
    for s in module.slot_list(true) {
        let t = module.token_info(s)?;
        if t.flags & ck::CKF_TOKEN_INITIALIZED != 0 {
            out.push((s, t));
        }
    }
    Ok(out)
}

/// The token named by `label`, or the only one when `label` is None.
pub fn find_token(module: &Module, label: Option<&str>) -> Result<(SlotId, TokenInfo), CliError> {
    let tokens = initialised_tokens(module)?;
    match label {
        Some(l) => tokens
            .into_iter()
            .find(|(_, t)| t.label == l)
            .ok_or_else(|| {
                CliError::usage(format!("no token labelled `{l}`: see `pqhsm token info`"))
            }),
        None => match tokens.len() {
            0 => Err(CliError::usage(
                "no token yet: run `pqhsm token init --label NAME`",
            )),
            1 => Ok(tokens.into_iter().next().expect("one token")),
            n => Err(CliError::usage(format!(
                "{n} tokens exist: name one with --token LABEL"
            ))),
        },
    }
}

fn flag_names(flags: ck::CK_FLAGS) -> Vec<&'static str> {
    const NAMES: &[(ck::CK_FLAGS, &str)] = &[
        (ck::CKF_RNG, "rng"),
        (ck::CKF_LOGIN_REQUIRED, "login-required"),
        (ck::CKF_USER_PIN_INITIALIZED, "user-pin-initialized"),
        (ck::CKF_TOKEN_INITIALIZED, "token-initialized"),
        (ck::CKF_CLOCK_ON_TOKEN, "clock-on-token"),
        (ck::CKF_USER_PIN_COUNT_LOW, "user-pin-count-low"),
        (ck::CKF_USER_PIN_FINAL_TRY, "user-pin-final-try"),
        (ck::CKF_USER_PIN_LOCKED, "user-pin-locked"),
        (ck::CKF_SO_PIN_COUNT_LOW, "so-pin-count-low"),
        (ck::CKF_SO_PIN_FINAL_TRY, "so-pin-final-try"),
        (ck::CKF_SO_PIN_LOCKED, "so-pin-locked"),
    ];
    NAMES
        .iter()
        .filter(|(f, _)| flags & f != 0)
        .map(|(_, n)| *n)
        .collect()
}

fn info(module: &Module, a: InfoArgs) -> Result<(), CliError> {
    let (slot, t) = find_token(module, a.token.as_deref())?;
    let flags = flag_names(t.flags);
    if a.json {
        let v = serde_json::json!({
            "slot": slot,
            "label": t.label,
            "serial": t.serial,
            "manufacturer": t.manufacturer,
            "model": t.model,
            "flags": flags,
            "sessions": t.session_count,
            "rw_sessions": t.rw_session_count,
            "min_pin_len": t.min_pin_len,
            "max_pin_len": t.max_pin_len,
            "firmware_version": format!("{}.{}", t.firmware_version.0, t.firmware_version.1),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::usage(e.to_string()))?
        );
    } else {
        println!("slot:          {slot}");
        println!("label:         {}", t.label);
        println!("serial:        {}", t.serial);
        println!("manufacturer:  {}", t.manufacturer);
        println!("model:         {}", t.model);
        println!("flags:         {}", flags.join(", "));
        println!("PIN length:    {}..{}", t.min_pin_len, t.max_pin_len);
    }
    Ok(())
}
