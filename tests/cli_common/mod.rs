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
    /// `PQHSM_INSECURE_TEST_NOW` for every command, when set.
    pub now: Option<String>,
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub bytes: Vec<u8>,
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
        let env = Env { dir, now: None };
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

    /// The `pqhsm` command with this environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pqhsm"));
        c.args(args)
            .env("PQHSM_CONF", self.conf())
            .env("PQHSM_DATA_DIR", self.data_dir())
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
            "pqhsm {args:?} failed:\n{}{}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Run and require failure with `code`; standard error.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "pqhsm {args:?}: stdout {} stderr {}",
            r.stdout, r.stderr
        );
        r.stderr
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("pqhsm {args:?} printed no JSON ({e}): {out}"))
    }

    /// The same token seen at another (test) time.
    pub fn at(&self, now: &str) -> EnvAt<'_> {
        EnvAt {
            env: self,
            now: now.to_string(),
        }
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

/// An `Env` whose commands believe it is `now`.
pub struct EnvAt<'a> {
    env: &'a Env,
    now: String,
}

impl EnvAt<'_> {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = self.env.command(args);
        c.env("PQHSM_INSECURE_TEST_NOW", &self.now)
            .env("PQHSM_INSECURE_TEST_CLOCK", TEST_CLOCK);
        c
    }
    pub fn run(&self, args: &[&str]) -> Ran {
        ran(self.command(args).output().expect("run pqhsm"))
    }
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "pqhsm {args:?} at {} failed:\n{}{}",
            self.now, r.stdout, r.stderr
        );
        r.stdout
    }
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "pqhsm {args:?} at {}: {}{}",
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
