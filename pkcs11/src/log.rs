//! Logging to stderr when `PQHSM_LOG` is set (a `tracing` filter such as `debug` or
//! `pqhsm=trace`). The writer keeps no thread-local state, because clients call
//! C_Finalize and C_CloseAllSessions from exit handlers after thread-locals are gone.
//! Nothing logged here may carry secret bytes; callers log kinds and messages only.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::EnvFilter;

/// Install the stderr subscriber once, if `PQHSM_LOG` asks for it and the host has no
/// global subscriber of its own.
pub(crate) fn start() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(directives) = std::env::var("PQHSM_LOG") else {
            return;
        };
        let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("debug"));
        let _ = tracing::subscriber::set_global_default(Stderr.with(filter));
    });
}

/// One line per event: seconds since the epoch, level, target, message and fields.
struct Stderr;

impl Subscriber for Stderr {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        // The EnvFilter layer in front decides.
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Spans carry nothing this writer prints; one id serves them all.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = format!(
            "{}.{:03} {} {}:",
            now.as_secs(),
            now.subsec_millis(),
            meta.level(),
            meta.target()
        );
        event.record(&mut Line(&mut line));
        line.push('\n');
        // A log line that cannot be written is dropped, never an error for the caller.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value:?}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = if field.name() == "message" {
            write!(self.0, " {value}")
        } else {
            write!(self.0, " {}={value:?}", field.name())
        };
    }
}
