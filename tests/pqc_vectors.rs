//! Post-quantum test vectors through the module, every case as a PKCS#11 client would send
//! it: all Wycheproof `mlkem_*` and `mldsa_*` files and the SLH-DSA ACVP keyGen and sigVer
//! files in `../shared/vectors`. A `valid` case must be accepted with the expected output,
//! an `invalid` one refused with a fitting code; cases PKCS#11 cannot express are counted
//! by reason, and every count is asserted, so no case is silently dropped:
//! - ML-KEM encapsulation with a given m: the token draws m itself, so only the
//!   encapsulation key's validity (and a token encapsulation with it) is driven;
//! - ML-DSA "Internal" cases give only μ (no message): PKCS#11 3.2 has no external-μ
//!   mechanism; randomized ML-DSA cases give rnd: the token draws its own, so their
//!   expected signature is verified, not reproduced;
//! - ACVP SLH-DSA sigVer holds internal-interface messages M' (no context framing), which
//!   CKM_SLH_DSA cannot take: only signatures refused for their length are driven, and
//!   every case's key pair is imported and checked.
//!
//! Secrets are compared by reading CKA_VALUE of keys made with CKA_SENSITIVE=FALSE under
//! `[policy] allow_extractable = true`. SoftHSM2 has no post-quantum mechanisms: pqhsm only.

mod common;

use common::keys::{attr_bytes, readable_secret_template};
use common::pqc::{self, Set};
use common::{Options, Outcome, Outcomes, Token};
use cryptoki::error::RvError;
use cryptoki::mechanism::dsa::{HedgeType, SignAdditionalContext};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{AttributeType, ObjectHandle};
use cryptoki::session::Session;
use serde_json::Value;
use std::collections::BTreeMap;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors/");

fn load(path: &str) -> Value {
    let path = format!("{VECTORS}{path}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// Every (group, test) of a vector file.
fn cases(doc: &Value) -> Vec<(&Value, &Value)> {
    let groups = doc["testGroups"].as_array().expect("testGroups");
    groups
        .iter()
        .flat_map(|g| {
            let tests = g["tests"].as_array().expect("tests");
            tests.iter().map(move |t| (g, t))
        })
        .collect()
}

/// A hex field of the test, else of its group; None when neither has it.
fn field(g: &Value, t: &Value, name: &str) -> Option<Vec<u8>> {
    let v = t.get(name).or_else(|| g.get(name))?.as_str()?;
    Some(hex::decode(v).unwrap_or_else(|e| panic!("field {name} is not hex: {e}")))
}

fn hx(g: &Value, t: &Value, name: &str) -> Vec<u8> {
    field(g, t, name).unwrap_or_else(|| panic!("tcId {}: no field {name}", t["tcId"]))
}

fn token(b: common::Backend) -> Token {
    Token::with(
        b,
        Options::pqhsm_conf("[policy]\nallow_extractable = true\n"),
    )
}

/// What the module did with one case.
enum Verdict {
    /// Accepted, with the expected output where there is one.
    Accepted,
    /// Accepted by a weaker check than the case asks for (the reason is counted).
    AcceptedOnly(&'static str),
    /// Accepted, but the output differs from the vector's.
    Wrong(String),
    Refused(Outcome),
    /// PKCS#11 cannot express the case; the reason is counted.
    NotDriven(&'static str),
}

fn refused<T>(r: &cryptoki::error::Result<T>) -> Option<Verdict> {
    match r.outcome() {
        Outcome::Ok => None,
        o => Some(Verdict::Refused(o)),
    }
}

/// The verdicts on one file.
struct Tally {
    file: String,
    declared: usize,
    valid: usize,
    invalid: usize,
    not_driven: BTreeMap<&'static str, usize>,
    /// Valid cases accepted by a weaker check, by reason (counted in `valid` too).
    weaker: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
    /// The codes an invalid case may be refused with.
    proper: &'static [RvError],
}

impl Tally {
    fn new(file: &str, doc: &Value, proper: &'static [RvError]) -> Tally {
        let declared = doc["numberOfTests"]
            .as_u64()
            .map(|n| n as usize)
            .unwrap_or_else(|| cases(doc).len());
        Tally {
            file: file.to_string(),
            declared,
            valid: 0,
            invalid: 0,
            not_driven: BTreeMap::new(),
            weaker: BTreeMap::new(),
            failures: Vec::new(),
            proper,
        }
    }

    fn judge(&mut self, t: &Value, valid: bool, v: Verdict) {
        let id = &t["tcId"];
        let verdict = if valid { "valid" } else { "invalid" };
        match (valid, v) {
            (_, Verdict::NotDriven(why)) => *self.not_driven.entry(why).or_default() += 1,
            (true, Verdict::Accepted) => self.valid += 1,
            (true, Verdict::AcceptedOnly(how)) => {
                self.valid += 1;
                *self.weaker.entry(how).or_default() += 1;
            }
            (true, Verdict::Wrong(what)) => {
                self.failures.push(format!("tcId {id} (valid): {what}"))
            }
            (true, Verdict::Refused(o)) => self
                .failures
                .push(format!("tcId {id} (valid): refused with {o}")),
            (false, Verdict::Accepted | Verdict::AcceptedOnly(_) | Verdict::Wrong(_)) => self
                .failures
                .push(format!("tcId {id} ({verdict}): accepted")),
            (false, Verdict::Refused(o)) => match o {
                Outcome::Rv(rv) if self.proper.contains(&rv) => self.invalid += 1,
                o => self
                    .failures
                    .push(format!("tcId {id} (invalid): refused, but with {o}")),
            },
        }
    }

    /// Every case judged right, and exactly these counts.
    fn expect(self, valid: usize, invalid: usize, not_driven: &[(&str, usize)]) {
        self.expect_with(valid, invalid, not_driven, &[])
    }

    /// As `expect`, with `weaker` of the valid cases accepted by a weaker check.
    fn expect_with(
        self,
        valid: usize,
        invalid: usize,
        not_driven: &[(&str, usize)],
        weaker: &[(&str, usize)],
    ) {
        eprintln!(
            "{}: {} valid accepted (by a weaker check: {:?}), {} invalid refused, not driven {:?}",
            self.file, self.valid, self.weaker, self.invalid, self.not_driven
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} failures:\n  {}",
            self.file,
            self.failures.len(),
            self.failures.join("\n  ")
        );
        let nd: usize = self.not_driven.values().sum();
        assert_eq!(
            self.valid + self.invalid + nd,
            self.declared,
            "{}: cases judged",
            self.file
        );
        assert_eq!(
            (self.valid, self.invalid),
            (valid, invalid),
            "{}: counts",
            self.file
        );
        let want: BTreeMap<&str, usize> = not_driven.iter().copied().collect();
        assert_eq!(self.not_driven, want, "{}: cases not driven", self.file);
        let want: BTreeMap<&str, usize> = weaker.iter().copied().collect();
        assert_eq!(
            self.weaker, want,
            "{}: cases accepted by a weaker check",
            self.file
        );
    }
}

const KEY_REFUSALS: &[RvError] = &[RvError::AttributeValueInvalid];
const SIG_REFUSALS: &[RvError] = &[
    RvError::SignatureInvalid,
    RvError::SignatureLenRange,
    RvError::AttributeValueInvalid,
    RvError::MechanismParamInvalid,
];

// ----- ML-KEM -----

fn mlkem_set(g: &Value) -> Set {
    Set::named(g["parameterSet"].as_str().expect("parameterSet"))
}

/// Decapsulate `c` into a readable generic secret and read it; destroys what it made.
fn decapsulate(s: &Session, private: ObjectHandle, c: &[u8]) -> cryptoki::error::Result<Vec<u8>> {
    let k = s.decapsulate_key(&Mechanism::MlKem, private, &readable_secret_template(), c)?;
    let v = attr_bytes(s, k, AttributeType::Value);
    ck!(s.destroy_object(k));
    Ok(v)
}

/// One decapsulation case: import the private key (by seed or expanded key), check its
/// public key against `ek` when the vector has one, decapsulate, compare with K.
fn decapsulation_case(s: &Session, set: Set, g: &Value, t: &Value, by_seed: bool) -> Verdict {
    let (seed, dk) = if by_seed {
        (Some(hx(g, t, "seed")), None)
    } else {
        (None, Some(hx(g, t, "dk")))
    };
    let private = pqc::import_private(s, set, seed.as_deref(), dk.as_deref());
    if let Some(v) = refused(&private) {
        return v;
    }
    let private = ck!(private);
    let ek = field(g, t, "ek").unwrap_or_default();
    let verdict = if !ek.is_empty() && pqc::public_key_info(s, private).1 != ek {
        Verdict::Wrong("the imported key's public key is not ek".into())
    } else {
        match decapsulate(s, private, &hx(g, t, "c")) {
            Err(e) => Verdict::Refused(Err::<(), _>(e).outcome()),
            Ok(k) if Some(&k) == field(g, t, "K").as_ref() => Verdict::Accepted,
            Ok(k) => Verdict::Wrong(format!("K = {}", hex::encode(k))),
        }
    };
    ck!(s.destroy_object(private));
    verdict
}

const ENCAPS: &str =
    "the key imports and encapsulates (the token draws its own m: c, K not compared)";

const DECAPS_REFUSALS: &[RvError] = &[RvError::AttributeValueInvalid, RvError::WrappedKeyLenRange];

pqhsm_only! {
    /// mlkem_*_test.json: private key from the seed d‖z, C_DecapsulateKey, the secret K.
    /// Seeds and ciphertexts of the wrong length are the invalid cases.
    fn mlkem_decapsulation_from_seed(b: Backend) {
        let t = token(b);
        let s = t.session();
        for bits in ["512", "768", "1024"] {
            let file = format!("wycheproof/mlkem_{bits}_test.json");
            let doc = load(&file);
            let mut tally = Tally::new(&file, &doc, DECAPS_REFUSALS);
            for (g, tc) in cases(&doc) {
                let v = decapsulation_case(s, mlkem_set(g), g, tc, true);
                tally.judge(tc, tc["result"] == "valid", v);
            }
            tally.expect(153, 40, &[]);
        }
    }

    /// mlkem_*_semi_expanded_decaps_test.json: private key from the expanded key alone.
    fn mlkem_decapsulation_with_expanded_keys(b: Backend) {
        let t = token(b);
        let s = t.session();
        for bits in ["512", "768", "1024"] {
            let file = format!("wycheproof/mlkem_{bits}_semi_expanded_decaps_test.json");
            let doc = load(&file);
            let mut tally = Tally::new(&file, &doc, DECAPS_REFUSALS);
            for (g, tc) in cases(&doc) {
                let v = decapsulation_case(s, mlkem_set(g), g, tc, false);
                tally.judge(tc, tc["result"] == "valid", v);
            }
            tally.expect(3, 6, &[]);
        }
    }

    /// mlkem_*_keygen_seed_test.json: the key imported from its seed has the vector's public
    /// key; the expanded key alone gives the same public key; seed and expanded key together
    /// are accepted, which the token allows only when the seed expands to exactly dk.
    fn mlkem_key_generation_from_seed(b: Backend) {
        let t = token(b);
        let s = t.session();
        for bits in ["512", "768", "1024"] {
            let file = format!("wycheproof/mlkem_{bits}_keygen_seed_test.json");
            let doc = load(&file);
            let mut tally = Tally::new(&file, &doc, KEY_REFUSALS);
            for (g, tc) in cases(&doc) {
                let set = mlkem_set(g);
                let (seed, ek, dk) = (hx(g, tc, "seed"), hx(g, tc, "ek"), hx(g, tc, "dk"));
                let mut made = Vec::new();
                let mut verdict = Verdict::Accepted;
                for (sd, v) in [(Some(&seed[..]), None), (None, Some(&dk[..])), (Some(&seed[..]), Some(&dk[..]))] {
                    match pqc::import_private(s, set, sd, v) {
                        Err(e) => {
                            verdict = Verdict::Refused(Err::<(), _>(e).outcome());
                            break;
                        }
                        Ok(k) => {
                            made.push(k);
                            if pqc::public_key_info(s, k).1 != ek {
                                verdict = Verdict::Wrong("public key differs from ek".into());
                            }
                        }
                    }
                }
                for k in made {
                    ck!(s.destroy_object(k));
                }
                tally.judge(tc, tc["result"] == "valid", verdict);
            }
            tally.expect(100, 0, &[]);
        }
    }

    /// mlkem_*_encaps_test.json: every invalid encapsulation key (wrong length, coefficient
    /// not reduced mod q) is refused at C_CreateObject; every valid one imports and the token
    /// encapsulates with it. The vector's m cannot be given to the token (it draws its own),
    /// so c and K are not compared here (the mechanism unit tests do that).
    fn mlkem_encapsulation_keys(b: Backend) {
        let t = token(b);
        let s = t.session();
        for (bits, invalid) in [("512", 128), ("768", 132), ("1024", 136)] {
            let file = format!("wycheproof/mlkem_{bits}_encaps_test.json");
            let doc = load(&file);
            let mut tally = Tally::new(&file, &doc, KEY_REFUSALS);
            for (g, tc) in cases(&doc) {
                let set = mlkem_set(g);
                let public = pqc::import_public(s, set, &hx(g, tc, "ek"));
                let verdict = match refused(&public) {
                    Some(v) => v,
                    None => {
                        let public = ck!(public);
                        let (ct, key) = ck!(s.encapsulate_key(&Mechanism::MlKem, public, &readable_secret_template()));
                        let secret = attr_bytes(s, key, AttributeType::Value);
                        ck!(s.destroy_object(key));
                        ck!(s.destroy_object(public));
                        if ct.len() == set.output_len && secret.len() == 32 {
                            Verdict::AcceptedOnly(ENCAPS)
                        } else {
                            Verdict::Wrong(format!("ciphertext {} bytes, secret {}", ct.len(), secret.len()))
                        }
                    }
                };
                tally.judge(tc, tc["result"] == "valid", verdict);
            }
            tally.expect_with(133, invalid, &[], &[(ENCAPS, 133)]);
        }
    }
}

// ----- ML-DSA -----

fn mldsa_set(bits: &str) -> Set {
    Set::named(&format!("ML-DSA-{bits}"))
}

/// The context parameter of a case (none: an empty context, no parameter).
fn context_of(g: &Value, t: &Value) -> Option<Vec<u8>> {
    field(g, t, "ctx")
}

/// One signing case with the group's imported key: deterministic signing reproduces the
/// vector's signature; a randomized case's signature is verified instead; an external-μ
/// case cannot be driven.
fn signing_case(
    s: &Session,
    key: Result<(ObjectHandle, ObjectHandle), Verdict>,
    g: &Value,
    t: &Value,
) -> Verdict {
    if field(g, t, "msg").is_none() {
        return Verdict::NotDriven("internal: only μ is given (no external-μ mechanism)");
    }
    let (private, public) = match key {
        Ok(k) => k,
        Err(v) => return v,
    };
    let (msg, sig) = (hx(g, t, "msg"), hx(g, t, "sig"));
    let ctx = context_of(g, t);
    if field(g, t, "rnd").is_some() {
        let m = Mechanism::MlDsa(SignAdditionalContext::new(
            HedgeType::Preferred,
            ctx.as_deref(),
        ));
        return match s.verify(&m, public, &msg, &sig) {
            Ok(()) => Verdict::AcceptedOnly(RANDOMIZED),
            Err(e) => Verdict::Refused(Err::<(), _>(e).outcome()),
        };
    }
    let m = Mechanism::MlDsa(SignAdditionalContext::new(
        HedgeType::DeterministicRequired,
        ctx.as_deref(),
    ));
    match s.sign(&m, private, &msg) {
        Ok(ours) if ours == sig => Verdict::Accepted,
        Ok(ours) => Verdict::Wrong(format!("signature differs ({} bytes)", ours.len())),
        Err(e) => Verdict::Refused(Err::<(), _>(e).outcome()),
    }
}

/// Run a signing file; `private` imports a group's private key.
fn signing_file(
    s: &Session,
    file: &str,
    set: Set,
    private: impl Fn(&Value) -> cryptoki::error::Result<ObjectHandle>,
) -> Tally {
    let doc = load(file);
    let mut tally = Tally::new(file, &doc, SIG_REFUSALS);
    for g in doc["testGroups"].as_array().expect("testGroups") {
        let key = match private(g) {
            Err(e) => Err(Err::<(), _>(e).outcome()),
            Ok(k) => {
                let pk = hx(g, g, "publicKey");
                assert_eq!(
                    pqc::public_key_info(s, k).1,
                    pk,
                    "{file}: the group's public key"
                );
                Ok((k, ck!(pqc::import_public(s, set, &pk))))
            }
        };
        for tc in g["tests"].as_array().expect("tests") {
            let key = key.clone().map_err(Verdict::Refused);
            let v = signing_case(s, key, g, tc);
            tally.judge(tc, tc["result"] == "valid", v);
        }
    }
    tally
}

const INTERNAL: &str = "internal: only μ is given (no external-μ mechanism)";
const RANDOMIZED: &str =
    "randomized: the vector's signature verifies (the token draws its own rnd)";

pqhsm_only! {
    /// mldsa_*_verify_test.json: import the public key (its SPKI must be the vector's DER),
    /// C_Verify with the case's context. Keys of the wrong length are refused at import,
    /// 256-byte contexts at C_VerifyInit, bad signatures at C_Verify.
    fn mldsa_verification(b: Backend) {
        let t = token(b);
        let s = t.session();
        for (bits, valid, invalid) in [("44", 77, 103), ("65", 79, 131), ("87", 71, 170)] {
            let file = format!("wycheproof/mldsa_{bits}_verify_test.json");
            let set = mldsa_set(bits);
            let doc = load(&file);
            let mut tally = Tally::new(&file, &doc, SIG_REFUSALS);
            for g in doc["testGroups"].as_array().expect("testGroups") {
                let public = pqc::import_public(s, set, &hx(g, g, "publicKey"));
                let public = match refused(&public) {
                    Some(Verdict::Refused(o)) => Err(o),
                    _ => Ok(ck!(public)),
                };
                if let Ok(k) = &public {
                    assert_eq!(
                        pqc::public_key_info_der(s, *k),
                        hx(g, g, "publicKeyDer"),
                        "{file}: CKA_PUBLIC_KEY_INFO is the vector's SPKI"
                    );
                }
                for tc in g["tests"].as_array().expect("tests") {
                    let v = match &public {
                        Err(o) => Verdict::Refused(o.clone()),
                        Ok(k) => {
                            let ctx = context_of(g, tc);
                            let m = Mechanism::MlDsa(SignAdditionalContext::new(HedgeType::Preferred, ctx.as_deref()));
                            match s.verify(&m, *k, &hx(g, tc, "msg"), &hx(g, tc, "sig")) {
                                Ok(()) => Verdict::Accepted,
                                Err(e) => Verdict::Refused(Err::<(), _>(e).outcome()),
                            }
                        }
                    };
                    tally.judge(tc, tc["result"] == "valid", v);
                }
            }
            tally.expect(valid, invalid, &[]);
        }
    }

    /// mldsa_*_sign_seed_test.json: the private key imported from its seed ξ signs every
    /// message deterministically to exactly the vector's signature.
    fn mldsa_signing_with_seeds(b: Backend) {
        let t = token(b);
        let s = t.session();
        for (bits, exact, randomized, internal, invalid) in [("44", 73, 1, 8, 4), ("65", 83, 1, 17, 4), ("87", 74, 1, 17, 4)] {
            let set = mldsa_set(bits);
            let file = format!("wycheproof/mldsa_{bits}_sign_seed_test.json");
            let tally = signing_file(s, &file, set, |g| {
                pqc::import_private(s, set, Some(&hx(g, g, "privateSeed")), None)
            });
            tally.expect_with(exact + randomized, invalid, &[(INTERNAL, internal)], &[(RANDOMIZED, randomized)]);
        }
    }

    /// mldsa_*_sign_noseed_test.json: as above with the expanded private key; malformed
    /// expanded keys are refused at import.
    fn mldsa_signing_with_expanded_keys(b: Backend) {
        let t = token(b);
        let s = t.session();
        for (bits, exact, randomized, internal, invalid) in [("44", 60, 1, 7, 5), ("65", 62, 1, 10, 5), ("87", 53, 1, 10, 5)] {
            let set = mldsa_set(bits);
            let file = format!("wycheproof/mldsa_{bits}_sign_noseed_test.json");
            let tally = signing_file(s, &file, set, |g| {
                pqc::import_private(s, set, None, Some(&hx(g, g, "privateKey")))
            });
            tally.expect_with(exact + randomized, invalid, &[(INTERNAL, internal)], &[(RANDOMIZED, randomized)]);
        }
    }
}

// ----- SLH-DSA (ACVP) -----

/// Import `sk` as a private key: its public key must be `pk`. With `tamper`, the same key
/// with a changed PK.root must be refused too (once per group: recomputing PK.root of an
/// "s" set costs a key generation).
fn slh_key_case(s: &Session, set: Set, sk: &[u8], pk: &[u8], tamper: bool) -> Verdict {
    let private = pqc::import_private(s, set, None, Some(sk));
    if let Some(v) = refused(&private) {
        return v;
    }
    let private = ck!(private);
    let public = pqc::public_key_info(s, private).1;
    ck!(s.destroy_object(private));
    if public != pk {
        return Verdict::Wrong("public key differs from pk".into());
    }
    if !tamper {
        return Verdict::Accepted;
    }
    let mut bad = sk.to_vec();
    *bad.last_mut().expect("a key") ^= 0x80;
    match pqc::import_private(s, set, None, Some(&bad)).outcome() {
        Outcome::Rv(RvError::AttributeValueInvalid) => Verdict::Accepted,
        other => Verdict::Wrong(format!("a wrong PK.root was answered with {other}")),
    }
}

/// Whether `tc` is the first test of its group.
fn first_of_group(g: &Value, tc: &Value) -> bool {
    g["tests"][0]["tcId"] == tc["tcId"]
}

pqhsm_only! {
    /// ACVP SLH-DSA keyGen: SK.seed‖SK.prf‖PK.seed‖PK.root imports as CKA_VALUE and gives
    /// the vector's public key; a key with a changed PK.root is refused (one per group).
    fn slhdsa_acvp_key_generation(b: Backend) {
        let t = token(b);
        let s = t.session();
        let file = "acvp/SLH-DSA-keyGen-FIPS205/internalProjection.json";
        let doc = load(file);
        let mut tally = Tally::new(file, &doc, KEY_REFUSALS);
        for (g, tc) in cases(&doc) {
            let set = Set::named(g["parameterSet"].as_str().expect("parameterSet"));
            let sk = [hx(g, tc, "skSeed"), hx(g, tc, "skPrf"), hx(g, tc, "pkSeed")].concat();
            let (pk, full) = (hx(g, tc, "pk"), hx(g, tc, "sk"));
            assert_eq!(full[..3 * set.public_len / 2], sk[..], "tcId {}: sk starts with the seeds", tc["tcId"]);
            tally.judge(tc, true, slh_key_case(s, set, &full, &pk, first_of_group(g, tc)));
        }
        tally.expect(40, 0, &[]);
    }

    /// ACVP SLH-DSA sigVer: every case's key pair imports and matches; signatures refused for
    /// their length alone are driven through C_Verify (CKR_SIGNATURE_LEN_RANGE whatever the
    /// message); the rest carry internal-interface messages CKM_SLH_DSA cannot take.
    fn slhdsa_acvp_signature_verification(b: Backend) {
        let t = token(b);
        let s = t.session();
        let file = "acvp/SLH-DSA-sigVer-FIPS205/internalProjection.json";
        let doc = load(file);
        let mut tally = Tally::new(file, &doc, &[RvError::SignatureLenRange]);
        let mut keys_checked = 0;
        for (g, tc) in cases(&doc) {
            let set = Set::named(g["parameterSet"].as_str().expect("parameterSet"));
            let (sk, pk, sig) = (hx(g, tc, "sk"), hx(g, tc, "pk"), hx(g, tc, "signature"));
            match slh_key_case(s, set, &sk, &pk, first_of_group(g, tc)) {
                Verdict::Accepted => keys_checked += 1,
                Verdict::Refused(o) => panic!("tcId {}: key pair refused with {o}", tc["tcId"]),
                Verdict::Wrong(w) => panic!("tcId {}: {w}", tc["tcId"]),
                Verdict::NotDriven(_) | Verdict::AcceptedOnly(_) => {
                    unreachable!("key cases are fully driven")
                }
            }
            let valid = tc["testPassed"].as_bool().expect("testPassed");
            let v = if sig.len() != set.output_len {
                let public = ck!(pqc::import_public(s, set, &pk));
                let m = Mechanism::SlhDsa(SignAdditionalContext::new(HedgeType::Preferred, None));
                let r = s.verify(&m, public, &hx(g, tc, "message"), &sig);
                ck!(s.destroy_object(public));
                match r {
                    Ok(()) => Verdict::Accepted,
                    Err(e) => Verdict::Refused(Err::<(), _>(e).outcome()),
                }
            } else if valid {
                Verdict::NotDriven("valid: internal-interface message M'")
            } else {
                Verdict::NotDriven("invalid: internal-interface message M'")
            };
            tally.judge(tc, valid, v);
        }
        assert_eq!(keys_checked, 45, "every sigVer key pair checked");
        tally.expect(
            0,
            10,
            &[("invalid: internal-interface message M'", 20), ("valid: internal-interface message M'", 15)],
        );
    }
}
