//! Reader for the Wycheproof vectors in `../shared/vectors/wycheproof` (test builds only).
//! Every family drives its files through the mechanism API with `run`; `run` checks each
//! case's verdict under every provider built in (RustCrypto, and aws-lc-rs with the
//! `aws-lc` feature) and that every case in the file was seen, so no file can pass vacuously.

use super::provider::{self, Provider};
use serde_json::Value;

/// One test case with its group (keys and parameters live on the group).
pub struct Case<'a> {
    pub group: &'a Value,
    pub test: &'a Value,
}

impl Case<'_> {
    /// A hex field of the test case, falling back to the group.
    pub fn hex(&self, field: &str) -> Vec<u8> {
        let v = self.test.get(field).or_else(|| self.group.get(field));
        match v.and_then(Value::as_str) {
            Some(s) => hex::decode(s)
                .unwrap_or_else(|e| panic!("tcId {}: field {field} is not hex: {e}", self.id())),
            None => panic!("tcId {}: no hex field {field}", self.id()),
        }
    }

    /// A numeric field of the test case, falling back to the group.
    pub fn num(&self, field: &str) -> u64 {
        let v = self.test.get(field).or_else(|| self.group.get(field));
        v.and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("tcId {}: no number {field}", self.id()))
    }

    /// A string field of the test case, falling back to the group.
    pub fn str(&self, field: &str) -> &str {
        let v = self.test.get(field).or_else(|| self.group.get(field));
        v.and_then(Value::as_str)
            .unwrap_or_else(|| panic!("tcId {}: no string {field}", self.id()))
    }

    pub fn id(&self) -> u64 {
        self.test["tcId"].as_u64().unwrap_or(0)
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.test["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == flag))
    }

    pub fn result(&self) -> &str {
        self.test["result"].as_str().unwrap_or("")
    }
}

/// How many cases of each verdict a file held; all of them were checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub valid: usize,
    pub invalid: usize,
    pub acceptable: usize,
}

impl Tally {
    pub fn total(&self) -> usize {
        self.valid + self.invalid + self.acceptable
    }
}

pub fn load(file: &str) -> Value {
    let path = format!(
        "{}/../shared/vectors/wycheproof/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// The providers every vector runs on.
pub fn providers() -> &'static [Provider] {
    if cfg!(feature = "aws-lc") {
        &[Provider::RustCrypto, Provider::AwsLc]
    } else {
        &[Provider::RustCrypto]
    }
}

/// Run `accepts` on every case of `file`, once with every mechanism served by each provider:
/// it returns whether our mechanism accepted the case (signature verified, decryption gave
/// the expected output, ...). A `valid` case must be accepted, an `invalid` one rejected, an
/// `acceptable` one may go either way. Panics with every failing tcId and provider, and if
/// the number of cases seen differs from `numberOfTests`.
pub fn run(file: &str, mut accepts: impl FnMut(&Case) -> bool) -> Tally {
    let doc = load(file);
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let groups = doc["testGroups"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: no testGroups"));
    for group in groups {
        let tests = group["tests"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: a group has no tests"));
        for test in tests {
            let case = Case { group, test };
            let verdict = case.result();
            match verdict {
                "valid" => tally.valid += 1,
                "invalid" => tally.invalid += 1,
                "acceptable" => tally.acceptable += 1,
                other => panic!("{file} tcId {}: unknown result {other}", case.id()),
            }
            for p in providers() {
                let ok = provider::with(*p, || accepts(&case));
                if (verdict == "valid" && !ok) || (verdict == "invalid" && ok) {
                    failures.push(format!(
                        "tcId {} ({verdict}, {}) on {p:?}: {}",
                        case.id(),
                        test["comment"],
                        if ok { "accepted" } else { "rejected" }
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{file}: {} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let declared = doc["numberOfTests"].as_u64().unwrap_or(0) as usize;
    assert_eq!(
        tally.total(),
        declared,
        "{file}: saw {} cases, the file declares {declared}",
        tally.total()
    );
    assert!(tally.valid > 0, "{file}: no valid case was exercised");
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "cases failed")]
    fn an_implementation_accepting_everything_fails() {
        run("aes_gcm_test.json", |_| true);
    }

    #[test]
    #[should_panic(expected = "cases failed")]
    fn an_implementation_rejecting_everything_fails() {
        run("hmac_sha256_test.json", |_| false);
    }
}
