//! Per-session operation state machines (init -> update* -> final, or one-shot) and the
//! output convention of `crate::module`: a length query or a too-small buffer keeps the
//! operation and its computed output, so the retry returns exactly those bytes.

use crate::error::{err, Error, ErrorKind, Result};
use crate::mech::table::MechSpec;
use crate::mech::{CipherOp, DigestOp, SignOp, VerifyOp};
use crate::module::{Dest, ObjectHandle, OutBytes, Output};
use std::collections::VecDeque;
use zeroize::Zeroizing;

/// Which call of an operation produced a pending output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Single,
    Update,
    Final,
}

/// Output computed but not yet delivered (length query or short buffer), with any side
/// values the call also returns (e.g. a generated IV and tag).
pub struct Pending<M> {
    step: Step,
    out: OutBytes,
    meta: M,
}

/// Deliver the output of `step`: the pending one if the previous call computed it, else
/// `compute` it now. Returns the meta values with every answer.
pub fn deliver<M: Clone>(
    pending: &mut Option<Pending<M>>,
    step: Step,
    cap: Option<usize>,
    compute: impl FnOnce() -> Result<(OutBytes, M)>,
) -> Result<(Output, M)> {
    let (out, meta) = match pending.take() {
        Some(p) if p.step == step => (p.out, p.meta),
        Some(p) => {
            *pending = Some(p);
            return err(
                ErrorKind::OperationActive,
                "an earlier call's output is waiting: repeat that call with a large enough buffer",
            );
        }
        None => compute()?,
    };
    let n = out.len();
    match cap {
        Some(c) if c >= n => Ok((Output::Data(out), meta)),
        _ => {
            *pending = Some(Pending {
                step,
                out,
                meta: meta.clone(),
            });
            match cap {
                None => Ok((Output::Len(n), meta)),
                Some(_) => Err(Error::buffer_too_small(n)),
            }
        }
    }
}

/// Run one call on the active operation in `slot`, ending the operation unless the result
/// keeps it (length query, short buffer, or `keep_on_data` for update calls).
pub fn drive<T, R>(
    slot: &mut Option<T>,
    what: &str,
    keep: impl Fn(&Result<R>) -> bool,
    f: impl FnOnce(&mut T) -> Result<R>,
) -> Result<R> {
    let Some(op) = slot.as_mut() else {
        return err(
            ErrorKind::OperationNotInitialized,
            format!("no {what} operation is active in this session"),
        );
    };
    let r = f(op);
    if !keep(&r) {
        *slot = None;
    }
    r
}

/// The keep rule for calls that produce output.
pub fn keeps_output(update: bool) -> impl Fn(&Result<Output>) -> bool {
    move |r| match r {
        Ok(Output::Len(_)) => true,
        Ok(Output::Data(_) | Output::Written(_)) => update,
        Err(e) => e.kind() == ErrorKind::BufferTooSmall,
    }
}

/// The keep rule for update calls without output: errors end the operation.
pub fn keeps_on_ok<R>(r: &Result<R>) -> bool {
    r.is_ok()
}

/// The keep rule for the last call of an operation.
pub fn ends<R>(_: &Result<R>) -> bool {
    false
}

/// Refuse a new operation while one of the same kind is active (checked before any work).
pub fn idle<T>(slot: &Option<T>, what: &str) -> Result<()> {
    match slot {
        Some(_) => err(
            ErrorKind::OperationActive,
            format!("a {what} operation is already active in this session"),
        ),
        None => Ok(()),
    }
}

fn no_single_after_update<T>() -> Result<T> {
    err(
        ErrorKind::OperationActive,
        "a multi-part operation is in progress: finish it with the *Final call",
    )
}

/// The bookkeeping every output-producing operation shares: the pending output and
/// whether a multi-part sequence began (after which a single-part call is refused).
#[derive(Default)]
struct Outputs {
    pending: Option<Pending<()>>,
    multipart: bool,
}

type Bytes = OutBytes;

/// Ciphertext, signatures and MACs are public; plaintext and digests stay secret.
fn classify(b: Zeroizing<Vec<u8>>, public: bool) -> OutBytes {
    let b = OutBytes::Secret(b);
    match public {
        true => b.into_public(),
        false => b,
    }
}

impl Outputs {
    /// No output waits and no multi-part sequence began.
    fn idle(&self) -> bool {
        self.pending.is_none() && !self.multipart
    }
    fn single(
        &mut self,
        cap: Option<usize>,
        compute: impl FnOnce() -> Result<Bytes>,
    ) -> Result<Output> {
        if self.multipart {
            return no_single_after_update();
        }
        self.deliver(Step::Single, cap, compute)
    }
    fn update(
        &mut self,
        cap: Option<usize>,
        compute: impl FnOnce() -> Result<Bytes>,
    ) -> Result<Output> {
        self.multipart = true;
        self.deliver(Step::Update, cap, compute)
    }
    /// An update without output (sign, digest): refused while an output waits.
    fn quiet_update(&mut self) -> Result<()> {
        if self.pending.is_some() {
            return no_single_after_update();
        }
        self.multipart = true;
        Ok(())
    }
    fn finish(
        &mut self,
        cap: Option<usize>,
        compute: impl FnOnce() -> Result<Bytes>,
    ) -> Result<Output> {
        self.deliver(Step::Final, cap, compute)
    }
    fn deliver(
        &mut self,
        step: Step,
        cap: Option<usize>,
        compute: impl FnOnce() -> Result<Bytes>,
    ) -> Result<Output> {
        deliver(&mut self.pending, step, cap, || Ok((compute()?, ()))).map(|(o, ())| o)
    }
}

/// Encryption or decryption.
pub struct Cipher {
    op: Box<dyn CipherOp>,
    out: Outputs,
    /// Encrypting: the output is ciphertext.
    encrypting: bool,
}

impl Cipher {
    pub fn new(op: Box<dyn CipherOp>, encrypting: bool) -> Self {
        Cipher {
            op,
            out: Outputs::default(),
            encrypting,
        }
    }
    pub fn single(&mut self, data: &[u8], cap: Option<usize>) -> Result<Output> {
        let (op, public) = (&mut self.op, self.encrypting);
        self.out
            .single(cap, || op.one_shot(data).map(|b| classify(b, public)))
    }
    /// A single-part call that writes into the caller's buffer when the operation knows
    /// its exact output length: a length query then computes nothing, and the output is
    /// neither allocated nor copied. Otherwise (or with output already pending) as
    /// [`single`](Self::single).
    pub fn single_to(&mut self, data: &[u8], dest: Dest<'_>) -> Result<Output> {
        let n = match self.op.direct_len(data.len()) {
            Some(n) if self.out.idle() => n,
            _ => return self.single(data, dest.cap()),
        };
        match dest {
            Dest::Query => Ok(Output::Len(n)),
            d if d.cap().is_some_and(|c| c < n) => Err(Error::buffer_too_small(n)),
            Dest::Buf(b) => {
                self.op.one_shot_into(data, &mut b[..n])?;
                Ok(Output::Written(n))
            }
            room => self.single(data, room.cap()),
        }
    }
    pub fn update(&mut self, data: &[u8], cap: Option<usize>) -> Result<Output> {
        let (op, public) = (&mut self.op, self.encrypting);
        self.out
            .update(cap, || op.update(data).map(|b| classify(b, public)))
    }
    pub fn finish(&mut self, cap: Option<usize>) -> Result<Output> {
        let (op, public) = (&mut self.op, self.encrypting);
        self.out
            .finish(cap, || op.finish().map(|b| classify(b, public)))
    }
}

/// Whether a signature or verification may take its data in parts, as the mechanism's
/// table row says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parts {
    Any,
    /// Single-part only; the mechanism's name, for the message.
    Single(&'static str),
}

impl Parts {
    pub fn of(spec: &MechSpec) -> Parts {
        if spec.single_part {
            Parts::Single(spec.name)
        } else {
            Parts::Any
        }
    }

    /// C_SignUpdate/C_VerifyUpdate/C_VerifySignatureUpdate on a single-part mechanism: the
    /// operation was not initialised for parts. CKR_OPERATION_NOT_INITIALIZED is the code
    /// those functions list for it (CKR_FUNCTION_NOT_SUPPORTED is for whole functions), and
    /// the one 3.2 clients expect; the error ends the operation as every failed update does.
    fn update(self) -> Result<()> {
        match self {
            Parts::Any => Ok(()),
            Parts::Single(name) => err(
                ErrorKind::OperationNotInitialized,
                format!("{name} is single-part: pass all the data to C_Sign, C_Verify or C_VerifySignature"),
            ),
        }
    }
}

/// Signing or MAC-ing.
pub struct Sign {
    op: Box<dyn SignOp>,
    parts: Parts,
    out: Outputs,
}

impl Sign {
    pub fn new(op: Box<dyn SignOp>, parts: Parts) -> Self {
        Sign {
            op,
            parts,
            out: Outputs::default(),
        }
    }
    pub fn single(&mut self, data: &[u8], cap: Option<usize>) -> Result<Output> {
        let op = &mut self.op;
        self.out.single(cap, || {
            op.update(data)?;
            Ok(OutBytes::Public(op.finish()?))
        })
    }
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.parts.update()?;
        self.out.quiet_update()?;
        self.op.update(data)
    }
    pub fn finish(&mut self, cap: Option<usize>) -> Result<Output> {
        let op = &mut self.op;
        self.out.finish(cap, || Ok(OutBytes::Public(op.finish()?)))
    }
}

/// Verification; `signature` is set when the signature came with the init (3.2
/// C_VerifySignatureInit), and then only the C_VerifySignature* calls may use it.
pub struct Verify {
    op: Box<dyn VerifyOp>,
    parts: Parts,
    signature: Option<Vec<u8>>,
    multipart: bool,
}

impl Verify {
    pub fn new(op: Box<dyn VerifyOp>, parts: Parts, signature: Option<Vec<u8>>) -> Self {
        Verify {
            op,
            parts,
            signature,
            multipart: false,
        }
    }
    fn check_form(&self, with_signature: bool) -> Result<()> {
        if self.signature.is_some() != with_signature {
            let (active, other) = if with_signature {
                ("C_VerifyInit", "C_VerifySignature")
            } else {
                ("C_VerifySignatureInit", "C_Verify")
            };
            return err(
                ErrorKind::OperationNotInitialized,
                format!("the active verification was started by {active}, not for {other}*"),
            );
        }
        Ok(())
    }
    pub fn single(&mut self, data: &[u8], signature: Option<&[u8]>) -> Result<()> {
        self.check_form(signature.is_none())?;
        if self.multipart {
            return no_single_after_update();
        }
        self.op.update(data)?;
        self.finish_with(signature)
    }
    pub fn update(&mut self, data: &[u8], with_signature: bool) -> Result<()> {
        self.check_form(with_signature)?;
        self.parts.update()?;
        self.multipart = true;
        self.op.update(data)
    }
    pub fn finish(&mut self, signature: Option<&[u8]>) -> Result<()> {
        self.check_form(signature.is_none())?;
        self.finish_with(signature)
    }
    fn finish_with(&mut self, given: Option<&[u8]>) -> Result<()> {
        let sig = match (given, self.signature.take()) {
            (Some(s), _) => s.to_vec(),
            (None, Some(s)) => s,
            (None, None) => return err(ErrorKind::ArgumentsBad, "no signature to verify"),
        };
        self.op.finish(&sig)
    }
}

/// Digesting.
pub struct Digest {
    op: Box<dyn DigestOp>,
    out: Outputs,
}

impl Digest {
    pub fn new(op: Box<dyn DigestOp>) -> Self {
        Digest {
            op,
            out: Outputs::default(),
        }
    }
    pub fn single(&mut self, data: &[u8], cap: Option<usize>) -> Result<Output> {
        let op = &mut self.op;
        self.out.single(cap, || {
            op.update(data);
            Ok(classify(Zeroizing::new(op.finish()), false))
        })
    }
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.out.quiet_update()?;
        self.op.update(data);
        Ok(())
    }
    pub fn finish(&mut self, cap: Option<usize>) -> Result<Output> {
        let op = &mut self.op;
        self.out
            .finish(cap, || Ok(classify(Zeroizing::new(op.finish()), false)))
    }
}

/// An object search: handles found at init, handed out in order.
pub struct Find {
    results: VecDeque<ObjectHandle>,
}

impl Find {
    pub fn new(results: Vec<ObjectHandle>) -> Self {
        Find {
            results: results.into(),
        }
    }
    pub fn next(&mut self, max: usize) -> Vec<ObjectHandle> {
        let n = max.min(self.results.len());
        self.results.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reverses each update's input; finish emits a one-byte trailer. Counts updates so a
    /// test sees whether a retry recomputed.
    struct Rev {
        updates: usize,
    }
    impl CipherOp for Rev {
        fn update_len(&self, n: usize) -> usize {
            n
        }
        fn update(&mut self, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
            self.updates += 1;
            if data == b"bad" {
                return err(ErrorKind::DataInvalid, "bad data");
            }
            Ok(Zeroizing::new(data.iter().rev().copied().collect()))
        }
        fn final_len(&self) -> usize {
            1
        }
        fn finish(&mut self) -> Result<Zeroizing<Vec<u8>>> {
            Ok(Zeroizing::new(vec![self.updates as u8]))
        }
    }

    fn cipher() -> Option<Cipher> {
        Some(Cipher::new(Box::new(Rev { updates: 0 }), false))
    }

    fn data(o: Output) -> Vec<u8> {
        match o {
            Output::Data(d) => d.to_vec(),
            Output::Len(n) | Output::Written(n) => panic!("expected data, got length {n}"),
        }
    }

    #[test]
    fn length_query_and_short_buffer_keep_the_computed_output() {
        let mut slot = cipher();
        let r = drive(&mut slot, "encrypt", keeps_output(false), |c| {
            c.single(b"abc", None)
        });
        assert!(matches!(r, Ok(Output::Len(4))));
        let r = drive(&mut slot, "encrypt", keeps_output(false), |c| {
            c.single(b"abc", Some(2))
        });
        assert_eq!(r.unwrap_err().needed(), Some(4));
        let r = drive(&mut slot, "encrypt", keeps_output(false), |c| {
            c.single(b"abc", Some(4))
        });
        // One update only: the retries returned the first computation.
        assert_eq!(data(r.unwrap()), vec![b'c', b'b', b'a', 1]);
        assert!(
            slot.is_none(),
            "a delivered single-part call ends the operation"
        );
        let r = drive(&mut slot, "encrypt", keeps_output(false), |c| {
            c.single(b"abc", Some(4))
        });
        assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationNotInitialized);
    }

    #[test]
    fn multi_part_flow_and_errors_end_the_operation() {
        let mut slot = cipher();
        let out = drive(&mut slot, "encrypt", keeps_output(true), |c| {
            c.update(b"12", Some(8))
        })
        .unwrap();
        assert_eq!(data(out), b"21");
        assert!(slot.is_some());
        let r = drive(&mut slot, "encrypt", keeps_output(false), |c| {
            c.single(b"x", Some(8))
        });
        assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationActive);
        assert!(slot.is_none(), "a failed call ends the operation");

        let mut slot = cipher();
        drive(&mut slot, "encrypt", keeps_output(true), |c| {
            c.update(b"12", Some(8))
        })
        .unwrap();
        let r = drive(&mut slot, "encrypt", keeps_output(false), |c| {
            c.finish(None)
        });
        assert!(matches!(r, Ok(Output::Len(1))));
        // A different call while output waits is refused and ends the operation.
        let r = drive(&mut slot, "encrypt", keeps_output(true), |c| {
            c.update(b"3", Some(8))
        });
        assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationActive);
        assert!(slot.is_none());

        let mut slot = cipher();
        let r = drive(&mut slot, "encrypt", keeps_output(true), |c| {
            c.update(b"bad", Some(8))
        });
        assert_eq!(r.unwrap_err().kind(), ErrorKind::DataInvalid);
        assert!(slot.is_none());
    }

    /// Signs with the byte count of everything fed; verifies that count.
    struct Count(usize);
    impl SignOp for Count {
        fn update(&mut self, data: &[u8]) -> Result<()> {
            self.0 += data.len();
            Ok(())
        }
        fn sig_len(&self) -> usize {
            1
        }
        fn finish(&mut self) -> Result<Vec<u8>> {
            Ok(vec![self.0 as u8])
        }
    }
    impl VerifyOp for Count {
        fn update(&mut self, data: &[u8]) -> Result<()> {
            self.0 += data.len();
            Ok(())
        }
        fn finish(&mut self, sig: &[u8]) -> Result<()> {
            match sig == [self.0 as u8] {
                true => Ok(()),
                false => err(ErrorKind::SignatureInvalid, "count differs"),
            }
        }
    }

    #[test]
    fn single_part_mechanisms_refuse_updates_and_end_the_operation() {
        let single = Parts::Single("CKM_TEST");
        let mut slot = Some(Sign::new(Box::new(Count(0)), single));
        let r = drive(&mut slot, "signing", keeps_on_ok, |s| s.update(b"ab"));
        assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationNotInitialized);
        assert!(slot.is_none(), "the refused update ends the operation");
        let mut s = Sign::new(Box::new(Count(0)), single);
        assert_eq!(data(s.single(b"abc", Some(1)).unwrap()), vec![3]);

        for with_signature in [false, true] {
            let sig = with_signature.then(|| vec![2u8]);
            let mut v = Verify::new(Box::new(Count(0)), single, sig.clone());
            let e = v.update(b"ab", with_signature).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OperationNotInitialized);
            let mut v = Verify::new(Box::new(Count(0)), single, sig);
            let given = (!with_signature).then_some(&[2u8][..]);
            v.single(b"ab", given).unwrap();
        }

        // Any other mechanism takes parts.
        let mut s = Sign::new(Box::new(Count(0)), Parts::Any);
        s.update(b"ab").unwrap();
        s.update(b"c").unwrap();
        assert_eq!(data(s.finish(Some(1)).unwrap()), vec![3]);
        let mut v = Verify::new(Box::new(Count(0)), Parts::Any, None);
        v.update(b"ab", false).unwrap();
        v.finish(Some(&[2])).unwrap();
    }

    #[test]
    fn idle_refuses_a_second_operation() {
        assert_eq!(
            idle(&cipher(), "encrypt").unwrap_err().kind(),
            ErrorKind::OperationActive
        );
        assert!(idle(&None::<Cipher>, "encrypt").is_ok());
    }

    #[test]
    fn find_hands_out_results_in_batches() {
        let mut f = Find::new(vec![3, 5, 9]);
        assert_eq!(f.next(2), vec![3, 5]);
        assert_eq!(f.next(2), vec![9]);
        assert!(f.next(2).is_empty());
    }
}
