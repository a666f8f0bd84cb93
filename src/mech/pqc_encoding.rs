//! IETF LAMPS encodings of post-quantum keys: the NIST object identifiers, SubjectPublicKeyInfo
//! (DER and PEM) and PKCS#8 OneAsymmetricKey for ML-KEM, ML-DSA and SLH-DSA. It turns bytes
//! into structure and back; it never decides whether a seed and an expanded key agree (the
//! family modules do that).

use crate::error::{err, Error, ErrorKind, Result};
use cryptoki_sys as ck;
use der::asn1::{BitStringRef, ContextSpecific, OctetStringRef};
use der::pem::LineEnding;
use der::{
    Decode, Encode, EncodeValue, FixedTag, Length, Reader, SliceReader, Tag, TagMode, TagNumber,
    Writer,
};
use pkcs8::{AlgorithmIdentifierRef, ObjectIdentifier, PrivateKeyInfoRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

/// Object identifiers under the NIST arc 2.16.840.1.101.3.4 (sigAlgs .3, kems .4), with the
/// key type and CKA_PARAMETER_SET value each names. Algorithm parameters are always absent.
const ALGORITHMS: &[(ck::CK_KEY_TYPE, ck::CK_ULONG, ObjectIdentifier)] = &[
    (
        ck::CKK_ML_KEM,
        ck::CKP_ML_KEM_512,
        oid("2.16.840.1.101.3.4.4.1"),
    ),
    (
        ck::CKK_ML_KEM,
        ck::CKP_ML_KEM_768,
        oid("2.16.840.1.101.3.4.4.2"),
    ),
    (
        ck::CKK_ML_KEM,
        ck::CKP_ML_KEM_1024,
        oid("2.16.840.1.101.3.4.4.3"),
    ),
    (
        ck::CKK_ML_DSA,
        ck::CKP_ML_DSA_44,
        oid("2.16.840.1.101.3.4.3.17"),
    ),
    (
        ck::CKK_ML_DSA,
        ck::CKP_ML_DSA_65,
        oid("2.16.840.1.101.3.4.3.18"),
    ),
    (
        ck::CKK_ML_DSA,
        ck::CKP_ML_DSA_87,
        oid("2.16.840.1.101.3.4.3.19"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHA2_128S,
        oid("2.16.840.1.101.3.4.3.20"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHA2_128F,
        oid("2.16.840.1.101.3.4.3.21"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHA2_192S,
        oid("2.16.840.1.101.3.4.3.22"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHA2_192F,
        oid("2.16.840.1.101.3.4.3.23"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHA2_256S,
        oid("2.16.840.1.101.3.4.3.24"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHA2_256F,
        oid("2.16.840.1.101.3.4.3.25"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHAKE_128S,
        oid("2.16.840.1.101.3.4.3.26"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHAKE_128F,
        oid("2.16.840.1.101.3.4.3.27"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHAKE_192S,
        oid("2.16.840.1.101.3.4.3.28"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHAKE_192F,
        oid("2.16.840.1.101.3.4.3.29"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHAKE_256S,
        oid("2.16.840.1.101.3.4.3.30"),
    ),
    (
        ck::CKK_SLH_DSA,
        ck::CKP_SLH_DSA_SHAKE_256F,
        oid("2.16.840.1.101.3.4.3.31"),
    ),
];

const fn oid(s: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(s)
}

/// The post-quantum algorithm an object identifier names: (key type, parameter set).
pub fn algorithm_of(oid: &ObjectIdentifier) -> Option<(ck::CK_KEY_TYPE, ck::CK_ULONG)> {
    ALGORITHMS
        .iter()
        .find(|(_, _, o)| o == oid)
        .map(|(kt, ps, _)| (*kt, *ps))
}

/// The object identifier of a post-quantum key type and parameter set.
pub fn oid_of(key_type: ck::CK_KEY_TYPE, parameter_set: ck::CK_ULONG) -> Result<ObjectIdentifier> {
    ALGORITHMS
        .iter()
        .find(|(kt, ps, _)| *kt == key_type && *ps == parameter_set)
        .map(|(_, _, o)| *o)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::ParameterSetNotSupported,
                format!("key type {key_type:#x} has no parameter set {parameter_set}"),
            )
        })
}

fn algorithm_id(oid: ObjectIdentifier) -> AlgorithmIdentifierRef<'static> {
    AlgorithmIdentifierRef {
        oid,
        parameters: None,
    }
}

fn encoding_failed(e: der::Error) -> Error {
    Error::new(
        ErrorKind::General,
        format!("encoding a post-quantum key failed: {e}"),
    )
}

/// SubjectPublicKeyInfo DER: the algorithm OID and the raw FIPS public key as the BIT STRING.
pub fn spki_der(
    key_type: ck::CK_KEY_TYPE,
    parameter_set: ck::CK_ULONG,
    public: &[u8],
) -> Result<Vec<u8>> {
    let info = SubjectPublicKeyInfoRef {
        algorithm: algorithm_id(oid_of(key_type, parameter_set)?),
        subject_public_key: BitStringRef::from_bytes(public).map_err(encoding_failed)?,
    };
    info.to_der().map_err(encoding_failed)
}

/// SubjectPublicKeyInfo as a `PUBLIC KEY` PEM block.
pub fn spki_pem(
    key_type: ck::CK_KEY_TYPE,
    parameter_set: ck::CK_ULONG,
    public: &[u8],
) -> Result<String> {
    let der = spki_der(key_type, parameter_set, public)?;
    der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &der).map_err(|e| {
        Error::new(
            ErrorKind::General,
            format!("encoding a public key as PEM failed: {e}"),
        )
    })
}

/// A parsed post-quantum public key: key type, parameter set and the raw FIPS public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyInfo {
    pub key_type: ck::CK_KEY_TYPE,
    pub parameter_set: ck::CK_ULONG,
    pub public: Vec<u8>,
}

/// Parse SubjectPublicKeyInfo DER naming one of the post-quantum algorithms. The key length is
/// not checked here; the family's import check does that.
pub fn parse_spki(der: &[u8]) -> Result<PublicKeyInfo> {
    let bad = |what: &dyn std::fmt::Display| {
        Error::new(
            ErrorKind::AttributeValueInvalid,
            format!("the SubjectPublicKeyInfo does not parse: {what}"),
        )
    };
    let info = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| bad(&e))?;
    if info.algorithm.parameters.is_some() {
        return Err(bad(
            &"post-quantum algorithm identifiers take no parameters",
        ));
    }
    let Some((key_type, parameter_set)) = algorithm_of(&info.algorithm.oid) else {
        return Err(bad(&format_args!(
            "algorithm {} is not a post-quantum algorithm this token knows",
            info.algorithm.oid
        )));
    };
    let public = info
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad(&"the public key BIT STRING has unused bits"))?;
    Ok(PublicKeyInfo {
        key_type,
        parameter_set,
        public: public.to_vec(),
    })
}

/// Parse a `PUBLIC KEY` PEM block (see [`parse_spki`]).
pub fn parse_spki_pem(pem: &str) -> Result<PublicKeyInfo> {
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).map_err(|e| {
        Error::new(
            ErrorKind::AttributeValueInvalid,
            format!("the public key PEM does not parse: {e}"),
        )
    })?;
    if label != "PUBLIC KEY" {
        return err(
            ErrorKind::AttributeValueInvalid,
            format!("expected a PUBLIC KEY PEM block, found {label}"),
        );
    }
    parse_spki(&der)
}

/// The private key of an ML-KEM or ML-DSA PKCS#8 structure (the LAMPS CHOICE): the FIPS seed,
/// the expanded FIPS private key, or both.
pub enum PrivateKeyChoice {
    Seed(Zeroizing<Vec<u8>>),
    Expanded(Zeroizing<Vec<u8>>),
    Both {
        seed: Zeroizing<Vec<u8>>,
        expanded: Zeroizing<Vec<u8>>,
    },
}

impl PrivateKeyChoice {
    pub fn seed(&self) -> Option<&[u8]> {
        match self {
            PrivateKeyChoice::Seed(s) | PrivateKeyChoice::Both { seed: s, .. } => Some(s),
            PrivateKeyChoice::Expanded(_) => None,
        }
    }
    pub fn expanded(&self) -> Option<&[u8]> {
        match self {
            PrivateKeyChoice::Expanded(e) | PrivateKeyChoice::Both { expanded: e, .. } => Some(e),
            PrivateKeyChoice::Seed(_) => None,
        }
    }
}

/// `both SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING }`.
struct Both<'a> {
    seed: &'a OctetStringRef,
    expanded: &'a OctetStringRef,
}

impl EncodeValue for Both<'_> {
    fn value_len(&self) -> der::Result<Length> {
        self.seed.encoded_len()? + self.expanded.encoded_len()?
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.seed.encode(writer)?;
        self.expanded.encode(writer)
    }
}

impl FixedTag for Both<'_> {
    const TAG: Tag = Tag::Sequence;
}

const SEED_TAG: TagNumber = TagNumber(0);

fn encode_choice(choice: &PrivateKeyChoice) -> der::Result<Zeroizing<Vec<u8>>> {
    let der = match choice {
        PrivateKeyChoice::Seed(seed) => ContextSpecific {
            tag_number: SEED_TAG,
            tag_mode: TagMode::Implicit,
            value: OctetStringRef::new(seed)?,
        }
        .to_der()?,
        PrivateKeyChoice::Expanded(expanded) => OctetStringRef::new(expanded)?.to_der()?,
        PrivateKeyChoice::Both { seed, expanded } => Both {
            seed: OctetStringRef::new(seed)?,
            expanded: OctetStringRef::new(expanded)?,
        }
        .to_der()?,
    };
    Ok(Zeroizing::new(der))
}

fn decode_choice(bytes: &[u8]) -> der::Result<PrivateKeyChoice> {
    let mut reader = SliceReader::new(bytes)?;
    let owned = |o: &OctetStringRef| Zeroizing::new(o.as_bytes().to_vec());
    let choice = match Tag::peek(&reader)? {
        Tag::ContextSpecific {
            constructed: false,
            number: SEED_TAG,
        } => {
            let seed = ContextSpecific::<&OctetStringRef>::decode_implicit(&mut reader, SEED_TAG)?
                .ok_or_else(|| Tag::OctetString.value_error().to_error())?;
            PrivateKeyChoice::Seed(owned(seed.value))
        }
        Tag::OctetString => PrivateKeyChoice::Expanded(owned(reader.decode::<&OctetStringRef>()?)),
        Tag::Sequence => reader.sequence(|r| {
            let seed = owned(r.decode::<&OctetStringRef>()?);
            let expanded = owned(r.decode::<&OctetStringRef>()?);
            Ok::<_, der::Error>(PrivateKeyChoice::Both { seed, expanded })
        })?,
        other => return Err(other.value_error().to_error()),
    };
    reader.finish()?;
    Ok(choice)
}

/// The private part of a post-quantum PKCS#8 key.
pub enum PrivateKey {
    /// ML-KEM and ML-DSA: the LAMPS CHOICE.
    Lattice(PrivateKeyChoice),
    /// SLH-DSA: the raw FIPS 205 private key SK.seed‖SK.prf‖PK.seed‖PK.root.
    Raw(Zeroizing<Vec<u8>>),
}

/// A decoded post-quantum PKCS#8 key. `public` is the optional OneAsymmetricKey v2 public key.
pub struct Pkcs8Key {
    pub key_type: ck::CK_KEY_TYPE,
    pub parameter_set: ck::CK_ULONG,
    pub private: PrivateKey,
    pub public: Option<Vec<u8>>,
}

fn bad_pkcs8(what: &dyn std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::WrappedKeyInvalid,
        format!("the PKCS#8 private key does not parse: {what}"),
    )
}

/// Encode a PKCS#8 (OneAsymmetricKey v1) private key.
pub fn pkcs8_der(
    key_type: ck::CK_KEY_TYPE,
    parameter_set: ck::CK_ULONG,
    private: &PrivateKey,
) -> Result<Zeroizing<Vec<u8>>> {
    let octets = match private {
        PrivateKey::Lattice(choice) => encode_choice(choice).map_err(encoding_failed)?,
        PrivateKey::Raw(raw) => raw.clone(),
    };
    let info = PrivateKeyInfoRef::new(
        algorithm_id(oid_of(key_type, parameter_set)?),
        OctetStringRef::new(&octets).map_err(encoding_failed)?,
    );
    info.to_der().map(Zeroizing::new).map_err(encoding_failed)
}

/// Decode PKCS#8 DER whose algorithm is one of the post-quantum OIDs. Returns None for any
/// other algorithm so the caller can route it elsewhere.
pub fn parse_pkcs8(der: &[u8]) -> Result<Option<Pkcs8Key>> {
    let info = PrivateKeyInfoRef::from_der(der).map_err(|e| bad_pkcs8(&e))?;
    let Some((key_type, parameter_set)) = algorithm_of(&info.algorithm.oid) else {
        return Ok(None);
    };
    if info.algorithm.parameters.is_some() {
        return Err(bad_pkcs8(
            &"post-quantum algorithm identifiers take no parameters",
        ));
    }
    let octets = info.private_key.as_bytes();
    let private = if key_type == ck::CKK_SLH_DSA {
        PrivateKey::Raw(Zeroizing::new(octets.to_vec()))
    } else {
        PrivateKey::Lattice(decode_choice(octets).map_err(|e| bad_pkcs8(&e))?)
    };
    let public = match &info.public_key {
        Some(bits) => Some(
            bits.as_bytes()
                .ok_or_else(|| bad_pkcs8(&"the public key BIT STRING has unused bits"))?
                .to_vec(),
        ),
        None => None,
    };
    Ok(Some(Pkcs8Key {
        key_type,
        parameter_set,
        private,
        public,
    }))
}

/// Decode a `PRIVATE KEY` PEM block (see [`parse_pkcs8`]).
pub fn parse_pkcs8_pem(pem: &str) -> Result<Option<Pkcs8Key>> {
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).map_err(|e| bad_pkcs8(&e))?;
    let der = Zeroizing::new(der);
    if label != "PRIVATE KEY" {
        return Err(bad_pkcs8(&format_args!(
            "expected a PRIVATE KEY PEM block, found {label}"
        )));
    }
    parse_pkcs8(&der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pkcs8::der::oid::AssociatedOid;
    use pkcs8::spki::AssociatedAlgorithmIdentifier;

    #[test]
    fn object_identifiers_match_the_crates() {
        use slh_dsa::ParameterSet;
        let crate_oids = [
            (ck::CKK_ML_KEM, ck::CKP_ML_KEM_512, ml_kem::MlKem512::OID),
            (ck::CKK_ML_KEM, ck::CKP_ML_KEM_768, ml_kem::MlKem768::OID),
            (ck::CKK_ML_KEM, ck::CKP_ML_KEM_1024, ml_kem::MlKem1024::OID),
            (
                ck::CKK_ML_DSA,
                ck::CKP_ML_DSA_44,
                <ml_dsa::MlDsa44 as AssociatedAlgorithmIdentifier>::ALGORITHM_IDENTIFIER.oid,
            ),
            (
                ck::CKK_ML_DSA,
                ck::CKP_ML_DSA_65,
                <ml_dsa::MlDsa65 as AssociatedAlgorithmIdentifier>::ALGORITHM_IDENTIFIER.oid,
            ),
            (
                ck::CKK_ML_DSA,
                ck::CKP_ML_DSA_87,
                <ml_dsa::MlDsa87 as AssociatedAlgorithmIdentifier>::ALGORITHM_IDENTIFIER.oid,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHA2_128S,
                slh_dsa::Sha2_128s::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHA2_128F,
                slh_dsa::Sha2_128f::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHA2_192S,
                slh_dsa::Sha2_192s::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHA2_192F,
                slh_dsa::Sha2_192f::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHA2_256S,
                slh_dsa::Sha2_256s::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHA2_256F,
                slh_dsa::Sha2_256f::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHAKE_128S,
                slh_dsa::Shake128s::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHAKE_128F,
                slh_dsa::Shake128f::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHAKE_192S,
                slh_dsa::Shake192s::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHAKE_192F,
                slh_dsa::Shake192f::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHAKE_256S,
                slh_dsa::Shake256s::ALGORITHM_OID,
            ),
            (
                ck::CKK_SLH_DSA,
                ck::CKP_SLH_DSA_SHAKE_256F,
                slh_dsa::Shake256f::ALGORITHM_OID,
            ),
        ];
        assert_eq!(crate_oids.len(), ALGORITHMS.len());
        for (kt, ps, o) in crate_oids {
            assert_eq!(oid_of(kt, ps).unwrap(), o, "key type {kt:#x} set {ps}");
            assert_eq!(algorithm_of(&o), Some((kt, ps)));
        }
        assert_eq!(
            oid_of(ck::CKK_ML_DSA, 4).unwrap_err().kind(),
            ErrorKind::ParameterSetNotSupported
        );
    }

    #[test]
    fn every_private_key_choice_round_trips() {
        let seed = Zeroizing::new((0u8..32).collect::<Vec<_>>());
        let expanded = Zeroizing::new(vec![7u8; 2560]);
        let forms = [
            PrivateKeyChoice::Seed(seed.clone()),
            PrivateKeyChoice::Expanded(expanded.clone()),
            PrivateKeyChoice::Both {
                seed: seed.clone(),
                expanded: expanded.clone(),
            },
        ];
        let first_bytes = [0x80u8, 0x04, 0x30];
        for (form, first) in forms.into_iter().zip(first_bytes) {
            let choice_der = encode_choice(&form).unwrap();
            assert_eq!(choice_der[0], first);
            let der = pkcs8_der(
                ck::CKK_ML_DSA,
                ck::CKP_ML_DSA_44,
                &PrivateKey::Lattice(form),
            )
            .unwrap();
            let back = parse_pkcs8(&der).unwrap().unwrap();
            assert_eq!(
                (back.key_type, back.parameter_set),
                (ck::CKK_ML_DSA, ck::CKP_ML_DSA_44)
            );
            let PrivateKey::Lattice(choice) = back.private else {
                panic!("ML-DSA must decode as the LAMPS CHOICE")
            };
            if first != 0x04 {
                assert_eq!(choice.seed().unwrap(), seed.as_slice());
            }
            if first != 0x80 {
                assert_eq!(choice.expanded().unwrap(), expanded.as_slice());
            }
        }
    }

    #[test]
    fn seed_form_matches_the_lamps_bytes() {
        // The seed CHOICE is [0] IMPLICIT OCTET STRING: 0x80, length, seed.
        let seed = Zeroizing::new(vec![0xab; 64]);
        let der = encode_choice(&PrivateKeyChoice::Seed(seed)).unwrap();
        assert_eq!(&der[..2], &[0x80, 0x40]);
        assert_eq!(der.len(), 66);
    }

    #[test]
    fn trailing_garbage_and_unknown_tags_are_refused() {
        let seed = Zeroizing::new(vec![1u8; 32]);
        let mut bytes = encode_choice(&PrivateKeyChoice::Seed(seed))
            .unwrap()
            .to_vec();
        bytes.push(0);
        assert!(decode_choice(&bytes).is_err());
        assert!(decode_choice(&[0x81, 0x01, 0x00]).is_err());
        assert!(decode_choice(&[]).is_err());
    }

    #[test]
    fn spki_round_trips_in_der_and_pem() {
        let pk = vec![0x5a; 1184];
        let der = spki_der(ck::CKK_ML_KEM, ck::CKP_ML_KEM_768, &pk).unwrap();
        let info = parse_spki(&der).unwrap();
        assert_eq!(info.key_type, ck::CKK_ML_KEM);
        assert_eq!(info.parameter_set, ck::CKP_ML_KEM_768);
        assert_eq!(info.public, pk);
        let pem = spki_pem(ck::CKK_ML_KEM, ck::CKP_ML_KEM_768, &pk).unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(parse_spki_pem(&pem).unwrap(), info);
    }

    #[test]
    fn foreign_algorithms_are_left_to_the_caller() {
        // An Ed25519 PKCS#8 key (RFC 8410 example).
        let ed = hex::decode(
            "302e020100300506032b657004220420d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842",
        )
        .unwrap();
        assert!(parse_pkcs8(&ed).unwrap().is_none());
        let e = parse_spki(
            &hex::decode("302a300506032b6570032100".to_string() + &"00".repeat(32)).unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AttributeValueInvalid);
    }

    #[test]
    fn lamps_examples_parse() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/vectors/lamps-examples"
        );
        let mut n = 0;
        for (name, set) in [
            ("ML-DSA-44", ck::CKP_ML_DSA_44),
            ("ML-DSA-65", ck::CKP_ML_DSA_65),
            ("ML-DSA-87", ck::CKP_ML_DSA_87),
        ] {
            let pem = std::fs::read_to_string(format!("{dir}/{name}-seed.priv")).unwrap();
            let key = parse_pkcs8_pem(&pem).unwrap().unwrap();
            assert_eq!((key.key_type, key.parameter_set), (ck::CKK_ML_DSA, set));
            let PrivateKey::Lattice(PrivateKeyChoice::Seed(seed)) = key.private else {
                panic!("{name}: the example is a seed-only key")
            };
            assert_eq!(seed.as_slice(), (0u8..32).collect::<Vec<_>>().as_slice());
            let pub_pem = std::fs::read_to_string(format!("{dir}/{name}.pub")).unwrap();
            let info = parse_spki_pem(&pub_pem).unwrap();
            assert_eq!(info.parameter_set, set);
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
