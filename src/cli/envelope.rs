//! `pqhsm sign|verify|mac|data-key|wrap|unwrap|encrypt|decrypt`: operations with a named key,
//! made by the module (so lifecycle checks and their audit apply). Without `--key` the
//! default key of the needed type is used; without `--version` the active version.
//! Ciphertexts name the key and version that made them. Plaintext outputs are created 0600.

use super::open::{open, print_json, read_input, write_output, Opened, TokenArgs};
use super::CliError;
use crate::manage::envelope::{self, Kind};
use crate::manage::Manager;
use crate::object::vendor::Purpose;
use base64ct::{Base64, Encoding};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct KeyChoice {
    /// Key name (default: the default key of the needed type).
    #[arg(long)]
    pub key: Option<String>,
    /// Version (default: the active version).
    #[arg(long)]
    pub version: Option<u32>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    pub key: KeyChoice,
    /// The data (`-`: standard input).
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Where the signature goes (`-`: standard output).
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: PathBuf,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub key: KeyChoice,
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    #[arg(long, value_name = "FILE")]
    pub signature: PathBuf,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MacArgs {
    #[command(flatten)]
    pub key: KeyChoice,
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Where the MAC goes (`-`: standard output).
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: PathBuf,
    /// Check this MAC instead of computing one.
    #[arg(long, value_name = "FILE")]
    pub verify: Option<PathBuf>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DataKeyArgs {
    /// Key name (default: the default encryption, else symmetric, key).
    #[arg(long)]
    pub key: Option<String>,
    /// Data key length: 16, 24 or 32 bytes.
    #[arg(long, default_value_t = 32)]
    pub bytes: usize,
    /// Context bound to the envelope (needed again to unwrap).
    #[arg(long, default_value = "")]
    pub context: String,
    /// Where the wrapped data key (envelope) goes.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: PathBuf,
    /// Also write the plaintext data key here (0600).
    #[arg(long, value_name = "FILE")]
    pub plaintext_out: Option<PathBuf>,
    /// Print the envelope and the plaintext key (base64) as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Args, Debug)]
pub struct SealArgs {
    /// Key name (default: the default encryption, else symmetric, key).
    #[arg(long)]
    pub key: Option<String>,
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: PathBuf,
    /// Context bound as additional authenticated data (needed again to open).
    #[arg(long, default_value = "")]
    pub context: String,
    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Args, Debug)]
pub struct OpenArgs {
    /// Refuse envelopes made by another key.
    #[arg(long)]
    pub key: Option<String>,
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub out: PathBuf,
    #[arg(long, default_value = "")]
    pub context: String,
    #[command(flatten)]
    pub token: TokenArgs,
}

/// `--key`, or the default key of the first of `purposes` that has one.
fn key_name(
    m: &Manager<'_>,
    key: Option<String>,
    purposes: &[Purpose],
) -> Result<String, CliError> {
    if let Some(k) = key {
        return Ok(k);
    }
    for p in purposes {
        if let Some(k) = m.default_key(*p)? {
            return Ok(k);
        }
    }
    Err(CliError::usage(format!(
        "no --key and no default {} key: name one, or set a default with `pqhsm keys default NAME`",
        purposes
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("/")
    )))
}

pub fn sign(a: SignArgs) -> Result<(), CliError> {
    let data = read_input(&a.input)?;
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let name = key_name(&m, a.key.key, &[Purpose::Signing])?;
    let (v, sig) = m.sign(&name, a.key.version, &data)?;
    write_output(&a.out, &sig, false)?;
    if a.json {
        print_json(&json!({"key": name, "version": v, "signature": Base64::encode_string(&sig)}))?;
    } else if a.out.as_os_str() != "-" {
        eprintln!("signed with key `{name}` v{v}");
    }
    Ok(())
}

pub fn verify(a: VerifyArgs) -> Result<(), CliError> {
    let data = read_input(&a.input)?;
    let sig = read_input(&a.signature)?;
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let name = key_name(&m, a.key.key, &[Purpose::Signing])?;
    let v = m.verify(&name, a.key.version, &data, &sig)?;
    if a.json {
        print_json(&json!({"key": name, "version": v, "valid": true}))
    } else {
        println!("signature valid (key `{name}` v{v})");
        Ok(())
    }
}

pub fn mac(a: MacArgs) -> Result<(), CliError> {
    let data = read_input(&a.input)?;
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let name = key_name(&m, a.key.key, &[Purpose::Hmac])?;
    if let Some(path) = &a.verify {
        let tag = read_input(path)?;
        let v = m.mac_verify(&name, a.key.version, &data, &tag)?;
        return if a.json {
            print_json(&json!({"key": name, "version": v, "valid": true}))
        } else {
            println!("MAC valid (key `{name}` v{v})");
            Ok(())
        };
    }
    let (v, tag) = m.mac(&name, a.key.version, &data)?;
    write_output(&a.out, &tag, false)?;
    if a.json {
        print_json(&json!({"key": name, "version": v, "mac": Base64::encode_string(&tag)}))?;
    }
    Ok(())
}

const ENCRYPTING: &[Purpose] = &[Purpose::Encryption, Purpose::Symmetric];

pub fn data_key(a: DataKeyArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let name = key_name(&m, a.key, ENCRYPTING)?;
    let (env, key) = m.data_key(&name, a.bytes, a.context.as_bytes())?;
    if let Some(p) = &a.plaintext_out {
        write_output(p, &key, true)?;
    }
    let header = envelope::peek(&env)?;
    if a.json {
        let plaintext = zeroize::Zeroizing::new(Base64::encode_string(&key));
        return print_json(&json!({
            "key": header.key,
            "version": header.version,
            "ciphertext": Base64::encode_string(&env),
            "plaintext": plaintext.as_str(),
        }));
    }
    write_output(&a.out, &env, false)
}

fn seal(
    a: SealArgs,
    f: impl FnOnce(&Manager<'_>, &str, &[u8], &[u8]) -> crate::Result<Vec<u8>>,
) -> Result<(), CliError> {
    let data = read_input(&a.input)?;
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let name = key_name(&m, a.key, ENCRYPTING)?;
    let env = f(&m, &name, &data, a.context.as_bytes())?;
    write_output(&a.out, &env, false)
}

pub fn wrap(a: SealArgs) -> Result<(), CliError> {
    seal(a, |m, k, d, c| m.wrap(k, d, c))
}

pub fn encrypt(a: SealArgs) -> Result<(), CliError> {
    seal(a, |m, k, d, c| m.encrypt(k, d, c))
}

fn open_envelope(a: OpenArgs, kinds: &[Kind]) -> Result<(), CliError> {
    let env = read_input(&a.input)?;
    let header = envelope::peek(&env)?;
    if let Some(k) = a.key.as_deref().filter(|k| *k != header.key) {
        return Err(CliError::usage(format!(
            "this envelope was made by key `{}`, not `{k}`",
            header.key
        )));
    }
    let o: Opened = open(&a.token, "cli")?;
    let (_, plain) = o.manager()?.open(&env, a.context.as_bytes(), kinds)?;
    write_output(&a.out, &plain, true)
}

pub fn unwrap(a: OpenArgs) -> Result<(), CliError> {
    open_envelope(a, &[Kind::WrappedKey, Kind::DataKey])
}

pub fn decrypt(a: OpenArgs) -> Result<(), CliError> {
    open_envelope(a, &[Kind::File])
}
