//! `pqhsm keys` and friends as a user runs them: the forms the issue lists, every state
//! transition and every refused one (exit code and ERR_KMS code), imports of files other
//! tools made, exports other tools read, envelopes, listing and completions.

mod cli_common;

use cli_common::{tool, Env};

#[test]
fn the_documented_forms_work_as_written() {
    let e = Env::new();
    e.ok(&[
        "keys",
        "generate",
        "payments",
        "--type",
        "signing",
        "--algorithm",
        "ec-p256",
    ]);
    e.ok(&[
        "keys",
        "generate",
        "docs",
        "--type",
        "signing",
        "--algorithm",
        "ml-dsa-65",
        "--expires",
        "2027-01-01",
    ]);
    let msg = e.write("msg", b"pay 10 EUR to Bob\n");
    e.ok(&[
        "sign",
        "--key",
        "payments",
        "--in",
        &msg,
        "--out",
        &e.p("msg.v1.sig"),
    ]);
    e.ok(&["keys", "rotate", "payments"]);
    let v = e.json(&["keys", "versions", "payments", "--json"]);
    assert_eq!(v[0]["version"], 1);
    assert_eq!(v[0]["state"], "retired");
    assert_eq!(v[1]["version"], 2);
    assert_eq!(v[1]["state"], "active");
    e.ok(&["keys", "retire", "payments", "--version", "1"]);
    let pem1 = e.ok(&[
        "keys",
        "export",
        "payments",
        "--version",
        "1",
        "--format",
        "pem",
    ]);
    assert!(pem1.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem1}");
    let pem2 = e.ok(&["keys", "export", "payments", "--format", "pem"]);
    assert_ne!(pem1, pem2);
    // What OpenSSL makes of the exported key.
    e.write("v1.pem", pem1.as_bytes());
    let text = String::from_utf8(tool(
        "openssl",
        &["pkey", "-pubin", "-in", "v1.pem", "-noout", "-text"],
        e.dir.path(),
    ))
    .unwrap();
    assert!(
        text.contains("NIST CURVE: P-256") || text.contains("prime256v1"),
        "{text}"
    );

    tool(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "key.pem",
        ],
        e.dir.path(),
    );
    e.ok(&[
        "keys",
        "import",
        "legacy",
        "--file",
        &e.p("key.pem"),
        "--format",
        "pem",
    ]);
    let theirs = tool(
        "openssl",
        &["pkey", "-in", "key.pem", "-pubout"],
        e.dir.path(),
    );
    let ours = e.ok(&["keys", "export", "legacy", "--format", "pem"]);
    assert_eq!(String::from_utf8(theirs).unwrap(), ours);

    e.ok(&[
        "keys",
        "rotation-policy",
        "payments",
        "--frequency",
        "monthly",
    ]);
    e.ok(&[
        "sign",
        "--key",
        "payments",
        "--version",
        "2",
        "--in",
        &msg,
        "--out",
        &e.p("msg.sig"),
    ]);
    e.ok(&[
        "verify",
        "--key",
        "payments",
        "--version",
        "2",
        "--in",
        &msg,
        "--signature",
        &e.p("msg.sig"),
    ]);
    e.ok(&[
        "verify",
        "--key",
        "payments",
        "--version",
        "1",
        "--in",
        &msg,
        "--signature",
        &e.p("msg.v1.sig"),
    ]);
    let err = e.fails(
        1,
        &[
            "verify",
            "--key",
            "payments",
            "--version",
            "1",
            "--in",
            &msg,
            "--signature",
            &e.p("msg.sig"),
        ],
    );
    assert!(err.contains("ERR_KMS_009"), "{err}");
    assert!(e.ok(&["audit", "verify"]).starts_with("audit log intact"));
    let show = e.json(&["keys", "show", "payments", "--json"]);
    assert_eq!(show["rotationPolicy"]["frequency"], "monthly");
    assert_eq!(show["version"], 2);
}

#[test]
fn refusals_carry_exit_codes_and_err_kms_codes() {
    let e = Env::new();
    e.ok(&["keys", "generate", "payments", "--algorithm", "ec-p256"]);
    let msg = e.write("msg", b"x");
    let err = e.fails(
        2,
        &["keys", "generate", "payments", "--algorithm", "ec-p256"],
    );
    assert!(
        err.contains("ERR_KMS_004") && err.contains("pqhsm keys rotate payments"),
        "{err}"
    );
    let err = e.fails(2, &["keys", "retire", "payments", "--version", "1"]);
    assert!(err.contains("ERR_KMS_005"), "{err}");
    let err = e.fails(2, &["keys", "archive", "payments", "--version", "1"]);
    assert!(err.contains("ERR_KMS_007"), "{err}");
    e.ok(&["keys", "rotate", "payments"]);
    let err = e.fails(
        2,
        &["sign", "--key", "payments", "--version", "1", "--in", &msg],
    );
    assert!(
        err.contains("ERR_KMS_006: key `payments` v1 is retired: sign with the active version v2"),
        "{err}"
    );
    let err = e.fails(1, &["keys", "show", "nope"]);
    assert!(err.contains("ERR_KMS_001"), "{err}");
    let err = e.fails(1, &["keys", "retire", "payments", "--version", "9"]);
    assert!(err.contains("ERR_KMS_001"), "{err}");
    let err = e.fails(
        1,
        &[
            "keys",
            "generate",
            "k",
            "--type",
            "encryption",
            "--algorithm",
            "ed25519",
        ],
    );
    assert!(err.contains("ERR_KMS_002"), "{err}");
    let r = e
        .command(&["keys", "list"])
        .env("PQHSM_PIN", "wrong-pin-0000")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("ERR_KMS_003"));
    e.ok(&["keys", "generate", "mac", "--type", "hmac"]);
    let err = e.fails(2, &["keys", "export", "mac"]);
    assert!(err.contains("ERR_KMS_008"), "{err}");
    // The test clock is refused without its explicit consent.
    let r = e
        .command(&["keys", "list"])
        .env("PQHSM_INSECURE_TEST_NOW", "+1d")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("PQHSM_INSECURE_TEST_CLOCK"));
    // Every refusal above is in the audit log, and the log still verifies.
    let log = e.json(&["audit", "list", "--json"]);
    let refused = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "refused")
        .count();
    assert!(refused >= 5, "{log}");
    e.ok(&["audit", "verify"]);
}

#[test]
fn every_version_and_key_transition_from_the_command_line() {
    let e = Env::new();
    e.ok(&["keys", "generate", "k", "--algorithm", "ed25519"]);
    e.ok(&["keys", "rotate", "k"]);
    e.ok(&["keys", "rotate", "k"]);
    assert_eq!(
        e.states("k"),
        vec![
            (1, "retired".into()),
            (2, "retired".into()),
            (3, "active".into())
        ]
    );
    e.ok(&["keys", "archive", "k", "--version", "1"]);
    let err = e.fails(2, &["keys", "destroy", "k", "--version", "2"]);
    assert!(err.contains("ERR_KMS_007"), "{err}");
    e.ok(&["keys", "destroy", "k", "--version", "1"]);
    assert_eq!(e.states("k")[0], (1, "destroyed".into()));
    let err = e.fails(2, &["keys", "export", "k", "--version", "1"]);
    assert!(err.contains("ERR_KMS_007"), "{err}");

    // Revocation: verification only, no rotation.
    let msg = e.write("m", b"m");
    e.ok(&["sign", "--key", "k", "--in", &msg, "--out", &e.p("m.sig")]);
    e.ok(&["keys", "revoke", "k"]);
    e.fails(2, &["sign", "--key", "k", "--in", &msg]);
    e.ok(&[
        "verify",
        "--key",
        "k",
        "--in",
        &msg,
        "--signature",
        &e.p("m.sig"),
    ]);
    e.fails(2, &["keys", "rotate", "k"]);

    // Deletion: a grace period, a cancel, then deletion by the daemon once it ends.
    e.ok(&["keys", "generate", "d", "--algorithm", "ec-p256"]);
    e.ok(&["keys", "delete", "d", "--grace", "7d"]);
    assert_eq!(
        e.json(&["keys", "show", "d", "--json"])["state"],
        "pending-deletion"
    );
    e.fails(2, &["sign", "--key", "d", "--in", &msg]);
    e.ok(&["keys", "cancel-delete", "d"]);
    assert_eq!(e.json(&["keys", "show", "d", "--json"])["state"], "enabled");
    e.ok(&["sign", "--key", "d", "--in", &msg]);
    e.ok(&["keys", "delete", "d", "--grace", "7d"]);
    e.at("+6d").ok(&["daemon", "--once"]);
    assert_eq!(
        e.json(&["keys", "show", "d", "--json"])["state"],
        "pending-deletion"
    );
    let err = e.at("+8d").fails(2, &["keys", "cancel-delete", "d"]);
    assert!(err.contains("grace period"), "{err}");
    assert!(e
        .at("+8d")
        .ok(&["daemon", "--once"])
        .contains("key `d` deleted"));
    assert_eq!(e.states("d"), vec![(1, "destroyed".into())]);
    assert_eq!(e.json(&["keys", "show", "d", "--json"])["state"], "deleted");
    e.fails(2, &["keys", "generate", "d", "--algorithm", "ec-p256"]);
}

#[test]
fn expiry_is_enforced_by_time_and_can_be_extended() {
    let e = Env::new();
    e.ok(&[
        "keys",
        "generate",
        "x",
        "--algorithm",
        "ec-p256",
        "--expires",
        "2031-01-01",
    ]);
    let msg = e.write("m", b"m");
    e.at("2030-12-31T23:59:00Z")
        .ok(&["sign", "--key", "x", "--in", &msg]);
    let err = e
        .at("2031-01-01T00:00:01Z")
        .fails(2, &["sign", "--key", "x", "--in", &msg]);
    assert!(err.contains("expired at 2031-01-01T00:00:00Z"), "{err}");
    assert!(e
        .at("2031-01-02")
        .ok(&["daemon", "--once"])
        .contains("key `x` expired"));
    let listed = e
        .at("2031-01-02")
        .ok(&["keys", "list", "--state", "expired"]);
    assert!(listed.contains("x "), "{listed}");
    e.at("2031-01-02")
        .ok(&["keys", "expiry", "x", "--expires", "2032-01-01"]);
    e.at("2031-01-02").ok(&["sign", "--key", "x", "--in", &msg]);
    // Expiring soon: a warning on standard error.
    let r = e.at("2031-12-20").run(&["keys", "list"]);
    assert!(
        r.stderr.contains("key `x` expires in 12 day(s)"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("(soon)"), "{}", r.stdout);
    e.ok(&["keys", "expiry", "x", "--clear"]);
    assert!(e.json(&["keys", "show", "x", "--json"])["expiresAt"].is_null());
}

#[test]
fn imports_of_files_other_tools_made() {
    let e = Env::new();
    let d = e.dir.path();
    // RSA as plain PKCS#8 PEM, and the same key password-protected (PBES2).
    tool(
        "openssl",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
        d,
    );
    tool(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "rsa.pem",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:s3cret",
            "-out",
            "rsa-enc.pem",
        ],
        d,
    );
    tool(
        "openssl",
        &[
            "pkcs8",
            "-topk8",
            "-in",
            "rsa.pem",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:s3cret",
            "-outform",
            "DER",
            "-out",
            "rsa-enc.der",
        ],
        d,
    );
    tool(
        "openssl",
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "rsa.pem", "-outform", "DER", "-out", "rsa.der",
        ],
        d,
    );
    e.ok(&[
        "keys",
        "import",
        "rsa-sign",
        "--file",
        &e.p("rsa.pem"),
        "--format",
        "pem",
    ]);
    assert_eq!(
        e.json(&["keys", "show", "rsa-sign", "--json"])["algorithm"],
        "rsa-2048"
    );
    let err = e.fails(
        1,
        &[
            "keys",
            "import",
            "rsa-enc",
            "--file",
            &e.p("rsa-enc.pem"),
            "--format",
            "pkcs8",
            "--type",
            "encryption",
        ],
    );
    assert!(err.contains("password"), "{err}");
    e.write("pw", b"s3cret\n");
    e.ok(&[
        "keys",
        "import",
        "rsa-enc",
        "--file",
        &e.p("rsa-enc.pem"),
        "--format",
        "pkcs8",
        "--type",
        "encryption",
        "--password-file",
        &e.p("pw"),
    ]);
    let r = e
        .command(&[
            "keys",
            "import",
            "rsa-der",
            "--file",
            &e.p("rsa-enc.der"),
            "--format",
            "der",
        ])
        .env("PQHSM_IMPORT_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    e.ok(&[
        "keys",
        "import",
        "rsa-plain-der",
        "--file",
        &e.p("rsa.der"),
        "--format",
        "der",
    ]);
    let theirs =
        String::from_utf8(tool("openssl", &["pkey", "-in", "rsa.pem", "-pubout"], d)).unwrap();
    for k in ["rsa-sign", "rsa-enc", "rsa-der", "rsa-plain-der"] {
        assert_eq!(e.ok(&["keys", "export", k]), theirs, "{k}");
    }
    // The encryption key encrypts; the signing key signs with RSA-PSS OpenSSL verifies.
    let file = e.write("f", b"file body");
    e.ok(&[
        "encrypt",
        "--key",
        "rsa-enc",
        "--in",
        &file,
        "--out",
        &e.p("f.enc"),
    ]);
    e.ok(&["decrypt", "--in", &e.p("f.enc"), "--out", &e.p("f.dec")]);
    assert_eq!(e.read("f.dec"), b"file body");
    e.ok(&[
        "sign",
        "--key",
        "rsa-sign",
        "--in",
        &file,
        "--out",
        &e.p("f.sig"),
    ]);
    e.write("rsa.pub", theirs.as_bytes());
    tool(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
            "-verify",
            "rsa.pub",
            "-signature",
            "f.sig",
            "f",
        ],
        d,
    );

    // Ed25519 and RAW symmetric/HMAC keys.
    tool(
        "openssl",
        &["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"],
        d,
    );
    e.ok(&[
        "keys",
        "import",
        "ed",
        "--file",
        &e.p("ed.pem"),
        "--format",
        "pkcs8",
    ]);
    e.ok(&[
        "sign",
        "--key",
        "ed",
        "--in",
        &file,
        "--out",
        &e.p("ed.sig"),
    ]);
    e.write(
        "ed.pub",
        &tool("openssl", &["pkey", "-in", "ed.pem", "-pubout"], d),
    );
    tool(
        "openssl",
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "ed.pub", "-rawin", "-in", "f", "-sigfile",
            "ed.sig",
        ],
        d,
    );
    let raw = e.write("aes.key", &[0x42; 32]);
    e.fails(
        1,
        &["keys", "import", "aes", "--file", &raw, "--format", "raw"],
    );
    e.ok(&[
        "keys",
        "import",
        "aes",
        "--file",
        &raw,
        "--format",
        "raw",
        "--type",
        "symmetric",
    ]);
    e.ok(&[
        "keys",
        "import",
        "hm",
        "--file",
        &raw,
        "--format",
        "raw",
        "--algorithm",
        "hmac-sha256",
    ]);
    let mac = e.run(&["mac", "--key", "hm", "--in", &file]).bytes;
    let want = tool(
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-mac",
            "HMAC",
            "-macopt",
            &format!("hexkey:{}", "42".repeat(32)),
            "-binary",
            "f",
        ],
        d,
    );
    assert_eq!(mac, want);
    // A public key is not something to import; nor is garbage.
    e.fails(
        1,
        &[
            "keys",
            "import",
            "pub",
            "--file",
            &e.p("rsa.pub"),
            "--format",
            "pem",
        ],
    );
    let junk = e.write("junk", b"not a key");
    e.fails(
        1,
        &["keys", "import", "junk", "--file", &junk, "--format", "der"],
    );
    // Imported private keys stay inside: nothing exports them.
    let err = e.fails(2, &["keys", "export", "aes"]);
    assert!(err.contains("never exported"), "{err}");
}

#[test]
fn exports_in_every_format_with_metadata() {
    let e = Env::new();
    e.ok(&[
        "keys",
        "generate",
        "ec",
        "--algorithm",
        "ec-p384",
        "--label",
        "env=prod",
        "--description",
        "api",
    ]);
    let der = e.run(&["keys", "export", "ec", "--format", "der"]).bytes;
    let pem = e.ok(&["keys", "export", "ec"]);
    e.write("ec.der", &der);
    let from_der = String::from_utf8(tool(
        "openssl",
        &["pkey", "-pubin", "-inform", "DER", "-in", "ec.der"],
        e.dir.path(),
    ))
    .unwrap();
    assert_eq!(from_der, pem);
    let raw = e.ok(&["keys", "export", "ec", "--format", "raw"]);
    assert_eq!(raw.trim().len(), 132, "base64 of a 97-byte point: {raw}");
    let jwk: serde_json::Value =
        serde_json::from_str(&e.ok(&["keys", "export", "ec", "--format", "jwk"])).unwrap();
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["crv"].as_str(),
            jwk["kid"].as_str()
        ),
        (Some("EC"), Some("P-384"), Some("ec/v1"))
    );
    let with = e.json(&["keys", "export", "ec", "--format", "jwk", "--include", "name,description,keyType,isPostQuantum,state,createdAt,expiresAt,lastRotatedAt,labels,version"]);
    assert_eq!(with["publicKey"], jwk);
    assert_eq!(with["name"], "ec");
    assert_eq!(with["description"], "api");
    assert_eq!(with["keyType"], "signing");
    assert_eq!(with["isPostQuantum"], false);
    assert_eq!(with["state"], "enabled");
    assert_eq!(with["labels"]["env"], "prod");
    assert_eq!(with["version"], 1);
    assert!(with["expiresAt"].is_null() && with["lastRotatedAt"].is_null());
    e.fails(1, &["keys", "export", "ec", "--include", "secretSauce"]);
    e.fails(1, &["keys", "export", "ec", "--format", "pkcs12"]);

    e.ok(&["keys", "generate", "docs", "--algorithm", "ml-dsa-65"]);
    let pq = e.json(&[
        "keys",
        "export",
        "docs",
        "--format",
        "jwk",
        "--include",
        "isPostQuantum,algorithm",
    ]);
    assert_eq!(pq["publicKey"]["kty"], "AKP");
    assert_eq!(pq["publicKey"]["alg"], "ML-DSA-65");
    assert_eq!(pq["isPostQuantum"], true);
    let pem = e.ok(&["keys", "export", "docs"]);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
}

#[test]
fn envelopes_data_keys_and_macs() {
    let e = Env::new();
    e.ok(&["keys", "generate", "vault", "--type", "encryption"]);
    assert_eq!(
        e.json(&["keys", "show", "vault", "--json"])["algorithm"],
        "ml-kem-768"
    );
    e.ok(&["keys", "generate", "sym", "--type", "symmetric"]);
    let secret = e.write("secret", b"the material to protect");
    for key in ["vault", "sym"] {
        let wrapped = e.p(&format!("{key}.wrapped"));
        e.ok(&[
            "wrap",
            "--key",
            key,
            "--in",
            &secret,
            "--out",
            &wrapped,
            "--context",
            "tenant=7",
        ]);
        let err = e.fails(
            1,
            &[
                "unwrap",
                "--in",
                &wrapped,
                "--out",
                &e.p("x"),
                "--context",
                "tenant=8",
            ],
        );
        assert!(err.contains("ERR_KMS_010"), "{err}");
        e.fails(1, &["unwrap", "--in", &wrapped, "--out", &e.p("x")]);
        e.ok(&[
            "unwrap",
            "--in",
            &wrapped,
            "--out",
            &e.p("back"),
            "--context",
            "tenant=7",
        ]);
        assert_eq!(e.read("back"), b"the material to protect");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(e.path("back"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
        e.fails(
            1,
            &[
                "decrypt",
                "--in",
                &wrapped,
                "--out",
                &e.p("x"),
                "--context",
                "tenant=7",
            ],
        );
        // Rotation: old envelopes still open (retired version), new ones name v2.
        e.ok(&["keys", "rotate", key]);
        e.ok(&[
            "unwrap",
            "--in",
            &wrapped,
            "--out",
            &e.p("back2"),
            "--context",
            "tenant=7",
        ]);
        e.ok(&[
            "encrypt",
            "--key",
            key,
            "--in",
            &secret,
            "--out",
            &e.p("f.enc"),
        ]);
        let enc = e.read("f.enc");
        let header_len = u32::from_be_bytes(enc[8..12].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&enc[12..12 + header_len]).unwrap();
        assert_eq!(
            (header["key"].as_str(), header["version"].as_u64()),
            (Some(key), Some(2))
        );
        e.ok(&[
            "decrypt",
            "--key",
            key,
            "--in",
            &e.p("f.enc"),
            "--out",
            &e.p("f.dec"),
        ]);
        assert_eq!(e.read("f.dec"), b"the material to protect");
        e.fails(
            1,
            &[
                "decrypt",
                "--key",
                "other",
                "--in",
                &e.p("f.enc"),
                "--out",
                &e.p("x"),
            ],
        );
    }
    // Data keys: the plaintext, and an envelope that unwraps to it.
    let dk = e.json(&[
        "data-key",
        "--key",
        "vault",
        "--bytes",
        "24",
        "--context",
        "db",
        "--json",
    ]);
    assert_eq!(dk["version"], 2);
    let plain = base64_decode(dk["plaintext"].as_str().unwrap());
    assert_eq!(plain.len(), 24);
    e.write("dk.env", &base64_decode(dk["ciphertext"].as_str().unwrap()));
    e.ok(&[
        "unwrap",
        "--in",
        &e.p("dk.env"),
        "--out",
        &e.p("dk.plain"),
        "--context",
        "db",
    ]);
    assert_eq!(e.read("dk.plain"), plain);
    e.ok(&[
        "data-key",
        "--key",
        "sym",
        "--out",
        &e.p("dk2.env"),
        "--plaintext-out",
        &e.p("dk2.plain"),
    ]);
    assert_eq!(e.read("dk2.plain").len(), 32);
    e.fails(1, &["data-key", "--key", "sym", "--bytes", "20"]);
    // Default keys stand in for --key.
    e.fails(1, &["encrypt", "--in", &secret]);
    e.ok(&["keys", "default", "sym"]);
    assert_eq!(
        e.ok(&["keys", "default", "--type", "symmetric"]).trim(),
        "sym"
    );
    e.ok(&["encrypt", "--in", &secret, "--out", &e.p("d.enc")]);
    // MACs.
    e.ok(&["keys", "generate", "mac", "--type", "hmac"]);
    e.ok(&["mac", "--key", "mac", "--in", &secret, "--out", &e.p("tag")]);
    e.ok(&[
        "mac",
        "--key",
        "mac",
        "--in",
        &secret,
        "--verify",
        &e.p("tag"),
    ]);
    e.write("tag", b"0000000000000000000000000000000X");
    let err = e.fails(
        1,
        &[
            "mac",
            "--key",
            "mac",
            "--in",
            &secret,
            "--verify",
            &e.p("tag"),
        ],
    );
    assert!(err.contains("ERR_KMS_009"), "{err}");
    // Keys only do what their type is for.
    let err = e.fails(2, &["sign", "--key", "vault", "--in", &secret]);
    assert!(err.contains("ERR_KMS_008"), "{err}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64ct::{Base64, Encoding};
    Base64::decode_vec(s).unwrap()
}

#[test]
fn listing_filters_sorts_and_completions() {
    let e = Env::new();
    e.ok(&[
        "keys",
        "generate",
        "b-key",
        "--algorithm",
        "ec-p256",
        "--label",
        "team=pay",
        "--expires",
        "2099-01-01",
    ]);
    e.ok(&[
        "keys",
        "generate",
        "a-key",
        "--type",
        "hmac",
        "--description",
        "session tokens",
    ]);
    e.ok(&[
        "keys",
        "generate",
        "c-key",
        "--type",
        "symmetric",
        "--label",
        "team=ops",
    ]);
    e.ok(&["keys", "revoke", "c-key"]);
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["keys", "list", "--json"];
        a.extend_from_slice(args);
        e.json(&a)
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&[]), vec!["a-key", "b-key", "c-key"]);
    assert_eq!(names(&["--state", "revoked"]), vec!["c-key"]);
    assert_eq!(names(&["--type", "hmac"]), vec!["a-key"]);
    assert_eq!(names(&["--label", "team"]), vec!["b-key", "c-key"]);
    assert_eq!(names(&["--label", "team=pay"]), vec!["b-key"]);
    assert_eq!(names(&["--search", "TOKENS"]), vec!["a-key"]);
    assert_eq!(names(&["--sort", "expires"])[0], "b-key");
    e.fails(1, &["keys", "list", "--sort", "size"]);
    let table = e.ok(&["keys", "list"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("c-key") && l.contains("revoked")),
        "{table}"
    );
    e.ok(&[
        "keys",
        "label",
        "b-key",
        "--set",
        "tier=1",
        "--remove",
        "team",
        "--description",
        "payments",
    ]);
    let b = e.json(&["keys", "show", "b-key", "--json"]);
    assert_eq!(b["labels"], serde_json::json!({"tier": "1"}));
    assert_eq!(b["description"], "payments");
    let bash = e.ok(&["completions", "bash"]);
    assert!(
        bash.contains("pqhsm") && bash.contains("rotation-policy"),
        "{bash}"
    );
}
