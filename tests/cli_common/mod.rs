//! The `pqhsm` binary as a user runs it: a fresh data directory with an initialised token,
//! PINs in the environment, real files. Each call is a new process, so nothing survives
//! between commands except what the token stores.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SO_PIN: &str = "so-pin-13572468";
pub const PIN: &str = "user-pin-24681357";
/// Consent value of the CLI's test clock (see `manage::clock`).
pub const TEST_CLOCK: &str = "yes-expiry-and-deletion-follow-a-fake-clock";

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub bytes: Vec<u8>,
}

/// The `pqhsm` command on an `Env`, at the real time or at a test-clock time.
pub struct Cli<'a> {
    env: &'a Env,
    /// `PQHSM_INSECURE_TEST_NOW` for every command, when set.
    now: Option<String>,
}

impl Env {
    /// A data directory with one token `test`, Argon2id kept cheap for tests.
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("pqhsm.toml"),
            "[kdf]\nmemory_kib = 64\niterations = 1\nparallelism = 1\n",
        )
        .unwrap();
        let env = Env { dir };
        env.ok(&["token", "init", "--label", "test"]);
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn write(&self, name: &str, data: &[u8]) -> String {
        std::fs::write(self.path(name), data).unwrap();
        self.p(name)
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    pub fn conf(&self) -> PathBuf {
        self.path("pqhsm.toml")
    }

    /// Commands at the real time.
    pub fn cli(&self) -> Cli<'_> {
        Cli {
            env: self,
            now: None,
        }
    }

    /// Commands that believe it is `now` (the CLI's test clock).
    pub fn at(&self, now: &str) -> Cli<'_> {
        Cli {
            env: self,
            now: Some(now.to_string()),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.cli().command(args)
    }
    pub fn run(&self, args: &[&str]) -> Ran {
        self.cli().run(args)
    }
    pub fn ok(&self, args: &[&str]) -> String {
        self.cli().ok(args)
    }
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        self.cli().fails(code, args)
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("pqhsm {args:?} printed no JSON ({e}): {out}"))
    }

    pub fn states(&self, key: &str) -> Vec<(u64, String)> {
        self.json(&["keys", "versions", key, "--json"])
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_u64().unwrap(),
                    v["state"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

impl Cli<'_> {
    /// The `pqhsm` command with this environment (nothing inherited that would change it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pqhsm"));
        c.args(args)
            .env("PQHSM_CONF", self.env.conf())
            .env("PQHSM_DATA_DIR", self.env.data_dir())
            .env("PQHSM_SO_PIN", SO_PIN)
            .env("PQHSM_PIN", PIN)
            .env_remove("PQHSM_IMPORT_PASSWORD")
            .env_remove("PQHSM_WEBHOOK_URL")
            .env_remove("PQHSM_INSECURE_TEST_NOW")
            .env_remove("PQHSM_INSECURE_TEST_CLOCK");
        if let Some(now) = &self.now {
            c.env("PQHSM_INSECURE_TEST_NOW", now)
                .env("PQHSM_INSECURE_TEST_CLOCK", TEST_CLOCK);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        ran(self.command(args).output().expect("run pqhsm"))
    }

    /// Run and require success; standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "pqhsm {args:?} (test clock {:?}) failed:\n{}{}",
            self.now, r.stdout, r.stderr
        );
        r.stdout
    }

    /// Run and require failure with `code`; standard error.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "pqhsm {args:?} (test clock {:?}): stdout {} stderr {}",
            self.now, r.stdout, r.stderr
        );
        r.stderr
    }
}

fn ran(o: Output) -> Ran {
    Ran {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        bytes: o.stdout,
    }
}

/// Run an external tool (openssl), requiring success.
pub fn tool(program: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let o = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed for this test ({e}): install it (ci/.ci/run does)")
        });
    assert!(
        o.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}
