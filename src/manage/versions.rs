//! Keys and their versions: generate (v1), rotate (new active version and the previous one
//! retired in one transaction), retire, archive, destroy, revoke, scheduled deletion with
//! its grace period and cancellation. Each transition is checked against the lifecycle in
//! DESIGN.md and refused with a message that says what to do; none ever picks a version
//! the caller did not name.

use super::algorithms::{self, Algorithm};
use super::clock::{format_time, Timestamp};
use super::create::{Material, Version};
use super::meta::{KeyMeta, RotationPolicy, Tombstone, VersionMeta};
use super::view::{KeyView, Snapshot};
use super::{Manager, Plan};
use crate::error::{Error, ErrorKind, Result};
use crate::object::template::NewObject;
use crate::object::vendor::{KeyState, Purpose, VersionState};
use crate::object::{schema, Attrs};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What a new key is.
#[derive(Clone, Debug)]
pub struct GenerateRequest {
    pub name: String,
    pub purpose: Purpose,
    /// None: the purpose's default (ML-KEM-768, ML-DSA-65, HMAC-SHA256, AES-256-GCM).
    pub algorithm: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub policy: Option<RotationPolicy>,
    pub labels: BTreeMap<String, String>,
    pub description: String,
}

/// The outcome of a rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotated {
    pub key: String,
    pub previous_version: u32,
    pub version: u32,
    pub algorithm: String,
    pub rotated_at: Timestamp,
    /// Versions destroyed because the policy keeps fewer.
    pub pruned: Vec<u32>,
}

pub(crate) fn state_error(msg: String) -> Error {
    Error::new(ErrorKind::StateTransition, msg)
}

/// Key names: what a PKCS#11 label and a shell argument both carry without surprises.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':');
    if name.is_empty() || name.len() > 128 || !name.chars().all(ok_char) {
        return Err(Error::new(
            ErrorKind::ArgumentsBad,
            format!("`{name}` is not a key name: use 1 to 128 letters, digits and - _ . / :"),
        ));
    }
    Ok(())
}

/// A key that still has key material (not deleted).
fn live<'s>(snap: &'s Snapshot, name: &str) -> Result<&'s KeyView> {
    let view = snap.key(name)?;
    if view.is_deleted() {
        return Err(state_error(format!(
            "key `{name}` is deleted: only its records remain (`pqhsm keys versions {name}`)"
        )));
    }
    Ok(view)
}

/// The destroyed-version record and the deletion of the objects of version `v`.
fn destroy(view: &KeyView, v: u32, key: &KeyMeta, now: Timestamp, plan: &mut Plan) -> Result<()> {
    let vv = view.version(v)?;
    let public_key_sha256 = vv
        .object(cryptoki_sys::CKO_PUBLIC_KEY)
        .and_then(|o| super::export::spki_of(o).ok())
        .map(|der| hex::encode(Sha256::digest(&der)));
    let record = Tombstone {
        key: key.clone(),
        version: VersionMeta {
            state: VersionState::Destroyed,
            state_changed_at: now,
            ..vv.meta.clone()
        },
        public_key_sha256,
    };
    plan.deletes.extend(vv.objects.iter().map(|o| o.id));
    plan.inserts.push(tombstone_object(&record)?);
    Ok(())
}

fn tombstone_object(t: &Tombstone) -> Result<NewObject> {
    Ok(NewObject {
        kind: schema::kind(cryptoki_sys::CKO_DATA, None)?,
        public: Attrs::from_vec(t.template()),
        secret: Attrs::default(),
    })
}

/// The version facts after moving `vv` to `state` at `now`.
fn moved(vv: &VersionMeta, state: VersionState, now: Timestamp) -> VersionMeta {
    VersionMeta {
        state,
        state_changed_at: now,
        ..vv.clone()
    }
}

impl Manager<'_> {
    /// A new key: version 1, active. Refuses a name that exists (ERR_KMS_004: rotate it).
    pub fn generate(&self, req: &GenerateRequest) -> Result<()> {
        let name = req.name.as_str();
        self.change("generate", Some(name), Some(1), |snap, now| {
            check_name(name)?;
            let alg = algorithms::resolve(req.purpose, req.algorithm.as_deref())?;
            if snap.name_taken(name) {
                return Err(Error::new(
                    ErrorKind::KeyExists,
                    format!("a key named `{name}` exists: add a version with `pqhsm keys rotate {name}`, or choose another name"),
                ));
            }
            if let Some(t) = req.expires_at.filter(|t| *t <= now) {
                return Err(Error::new(
                    ErrorKind::ArgumentsBad,
                    format!("the expiry {} is in the past", format_time(t)),
                ));
            }
            if let Some(p) = &req.policy {
                super::policy::check_policy(p)?;
            }
            let key = KeyMeta {
                name: name.to_string(),
                purpose: req.purpose,
                algorithm: alg.name.to_string(),
                state: KeyState::Enabled,
                prior_state: None,
                deletion_date: None,
                expires_at: req.expires_at,
                created_at: now,
                rotated_at: None,
                policy: req.policy,
                labels: req.labels.clone(),
                description: req.description.clone(),
                is_default: false,
            };
            let ver = first_version(now);
            let inserts = self.make_version(&Version { alg, key: &key, ver: &ver, now }, Material::Generate)?;
            Ok((
                Plan {
                    inserts,
                    version: Some(1),
                    detail: format!("{} {} key", alg.name, req.purpose),
                    ..Plan::default()
                },
                (),
            ))
        })
    }

    /// Add an imported key as version 1 of a new key (see `import`).
    pub(crate) fn create_imported(
        &self,
        key_template: KeyMeta,
        alg: &'static Algorithm,
        material: impl Fn() -> Result<Material>,
    ) -> Result<()> {
        let name = key_template.name.clone();
        self.change("import", Some(&name), Some(1), |snap, now| {
            check_name(&name)?;
            if snap.name_taken(&name) {
                return Err(Error::new(
                    ErrorKind::KeyExists,
                    format!(
                        "a key named `{name}` exists: choose another name for the imported key"
                    ),
                ));
            }
            let key = KeyMeta {
                created_at: now,
                ..key_template.clone()
            };
            let ver = first_version(now);
            let inserts = self.make_version(
                &Version {
                    alg,
                    key: &key,
                    ver: &ver,
                    now,
                },
                material()?,
            )?;
            Ok((
                Plan {
                    inserts,
                    version: Some(1),
                    detail: format!("imported {} {} key", alg.name, key.purpose),
                    ..Plan::default()
                },
                (),
            ))
        })
    }

    /// A new active version; the active one is retired in the same transaction. Applies
    /// the rotation policy's maximum of retained versions.
    pub fn rotate(&self, name: &str) -> Result<Rotated> {
        self.change("rotate", Some(name), None, |snap, now| {
            self.plan_rotation(snap, name, now, "manual")
        })
    }

    pub(crate) fn plan_rotation(
        &self,
        snap: &Snapshot,
        name: &str,
        now: Timestamp,
        why: &str,
    ) -> Result<(Plan, Rotated)> {
        let view = live(snap, name)?;
        let old_key = view.meta();
        match old_key.effective_state(now) {
            KeyState::Enabled => {}
            KeyState::Expired => {
                return Err(state_error(format!(
                    "key `{name}` has expired: extend it first (`pqhsm keys expiry {name} --expires DATE`)"
                )))
            }
            KeyState::Revoked => {
                return Err(state_error(format!(
                    "key `{name}` is revoked and cannot get new versions: generate a new key"
                )))
            }
            KeyState::PendingDeletion => {
                return Err(state_error(format!(
                    "key `{name}` is scheduled for deletion: cancel it first (`pqhsm keys cancel-delete {name}`)"
                )))
            }
            KeyState::Deleted => return Err(state_error(format!("key `{name}` is deleted"))),
        }
        let active = view.active().ok_or_else(|| {
            Error::new(
                ErrorKind::StoreTampered,
                format!("key `{name}` has no active version: the token store was modified outside pqhsm"),
            )
        })?;
        let alg = algorithms::by_name(&old_key.algorithm)?;
        alg.check_available()?;
        let key = KeyMeta {
            rotated_at: Some(now),
            ..old_key.clone()
        };
        let new_v = view.next_version();
        let ver = VersionMeta {
            version: new_v,
            state: VersionState::Active,
            created_at: now,
            state_changed_at: now,
        };
        let mut versions = BTreeMap::new();
        versions.insert(
            active.meta.version,
            moved(&active.meta, VersionState::Retired, now),
        );
        let mut plan = Plan {
            inserts: self.make_version(
                &Version {
                    alg,
                    key: &key,
                    ver: &ver,
                    now,
                },
                Material::Generate,
            )?,
            version: Some(new_v),
            ..Plan::default()
        };
        // Versions beyond the policy's maximum, oldest first, the new one counted (the
        // policy keeps at least two, so the version just retired stays).
        let mut pruned = Vec::new();
        if let Some(max) = key.policy.and_then(|p| p.max_versions) {
            let kept: Vec<u32> = view.live().map(|v| v.meta.version).collect();
            let excess = (kept.len() + 1).saturating_sub(max.max(2) as usize);
            for &v in kept.iter().take(excess) {
                destroy(view, v, &key, now, &mut plan)?;
                pruned.push(v);
            }
        }
        let mut updates = view.restate(&key, &versions, now);
        updates.retain(|(id, _)| !plan.deletes.contains(id));
        plan.updates = updates;
        plan.detail = format!(
            "{why}: v{} retired, v{new_v} active{}",
            active.meta.version,
            if pruned.is_empty() {
                String::new()
            } else {
                format!(
                    ", destroyed {pruned:?} (policy keeps at most {} versions)",
                    key.policy.and_then(|p| p.max_versions).unwrap_or(0)
                )
            }
        );
        Ok((
            plan,
            Rotated {
                key: name.to_string(),
                previous_version: active.meta.version,
                version: new_v,
                algorithm: key.algorithm.clone(),
                rotated_at: now,
                pruned,
            },
        ))
    }

    /// Retire version `version`. The active version cannot be retired (ERR_KMS_005):
    /// rotation retires it. Retiring a retired version changes nothing.
    pub fn retire(&self, name: &str, version: u32) -> Result<()> {
        self.change("retire", Some(name), Some(version), |snap, _now| {
            let view = live(snap, name)?;
            let vv = view.version(version)?;
            match vv.meta.state {
                VersionState::Active => Err(Error::new(
                    ErrorKind::LastActiveVersion,
                    format!("cannot retire v{version}, the only active version of `{name}`: rotate instead (`pqhsm keys rotate {name}`) to make a new active version and retire this one"),
                )),
                VersionState::Retired => Ok((
                    Plan { detail: format!("v{version} was already retired"), ..Plan::default() },
                    (),
                )),
                s => Err(state_error(format!(
                    "key `{name}` v{version} is {s}: it cannot be retired again"
                ))),
            }
        })
    }

    /// Archive retired version `version`: it does nothing any more, but keeps its material
    /// until destroyed.
    pub fn archive(&self, name: &str, version: u32) -> Result<()> {
        self.version_step(
            name,
            version,
            "archive",
            VersionState::Retired,
            VersionState::Archived,
        )
    }

    /// Destroy archived version `version`: its key material is zeroized and deleted from
    /// the store; a record of its metadata stays.
    pub fn destroy_version(&self, name: &str, version: u32) -> Result<()> {
        self.change("destroy", Some(name), Some(version), |snap, now| {
            let view = live(snap, name)?;
            let vv = view.version(version)?;
            if vv.meta.state != VersionState::Archived {
                return Err(state_error(format!(
                    "key `{name}` v{version} is {}: only archived versions are destroyed (retire, then `pqhsm keys archive {name} --version {version}`)",
                    vv.meta.state
                )));
            }
            let mut plan = Plan {
                version: Some(version),
                detail: format!("v{version} destroyed"),
                ..Plan::default()
            };
            destroy(view, version, view.meta(), now, &mut plan)?;
            Ok((plan, ()))
        })
    }

    fn version_step(
        &self,
        name: &str,
        version: u32,
        action: &str,
        from: VersionState,
        to: VersionState,
    ) -> Result<()> {
        self.change(action, Some(name), Some(version), |snap, now| {
            let view = live(snap, name)?;
            let vv = view.version(version)?;
            if vv.meta.state == to {
                return Ok((
                    Plan {
                        detail: format!("v{version} was already {to}"),
                        ..Plan::default()
                    },
                    (),
                ));
            }
            if vv.meta.state != from {
                let hint = match vv.meta.state {
                    VersionState::Active => format!(": rotate first (`pqhsm keys rotate {name}`)"),
                    _ => String::new(),
                };
                return Err(state_error(format!(
                    "key `{name}` v{version} is {}: only {from} versions can be {}d{hint}",
                    vv.meta.state, action
                )));
            }
            let mut versions = BTreeMap::new();
            versions.insert(version, moved(&vv.meta, to, now));
            Ok((
                Plan {
                    updates: view.restate(view.meta(), &versions, now),
                    detail: format!("v{version} {from} -> {to}"),
                    ..Plan::default()
                },
                (),
            ))
        })
    }

    /// Revoke the key: no version signs, encrypts, encapsulates or wraps again; existing
    /// data still verifies and decrypts. Permanent.
    pub fn revoke(&self, name: &str) -> Result<()> {
        self.key_step(name, "revoke", |key, now| match key.effective_state(now) {
            KeyState::Enabled | KeyState::Expired => Ok(Some(KeyMeta {
                state: KeyState::Revoked,
                is_default: false,
                ..key.clone()
            })),
            KeyState::Revoked => Ok(None),
            s => Err(state_error(format!(
                "key `{name}` is {s}: {}",
                if s == KeyState::PendingDeletion {
                    format!("cancel the deletion first (`pqhsm keys cancel-delete {name}`)")
                } else {
                    "it cannot be revoked".to_string()
                }
            ))),
        })
    }

    /// Schedule the deletion of the whole key after `grace_secs`; until then it can be
    /// cancelled. Meanwhile no version can be used.
    pub fn schedule_deletion(&self, name: &str, grace_secs: u64) -> Result<Timestamp> {
        if grace_secs == 0 {
            return Err(Error::new(
                ErrorKind::ArgumentsBad,
                "the grace period must be longer than zero",
            ));
        }
        let mut deadline = 0;
        self.key_step(name, "schedule-deletion", |key, now| match key.state {
            KeyState::Enabled | KeyState::Revoked | KeyState::Expired => {
                deadline = now.saturating_add(grace_secs);
                Ok(Some(KeyMeta {
                    state: KeyState::PendingDeletion,
                    prior_state: Some(key.state),
                    deletion_date: Some(deadline),
                    is_default: false,
                    ..key.clone()
                }))
            }
            KeyState::PendingDeletion => Err(state_error(format!(
                "key `{name}` is already scheduled for deletion at {}",
                key.deletion_date.map(format_time).unwrap_or_default()
            ))),
            KeyState::Deleted => Err(state_error(format!("key `{name}` is deleted"))),
        })?;
        Ok(deadline)
    }

    /// Cancel a scheduled deletion before its grace period ends: the key returns to the
    /// state it had.
    pub fn cancel_deletion(&self, name: &str) -> Result<()> {
        self.key_step(name, "cancel-deletion", |key, now| {
            if key.state != KeyState::PendingDeletion {
                return Err(state_error(format!(
                    "key `{name}` is {}, not scheduled for deletion",
                    key.effective_state(now)
                )));
            }
            if let Some(t) = key.deletion_date.filter(|t| *t <= now) {
                return Err(state_error(format!(
                    "the grace period of `{name}` ended at {}: the deletion can no longer be cancelled",
                    format_time(t)
                )));
            }
            Ok(Some(KeyMeta {
                state: key.prior_state.unwrap_or(KeyState::Enabled),
                prior_state: None,
                deletion_date: None,
                ..key.clone()
            }))
        })
    }

    /// Complete a deletion whose grace period ended: every version's material is destroyed;
    /// the records stay. Returns whether the key was deleted now.
    pub fn complete_deletion(&self, name: &str) -> Result<bool> {
        self.change("delete", Some(name), None, |snap, now| {
            let view = live(snap, name)?;
            let key = view.meta();
            let due = key.state == KeyState::PendingDeletion
                && key.deletion_date.is_some_and(|t| t <= now);
            if !due {
                return Ok((
                    Plan {
                        detail: "not due".into(),
                        ..Plan::default()
                    },
                    false,
                ));
            }
            let gone = KeyMeta {
                state: KeyState::Deleted,
                ..key.clone()
            };
            let mut plan = Plan::default();
            let versions: Vec<u32> = view.live().map(|v| v.meta.version).collect();
            for v in &versions {
                destroy(view, *v, &gone, now, &mut plan)?;
            }
            plan.detail = format!("grace period ended: destroyed versions {versions:?}");
            Ok((plan, true))
        })
    }

    /// A change of key-level facts: `f` returns the new facts, or None for "no change".
    pub(crate) fn key_step(
        &self,
        name: &str,
        action: &str,
        mut f: impl FnMut(&KeyMeta, Timestamp) -> Result<Option<KeyMeta>>,
    ) -> Result<()> {
        self.change(action, Some(name), None, |snap, now| {
            let view = live(snap, name)?;
            let plan = match f(view.meta(), now)? {
                None => Plan {
                    detail: "no change".into(),
                    ..Plan::default()
                },
                Some(key) => Plan {
                    detail: describe(view.meta(), &key),
                    updates: view.restate(&key, &BTreeMap::new(), now),
                    ..Plan::default()
                },
            };
            Ok((plan, ()))
        })
    }
}

fn first_version(now: Timestamp) -> VersionMeta {
    VersionMeta {
        version: 1,
        state: VersionState::Active,
        created_at: now,
        state_changed_at: now,
    }
}

/// An audit detail of a key-level change.
fn describe(old: &KeyMeta, new: &KeyMeta) -> String {
    let mut parts = Vec::new();
    if old.state != new.state {
        parts.push(format!("state {} -> {}", old.state, new.state));
    }
    if old.deletion_date != new.deletion_date {
        parts.push(format!(
            "deletion {}",
            new.deletion_date
                .map(format_time)
                .unwrap_or_else(|| "cancelled".into())
        ));
    }
    if old.expires_at != new.expires_at {
        parts.push(format!(
            "expiry {}",
            new.expires_at
                .map(format_time)
                .unwrap_or_else(|| "none".into())
        ));
    }
    if old.policy != new.policy {
        parts.push(format!(
            "rotation policy {}",
            serde_json::to_string(&new.policy).unwrap_or_default()
        ));
    }
    if old.labels != new.labels {
        parts.push(format!(
            "labels {}",
            serde_json::to_string(&new.labels).unwrap_or_default()
        ));
    }
    if old.description != new.description {
        parts.push("description".into());
    }
    if old.is_default != new.is_default {
        parts.push(format!("default {}", new.is_default));
    }
    parts.join(", ")
}
