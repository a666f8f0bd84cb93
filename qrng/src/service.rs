//! The process's random service: the DRBG behind a short lock on the hot path, and a
//! background thread that draws conditioned device seeds from the chain and leaves them in
//! a slot for the next reseed. Owns the split between the two; never lets a device read,
//! an HTTP request or a start-up test run on a caller's thread (except on request, for
//! prediction resistance).

use crate::chain::{Chain, ChainStatus};
use crate::condition::Seed;
use crate::config::RngConfig;
use crate::drbg::{Drbg, Policy};
use crate::Result;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Builds the chain inside the background thread (devices are opened there, not on the
/// caller's thread).
pub type ChainFactory = Arc<dyn Fn() -> Result<Chain> + Send + Sync>;

/// What `rng status` and the logs say about the DRBG and its chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// The source that delivered the most recent seed.
    pub serving: String,
    pub sources: Vec<crate::chain::SourceStatus>,
    /// What seeded the DRBG: "os", or "os + NAME (KIND)" naming the last device seed mixed in.
    pub drbg_seeded_from: String,
    pub drbg_reseeds: u64,
}

/// State shared with the background thread.
struct Feeder {
    slot: Mutex<Option<Seed>>,
    wake: Condvar,
    ready: AtomicBool,
    stop: AtomicBool,
    attempts: AtomicU64,
    chain: Mutex<Option<Chain>>,
    status: Mutex<Option<ChainStatus>>,
}

struct Inner {
    drbg: Option<Drbg>,
    feeder: Option<Arc<Feeder>>,
    seeded_from: String,
}

pub struct Service {
    policy: Policy,
    has_devices: bool,
    seed_interval: Duration,
    factory: ChainFactory,
    inner: Mutex<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take randomness down with it; the state stays valid.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Service {
    /// The service for a configuration: its chain is built from the config.
    pub fn new(cfg: &RngConfig) -> Service {
        let chain_cfg = cfg.clone();
        let factory: ChainFactory = Arc::new(move || Chain::from_config(&chain_cfg));
        Service::with_chain(cfg, cfg.has_devices(), factory)
    }

    /// The service with a chain built by `factory` (tests and simulators).
    pub fn with_chain(cfg: &RngConfig, has_devices: bool, factory: ChainFactory) -> Service {
        Service {
            policy: Policy {
                reseed_bytes: cfg.reseed_bytes,
                reseed_interval: cfg.reseed_interval(),
            },
            has_devices,
            seed_interval: Duration::from_millis(cfg.device_seed_interval_ms),
            factory,
            inner: Mutex::new(Inner {
                drbg: None,
                feeder: None,
                seeded_from: "none".into(),
            }),
        }
    }

    /// Fill `buf` from the DRBG. Fails only when the OS RNG cannot seed it (first use, or
    /// the first use after a fork); a failing device never fails a call.
    pub fn fill(&self, buf: &mut [u8]) -> Result<()> {
        let mut inner = lock(&self.inner);
        let due = match (&inner.drbg, &inner.feeder) {
            (Some(d), Some(f)) => d.needs_reseed() || f.ready.load(Ordering::Relaxed),
            (Some(d), None) => d.needs_reseed(),
            (None, _) => true,
        };
        if due {
            self.reseed(&mut inner, None)?;
        }
        generate(&mut inner, buf)
    }

    /// Fill `buf` after a reseed from a fresh seed drawn now, on this thread, from the chain
    /// (device first, OS RNG last): prediction resistance, at the price of device latency.
    pub fn fill_prediction_resistant(&self, buf: &mut [u8]) -> Result<()> {
        let feeder = lock(&self.inner).feeder.clone();
        let seed = match feeder {
            Some(f) => {
                let mut chain = lock(&f.chain);
                match chain.as_mut() {
                    Some(c) => {
                        let s = c.seed();
                        *lock(&f.status) = Some(c.status());
                        s?
                    }
                    None => Seed::from_os()?,
                }
            }
            None => Seed::from_os()?,
        };
        let mut inner = lock(&self.inner);
        self.reseed(&mut inner, Some(seed))?;
        generate(&mut inner, buf)
    }

    /// Reseed under the lock: fresh OS bytes always, plus the waiting device seed if any.
    fn reseed(&self, inner: &mut Inner, given: Option<Seed>) -> Result<()> {
        let forked = inner.drbg.as_ref().is_some_and(|d| d.forked());
        if forked {
            // The parent's feeder thread does not exist here, and its locks may be held
            // forever: leave it untouched and start anew.
            if let Some(old) = inner.feeder.take() {
                std::mem::forget(old);
            }
        }
        if inner.feeder.is_none() && self.has_devices {
            inner.feeder = Some(self.start_feeder());
        }
        let device = match given {
            Some(s) => Some(s),
            None => inner.feeder.as_ref().and_then(|f| {
                let seed = f.slot.try_lock().ok().and_then(|mut s| s.take());
                if seed.is_some() {
                    f.ready.store(false, Ordering::Relaxed);
                    f.wake.notify_all();
                }
                seed
            }),
        };
        match inner.drbg.as_mut() {
            // A forked child must not serve its parent's state; anyone else may go on with
            // the current state while the OS RNG is failing, and retries on the next call.
            Some(d) => match d.reseed(device.as_ref()) {
                Err(e) if !d.forked() => {
                    tracing::error!(
                        "DRBG reseed failed, output continues from the current state: {e}"
                    );
                    return Ok(());
                }
                other => other?,
            },
            None => inner.drbg = Some(Drbg::new(self.policy, device.as_ref())?),
        }
        // A reseed without a device seed carries the earlier device entropy forward in the
        // state, so the origin names the last device seed mixed in.
        let from = match &device {
            Some(s) if s.origin().kind != "os" => format!("os + {}", s.origin()),
            _ if inner.seeded_from == "none" => "os".to_string(),
            _ => inner.seeded_from.clone(),
        };
        if from != inner.seeded_from {
            tracing::info!("DRBG seeded from {from}");
            inner.seeded_from = from;
        } else {
            tracing::debug!("DRBG reseeded from {from}");
        }
        Ok(())
    }

    fn start_feeder(&self) -> Arc<Feeder> {
        let feeder = Arc::new(Feeder {
            slot: Mutex::new(None),
            wake: Condvar::new(),
            ready: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            attempts: AtomicU64::new(0),
            chain: Mutex::new(None),
            status: Mutex::new(None),
        });
        let f = feeder.clone();
        let factory = self.factory.clone();
        let interval = self.seed_interval;
        let spawned = std::thread::Builder::new()
            .name("pqhsm-rng-feeder".into())
            .spawn(move || feed(f, factory, interval));
        if let Err(e) = spawned {
            tracing::error!("cannot start the entropy feeder thread: {e}; OS RNG only");
        }
        feeder
    }

    /// Wait (up to `timeout`) until the background thread has tried the chain once and its
    /// seed, if any, is in the DRBG. For the CLI and tests; module calls never wait.
    pub fn settle(&self, timeout: Duration) -> Result<()> {
        self.fill(&mut [])?;
        let feeder = lock(&self.inner).feeder.clone();
        if let Some(f) = feeder {
            let end = Instant::now() + timeout;
            while f.attempts.load(Ordering::SeqCst) == 0 && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(5));
            }
            self.fill(&mut [])?;
        }
        Ok(())
    }

    pub fn status(&self) -> ServiceStatus {
        let inner = lock(&self.inner);
        let chain = inner.feeder.as_ref().and_then(|f| lock(&f.status).clone());
        let chain = chain.unwrap_or_else(|| ChainStatus {
            serving: "os".into(),
            sources: vec![],
        });
        ServiceStatus {
            serving: chain.serving,
            sources: chain.sources,
            drbg_seeded_from: inner.seeded_from.clone(),
            drbg_reseeds: inner.drbg.as_ref().map_or(0, |d| d.reseeds()),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(f) = lock(&self.inner).feeder.as_ref() {
            f.stop.store(true, Ordering::SeqCst);
            f.wake.notify_all();
        }
    }
}

fn generate(inner: &mut Inner, buf: &mut [u8]) -> Result<()> {
    match inner.drbg.as_mut() {
        Some(d) => {
            d.generate(buf);
            Ok(())
        }
        None => Err(crate::Error::Os("the DRBG is not seeded".into())),
    }
}

/// The background thread: fetch a device seed, leave it in the slot, wait until it is used
/// (and at least `interval` has passed), repeat.
fn feed(f: Arc<Feeder>, factory: ChainFactory, interval: Duration) {
    match factory() {
        Ok(chain) => *lock(&f.chain) = Some(chain),
        Err(e) => {
            tracing::error!("entropy sources unusable: {e}; OS RNG only");
            f.attempts.fetch_add(1, Ordering::SeqCst);
            return;
        }
    }
    while !f.stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let (seed, next_retry) = {
            let mut guard = lock(&f.chain);
            let Some(chain) = guard.as_mut() else { return };
            let seed = chain.device_seed().ok();
            *lock(&f.status) = Some(chain.status());
            (seed, chain.next_retry())
        };
        let got = seed.is_some();
        if let Some(seed) = seed {
            *lock(&f.slot) = Some(seed);
            f.ready.store(true, Ordering::SeqCst);
        }
        f.attempts.fetch_add(1, Ordering::SeqCst);
        // Without a seed, wake for the earliest retry; with one, once it has been used.
        let not_before = match (got, next_retry) {
            (false, Some(t)) => t.max(started + interval / 4),
            _ => started + interval,
        };
        let mut slot = lock(&f.slot);
        loop {
            if f.stop.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            if slot.is_none() && now >= not_before {
                break;
            }
            let wait = not_before
                .saturating_duration_since(now)
                .max(Duration::from_millis(50));
            slot = match f.wake.wait_timeout(slot, wait) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}
