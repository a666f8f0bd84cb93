//! `pqhsm keys ...`: named keys and their versions through the core management API —
//! generate, list, show, versions, rotate, retire, archive, destroy, revoke, delete and
//! cancel-delete, expiry, rotation-policy, label, default, import, export. Human tables by
//! default, `--json` for scripts. Never prints key material (public keys excepted).

use super::open::{open, print_json, print_table, read_input, write_output, TokenArgs};
use super::CliError;
use crate::manage::clock::{format_time, parse_duration, parse_time, Timestamp};
use crate::manage::export::PublicKey;
use crate::manage::import::{ImportFormat, ImportRequest};
use crate::manage::info::{KeyInfo, ListFilter, SortBy};
use crate::manage::meta::RotationPolicy;
use crate::manage::policy::{frequency_secs, FREQUENCIES};
use crate::manage::{GenerateRequest, Manager};
use crate::object::vendor::{KeyState, Purpose};
use base64ct::{Base64, Encoding};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use zeroize::Zeroizing;

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Make a new key: version 1, active (refuses a name that exists: rotate it).
    Generate(GenerateArgs),
    /// List keys (search, filter by state/type/label, sort).
    List(ListArgs),
    /// Show one key.
    Show(NameArgs),
    /// List a key's versions and their states.
    Versions(NameArgs),
    /// Make a new active version and retire the current one, atomically.
    Rotate(NameArgs),
    /// Retire a version (the only active version cannot be retired: rotate).
    Retire(VersionArgs),
    /// Archive a retired version: it can no longer be used at all.
    Archive(VersionArgs),
    /// Destroy an archived version's key material (its metadata stays).
    Destroy(VersionArgs),
    /// Revoke a key: it never signs or encrypts again; existing data still verifies.
    Revoke(NameArgs),
    /// Schedule the deletion of a key after a grace period.
    Delete(DeleteArgs),
    /// Cancel a scheduled deletion (before the grace period ends).
    CancelDelete(NameArgs),
    /// Set or clear a key's expiry.
    Expiry(ExpiryArgs),
    /// Set a key's rotation policy (run by `pqhsm daemon`).
    RotationPolicy(PolicyArgs),
    /// Add, change or remove labels; set the description.
    Label(LabelArgs),
    /// Make a key the default of its type, or show the default of a type.
    Default(DefaultArgs),
    /// Import a private or secret key (BYOK) as a new key.
    Import(ImportArgs),
    /// Export a version's public key.
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct NameArgs {
    /// Key name.
    pub name: String,
    #[command(flatten)]
    pub token: TokenArgs,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    pub name: String,
    /// The version to change.
    #[arg(long)]
    pub version: u32,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

/// Settings a new key (generated or imported) may start with.
#[derive(Args, Debug, Default)]
pub struct Settings {
    /// Expiry: a date (2027-01-01) or RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
    /// Rotate daily, weekly, monthly (30 d), quarterly (90 d) or yearly.
    #[arg(long, value_name = "FREQUENCY")]
    pub frequency: Option<String>,
    /// Rotate every DURATION (custom interval, e.g. 45d).
    #[arg(long, value_name = "DURATION", conflicts_with = "frequency")]
    pub every: Option<String>,
    /// Keep at most N versions with key material (older ones are destroyed on rotation).
    #[arg(long, value_name = "N")]
    pub max_versions: Option<u32>,
    /// A label `name=value` (repeatable).
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    #[arg(long, default_value = "")]
    pub description: String,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    pub name: String,
    /// signing, encryption, hmac or symmetric.
    #[arg(long = "type", default_value = "signing", value_name = "TYPE")]
    pub purpose: String,
    /// Algorithm (default per type: ml-dsa-65, ml-kem-768, hmac-sha256, aes-256-gcm).
    #[arg(long)]
    pub algorithm: Option<String>,
    #[command(flatten)]
    pub settings: Settings,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only keys in this state (enabled, revoked, expired, pending-deletion, deleted).
    #[arg(long)]
    pub state: Option<String>,
    /// Only keys of this type.
    #[arg(long = "type", value_name = "TYPE")]
    pub purpose: Option<String>,
    /// Only keys with this label (`name` or `name=value`; repeatable).
    #[arg(long = "label", value_name = "NAME[=VALUE]")]
    pub labels: Vec<String>,
    /// Only keys whose name or description contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// name, created, expires or rotated.
    #[arg(long, default_value = "name")]
    pub sort: String,
    /// Include deleted keys.
    #[arg(long)]
    pub all: bool,
    /// Warn about keys expiring within this many days.
    #[arg(long, default_value_t = 30)]
    pub expiring_days: u64,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    pub name: String,
    /// Grace period before the key material is destroyed.
    #[arg(long, default_value = "30d", value_name = "DURATION")]
    pub grace: String,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExpiryArgs {
    pub name: String,
    #[arg(long, value_name = "DATE", required_unless_present = "clear")]
    pub expires: Option<String>,
    /// Remove the expiry.
    #[arg(long, conflicts_with = "expires")]
    pub clear: bool,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PolicyArgs {
    pub name: String,
    /// daily, weekly, monthly, quarterly, yearly, or none.
    #[arg(long)]
    pub frequency: Option<String>,
    /// Custom interval (e.g. 45d).
    #[arg(long, value_name = "DURATION", conflicts_with = "frequency")]
    pub every: Option<String>,
    #[arg(long, value_name = "N")]
    pub max_versions: Option<u32>,
    /// Remove the policy.
    #[arg(long, conflicts_with_all = ["frequency", "every", "max_versions"])]
    pub clear: bool,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct LabelArgs {
    pub name: String,
    /// Set a label `name=value` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Remove a label (repeatable).
    #[arg(long = "remove", value_name = "NAME")]
    pub remove: Vec<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DefaultArgs {
    /// The key to make the default of its type.
    #[arg(required_unless_present = "purpose")]
    pub name: Option<String>,
    /// Show the default key of this type instead.
    #[arg(long = "type", value_name = "TYPE", conflicts_with = "name")]
    pub purpose: Option<String>,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    pub name: String,
    #[arg(long, value_name = "FILE")]
    pub file: PathBuf,
    /// pem, pkcs8, der, jwk or raw.
    #[arg(long)]
    pub format: String,
    /// signing, encryption, hmac or symmetric (default from the key).
    #[arg(long = "type", value_name = "TYPE")]
    pub purpose: Option<String>,
    #[arg(long)]
    pub algorithm: Option<String>,
    /// File whose first line is the password of an encrypted PKCS#8 key (else
    /// PQHSM_IMPORT_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
    #[command(flatten)]
    pub token: TokenArgs,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    pub name: String,
    /// The version (default: the active one).
    #[arg(long)]
    pub version: Option<u32>,
    /// pem (SPKI), der (SPKI), raw (base64) or jwk.
    #[arg(long, default_value = "pem")]
    pub format: String,
    /// Metadata to include (comma-separated: name, description, keyType, isPostQuantum,
    /// state, createdAt, expiresAt, lastRotatedAt, labels, version, versionState,
    /// algorithm, rotationPolicy, default); the output becomes a JSON object.
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    pub include: Vec<String>,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub token: TokenArgs,
}

pub(crate) fn parse_purpose(s: &str) -> Result<Purpose, CliError> {
    Purpose::parse(s).ok_or_else(|| {
        CliError::usage(format!(
            "unknown key type `{s}`: use signing, encryption, hmac or symmetric"
        ))
    })
}

fn parse_labels(items: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    items
        .iter()
        .map(|i| match i.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(CliError::usage(format!(
                "`{i}` is not a label: write NAME=VALUE"
            ))),
        })
        .collect()
}

/// The rotation interval of `--frequency` / `--every`: Some(None) for "none".
fn parse_interval(
    frequency: Option<&str>,
    every: Option<&str>,
) -> Result<Option<Option<u64>>, CliError> {
    match (frequency, every) {
        (Some("none"), _) => Ok(Some(None)),
        (Some(f), _) => match frequency_secs(f) {
            Some(s) => Ok(Some(Some(s))),
            None => Err(CliError::usage(format!(
                "unknown frequency `{f}`: use {}, none, or --every DURATION",
                FREQUENCIES
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        },
        (None, Some(e)) => Ok(Some(Some(parse_duration(e)?))),
        (None, None) => Ok(None),
    }
}

impl Settings {
    fn expires_at(&self) -> Result<Option<Timestamp>, CliError> {
        Ok(self.expires.as_deref().map(parse_time).transpose()?)
    }

    fn policy(&self) -> Result<Option<RotationPolicy>, CliError> {
        let interval = parse_interval(self.frequency.as_deref(), self.every.as_deref())?.flatten();
        Ok(
            (interval.is_some() || self.max_versions.is_some()).then_some(RotationPolicy {
                interval_secs: interval,
                max_versions: self.max_versions,
            }),
        )
    }
}

pub fn run(cmd: KeysCmd) -> Result<(), CliError> {
    match cmd {
        KeysCmd::Generate(a) => generate(a),
        KeysCmd::List(a) => list(a),
        KeysCmd::Show(a) => show(a),
        KeysCmd::Versions(a) => versions(a),
        KeysCmd::Rotate(a) => rotate(a),
        KeysCmd::Retire(a) => version_step(a, "retired", |m, n, v| m.retire(n, v)),
        KeysCmd::Archive(a) => version_step(a, "archived", |m, n, v| m.archive(n, v)),
        KeysCmd::Destroy(a) => version_step(a, "destroyed", |m, n, v| m.destroy_version(n, v)),
        KeysCmd::Revoke(a) => key_step(a, "revoked", |m, n| m.revoke(n)),
        KeysCmd::CancelDelete(a) => key_step(a, "deletion cancelled", |m, n| m.cancel_deletion(n)),
        KeysCmd::Delete(a) => delete(a),
        KeysCmd::Expiry(a) => expiry(a),
        KeysCmd::RotationPolicy(a) => rotation_policy(a),
        KeysCmd::Label(a) => label(a),
        KeysCmd::Default(a) => default(a),
        KeysCmd::Import(a) => import(a),
        KeysCmd::Export(a) => export(a),
    }
}

/// After a change: the key as it is now, in the chosen form.
fn report(m: &Manager<'_>, name: &str, json: bool, what: &str) -> Result<(), CliError> {
    let info = m.show(name)?;
    if json {
        print_json(&info)
    } else {
        println!("{what}: {}", summary(&info));
        Ok(())
    }
}

fn summary(k: &KeyInfo) -> String {
    format!(
        "key `{}` ({} {}), {}, active version {}",
        k.name,
        k.algorithm,
        k.key_type,
        k.state,
        k.version
            .map(|v| format!("v{v}"))
            .unwrap_or_else(|| "none".into())
    )
}

fn generate(a: GenerateArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    m.generate(&GenerateRequest {
        name: a.name.clone(),
        purpose: parse_purpose(&a.purpose)?,
        algorithm: a.algorithm,
        expires_at: a.settings.expires_at()?,
        policy: a.settings.policy()?,
        labels: parse_labels(&a.settings.labels)?,
        description: a.settings.description,
    })?;
    report(&m, &a.name, a.json, "generated")
}

fn list(a: ListArgs) -> Result<(), CliError> {
    let filter = ListFilter {
        state: a
            .state
            .as_deref()
            .map(|s| {
                KeyState::parse(s).ok_or_else(|| {
                    CliError::usage(format!(
                        "unknown state `{s}`: use enabled, revoked, expired, pending-deletion or deleted"
                    ))
                })
            })
            .transpose()?,
        purpose: a.purpose.as_deref().map(parse_purpose).transpose()?,
        labels: a
            .labels
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (l.clone(), None),
            })
            .collect(),
        search: a.search,
        include_deleted: a.all,
    };
    let sort = match a.sort.as_str() {
        "name" => SortBy::Name,
        "created" => SortBy::Created,
        "expires" => SortBy::Expires,
        "rotated" => SortBy::Rotated,
        s => {
            return Err(CliError::usage(format!(
                "unknown sort `{s}`: use name, created, expires or rotated"
            )))
        }
    };
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let keys = m.list(&filter, sort)?;
    let now = m.now();
    let soon = |k: &KeyInfo| {
        k.meta.expires_at.filter(|t| {
            *t > now && *t - now <= a.expiring_days * 86_400 && k.state == KeyState::Enabled
        })
    };
    for k in &keys {
        if let Some(t) = soon(k) {
            eprintln!(
                "pqhsm: warning: key `{}` expires in {} day(s), at {}",
                k.name,
                (t - now).div_ceil(86_400),
                format_time(t)
            );
        }
    }
    if a.json {
        return print_json(&keys);
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            let expires = match (&k.expires_at, soon(k)) {
                (Some(e), Some(_)) => format!("{e} (soon)"),
                (Some(e), None) => e.clone(),
                (None, _) => "-".into(),
            };
            let labels: Vec<String> = k.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
            vec![
                format!("{}{}", k.name, if k.default { " *" } else { "" }),
                k.key_type.to_string(),
                k.algorithm.clone(),
                k.state.to_string(),
                k.version
                    .map(|v| format!("v{v}"))
                    .unwrap_or_else(|| "-".into()),
                k.version_count.to_string(),
                expires,
                labels.join(","),
            ]
        })
        .collect();
    print_table(
        &[
            "NAME",
            "TYPE",
            "ALGORITHM",
            "STATE",
            "ACTIVE",
            "VERSIONS",
            "EXPIRES",
            "LABELS",
        ],
        &rows,
    );
    Ok(())
}

fn show(a: NameArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let k = m.show(&a.name)?;
    if a.json {
        return print_json(&k);
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!(
        "name:          {}{}",
        k.name,
        if k.default { " (default)" } else { "" }
    );
    println!("type:          {}", k.key_type);
    println!(
        "algorithm:     {}{}",
        k.algorithm,
        if k.is_post_quantum {
            " (post-quantum)"
        } else {
            ""
        }
    );
    println!("state:         {}", k.state);
    println!(
        "active:        {}",
        k.version
            .map(|v| format!("v{v}"))
            .unwrap_or_else(|| "-".into())
    );
    println!("versions:      {}", k.version_count);
    println!("created:       {}", k.created_at);
    println!("last rotated:  {}", opt(&k.last_rotated_at));
    println!("expires:       {}", opt(&k.expires_at));
    if let Some(d) = &k.deletion_date {
        println!("deletion at:   {d}");
    }
    match &k.rotation_policy {
        Some(p) => println!(
            "rotation:      {}{}{}",
            p.frequency.clone().unwrap_or_else(|| "manual".into()),
            p.max_versions
                .map(|n| format!(", keep {n} versions"))
                .unwrap_or_default(),
            p.next_rotation_at
                .as_ref()
                .map(|t| format!(", next {t}"))
                .unwrap_or_default()
        ),
        None => println!("rotation:      manual"),
    }
    let labels: Vec<String> = k.labels.iter().map(|(n, v)| format!("{n}={v}")).collect();
    println!(
        "labels:        {}",
        if labels.is_empty() {
            "-".into()
        } else {
            labels.join(", ")
        }
    );
    println!(
        "description:   {}",
        if k.description.is_empty() {
            "-"
        } else {
            &k.description
        }
    );
    Ok(())
}

fn versions(a: NameArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let vs = o.manager()?.versions(&a.name)?;
    if a.json {
        return print_json(&vs);
    }
    let rows: Vec<Vec<String>> = vs
        .iter()
        .map(|v| {
            vec![
                format!("v{}", v.version),
                v.state.to_string(),
                v.algorithm.clone(),
                v.created_at.clone(),
                v.state_changed_at.clone(),
            ]
        })
        .collect();
    print_table(
        &["VERSION", "STATE", "ALGORITHM", "CREATED", "STATE CHANGED"],
        &rows,
    );
    Ok(())
}

fn rotate(a: NameArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let r = o.manager()?.rotate(&a.name)?;
    if a.json {
        return print_json(&r);
    }
    println!(
        "rotated key `{}`: v{} active, v{} retired{}",
        r.key,
        r.version,
        r.previous_version,
        if r.pruned.is_empty() {
            String::new()
        } else {
            format!(", destroyed {:?} (rotation policy)", r.pruned)
        }
    );
    Ok(())
}

fn version_step(
    a: VersionArgs,
    done: &str,
    f: impl FnOnce(&Manager<'_>, &str, u32) -> crate::Result<()>,
) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    f(&m, &a.name, a.version)?;
    if a.json {
        let v = m.versions(&a.name)?;
        return print_json(&v.into_iter().find(|v| v.version == a.version));
    }
    println!("key `{}` v{}: {done}", a.name, a.version);
    Ok(())
}

fn key_step(
    a: NameArgs,
    done: &str,
    f: impl FnOnce(&Manager<'_>, &str) -> crate::Result<()>,
) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    f(&m, &a.name)?;
    report(&m, &a.name, a.json, done)
}

fn delete(a: DeleteArgs) -> Result<(), CliError> {
    let grace = parse_duration(&a.grace)?;
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let at = m.schedule_deletion(&a.name, grace)?;
    if a.json {
        return print_json(&m.show(&a.name)?);
    }
    println!(
        "key `{}` scheduled for deletion at {} (cancel before then with `pqhsm keys cancel-delete {}`)",
        a.name,
        format_time(at),
        a.name
    );
    Ok(())
}

fn expiry(a: ExpiryArgs) -> Result<(), CliError> {
    let at = if a.clear {
        None
    } else {
        a.expires.as_deref().map(parse_time).transpose()?
    };
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    m.set_expiry(&a.name, at)?;
    report(&m, &a.name, a.json, "expiry set")
}

fn rotation_policy(a: PolicyArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    let policy = if a.clear {
        None
    } else {
        let current = m.show(&a.name)?.meta.policy.unwrap_or(RotationPolicy {
            interval_secs: None,
            max_versions: None,
        });
        let interval = match parse_interval(a.frequency.as_deref(), a.every.as_deref())? {
            Some(i) => i,
            None => current.interval_secs,
        };
        let p = RotationPolicy {
            interval_secs: interval,
            max_versions: a.max_versions.or(current.max_versions),
        };
        (p.interval_secs.is_some() || p.max_versions.is_some()).then_some(p)
    };
    m.set_rotation_policy(&a.name, policy)?;
    report(&m, &a.name, a.json, "rotation policy set")
}

fn label(a: LabelArgs) -> Result<(), CliError> {
    let set = parse_labels(&a.set)?;
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    if !set.is_empty() || !a.remove.is_empty() {
        m.set_labels(&a.name, &set, &a.remove)?;
    }
    if let Some(d) = &a.description {
        m.set_description(&a.name, d)?;
    }
    report(&m, &a.name, a.json, "updated")
}

fn default(a: DefaultArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    match (a.name, a.purpose) {
        (Some(name), _) => {
            m.set_default(&name)?;
            report(&m, &name, a.json, "default")
        }
        (None, Some(p)) => {
            let purpose = parse_purpose(&p)?;
            let name = m.default_key(purpose)?;
            if a.json {
                return print_json(&json!({"type": purpose, "default": name}));
            }
            match name {
                Some(n) => println!("{n}"),
                None => {
                    println!("no default {purpose} key: set one with `pqhsm keys default NAME`")
                }
            }
            Ok(())
        }
        (None, None) => Err(CliError::usage(
            "name a key, or give --type to show the default",
        )),
    }
}

/// The password of an encrypted PKCS#8 key, if one is given.
fn import_password(file: Option<&std::path::Path>) -> Result<Option<Zeroizing<String>>, CliError> {
    if let Some(path) = file {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!(
                "cannot read the password from {}: {e}",
                path.display()
            ))
        })?);
        return Ok(Some(Zeroizing::new(
            text.lines().next().unwrap_or("").to_string(),
        )));
    }
    Ok(std::env::var("PQHSM_IMPORT_PASSWORD")
        .ok()
        .map(Zeroizing::new))
}

fn import(a: ImportArgs) -> Result<(), CliError> {
    let format = ImportFormat::parse(&a.format)?;
    let data = read_input(&a.file)?;
    let password = import_password(a.password_file.as_deref())?;
    let req = ImportRequest {
        name: a.name.clone(),
        purpose: a.purpose.as_deref().map(parse_purpose).transpose()?,
        algorithm: a.algorithm,
        format,
        data: &data,
        password: password.as_ref().map(|p| p.as_bytes()),
        expires_at: a.settings.expires_at()?,
        policy: a.settings.policy()?,
        labels: parse_labels(&a.settings.labels)?,
        description: a.settings.description.clone(),
    };
    let o = open(&a.token, "cli")?;
    let m = o.manager()?;
    m.import(&req)?;
    report(&m, &a.name, a.json, "imported")
}

/// The metadata field `name` of an exported key, as `--include` names it.
fn include_field(pk: &PublicKey, name: &str) -> Result<Value, CliError> {
    let k = serde_json::to_value(&pk.key)
        .map_err(|e| CliError::usage(format!("cannot format JSON: {e}")))?;
    Ok(match name {
        "version" => json!(pk.version),
        "versionState" => json!(pk.version_state),
        "rotationPolicy" => k["rotationPolicy"].clone(),
        _ => match k.get(name) {
            Some(v) if name != "meta" => v.clone(),
            _ => {
                return Err(CliError::usage(format!(
                    "unknown field `{name}` for --include: use name, description, keyType, isPostQuantum, state, createdAt, expiresAt, lastRotatedAt, labels, version, versionState, algorithm, rotationPolicy, default"
                )))
            }
        },
    })
}

fn export(a: ExportArgs) -> Result<(), CliError> {
    let o = open(&a.token, "cli")?;
    let pk = o.manager()?.export_public(&a.name, a.version)?;
    let pem = || {
        der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, &pk.spki)
            .map_err(|e| CliError::usage(format!("cannot encode PEM: {e}")))
    };
    let (bytes, as_json): (Vec<u8>, Value) = match a.format.as_str() {
        "pem" => {
            let p = pem()?;
            (p.clone().into_bytes(), json!(p))
        }
        "der" => (pk.spki.clone(), json!(Base64::encode_string(&pk.spki))),
        "raw" => {
            let b = Base64::encode_string(&pk.raw);
            (format!("{b}\n").into_bytes(), json!(b))
        }
        "jwk" => {
            let mut t = serde_json::to_string_pretty(&pk.jwk).unwrap_or_default();
            t.push('\n');
            (t.into_bytes(), pk.jwk.clone())
        }
        f => {
            return Err(CliError::usage(format!(
                "unknown export format `{f}`: use pem, der, raw or jwk"
            )))
        }
    };
    let out = a.out.unwrap_or_else(|| PathBuf::from("-"));
    if a.include.is_empty() {
        return write_output(&out, &bytes, false);
    }
    let mut obj = serde_json::Map::new();
    obj.insert("format".into(), json!(a.format));
    obj.insert("publicKey".into(), as_json);
    for f in &a.include {
        obj.insert(f.clone(), include_field(&pk, f)?);
    }
    let mut text = serde_json::to_string_pretty(&Value::Object(obj)).unwrap_or_default();
    text.push('\n');
    write_output(&out, text.as_bytes(), false)
}
