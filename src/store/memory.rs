//! An in-memory `Store` for tests: the same contract as the SQLite store (PIN checks,
//! persistent-looking failure counters and locks, generation numbers, binding of secret
//! parts to bound public attributes) without sealing. Never used for real tokens.

use super::{
    AuditAppend, AuditRow, Change, MasterKey, ObjectId, PinKind, Store, StoredObject, TokenRecord,
    BOUND_ATTRIBUTES,
};
use crate::attr::Attr;
use crate::error::{err, ErrorKind, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type PinHash = Zeroizing<[u8; 32]>;

fn pin_hash(pin: &[u8]) -> PinHash {
    Zeroizing::new(Sha256::digest(pin).into())
}

struct TokenState {
    label: String,
    so_pin: PinHash,
    user_pin: Option<PinHash>,
    so_failures: u32,
    user_failures: u32,
    mk: Zeroizing<[u8; 32]>,
}

struct StoredObj {
    public: Vec<Attr>,
    secret: Vec<Attr>,
    /// The bound public attributes the secret part was "sealed" with.
    binding: Vec<Attr>,
}

#[derive(Default)]
struct Inner {
    token: Option<TokenState>,
    objects: BTreeMap<ObjectId, StoredObj>,
    next_id: ObjectId,
    generation: u64,
    audit: Vec<AuditRow>,
}

impl Inner {
    /// Store a new object under the next id.
    fn put(&mut self, public: &[Attr], secret: &[Attr]) -> ObjectId {
        let id = self.next_id;
        self.next_id += 1;
        self.objects.insert(
            id,
            StoredObj {
                public: public.to_vec(),
                secret: secret.to_vec(),
                binding: binding_of(public),
            },
        );
        id
    }
}

/// See the module comment.
pub struct MemoryStore {
    serial: String,
    max_pin_failures: u32,
    inner: Mutex<Inner>,
    listings: AtomicU64,
    unseals: AtomicU64,
}

fn binding_of(public: &[Attr]) -> Vec<Attr> {
    let mut b: Vec<Attr> = public
        .iter()
        .filter(|a| BOUND_ATTRIBUTES.contains(&a.ty))
        .cloned()
        .collect();
    b.sort_by_key(|a| a.ty);
    b
}

impl MemoryStore {
    pub fn new(serial: &str, max_pin_failures: u32) -> Self {
        MemoryStore {
            serial: serial.to_string(),
            max_pin_failures,
            inner: Mutex::new(Inner {
                next_id: 1,
                ..Inner::default()
            }),
            listings: AtomicU64::new(0),
            unseals: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How often `objects()` and `unseal()` ran: tests hold the hot path to zero store reads.
    pub fn reads(&self) -> (u64, u64) {
        (
            self.listings.load(Ordering::Relaxed),
            self.unseals.load(Ordering::Relaxed),
        )
    }

    /// The ids of the stored objects.
    pub fn ids(&self) -> Vec<ObjectId> {
        self.lock().objects.keys().copied().collect()
    }

    /// Test hook: change a public attribute behind the module's back, as a hand edit of
    /// the database would (no resealing).
    pub fn tamper_public(&self, id: ObjectId, attr: Attr) {
        let mut g = self.lock();
        g.generation += 1;
        if let Some(o) = g.objects.get_mut(&id) {
            o.public.retain(|a| a.ty != attr.ty);
            o.public.push(attr);
        }
    }

    /// Test hook: rewrite the audit log behind the module's back, as a hand edit would.
    pub fn tamper_audit(&self, f: impl FnOnce(&mut Vec<AuditRow>)) {
        let mut g = self.lock();
        g.generation += 1;
        f(&mut g.audit);
    }

    fn check_mk(token: &TokenState, mk: &MasterKey) -> Result<()> {
        if bool::from(token.mk.ct_eq(&*mk.0)) {
            Ok(())
        } else {
            err(
                ErrorKind::StoreTampered,
                "master key does not belong to this token",
            )
        }
    }

    /// Compare `pin` with the stored PIN of `who`, counting a failure and locking at the
    /// limit, as every PIN check of the trait must.
    fn check_pin(&self, g: &mut Inner, who: PinKind, pin: &[u8]) -> Result<()> {
        let max = self.max_pin_failures;
        g.generation += 1;
        let Some(t) = g.token.as_mut() else {
            return err(ErrorKind::TokenNotRecognized, "token is not initialised");
        };
        let (stored, failures) = match who {
            PinKind::So => (Some(&t.so_pin), &mut t.so_failures),
            PinKind::User => (t.user_pin.as_ref(), &mut t.user_failures),
        };
        let Some(stored) = stored else {
            return err(
                ErrorKind::UserPinNotInitialized,
                "the user PIN is not set: the SO must run C_InitPIN",
            );
        };
        if *failures >= max {
            return err(
                ErrorKind::PinLocked,
                format!("{who:?} PIN is locked after {max} failures"),
            );
        }
        if bool::from(stored.ct_eq(&*pin_hash(pin))) {
            *failures = 0;
            Ok(())
        } else {
            *failures += 1;
            err(ErrorKind::PinIncorrect, format!("{who:?} PIN incorrect"))
        }
    }
}

impl Store for MemoryStore {
    fn token(&self) -> Result<Option<TokenRecord>> {
        let g = self.lock();
        Ok(g.token.as_ref().map(|t| TokenRecord {
            label: t.label.clone(),
            serial: self.serial.clone(),
            user_pin_initialized: t.user_pin.is_some(),
            user_pin_failures: t.user_failures,
            so_pin_failures: t.so_failures,
            max_pin_failures: self.max_pin_failures,
            user_pin_locked: t.user_failures >= self.max_pin_failures,
            so_pin_locked: t.so_failures >= self.max_pin_failures,
        }))
    }

    fn init_token(&self, so_pin: &[u8], label: &str) -> Result<()> {
        let mut g = self.lock();
        if g.token.is_some() {
            self.check_pin(&mut g, PinKind::So, so_pin)?;
        }
        let mut mk = Zeroizing::new([0u8; 32]);
        crate::rng::fill_bytes(&mut *mk);
        g.token = Some(TokenState {
            label: label.to_string(),
            so_pin: pin_hash(so_pin),
            user_pin: None,
            so_failures: 0,
            user_failures: 0,
            mk,
        });
        g.objects.clear();
        g.audit.clear();
        g.generation += 1;
        Ok(())
    }

    fn login(&self, who: PinKind, pin: &[u8]) -> Result<MasterKey> {
        let mut g = self.lock();
        self.check_pin(&mut g, who, pin)?;
        let t = g.token.as_ref().ok_or_else(|| {
            crate::Error::new(ErrorKind::TokenNotRecognized, "token is not initialised")
        })?;
        Ok(MasterKey(Zeroizing::new(*t.mk)))
    }

    fn init_user_pin(&self, mk: &MasterKey, pin: &[u8]) -> Result<()> {
        let mut g = self.lock();
        g.generation += 1;
        let Some(t) = g.token.as_mut() else {
            return err(ErrorKind::TokenNotRecognized, "token is not initialised");
        };
        Self::check_mk(t, mk)?;
        t.user_pin = Some(pin_hash(pin));
        t.user_failures = 0;
        Ok(())
    }

    fn set_pin(&self, who: PinKind, old: &[u8], new: &[u8]) -> Result<()> {
        let mut g = self.lock();
        self.check_pin(&mut g, who, old)?;
        if let Some(t) = g.token.as_mut() {
            match who {
                PinKind::So => t.so_pin = pin_hash(new),
                PinKind::User => t.user_pin = Some(pin_hash(new)),
            }
        }
        Ok(())
    }

    fn generation(&self) -> Result<u64> {
        Ok(self.lock().generation)
    }

    fn objects(&self) -> Result<Vec<StoredObject>> {
        self.listings.fetch_add(1, Ordering::Relaxed);
        let g = self.lock();
        Ok(g.objects
            .iter()
            .map(|(id, o)| StoredObject {
                id: *id,
                public: o.public.clone(),
                has_secret: !o.secret.is_empty(),
            })
            .collect())
    }

    fn insert(&self, mk: Option<&MasterKey>, public: &[Attr], secret: &[Attr]) -> Result<ObjectId> {
        let mut g = self.lock();
        let Some(t) = g.token.as_ref() else {
            return err(ErrorKind::TokenNotRecognized, "token is not initialised");
        };
        if !secret.is_empty() {
            match mk {
                Some(mk) => Self::check_mk(t, mk)?,
                None => return err(ErrorKind::UserNotLoggedIn, "sealing needs the master key"),
            }
        }
        g.generation += 1;
        Ok(g.put(public, secret))
    }

    fn update(&self, mk: Option<&MasterKey>, id: ObjectId, public: &[Attr]) -> Result<()> {
        let mut g = self.lock();
        let inner = &mut *g;
        let Some(t) = inner.token.as_ref() else {
            return err(ErrorKind::TokenNotRecognized, "token is not initialised");
        };
        let Some(o) = inner.objects.get_mut(&id) else {
            return err(
                ErrorKind::ObjectHandleInvalid,
                format!("object {id} no longer exists"),
            );
        };
        let binding = binding_of(public);
        if !o.secret.is_empty() && binding != o.binding {
            match mk {
                Some(mk) => Self::check_mk(t, mk)?,
                None => return err(ErrorKind::UserNotLoggedIn, "resealing needs the master key"),
            }
        }
        o.public = public.to_vec();
        o.binding = binding;
        inner.generation += 1;
        Ok(())
    }

    fn delete(&self, id: ObjectId) -> Result<()> {
        let mut g = self.lock();
        if g.objects.remove(&id).is_none() {
            return err(
                ErrorKind::ObjectHandleInvalid,
                format!("object {id} no longer exists"),
            );
        }
        g.generation += 1;
        Ok(())
    }

    fn apply(
        &self,
        mk: Option<&MasterKey>,
        expect: Option<u64>,
        changes: &[Change<'_>],
        audit: Option<&AuditAppend<'_>>,
    ) -> Result<Vec<ObjectId>> {
        let mut g = self.lock();
        if expect.is_some_and(|e| e != g.generation) {
            return Err(super::conflict());
        }
        let Some(t) = g.token.as_ref() else {
            return err(ErrorKind::TokenNotRecognized, "token is not initialised");
        };
        // Check every change first: nothing is applied unless all of them can be.
        let mut exists: BTreeMap<ObjectId, bool> = BTreeMap::new();
        for change in changes {
            let (id, needs_mk) = match *change {
                Change::Insert { secret, .. } => (None, !secret.is_empty()),
                Change::Update { id, public } => {
                    let o = g.objects.get(&id);
                    let resealed =
                        o.is_some_and(|o| !o.secret.is_empty() && binding_of(public) != o.binding);
                    (Some(id), resealed)
                }
                Change::Delete { id } => (Some(id), false),
            };
            if let Some(id) = id {
                let alive = *exists
                    .entry(id)
                    .or_insert_with(|| g.objects.contains_key(&id));
                if !alive {
                    return err(
                        ErrorKind::ObjectHandleInvalid,
                        format!("object {id} no longer exists"),
                    );
                }
                if matches!(change, Change::Delete { .. }) {
                    exists.insert(id, false);
                }
            }
            if needs_mk {
                match mk {
                    Some(mk) => Self::check_mk(t, mk)?,
                    None => return err(ErrorKind::UserNotLoggedIn, "sealing needs the master key"),
                }
            }
        }
        // The audit row is sealed before anything changes, so a failing seal leaves no trace.
        let row = match audit {
            Some(a) => {
                let seq = g.audit.last().map_or(1, |r| r.seq + 1);
                let (chain, mac) = (a.seal)(seq, g.audit.last().map(|r| r.chain.as_slice()))?;
                Some(AuditRow {
                    seq,
                    entry: a.entry.to_vec(),
                    chain,
                    mac,
                })
            }
            None => None,
        };
        let mut ids = Vec::new();
        for change in changes {
            match *change {
                Change::Insert { public, secret } => ids.push(g.put(public, secret)),
                Change::Update { id, public } => {
                    if let Some(o) = g.objects.get_mut(&id) {
                        o.public = public.to_vec();
                        o.binding = binding_of(public);
                    }
                }
                Change::Delete { id } => {
                    g.objects.remove(&id);
                }
            }
        }
        g.audit.extend(row);
        g.generation += 1;
        Ok(ids)
    }

    fn audit_rows(&self) -> Result<Vec<AuditRow>> {
        Ok(self.lock().audit.clone())
    }

    fn unseal(&self, mk: &MasterKey, id: ObjectId) -> Result<Vec<Attr>> {
        self.unseals.fetch_add(1, Ordering::Relaxed);
        let g = self.lock();
        let Some(t) = g.token.as_ref() else {
            return err(ErrorKind::TokenNotRecognized, "token is not initialised");
        };
        Self::check_mk(t, mk)?;
        let Some(o) = g.objects.get(&id) else {
            return err(
                ErrorKind::ObjectHandleInvalid,
                format!("object {id} no longer exists"),
            );
        };
        if binding_of(&o.public) != o.binding {
            return err(
                ErrorKind::StoreTampered,
                format!(
                    "object {id}: public attributes changed outside pqhsm; the key is unusable"
                ),
            );
        }
        Ok(o.secret.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki_sys as ck;

    fn token() -> MemoryStore {
        let s = MemoryStore::new("00112233aabbccdd", 3);
        s.init_token(b"so-pin", "t").unwrap();
        s
    }

    #[test]
    fn pin_failures_count_lock_and_reset() {
        let s = token();
        assert_eq!(
            s.login(PinKind::User, b"x").err().unwrap().kind(),
            ErrorKind::UserPinNotInitialized
        );
        let mk = s.login(PinKind::So, b"so-pin").unwrap();
        s.init_user_pin(&mk, b"1234").unwrap();
        assert_eq!(
            s.login(PinKind::User, b"bad").err().unwrap().kind(),
            ErrorKind::PinIncorrect
        );
        assert_eq!(s.token().unwrap().unwrap().user_pin_failures, 1);
        s.login(PinKind::User, b"1234").unwrap();
        assert_eq!(s.token().unwrap().unwrap().user_pin_failures, 0);
        for _ in 0..3 {
            assert_eq!(
                s.login(PinKind::User, b"bad").err().unwrap().kind(),
                ErrorKind::PinIncorrect
            );
        }
        assert!(s.token().unwrap().unwrap().user_pin_locked);
        assert_eq!(
            s.login(PinKind::User, b"1234").err().unwrap().kind(),
            ErrorKind::PinLocked
        );
        s.init_user_pin(&mk, b"5678").unwrap();
        s.login(PinKind::User, b"5678").unwrap();
    }

    #[test]
    fn reinit_needs_the_so_pin_and_clears_objects() {
        let s = token();
        s.insert(None, &[Attr::ulong(ck::CKA_CLASS, ck::CKO_DATA)], &[])
            .unwrap();
        assert_eq!(
            s.init_token(b"wrong", "t2").unwrap_err().kind(),
            ErrorKind::PinIncorrect
        );
        assert_eq!(s.objects().unwrap().len(), 1);
        s.init_token(b"so-pin", "t2").unwrap();
        assert!(s.objects().unwrap().is_empty());
        assert_eq!(s.token().unwrap().unwrap().label, "t2");
    }

    #[test]
    fn secret_parts_are_bound_to_public_attributes() {
        let s = token();
        let mk = s.login(PinKind::So, b"so-pin").unwrap();
        let public = [
            Attr::bool(ck::CKA_EXTRACTABLE, false),
            Attr::new(ck::CKA_SUBJECT, b"k".to_vec()),
        ];
        let secret = [Attr::new(ck::CKA_VALUE, vec![7u8; 16])];
        assert_eq!(
            s.insert(None, &public, &secret).unwrap_err().kind(),
            ErrorKind::UserNotLoggedIn
        );
        let id = s.insert(Some(&mk), &public, &secret).unwrap();
        let g0 = s.generation().unwrap();
        // An unbound attribute may change without the master key.
        s.update(
            None,
            id,
            &[
                public[0].clone(),
                Attr::new(ck::CKA_SUBJECT, b"k2".to_vec()),
            ],
        )
        .unwrap();
        assert!(s.generation().unwrap() > g0);
        assert_eq!(s.unseal(&mk, id).unwrap()[0].value.as_slice(), &[7u8; 16]);
        s.tamper_public(id, Attr::bool(ck::CKA_EXTRACTABLE, true));
        assert_eq!(
            s.unseal(&mk, id).unwrap_err().kind(),
            ErrorKind::StoreTampered
        );
    }
}
