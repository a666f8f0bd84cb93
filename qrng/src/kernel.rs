//! Crediting the kernel's entropy pool like rngd: conditioned device seeds go to the
//! RNDADDENTROPY ioctl on /dev/random (needs CAP_SYS_ADMIN). Owns that ioctl; never credits
//! OS RNG output back to the kernel, and never credits more than the seed's full entropy.

use crate::chain::Chain;
use crate::condition::SEED_LEN;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

/// `_IOW('R', 0x03, int[2])` from <linux/random.h>.
const RNDADDENTROPY: libc::c_ulong = 0x4008_5203;

/// /dev/random opened for crediting.
pub struct KernelPool {
    file: File,
}

impl KernelPool {
    pub fn open() -> io::Result<KernelPool> {
        let file = OpenOptions::new().write(true).open("/dev/random")?;
        Ok(KernelPool { file })
    }

    /// Mix `data` into the pool and credit `bits` of entropy.
    pub fn add_entropy(&self, data: &[u8], bits: u32) -> io::Result<()> {
        // struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
        let words = 2 + data.len().div_ceil(4);
        let mut info = vec![0u32; words];
        info[0] = bits;
        info[1] = data.len() as u32;
        for (w, chunk) in info[2..].iter_mut().zip(data.chunks(4)) {
            let mut b = [0u8; 4];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u32::from_ne_bytes(b);
        }
        // SAFETY: `info` is a live, u32-aligned rand_pool_info whose buf_size matches the
        // bytes that follow the header; the kernel only reads from it.
        let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), RNDADDENTROPY as _, info.as_ptr()) };
        zeroize::Zeroize::zeroize(&mut info);
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

/// How `rng feed-kernel` runs.
#[derive(Debug, Clone)]
pub struct FeedOptions {
    /// Draw and log, but do not call the ioctl.
    pub dry_run: bool,
    /// Stop after this many seeds (None: run forever).
    pub seeds: Option<u64>,
    /// Pause between two seeds.
    pub interval: Duration,
}

/// What a feed run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedReport {
    pub seeds: u64,
    pub bits_credited: u64,
    pub skipped: u64,
}

/// Feed the kernel from the chain's device sources until `opts.seeds` are delivered.
/// With no device source available it waits and retries; it never credits OS output.
pub fn feed(chain: &mut Chain, opts: &FeedOptions) -> io::Result<FeedReport> {
    if !chain.has_devices() {
        return Err(io::Error::other(
            "no device entropy to credit: no device source is configured",
        ));
    }
    let pool = if opts.dry_run {
        None
    } else {
        Some(KernelPool::open()?)
    };
    let mut report = FeedReport::default();
    while opts.seeds.is_none_or(|n| report.seeds < n) {
        match chain.device_seed() {
            Ok(seed) => {
                let bits = (SEED_LEN * 8) as u32;
                match &pool {
                    Some(p) => p.add_entropy(seed.bytes(), bits).map_err(|e| {
                        if e.raw_os_error() == Some(libc::EPERM) {
                            io::Error::new(
                                e.kind(),
                                "RNDADDENTROPY is not permitted (needs CAP_SYS_ADMIN): run as root or use --dry-run",
                            )
                        } else {
                            e
                        }
                    })?,
                    None => tracing::info!(
                        "dry run: would credit {bits} bits from {}",
                        seed.origin()
                    ),
                }
                report.seeds += 1;
                report.bits_credited += u64::from(bits);
                std::thread::sleep(opts.interval);
            }
            Err(e) => {
                report.skipped += 1;
                let wait = chain
                    .next_retry()
                    .map(|t| t.saturating_duration_since(Instant::now()))
                    .unwrap_or(Duration::from_secs(1))
                    .max(Duration::from_millis(50));
                tracing::warn!(
                    "no device entropy to credit ({e}); next try in {} ms",
                    wait.as_millis()
                );
                if opts.seeds.is_some() && report.skipped > 3 * opts.seeds.unwrap_or(0) + 10 {
                    return Err(io::Error::other(format!(
                        "no device entropy to credit: {e}"
                    )));
                }
                std::thread::sleep(wait);
            }
        }
    }
    Ok(report)
}
