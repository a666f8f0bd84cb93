//! The key hierarchy: PIN → Argon2id KEK → master key (MK) → per-object data key (DEK) →
//! sealed secret attributes, all AES-256-GCM with random 96-bit nonces and AADs that say
//! exactly what each ciphertext belongs to. Pure functions over bytes: no SQL here, and
//! no key or plaintext leaves this module except in a zeroizing buffer.

use super::codec::type_code;
use super::{PinKind, BOUND_ATTRIBUTES};
use crate::attr::{Attr, AttrType};
use crate::error::{Error, ErrorKind, Result};
use aes_gcm::aead::{AeadInOut, KeyInit, Nonce};
use aes_gcm::{Aes256Gcm, Tag};
use zeroize::Zeroizing;

pub(crate) const KEY_LEN: usize = 32;
pub(crate) const SALT_LEN: usize = 16;
pub(crate) const TOKEN_UUID_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Version byte leading every sealed object blob.
const SEALED_OBJECT_FORMAT: u8 = 1;

/// A 256-bit key (KEK, MK or DEK), zeroized on drop.
pub(crate) type Key = Zeroizing<[u8; KEY_LEN]>;

/// The token's identity bound into every AAD: a wrap or seal from another token (or
/// from this token before it was created) never opens here.
pub(crate) type TokenUuid = [u8; TOKEN_UUID_LEN];

/// Argon2id cost parameters. Recorded in the token when it is initialised and read back
/// from there for every later PIN derivation, so every process agrees on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// The OWASP baseline for Argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        KdfParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// Upper bounds: generous for real use, low enough that a damaged record cannot ask
    /// for terabytes of memory or hours of work.
    pub const MAX_MEMORY_KIB: u32 = 1 << 20;
    pub const MAX_ITERATIONS: u32 = 1024;
    pub const MAX_PARALLELISM: u32 = 64;

    fn argon2(&self) -> Option<argon2::Params> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.iterations > Self::MAX_ITERATIONS
            || self.parallelism > Self::MAX_PARALLELISM
        {
            return None;
        }
        argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_LEN),
        )
        .ok()
    }

    /// Refuse parameters Argon2id cannot use or that exceed the bounds above.
    pub fn check(&self) -> Result<()> {
        match self.argon2() {
            Some(_) => Ok(()),
            None => Err(Error::new(
                ErrorKind::ArgumentsBad,
                format!(
                    "Argon2id parameters {self:?} are out of range: memory 8×parallelism..={} KiB, \
                     iterations 1..={}, parallelism 1..={}",
                    Self::MAX_MEMORY_KIB,
                    Self::MAX_ITERATIONS,
                    Self::MAX_PARALLELISM
                ),
            )),
        }
    }
}

/// Fresh random bytes from the process CSPRNG.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    crate::rng::fill_bytes(&mut b);
    b
}

/// A fresh random 256-bit key.
pub(crate) fn random_key() -> Key {
    let mut k = Key::default();
    crate::rng::fill_bytes(&mut k[..]);
    k
}

/// KEK = Argon2id(PIN, salt) with the token's recorded parameters. The Argon2 working
/// memory is ours so that it is zeroized afterwards: its last blocks determine the KEK.
pub(crate) fn derive_kek(pin: &[u8], salt: &[u8], params: &KdfParams) -> Result<Key> {
    let argon_params = params.argon2().ok_or_else(|| {
        Error::new(
            ErrorKind::StoreTampered,
            format!("the token's recorded Argon2id parameters {params:?} are invalid: the token store was modified outside pqhsm"),
        )
    })?;
    let blocks = argon_params.block_count();
    let mut memory: Zeroizing<Vec<argon2::Block>> = Zeroizing::new(Vec::new());
    memory.try_reserve_exact(blocks).map_err(|_| {
        Error::new(
            ErrorKind::HostMemory,
            format!(
                "cannot allocate {} KiB for the PIN key derivation",
                params.memory_kib
            ),
        )
    })?;
    memory.resize(blocks, argon2::Block::new());
    let mut kek = Key::default();
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    )
    .hash_password_into_with_memory(pin, salt, &mut kek[..], &mut memory[..])
    .map_err(|e| {
        Error::new(
            ErrorKind::General,
            format!("PIN key derivation failed: {e}"),
        )
    })?;
    Ok(kek)
}

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(key.into())
}

/// AES-256-GCM under `key` with a fresh random nonce: `nonce || ciphertext || tag`.
pub(crate) fn seal(key: &[u8; KEY_LEN], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let nonce: [u8; NONCE_LEN] = random();
    let mut buf = Zeroizing::new(plaintext.to_vec());
    let tag = cipher(key)
        .encrypt_inout_detached(
            &Nonce::<Aes256Gcm>::from(nonce),
            aad,
            buf.as_mut_slice().into(),
        )
        .map_err(|_| Error::new(ErrorKind::DataLenRange, "data too long to seal"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + buf.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Open a [`seal`] blob. `None` when the blob, key or AAD do not match: the caller says
/// what that means (wrong PIN, tampering).
pub(crate) fn open(key: &[u8; KEY_LEN], blob: &[u8], aad: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if blob.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, rest) = blob.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let nonce = Nonce::<Aes256Gcm>::try_from(nonce).ok()?;
    let tag = Tag::try_from(tag).ok()?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    cipher(key)
        .decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag)
        .ok()?;
    Some(buf)
}

/// Wrap a 256-bit key (MK under a KEK, DEK under MK).
pub(crate) fn wrap_key(kek: &[u8; KEY_LEN], key: &[u8; KEY_LEN], aad: &[u8]) -> Result<Vec<u8>> {
    seal(kek, key, aad)
}

/// Unwrap a [`wrap_key`] blob; `None` on any mismatch.
pub(crate) fn unwrap_key(kek: &[u8; KEY_LEN], blob: &[u8], aad: &[u8]) -> Option<Key> {
    let plain = open(kek, blob, aad)?;
    let mut key = Key::default();
    if plain.len() != KEY_LEN {
        return None;
    }
    key.copy_from_slice(&plain);
    Some(key)
}

/// Canonical AAD builder: a length-prefixed purpose label, the token uuid, then
/// fixed-width big-endian fields, so no two different inputs share an encoding.
struct Aad(Vec<u8>);

impl Aad {
    fn new(purpose: &[u8], token: &TokenUuid) -> Self {
        let mut v = Vec::with_capacity(64);
        v.push(purpose.len() as u8);
        v.extend_from_slice(purpose);
        v.extend_from_slice(token);
        Aad(v)
    }
    fn u8(mut self, n: u8) -> Self {
        self.0.push(n);
        self
    }
    fn u32(mut self, n: u32) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    fn u64(mut self, n: u64) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    fn bytes(self, b: &[u8]) -> Self {
        let mut s = self.u32(u32::try_from(b.len()).unwrap_or(u32::MAX));
        s.0.extend_from_slice(b);
        s
    }
}

fn pin_byte(who: PinKind) -> u8 {
    match who {
        PinKind::So => 1,
        PinKind::User => 2,
    }
}

/// AAD of MK wrapped under a PIN's KEK: binds which PIN, its KDF parameters and salt.
pub(crate) fn mk_wrap_aad(
    token: &TokenUuid,
    who: PinKind,
    kdf: &KdfParams,
    salt: &[u8],
) -> Vec<u8> {
    Aad::new(b"pqhsm/v1/mk-wrap", token)
        .u8(pin_byte(who))
        .u32(kdf.memory_kib)
        .u32(kdf.iterations)
        .u32(kdf.parallelism)
        .bytes(salt)
        .0
}

/// AAD of the MK check value (an empty message sealed under MK), which tells a current
/// MK from one of a token since re-initialised.
pub(crate) fn mk_check_aad(token: &TokenUuid) -> Vec<u8> {
    Aad::new(b"pqhsm/v1/mk-check", token).0
}

/// AAD of an object's DEK wrapped under MK: binds the object id.
pub(crate) fn dek_wrap_aad(token: &TokenUuid, id: u64) -> Vec<u8> {
    Aad::new(b"pqhsm/v1/dek-wrap", token).u64(id).0
}

/// AAD of an object's sealed secret attributes: the object id, then for each bound
/// type in ascending order the type, a presence byte and (if present) the value.
pub(crate) fn object_aad(
    token: &TokenUuid,
    id: u64,
    bound: &[AttrType],
    public: &[Attr],
) -> Vec<u8> {
    let mut aad = Aad::new(b"pqhsm/v1/object", token)
        .u64(id)
        .u32(u32::try_from(bound.len()).unwrap_or(u32::MAX));
    for &ty in bound {
        aad = aad.u64(type_code(ty));
        aad = match public.iter().find(|a| a.ty == ty) {
            Some(a) => aad.u8(1).bytes(&a.value),
            None => aad.u8(0),
        };
    }
    aad.0
}

/// The bound attribute types as sealing uses them: sorted, without repeats.
pub(crate) fn bound_types() -> Vec<AttrType> {
    let mut v = BOUND_ATTRIBUTES.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// A sealed object blob: `format u8 || n u16 || n × type u64 || nonce || ct || tag`.
/// The list of bound types travels with the blob (and inside its AAD, so it cannot be
/// edited), which keeps old seals readable when `BOUND_ATTRIBUTES` grows.
pub(crate) struct SealedObject<'a> {
    pub bound: Vec<AttrType>,
    aead: &'a [u8],
}

pub(crate) fn parse_sealed(mut blob: &[u8]) -> Option<SealedObject<'_>> {
    let (&format, rest) = blob.split_first()?;
    if format != SEALED_OBJECT_FORMAT || rest.len() < 2 {
        return None;
    }
    let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    blob = &rest[2..];
    let mut bound = Vec::with_capacity(n.min(blob.len() / 8));
    for _ in 0..n {
        let ty = super::codec::take_u64(&mut blob).ok()?;
        let ty = AttrType::try_from(ty).ok()?;
        // Strictly ascending: one canonical form per list.
        if bound.last().is_some_and(|&last| last >= ty) {
            return None;
        }
        bound.push(ty);
    }
    Some(SealedObject { bound, aead: blob })
}

/// Seal `plaintext` for object `id` under `dek`, binding the current bound attributes.
pub(crate) fn seal_object(
    dek: &[u8; KEY_LEN],
    token: &TokenUuid,
    id: u64,
    public: &[Attr],
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let bound = bound_types();
    let aad = object_aad(token, id, &bound, public);
    let sealed = seal(dek, plaintext, &aad)?;
    let mut out = Vec::with_capacity(3 + bound.len() * 8 + sealed.len());
    out.push(SEALED_OBJECT_FORMAT);
    out.extend_from_slice(&u16::try_from(bound.len()).unwrap_or(u16::MAX).to_be_bytes());
    for ty in &bound {
        out.extend_from_slice(&type_code(*ty).to_be_bytes());
    }
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Open a [`seal_object`] blob against the object's current public attributes.
pub(crate) fn open_object(
    dek: &[u8; KEY_LEN],
    token: &TokenUuid,
    id: u64,
    public: &[Attr],
    blob: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let sealed = parse_sealed(blob)?;
    open(
        dek,
        sealed.aead,
        &object_aad(token, id, &sealed.bound, public),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki_sys as ck;

    const TOKEN: TokenUuid = [7; TOKEN_UUID_LEN];
    const SMALL: KdfParams = KdfParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn kek_depends_on_pin_salt_and_every_parameter() {
        let salt = [1u8; SALT_LEN];
        let base = derive_kek(b"1234", &salt, &SMALL).unwrap();
        assert_eq!(*base, *derive_kek(b"1234", &salt, &SMALL).unwrap());
        assert_ne!(*base, *derive_kek(b"1235", &salt, &SMALL).unwrap());
        assert_ne!(
            *base,
            *derive_kek(b"1234", &[2u8; SALT_LEN], &SMALL).unwrap()
        );
        for other in [
            KdfParams {
                memory_kib: 512,
                ..SMALL
            },
            KdfParams {
                iterations: 2,
                ..SMALL
            },
            KdfParams {
                parallelism: 2,
                ..SMALL
            },
        ] {
            assert_ne!(
                *base,
                *derive_kek(b"1234", &salt, &other).unwrap(),
                "{other:?}"
            );
        }
    }

    #[test]
    fn absurd_parameters_are_refused_not_attempted() {
        let huge = KdfParams {
            memory_kib: u32::MAX,
            ..SMALL
        };
        assert_eq!(huge.check().unwrap_err().kind(), ErrorKind::ArgumentsBad);
        let err = derive_kek(b"1234", &[0; SALT_LEN], &huge).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StoreTampered);
        assert!(KdfParams {
            parallelism: 0,
            ..SMALL
        }
        .check()
        .is_err());
        assert!(KdfParams::default().check().is_ok());
    }

    #[test]
    fn wrap_opens_only_with_same_key_and_aad() {
        let kek = random_key();
        let mk = random_key();
        let aad = mk_wrap_aad(&TOKEN, PinKind::User, &SMALL, &[3; SALT_LEN]);
        let blob = wrap_key(&kek, &mk, &aad).unwrap();
        assert_eq!(*unwrap_key(&kek, &blob, &aad).unwrap(), *mk);
        assert!(unwrap_key(&random_key(), &blob, &aad).is_none());
        let so_aad = mk_wrap_aad(&TOKEN, PinKind::So, &SMALL, &[3; SALT_LEN]);
        assert!(unwrap_key(&kek, &blob, &so_aad).is_none());
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x40;
            assert!(
                unwrap_key(&kek, &bad, &aad).is_none(),
                "flip at byte {i} accepted"
            );
        }
        assert!(unwrap_key(&kek, &blob[..blob.len() - 1], &aad).is_none());
    }

    #[test]
    fn object_aad_distinguishes_absent_from_empty_and_every_bound_value() {
        let bound = bound_types();
        let public = vec![
            Attr::bool(ck::CKA_EXTRACTABLE, false),
            Attr::new(ck::CKA_ID, Vec::new()),
        ];
        let base = object_aad(&TOKEN, 5, &bound, &public);
        assert_ne!(base, object_aad(&TOKEN, 6, &bound, &public));
        assert_ne!(base, object_aad(&[8; TOKEN_UUID_LEN], 5, &bound, &public));
        assert_ne!(base, object_aad(&TOKEN, 5, &bound, &public[..1]));
        let flipped = vec![Attr::bool(ck::CKA_EXTRACTABLE, true), public[1].clone()];
        assert_ne!(base, object_aad(&TOKEN, 5, &bound, &flipped));
        // An unbound attribute (the subject) does not enter the AAD; the label does.
        let mut subject = public.clone();
        subject.push(Attr::new(ck::CKA_SUBJECT, b"x".to_vec()));
        assert_eq!(base, object_aad(&TOKEN, 5, &bound, &subject));
        let mut labelled = public.clone();
        labelled.push(Attr::new(ck::CKA_LABEL, b"x".to_vec()));
        assert_ne!(base, object_aad(&TOKEN, 5, &bound, &labelled));
    }

    #[test]
    fn sealed_object_carries_an_immutable_bound_list() {
        let dek = random_key();
        let public = vec![Attr::bool(ck::CKA_SIGN, true)];
        let blob = seal_object(&dek, &TOKEN, 9, &public, b"secret").unwrap();
        assert_eq!(parse_sealed(&blob).unwrap().bound, bound_types());
        assert_eq!(
            &**open_object(&dek, &TOKEN, 9, &public, &blob).unwrap(),
            b"secret"
        );
        assert!(open_object(&dek, &TOKEN, 10, &public, &blob).is_none());
        // Dropping a type from the stored list (to escape its binding) breaks the AAD.
        let n = bound_types().len();
        let mut shorter = vec![SEALED_OBJECT_FORMAT];
        shorter.extend_from_slice(&u16::try_from(n - 1).unwrap().to_be_bytes());
        shorter.extend_from_slice(&blob[3 + 8..]);
        assert!(parse_sealed(&shorter).is_some());
        assert!(open_object(&dek, &TOKEN, 9, &public, &shorter).is_none());
        assert!(parse_sealed(&[]).is_none());
        assert!(parse_sealed(&[2, 0, 0]).is_none());
    }
}
