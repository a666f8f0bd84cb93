//! What `keys list|show|versions` report: keys and versions as serialisable values (the
//! JSON field names are the ones cloud key services use), with search, filters and sorting.
//! Read-only: nothing here changes the token.

use super::algorithms;
use super::clock::{format_time, Timestamp};
use super::meta::KeyMeta;
use super::policy::{frequency_name, next_rotation};
use super::view::KeyView;
use super::Manager;
use crate::error::Result;
use crate::object::vendor::{KeyState, Purpose, VersionState};
use serde::Serialize;
use std::collections::BTreeMap;

/// A key's rotation policy as reported.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    pub frequency: Option<String>,
    pub interval_secs: Option<u64>,
    pub max_versions: Option<u32>,
    pub next_rotation_at: Option<String>,
}

/// One key as reported.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyInfo {
    pub name: String,
    pub description: String,
    pub key_type: Purpose,
    pub algorithm: String,
    pub is_post_quantum: bool,
    pub state: KeyState,
    /// The active version.
    pub version: Option<u32>,
    pub version_count: usize,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_rotated_at: Option<String>,
    pub deletion_date: Option<String>,
    pub rotation_policy: Option<PolicyInfo>,
    pub labels: BTreeMap<String, String>,
    pub default: bool,
    #[serde(skip)]
    pub meta: KeyMeta,
}

/// One version as reported.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    pub version: u32,
    pub state: VersionState,
    pub algorithm: String,
    pub created_at: String,
    pub state_changed_at: String,
}

/// Which keys `list` shows.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub state: Option<KeyState>,
    pub purpose: Option<Purpose>,
    /// `key` or `key=value` labels that must be present.
    pub labels: Vec<(String, Option<String>)>,
    /// Substring of the name or description.
    pub search: Option<String>,
    pub include_deleted: bool,
}

/// How `list` orders keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortBy {
    #[default]
    Name,
    Created,
    Expires,
    Rotated,
}

fn opt_time(t: Option<Timestamp>) -> Option<String> {
    t.map(format_time)
}

pub(crate) fn key_info(view: &KeyView, now: Timestamp) -> KeyInfo {
    let m = view.meta();
    KeyInfo {
        name: view.name.clone(),
        description: m.description.clone(),
        key_type: m.purpose,
        algorithm: m.algorithm.clone(),
        is_post_quantum: algorithms::by_name(&m.algorithm).is_ok_and(|a| a.post_quantum),
        state: m.effective_state(now),
        version: view.active().map(|v| v.meta.version),
        version_count: view.versions.len(),
        created_at: format_time(m.created_at),
        expires_at: opt_time(m.expires_at),
        last_rotated_at: opt_time(m.rotated_at),
        deletion_date: opt_time(m.deletion_date),
        rotation_policy: m.policy.map(|p| PolicyInfo {
            frequency: p.interval_secs.map(frequency_name),
            interval_secs: p.interval_secs,
            max_versions: p.max_versions,
            next_rotation_at: opt_time(next_rotation(m)),
        }),
        labels: m.labels.clone(),
        default: m.is_default,
        meta: m.clone(),
    }
}

impl ListFilter {
    fn admits(&self, k: &KeyInfo) -> bool {
        (self.include_deleted
            || k.state != KeyState::Deleted
            || self.state == Some(KeyState::Deleted))
            && self.state.is_none_or(|s| s == k.state)
            && self.purpose.is_none_or(|p| p == k.key_type)
            && self
                .labels
                .iter()
                .all(|(name, value)| match (k.labels.get(name), value) {
                    (Some(_), None) => true,
                    (Some(have), Some(want)) => have == want,
                    (None, _) => false,
                })
            && self.search.as_deref().is_none_or(|s| {
                let s = s.to_lowercase();
                k.name.to_lowercase().contains(&s) || k.description.to_lowercase().contains(&s)
            })
    }
}

impl Manager<'_> {
    /// The keys `filter` admits, in `sort` order.
    pub fn list(&self, filter: &ListFilter, sort: SortBy) -> Result<Vec<KeyInfo>> {
        let snap = self.snapshot()?;
        let now = self.now();
        let mut keys: Vec<KeyInfo> = snap
            .keys
            .values()
            .map(|v| key_info(v, now))
            .filter(|k| filter.admits(k))
            .collect();
        match sort {
            SortBy::Name => {}
            SortBy::Created => keys.sort_by_key(|k| k.meta.created_at),
            // Keys without expiry last.
            SortBy::Expires => keys.sort_by_key(|k| k.meta.expires_at.unwrap_or(u64::MAX)),
            SortBy::Rotated => keys.sort_by_key(|k| k.meta.rotated_at.unwrap_or(k.meta.created_at)),
        }
        Ok(keys)
    }

    pub fn show(&self, name: &str) -> Result<KeyInfo> {
        let snap = self.snapshot()?;
        Ok(key_info(snap.key(name)?, self.now()))
    }

    /// Every version of `name`, oldest first (destroyed ones included).
    pub fn versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let snap = self.snapshot()?;
        let view = snap.key(name)?;
        Ok(view
            .versions
            .values()
            .map(|v| VersionInfo {
                version: v.meta.version,
                state: v.meta.state,
                algorithm: v.key.algorithm.clone(),
                created_at: format_time(v.meta.created_at),
                state_changed_at: format_time(v.meta.state_changed_at),
            })
            .collect())
    }
}
