//! The module's PKCS#11 3.0+ interfaces, reached as a C client does: C_GetInterfaceList and
//! C_GetInterface on the loaded library, and raw calls through the 3.2 function list for
//! what `cryptoki` hides (the NULL-ciphertext length query of C_EncapsulateKey).

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::Session;
use cryptoki_sys::*;
use std::ffi::CStr;
use std::path::Path;
use std::ptr;

pub struct Interfaces {
    lib: cryptoki_sys::Pkcs11,
}

/// One interface: its name, the version its function list starts with, and its flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub version: (u8, u8),
    pub flags: CK_FLAGS,
    pub list: *const std::ffi::c_void,
}

fn found(i: &CK_INTERFACE) -> Found {
    assert!(!i.pInterfaceName.is_null(), "interface without a name");
    assert!(
        !i.pFunctionList.is_null(),
        "interface without a function list"
    );
    // SAFETY: the module hands out a NUL-terminated name and a function list that starts
    // with a CK_VERSION, both in its static data.
    let (name, version) = unsafe {
        (
            CStr::from_ptr(i.pInterfaceName as *const _)
                .to_string_lossy()
                .into_owned(),
            *(i.pFunctionList as *const CK_VERSION),
        )
    };
    Found {
        name,
        version: (version.major, version.minor),
        flags: i.flags,
        list: i.pFunctionList,
    }
}

impl Interfaces {
    /// Open the module a second time by path (the loader returns the instance the fixture
    /// initialised, so sessions and objects are shared).
    pub fn load(path: &Path) -> Interfaces {
        // SAFETY: loading the PKCS#11 module the fixture loaded.
        let lib = unsafe { cryptoki_sys::Pkcs11::new(path) }
            .unwrap_or_else(|e| panic!("dlopen {}: {e}", path.display()));
        Interfaces { lib }
    }

    /// C_GetInterfaceList: every interface the module offers.
    pub fn list(&self) -> Vec<Found> {
        let mut n: CK_ULONG = 0;
        // SAFETY: a count query, then a buffer of that many entries.
        let rv = unsafe { self.lib.C_GetInterfaceList(ptr::null_mut(), &mut n) };
        assert_eq!(rv, CKR_OK, "C_GetInterfaceList count");
        let empty = CK_INTERFACE {
            pInterfaceName: ptr::null_mut(),
            pFunctionList: ptr::null_mut(),
            flags: 0,
        };
        let mut v = vec![empty; n as usize];
        // SAFETY: as above.
        let rv = unsafe { self.lib.C_GetInterfaceList(v.as_mut_ptr(), &mut n) };
        assert_eq!(rv, CKR_OK, "C_GetInterfaceList");
        v.truncate(n as usize);
        v.iter().map(found).collect()
    }

    /// C_GetInterface by name and version (None: NULL, "any").
    pub fn get(&self, name: Option<&str>, version: Option<(u8, u8)>) -> Result<Found, CK_RV> {
        let name = name.map(|n| format!("{n}\0"));
        let mut v = version.map(|(major, minor)| CK_VERSION { major, minor });
        let mut out: *mut CK_INTERFACE = ptr::null_mut();
        // SAFETY: the name is NUL-terminated, the version a valid struct, `out` receives one
        // pointer into the module's static data.
        let rv = unsafe {
            self.lib.C_GetInterface(
                name.as_ref()
                    .map_or(ptr::null_mut(), |n| n.as_ptr() as *mut _),
                v.as_mut().map_or(ptr::null_mut(), |v| v as *mut _),
                &mut out,
                0,
            )
        };
        if rv != CKR_OK {
            return Err(rv);
        }
        assert!(!out.is_null(), "C_GetInterface returned CKR_OK and NULL");
        // SAFETY: non-NULL, points to a CK_INTERFACE in the module.
        Ok(found(unsafe { &*out }))
    }

    /// The 3.2 function list (C_GetInterface "PKCS 11" {3,2}).
    pub fn functions_3_2(&self) -> &CK_FUNCTION_LIST_3_2 {
        let i = self
            .get(Some("PKCS 11"), Some((3, 2)))
            .unwrap_or_else(|rv| panic!("C_GetInterface(\"PKCS 11\", 3.2): {rv:#x}"));
        // SAFETY: a {3,2} interface carries a CK_FUNCTION_LIST_3_2 in the module's static
        // data, alive while `self.lib` keeps the module loaded.
        unsafe { &*(i.list as *const CK_FUNCTION_LIST_3_2) }
    }

    /// C_EncapsulateKey with an explicit ciphertext buffer (`None`: NULL, a length query):
    /// the return code, the length the module reported, the key handle it wrote (0 if none)
    /// and the ciphertext on success.
    pub fn encapsulate(
        &self,
        s: &Session,
        m: &Mechanism,
        public: ObjectHandle,
        template: &[Attribute],
        cap: Option<usize>,
    ) -> Encapsulated {
        let f = self
            .functions_3_2()
            .C_EncapsulateKey
            .expect("C_EncapsulateKey in the 3.2 list");
        let mut mech: CK_MECHANISM = m.into();
        let mut t: Vec<CK_ATTRIBUTE> = template.iter().map(|a| a.into()).collect();
        let mut buf = vec![0u8; cap.unwrap_or(0)];
        let mut len = buf.len() as CK_ULONG;
        let mut key: CK_OBJECT_HANDLE = CK_INVALID_HANDLE;
        // SAFETY: mechanism, template and buffer outlive the call; a NULL ciphertext asks
        // for the length.
        let rv = unsafe {
            f(
                s.handle(),
                &mut mech,
                public.handle(),
                t.as_mut_ptr(),
                t.len() as CK_ULONG,
                if cap.is_some() {
                    buf.as_mut_ptr()
                } else {
                    ptr::null_mut()
                },
                &mut len,
                &mut key,
            )
        };
        if rv == CKR_OK && cap.is_some() {
            buf.truncate(len as usize);
        }
        Encapsulated {
            rv,
            len: len as usize,
            key,
            ciphertext: buf,
        }
    }
}

/// What a raw C_EncapsulateKey call returned.
#[derive(Debug)]
pub struct Encapsulated {
    pub rv: CK_RV,
    pub len: usize,
    pub key: CK_OBJECT_HANDLE,
    pub ciphertext: Vec<u8>,
}
