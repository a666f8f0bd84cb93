//! `pqhsm daemon` against a loopback webhook: due rotations run once however long the
//! downtime, each rotation is POSTed as JSON with retries, a delivery that never succeeds
//! is audited, and the loop keeps running between intervals.

mod cli_common;

use cli_common::Env;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the webhook received.
#[derive(Clone, Debug)]
struct Received {
    method: String,
    path: String,
    body: serde_json::Value,
}

/// A loopback HTTP server answering with `statuses` in turn (the last one repeats).
struct Hook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Hook {
    fn start(statuses: Vec<u16>) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/pqhsm", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut s) = stream else { continue };
                let Some(r) = read_request(&mut s) else {
                    continue;
                };
                log.lock().unwrap().push(r);
                let status = statuses.get(n).or(statuses.last()).copied().unwrap_or(200);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = s.write_all(reply.as_bytes());
            }
        });
        Hook { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn read_request(s: &mut std::net::TcpStream) -> Option<Received> {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head) = req.parse(&buf).ok()? {
            let len = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
                .unwrap_or(0);
            let (method, path) = (req.method?.to_string(), req.path?.to_string());
            while buf.len() < head + len {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = serde_json::from_slice(&buf[head..head + len]).ok()?;
            return Some(Received { method, path, body });
        }
    }
}

fn daemon_once<'a>(hook: &'a Hook, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "daemon",
        "--once",
        "--webhook",
        &hook.url,
        "--webhook-backoff",
        "50ms",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn due_rotations_run_once_and_are_posted_with_retries() {
    let e = Env::new();
    e.ok(&["keys", "generate", "payments", "--algorithm", "ec-p256"]);
    e.ok(&["keys", "generate", "manual", "--algorithm", "ec-p256"]);
    e.ok(&[
        "keys",
        "rotation-policy",
        "payments",
        "--frequency",
        "daily",
    ]);
    let hook = Hook::start(vec![500, 200]);
    // Not due yet: nothing happens, nothing is posted.
    e.ok(&daemon_once(&hook, &[]));
    assert!(hook.received().is_empty());
    assert_eq!(e.states("payments"), vec![(1, "active".into())]);

    let out = e.at("+2d").ok(&daemon_once(&hook, &[]));
    assert!(
        out.contains("rotated key `payments`: v2 active, v1 retired"),
        "{out}"
    );
    let got = hook.received();
    assert_eq!(got.len(), 2, "one failed delivery and its retry: {got:?}");
    for r in &got {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/hooks/pqhsm")
        );
        assert_eq!(r.body["event"], "key.rotated");
        assert_eq!(r.body["key"], "payments");
        assert_eq!(r.body["version"], 2);
        assert_eq!(r.body["previousVersion"], 1);
        assert_eq!(r.body["token"], "test");
        assert_eq!(r.body["algorithm"], "ec-p256");
    }
    assert_eq!(e.states("manual"), vec![(1, "active".into())]);

    // Eight more days down: one rotation, not eight.
    let report: serde_json::Value =
        serde_json::from_str(&e.at("+10d").ok(&daemon_once(&hook, &["--json"]))).unwrap();
    assert_eq!(report["rotated"].as_array().unwrap().len(), 1);
    assert_eq!(report["rotated"][0]["version"], 3);
    e.at("+10d").ok(&daemon_once(&hook, &[]));
    assert_eq!(
        e.states("payments"),
        vec![
            (1, "retired".into()),
            (2, "retired".into()),
            (3, "active".into())
        ]
    );
    assert_eq!(hook.received().len(), 3);
    let log = e.json(&["audit", "list", "--json"]);
    assert!(
        !log.as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "webhook"),
        "{log}"
    );
    e.ok(&["audit", "verify"]);
}

#[test]
fn a_webhook_that_never_answers_is_audited() {
    let e = Env::new();
    e.ok(&["keys", "generate", "k", "--algorithm", "ed25519"]);
    e.ok(&["keys", "rotation-policy", "k", "--every", "12h"]);
    let hook = Hook::start(vec![503]);
    let r = e
        .at("+1d")
        .run(&daemon_once(&hook, &["--webhook-attempts", "3"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("failed after 3 attempts: HTTP 503"),
        "{}",
        r.stderr
    );
    assert_eq!(hook.received().len(), 3);
    assert_eq!(e.states("k").last().unwrap(), &(2, "active".to_string()));
    let log = e.json(&["audit", "list", "--json", "--key", "k"]);
    let failed: Vec<_> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "webhook")
        .collect();
    assert_eq!(failed.len(), 1, "{log}");
    assert_eq!(failed[0]["outcome"], "failed");
    assert_eq!(failed[0]["version"], 2);
    assert_eq!(failed[0]["testClock"], true);
    // Nobody listening at all counts as a failure too.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let r = e.at("+3d").run(&[
        "daemon",
        "--once",
        "--webhook",
        &closed,
        "--webhook-attempts",
        "1",
    ]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("failed after 1 attempts"), "{}", r.stderr);
}

#[test]
fn the_daemon_keeps_running_between_intervals() {
    let e = Env::new();
    e.ok(&["keys", "generate", "k", "--algorithm", "ec-p256"]);
    e.ok(&["keys", "rotation-policy", "k", "--frequency", "weekly"]);
    let mut child = e
        .at("+8d")
        .command(&["daemon", "--interval", "100ms"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while e.states("k").len() < 2 {
        assert!(Instant::now() < deadline, "the daemon did not rotate");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Several more intervals: not due again for a week.
    std::thread::sleep(Duration::from_millis(600));
    assert!(child.try_wait().unwrap().is_none(), "the daemon stopped");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        e.states("k"),
        vec![(1, "retired".into()), (2, "active".into())]
    );
}
