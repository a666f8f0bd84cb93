//! The PKCS#11 3.2 face of the module: C_GetInterface and C_GetInterfaceList hand out the
//! 3.2, 3.0 and 2.40 function lists with their versions (3.2 by default, with the KEM and
//! VerifySignature functions filled), C_GetMechanismInfo reports the post-quantum
//! mechanisms with real flags and key sizes, and pkcs11-tool lists them without crashing.
//! SoftHSM2 is a 2.40/3.0 module without these: pqhsm only.

mod common;

use common::interface::Interfaces;
use common::Token;
use cryptoki::context::Function;
use cryptoki_sys::*;
use std::process::Command;

/// A post-quantum mechanism's row as C_GetMechanismInfo must report it.
struct Expected {
    mech: CK_MECHANISM_TYPE,
    min: CK_ULONG,
    max: CK_ULONG,
    flags: CK_FLAGS,
}

const SIGN_VERIFY: CK_FLAGS = CKF_SIGN | CKF_VERIFY;

fn expected() -> Vec<Expected> {
    let row = |mech, min, max, flags| Expected {
        mech,
        min,
        max,
        flags,
    };
    let mut v = vec![
        row(CKM_ML_KEM_KEY_PAIR_GEN, 800, 1568, CKF_GENERATE_KEY_PAIR),
        row(CKM_ML_KEM, 800, 1568, CKF_ENCAPSULATE | CKF_DECAPSULATE),
        row(CKM_ML_DSA_KEY_PAIR_GEN, 1312, 2592, CKF_GENERATE_KEY_PAIR),
        row(CKM_ML_DSA, 1312, 2592, SIGN_VERIFY),
        row(CKM_HASH_ML_DSA, 1312, 2592, SIGN_VERIFY),
        row(CKM_SLH_DSA_KEY_PAIR_GEN, 32, 64, CKF_GENERATE_KEY_PAIR),
        row(CKM_SLH_DSA, 32, 64, SIGN_VERIFY),
        row(CKM_HASH_SLH_DSA, 32, 64, SIGN_VERIFY),
    ];
    for m in CKM_HASH_ML_DSA_SHA224..=CKM_HASH_ML_DSA_SHAKE256 {
        v.push(row(m, 1312, 2592, SIGN_VERIFY));
    }
    for m in CKM_HASH_SLH_DSA_SHA224..=CKM_HASH_SLH_DSA_SHAKE256 {
        v.push(row(m, 32, 64, SIGN_VERIFY));
    }
    v
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pqhsm_only! {
    /// C_GetInterface(NULL, NULL) is the 3.2 list, named "PKCS 11", flags 0, with every 3.2
    /// function filled; cryptoki therefore treats the module as 3.2.
    fn default_interface_is_3_2(b: Backend) {
        let t = Token::new(b);
        let iface = Interfaces::load(&b.module_path());
        let default = iface.get(None, None).expect("C_GetInterface(NULL, NULL)");
        assert_eq!((default.name.as_str(), default.version, default.flags), ("PKCS 11", (3, 2), 0));
        let named = iface.get(Some("PKCS 11"), None).expect("C_GetInterface(\"PKCS 11\", NULL)");
        assert_eq!(named, default, "the named default is the same interface");

        let f = iface.functions_3_2();
        assert_eq!((f.version.major, f.version.minor), (3, 2));
        let filled = [
            ("C_EncapsulateKey", f.C_EncapsulateKey.is_some()),
            ("C_DecapsulateKey", f.C_DecapsulateKey.is_some()),
            ("C_VerifySignatureInit", f.C_VerifySignatureInit.is_some()),
            ("C_VerifySignature", f.C_VerifySignature.is_some()),
            ("C_VerifySignatureUpdate", f.C_VerifySignatureUpdate.is_some()),
            ("C_VerifySignatureFinal", f.C_VerifySignatureFinal.is_some()),
            ("C_GetSessionValidationFlags", f.C_GetSessionValidationFlags.is_some()),
            ("C_MessageEncryptInit", f.C_MessageEncryptInit.is_some()),
            ("C_WaitForSlotEvent", f.C_WaitForSlotEvent.is_some()),
        ];
        for (name, ok) in filled {
            assert!(ok, "the 3.2 list must fill {name}");
        }
        for func in [
            Function::EncapsulateKey,
            Function::DecapsulateKey,
            Function::VerifySignatureInit,
            Function::VerifySignature,
            Function::VerifySignatureUpdate,
            Function::VerifySignatureFinal,
        ] {
            assert!(t.ctx.is_fn_supported(func), "cryptoki must see {func:?}");
        }
        let info = ck!(t.ctx.get_library_info());
        assert_eq!(info.cryptoki_version().major(), 3);
        assert_eq!(info.cryptoki_version().minor(), 2);

        // Through the 3.2 list: session validation flags answer, async and authenticated
        // wrap are the functions allowed to decline.
        let s = t.session();
        let mut flags: CK_FLAGS = 0xff;
        // SAFETY: a live session handle and one output word.
        let rv = unsafe {
            f.C_GetSessionValidationFlags.expect("filled")(s.handle(), CKS_LAST_VALIDATION_OK, &mut flags)
        };
        assert_ok!(rv);
        assert_eq!(flags, 0, "no validation flags");
        let mut id: CK_ULONG = 0;
        // SAFETY: a NUL-terminated name and one output word.
        let rv = unsafe {
            f.C_AsyncGetID.expect("filled")(s.handle(), c"C_Sign".as_ptr() as *mut _, &mut id)
        };
        assert_ckr!(rv, FunctionNotSupported);
    }

    /// "PKCS 11" 3.0 and 2.40 are offered too, each with its own list and version; the list
    /// is newest first and nothing else is offered.
    fn older_interfaces_keep_their_versions(b: Backend) {
        let _t = Token::new(b);
        let iface = Interfaces::load(&b.module_path());
        let list = iface.list();
        let versions: Vec<_> = list.iter().map(|i| (i.name.as_str(), i.version)).collect();
        assert_eq!(versions, [("PKCS 11", (3, 2)), ("PKCS 11", (3, 0)), ("PKCS 11", (2, 40))]);
        for v in [(3, 2), (3, 0), (2, 40)] {
            let i = iface.get(Some("PKCS 11"), Some(v)).unwrap_or_else(|rv| panic!("{v:?}: {rv:#x}"));
            assert_eq!(i.version, v, "C_GetInterface(\"PKCS 11\", {v:?})");
            assert_eq!(iface.get(None, Some(v)).expect("by version alone"), i);
        }
        let three = iface.get(Some("PKCS 11"), Some((3, 0))).expect("3.0");
        // SAFETY: a {3,0} interface carries a CK_FUNCTION_LIST_3_0.
        let f = unsafe { &*(three.list as *const CK_FUNCTION_LIST_3_0) };
        assert!(f.C_MessageVerifyFinal.is_some() && f.C_GetInterface.is_some());
        let two = iface.get(Some("PKCS 11"), Some((2, 40))).expect("2.40");
        // SAFETY: a {2,40} interface carries a CK_FUNCTION_LIST.
        let f = unsafe { &*(two.list as *const CK_FUNCTION_LIST) };
        assert!(f.C_WaitForSlotEvent.is_some() && f.C_Sign.is_some());
        for (name, v) in [(Some("PKCS 11"), Some((3, 1))), (Some("Vendor pqhsm"), None), (None, Some((2, 20)))] {
            assert_ckr!(iface.get(name, v).err().unwrap_or(CKR_OK), ArgumentsBad);
        }
    }

    /// C_GetMechanismList lists every post-quantum mechanism and C_GetMechanismInfo reports
    /// its flags (CKF_ENCAPSULATE 0x10000000, CKF_DECAPSULATE 0x20000000, sign/verify, key
    /// pair generation) and public-key sizes in bytes.
    fn mechanism_info_of_the_post_quantum_mechanisms(b: Backend) {
        let t = Token::new(b);
        assert_eq!((CKF_ENCAPSULATE, CKF_DECAPSULATE), (0x1000_0000, 0x2000_0000));
        let rows = expected();
        assert_eq!(rows.len(), 2 + 13 + 13, "2 ML-KEM, 13 ML-DSA, 13 SLH-DSA mechanisms");
        for e in rows {
            let name = common::mech_name(e.mech);
            assert!(t.has(e.mech), "{name} ({:#x}) is not in C_GetMechanismList", e.mech);
            let (rv, info) = t.raw.mechanism_info(t.slot.id(), e.mech);
            assert_ok!(rv);
            assert_eq!((info.ulMinKeySize, info.ulMaxKeySize), (e.min, e.max), "{name}: key sizes");
            assert_eq!(info.flags, e.flags, "{name}: flags {:#x}", info.flags);
        }
    }

    /// `pkcs11-tool -M` (OpenSC) lists the post-quantum mechanisms, by number where it has
    /// no name for them, and exits cleanly. Checked by their key size ranges and the
    /// encapsulate/decapsulate flags, whatever names OpenSC gives them.
    fn pkcs11_tool_lists_the_mechanisms(b: Backend) {
        let t = Token::new(b);
        let out = match Command::new("pkcs11-tool")
            .arg("--module")
            .arg(b.module_path())
            .arg("-M")
            .output()
        {
            Ok(out) => out,
            Err(e) if in_ci() => panic!("pkcs11-tool is needed under CI=true (apt-get install opensc): {e}"),
            Err(e) => {
                common::note(&format!("SKIPPED: pkcs11-tool not runnable ({e}); install opensc"));
                return;
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "pkcs11-tool -M failed ({:?}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  ")).collect();
        assert_eq!(lines.len(), t.mechanisms().len(), "one line per mechanism:\n{stdout}");
        let count = |needle: &str| lines.iter().filter(|l| l.contains(needle)).count();
        assert_eq!(count("keySize={800,1568}"), 2, "ML-KEM rows:\n{stdout}");
        assert_eq!(count("keySize={1312,2592}"), 13, "ML-DSA rows:\n{stdout}");
        assert_eq!(count("keySize={32,64}"), 13, "SLH-DSA rows:\n{stdout}");
        let kem = lines
            .iter()
            .find(|l| l.contains("keySize={800,1568}") && !l.contains("generate_key_pair"))
            .expect("the CKM_ML_KEM row");
        assert!(
            kem.contains("0x30000000") || (kem.contains("encapsulate") && kem.contains("decapsulate")),
            "CKM_ML_KEM shows encapsulate and decapsulate: {kem}"
        );
    }
}
