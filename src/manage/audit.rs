//! The token's audit log: every management operation and every refused operation, as
//! JSON entries hash-chained in sequence and MACed (HMAC-SHA256) under a key derived with
//! HKDF from the token master key. Appending needs the master key (a logged-in user);
//! verification finds edited, removed and reordered entries. Never records secrets.
//!
//! Row `n` (1-based): `chain_n = SHA-256("pqhsm/v1/audit-chain" || n u64 || chain_{n-1}
//! (32 zero bytes for n = 1) || len(entry) u32 || entry)`, `mac_n = HMAC-SHA256(K, chain_n)`
//! with `K = HKDF-SHA256(salt "pqhsm/v1/audit", ikm MK, info "audit-mac")`. Cutting entries
//! off the end leaves a valid shorter chain: keep `audit verify`'s head value elsewhere to
//! detect that.

use super::clock::{format_time, Timestamp};
use crate::error::{Error, ErrorKind, Result};
use crate::store::{AuditAppend, AuditRow, MasterKey};
use crate::token::Token;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const CHAIN_LABEL: &[u8] = b"pqhsm/v1/audit-chain";
const CHAIN_LEN: usize = 32;

/// How an audited operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    /// Refused by policy or lifecycle (nothing changed).
    Refused,
    /// Failed for another reason (nothing changed).
    Failed,
}

/// One audit entry as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub time: Timestamp,
    pub actor: String,
    pub action: String,
    pub key: Option<String>,
    pub version: Option<u32>,
    pub outcome: Outcome,
    pub detail: String,
    /// The time came from a test clock, not the system's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_clock: bool,
}

impl Entry {
    /// An entry stamped with the token's caller (actor and clock).
    pub fn new(
        token: &Token,
        action: &str,
        key: Option<&str>,
        version: Option<u32>,
        outcome: Outcome,
        detail: impl Into<String>,
    ) -> Entry {
        let caller = token.caller();
        Entry {
            time: caller.clock.now(),
            actor: caller.actor.clone(),
            action: action.to_string(),
            key: key.map(str::to_string),
            version,
            outcome,
            detail: detail.into(),
            test_clock: caller.clock.is_test(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings and numbers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The MAC key of the audit log.
fn mac_key(mk: &MasterKey) -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    let hk = hkdf::Hkdf::<Sha256>::new(Some(b"pqhsm/v1/audit"), &mk.0[..]);
    // 32 bytes is far below HKDF-SHA256's output limit.
    let _ = hk.expand(b"audit-mac", &mut k[..]);
    k
}

fn chain_of(seq: u64, prev: Option<&[u8]>, entry: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(CHAIN_LABEL);
    h.update(seq.to_be_bytes());
    h.update(prev.unwrap_or(&[0u8; CHAIN_LEN]));
    h.update(u32::try_from(entry.len()).unwrap_or(u32::MAX).to_be_bytes());
    h.update(entry);
    h.finalize().to_vec()
}

fn hmac(key: &[u8; 32], chain: &[u8]) -> Result<Hmac<Sha256>> {
    // HMAC takes keys of any length; the error cannot happen.
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| Error::new(ErrorKind::General, "the audit MAC key was refused"))?;
    m.update(chain);
    Ok(m)
}

fn mac_of(key: &[u8; 32], chain: &[u8]) -> Result<Vec<u8>> {
    Ok(hmac(key, chain)?.finalize().into_bytes().to_vec())
}

/// Append `entry` to `token`'s log together with `changes` (see `Token::apply`).
pub(crate) fn with_entry<T>(
    mk: &MasterKey,
    entry: &Entry,
    f: impl FnOnce(&AuditAppend<'_>) -> Result<T>,
) -> Result<T> {
    let key = mac_key(mk);
    let bytes = entry.to_bytes();
    let seal = |seq: u64, prev: Option<&[u8]>| -> Result<(Vec<u8>, Vec<u8>)> {
        let chain = chain_of(seq, prev, &bytes);
        let mac = mac_of(&key, &chain)?;
        Ok((chain, mac))
    };
    f(&AuditAppend {
        entry: &bytes,
        seal: &seal,
    })
}

/// Record `entry` on its own (a refusal, a failed webhook). Best effort by design of the
/// callers: without a logged-in user there is no master key to MAC with, and the entry is
/// only logged through `tracing`.
pub fn record(token: &Token, entry: &Entry) -> Result<()> {
    let Some(mk) = token.master_key() else {
        tracing::warn!(
            action = %entry.action,
            key = ?entry.key,
            "not audited (no user logged in to this token): {}",
            entry.detail
        );
        return Ok(());
    };
    with_entry(&mk, entry, |a| token.apply(None, &[], Some(a)).map(|_| ()))
}

/// One row of the log as `audit list` shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub seq: u64,
    #[serde(flatten)]
    pub entry: Option<Entry>,
    pub time_text: Option<String>,
}

/// The log's rows, decoded (an undecodable row lists without an entry).
pub fn list(token: &Token) -> Result<Vec<Listed>> {
    Ok(token
        .store()
        .audit_rows()?
        .into_iter()
        .map(|r| {
            let entry: Option<Entry> = serde_json::from_slice(&r.entry).ok();
            Listed {
                seq: r.seq,
                time_text: entry.as_ref().map(|e| format_time(e.time)),
                entry,
            }
        })
        .collect())
}

/// What `audit verify` found.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub entries: usize,
    /// Hex chain value of the last entry: record it elsewhere to detect truncation.
    pub head: Option<String>,
    pub problems: Vec<String>,
}

/// Check every row: consecutive sequence numbers from 1, each chain value recomputed from
/// the previous one, each MAC under the key from `mk`.
pub fn verify_rows(mk: &MasterKey, rows: &[AuditRow]) -> Report {
    let key = mac_key(mk);
    let mut problems = Vec::new();
    let mut prev: Option<&[u8]> = None;
    for (i, r) in rows.iter().enumerate() {
        let want_seq = i as u64 + 1;
        if r.seq != want_seq {
            problems.push(format!(
                "entry {want_seq} is missing or out of order (found sequence number {})",
                r.seq
            ));
        }
        let chain = chain_of(r.seq, prev, &r.entry);
        let mac_ok = hmac(&key, &r.chain).is_ok_and(|m| m.verify_slice(&r.mac).is_ok());
        if !mac_ok {
            problems.push(format!(
                "entry {}: the MAC does not verify (forged, or made under another master key)",
                r.seq
            ));
        } else if chain != r.chain {
            problems.push(format!(
                "entry {}: the content or its predecessor changed (chain mismatch)",
                r.seq
            ));
        }
        if serde_json::from_slice::<Entry>(&r.entry).is_err() {
            problems.push(format!("entry {}: the entry does not decode", r.seq));
        }
        prev = Some(&r.chain);
    }
    Report {
        entries: rows.len(),
        head: rows.last().map(|r| hex::encode(&r.chain)),
        problems,
    }
}

/// Verify `token`'s log; an error (AuditInvalid) lists what is wrong.
pub fn verify(token: &Token) -> Result<Report> {
    let mk = token.master_key().ok_or_else(|| {
        Error::new(
            ErrorKind::UserNotLoggedIn,
            "verifying the audit log needs the master key: log in as the user",
        )
    })?;
    let report = verify_rows(&mk, &token.store().audit_rows()?);
    if report.problems.is_empty() {
        Ok(report)
    } else {
        Err(Error::new(
            ErrorKind::AuditInvalid,
            format!(
                "the audit log failed verification: {}",
                report.problems.join("; ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(b: u8) -> MasterKey {
        MasterKey(Zeroizing::new([b; 32]))
    }

    fn entry(n: u32) -> Entry {
        Entry {
            time: 1_700_000_000 + u64::from(n),
            actor: "test".into(),
            action: "rotate".into(),
            key: Some("k".into()),
            version: Some(n),
            outcome: Outcome::Ok,
            detail: String::new(),
            test_clock: true,
        }
    }

    fn log(mk: &MasterKey, n: u32) -> Vec<AuditRow> {
        let mut rows: Vec<AuditRow> = Vec::new();
        for i in 1..=n {
            with_entry(mk, &entry(i), |a| {
                let seq = u64::from(i);
                let (chain, mac) = (a.seal)(seq, rows.last().map(|r| r.chain.as_slice()))?;
                rows.push(AuditRow {
                    seq,
                    entry: a.entry.to_vec(),
                    chain,
                    mac,
                });
                Ok(())
            })
            .unwrap();
        }
        rows
    }

    #[test]
    fn an_untouched_log_verifies() {
        let rows = log(&mk(1), 4);
        let r = verify_rows(&mk(1), &rows);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.entries, 4);
        assert_eq!(r.head.unwrap().len(), 64);
        assert!(verify_rows(&mk(1), &[]).problems.is_empty());
    }

    #[test]
    fn edits_removals_reorders_and_forgeries_are_found() {
        let key = mk(1);
        let rows = log(&key, 4);

        let mut edited = rows.clone();
        edited[1].entry = entry(9).to_bytes();
        let r = verify_rows(&key, &edited);
        assert!(
            r.problems.iter().any(|p| p.starts_with("entry 2:")),
            "{:?}",
            r.problems
        );

        let mut removed = rows.clone();
        removed.remove(1);
        assert!(!verify_rows(&key, &removed).problems.is_empty());

        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        assert!(!verify_rows(&key, &swapped).problems.is_empty());
        // Renumbering after a swap does not help: the chain still breaks.
        swapped[1].seq = 2;
        swapped[2].seq = 3;
        assert!(!verify_rows(&key, &swapped).problems.is_empty());

        // Recomputing the chain without the key gives MACs that do not verify.
        let mut forged = rows.clone();
        forged[3].entry = entry(7).to_bytes();
        forged[3].chain = chain_of(4, Some(&forged[2].chain), &forged[3].entry);
        let r = verify_rows(&key, &forged);
        assert!(
            r.problems.iter().any(|p| p.contains("MAC")),
            "{:?}",
            r.problems
        );

        // Another token's master key vouches for nothing here.
        assert_eq!(verify_rows(&mk(2), &rows).problems.len(), 4);
    }

    #[test]
    fn entries_serialise_without_the_test_flag_when_unset() {
        let mut e = entry(1);
        e.test_clock = false;
        let s = String::from_utf8(e.to_bytes()).unwrap();
        assert!(!s.contains("testClock"), "{s}");
        assert!(s.contains("\"outcome\":\"ok\""), "{s}");
        let back: Entry = serde_json::from_str(&s).unwrap();
        assert_eq!(back, e);
    }
}
