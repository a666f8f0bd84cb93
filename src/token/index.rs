//! The cached objects of one token and their lookup indexes: by CKA_LABEL, CKA_ID,
//! CKA_CLASS and CKA_KEY_TYPE (for C_FindObjects), and by owning session (for
//! C_CloseSession). Every change goes through `insert`/`remove`, so an index never
//! disagrees with the objects; it answers candidates only, `Object::matches` decides.

use crate::attr::Template;
use crate::handle_map::HandleMap;
use crate::module::{ObjectHandle, SessionHandle};
use crate::object::{Object, Origin};
use cryptoki_sys as ck;
use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

type Handles = BTreeSet<ObjectHandle>;

/// Attribute values indexed for C_FindObjects, most selective first.
const BY_VALUE: [ck::CK_ATTRIBUTE_TYPE; 4] =
    [ck::CKA_LABEL, ck::CKA_ID, ck::CKA_KEY_TYPE, ck::CKA_CLASS];

#[derive(Default)]
pub(super) struct Objects {
    all: HandleMap<Arc<Object>>,
    /// One map per attribute of `BY_VALUE`, keyed by the attribute's bytes.
    by_value: [HashMap<Vec<u8>, Handles>; 4],
    by_session: HandleMap<Handles>,
}

/// File `h` under `key`; the key is copied only when it is new to the map (most objects
/// share their class and key type with others).
fn add<K, Q, S>(map: &mut HashMap<K, Handles, S>, key: &Q, h: ObjectHandle)
where
    K: Eq + Hash + Borrow<Q>,
    Q: Eq + Hash + ToOwned<Owned = K> + ?Sized,
    S: BuildHasher,
{
    match map.get_mut(key) {
        Some(set) => {
            set.insert(h);
        }
        None => {
            map.insert(key.to_owned(), Handles::from([h]));
        }
    }
}

fn drop_from<K, Q, S>(map: &mut HashMap<K, Handles, S>, key: &Q, h: ObjectHandle)
where
    K: Eq + Hash + Borrow<Q>,
    Q: Eq + Hash + ?Sized,
    S: BuildHasher,
{
    if let Some(set) = map.get_mut(key) {
        set.remove(&h);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

impl Objects {
    pub fn get(&self, h: &ObjectHandle) -> Option<&Arc<Object>> {
        self.all.get(h)
    }

    pub fn contains_key(&self, h: &ObjectHandle) -> bool {
        self.all.contains_key(h)
    }

    /// Add or replace the object under `h` (its handle), keeping every index in step.
    pub fn insert(&mut self, h: ObjectHandle, o: Arc<Object>) {
        self.remove(&h);
        for (ty, map) in BY_VALUE.iter().zip(self.by_value.iter_mut()) {
            if let Some(v) = o.get(*ty) {
                add(map, v, h);
            }
        }
        if let Origin::Session(owner) = o.origin {
            add(&mut self.by_session, &owner, h);
        }
        self.all.insert(h, o);
    }

    pub fn remove(&mut self, h: &ObjectHandle) -> Option<Arc<Object>> {
        let o = self.all.remove(h)?;
        for (ty, map) in BY_VALUE.iter().zip(self.by_value.iter_mut()) {
            if let Some(v) = o.get(*ty) {
                drop_from(map, v, *h);
            }
        }
        if let Origin::Session(owner) = o.origin {
            drop_from(&mut self.by_session, &owner, *h);
        }
        Some(o)
    }

    /// The session objects `owner` created.
    pub fn of_session(&self, owner: SessionHandle) -> Vec<ObjectHandle> {
        self.by_session
            .get(&owner)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Objects that match `t` and pass `keep`, in handle order. Uses the smallest index
    /// the template names; a template naming none of them scans every object.
    pub fn find(&self, t: &Template, keep: impl Fn(&Object) -> bool) -> Vec<ObjectHandle> {
        let smallest = BY_VALUE
            .iter()
            .zip(self.by_value.iter())
            .filter_map(|(ty, map)| t.get(*ty).map(|v| map.get(v)))
            .min_by_key(|set| set.map_or(0, |s| s.len()));
        let matching = |o: &&Arc<Object>| keep(o) && o.matches(t);
        match smallest {
            // An indexed attribute no object has: nothing can match.
            Some(None) => Vec::new(),
            Some(Some(set)) => set
                .iter()
                .filter_map(|h| self.all.get(h))
                .filter(matching)
                .map(|o| o.handle)
                .collect(),
            None => {
                let mut found: Vec<ObjectHandle> = self
                    .all
                    .values()
                    .filter(matching)
                    .map(|o| o.handle)
                    .collect();
                found.sort_unstable();
                found
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attr;
    use crate::object::schema;
    use crate::object::Attrs;

    fn key(h: ObjectHandle, owner: Option<SessionHandle>, label: &[u8], id: &[u8]) -> Arc<Object> {
        let kind = schema::kind(ck::CKO_SECRET_KEY, Some(ck::CKK_AES)).unwrap();
        let public = Attrs::from_vec(vec![
            Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY),
            Attr::ulong(ck::CKA_KEY_TYPE, ck::CKK_AES),
            Attr::new(ck::CKA_LABEL, label.to_vec()),
            Attr::new(ck::CKA_ID, id.to_vec()),
        ]);
        Arc::new(match owner {
            Some(s) => Object::session(h, s, kind, public, Attrs::default()),
            None => Object::token(h, h, kind, public, true),
        })
    }

    fn t(attrs: Vec<Attr>) -> Template {
        Template::new(attrs).unwrap()
    }

    fn scan(objs: &Objects, t: &Template) -> Vec<ObjectHandle> {
        let mut v: Vec<_> = objs
            .all
            .values()
            .filter(|o| o.matches(t))
            .map(|o| o.handle)
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn indexed_find_agrees_with_a_full_scan() {
        let mut objs = Objects::default();
        for h in 1..=60u64 {
            let owner = (h % 3 == 0).then_some(7);
            let label = format!("k{}", h % 10);
            objs.insert(h, key(h, owner, label.as_bytes(), &[(h % 4) as u8]));
        }
        // Replace one (new label) and remove another: indexes must follow.
        objs.insert(5, key(5, None, b"renamed", &[9]));
        objs.remove(&10);
        let templates = [
            t(vec![Attr::new(ck::CKA_LABEL, b"k0".to_vec())]),
            t(vec![Attr::new(ck::CKA_LABEL, b"k5".to_vec())]),
            t(vec![Attr::new(ck::CKA_LABEL, b"renamed".to_vec())]),
            t(vec![Attr::new(ck::CKA_LABEL, b"none".to_vec())]),
            t(vec![Attr::new(ck::CKA_ID, vec![2])]),
            t(vec![
                Attr::new(ck::CKA_LABEL, b"k4".to_vec()),
                Attr::new(ck::CKA_ID, vec![0]),
            ]),
            t(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_SECRET_KEY)]),
            t(vec![Attr::ulong(ck::CKA_CLASS, ck::CKO_PUBLIC_KEY)]),
            t(vec![Attr::bool(ck::CKA_TOKEN, false)]),
            t(vec![]),
        ];
        for tpl in &templates {
            assert_eq!(objs.find(tpl, |_| true), scan(&objs, tpl), "{tpl:?}");
        }
        assert!(objs.find(&templates[2], |_| true).iter().all(|h| *h == 5));
        assert!(objs.find(&templates[0], |_| true).iter().all(|h| *h != 10));
    }

    #[test]
    fn session_objects_are_listed_by_owner_and_forgotten_on_removal() {
        let mut objs = Objects::default();
        objs.insert(1, key(1, Some(7), b"a", b"1"));
        objs.insert(2, key(2, Some(8), b"a", b"1"));
        objs.insert(3, key(3, Some(7), b"b", b"1"));
        objs.insert(4, key(4, None, b"b", b"1"));
        assert_eq!(objs.of_session(7), vec![1, 3]);
        objs.remove(&1);
        assert_eq!(objs.of_session(7), vec![3]);
        objs.remove(&3);
        assert!(objs.of_session(7).is_empty() && !objs.by_session.contains_key(&7));
        assert_eq!(objs.find(&t(vec![]), |o| !o.is_token()), vec![2]);
    }
}
