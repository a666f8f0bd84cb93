//! C pointers and lengths in, plain Rust values out, and back: byte buffers, PINs, padded
//! strings, counted lists and the PKCS#11 output-buffer convention. Every read of client
//! memory that may be misaligned goes through `read_unaligned`; nothing here trusts a
//! pointer it has not checked for NULL or a length it has not bounded.

use cryptoki_sys as ck;
use pqhsm::module::{Dest, Output};
use pqhsm::{Error, ErrorKind, Result};
use std::ptr;

pub(crate) fn arguments_bad(what: &str) -> Error {
    Error::new(ErrorKind::ArgumentsBad, what.to_string())
}

/// A C length as a Rust one; a length no buffer can have (over `isize::MAX`) is refused.
pub(crate) fn len(n: ck::CK_ULONG) -> Result<usize> {
    usize::try_from(n)
        .ok()
        .filter(|&n| isize::try_from(n).is_ok())
        .ok_or_else(|| arguments_bad("a length argument is larger than any buffer can be"))
}

/// A Rust length as a CK_ULONG (saturating; never reached with real buffers).
pub(crate) fn ulong(n: usize) -> ck::CK_ULONG {
    ck::CK_ULONG::try_from(n).unwrap_or(ck::CK_ULONG::MAX)
}

/// Borrow `len` bytes of client input. NULL is allowed only for an empty buffer.
///
/// # Safety
/// When `p` is non-NULL it must be valid for reads of `n` bytes for the duration of `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, n: ck::CK_ULONG) -> Result<&'a [u8]> {
    let n = len(n)?;
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(arguments_bad(
            "a data pointer is NULL but its length is not 0",
        ));
    }
    // SAFETY: non-NULL, u8 has alignment 1, n <= isize::MAX, validity per this fn's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// A PIN. NULL with length 0 is an empty PIN; NULL with a length would be the protected
/// authentication path, which this token does not have.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn pin<'a>(p: *const u8, n: ck::CK_ULONG) -> Result<&'a [u8]> {
    if p.is_null() && n != 0 {
        return Err(arguments_bad(
            "pPin is NULL: this token has no protected authentication path, pass the PIN",
        ));
    }
    // SAFETY: forwarded contract.
    unsafe { bytes(p, n) }
}

/// Read one value the client points to (any alignment).
///
/// # Safety
/// When non-NULL, `p` must be valid for reads of a `T`.
pub(crate) unsafe fn read<T: Copy>(p: *const T, what: &str) -> Result<T> {
    if p.is_null() {
        return Err(arguments_bad(what));
    }
    // SAFETY: non-NULL and valid per contract; read_unaligned accepts any alignment.
    Ok(unsafe { ptr::read_unaligned(p) })
}

/// Write one value where the client points (any alignment).
///
/// # Safety
/// When non-NULL, `p` must be valid for writes of a `T`.
pub(crate) unsafe fn write<T>(p: *mut T, v: T, what: &str) -> Result<()> {
    if p.is_null() {
        return Err(arguments_bad(what));
    }
    // SAFETY: non-NULL and valid per contract; write_unaligned accepts any alignment.
    unsafe { ptr::write_unaligned(p, v) };
    Ok(())
}

/// The shape of calls that answer one value through a pointer (a new handle, an info
/// struct, a size): the pointer is checked before the core acts, then written.
///
/// # Safety
/// When non-NULL, `p` must be valid for writes of a `T`.
pub(crate) unsafe fn out_value<T>(
    p: *mut T,
    what: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<()> {
    if p.is_null() {
        return Err(arguments_bad(what));
    }
    let v = f()?;
    // SAFETY: forwarded contract; `p` is non-NULL.
    unsafe { write(p, v, what) }
}

/// A space-padded fixed-length field (labels, manufacturer IDs): truncated on a character
/// boundary when too long, never NUL-terminated.
pub(crate) fn padded<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [b' '; N];
    let mut end = s.len().min(N);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out[..end].copy_from_slice(&s.as_bytes()[..end]);
    out
}

/// A fixed-length field read from the client: trailing spaces (and anything after a NUL
/// some clients leave) removed; it must be UTF-8.
pub(crate) fn unpadded(field: &[u8]) -> Result<&str> {
    let field = field.split(|&b| b == 0).next().unwrap_or_default();
    let s = std::str::from_utf8(field).map_err(|_| arguments_bad("a label is not valid UTF-8"))?;
    Ok(s.trim_end_matches(' '))
}

pub(crate) fn version((major, minor): (u8, u8)) -> ck::CK_VERSION {
    ck::CK_VERSION { major, minor }
}

/// Write a counted list the PKCS#11 way (C_GetSlotList, C_GetMechanismList,
/// C_GetInterfaceList): NULL list -> count only; list too short -> count and
/// CKR_BUFFER_TOO_SMALL; otherwise the items and their count.
///
/// # Safety
/// `count` must be valid for a read and a write of a CK_ULONG when non-NULL; `list`, when
/// non-NULL, valid for writes of `*count` items of `T`.
pub(crate) unsafe fn write_list<T: Copy>(
    list: *mut T,
    count: *mut ck::CK_ULONG,
    items: &[T],
) -> Result<()> {
    // SAFETY: forwarded contract for `count`.
    let cap = unsafe { read(count, "the count pointer is NULL")? };
    // SAFETY: as above.
    unsafe { write(count, ulong(items.len()), "the count pointer is NULL")? };
    if list.is_null() {
        return Ok(());
    }
    if usize::try_from(cap).unwrap_or(usize::MAX) < items.len() {
        return Err(Error::buffer_too_small(items.len()));
    }
    for (i, item) in items.iter().enumerate() {
        // SAFETY: i < items.len() <= *count, the length the client vouched for.
        unsafe { ptr::write_unaligned(list.add(i), *item) };
    }
    Ok(())
}

/// A client output buffer with its length word (pBuf / pulBufLen). `cap()` is the core's
/// `out_cap`: `None` for a length query.
pub(crate) struct OutBuf {
    buf: *mut u8,
    len: *mut ck::CK_ULONG,
    cap: Option<usize>,
}

impl OutBuf {
    /// # Safety
    /// `len`, when non-NULL, must be valid for reads and writes of a CK_ULONG; `buf`, when
    /// non-NULL, valid for writes of `*len` bytes; both until the `OutBuf` is written.
    pub(crate) unsafe fn new(buf: *mut u8, len: *mut ck::CK_ULONG) -> Result<OutBuf> {
        // SAFETY: forwarded contract.
        let n = unsafe { read(len, "the output length pointer is NULL")? };
        let cap = (!buf.is_null()).then(|| usize::try_from(n).unwrap_or(usize::MAX));
        Ok(OutBuf { buf, len, cap })
    }

    pub(crate) fn cap(&self) -> Option<usize> {
        self.cap
    }

    /// Where the core may put output computed from `data`: this buffer itself when it
    /// shares no byte with `data` (in-place callers exist), else only its size.
    ///
    /// # Safety
    /// The returned buffer must be dropped before [`write`](Self::write), and no other
    /// reference to the output buffer may be alive meanwhile.
    pub(crate) unsafe fn dest<'a>(&self, data: &[u8]) -> Dest<'a> {
        match self.cap {
            None => Dest::Query,
            Some(0) => Dest::Room(0),
            Some(cap) if cap > isize::MAX as usize || overlaps(data, self.buf, cap) => {
                Dest::Room(cap)
            }
            // SAFETY: `buf` is non-NULL (cap is Some) and valid for writes of `cap` bytes
            // (OutBuf::new contract); it shares no byte with `data`, and this fn's
            // contract keeps it unaliased for the slice's life.
            Some(cap) => Dest::Buf(unsafe { std::slice::from_raw_parts_mut(self.buf, cap) }),
        }
    }

    /// Ask the core for the output with this buffer's room, and deliver its answer.
    pub(crate) fn fill(self, f: impl FnOnce(Option<usize>) -> Result<Output>) -> Result<()> {
        let answer = f(self.cap);
        self.write(answer)
    }

    /// Deliver the core's answer: a length, bytes, or "too small, need n" (the length is
    /// written and CKR_BUFFER_TOO_SMALL returned; the core kept the operation active).
    pub(crate) fn write(self, answer: Result<Output>) -> Result<()> {
        match answer {
            Ok(Output::Len(n)) if self.cap.is_none() => self.set_len(n),
            // A length where bytes were asked for: never report success over a buffer
            // nothing was written to.
            Ok(Output::Len(_)) => Err(Error::new(
                ErrorKind::General,
                "the token answered a length where output was expected",
            )),
            Ok(Output::Written(n)) => match self.cap {
                Some(cap) if n <= cap => self.set_len(n),
                _ => Err(Error::new(
                    ErrorKind::General,
                    "the token reports more output than the buffer holds",
                )),
            },
            Ok(Output::Data(data)) => {
                match self.cap {
                    Some(cap) if data.len() <= cap => {
                        // SAFETY: `buf` is non-NULL (cap is Some) and valid for `cap` bytes
                        // (OutBuf::new contract); the source is our own buffer.
                        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), self.buf, data.len()) };
                        self.set_len(data.len())
                    }
                    // The core gave more than the room it was told about: report the need
                    // instead of overrunning the client's buffer.
                    Some(_) => {
                        self.set_len(data.len())?;
                        Err(Error::buffer_too_small(data.len()))
                    }
                    None => self.set_len(data.len()),
                }
            }
            Err(e) => {
                if let Some(needed) = e.needed() {
                    self.set_len(needed)?;
                }
                Err(e)
            }
        }
    }

    fn set_len(&self, n: usize) -> Result<()> {
        // SAFETY: `len` was read successfully in `new`, so it is non-NULL and valid.
        unsafe { write(self.len, ulong(n), "the output length pointer is NULL") }
    }
}

/// The shape of C_Encrypt, C_Sign, C_Digest, *Update with output...: bytes in, bytes out
/// under the output-buffer convention.
///
/// # Safety
/// `data` valid for `n` bytes when non-NULL; (`out`, `out_len`) as [`OutBuf::new`].
pub(crate) unsafe fn bytes_to_bytes(
    data: *const u8,
    n: ck::CK_ULONG,
    out: *mut u8,
    out_len: *mut ck::CK_ULONG,
    f: impl FnOnce(&[u8], Option<usize>) -> Result<Output>,
) -> Result<()> {
    // SAFETY: forwarded contracts.
    let (out, data) = unsafe { (OutBuf::new(out, out_len)?, bytes(data, n)?) };
    out.fill(|cap| f(data, cap))
}

/// C_Encrypt and C_Decrypt: as [`bytes_to_bytes`], but the core gets the caller's output
/// buffer itself when it does not overlap the input (in-place callers exist), so an
/// operation that knows its output length writes there with no copy.
///
/// # Safety
/// As [`bytes_to_bytes`].
pub(crate) unsafe fn bytes_to_dest(
    data: *const u8,
    n: ck::CK_ULONG,
    out: *mut u8,
    out_len: *mut ck::CK_ULONG,
    f: impl FnOnce(&[u8], Dest<'_>) -> Result<Output>,
) -> Result<()> {
    // SAFETY: forwarded contracts.
    let (out, data) = unsafe { (OutBuf::new(out, out_len)?, bytes(data, n)?) };
    // SAFETY: the destination dies inside `f`, before `write`.
    let answer = f(data, unsafe { out.dest(data) });
    out.write(answer)
}

/// Whether `data` and the `cap` bytes at `buf` share an address.
fn overlaps(data: &[u8], buf: *mut u8, cap: usize) -> bool {
    let (d0, b0) = (data.as_ptr() as usize, buf as usize);
    d0 < b0.saturating_add(cap) && b0 < d0.saturating_add(data.len())
}

/// The shape of C_EncryptFinal, C_SignFinal, C_DigestFinal...: nothing in, bytes out.
///
/// # Safety
/// (`out`, `out_len`) as [`OutBuf::new`].
pub(crate) unsafe fn final_bytes(
    out: *mut u8,
    out_len: *mut ck::CK_ULONG,
    f: impl FnOnce(Option<usize>) -> Result<Output>,
) -> Result<()> {
    // SAFETY: forwarded contract.
    unsafe { OutBuf::new(out, out_len)? }.fill(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pqhsm::module::Output;
    use zeroize::Zeroizing;

    fn data(b: &[u8]) -> Result<Output> {
        Ok(Output::Data(Zeroizing::new(b.to_vec()).into()))
    }

    #[test]
    fn bytes_null_only_when_empty() {
        // SAFETY: NULL with length 0 is never dereferenced.
        assert_eq!(unsafe { bytes(ptr::null(), 0) }.unwrap(), &[] as &[u8]);
        // SAFETY: NULL is refused before any read.
        let e = unsafe { bytes(ptr::null(), 3) }.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ArgumentsBad);
        let huge = ck::CK_ULONG::MAX;
        let buf = [0u8; 1];
        // SAFETY: the length is refused before any read.
        let e = unsafe { bytes(buf.as_ptr(), huge) }.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ArgumentsBad);
    }

    #[test]
    fn the_core_gets_the_callers_buffer_only_apart_from_the_input() {
        // Which destination the core sees: "query", "room" or "buf".
        fn seen(data: *const u8, n: usize, out: *mut u8, cap: usize) -> &'static str {
            let mut len = cap as ck::CK_ULONG;
            let mut what = "";
            // SAFETY: every pointer covers its length within one live array.
            let _ = unsafe {
                bytes_to_dest(data, n as ck::CK_ULONG, out, &mut len, |_, d| {
                    what = match d {
                        Dest::Query => "query",
                        Dest::Room(_) => "room",
                        Dest::Buf(_) => "buf",
                    };
                    Ok(Output::Len(0))
                })
            };
            what
        }
        let mut a = [0u8; 64];
        let p = a.as_mut_ptr();
        assert_eq!(seen(p, 16, ptr::null_mut(), 16), "query");
        // SAFETY: offsets stay inside `a`.
        let (at16, at8) = unsafe { (p.add(16), p.add(8)) };
        assert_eq!(seen(p, 16, at16, 32), "buf");
        assert_eq!(seen(p, 16, p, 32), "room", "in place");
        assert_eq!(seen(p, 16, at8, 32), "room", "overlapping");
        assert_eq!(seen(at16, 16, p, 16), "buf", "just before the input");
        assert_eq!(seen(at16, 16, p, 17), "room");
    }

    #[test]
    fn pin_rules() {
        // SAFETY: NULL with 0 is not read; NULL with a length is refused.
        assert!(unsafe { pin(ptr::null(), 0) }.unwrap().is_empty());
        let e = unsafe { pin(ptr::null(), 4) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_ARGUMENTS_BAD);
        let p = b"1234";
        // SAFETY: p is valid for 4 bytes.
        assert_eq!(unsafe { pin(p.as_ptr(), 4) }.unwrap(), b"1234");
    }

    #[test]
    fn out_value_checks_before_acting() {
        let mut called = false;
        // SAFETY: NULL is refused before anything runs.
        let e = unsafe {
            out_value(ptr::null_mut::<ck::CK_ULONG>(), "phKey is NULL", || {
                called = true;
                Ok(1)
            })
        };
        assert_eq!(
            (e.unwrap_err().ckr(), called),
            (ck::CKR_ARGUMENTS_BAD, false)
        );
        let mut h: ck::CK_ULONG = 0;
        // SAFETY: h is a valid CK_ULONG.
        unsafe { out_value(&mut h, "x", || Ok(42)) }.unwrap();
        assert_eq!(h, 42);
        // SAFETY: as above; a failing core call writes nothing.
        let e = unsafe {
            out_value(&mut h, "x", || {
                Err(Error::new(ErrorKind::KeyHandleInvalid, "k"))
            })
        };
        assert_eq!((e.unwrap_err().ckr(), h), (ck::CKR_KEY_HANDLE_INVALID, 42));
    }

    #[test]
    fn padding_and_unpadding() {
        assert_eq!(&padded::<8>("abc"), b"abc     ");
        assert_eq!(&padded::<4>("abcdef"), b"abcd");
        // "é" is two bytes: never cut in the middle of it.
        assert_eq!(&padded::<4>("abcé"), b"abc ");
        assert_eq!(unpadded(b"token   ").unwrap(), "token");
        assert_eq!(unpadded(b"tok\0garbage").unwrap(), "tok");
        assert_eq!(unpadded(b"  ").unwrap(), "");
        assert_eq!(
            unpadded(&[0xff, b' ']).unwrap_err().kind(),
            ErrorKind::ArgumentsBad
        );
    }

    #[test]
    fn list_query_too_small_and_fill() {
        let items: [ck::CK_ULONG; 3] = [7, 8, 9];
        let mut count: ck::CK_ULONG = 0;
        // SAFETY: count is a valid CK_ULONG; list NULL.
        unsafe { write_list(ptr::null_mut(), &mut count, &items) }.unwrap();
        assert_eq!(count, 3);
        let mut out = [0 as ck::CK_ULONG; 3];
        count = 2;
        // SAFETY: out holds 3 >= count items.
        let e = unsafe { write_list(out.as_mut_ptr(), &mut count, &items) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_BUFFER_TOO_SMALL);
        assert_eq!(count, 3);
        assert_eq!(out, [0, 0, 0]);
        // SAFETY: out holds 3 items.
        unsafe { write_list(out.as_mut_ptr(), &mut count, &items) }.unwrap();
        assert_eq!(out, items);
        // SAFETY: NULL count is refused.
        let e = unsafe { write_list(out.as_mut_ptr(), ptr::null_mut(), &items) }.unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_ARGUMENTS_BAD);
    }

    #[test]
    fn out_buf_convention() {
        // Length query: NULL buffer.
        let mut n: ck::CK_ULONG = 0;
        // SAFETY: n is valid; buffer NULL.
        let ob = unsafe { OutBuf::new(ptr::null_mut(), &mut n) }.unwrap();
        assert_eq!(ob.cap(), None);
        ob.write(Ok(Output::Len(64))).unwrap();
        assert_eq!(n, 64);

        // Too small: the core says how much it needs.
        let mut buf = [0u8; 4];
        n = 4;
        // SAFETY: buf is valid for n bytes.
        let ob = unsafe { OutBuf::new(buf.as_mut_ptr(), &mut n) }.unwrap();
        assert_eq!(ob.cap(), Some(4));
        let e = ob.write(Err(Error::buffer_too_small(10))).unwrap_err();
        assert_eq!(e.ckr(), ck::CKR_BUFFER_TOO_SMALL);
        assert_eq!(n, 10);

        // Success.
        n = 4;
        // SAFETY: as above.
        let ob = unsafe { OutBuf::new(buf.as_mut_ptr(), &mut n) }.unwrap();
        ob.write(data(b"abc")).unwrap();
        assert_eq!((n, &buf[..3]), (3, &b"abc"[..]));

        // More data than room is never copied.
        let mut small = [0u8; 2];
        n = 2;
        // SAFETY: small is valid for n bytes.
        let ob = unsafe { OutBuf::new(small.as_mut_ptr(), &mut n) }.unwrap();
        assert_eq!(
            ob.write(data(b"abc")).unwrap_err().ckr(),
            ck::CKR_BUFFER_TOO_SMALL
        );
        assert_eq!((n, small), (3, [0, 0]));

        // A length-only answer to a call that gave a buffer is not a success.
        n = 2;
        // SAFETY: as above.
        let ob = unsafe { OutBuf::new(small.as_mut_ptr(), &mut n) }.unwrap();
        assert_eq!(
            ob.write(Ok(Output::Len(2))).unwrap_err().ckr(),
            ck::CKR_GENERAL_ERROR
        );

        // Other errors leave the length alone.
        n = 2;
        // SAFETY: as above.
        let ob = unsafe { OutBuf::new(small.as_mut_ptr(), &mut n) }.unwrap();
        let e = Error::new(ErrorKind::DataLenRange, "x");
        assert_eq!(ob.write(Err(e)).unwrap_err().ckr(), ck::CKR_DATA_LEN_RANGE);
        assert_eq!(n, 2);

        // NULL length pointer.
        // SAFETY: refused before use.
        let e = unsafe { OutBuf::new(buf.as_mut_ptr(), ptr::null_mut()) }
            .err()
            .unwrap();
        assert_eq!(e.ckr(), ck::CKR_ARGUMENTS_BAD);
    }

    #[test]
    fn misaligned_length_word() {
        // A CK_ULONG at an odd address inside a byte buffer.
        let mut raw = [0u8; 1 + std::mem::size_of::<ck::CK_ULONG>()];
        let p = raw[1..].as_mut_ptr() as *mut ck::CK_ULONG;
        // SAFETY: p points to size_of::<CK_ULONG>() writable bytes, any alignment allowed.
        unsafe { write(p, 5, "x") }.unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { read(p, "x") }.unwrap(), 5);
        let mut buf = [0u8; 8];
        // SAFETY: buf is valid for 5 bytes; p as above.
        let ob = unsafe { OutBuf::new(buf.as_mut_ptr(), p) }.unwrap();
        ob.write(data(b"hello")).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { read(p, "x") }.unwrap(), 5);
    }
}
