//! The token's object cache: handles for token objects (reloaded only when the store's
//! generation says another writer changed it) and session objects (memory only), plus
//! parsed key material per login. The hot path reads no store content: a key in use is
//! served from memory, and the store's generation is checked at most once per
//! `KEY_USE_FRESHNESS`.

use super::index::Objects;
use super::{rd, wr, Token, Who};
use crate::attr::Template;
use crate::error::{err, Error, ErrorKind, Result};
use crate::handle_map::HandleMap;
use crate::mech::{keys, KeyMaterial};
use crate::module::{ObjectHandle, SessionHandle};
use crate::object::schema::{self, Kind};
use crate::object::template::NewObject;
use crate::object::{Attrs, Combined, Object, Origin};
use crate::store::{AuditAppend, Change, ObjectId, StoredObject, BOUND_ATTRIBUTES};
use cryptoki_sys as ck;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long a key operation may trust the last check that no other process changed the
/// store. Changes made in this process apply at once; another process's change to a key
/// (destroyed, usage attribute cleared) reaches key use here within this time, and every
/// other call (C_FindObjects*, C_GetAttributeValue, ...) sees it at once.
pub const KEY_USE_FRESHNESS: Duration = Duration::from_millis(2);

/// The cache. `version` counts changes made here; each token object and each local
/// deletion remembers the version of its last change, so a reload that listed the store
/// before that change never undoes it (a fresh object keeps its handle).
#[derive(Default)]
pub(super) struct ObjectCache {
    /// Store generation the token objects were loaded at; None: never loaded.
    generation: Option<u64>,
    version: u64,
    objects: Objects,
    by_id: HandleMap<Entry>,
    /// Token objects deleted here, by the version of the deletion.
    deleted: HashMap<ObjectId, u64>,
}

/// Which token objects a listing says are gone.
enum Gone {
    /// A full listing: every object it lacks.
    Unlisted,
    /// A change listing: these ids.
    Listed(Vec<ObjectId>),
}

#[derive(Clone, Copy)]
struct Entry {
    handle: ObjectHandle,
    version: u64,
}

impl ObjectCache {
    fn bump(&mut self) -> u64 {
        self.version += 1;
        self.version
    }
}

fn kind_of(public: &Attrs) -> Result<&'static Kind> {
    let class = public
        .ulong(ck::CKA_CLASS)
        .ok_or_else(|| Error::new(ErrorKind::StoreTampered, "a stored object has no CKA_CLASS"))?;
    let sub = match class {
        ck::CKO_CERTIFICATE => public.ulong(ck::CKA_CERTIFICATE_TYPE),
        ck::CKO_PUBLIC_KEY | ck::CKO_PRIVATE_KEY | ck::CKO_SECRET_KEY => {
            public.ulong(ck::CKA_KEY_TYPE)
        }
        _ => None,
    };
    schema::kind(class, sub)
}

fn not_logged_in() -> Error {
    Error::new(
        ErrorKind::UserNotLoggedIn,
        "log in as the user first: key material is sealed under the token's master key",
    )
}

impl Token {
    /// Bring the token objects up to date if any process wrote the store since they were
    /// loaded: only what changed when the store can say, else everything.
    pub fn refresh(&self) -> Result<()> {
        // Generation first: content read after it is at least that new.
        let gen = self.store.generation()?;
        let (listed_at, loaded_at) = {
            let cache = rd(&self.cache);
            if cache.generation == Some(gen) {
                self.mark_checked();
                return Ok(());
            }
            (cache.version, cache.generation)
        };
        let delta = match loaded_at {
            Some(g) => self.store.changes_since(g)?,
            None => None,
        };
        match delta {
            Some(d) => {
                self.apply_listing(listed_at, d.generation, d.changed, Gone::Listed(d.removed))
            }
            None => {
                let all = self.store.objects()?;
                self.apply_listing(listed_at, gen, all, Gone::Unlisted)
            }
        }
        Ok(())
    }

    /// Bring the cache to a listing of the store read at `gen`, without undoing any change
    /// this process made after the listing began (`listed_at`).
    fn apply_listing(&self, listed_at: u64, gen: u64, stored: Vec<StoredObject>, gone: Gone) {
        let mut cache = wr(&self.cache);
        let mut evict = Vec::new();
        let mut seen = HashSet::with_capacity(stored.len());
        for so in stored {
            seen.insert(so.id);
            if cache.deleted.get(&so.id).is_some_and(|v| *v > listed_at) {
                continue;
            }
            let public = Attrs::from_vec(so.public);
            let kind = match kind_of(&public) {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!(token = %self.serial, id = so.id, "skipping stored object: {e}");
                    continue;
                }
            };
            let entry = cache.by_id.get(&so.id).copied();
            let h = match entry {
                Some(e) if e.version > listed_at => continue,
                Some(e)
                    if cache
                        .objects
                        .get(&e.handle)
                        .is_some_and(|o| *o.public() == public) =>
                {
                    continue
                }
                Some(e) => {
                    evict.push(e.handle);
                    e.handle
                }
                None => {
                    let h = self.next_handle();
                    let version = cache.bump();
                    cache.by_id.insert(so.id, Entry { handle: h, version });
                    h
                }
            };
            cache.objects.insert(
                h,
                Arc::new(Object::token(h, so.id, kind, public, so.has_secret)),
            );
        }
        let gone: Vec<(ObjectId, ObjectHandle)> = match gone {
            Gone::Unlisted => cache
                .by_id
                .iter()
                .filter(|(id, e)| !seen.contains(id) && e.version <= listed_at)
                .map(|(id, e)| (*id, e.handle))
                .collect(),
            Gone::Listed(ids) => ids
                .into_iter()
                .filter_map(|id| cache.by_id.get(&id).map(|e| (id, *e)))
                .filter(|(_, e)| e.version <= listed_at)
                .map(|(id, e)| (id, e.handle))
                .collect(),
        };
        for (id, h) in gone {
            cache.by_id.remove(&id);
            cache.objects.remove(&h);
            evict.push(h);
        }
        cache.deleted.retain(|_, v| *v > listed_at);
        cache.generation = Some(gen);
        drop(cache);
        self.mark_checked();
        self.evict_keys(&evict);
    }

    /// Nanoseconds since the token was opened (0 is never a check time).
    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn mark_checked(&self) {
        self.checked_at.store(self.now(), Ordering::Relaxed);
    }

    /// Whether the cache was found current within `KEY_USE_FRESHNESS`.
    fn recently_checked(&self) -> bool {
        let at = self.checked_at.load(Ordering::Relaxed);
        at != 0 && self.now().saturating_sub(at) < KEY_USE_FRESHNESS.as_nanos() as u64
    }

    /// The store generation around a write of this process, read outside the cache lock
    /// (a store call may wait for another writer), so that `adopt` can tell whether the
    /// write was the only change in between.
    fn generation_now(&self) -> Option<u64> {
        self.store.generation().ok()
    }

    /// After this process's write, applied to the cache under its lock: when the
    /// generation moved by exactly that write from the one the cache holds, the cache is
    /// current at the new generation and needs no reload.
    fn adopt(cache: &mut ObjectCache, before: Option<u64>, after: Option<u64>) {
        if let (Some(b), Some(a)) = (before, after) {
            if cache.generation == Some(b) && a == b.wrapping_add(1) {
                cache.generation = Some(a);
            }
        }
    }

    fn evict_keys(&self, handles: &[ObjectHandle]) {
        if handles.is_empty() {
            return;
        }
        let mut keys = wr(&self.keys);
        for h in handles {
            keys.keys.remove(h);
        }
    }

    fn is_visible(&self, o: &Object) -> bool {
        !o.is_private() || self.who() == Who::User
    }

    /// The object behind `h` if this login state may see it. Session objects are served
    /// from memory; token objects after a generation check.
    pub fn object(&self, h: ObjectHandle) -> Result<Arc<Object>> {
        self.object_within(h, false)
    }

    /// `object` for the start of a key operation: a token object is served from memory
    /// while the last generation check is younger than `KEY_USE_FRESHNESS`.
    pub fn key_object(&self, h: ObjectHandle) -> Result<Arc<Object>> {
        self.object_within(h, true)
    }

    fn object_within(&self, h: ObjectHandle, for_key_use: bool) -> Result<Arc<Object>> {
        let cached = rd(&self.cache).objects.get(&h).cloned();
        let found = match cached {
            Some(o) if !o.is_token() => Some(o),
            Some(o) if for_key_use && self.recently_checked() => Some(o),
            _ => {
                self.refresh()?;
                rd(&self.cache).objects.get(&h).cloned()
            }
        };
        match found {
            Some(o) if self.is_visible(&o) => Ok(o),
            _ => err(
                ErrorKind::ObjectHandleInvalid,
                format!("no object with handle {h} is visible in this session"),
            ),
        }
    }

    /// C_FindObjectsInit: every visible object matching `t`, in handle order.
    pub fn find(&self, t: &Template) -> Result<Vec<ObjectHandle>> {
        self.refresh()?;
        let user = self.who() == Who::User;
        let found = rd(&self.cache).objects.find(t, |o| user || !o.is_private());
        Ok(found)
    }

    /// Store a new object: sealed in the store when CKA_TOKEN is TRUE, else in memory
    /// owned by session `owner`.
    pub fn insert(&self, owner: SessionHandle, new: NewObject) -> Result<Arc<Object>> {
        if !new.public.flag(ck::CKA_TOKEN) {
            let h = self.next_handle();
            let obj = Arc::new(Object::session(h, owner, new.kind, new.public, new.secret));
            wr(&self.cache).objects.insert(h, obj.clone());
            return Ok(obj);
        }
        let has_secret = !new.secret.as_slice().is_empty();
        let mk = if has_secret {
            Some(self.master_key().ok_or_else(not_logged_in)?)
        } else {
            None
        };
        let before = self.generation_now();
        let id = self
            .store
            .insert(mk.as_deref(), new.public.as_slice(), new.secret.as_slice())?;
        let after = self.generation_now();
        let mut cache = wr(&self.cache);
        // A concurrent refresh may have met the new row already: keep its handle.
        let h = match cache.by_id.get(&id) {
            Some(e) => e.handle,
            None => self.next_handle(),
        };
        let version = cache.bump();
        cache.by_id.insert(id, Entry { handle: h, version });
        let obj = Arc::new(Object::token(h, id, new.kind, new.public, has_secret));
        cache.objects.insert(h, obj.clone());
        Self::adopt(&mut cache, before, after);
        Ok(obj)
    }

    /// Give `obj` new public attributes (C_SetAttributeValue).
    pub fn replace(&self, obj: &Object, public: Attrs) -> Result<()> {
        let (mut before, mut after) = (None, None);
        if let Origin::Token(id) = obj.origin {
            before = self.generation_now();
            let bound_changed = BOUND_ATTRIBUTES
                .iter()
                .any(|ty| obj.get(*ty) != public.get(*ty));
            let mk = match self.master_key() {
                None if obj.has_secret() && bound_changed => return Err(not_logged_in()),
                mk => mk,
            };
            self.store.update(mk.as_deref(), id, public.as_slice())?;
            after = self.generation_now();
        }
        let mut cache = wr(&self.cache);
        if cache.objects.contains_key(&obj.handle) {
            if let Origin::Token(id) = obj.origin {
                let version = cache.bump();
                cache.by_id.insert(
                    id,
                    Entry {
                        handle: obj.handle,
                        version,
                    },
                );
                Self::adopt(&mut cache, before, after);
            }
            cache
                .objects
                .insert(obj.handle, Arc::new(obj.with_public(public)));
        }
        drop(cache);
        self.evict_keys(&[obj.handle]);
        Ok(())
    }

    pub fn remove(&self, obj: &Object) -> Result<()> {
        let (mut before, mut after) = (None, None);
        if let Origin::Token(id) = obj.origin {
            before = self.generation_now();
            self.store.delete(id)?;
            after = self.generation_now();
        }
        let mut cache = wr(&self.cache);
        if let Origin::Token(id) = obj.origin {
            cache.by_id.remove(&id);
            let version = cache.bump();
            cache.deleted.insert(id, version);
            Self::adopt(&mut cache, before, after);
        }
        cache.objects.remove(&obj.handle);
        drop(cache);
        self.evict_keys(&[obj.handle]);
        Ok(())
    }

    /// Commit a batch of changes (and an audit entry) in one store transaction, then
    /// reload, so this process sees the result at once and forgets stale key material.
    pub fn apply(
        &self,
        expect: Option<u64>,
        changes: &[Change<'_>],
        audit: Option<&AuditAppend<'_>>,
    ) -> Result<Vec<ObjectId>> {
        let mk = self.master_key();
        let ids = self.store.apply(mk.as_deref(), expect, changes, audit)?;
        self.refresh()?;
        Ok(ids)
    }

    /// Drop the session objects of a closing session.
    pub fn remove_session_objects(&self, owner: SessionHandle) {
        let mut cache = wr(&self.cache);
        let doomed = cache.objects.of_session(owner);
        for h in &doomed {
            cache.objects.remove(h);
        }
        drop(cache);
        self.evict_keys(&doomed);
    }

    /// The secret attributes of `obj` (unsealed for token objects: not for the hot path).
    pub fn secret_of(&self, obj: &Object) -> Result<Attrs> {
        match obj.origin {
            Origin::Session(_) => Ok(obj.session_secret().cloned().unwrap_or_default()),
            Origin::Token(_) if !obj.has_secret() => Ok(Attrs::default()),
            Origin::Token(id) => {
                let mk = self.master_key().ok_or_else(not_logged_in)?;
                Ok(Attrs::from_vec(self.store.unseal(&mk, id)?))
            }
        }
    }

    /// Parsed key material of a key object, cached until logout or a change of the object.
    pub fn key_material(&self, obj: &Object) -> Result<Arc<KeyMaterial>> {
        let epoch = {
            let keys = rd(&self.keys);
            if let Some(k) = keys.keys.get(&obj.handle) {
                return Ok(k.clone());
            }
            keys.epoch
        };
        let Some(key_type) = obj.key_type() else {
            return err(
                ErrorKind::KeyHandleInvalid,
                format!("object {} is not a key", obj.handle),
            );
        };
        let secret = self.secret_of(obj)?;
        let material = Arc::new(keys::load(
            obj.class(),
            key_type,
            &Combined {
                public: obj.public(),
                secret: &secret,
            },
        )?);
        let mut keys = wr(&self.keys);
        if keys.epoch == epoch {
            keys.keys.insert(obj.handle, material.clone());
        }
        Ok(material)
    }
}
