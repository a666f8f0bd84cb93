//! Direct calls through the module's CK_FUNCTION_LIST for what `cryptoki` hides: exact
//! buffer sizes (length queries, CKR_BUFFER_TOO_SMALL) and the raw return code of
//! C_GetAttributeValue. The library is opened a second time by path; the dynamic loader
//! returns the same instance, so the module state is the one the fixture initialised.

use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use cryptoki_sys::*;
use std::path::Path;
use std::ptr;

pub struct Raw {
    _lib: cryptoki_sys::Pkcs11,
    list: *const CK_FUNCTION_LIST,
}

/// The result of one raw call that writes bytes: the return code, the length the module
/// reported in *pulLen, and the bytes (truncated to that length on success).
#[derive(Debug)]
pub struct RawOut {
    pub rv: CK_RV,
    pub len: usize,
    pub data: Vec<u8>,
}

impl super::Outcomes for RawOut {
    fn outcome(&self) -> super::Outcome {
        self.rv.outcome()
    }
}

impl RawOut {
    /// The bytes of a successful call; panics naming the CKR code otherwise.
    pub fn ok(self, what: &str) -> Vec<u8> {
        use super::Outcomes;
        assert_eq!(self.rv, CKR_OK, "{what}: got {}", self.rv.outcome());
        self.data
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Op {
    Encrypt,
    Decrypt,
    Sign,
    Verify,
}

/// A raw CK_MECHANISM over a parameter struct (or none).
pub fn mechanism<T>(ty: CK_MECHANISM_TYPE, param: Option<&mut T>) -> CK_MECHANISM {
    match param {
        Some(p) => CK_MECHANISM {
            mechanism: ty,
            pParameter: p as *mut T as *mut _,
            ulParameterLen: std::mem::size_of::<T>() as CK_ULONG,
        },
        None => CK_MECHANISM {
            mechanism: ty,
            pParameter: ptr::null_mut(),
            ulParameterLen: 0,
        },
    }
}

/// `None`: a length query (NULL buffer). `Some(n)`: a buffer of n bytes.
pub type Cap = Option<usize>;

macro_rules! f {
    ($self:ident, $name:ident) => {
        // SAFETY: `list` points into the loaded library, which `_lib` keeps loaded.
        unsafe {
            (*$self.list)
                .$name
                .expect(concat!(stringify!($name), " missing from CK_FUNCTION_LIST"))
        }
    };
}

impl Raw {
    pub fn load(path: &Path) -> Raw {
        // SAFETY: loading the same PKCS#11 module the fixture loaded; its initialisers ran.
        let lib = unsafe { cryptoki_sys::Pkcs11::new(path) }
            .unwrap_or_else(|e| panic!("dlopen {} for raw calls: {e}", path.display()));
        let mut list: *mut CK_FUNCTION_LIST = ptr::null_mut();
        // SAFETY: C_GetFunctionList writes one pointer.
        let rv = unsafe { lib.C_GetFunctionList(&mut list) };
        assert_eq!(rv, CKR_OK, "C_GetFunctionList");
        assert!(!list.is_null(), "C_GetFunctionList returned NULL");
        Raw { _lib: lib, list }
    }

    /// C_GetMechanismList, every number the module returns.
    pub fn mechanism_list(&self, slot: CK_SLOT_ID) -> Vec<CK_MECHANISM_TYPE> {
        let f = f!(self, C_GetMechanismList);
        let mut n: CK_ULONG = 0;
        // SAFETY: length query, then a buffer of the returned length.
        let rv = unsafe { f(slot, ptr::null_mut(), &mut n) };
        assert_eq!(rv, CKR_OK, "C_GetMechanismList length query");
        let mut v: Vec<CK_MECHANISM_TYPE> = vec![0; n as usize];
        // SAFETY: as above.
        let rv = unsafe { f(slot, v.as_mut_ptr(), &mut n) };
        assert_eq!(rv, CKR_OK, "C_GetMechanismList");
        v.truncate(n as usize);
        v
    }

    /// C_GetMechanismInfo for any mechanism number.
    pub fn mechanism_info(
        &self,
        slot: CK_SLOT_ID,
        m: CK_MECHANISM_TYPE,
    ) -> (CK_RV, CK_MECHANISM_INFO) {
        let f = f!(self, C_GetMechanismInfo);
        let mut info = CK_MECHANISM_INFO::default();
        // SAFETY: one output struct.
        let rv = unsafe { f(slot, m, &mut info) };
        (rv, info)
    }

    /// C_<Op>Init with a raw mechanism, for mechanisms cryptoki cannot name.
    pub fn init(&self, op: Op, s: &Session, mech: &mut CK_MECHANISM, key: ObjectHandle) -> CK_RV {
        let f = match op {
            Op::Encrypt => f!(self, C_EncryptInit),
            Op::Decrypt => f!(self, C_DecryptInit),
            Op::Sign => f!(self, C_SignInit),
            Op::Verify => f!(self, C_VerifyInit),
        };
        // SAFETY: `mech` and its parameter outlive the call.
        unsafe { f(s.handle(), mech, key.handle()) }
    }

    pub fn verify(&self, s: &Session, data: &[u8], sig: &[u8]) -> CK_RV {
        let f = f!(self, C_Verify);
        // SAFETY: pointers valid for the call.
        unsafe {
            f(
                s.handle(),
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                sig.as_ptr() as *mut _,
                sig.len() as CK_ULONG,
            )
        }
    }

    /// C_UnwrapKey with a raw mechanism; the template from cryptoki attributes.
    pub fn unwrap_key(
        &self,
        s: &Session,
        mech: &mut CK_MECHANISM,
        unwrapping: ObjectHandle,
        wrapped: &[u8],
        template: &[cryptoki::object::Attribute],
    ) -> (CK_RV, CK_OBJECT_HANDLE) {
        let f = f!(self, C_UnwrapKey);
        let mut tmpl: Vec<CK_ATTRIBUTE> = template.iter().map(|a| a.into()).collect();
        let mut h: CK_OBJECT_HANDLE = CK_INVALID_HANDLE;
        // SAFETY: template entries point into `template`, alive for the call.
        let rv = unsafe {
            f(
                s.handle(),
                mech,
                unwrapping.handle(),
                wrapped.as_ptr() as *mut _,
                wrapped.len() as CK_ULONG,
                tmpl.as_mut_ptr(),
                tmpl.len() as CK_ULONG,
                &mut h,
            )
        };
        (rv, h)
    }

    /// C_OpenSession with explicit flags; returns the code and the handle.
    pub fn open_session(&self, slot: CK_SLOT_ID, flags: CK_FLAGS) -> (CK_RV, CK_SESSION_HANDLE) {
        let f = f!(self, C_OpenSession);
        let mut h: CK_SESSION_HANDLE = CK_INVALID_HANDLE;
        // SAFETY: no callback; one output handle.
        let rv = unsafe { f(slot, flags, ptr::null_mut(), None, &mut h) };
        (rv, h)
    }

    pub fn close_session(&self, h: CK_SESSION_HANDLE) -> CK_RV {
        let f = f!(self, C_CloseSession);
        // SAFETY: plain value argument.
        unsafe { f(h) }
    }

    pub fn session_info(&self, h: CK_SESSION_HANDLE) -> CK_RV {
        let f = f!(self, C_GetSessionInfo);
        let mut info = CK_SESSION_INFO::default();
        // SAFETY: one output struct.
        unsafe { f(h, &mut info) }
    }

    /// C_GetObjectSize: the code and the size.
    pub fn object_size(&self, s: &Session, o: ObjectHandle) -> (CK_RV, CK_ULONG) {
        let f = f!(self, C_GetObjectSize);
        let mut n: CK_ULONG = 0;
        // SAFETY: one output value.
        let rv = unsafe { f(s.handle(), o.handle(), &mut n) };
        (rv, n)
    }

    /// C_EncryptMessageNext by the library's exported symbol (a 3.0 function, not in the
    /// 2.40 CK_FUNCTION_LIST), with AES-GCM message parameters.
    pub fn encrypt_message_next(
        &self,
        s: &Session,
        p: &mut CK_GCM_MESSAGE_PARAMS,
        data: &[u8],
        last: bool,
        cap: Cap,
    ) -> RawOut {
        let flags = if last { CKF_END_OF_MESSAGE } else { 0 };
        // SAFETY: `p` and `data` are valid for the call; the output follows `cap`.
        Raw::out(cap, |out, l| unsafe {
            self._lib.C_EncryptMessageNext(
                s.handle(),
                p as *mut CK_GCM_MESSAGE_PARAMS as *mut _,
                std::mem::size_of::<CK_GCM_MESSAGE_PARAMS>() as CK_ULONG,
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                out,
                l,
                flags,
            )
        })
    }

    fn out(cap: Cap, call: impl FnOnce(*mut u8, *mut CK_ULONG) -> CK_RV) -> RawOut {
        let mut buf = vec![0u8; cap.unwrap_or(0)];
        let mut len: CK_ULONG = cap.unwrap_or(0) as CK_ULONG;
        let p = if cap.is_some() {
            buf.as_mut_ptr()
        } else {
            ptr::null_mut()
        };
        let rv = call(p, &mut len);
        if rv == CKR_OK && cap.is_some() {
            buf.truncate((len as usize).min(buf.len()));
        }
        RawOut {
            rv,
            len: len as usize,
            data: buf,
        }
    }

    pub fn sign(&self, s: &Session, data: &[u8], cap: Cap) -> RawOut {
        let f = f!(self, C_Sign);
        // SAFETY: pointers valid for the call; lengths match the buffers.
        Raw::out(cap, |p, l| unsafe {
            f(
                s.handle(),
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                p,
                l,
            )
        })
    }

    pub fn sign_final(&self, s: &Session, cap: Cap) -> RawOut {
        let f = f!(self, C_SignFinal);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe { f(s.handle(), p, l) })
    }

    pub fn encrypt(&self, s: &Session, data: &[u8], cap: Cap) -> RawOut {
        let f = f!(self, C_Encrypt);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe {
            f(
                s.handle(),
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                p,
                l,
            )
        })
    }

    pub fn encrypt_update(&self, s: &Session, data: &[u8], cap: Cap) -> RawOut {
        let f = f!(self, C_EncryptUpdate);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe {
            f(
                s.handle(),
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                p,
                l,
            )
        })
    }

    pub fn encrypt_final(&self, s: &Session, cap: Cap) -> RawOut {
        let f = f!(self, C_EncryptFinal);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe { f(s.handle(), p, l) })
    }

    pub fn decrypt(&self, s: &Session, data: &[u8], cap: Cap) -> RawOut {
        let f = f!(self, C_Decrypt);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe {
            f(
                s.handle(),
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                p,
                l,
            )
        })
    }

    pub fn decrypt_update(&self, s: &Session, data: &[u8], cap: Cap) -> RawOut {
        let f = f!(self, C_DecryptUpdate);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe {
            f(
                s.handle(),
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                p,
                l,
            )
        })
    }

    pub fn decrypt_final(&self, s: &Session, cap: Cap) -> RawOut {
        let f = f!(self, C_DecryptFinal);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe { f(s.handle(), p, l) })
    }

    pub fn digest(&self, s: &Session, data: &[u8], cap: Cap) -> RawOut {
        let f = f!(self, C_Digest);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe {
            f(
                s.handle(),
                data.as_ptr() as *mut _,
                data.len() as CK_ULONG,
                p,
                l,
            )
        })
    }

    pub fn digest_final(&self, s: &Session, cap: Cap) -> RawOut {
        let f = f!(self, C_DigestFinal);
        // SAFETY: as above.
        Raw::out(cap, |p, l| unsafe { f(s.handle(), p, l) })
    }

    /// C_WrapKey with an explicit output buffer; `mech` is a raw CK_MECHANISM.
    pub fn wrap_key(
        &self,
        s: &Session,
        mech: &mut CK_MECHANISM,
        wrapping: ObjectHandle,
        key: ObjectHandle,
        cap: Cap,
    ) -> RawOut {
        let f = f!(self, C_WrapKey);
        // SAFETY: as above; `mech` outlives the call.
        Raw::out(cap, |p, l| unsafe {
            f(s.handle(), mech, wrapping.handle(), key.handle(), p, l)
        })
    }

    /// C_GetAttributeValue for one attribute with an explicit buffer.
    pub fn get_attribute(
        &self,
        s: &Session,
        o: ObjectHandle,
        ty: CK_ATTRIBUTE_TYPE,
        cap: Cap,
    ) -> RawOut {
        let out = self.get_attributes(s, o, &[(ty, cap)]);
        let (len, data) = out.1.into_iter().next().expect("one attribute in, one out");
        RawOut {
            rv: out.0,
            len,
            data,
        }
    }

    /// C_GetAttributeValue for several attributes in one call: the return code and, per
    /// attribute, the ulValueLen the module wrote (CK_UNAVAILABLE_INFORMATION as usize::MAX)
    /// and the buffer.
    pub fn get_attributes(
        &self,
        s: &Session,
        o: ObjectHandle,
        req: &[(CK_ATTRIBUTE_TYPE, Cap)],
    ) -> (CK_RV, Vec<(usize, Vec<u8>)>) {
        let f = f!(self, C_GetAttributeValue);
        let mut bufs: Vec<Vec<u8>> = req.iter().map(|(_, c)| vec![0u8; c.unwrap_or(0)]).collect();
        let mut tmpl: Vec<CK_ATTRIBUTE> = req
            .iter()
            .zip(bufs.iter_mut())
            .map(|((ty, cap), b)| CK_ATTRIBUTE {
                type_: *ty,
                pValue: if cap.is_some() {
                    b.as_mut_ptr() as *mut _
                } else {
                    ptr::null_mut()
                },
                ulValueLen: cap.unwrap_or(0) as CK_ULONG,
            })
            .collect();
        // SAFETY: every pValue is NULL or points to a buffer of ulValueLen bytes.
        let rv = unsafe {
            f(
                s.handle(),
                o.handle(),
                tmpl.as_mut_ptr(),
                tmpl.len() as CK_ULONG,
            )
        };
        let lens: Vec<usize> = tmpl
            .iter()
            .map(|a| {
                if a.ulValueLen == CK_UNAVAILABLE_INFORMATION {
                    usize::MAX
                } else {
                    a.ulValueLen as usize
                }
            })
            .collect();
        let out = lens
            .into_iter()
            .zip(bufs)
            .map(|(len, mut b)| {
                if len != usize::MAX && len <= b.len() {
                    b.truncate(len);
                }
                (len, b)
            })
            .collect();
        (rv, out)
    }
}
