//! `pqhsm quickstart`: the first thing to run on a fresh machine. It loads the built
//! PKCS#11 module with the `cryptoki` crate, exactly as any client does, initialises a
//! token on the embedded default, generates keys, signs and verifies (in the token and
//! with independent code, ML-DSA included), runs an ML-KEM encapsulation round trip, and
//! prints how to reach the token from pkcs11-tool and OpenSSL.

use super::CliError;
use clap::Args;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::dsa::{HedgeType, SignAdditionalContext};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{
    Attribute, AttributeType, KeyType, MlDsaParameterSetType, MlKemParameterSetType, ObjectClass,
    ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::path::PathBuf;

const LABEL: &str = "quickstart";
const DEMO_SO_PIN: &str = "quickstart-so-pin";
const DEMO_PIN: &str = "quickstart-pin";
/// DER OID of prime256v1 (secp256r1).
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER OID of Ed25519 (RFC 8410).
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// The FIPS 204 context string of the quickstart's ML-DSA signature.
const ML_DSA_CONTEXT: &[u8] = b"pqhsm quickstart";

#[derive(Args, Debug)]
pub struct QuickstartArgs {
    /// Path of libpqhsm_pkcs11.so (default: beside this executable, or $PQHSM_MODULE).
    #[arg(long, env = "PQHSM_MODULE")]
    pub module: Option<PathBuf>,
}

fn fail(what: &str) -> impl Fn(cryptoki::error::Error) -> CliError + '_ {
    move |e| CliError {
        message: format!("{what}: {e}"),
        code: 3,
    }
}

fn module_path(arg: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let path = match arg {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(|e| CliError::usage(format!("cannot locate this executable: {e}")))?
            .with_file_name("libpqhsm_pkcs11.so"),
    };
    if !path.exists() {
        return Err(CliError::usage(format!(
            "{} does not exist: build it with `cargo build --release --workspace` (or pass --module)",
            path.display()
        )));
    }
    Ok(path)
}

pub fn run(a: QuickstartArgs) -> Result<(), CliError> {
    let path = module_path(a.module)?;
    let so_pin = std::env::var("PQHSM_SO_PIN").unwrap_or_else(|_| DEMO_SO_PIN.into());
    let pin = std::env::var("PQHSM_PIN").unwrap_or_else(|_| DEMO_PIN.into());
    let demo_pins = std::env::var("PQHSM_PIN").is_err();

    let p11 = Pkcs11::new(&path).map_err(fail("loading the module"))?;
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(fail("C_Initialize"))?;
    let info = p11.get_library_info().map_err(fail("C_GetInfo"))?;
    println!(
        "module   {} ({}, PKCS#11 {})",
        path.display(),
        info.library_description(),
        info.cryptoki_version()
    );
    let data_dir = crate::config::Config::load()?.data_dir()?;
    println!("tokens   in {}", data_dir.display());

    let slot = token_slot(&p11, &so_pin, &pin)?;
    let session = p11.open_rw_session(slot).map_err(fail("C_OpenSession"))?;
    session
        .login(UserType::User, Some(&AuthPin::from(pin.clone())))
        .map_err(fail("C_Login (set PQHSM_PIN to this token's user PIN)"))?;
    let n_mech = p11
        .get_mechanism_list(slot)
        .map_err(fail("C_GetMechanismList"))?
        .len();
    println!(
        "token    `{LABEL}` in slot {}, {n_mech} mechanisms",
        slot.id()
    );
    if demo_pins {
        println!("         (demo PINs: SO `{DEMO_SO_PIN}`, user `{DEMO_PIN}`; set PQHSM_SO_PIN/PQHSM_PIN for your own)");
    }

    let message = b"pqhsm quickstart: signed inside the token";
    ecdsa_p256(&session, message)?;
    ed25519(&session, message)?;
    ml_dsa_65(&session, message)?;
    ml_kem_768(&session)?;

    let random = session
        .generate_random_vec(16)
        .map_err(fail("C_GenerateRandom"))?;
    println!("random   {} (C_GenerateRandom)", hex::encode(&random));

    session.logout().map_err(fail("C_Logout"))?;
    drop(session);
    p11.finalize().map_err(fail("C_Finalize"))?;

    let m = path.display();
    println!();
    println!("Use it from other clients:");
    println!("  pkcs11-tool --module {m} -L");
    println!(
        "  pkcs11-tool --module {m} --login --pin {} -O",
        if demo_pins { DEMO_PIN } else { "$PQHSM_PIN" }
    );
    println!("  pkcs11-tool --module {m} -M");
    println!("  OpenSSL and GnuTLS: README.md, \"Using the module from clients\"");
    Ok(())
}

/// The slot of the quickstart token, initialising it (C_InitToken, C_InitPIN) if needed.
fn token_slot(p11: &Pkcs11, so_pin: &str, pin: &str) -> Result<Slot, CliError> {
    let find = |p11: &Pkcs11| -> Result<Option<Slot>, CliError> {
        for s in p11
            .get_slots_with_initialized_token()
            .map_err(fail("C_GetSlotList"))?
        {
            let t = p11.get_token_info(s).map_err(fail("C_GetTokenInfo"))?;
            if t.label() == LABEL {
                return Ok(Some(s));
            }
        }
        Ok(None)
    };
    if let Some(s) = find(p11)? {
        return Ok(s);
    }
    let free = p11
        .get_slots_with_token()
        .map_err(fail("C_GetSlotList"))?
        .into_iter()
        .find(|&s| p11.get_token_info(s).is_ok_and(|t| !t.token_initialized()))
        .ok_or_else(|| CliError::usage("no free slot to initialise the quickstart token in"))?;
    let so = AuthPin::from(so_pin.to_string());
    p11.init_token(free, &so, LABEL)
        .map_err(fail("C_InitToken"))?;
    let slot = find(p11)?.ok_or_else(|| CliError::usage("the new token did not appear"))?;
    let s = p11.open_rw_session(slot).map_err(fail("C_OpenSession"))?;
    s.login(UserType::So, Some(&so))
        .map_err(fail("C_Login as SO"))?;
    s.init_pin(&AuthPin::from(pin.to_string()))
        .map_err(fail("C_InitPIN"))?;
    s.logout().map_err(fail("C_Logout"))?;
    println!("created  token `{LABEL}` (C_InitToken, C_InitPIN)");
    Ok(slot)
}

/// The key pair labelled `label`, generated on first use with the usage and parameters
/// (CKA_EC_PARAMS, CKA_PARAMETER_SET) in `public_attrs` and `private_attrs`.
fn key_pair(
    session: &Session,
    label: &str,
    mechanism: Mechanism,
    public_attrs: Vec<Attribute>,
    private_attrs: Vec<Attribute>,
) -> Result<(ObjectHandle, ObjectHandle), CliError> {
    let find = |class| {
        session
            .find_objects(&[
                Attribute::Class(class),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(fail("C_FindObjects"))
    };
    if let (Some(&public), Some(&private)) = (
        find(ObjectClass::PUBLIC_KEY)?.first(),
        find(ObjectClass::PRIVATE_KEY)?.first(),
    ) {
        return Ok((public, private));
    }
    let common = |extra: Vec<Attribute>| {
        let mut attrs = vec![
            Attribute::Token(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(vec![0, 0, 0, 1]),
        ];
        attrs.extend(extra);
        attrs
    };
    let public = common(public_attrs);
    let mut private = common(private_attrs);
    private.push(Attribute::Private(true));
    let pair = session
        .generate_key_pair(&mechanism, &public, &private)
        .map_err(fail("C_GenerateKeyPair"))?;
    println!("keygen   {label} (C_GenerateKeyPair, sensitive and non-extractable)");
    Ok(pair)
}

fn ec_point(session: &Session, public: ObjectHandle) -> Result<Vec<u8>, CliError> {
    let attrs = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(fail("C_GetAttributeValue"))?;
    match attrs.into_iter().next() {
        // CKA_EC_POINT is a DER OCTET STRING around the point; the short form suffices here.
        Some(Attribute::EcPoint(der)) if der.len() > 2 && der[0] == 0x04 => Ok(der[2..].to_vec()),
        _ => Err(CliError {
            message: "the public key has no readable CKA_EC_POINT".into(),
            code: 3,
        }),
    }
}

fn ecdsa_p256(session: &Session, message: &[u8]) -> Result<(), CliError> {
    use p256::ecdsa::signature::Verifier;
    let (public, private) = key_pair(
        session,
        "quickstart-ec-p256",
        Mechanism::EccKeyPairGen,
        vec![
            Attribute::Verify(true),
            Attribute::EcParams(P256_OID.to_vec()),
        ],
        vec![Attribute::Sign(true)],
    )?;
    let sig = session
        .sign(&Mechanism::EcdsaSha256, private, message)
        .map_err(fail("C_Sign"))?;
    session
        .verify(&Mechanism::EcdsaSha256, public, message, &sig)
        .map_err(fail("C_Verify"))?;
    let point = ec_point(session, public)?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|e| CliError {
        message: format!("bad P-256 point from the token: {e}"),
        code: 3,
    })?;
    let s = p256::ecdsa::Signature::from_slice(&sig).map_err(|e| CliError {
        message: format!("bad ECDSA signature from the token: {e}"),
        code: 3,
    })?;
    key.verify(message, &s).map_err(|e| CliError {
        message: format!("independent P-256 verification failed: {e}"),
        code: 3,
    })?;
    println!(
        "sign     ECDSA P-256 / SHA-256: {} bytes, verified by the token and by the p256 crate",
        sig.len()
    );
    Ok(())
}

fn ed25519(session: &Session, message: &[u8]) -> Result<(), CliError> {
    let (public, private) = key_pair(
        session,
        "quickstart-ed25519",
        Mechanism::EccEdwardsKeyPairGen,
        vec![
            Attribute::Verify(true),
            Attribute::EcParams(ED25519_OID.to_vec()),
        ],
        vec![Attribute::Sign(true)],
    )?;
    let mech = Mechanism::Eddsa(cryptoki::mechanism::eddsa::EddsaParams::new(
        cryptoki::mechanism::eddsa::EddsaSignatureScheme::Pure,
    ));
    let sig = session
        .sign(&mech, private, message)
        .map_err(fail("C_Sign"))?;
    session
        .verify(&mech, public, message, &sig)
        .map_err(fail("C_Verify"))?;
    let point: [u8; 32] = ec_point(session, public)?
        .try_into()
        .map_err(|_| CliError {
            message: "an Ed25519 public key has 32 bytes".into(),
            code: 3,
        })?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&point).map_err(|e| CliError {
        message: format!("bad Ed25519 key from the token: {e}"),
        code: 3,
    })?;
    let s = ed25519_dalek::Signature::from_slice(&sig).map_err(|e| CliError {
        message: format!("bad Ed25519 signature from the token: {e}"),
        code: 3,
    })?;
    key.verify_strict(message, &s).map_err(|e| CliError {
        message: format!("independent Ed25519 verification failed: {e}"),
        code: 3,
    })?;
    println!(
        "sign     Ed25519: {} bytes, verified by the token and by ed25519-dalek",
        sig.len()
    );
    Ok(())
}

fn bad(what: &str) -> impl Fn(String) -> CliError + '_ {
    move |e| CliError {
        message: format!("{what}: {e}"),
        code: 3,
    }
}

/// CKA_VALUE of a post-quantum public key: the raw FIPS public key.
fn public_value(session: &Session, public: ObjectHandle) -> Result<Vec<u8>, CliError> {
    let attrs = session
        .get_attributes(public, &[AttributeType::Value])
        .map_err(fail("C_GetAttributeValue"))?;
    match attrs.into_iter().next() {
        Some(Attribute::Value(v)) => Ok(v),
        _ => Err(bad("the public key")("no readable CKA_VALUE".into())),
    }
}

fn ml_dsa_65(session: &Session, message: &[u8]) -> Result<(), CliError> {
    use ml_dsa::{MlDsa65, Signature, VerifyingKey};
    let (public, private) = key_pair(
        session,
        "quickstart-ml-dsa-65",
        Mechanism::MlDsaKeyPairGen,
        vec![
            Attribute::Verify(true),
            Attribute::ParameterSet(MlDsaParameterSetType::ML_DSA_65.into()),
        ],
        vec![Attribute::Sign(true)],
    )?;
    let mech = Mechanism::MlDsa(SignAdditionalContext::new(
        HedgeType::Preferred,
        Some(ML_DSA_CONTEXT),
    ));
    let sig = session
        .sign(&mech, private, message)
        .map_err(fail("C_Sign"))?;
    session
        .verify(&mech, public, message, &sig)
        .map_err(fail("C_Verify"))?;
    let encoded = hybrid_array::Array::try_from(public_value(session, public)?.as_slice())
        .map_err(|_| bad("the ML-DSA-65 public key")("not 1952 bytes".into()))?;
    let key = VerifyingKey::<MlDsa65>::decode(&encoded);
    let s = Signature::<MlDsa65>::try_from(sig.as_slice())
        .map_err(|e| bad("bad ML-DSA-65 signature from the token")(e.to_string()))?;
    if !key.verify_with_context(message, ML_DSA_CONTEXT, &s) {
        return Err(bad("independent ML-DSA-65 verification")("failed".into()));
    }
    println!(
        "sign     ML-DSA-65: {} bytes, verified by the token and by the ml-dsa crate",
        sig.len()
    );
    Ok(())
}

/// Encapsulate to the ML-KEM-768 public key and decapsulate with the private key: two
/// secret-key objects (session objects, gone at logout) that must hold the same secret,
/// shown by both giving the same HMAC.
fn ml_kem_768(session: &Session) -> Result<(), CliError> {
    let (public, private) = key_pair(
        session,
        "quickstart-ml-kem-768",
        Mechanism::MlKemKeyPairGen,
        vec![
            Attribute::Encapsulate(true),
            Attribute::ParameterSet(MlKemParameterSetType::ML_KEM_768.into()),
        ],
        vec![Attribute::Decapsulate(true)],
    )?;
    let secret = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(false),
        Attribute::Sign(true),
    ];
    let (ct, sent) = session
        .encapsulate_key(&Mechanism::MlKem, public, &secret)
        .map_err(fail("C_EncapsulateKey"))?;
    let received = session
        .decapsulate_key(&Mechanism::MlKem, private, &secret, &ct)
        .map_err(fail("C_DecapsulateKey"))?;
    let probe = b"pqhsm quickstart: the same secret on both sides";
    let mac = |key| {
        session
            .sign(&Mechanism::Sha256Hmac, key, probe)
            .map_err(fail("C_Sign (HMAC-SHA256)"))
    };
    if mac(sent)? != mac(received)? {
        return Err(bad("ML-KEM-768 round trip")(
            "the decapsulated secret differs from the encapsulated one".into(),
        ));
    }
    println!(
        "kem      ML-KEM-768: {}-byte ciphertext, encapsulated and decapsulated keys agree (HMAC compared)",
        ct.len()
    );
    for key in [sent, received] {
        session
            .destroy_object(key)
            .map_err(fail("C_DestroyObject"))?;
    }
    Ok(())
}
