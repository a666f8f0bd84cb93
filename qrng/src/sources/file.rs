//! A character device of an hwrng-style driver (`/dev/hwrng`, `/dev/qrandom0`, a FIFO in
//! tests): plain reads of raw bytes. Never reads a regular file as if it were entropy twice:
//! end of file is a failure, not a rewind.

use super::Source;
use crate::config::FileConfig;
use crate::{Error, Result};
use std::fs::File;
use std::io::Read;

pub struct FileSource {
    cfg: FileConfig,
    file: Option<File>,
}

impl FileSource {
    pub fn new(cfg: FileConfig) -> FileSource {
        FileSource { cfg, file: None }
    }
}

impl Source for FileSource {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    fn kind(&self) -> &'static str {
        "file"
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let path = &self.cfg.path;
        if self.file.is_none() {
            let f = File::open(path)
                .map_err(|e| Error::Unreachable(format!("cannot open {}: {e}", path.display())))?;
            self.file = Some(f);
        }
        let want = buf.len().min(self.cfg.read_size);
        let result = match self.file.as_mut() {
            Some(f) => f.read(&mut buf[..want]),
            None => Ok(0),
        };
        match result {
            Ok(0) => {
                self.file = None;
                Err(Error::Unreachable(format!(
                    "{}: end of data",
                    path.display()
                )))
            }
            Ok(n) => Ok(n),
            Err(e) => {
                self.file = None;
                Err(Error::Unreachable(format!("read {}: {e}", path.display())))
            }
        }
    }

    fn release(&mut self) {
        self.file = None;
    }
}
