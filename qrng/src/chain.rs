//! The ordered source chain (primary, backup, ..., OS RNG): runs every device sample through
//! the health tests and the conditioner, quarantines a failing source with exponential
//! back-off and lets the next one serve. Owns per-source state and statistics; never hands
//! out a byte that skipped the health tests or the conditioner.

use crate::condition::{Conditioner, Origin, Seed};
use crate::config::{Retry, RngConfig, SourceConfig};
use crate::health::{Cutoffs, HealthTests, STARTUP_SAMPLES};
use crate::sources::{self, Source};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What `rng status` says about a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not used yet (or not reached: a source above it serves).
    Idle,
    Healthy,
    /// A health test failed; retried after back-off with a new start-up test.
    Quarantined,
    /// Could not be opened or read, or answered with something that is not entropy.
    Unreachable,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Idle => "idle",
            State::Healthy => "healthy",
            State::Quarantined => "quarantined",
            State::Unreachable => "unreachable",
        })
    }
}

/// One source's line in `rng status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: String,
    pub state: State,
    /// Conditioned bytes delivered.
    pub bytes: u64,
    /// Raw samples read from the device (start-up samples included).
    pub raw_bytes: u64,
    /// Failures of any kind (health tests, I/O, rejected answers).
    pub failures: u64,
    /// Of those, SP 800-90B health-test failures.
    pub health_failures: u64,
    pub last_error: Option<String>,
    /// Milliseconds until the next retry, while quarantined or unreachable.
    pub retry_in_ms: Option<u64>,
}

/// The whole chain as `rng status --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The source that delivered the most recent seed.
    pub serving: String,
    pub sources: Vec<SourceStatus>,
}

impl SourceStatus {
    fn new(name: &str, kind: &str) -> SourceStatus {
        SourceStatus {
            name: name.to_string(),
            kind: kind.to_string(),
            state: State::Idle,
            bytes: 0,
            raw_bytes: 0,
            failures: 0,
            health_failures: 0,
            last_error: None,
            retry_in_ms: None,
        }
    }
}

/// A device source with its health tests, conditioner and retry state.
struct Slot {
    source: Box<dyn Source>,
    health: HealthTests,
    cond: Conditioner,
    /// Raw samples read but not yet tested; zeroized when dropped.
    buf: zeroize::Zeroizing<Vec<u8>>,
    start: usize,
    end: usize,
    status: SourceStatus,
    retry: Retry,
    backoff: Duration,
    retry_at: Option<Instant>,
}

impl Slot {
    fn new(source: Box<dyn Source>, h: f64, startup: usize, alpha_log2: u32, retry: Retry) -> Slot {
        let status = SourceStatus::new(source.name(), source.kind());
        Slot {
            source,
            health: HealthTests::new(Cutoffs::for_bytes(h, alpha_log2), startup),
            cond: Conditioner::new(h),
            buf: zeroize::Zeroizing::new(vec![0; 4096]),
            start: 0,
            end: 0,
            status,
            retry,
            backoff: Duration::from_millis(retry.retry_ms),
            retry_at: None,
        }
    }

    fn origin(&self) -> Origin {
        Origin {
            source: self.status.name.clone(),
            kind: self.source.kind(),
            upstream: self.source.upstream(),
        }
    }

    /// Health-test and condition samples until one seed is ready.
    fn draw(&mut self) -> Result<Seed> {
        let deadline = Instant::now() + Duration::from_millis(self.retry.deadline_ms);
        loop {
            while self.start < self.end {
                let sample = self.buf[self.start];
                self.start += 1;
                let started = self.health.is_started();
                self.health.check(sample).map_err(Error::Health)?;
                // Start-up samples only prove the source; they are never used.
                if started && self.cond.absorb(sample) {
                    if let Some(seed) = self.cond.finish(self.origin()) {
                        return Ok(seed);
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Unreachable(format!(
                    "no seed within {} ms: the source is too slow",
                    self.retry.deadline_ms
                )));
            }
            let n = self.source.read(&mut self.buf)?;
            self.status.raw_bytes += n as u64;
            self.start = 0;
            self.end = n;
        }
    }

    fn fail(&mut self, e: &Error) {
        let now = Instant::now();
        self.status.state = match e {
            Error::Health(_) => State::Quarantined,
            _ => State::Unreachable,
        };
        if matches!(e, Error::Health(_)) {
            self.status.health_failures += 1;
        }
        self.status.failures += 1;
        self.status.last_error = Some(e.to_string());
        // Nothing from the failed state survives: samples, partial seed, open device.
        self.health.restart();
        self.cond.reset();
        self.start = 0;
        self.end = 0;
        self.source.release();
        self.retry_at = Some(now + self.backoff);
        tracing::warn!(
            source = %self.status.name,
            "entropy source {}: {e}; retry in {} ms",
            self.status.state,
            self.backoff.as_millis()
        );
        self.backoff = (self.backoff * 2).min(Duration::from_millis(self.retry.retry_max_ms));
    }

    fn succeed(&mut self) {
        if self.status.state != State::Healthy {
            tracing::info!(source = %self.status.name, "entropy source healthy: start-up test passed");
        }
        self.status.state = State::Healthy;
        self.status.bytes += crate::condition::SEED_LEN as u64;
        self.backoff = Duration::from_millis(self.retry.retry_ms);
        self.retry_at = None;
    }

    fn waiting(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|t| now < t)
    }

    fn try_seed(&mut self) -> Result<Seed> {
        match self.draw() {
            Ok(seed) => {
                self.succeed();
                Ok(seed)
            }
            Err(e) => {
                if !matches!(e, Error::NotReady(_)) {
                    self.fail(&e);
                }
                Err(e)
            }
        }
    }
}

/// The ordered chain of device sources, then the OS RNG.
pub struct Chain {
    slots: Vec<Slot>,
    os: SourceStatus,
    serving: String,
}

impl Chain {
    /// The chain a module instance uses: the bridge first (when configured), then the
    /// configured devices, then the OS RNG.
    pub fn from_config(cfg: &RngConfig) -> Result<Chain> {
        let mut chain = Chain::devices_only(cfg)?;
        if let Some(path) = &cfg.bridge {
            let src = crate::bridge::BridgeSource::new(path.clone());
            // The bridge already ran the start-up test on its device and conditions its
            // output: no second start-up here, the continuous tests still run.
            let slot = Slot::new(Box::new(src), 8.0, 0, cfg.alpha_log2, Retry::default());
            chain.slots.insert(0, slot);
        }
        Ok(chain)
    }

    /// The chain a bridge serves from: the configured devices, then the OS RNG.
    pub fn devices_only(cfg: &RngConfig) -> Result<Chain> {
        let mut slots = Vec::new();
        let mut os = SourceStatus::new("os", "os");
        for sc in &cfg.sources {
            match (sources::open(sc)?, sc.min_entropy()) {
                (Some(src), Some(h)) => slots.push(Slot::new(
                    src,
                    h,
                    STARTUP_SAMPLES,
                    cfg.alpha_log2,
                    sc.retry(),
                )),
                _ => os.name = sc.name().to_string(),
            }
            if let SourceConfig::Os(o) = sc {
                os.name = o.name.clone();
            }
        }
        let serving = os.name.clone();
        Ok(Chain { slots, os, serving })
    }

    /// A chain over sources built by hand (tests, simulators): (source, H, retry).
    pub fn new(sources: Vec<(Box<dyn Source>, f64, Retry)>, alpha_log2: u32) -> Chain {
        let slots = sources
            .into_iter()
            .map(|(s, h, r)| Slot::new(s, h, STARTUP_SAMPLES, alpha_log2, r))
            .collect();
        Chain {
            slots,
            os: SourceStatus::new("os", "os"),
            serving: "os".into(),
        }
    }

    /// True when some source besides the OS RNG exists.
    pub fn has_devices(&self) -> bool {
        !self.slots.is_empty()
    }

    /// A conditioned seed from the first device source that delivers one. Sources waiting
    /// out a back-off are skipped; a source that fails is quarantined and the next tried.
    /// `Err(NotReady)` when no device source could serve.
    pub fn device_seed(&mut self) -> Result<Seed> {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            if self.slots[i].waiting(now) {
                continue;
            }
            if let Ok(seed) = self.slots[i].try_seed() {
                self.set_serving(i);
                return Ok(seed);
            }
        }
        self.set_serving(self.slots.len());
        Err(Error::NotReady("no device source can serve now".into()))
    }

    /// A seed from the first source that delivers, the OS RNG last.
    pub fn seed(&mut self) -> Result<Seed> {
        match self.device_seed() {
            Ok(seed) => Ok(seed),
            Err(_) => self.os_seed(),
        }
    }

    fn os_seed(&mut self) -> Result<Seed> {
        match Seed::from_os() {
            Ok(s) => {
                self.os.state = State::Healthy;
                self.os.bytes += crate::condition::SEED_LEN as u64;
                Ok(s)
            }
            Err(e) => {
                self.os.state = State::Unreachable;
                self.os.failures += 1;
                self.os.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Try every source once, whether or not one above it serves, so `rng status` can
    /// show each one's state; then the first healthy source serves.
    pub fn probe(&mut self) {
        let mut first = None;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.try_seed().is_ok() && first.is_none() {
                first = Some(i);
            }
        }
        let _ = self.os_seed();
        self.set_serving(first.unwrap_or(self.slots.len()));
    }

    fn set_serving(&mut self, i: usize) {
        let name = self.slots.get(i).map_or(&self.os.name, |s| &s.status.name);
        if *name != self.serving {
            tracing::info!("entropy now served by `{name}`");
            self.serving = name.clone();
        }
        // One reader per device: sources below the serving one let go of their devices.
        for slot in self.slots.iter_mut().skip(i + 1) {
            slot.source.release();
        }
    }

    /// Close every device (the bridge is shutting down).
    pub fn release_all(&mut self) {
        for slot in &mut self.slots {
            slot.source.release();
        }
    }

    /// The next time a quarantined or unreachable source may be retried.
    pub fn next_retry(&self) -> Option<Instant> {
        self.slots.iter().filter_map(|s| s.retry_at).min()
    }

    pub fn status(&self) -> ChainStatus {
        let now = Instant::now();
        let mut sources: Vec<SourceStatus> = self
            .slots
            .iter()
            .map(|s| {
                let mut st = s.status.clone();
                st.retry_in_ms = s
                    .retry_at
                    .and_then(|t| t.checked_duration_since(now))
                    .map(|d| d.as_millis() as u64);
                st
            })
            .collect();
        let mut os = self.os.clone();
        if os.state == State::Idle {
            os.state = State::Healthy;
        }
        sources.push(os);
        ChainStatus {
            serving: self.serving.clone(),
            sources,
        }
    }
}
