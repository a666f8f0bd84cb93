//! Key-level settings — expiry, rotation policy, labels, description, the default key of
//! each purpose — and the work that falls due with time: policy rotations, expiries and
//! deletions whose grace period ended (`run_due`, what `pqhsm daemon` runs). Catching up
//! after downtime rotates once: the next rotation counts from the one made now.

use super::clock::{format_time, Timestamp};
use super::meta::{KeyMeta, RotationPolicy};
use super::versions::{state_error, Rotated};
use super::view::Snapshot;
use super::{Manager, Plan};
use crate::error::{Error, ErrorKind, Result};
use crate::object::vendor::{KeyState, Purpose};
use serde::Serialize;
use std::collections::BTreeMap;

pub const DAY: u64 = 86_400;
/// Named rotation frequencies (a month is 30 days, a quarter 90, a year 365).
pub const FREQUENCIES: &[(&str, u64)] = &[
    ("daily", DAY),
    ("weekly", 7 * DAY),
    ("monthly", 30 * DAY),
    ("quarterly", 90 * DAY),
    ("yearly", 365 * DAY),
];
/// The shortest rotation interval a policy may ask for.
pub const MIN_INTERVAL: u64 = 3_600;

/// The named frequency of an interval, or the interval in days/hours.
pub fn frequency_name(secs: u64) -> String {
    match FREQUENCIES.iter().find(|(_, s)| *s == secs) {
        Some((n, _)) => n.to_string(),
        None if secs.is_multiple_of(DAY) => format!("every {}d", secs / DAY),
        None => format!("every {}h", secs / 3_600),
    }
}

/// The interval of a named frequency.
pub fn frequency_secs(name: &str) -> Option<u64> {
    FREQUENCIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
}

pub(crate) fn check_policy(p: &RotationPolicy) -> Result<()> {
    if p.interval_secs.is_some_and(|s| s < MIN_INTERVAL) {
        return Err(Error::new(
            ErrorKind::ArgumentsBad,
            "a rotation interval must be at least one hour",
        ));
    }
    if p.max_versions.is_some_and(|m| m < 2) {
        return Err(Error::new(
            ErrorKind::ArgumentsBad,
            "a key must keep at least 2 versions (the active one and the one it replaced)",
        ));
    }
    Ok(())
}

/// When the policy next rotates the key (counting from its last rotation or creation).
pub fn next_rotation(key: &KeyMeta) -> Option<Timestamp> {
    let every = key.policy?.interval_secs?;
    Some(
        key.rotated_at
            .unwrap_or(key.created_at)
            .saturating_add(every),
    )
}

/// What one run of due work did.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DueReport {
    pub rotated: Vec<Rotated>,
    pub expired: Vec<String>,
    pub deleted: Vec<String>,
    /// Keys whose due work failed, with the reason (the work is retried next run).
    pub failed: Vec<(String, String)>,
}

impl Manager<'_> {
    /// Set (or with None clear) the key's expiry. A past time is refused: revoke instead.
    pub fn set_expiry(&self, name: &str, expires_at: Option<Timestamp>) -> Result<()> {
        self.key_step(name, "set-expiry", |key, now| {
            if let Some(t) = expires_at.filter(|t| *t <= now) {
                return Err(Error::new(
                    ErrorKind::ArgumentsBad,
                    format!(
                        "{} is in the past: to stop the key now, revoke it",
                        format_time(t)
                    ),
                ));
            }
            match key.state {
                KeyState::Enabled | KeyState::Expired => Ok(Some(KeyMeta {
                    state: KeyState::Enabled,
                    expires_at,
                    ..key.clone()
                })),
                s => Err(state_error(format!(
                    "key `{name}` is {s}: its expiry no longer matters"
                ))),
            }
        })
    }

    /// Mark an enabled key whose expiry passed as expired (its usage flags follow).
    fn mark_expired(&self, name: &str) -> Result<()> {
        self.key_step(name, "expire", |key, now| {
            Ok(
                (key.state == KeyState::Enabled && key.is_expired(now)).then(|| KeyMeta {
                    state: KeyState::Expired,
                    ..key.clone()
                }),
            )
        })
    }

    /// Set (or with None remove) the rotation policy.
    pub fn set_rotation_policy(&self, name: &str, policy: Option<RotationPolicy>) -> Result<()> {
        if let Some(p) = &policy {
            check_policy(p)?;
        }
        self.key_step(name, "set-rotation-policy", |key, _| {
            Ok(Some(KeyMeta {
                policy,
                ..key.clone()
            }))
        })
    }

    /// Add or change labels (`set`) and remove others (`remove`).
    pub fn set_labels(
        &self,
        name: &str,
        set: &BTreeMap<String, String>,
        remove: &[String],
    ) -> Result<()> {
        for k in set.keys().chain(remove) {
            if k.is_empty() || k.len() > 64 {
                return Err(Error::new(
                    ErrorKind::ArgumentsBad,
                    format!("label name `{k}` must have 1 to 64 bytes"),
                ));
            }
        }
        self.key_step(name, "set-labels", |key, _| {
            let mut labels = key.labels.clone();
            for k in remove {
                labels.remove(k);
            }
            labels.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
            Ok(Some(KeyMeta {
                labels,
                ..key.clone()
            }))
        })
    }

    pub fn set_description(&self, name: &str, description: &str) -> Result<()> {
        if description.len() > 1024 {
            return Err(Error::new(
                ErrorKind::ArgumentsBad,
                "a description has at most 1024 bytes",
            ));
        }
        self.key_step(name, "set-description", |key, _| {
            Ok(Some(KeyMeta {
                description: description.to_string(),
                ..key.clone()
            }))
        })
    }

    /// Make `name` the default key of its purpose (the previous default stops being one),
    /// in one transaction.
    pub fn set_default(&self, name: &str) -> Result<()> {
        self.change("set-default", Some(name), None, |snap, now| {
            let view = snap.key(name)?;
            let key = view.meta();
            if key.effective_state(now) != KeyState::Enabled {
                return Err(state_error(format!(
                    "key `{name}` is {}: only an enabled key can be a default",
                    key.effective_state(now)
                )));
            }
            let mut plan = Plan {
                detail: format!("default {} key", key.purpose),
                ..Plan::default()
            };
            for other in snap.keys.values() {
                let m = other.meta();
                let want = other.name == name;
                if m.purpose == key.purpose && m.is_default != want && !other.is_deleted() {
                    let changed = KeyMeta {
                        is_default: want,
                        ..m.clone()
                    };
                    plan.updates
                        .extend(other.restate(&changed, &BTreeMap::new(), now));
                }
            }
            Ok((plan, ()))
        })
    }

    /// The default key of `purpose`, if one is set.
    pub fn default_key(&self, purpose: Purpose) -> Result<Option<String>> {
        let snap = self.snapshot()?;
        Ok(snap
            .keys
            .values()
            .find(|k| !k.is_deleted() && k.meta().purpose == purpose && k.meta().is_default)
            .map(|k| k.name.clone()))
    }

    /// Run the work that is due now: deletions whose grace period ended, expiries, policy
    /// rotations (one per key however many intervals were missed). Each key's work is its
    /// own transaction; a failure is reported and the others still run.
    pub fn run_due(&self) -> Result<DueReport> {
        let snap = self.snapshot()?;
        let now = self.now();
        let mut report = DueReport::default();
        for (name, view) in &snap.keys {
            if view.is_deleted() {
                continue;
            }
            let key = view.meta();
            let work = match key.state {
                KeyState::PendingDeletion if key.deletion_date.is_some_and(|t| t <= now) => {
                    self.complete_deletion(name).map(|done| {
                        if done {
                            report.deleted.push(name.clone());
                        }
                    })
                }
                KeyState::Enabled if key.is_expired(now) => self
                    .mark_expired(name)
                    .map(|()| report.expired.push(name.clone())),
                KeyState::Enabled if next_rotation(key).is_some_and(|t| t <= now) => self
                    .rotate_by_policy(name)
                    .map(|r| report.rotated.extend(r)),
                _ => Ok(()),
            };
            if let Err(e) = work {
                tracing::warn!(key = %name, "due work failed: {e}");
                report.failed.push((name.clone(), e.message().to_string()));
            }
        }
        Ok(report)
    }

    /// Rotate if (still) due: another process may have rotated since the due check.
    fn rotate_by_policy(&self, name: &str) -> Result<Option<Rotated>> {
        self.change("rotate", Some(name), None, |snap: &Snapshot, now| {
            let key = snap.key(name)?.meta();
            if key.state != KeyState::Enabled || next_rotation(key).is_none_or(|t| t > now) {
                let plan = Plan {
                    detail: "rotation policy: no longer due".into(),
                    ..Plan::default()
                };
                return Ok((plan, None));
            }
            let (plan, r) = self.plan_rotation(snap, name, now, "rotation policy")?;
            Ok((plan, Some(r)))
        })
    }
}
