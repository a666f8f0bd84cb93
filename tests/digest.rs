//! Digests: SHA-256/384/512 single and multi-part against the sha2 crate, and the
//! operation rules around them.

mod common;

use common::external::Hash;
use common::Token;
use cryptoki::mechanism::Mechanism;
use cryptoki_sys::*;

both_backends! {
    /// Single-part and multi-part digests of several inputs equal the sha2 crate's; the
    /// "abc" answers of FIPS 180-4 hold.
    fn sha2_digests(b: Backend) {
        let t = Token::new(b);
        if !t.require(&[CKM_SHA256, CKM_SHA384, CKM_SHA512]) {
            return;
        }
        let s = t.session();
        let abc = [
            (Hash::Sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (Hash::Sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
            (Hash::Sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        ];
        for (h, want) in abc {
            assert_eq!(hex::encode(ck!(s.digest(&h.digest_mechanism(), b"abc"))), want, "{h:?}(\"abc\")");
        }
        let big: Vec<u8> = (0..1_000_003u32).map(|i| (i ^ (i >> 8)) as u8).collect();
        for h in Hash::ALL {
            for data in [&b""[..], &b"x"[..], &big[..1000], &big[..]] {
                let want = h.digest(data);
                assert_eq!(ck!(s.digest(&h.digest_mechanism(), data)), want, "{h:?} over {} bytes", data.len());
                for chunk in [1usize, 63, 64, 65, 4096] {
                    if data.len() / chunk > 20_000 {
                        continue;
                    }
                    ck!(s.digest_init(&h.digest_mechanism()));
                    for c in data.chunks(chunk) {
                        ck!(s.digest_update(c));
                    }
                    assert_eq!(ck!(s.digest_final()), want, "{h:?} over {} bytes in {chunk}-byte parts", data.len());
                }
            }
        }
    }

    /// Digest operation rules: update without init, init twice, C_Digest after
    /// C_DigestUpdate, and no leftovers after a final.
    fn digest_operation_rules(b: Backend) {
        let t = Token::new(b);
        let s = t.session();
        assert_ckr!(s.digest_update(b"x"), OperationNotInitialized);
        ck!(s.digest_init(&Mechanism::Sha256));
        assert_ckr!(s.digest_init(&Mechanism::Sha256), OperationActive);
        ck!(s.digest_update(b"ab"));
        ck!(s.digest_update(b"c"));
        assert_eq!(ck!(s.digest_final()), Hash::Sha256.digest(b"abc"));
        assert_ckr!(s.digest_final(), OperationNotInitialized);
        // Digests need no login and work in a read-only session.
        let ro = t.open_ro();
        ck!(ro.logout());
        assert_eq!(ck!(ro.digest(&Mechanism::Sha512, b"public")), Hash::Sha512.digest(b"public"));
    }
}
