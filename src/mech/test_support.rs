//! Helpers the mechanism tests share (test builds only): templates from key attributes,
//! and sign/verify/cipher operations driven the way the session layer drives them, with the
//! lengths each operation announces checked against what it produces.

use super::{
    generate_key_pair, keys, sign_init, verify_init, CipherOp, GeneratedPair, KeyAttrs, KeyMaterial,
};
use crate::attr::{Attr, Template};
use crate::error::Result;
use crate::mech::params::Mechanism;
use cryptoki_sys as ck;

pub fn template(attrs: Vec<Attr>) -> Template {
    Template::new(attrs).expect("test templates have no duplicates")
}

/// Public and secret key attributes together, as the session layer hands them to `load`.
pub fn all(a: &KeyAttrs) -> Template {
    template(a.public.iter().chain(&a.secret).cloned().collect())
}

pub fn secret(key_type: ck::CK_KEY_TYPE, value: &[u8]) -> KeyMaterial {
    KeyMaterial::secret_key(key_type, value)
}

/// Single-part C_Sign; the signature must have the announced length.
pub fn sign(m: &Mechanism, k: &KeyMaterial, data: &[u8]) -> Result<Vec<u8>> {
    let mut op = sign_init(m, k)?;
    op.update(data)?;
    let len = op.sig_len();
    let sig = op.finish()?;
    assert_eq!(
        sig.len(),
        len,
        "the signature length differs from the announced one"
    );
    Ok(sig)
}

pub fn verify(m: &Mechanism, k: &KeyMaterial, data: &[u8], sig: &[u8]) -> Result<()> {
    let mut op = verify_init(m, k)?;
    op.update(data)?;
    op.finish(sig)
}

/// Multi-part encryption or decryption in `chunk`-byte updates; no call may write more
/// than it announced.
pub fn run_parts(mut op: Box<dyn CipherOp>, data: &[u8], chunk: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for part in data.chunks(chunk.max(1)) {
        let bound = op.update_len(part.len());
        let o = op.update(part)?;
        assert!(
            o.len() <= bound,
            "update wrote {} bytes, announced {bound}",
            o.len()
        );
        out.extend_from_slice(&o);
    }
    let bound = op.final_len();
    let o = op.finish()?;
    assert!(
        o.len() <= bound,
        "finish wrote {} bytes, announced {bound}",
        o.len()
    );
    out.extend_from_slice(&o);
    Ok(out)
}

/// Single-part C_Encrypt/C_Decrypt; the output must fit the announced length.
pub fn one_shot(op: Result<Box<dyn CipherOp>>, data: &[u8]) -> Result<Vec<u8>> {
    let op = op?;
    let bound = op.one_shot_len(data.len());
    let out = run_parts(op, data, data.len())?;
    assert!(
        out.len() <= bound,
        "wrote {} bytes, announced {bound}",
        out.len()
    );
    Ok(out)
}

/// C_GenerateKeyPair, then both halves loaded the way the session layer loads objects.
pub fn generate_pair(
    mech: ck::CK_MECHANISM_TYPE,
    public: Vec<Attr>,
) -> (KeyMaterial, KeyMaterial, GeneratedPair) {
    let g = generate_key_pair(
        &Mechanism::new(mech),
        &template(public),
        &Template::default(),
    )
    .expect("key pair generation");
    let prv =
        keys::load(ck::CKO_PRIVATE_KEY, g.key_type, &all(&g.private_key)).expect("private half");
    let public = keys::load(
        ck::CKO_PUBLIC_KEY,
        g.key_type,
        &template(g.public_key.clone()),
    )
    .expect("public half");
    (prv, public, g)
}
