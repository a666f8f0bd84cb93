//! The HTTP QRNG driven through its loopback simulator: good answers in both formats, the
//! API key, and every kind of lie, each rejected with its reason.

mod common;

use common::{chain, http, source};
use pqhsm_qrng::chain::State;
use pqhsm_qrng::config::HttpFormat;
use pqhsm_qrng::sim::http::{HttpOptions, HttpSim};
use pqhsm_qrng::sim::{Fault, Malformed};
use std::time::{Duration, Instant};

fn sim(format: HttpFormat, fault: Fault) -> HttpSim {
    HttpSim::start(HttpOptions {
        format,
        fault,
        ..HttpOptions::default()
    })
    .unwrap()
}

#[test]
fn both_formats_serve_with_the_api_key() {
    std::env::set_var("QRNG_TEST_KEY", "s3cret");
    for (format, name) in [
        (HttpFormat::AnuJson, "anu-json"),
        (HttpFormat::Octets, "octets"),
    ] {
        let web = HttpSim::start(HttpOptions {
            format,
            api_key: Some("s3cret".into()),
            ..HttpOptions::default()
        })
        .unwrap();
        let mut chain = chain(&[http(
            "q",
            &web.url(1024),
            name,
            "api_key_env = \"QRNG_TEST_KEY\"",
        )]);
        let seed = chain
            .device_seed()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(seed.origin().kind, "http");
        // One batch for the start-up test, one for the seed.
        assert_eq!(web.requests(), 2);
        assert_eq!(source(&chain, "q").state, State::Healthy);
    }
}

#[test]
fn wrong_or_missing_key_is_refused() {
    let web = HttpSim::start(HttpOptions {
        api_key: Some("right".into()),
        ..HttpOptions::default()
    })
    .unwrap();
    std::env::set_var("QRNG_WRONG_KEY", "wrong");
    let mut c = chain(&[http(
        "q",
        &web.url(1024),
        "anu-json",
        "api_key_env = \"QRNG_WRONG_KEY\"",
    )]);
    assert!(c.device_seed().is_err());
    assert!(source(&c, "q").last_error.unwrap().contains("401"));
    let mut c = chain(&[http(
        "q",
        &web.url(1024),
        "anu-json",
        "api_key_env = \"QRNG_UNSET_KEY_VAR\"",
    )]);
    assert!(c.device_seed().is_err());
    let why = source(&c, "q").last_error.unwrap();
    assert!(why.contains("QRNG_UNSET_KEY_VAR is not set"), "{why}");
}

#[test]
fn lying_answers_are_rejected_with_a_reason() {
    let cases = [
        (
            HttpFormat::AnuJson,
            Malformed::Length,
            "values where 1024 were asked for",
        ),
        (HttpFormat::AnuJson, Malformed::Range, "256, not a byte"),
        (HttpFormat::AnuJson, Malformed::Failure, "success=false"),
        (HttpFormat::AnuJson, Malformed::Html, "an HTML page"),
        (
            HttpFormat::Octets,
            Malformed::Length,
            "512 bytes where 1024",
        ),
        (HttpFormat::Octets, Malformed::Html, "an HTML page"),
    ];
    for (format, lie, reason) in cases {
        let web = sim(format, Fault::Malformed(lie));
        let name = if format == HttpFormat::AnuJson {
            "anu-json"
        } else {
            "octets"
        };
        let mut c = chain(&[http("q", &web.url(1024), name, "")]);
        assert_eq!(c.seed().unwrap().origin().source, "os");
        let st = source(&c, "q");
        assert_eq!((st.state, st.bytes), (State::Unreachable, 0));
        let why = st.last_error.unwrap();
        assert!(
            why.starts_with("rejected response") && why.contains(reason),
            "{lie:?}: {why}"
        );
    }
}

#[test]
fn slow_loris_is_cut_at_the_timeout() {
    let web = sim(HttpFormat::Octets, Fault::Slow);
    let mut c =
        chain(&[http("q", &web.url(1024), "octets", "")
            .replace("timeout_ms = 1000", "timeout_ms = 300")]);
    let started = Instant::now();
    assert_eq!(c.seed().unwrap().origin().source, "os");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let why = source(&c, "q").last_error.unwrap();
    assert!(why.contains("within 300 ms"), "{why}");
}

#[test]
fn cut_body_is_rejected() {
    let web = sim(HttpFormat::AnuJson, Fault::Disconnect);
    let mut c = chain(&[http("q", &web.url(1024), "anu-json", "")]);
    assert!(c.device_seed().is_err());
    assert_eq!(source(&c, "q").state, State::Unreachable);
}

#[test]
fn stuck_and_biased_services_are_quarantined() {
    for fault in [Fault::Stuck, Fault::Biased] {
        let web = sim(HttpFormat::Octets, fault);
        let mut c = chain(&[http("q", &web.url(1024), "octets", "")]);
        assert!(c.device_seed().is_err());
        let st = source(&c, "q");
        assert_eq!(
            (st.state, st.health_failures, st.bytes),
            (State::Quarantined, 1, 0),
            "{fault:?}"
        );
    }
}

#[test]
fn quota_defers_without_counting_a_failure() {
    let web = sim(HttpFormat::Octets, Fault::Good);
    let mut c = chain(&[http("q", &web.url(1024), "octets", "")
        .replace("min_interval_ms = 0", "min_interval_ms = 60000")]);
    // The start-up test uses the first batch; the second request must wait for the quota.
    let err = c.device_seed().unwrap_err();
    assert!(err.to_string().contains("no device source"), "{err}");
    let st = source(&c, "q");
    assert_eq!((st.failures, web.requests()), (0, 1), "{st:?}");
}

#[test]
fn https_service_is_trusted_through_ca_file_only() {
    let id = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = pqhsm_qrng::sim::http::TlsIdentity {
        cert_pem: id.cert.pem(),
        key_pem: id.key_pair.serialize_pem(),
    };
    let web = HttpSim::start(HttpOptions {
        tls: Some(tls),
        ..HttpOptions::default()
    })
    .unwrap();
    assert!(web.url(1024).starts_with("https://localhost:"));

    let mut untrusted = chain(&[http("q", &web.url(1024), "anu-json", "")]);
    assert!(untrusted.device_seed().is_err());
    let why = source(&untrusted, "q").last_error.unwrap();
    assert!(
        why.contains("cannot connect") && why.contains("UnknownIssuer"),
        "{why}"
    );

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("qrng-ca.pem");
    std::fs::write(&ca, id.cert.pem()).unwrap();
    let extra = format!("ca_file = \"{}\"", ca.display());
    let mut trusted = chain(&[http("q", &web.url(1024), "anu-json", &extra)]);
    let seed = trusted.device_seed().expect("TLS with the appliance's CA");
    assert_eq!(seed.origin().source, "q");
}
