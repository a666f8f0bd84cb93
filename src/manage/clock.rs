//! The core's one clock: wall time in whole seconds since the Unix epoch (UTC). Lifecycle
//! checks, expiry, grace periods, due rotations and audit times all read it through
//! [`Clock`], so tests inject a controllable clock; production code only ever gets the
//! system clock unless a test clock is asked for explicitly (see [`from_env`]).

use crate::error::{Error, ErrorKind, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC.
pub type Timestamp = u64;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    /// True for anything but the system clock; audit entries record it.
    fn is_test(&self) -> bool {
        true
    }
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // A clock before 1970 is a broken machine; the epoch is the safe reading (nothing
        // expires, nothing becomes due).
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
    fn is_test(&self) -> bool {
        false
    }
}

/// A clock a test sets and advances.
#[derive(Debug, Default)]
pub struct TestClock(AtomicU64);

impl TestClock {
    pub fn at(now: Timestamp) -> Arc<TestClock> {
        Arc::new(TestClock(AtomicU64::new(now)))
    }
    pub fn set(&self, now: Timestamp) {
        self.0.store(now, Ordering::SeqCst);
    }
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        self.0.load(Ordering::SeqCst)
    }
}

/// The clock's value as the system clock plus a fixed offset, or a fixed time.
#[derive(Debug)]
struct OverrideClock {
    fixed: Option<Timestamp>,
    offset: u64,
}

impl Clock for OverrideClock {
    fn now(&self) -> Timestamp {
        self.fixed
            .unwrap_or_else(|| SystemClock.now().saturating_add(self.offset))
    }
}

/// Names the time the CLI should believe: an RFC 3339 time or date, or `+DURATION` after
/// the real time (`+8d`, `+36h`). Honoured only together with [`TEST_CLOCK_ENABLE`].
pub const TEST_NOW_VAR: &str = "PQHSM_INSECURE_TEST_NOW";
/// Must be set to [`TEST_CLOCK_CONSENT`] for [`TEST_NOW_VAR`] to be honoured.
pub const TEST_CLOCK_ENABLE: &str = "PQHSM_INSECURE_TEST_CLOCK";
pub const TEST_CLOCK_CONSENT: &str = "yes-expiry-and-deletion-follow-a-fake-clock";

/// The clock of the `pqhsm` CLI: the system clock, unless both `PQHSM_INSECURE_TEST_NOW`
/// and `PQHSM_INSECURE_TEST_CLOCK=yes-expiry-and-deletion-follow-a-fake-clock` are set
/// (for scripted end-to-end runs of grace periods and expiry). The PKCS#11 module never
/// reads these variables. A test-clock reading is marked in every audit entry.
pub fn from_env() -> Result<Arc<dyn Clock>> {
    from_settings(
        std::env::var(TEST_NOW_VAR).ok().as_deref(),
        std::env::var(TEST_CLOCK_ENABLE).ok().as_deref(),
    )
}

fn from_settings(now: Option<&str>, enable: Option<&str>) -> Result<Arc<dyn Clock>> {
    let Some(spec) = now else {
        return Ok(Arc::new(SystemClock));
    };
    if enable != Some(TEST_CLOCK_CONSENT) {
        return Err(Error::new(
            ErrorKind::ArgumentsBad,
            format!(
                "{TEST_NOW_VAR} is set but the test clock is not enabled: unset it, or (for tests only) \
                 set {TEST_CLOCK_ENABLE}={TEST_CLOCK_CONSENT}"
            ),
        ));
    }
    let clock = match spec.strip_prefix('+') {
        Some(d) => OverrideClock {
            fixed: None,
            offset: parse_duration(d)?,
        },
        None => OverrideClock {
            fixed: Some(parse_time(spec)?),
            offset: 0,
        },
    };
    Ok(Arc::new(clock))
}

/// RFC 3339 (`2027-01-01T00:00:00Z`) for humans and JSON.
pub fn format_time(t: Timestamp) -> String {
    let when = i64::try_from(t)
        .ok()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok());
    match when.and_then(|w| {
        w.format(&time::format_description::well_known::Rfc3339)
            .ok()
    }) {
        Some(s) => s,
        None => format!("@{t}"),
    }
}

/// A time given by a user: an RFC 3339 date-time, or a date (`2027-01-01`, midnight UTC).
pub fn parse_time(s: &str) -> Result<Timestamp> {
    use time::format_description::well_known::Rfc3339;
    let bad = || {
        Error::new(
            ErrorKind::ArgumentsBad,
            format!(
                "`{s}` is not a time: use a date (2027-01-01) or RFC 3339 (2027-01-01T12:00:00Z)"
            ),
        )
    };
    let when = match time::OffsetDateTime::parse(s, &Rfc3339) {
        Ok(t) => t,
        Err(_) => {
            let date =
                time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
                    .map_err(|_| bad())?;
            date.midnight().assume_utc()
        }
    };
    u64::try_from(when.unix_timestamp()).map_err(|_| bad())
}

/// A duration given by a user (`30d`, `12h`, `1w`, `90days`), in seconds.
pub fn parse_duration(s: &str) -> Result<u64> {
    humantime::parse_duration(s.trim())
        .map(|d| d.as_secs())
        .map_err(|e| {
            Error::new(
                ErrorKind::ArgumentsBad,
                format!("`{s}` is not a duration ({e}): use e.g. 30d, 12h, 1w"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_format() {
        assert_eq!(parse_time("2027-01-01").unwrap(), 1_798_761_600);
        assert_eq!(parse_time("2027-01-01T00:00:10Z").unwrap(), 1_798_761_610);
        assert_eq!(
            parse_time("2027-01-01T01:00:00+01:00").unwrap(),
            1_798_761_600
        );
        assert_eq!(format_time(1_798_761_600), "2027-01-01T00:00:00Z");
        assert!(parse_time("next tuesday").is_err());
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(parse_duration("1w").unwrap(), 7 * 86_400);
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_override_needs_explicit_consent() {
        assert!(!from_settings(None, None).unwrap().is_test());
        assert!(!from_settings(None, Some(TEST_CLOCK_CONSENT))
            .unwrap()
            .is_test());
        let e = from_settings(Some("2030-01-01"), None).err().unwrap();
        assert!(e.message().contains(TEST_CLOCK_ENABLE), "{e}");
        assert!(from_settings(Some("2030-01-01"), Some("1")).is_err());
        let fixed = from_settings(Some("2030-01-01"), Some(TEST_CLOCK_CONSENT)).unwrap();
        assert_eq!(fixed.now(), parse_time("2030-01-01").unwrap());
        assert!(fixed.is_test());
        let ahead = from_settings(Some("+8d"), Some(TEST_CLOCK_CONSENT)).unwrap();
        let diff = ahead.now() - SystemClock.now();
        assert!((8 * 86_400 - 5..=8 * 86_400).contains(&diff), "{diff}");
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let c = TestClock::at(100);
        assert_eq!(c.now(), 100);
        c.advance(5);
        assert_eq!(c.now(), 105);
        c.set(7);
        assert_eq!(c.now(), 7);
        assert!(c.is_test() && !SystemClock.is_test());
        assert!(SystemClock.now() > 1_700_000_000);
    }
}
