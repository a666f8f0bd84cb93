//! aws-lc-rs for ML-DSA: pure ML-DSA with an empty context, hedged, on a message given in
//! one part (C_Sign / C_Verify). aws-lc-rs
//! offers no context strings, no deterministic variant, no pre-hash and no μ interface, so
//! everything else streams through RustCrypto; an operation that starts here and receives
//! a second part moves there, the first part with it. aws-lc draws the hedging randomness
//! from its own generator (mixed with the key and message, as FIPS 204 hedging is), and
//! keeps the private key in its own heap, wiped when freed.

use super::MlDsaSet;
use crate::error::{err, Error, ErrorKind, Result};
use crate::mech::{SignOp, VerifyOp};
use aws_lc_rs::signature;
use zeroize::Zeroizing;

fn signing(set: MlDsaSet) -> &'static signature::PqdsaSigningAlgorithm {
    match set {
        MlDsaSet::MlDsa44 => &signature::ML_DSA_44_SIGNING,
        MlDsaSet::MlDsa65 => &signature::ML_DSA_65_SIGNING,
        MlDsaSet::MlDsa87 => &signature::ML_DSA_87_SIGNING,
    }
}

fn verifying(set: MlDsaSet) -> &'static signature::PqdsaVerificationAlgorithm {
    match set {
        MlDsaSet::MlDsa44 => &signature::ML_DSA_44,
        MlDsaSet::MlDsa65 => &signature::ML_DSA_65,
        MlDsaSet::MlDsa87 => &signature::ML_DSA_87,
    }
}

/// A key's aws-lc form.
pub enum Key {
    Signing(signature::PqdsaKeyPair),
    Verifying(signature::ParsedPublicKey),
}

impl Key {
    pub fn private(set: MlDsaSet, expanded: &[u8]) -> Option<Key> {
        signature::PqdsaKeyPair::from_raw_private_key(signing(set), expanded)
            .ok()
            .map(Key::Signing)
    }

    pub fn public(set: MlDsaSet, public: &[u8]) -> Option<Key> {
        signature::ParsedPublicKey::new(verifying(set), public)
            .ok()
            .map(Key::Verifying)
    }
}

/// The first part of a message, held until a second part arrives (then the RustCrypto
/// operation takes over) or the operation finishes in one part (then aws-lc signs).
enum Parts {
    None,
    One(Zeroizing<Vec<u8>>),
    Streaming,
}

/// Take in a part: the first is held, a second sends both on to `feed` and every later
/// one goes straight there.
fn take_part(
    parts: &mut Parts,
    data: &[u8],
    mut feed: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    match std::mem::replace(parts, Parts::Streaming) {
        Parts::None => {
            *parts = Parts::One(Zeroizing::new(data.to_vec()));
            Ok(())
        }
        Parts::One(first) => {
            feed(&first)?;
            feed(data)
        }
        Parts::Streaming => feed(data),
    }
}

/// An ML-DSA signature or verification on aws-lc-rs: a one-part message goes to AWS-LC
/// whole; a second part hands everything to the streaming (RustCrypto) operation.
pub struct Parted<S: ?Sized> {
    key: std::sync::Arc<Key>,
    sig_len: usize,
    parts: Parts,
    streaming: Box<S>,
}

pub type Sign = Parted<dyn SignOp>;
pub type Verify = Parted<dyn VerifyOp>;

impl<S: ?Sized> Parted<S> {
    pub fn new(key: std::sync::Arc<Key>, sig_len: usize, streaming: Box<S>) -> Self {
        Parted {
            key,
            sig_len,
            parts: Parts::None,
            streaming,
        }
    }
}

impl SignOp for Sign {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        take_part(&mut self.parts, data, |d| self.streaming.update(d))
    }
    fn sig_len(&self) -> usize {
        self.sig_len
    }
    fn finish(&mut self) -> Result<Vec<u8>> {
        let msg = match std::mem::replace(&mut self.parts, Parts::Streaming) {
            Parts::Streaming => return self.streaming.finish(),
            Parts::One(m) => m,
            Parts::None => Zeroizing::new(Vec::new()),
        };
        let Key::Signing(kp) = &*self.key else {
            return err(
                ErrorKind::KeyTypeInconsistent,
                "signing needs the ML-DSA private key",
            );
        };
        let mut sig = vec![0u8; self.sig_len];
        crate::mech::provider::aws_lc_served();
        kp.sign(&msg, &mut sig)
            .map_err(|_| Error::new(ErrorKind::FunctionFailed, "ML-DSA signing failed"))?;
        Ok(sig)
    }
}

impl VerifyOp for Verify {
    fn update(&mut self, data: &[u8]) -> Result<()> {
        take_part(&mut self.parts, data, |d| self.streaming.update(d))
    }
    fn finish(&mut self, sig: &[u8]) -> Result<()> {
        let parts = std::mem::replace(&mut self.parts, Parts::Streaming);
        let msg = match parts {
            Parts::One(m) if sig.len() == self.sig_len => m,
            Parts::None if sig.len() == self.sig_len => Zeroizing::new(Vec::new()),
            // A signature of the wrong length gets RustCrypto's precise error.
            Parts::One(m) => {
                self.streaming.update(&m)?;
                return self.streaming.finish(sig);
            }
            _ => return self.streaming.finish(sig),
        };
        let Key::Verifying(pk) = &*self.key else {
            return err(
                ErrorKind::KeyTypeInconsistent,
                "verification takes the ML-DSA public key",
            );
        };
        crate::mech::provider::aws_lc_served();
        pk.verify_sig(&msg, sig).map_err(|_| {
            Error::new(
                ErrorKind::SignatureInvalid,
                "the ML-DSA signature does not verify",
            )
        })
    }
}
