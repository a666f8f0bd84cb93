//! Entropy sources: each turns one device or service into a stream of raw byte samples.
//! Owns opening, reading and reopening; never health-tests, conditions or credits bytes
//! (the chain does), so a source can lie without its lies reaching the DRBG.

pub mod file;
pub mod http;
pub mod serial;

use crate::config::SourceConfig;
use crate::Result;

/// One device or service producing raw samples.
pub trait Source: Send {
    fn name(&self) -> &str;
    /// `serial`, `http`, `file`, `bridge`.
    fn kind(&self) -> &'static str;
    /// Read at least one raw sample into `buf`, opening the device first if needed. An error
    /// leaves the source closed; the next call reopens it.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize>;
    /// Close the device so another process (the bridge, a replugged device) can open it.
    fn release(&mut self) {}
    /// For a bridge: which source served the last bytes.
    fn upstream(&self) -> Option<String> {
        None
    }
}

/// The source for one configured device; `None` for the OS RNG (built into the chain).
pub fn open(cfg: &SourceConfig) -> Result<Option<Box<dyn Source>>> {
    Ok(match cfg {
        SourceConfig::Serial(c) => Some(Box::new(serial::SerialSource::new(c.clone()))),
        SourceConfig::Http(c) => Some(Box::new(http::HttpSource::new(c.clone())?)),
        SourceConfig::File(c) => Some(Box::new(file::FileSource::new(c.clone()))),
        SourceConfig::Os(_) => None,
    })
}
