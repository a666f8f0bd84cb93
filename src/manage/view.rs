//! One consistent reading of a token's managed keys, straight from the store: every
//! managed object and destroyed-version record grouped by key name and version, with the
//! generation it was read at, so a change prepared from it commits only if nothing moved.

use super::clock::Timestamp;
use super::lifecycle::{self, allowed};
use super::meta::{self, KeyMeta, Tombstone, VersionMeta};
use crate::error::{Error, ErrorKind, Result};
use crate::object::schema::{self, Kind};
use crate::object::vendor::VersionState;
use crate::object::Attrs;
use crate::store::{ObjectId, Store};
use cryptoki_sys as ck;
use std::collections::{BTreeMap, BTreeSet};

/// One stored object of a managed key version.
#[derive(Clone, Debug)]
pub struct Obj {
    pub id: ObjectId,
    pub kind: &'static Kind,
    pub public: Attrs,
}

impl Obj {
    pub fn class(&self) -> ck::CK_OBJECT_CLASS {
        self.kind.class
    }
}

/// One version: its objects (private and public halves, or the secret key) while it has
/// key material, or the record left when it was destroyed.
#[derive(Clone, Debug)]
pub struct VersionView {
    pub meta: VersionMeta,
    /// The key-level facts as this version's objects carry them.
    pub key: KeyMeta,
    pub objects: Vec<Obj>,
    pub tombstone: Option<(ObjectId, Tombstone)>,
}

impl VersionView {
    pub fn is_live(&self) -> bool {
        !self.objects.is_empty()
    }

    /// The object of `class`, if the version has one.
    pub fn object(&self, class: ck::CK_OBJECT_CLASS) -> Option<&Obj> {
        self.objects.iter().find(|o| o.class() == class)
    }
}

/// Every version of one key.
#[derive(Clone, Debug)]
pub struct KeyView {
    pub name: String,
    pub versions: BTreeMap<u32, VersionView>,
    /// The key-level facts: from the newest version with key material, else from the
    /// newest destroyed-version record (a deleted key).
    key: KeyMeta,
    /// (live, version) of the version `key` comes from.
    key_from: (bool, u32),
}

impl KeyView {
    pub fn meta(&self) -> &KeyMeta {
        &self.key
    }

    pub fn active(&self) -> Option<&VersionView> {
        self.versions
            .values()
            .find(|v| v.is_live() && v.meta.state == VersionState::Active)
    }

    pub fn live(&self) -> impl Iterator<Item = &VersionView> {
        self.versions.values().filter(|v| v.is_live())
    }

    pub fn version(&self, n: u32) -> Result<&VersionView> {
        self.versions.get(&n).ok_or_else(|| {
            Error::new(
                ErrorKind::KeyNotFound,
                format!(
                    "key `{}` has no version {n}: see `pqhsm keys versions {}`",
                    self.name, self.name
                ),
            )
        })
    }

    pub fn next_version(&self) -> u32 {
        self.versions.keys().next_back().map_or(1, |v| v + 1)
    }

    pub fn is_deleted(&self) -> bool {
        self.live().next().is_none()
    }

    /// The object updates that give every live object of this key `key` and the version
    /// facts in `versions` (versions not named keep theirs), with usage flags as the
    /// resulting state allows at `now`. Only objects that change are listed.
    pub fn restate(
        &self,
        key: &KeyMeta,
        versions: &BTreeMap<u32, VersionMeta>,
        now: Timestamp,
    ) -> Vec<(ObjectId, Attrs)> {
        let mut out = Vec::new();
        for v in self.live() {
            let ver = versions.get(&v.meta.version).unwrap_or(&v.meta);
            for o in &v.objects {
                let mut public = o.public.clone();
                dress(&mut public, o.kind, key, ver, now);
                if public != o.public {
                    out.push((o.id, public));
                }
            }
        }
        out
    }
}

/// Write the management attributes and the usage flags they imply into `public`.
pub fn dress(public: &mut Attrs, kind: &Kind, key: &KeyMeta, ver: &VersionMeta, now: Timestamp) {
    meta::write(public, key, ver);
    for a in lifecycle::usage_flags(kind, key.purpose, allowed(key, ver, now)) {
        public.set(a);
    }
}

/// The token's managed keys at one generation.
pub struct Snapshot {
    pub generation: u64,
    pub keys: BTreeMap<String, KeyView>,
    /// Labels of objects pqhsm does not manage (a new key may not take one).
    pub foreign_labels: BTreeSet<String>,
    /// Keys whose stored management attributes do not decode.
    pub damaged: BTreeMap<String, Error>,
}

impl Snapshot {
    pub fn read(store: &dyn Store) -> Result<Snapshot> {
        // Generation first: the listing is at least that new, and a change prepared from
        // it commits only if the generation is unchanged.
        let generation = store.generation()?;
        let mut snap = Snapshot {
            generation,
            keys: BTreeMap::new(),
            foreign_labels: BTreeSet::new(),
            damaged: BTreeMap::new(),
        };
        for so in store.objects()? {
            let public = Attrs::from_vec(so.public);
            let name = meta::name_of(&public).unwrap_or_default();
            if let Some(t) = Tombstone::read(&public) {
                match t {
                    Ok(t) => snap.add(
                        &name,
                        VersionView {
                            meta: t.version.clone(),
                            key: t.key.clone(),
                            objects: Vec::new(),
                            tombstone: Some((so.id, t)),
                        },
                    ),
                    Err(e) => {
                        snap.damaged.insert(name, e);
                    }
                }
                continue;
            }
            match meta::read(&public) {
                None => {
                    if !name.is_empty() {
                        snap.foreign_labels.insert(name);
                    }
                }
                Some(Err(e)) => {
                    snap.damaged.insert(name, e);
                }
                Some(Ok((key, ver))) => {
                    let kind = match kind_of(&public) {
                        Ok(k) => k,
                        Err(e) => {
                            snap.damaged.insert(name, e);
                            continue;
                        }
                    };
                    snap.add(
                        &name,
                        VersionView {
                            meta: ver,
                            key,
                            objects: vec![Obj {
                                id: so.id,
                                kind,
                                public,
                            }],
                            tombstone: None,
                        },
                    );
                }
            }
        }
        Ok(snap)
    }

    fn add(&mut self, name: &str, v: VersionView) {
        let from = (v.is_live(), v.meta.version);
        let key = self
            .keys
            .entry(name.to_string())
            .or_insert_with(|| KeyView {
                name: name.to_string(),
                versions: BTreeMap::new(),
                key: v.key.clone(),
                key_from: from,
            });
        if from > key.key_from {
            key.key = v.key.clone();
            key.key_from = from;
        }
        match key.versions.get_mut(&v.meta.version) {
            Some(have) => {
                have.objects.extend(v.objects);
                if have.tombstone.is_none() {
                    have.tombstone = v.tombstone;
                }
            }
            None => {
                key.versions.insert(v.meta.version, v);
            }
        }
    }

    /// The key called `name`.
    pub fn key(&self, name: &str) -> Result<&KeyView> {
        if let Some(e) = self.damaged.get(name) {
            return Err(e.clone());
        }
        self.keys.get(name).ok_or_else(|| {
            Error::new(
                ErrorKind::KeyNotFound,
                format!("no key named `{name}`: see `pqhsm keys list`"),
            )
        })
    }

    /// Whether a new key may be called `name`.
    pub fn name_taken(&self, name: &str) -> bool {
        self.keys.contains_key(name)
            || self.foreign_labels.contains(name)
            || self.damaged.contains_key(name)
    }
}

fn kind_of(public: &Attrs) -> Result<&'static Kind> {
    let class = public.ulong(ck::CKA_CLASS);
    let key_type = public.ulong(ck::CKA_KEY_TYPE);
    match class {
        Some(c) => schema::kind(c, key_type),
        None => Err(Error::new(
            ErrorKind::StoreTampered,
            "a stored object has no CKA_CLASS",
        )),
    }
}
