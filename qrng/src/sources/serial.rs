//! A USB CDC serial QRNG (TrueRNG style): open at the configured baud, assert DTR, flush
//! stale input, optionally write a start command, then read raw bytes. Owns the port and
//! its reopening after an unplug; never retries inside a read (the chain decides when).

use super::Source;
use crate::config::SerialConfig;
use crate::{Error, Result};
use serialport::{ClearBuffer, SerialPort};
use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

pub struct SerialSource {
    cfg: SerialConfig,
    port: Option<Box<dyn SerialPort>>,
}

impl SerialSource {
    pub fn new(cfg: SerialConfig) -> SerialSource {
        SerialSource { cfg, port: None }
    }

    fn open(&self) -> Result<Box<dyn SerialPort>> {
        let path = self.cfg.path.to_string_lossy();
        let unreachable = |what: &str, e: &dyn std::fmt::Display| {
            Error::Unreachable(format!("{what} {path}: {e}"))
        };
        for &rate in &self.cfg.knock {
            // Opening at the rate is the signal; the port closes again at once.
            serialport::new(path.as_ref(), rate)
                .timeout(Duration::from_millis(self.cfg.timeout_ms))
                .open()
                .map_err(|e| unreachable("cannot knock on", &e))?;
        }
        // Exclusive open (TIOCEXCL): one reader per port, as the bridge requires.
        let mut port = serialport::new(path.as_ref(), self.cfg.baud)
            .timeout(Duration::from_millis(self.cfg.timeout_ms))
            .open()
            .map_err(|e| unreachable("cannot open", &e))?;
        if self.cfg.dtr {
            // A pseudo terminal (the simulator) has no modem lines; real CDC-ACM devices do.
            if let Err(e) = port.write_data_terminal_ready(true) {
                tracing::debug!(source = %self.cfg.name, "DTR not set on {path}: {e}");
            }
        }
        port.clear(ClearBuffer::Input)
            .map_err(|e| unreachable("cannot flush", &e))?;
        if let Some(cmd) = &self.cfg.start_command {
            port.write_all(cmd.as_bytes())
                .map_err(|e| unreachable("cannot write start command to", &e))?;
            port.flush()
                .map_err(|e| unreachable("cannot write start command to", &e))?;
        }
        tracing::info!(source = %self.cfg.name, "opened serial QRNG {path} at {} baud", self.cfg.baud);
        Ok(port)
    }
}

impl Source for SerialSource {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn kind(&self) -> &'static str {
        "serial"
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.port.is_none() {
            self.port = Some(self.open()?);
        }
        let want = buf.len().min(self.cfg.read_size);
        let result = match self.port.as_mut() {
            Some(p) => p.read(&mut buf[..want]),
            None => Ok(0),
        };
        let path = self.cfg.path.display();
        let e = match result {
            Ok(n) if n > 0 => return Ok(n),
            Ok(_) => format!("{path} closed (device unplugged?)"),
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                format!("no data from {path} within {} ms", self.cfg.timeout_ms)
            }
            Err(e) => format!("read {path}: {e} (device unplugged?)"),
        };
        self.port = None;
        Err(Error::Unreachable(e))
    }

    fn release(&mut self) {
        if self.port.take().is_some() {
            tracing::debug!(source = %self.cfg.name, "closed {}", self.cfg.path.display());
        }
    }
}
