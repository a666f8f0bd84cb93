//! Wycheproof through the module: every classical-algorithm file in
//! `../shared/vectors/wycheproof`, every case sent through PKCS#11 as a client would.
//! Every `valid` case must be accepted (with the right output), every `invalid` one
//! rejected, `acceptable` ones may go either way but an output must be right; the number
//! of cases judged must equal the number in the file. Keys are session objects, each
//! distinct key imported once.

mod common;

use common::hash::Hash;
use common::keys::{readable_secret, readable_secret_template};
use common::raw::{mechanism, Op};
use common::{Backend, Options, Outcome, Outcomes, Token, CKM_AES_KEY_WRAP_KWP};
use cryptoki::error::RvError;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::hkdf::{HkdfParams, HkdfSalt};
use cryptoki::mechanism::rsa::{PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki_sys::*;
use serde_json::Value;
use std::collections::BTreeMap;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors/wycheproof/");

fn load(file: &str) -> Value {
    let path = format!("{DIR}{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("a hex string")).expect("valid hex")
}

/// A big-endian unsigned integer without leading zero bytes (at least one byte).
fn unsigned(mut v: Vec<u8>) -> Vec<u8> {
    while v.len() > 1 && v[0] == 0 {
        v.remove(0);
    }
    v
}

fn has_flag(tc: &Value, flag: &str) -> bool {
    tc["flags"]
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x.as_str() == Some(flag)))
}

fn groups(d: &Value) -> &Vec<Value> {
    d["testGroups"].as_array().expect("testGroups")
}

fn tests(g: &Value) -> &Vec<Value> {
    g["tests"].as_array().expect("tests")
}

fn total(d: &Value) -> usize {
    groups(d).iter().map(|g| tests(g).len()).sum()
}

/// What happened to one case.
enum Verdict {
    /// The module accepted; `Some(output)` when the operation produces bytes to check.
    Accepted(Option<Vec<u8>>),
    /// The module refused with this outcome.
    Refused(Outcome),
    /// The case never reached the module: the client could not encode it in PKCS#11
    /// terms (malformed DER signature or SPKI, explicit curve parameters).
    NotExpressible(&'static str),
    /// RSA PKCS#1 v1.5 implicit rejection: CKR_OK with a synthetic message that is the
    /// same on every try and is not the encrypted message (checked by the caller).
    ImplicitlyRejected,
}

fn verdict<T>(r: cryptoki::error::Result<T>, out: impl FnOnce(T) -> Option<Vec<u8>>) -> Verdict {
    match r {
        Ok(v) => Verdict::Accepted(out(v)),
        Err(e) => Verdict::Refused(Err::<(), _>(e).outcome()),
    }
}

fn raw_verdict(rv: CK_RV) -> Verdict {
    match rv.outcome() {
        Outcome::Ok => Verdict::Accepted(None),
        o => Verdict::Refused(o),
    }
}

/// The judgement of one file on one backend.
struct Tally {
    name: String,
    backend: Backend,
    expected_cases: usize,
    judged: usize,
    valid_accepted: usize,
    invalid_refused: usize,
    invalid_not_expressible: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
    refusal_codes: BTreeMap<String, usize>,
    failures: Vec<String>,
    /// SoftHSM2 only: refusals of valid cases of a kind it is known not to support.
    reference_gaps: Vec<String>,
    /// Which valid cases SoftHSM2 may refuse (decided per case by the caller).
    softhsm_gap: Box<dyn Fn(&Value) -> bool>,
    /// Valid cases beyond the size the module advertises (C_GetMechanismInfo) and refused
    /// with CKR_KEY_SIZE_RANGE: the module keeps its word, so not a failure; counted.
    beyond_limit: Vec<String>,
    outside_advertised: Box<dyn Fn(&Value) -> bool>,
    /// The codes a refusal should carry; others are failures on pqhsm.
    proper: &'static [RvError],
}

impl Tally {
    fn new(t: &Token, name: &str, d: &Value, proper: &'static [RvError]) -> Tally {
        Tally {
            name: name.to_string(),
            backend: t.backend,
            expected_cases: total(d),
            judged: 0,
            valid_accepted: 0,
            invalid_refused: 0,
            invalid_not_expressible: 0,
            acceptable_accepted: 0,
            acceptable_refused: 0,
            refusal_codes: BTreeMap::new(),
            failures: Vec::new(),
            reference_gaps: Vec::new(),
            softhsm_gap: Box::new(|_| false),
            beyond_limit: Vec::new(),
            outside_advertised: Box::new(|_| false),
            proper,
        }
    }

    /// Let SoftHSM2 refuse the valid cases `gap` picks (a known limit of the reference).
    fn softhsm_may_refuse(mut self, gap: impl Fn(&Value) -> bool + 'static) -> Tally {
        self.softhsm_gap = Box::new(gap);
        self
    }

    /// Cases `outside` picks lie beyond the size the module advertises for the mechanism.
    fn advertised_limit(mut self, outside: impl Fn(&Value) -> bool + 'static) -> Tally {
        self.outside_advertised = Box::new(outside);
        self
    }

    fn judge(&mut self, tc: &Value, expected: Option<&[u8]>, v: Verdict) {
        self.judged += 1;
        let id = tc["tcId"].as_u64().unwrap_or(0);
        let result = tc["result"].as_str().expect("result");
        let flags = tc["flags"].to_string();
        let what = format!("tcId {id} ({result}, {flags})");
        match (result, v) {
            (_, Verdict::Accepted(out)) => {
                if result == "invalid" {
                    self.failures.push(format!("{what}: accepted"));
                    return;
                }
                if let (Some(out), Some(want)) = (out, expected) {
                    if out != want {
                        self.failures.push(format!(
                            "{what}: wrong output {} != {}",
                            hex::encode(&out),
                            hex::encode(want)
                        ));
                        return;
                    }
                }
                if result == "valid" {
                    self.valid_accepted += 1;
                } else {
                    self.acceptable_accepted += 1;
                }
            }
            (_, Verdict::Refused(o)) => {
                *self.refusal_codes.entry(o.to_string()).or_default() += 1;
                let proper = matches!(o, Outcome::Rv(rv) if self.proper.contains(&rv));
                match result {
                    "valid" if self.backend == Backend::SoftHsm2 && (self.softhsm_gap)(tc) => {
                        self.reference_gaps.push(format!("{what}: {o}"))
                    }
                    "valid"
                        if matches!(o, Outcome::Rv(RvError::KeySizeRange))
                            && (self.outside_advertised)(tc) =>
                    {
                        self.beyond_limit.push(what)
                    }
                    "valid" => self.failures.push(format!("{what}: refused with {o}")),
                    _ if !proper && self.backend == Backend::Pqhsm => {
                        self.failures.push(format!("{what}: refused, but with {o}"))
                    }
                    "invalid" => self.invalid_refused += 1,
                    _ => self.acceptable_refused += 1,
                }
            }
            (_, Verdict::ImplicitlyRejected) => {
                *self
                    .refusal_codes
                    .entry("implicit rejection (synthetic message)".into())
                    .or_default() += 1;
                match result {
                    "valid" => self
                        .failures
                        .push(format!("{what}: answered with a synthetic message")),
                    "invalid" => self.invalid_refused += 1,
                    _ => self.acceptable_refused += 1,
                }
            }
            (_, Verdict::NotExpressible(why)) => match result {
                "valid" => self
                    .failures
                    .push(format!("{what}: the client could not express it ({why})")),
                "invalid" => self.invalid_not_expressible += 1,
                _ => self.acceptable_refused += 1,
            },
        }
    }

    /// Print the counts; return a description of everything wrong.
    fn finish(self) -> Option<String> {
        eprintln!(
            "wycheproof {} on {}: {} cases: {} valid accepted, {} invalid refused by the module, {} invalid not expressible in PKCS#11, acceptable {} accepted / {} refused; refusal codes {:?}",
            self.name, self.backend, self.expected_cases, self.valid_accepted, self.invalid_refused,
            self.invalid_not_expressible, self.acceptable_accepted, self.acceptable_refused, self.refusal_codes
        );
        if !self.reference_gaps.is_empty() {
            common::note(&format!(
                "SoftHSM2 refuses {} valid {} cases (a gap of the reference module, not counted as failures), e.g. {}",
                self.reference_gaps.len(),
                self.name,
                self.reference_gaps.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            ));
        }
        if !self.beyond_limit.is_empty() {
            common::note(&format!(
                "{} on {}: {} valid cases ask for more than the module advertises in C_GetMechanismInfo and get CKR_KEY_SIZE_RANGE (not failures): {}",
                self.name,
                self.backend,
                self.beyond_limit.len(),
                self.beyond_limit.join("; ")
            ));
        }
        let mut problems = Vec::new();
        if self.judged != self.expected_cases {
            problems.push(format!(
                "judged {} of {} cases",
                self.judged, self.expected_cases
            ));
        }
        if !self.failures.is_empty() {
            problems.push(format!(
                "{} failures:\n    {}",
                self.failures.len(),
                self.failures
                    .iter()
                    .take(25)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
        (!problems.is_empty())
            .then(|| format!("{} on {}: {}", self.name, self.backend, problems.join("; ")))
    }
}

fn conclude(tallies: Vec<Tally>) {
    let problems: Vec<String> = tallies.into_iter().filter_map(Tally::finish).collect();
    assert!(problems.is_empty(), "Wycheproof:\n{}", problems.join("\n"));
}

fn token(b: Backend) -> Token {
    Token::with(
        b,
        Options::pqhsm_conf("[policy]\nallow_extractable = true\n"),
    )
}

const SIG_REFUSALS: &[RvError] = &[RvError::SignatureInvalid, RvError::SignatureLenRange];

// ----- key import -----

fn curve_of(name: &str) -> Option<common::keys::Curve> {
    use common::keys::Curve;
    match name {
        "secp256r1" => Some(Curve::P256),
        "secp384r1" => Some(Curve::P384),
        "secp521r1" => Some(Curve::P521),
        _ => None,
    }
}

fn public_key(
    s: &Session,
    kt: KeyType,
    extra: Vec<Attribute>,
) -> cryptoki::error::Result<ObjectHandle> {
    let mut tmpl = vec![
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(kt),
        Attribute::Token(false),
        Attribute::Verify(true),
    ];
    tmpl.extend(extra);
    s.create_object(&tmpl)
}

fn rsa_private(s: &Session, k: &Value) -> ObjectHandle {
    let c = |name: &str| unsigned(hx(&k[name]));
    ck!(s.create_object(&[
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::RSA),
        Attribute::Token(false),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Decrypt(true),
        Attribute::Modulus(c("modulus")),
        Attribute::PublicExponent(c("publicExponent")),
        Attribute::PrivateExponent(c("privateExponent")),
        Attribute::Prime1(c("prime1")),
        Attribute::Prime2(c("prime2")),
        Attribute::Exponent1(c("exponent1")),
        Attribute::Exponent2(c("exponent2")),
        Attribute::Coefficient(c("coefficient")),
    ]))
}

fn secret(
    s: &Session,
    kt: KeyType,
    value: &[u8],
    usage: Attribute,
) -> cryptoki::error::Result<ObjectHandle> {
    s.create_object(&[
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(kt),
        Attribute::Token(false),
        Attribute::Sensitive(true),
        Attribute::Value(value.to_vec()),
        usage,
    ])
}

fn value_of(t: &Token, k: ObjectHandle) -> Option<Vec<u8>> {
    let len = t.raw.get_attribute(t.session(), k, CKA_VALUE, None);
    assert_ok!(len);
    let out = t
        .raw
        .get_attribute(t.session(), k, CKA_VALUE, Some(len.len))
        .ok("CKA_VALUE of a readable key");
    let _ = t.session().destroy_object(k);
    Some(out)
}

// ----- ECDSA -----

/// Strict DER `SEQUENCE { r INTEGER, s INTEGER }` to r||s of `n` bytes each.
fn der_to_p1363(sig: &[u8], n: usize) -> Option<Vec<u8>> {
    use der::asn1::UintRef;
    use der::{Decode, Header, Reader, SliceReader, Tag};
    let mut outer = SliceReader::new(sig).ok()?;
    let header = Header::decode(&mut outer).ok()?;
    if header.tag() != Tag::Sequence {
        return None;
    }
    let body = outer.read_slice(header.length()).ok()?;
    outer.finish().ok()?;
    let mut inner = SliceReader::new(body).ok()?;
    let r = UintRef::decode(&mut inner).ok()?;
    let s = UintRef::decode(&mut inner).ok()?;
    inner.finish().ok()?;
    let mut out = Vec::with_capacity(2 * n);
    for x in [r.as_bytes(), s.as_bytes()] {
        let x = unsigned(x.to_vec());
        if x.len() > n {
            return None;
        }
        out.extend(std::iter::repeat_n(0u8, n - x.len()));
        out.extend(x);
    }
    Some(out)
}

/// pqhsm: both CKM_ECDSA_SHA* over the message and CKM_ECDSA over the hash. SoftHSM2
/// lacks CKM_ECDSA_SHA*, so it gets the second only (`require` says so once).
fn ecdsa_files(t: &Token, files: [&str; 3], der: bool) -> Vec<Tally> {
    let with_hashing = t.require(&[CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512]);
    files
        .iter()
        .flat_map(|f| ecdsa_file(t, f, der, with_hashing))
        .collect()
}

fn ecdsa_file(t: &Token, file: &str, der: bool, with_hashing: bool) -> Vec<Tally> {
    let d = load(file);
    let s = t.session();
    let mut hashing = Tally::new(t, &format!("{file} (CKM_ECDSA_SHA*)"), &d, SIG_REFUSALS);
    let mut raw = Tally::new(
        t,
        &format!("{file} (CKM_ECDSA over the hash)"),
        &d,
        SIG_REFUSALS,
    );
    for g in groups(&d) {
        let pk = &g["publicKey"];
        let curve = curve_of(pk["curve"].as_str().expect("curve")).expect("a NIST curve");
        let h = Hash::from_name(g["sha"].as_str().expect("sha"));
        let key = public_key(
            s,
            KeyType::EC,
            vec![
                Attribute::EcParams(curve.params()),
                Attribute::EcPoint(common::external::wrap_ec_point(&hx(&pk["uncompressed"]))),
            ],
        )
        .map_err(|e| Err::<(), _>(e).outcome());
        for tc in tests(g) {
            let msg = hx(&tc["msg"]);
            let sig = hx(&tc["sig"]);
            let sig = if der {
                der_to_p1363(&sig, curve.field_len())
            } else {
                Some(sig)
            };
            let one = |m: &Mechanism, data: &[u8]| match (&key, &sig) {
                (Err(o), _) => Verdict::Refused(o.clone()),
                (_, None) => {
                    Verdict::NotExpressible("not a strict DER ECDSA signature of this curve")
                }
                (Ok(k), Some(sig)) => verdict(s.verify(m, *k, data, sig), |_| None),
            };
            if with_hashing {
                hashing.judge(tc, None, one(&h.ecdsa(), &msg));
            }
            raw.judge(tc, None, one(&Mechanism::Ecdsa, &h.digest(&msg)));
        }
    }
    if with_hashing {
        vec![hashing, raw]
    } else {
        vec![raw]
    }
}

// ----- ECDH -----

const ID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// The public point of an SPKI with a named curve, or why it cannot be sent.
fn spki_point(der_bytes: &[u8]) -> Result<Vec<u8>, &'static str> {
    use der::{Decode, Tagged};
    let spki = spki::SubjectPublicKeyInfoRef::from_der(der_bytes)
        .map_err(|_| "malformed SubjectPublicKeyInfo")?;
    if spki.algorithm.oid.to_string() != ID_EC_PUBLIC_KEY {
        return Err("not an id-ecPublicKey");
    }
    match spki.algorithm.parameters {
        Some(p) if p.tag() == der::Tag::ObjectIdentifier => {}
        _ => return Err("explicit or missing curve parameters"),
    }
    spki.subject_public_key
        .as_bytes()
        .map(|b| b.to_vec())
        .ok_or("public key bit string with unused bits")
}

fn ecdh_file(t: &Token, file: &str) -> Tally {
    let d = load(file);
    let s = t.session();
    let mut tally = Tally::new(
        t,
        file,
        &d,
        &[
            RvError::MechanismParamInvalid,
            RvError::DomainParamsInvalid,
            RvError::ArgumentsBad,
            RvError::DataInvalid,
        ],
    );
    for g in groups(&d) {
        let curve = curve_of(g["curve"].as_str().expect("curve")).expect("a NIST curve");
        let n = curve.field_len();
        for tc in tests(g) {
            let point = match spki_point(&hx(&tc["public"])) {
                Ok(p) => p,
                Err(why) => {
                    tally.judge(tc, None, Verdict::NotExpressible(why));
                    continue;
                }
            };
            let d = unsigned(hx(&tc["private"]));
            assert!(
                d.len() <= n,
                "tcId {}: private scalar longer than the field",
                tc["tcId"]
            );
            let mut scalar = vec![0u8; n - d.len()];
            scalar.extend(d);
            let private = ck!(s.create_object(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::Token(false),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Derive(true),
                Attribute::EcParams(curve.params()),
                Attribute::Value(scalar),
            ]));
            let params = Ecdh1DeriveParams::new(EcKdf::null(), &point);
            let r = s.derive_key(
                &Mechanism::Ecdh1Derive(params),
                private,
                &readable_secret(n),
            );
            tally.judge(tc, Some(&hx(&tc["shared"])), verdict(r, |k| value_of(t, k)));
            let _ = s.destroy_object(private);
        }
    }
    tally
}

// ----- Ed25519 -----

fn ed25519_file(t: &Token) -> Tally {
    let d = load("ed25519_test.json");
    let s = t.session();
    let mut tally = Tally::new(t, "ed25519_test.json", &d, SIG_REFUSALS);
    let m = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
    for g in groups(&d) {
        let pk = hx(&g["publicKey"]["pk"]);
        let key = ck!(public_key(
            s,
            KeyType::EC_EDWARDS,
            vec![
                Attribute::EcParams(common::keys::ED25519_PARAMS.to_vec()),
                Attribute::EcPoint(common::external::wrap_ec_point(&pk)),
            ]
        ));
        verify_each(&mut tally, s, &m, key, g);
    }
    tally
}

/// C_Verify every case of a group with one key: msg and sig from the case.
fn verify_each(tally: &mut Tally, s: &Session, m: &Mechanism, key: ObjectHandle, g: &Value) {
    for tc in tests(g) {
        let r = s.verify(m, key, &hx(&tc["msg"]), &hx(&tc["sig"]));
        tally.judge(tc, None, verdict(r, |_| None));
    }
}

// ----- RSA -----

fn rsa_public(s: &Session, g: &Value) -> ObjectHandle {
    let pk = &g["publicKey"];
    ck!(public_key(
        s,
        KeyType::RSA,
        vec![
            Attribute::Modulus(unsigned(hx(&pk["modulus"]))),
            Attribute::PublicExponent(unsigned(hx(&pk["publicExponent"]))),
        ]
    ))
}

fn rsa_signature_file(t: &Token, file: &str, pss: bool) -> Tally {
    let d = load(file);
    let s = t.session();
    let mut tally = Tally::new(t, file, &d, SIG_REFUSALS);
    for g in groups(&d) {
        let key = rsa_public(s, g);
        let h = Hash::from_name(g["sha"].as_str().expect("sha"));
        let m = if pss {
            assert_eq!(g["mgf"].as_str(), Some("MGF1"));
            let p = PkcsPssParams {
                hash_alg: h.mechanism_type(),
                mgf: Hash::from_name(g["mgfSha"].as_str().expect("mgfSha")).mgf1(),
                s_len: g["sLen"].as_u64().expect("sLen").into(),
            };
            h.rsa_pss(p)
        } else {
            h.rsa_pkcs1()
        };
        verify_each(&mut tally, s, &m, key, g);
    }
    tally
}

fn rsa_decrypt_file(t: &Token, file: &str, oaep: bool) -> Option<Tally> {
    let d = load(file);
    let s = t.session();
    let mut tally = Tally::new(
        t,
        file,
        &d,
        &[
            RvError::EncryptedDataInvalid,
            RvError::EncryptedDataLenRange,
        ],
    );
    let mut padding_answers = std::collections::BTreeSet::new();
    for g in groups(&d) {
        let key = rsa_private(s, &g["privateKey"]);
        for tc in tests(g) {
            let label = if oaep { hx(&tc["label"]) } else { Vec::new() };
            let m = if oaep {
                let h = Hash::from_name(g["sha"].as_str().expect("sha"));
                let mgf = Hash::from_name(g["mgfSha"].as_str().expect("mgfSha")).mgf1();
                let src = if label.is_empty() {
                    PkcsOaepSource::empty()
                } else {
                    PkcsOaepSource::data_specified(&label)
                };
                Mechanism::RsaPkcsOaep(PkcsOaepParams::new(h.mechanism_type(), mgf, src))
            } else {
                Mechanism::RsaPkcs
            };
            let ct = hx(&tc["ct"]);
            let r = s.decrypt(&m, key, &ct);
            if oaep
                && t.backend == Backend::SoftHsm2
                && matches!(
                    r.outcome(),
                    Outcome::Rv(RvError::ArgumentsBad | RvError::MechanismParamInvalid)
                )
            {
                common::note(&format!(
                    "SKIPPED {file} on SoftHSM2: it refuses OAEP with SHA-256 ({})",
                    r.outcome()
                ));
                return None;
            }
            let msg = hx(&tc["msg"]);
            let bad_padding = !oaep && has_flag(tc, "InvalidPkcs1Padding");
            let v = match r {
                // Implicit rejection (draft-irtf-cfrg-rsa-guidance; pqhsm's SECURITY.md): a
                // message derived from key and ciphertext instead of an error.
                Ok(out) if bad_padding && out != msg => {
                    let again = ck!(s.decrypt(&m, key, &ct));
                    if again == out {
                        Verdict::ImplicitlyRejected
                    } else {
                        Verdict::Accepted(Some(out))
                    }
                }
                r => verdict(r, Some),
            };
            if bad_padding {
                padding_answers.insert(match &v {
                    Verdict::Refused(o) => o.to_string(),
                    Verdict::ImplicitlyRejected => "implicit rejection".to_string(),
                    _ => "accepted".to_string(),
                });
            }
            tally.judge(tc, Some(&msg), v);
        }
    }
    // Wycheproof: every kind of bad PKCS#1 padding must get the same answer (no oracle).
    if padding_answers.len() > 1 {
        tally.failures.push(format!(
            "bad PKCS#1 paddings get distinguishable answers: {padding_answers:?}"
        ));
    }
    Some(tally)
}

// ----- AES -----

fn aes_gcm_file(t: &Token) -> Tally {
    let d = load("aes_gcm_test.json");
    let s = t.session();
    let mut tally = Tally::new(
        t,
        "aes_gcm_test.json",
        &d,
        &[
            RvError::EncryptedDataInvalid,
            RvError::MechanismParamInvalid,
        ],
    )
    .softhsm_may_refuse(|tc| {
        tc["iv"]
            .as_str()
            .map(|iv| iv.len() / 2 > 128)
            .unwrap_or(false)
    });
    for g in groups(&d) {
        let tag_bits = g["tagSize"].as_u64().expect("tagSize");
        for tc in tests(g) {
            let key = match secret(s, KeyType::AES, &hx(&tc["key"]), Attribute::Decrypt(true)) {
                Ok(k) => k,
                Err(e) => {
                    tally.judge(tc, None, Verdict::Refused(Err::<(), _>(e).outcome()));
                    continue;
                }
            };
            let mut iv = hx(&tc["iv"]);
            let aad = hx(&tc["aad"]);
            let ct = [hx(&tc["ct"]), hx(&tc["tag"])].concat();
            let params = ck!(GcmParams::new(&mut iv, &aad, tag_bits.into()));
            let r = s.decrypt(&Mechanism::AesGcm(params), key, &ct);
            tally.judge(tc, Some(&hx(&tc["msg"])), verdict(r, Some));
            let _ = s.destroy_object(key);
        }
    }
    tally
}

fn key_wrap_file(t: &Token, file: &str, m: CK_MECHANISM_TYPE) -> Tally {
    let d = load(file);
    let s = t.session();
    let mut tally = Tally::new(
        t,
        &format!("{file} ({})", common::mech_name(m)),
        &d,
        &[
            RvError::WrappedKeyInvalid,
            RvError::WrappedKeyLenRange,
            RvError::EncryptedDataInvalid,
            RvError::EncryptedDataLenRange,
        ],
    );
    for g in groups(&d) {
        for tc in tests(g) {
            let kek = ck!(secret(
                s,
                KeyType::AES,
                &hx(&tc["key"]),
                Attribute::Unwrap(true)
            ));
            let mut mech = mechanism::<u8>(m, None);
            let (rv, h) = t.raw.unwrap_key(
                s,
                &mut mech,
                kek,
                &hx(&tc["ct"]),
                &readable_secret_template(),
            );
            let v = match raw_verdict(rv) {
                // SAFETY of new_from_raw: a handle the module just returned.
                Verdict::Accepted(_) => {
                    Verdict::Accepted(value_of(t, unsafe { ObjectHandle::new_from_raw(h) }))
                }
                other => other,
            };
            tally.judge(tc, Some(&hx(&tc["msg"])), v);
            let _ = s.destroy_object(kek);
        }
    }
    tally
}

// ----- HMAC, HKDF -----

fn hmac_file(t: &Token, file: &str, full: Mechanism<'static>, general: CK_MECHANISM_TYPE) -> Tally {
    let d = load(file);
    let s = t.session();
    let full_len = match full {
        Mechanism::Sha256Hmac => 32,
        Mechanism::Sha384Hmac => 48,
        _ => 64,
    };
    // SoftHSM2 refuses HMAC keys shorter than the hash output (CKR_KEY_SIZE_RANGE).
    let mut tally = Tally::new(t, file, &d, SIG_REFUSALS).softhsm_may_refuse(move |tc| {
        tc["key"]
            .as_str()
            .map(|k| k.len() / 2 < full_len)
            .unwrap_or(false)
    });
    let have_general = t.has(general);
    let mut client_compared = 0usize;
    for g in groups(&d) {
        let tag_len = g["tagSize"].as_u64().expect("tagSize") as usize / 8;
        for tc in tests(g) {
            let (msg, tag) = (hx(&tc["msg"]), hx(&tc["tag"]));
            let key = match secret(
                s,
                KeyType::GENERIC_SECRET,
                &hx(&tc["key"]),
                Attribute::Verify(true),
            ) {
                Ok(k) => k,
                Err(e) => {
                    tally.judge(tc, None, Verdict::Refused(Err::<(), _>(e).outcome()));
                    continue;
                }
            };
            let v = if tag_len == full_len {
                verdict(s.verify(&full, key, &msg, &tag), |_| None)
            } else if have_general {
                let mut len: CK_ULONG = tag_len as CK_ULONG;
                let mut mech = mechanism(general, Some(&mut len));
                match t.raw.init(Op::Verify, s, &mut mech, key).outcome() {
                    Outcome::Ok => raw_verdict(t.raw.verify(s, &msg, &tag)),
                    o => Verdict::Refused(o),
                }
            } else {
                // No *_HMAC_GENERAL: the module computes the full MAC with a signing
                // copy of the key and the client compares the truncation.
                client_compared += 1;
                let signer = ck!(secret(
                    s,
                    KeyType::GENERIC_SECRET,
                    &hx(&tc["key"]),
                    Attribute::Sign(true)
                ));
                let r = s.sign(&full, signer, &msg);
                let _ = s.destroy_object(signer);
                match r {
                    Ok(mac) if tag.len() == tag_len && mac[..tag_len] == tag[..] => {
                        Verdict::Accepted(None)
                    }
                    Ok(_) => Verdict::Refused(Outcome::Rv(RvError::SignatureInvalid)),
                    Err(e) => Verdict::Refused(Err::<(), _>(e).outcome()),
                }
            };
            tally.judge(tc, None, v);
            let _ = s.destroy_object(key);
        }
    }
    if client_compared > 0 {
        common::note(&format!(
            "{file}: {client_compared} truncated-tag cases compared by the client ({} not offered)",
            common::mech_name(general)
        ));
    }
    tally
}

fn hkdf_file(t: &Token, file: &str, prf: MechanismType) -> Tally {
    let d = load(file);
    let s = t.session();
    // The derived key's length in bytes may not exceed what the module advertises.
    let (rv, info) = t.raw.mechanism_info(t.slot.id(), CKM_HKDF_DERIVE);
    assert_ok!(rv);
    let max_len = info.ulMaxKeySize;
    let mut tally = Tally::new(
        t,
        file,
        &d,
        &[
            RvError::KeySizeRange,
            RvError::TemplateInconsistent,
            RvError::AttributeValueInvalid,
            RvError::MechanismParamInvalid,
        ],
    )
    .advertised_limit(move |tc| tc["size"].as_u64().is_some_and(|n| n > max_len));
    for g in groups(&d) {
        for tc in tests(g) {
            let ikm = ck!(secret(
                s,
                KeyType::GENERIC_SECRET,
                &hx(&tc["ikm"]),
                Attribute::Derive(true)
            ));
            let (salt, info) = (hx(&tc["salt"]), hx(&tc["info"]));
            let size = tc["size"].as_u64().expect("size") as usize;
            // An empty salt is HashLen zero bytes (RFC 5869 2.2), which CKF_HKDF_SALT_NULL means.
            let salt = if salt.is_empty() {
                HkdfSalt::Null
            } else {
                HkdfSalt::Data(&salt)
            };
            let p = HkdfParams::new(prf, Some(salt), Some(&info));
            let r = s.derive_key(&Mechanism::HkdfDerive(p), ikm, &readable_secret(size));
            tally.judge(tc, Some(&hx(&tc["okm"])), verdict(r, |k| value_of(t, k)));
            let _ = s.destroy_object(ikm);
        }
    }
    tally
}

both_backends! {
    /// ECDSA P-256/384/521 with IEEE P1363 (r||s) signatures: the module's own format.
    fn ecdsa_p1363(b: Backend) {
        let t = token(b);
        conclude(ecdsa_files(&t, ["ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa_secp384r1_sha384_p1363_test.json", "ecdsa_secp521r1_sha512_p1363_test.json"], false));
    }

    /// ECDSA with DER signatures, converted strictly to r||s by the client first.
    fn ecdsa_der(b: Backend) {
        let t = token(b);
        conclude(ecdsa_files(&t, ["ecdsa_secp256r1_sha256_test.json", "ecdsa_secp384r1_sha384_test.json", "ecdsa_secp521r1_sha512_test.json"], true));
    }

    /// ECDH on P-256/384/521 with CKM_ECDH1_DERIVE and the NULL KDF.
    fn ecdh(b: Backend) {
        let t = token(b);
        if !t.require(&[CKM_ECDH1_DERIVE]) {
            return;
        }
        conclude(["ecdh_secp256r1_test.json", "ecdh_secp384r1_test.json", "ecdh_secp521r1_test.json"].iter().map(|f| ecdh_file(&t, f)).collect());
    }

    /// Ed25519 verification with CKM_EDDSA.
    fn ed25519(b: Backend) {
        let t = token(b);
        if !t.require(&[CKM_EDDSA]) {
            return;
        }
        conclude(vec![ed25519_file(&t)]);
    }

    /// RSASSA-PKCS1-v1_5 verification, 2048/3072/4096 bits, SHA-256/384/512.
    fn rsa_pkcs1_signatures(b: Backend) {
        let t = token(b);
        let mut all = Vec::new();
        for bits in [2048, 3072, 4096] {
            for sha in [256, 384, 512] {
                all.push(rsa_signature_file(&t, &format!("rsa_signature_{bits}_sha{sha}_test.json"), false));
            }
        }
        conclude(all);
    }

    /// RSASSA-PSS verification.
    fn rsa_pss_signatures(b: Backend) {
        let t = token(b);
        conclude(["rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_3072_sha256_mgf1_32_test.json", "rsa_pss_4096_sha512_mgf1_64_test.json"]
            .iter().map(|f| rsa_signature_file(&t, f, true)).collect());
    }

    /// RSAES-OAEP (SHA-256, MGF1-SHA-256) decryption with imported private keys.
    fn rsa_oaep_decrypt(b: Backend) {
        let t = token(b);
        conclude(["rsa_oaep_2048_sha256_mgf1sha256_test.json", "rsa_oaep_3072_sha256_mgf1sha256_test.json", "rsa_oaep_4096_sha256_mgf1sha256_test.json"]
            .iter().filter_map(|f| rsa_decrypt_file(&t, f, true)).collect());
    }

    /// RSAES-PKCS1-v1_5 decryption with imported private keys.
    fn rsa_pkcs1_decrypt(b: Backend) {
        let t = token(b);
        conclude(["rsa_pkcs1_2048_test.json", "rsa_pkcs1_3072_test.json", "rsa_pkcs1_4096_test.json"]
            .iter().filter_map(|f| rsa_decrypt_file(&t, f, false)).collect());
    }

    /// AES-GCM decryption (tag checks, IV lengths).
    fn aes_gcm(b: Backend) {
        let t = token(b);
        conclude(vec![aes_gcm_file(&t)]);
    }

    /// AES key wrap (RFC 3394) and with padding (RFC 5649), unwrap side.
    fn aes_key_wrap(b: Backend) {
        let t = token(b);
        let mut all = vec![key_wrap_file(&t, "aes_wrap_test.json", CKM_AES_KEY_WRAP)];
        if t.has(CKM_AES_KEY_WRAP_KWP) {
            all.push(key_wrap_file(&t, "aes_kwp_test.json", CKM_AES_KEY_WRAP_KWP));
        } else if b == Backend::SoftHsm2 && t.has(CKM_AES_KEY_WRAP_PAD) {
            common::note("SoftHSM2: aes_kwp_test.json run through CKM_AES_KEY_WRAP_PAD (0x210A), it lacks CKM_AES_KEY_WRAP_KWP");
            all.push(key_wrap_file(&t, "aes_kwp_test.json", CKM_AES_KEY_WRAP_PAD));
        } else {
            t.require(&[CKM_AES_KEY_WRAP_KWP]);
        }
        conclude(all);
    }

    /// HMAC-SHA256/384/512 verification, full and truncated tags.
    fn hmac(b: Backend) {
        let t = token(b);
        conclude(vec![
            hmac_file(&t, "hmac_sha256_test.json", Mechanism::Sha256Hmac, CKM_SHA256_HMAC_GENERAL),
            hmac_file(&t, "hmac_sha384_test.json", Mechanism::Sha384Hmac, CKM_SHA384_HMAC_GENERAL),
            hmac_file(&t, "hmac_sha512_test.json", Mechanism::Sha512Hmac, CKM_SHA512_HMAC_GENERAL),
        ]);
    }

    /// HKDF-SHA256/384/512 through CKM_HKDF_DERIVE.
    fn hkdf(b: Backend) {
        let t = token(b);
        if !t.require(&[CKM_HKDF_DERIVE]) {
            return;
        }
        conclude(vec![
            hkdf_file(&t, "hkdf_sha256_test.json", MechanismType::SHA256),
            hkdf_file(&t, "hkdf_sha384_test.json", MechanismType::SHA384),
            hkdf_file(&t, "hkdf_sha512_test.json", MechanismType::SHA512),
        ]);
    }
}
