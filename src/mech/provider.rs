//! Crypto providers: which implementation serves a mechanism. The mechanism table names, per
//! mechanism, the provider of its private-key operations (sign, decrypt, decapsulate,
//! derive) and of its public-key ones (verify, encrypt, encapsulate); a family asks here
//! and falls back to RustCrypto only for parameters the named provider cannot take.
//! Key generation always draws from `crate::rng`, whoever then computes with the key.

use super::params::MechType;
use super::table;

/// An implementation of the algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// The RustCrypto crates: pure Rust, always built, serve every mechanism.
    RustCrypto,
    /// aws-lc-rs (cargo feature `aws-lc`): named only where it is built and faster.
    AwsLc,
}

/// The providers of one mechanism's private-key and public-key operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Serves {
    pub private: Provider,
    pub public: Provider,
}

/// aws-lc-rs where it is built, else RustCrypto.
const FASTEST: Provider = if cfg!(feature = "aws-lc") {
    Provider::AwsLc
} else {
    Provider::RustCrypto
};

/// Every operation on RustCrypto.
pub const RUST_CRYPTO: Serves = Serves {
    private: Provider::RustCrypto,
    public: Provider::RustCrypto,
};

/// Every operation on aws-lc-rs where it is built.
pub const AWS_LC: Serves = Serves {
    private: FASTEST,
    public: FASTEST,
};

/// Private-key operations on aws-lc-rs where it is built; public-key operations stay on
/// RustCrypto (faster there, or their randomness must come from `crate::rng`).
pub const AWS_LC_PRIVATE: Serves = Serves {
    private: FASTEST,
    public: Provider::RustCrypto,
};

#[cfg(test)]
thread_local! {
    static FORCED: std::cell::Cell<Option<Provider>> = const { std::cell::Cell::new(None) };
    static SERVED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// aws-lc-rs just computed an operation. Tests read it back with `take_aws_lc_served`, so a
/// path that silently fell back to RustCrypto cannot pass for an aws-lc-rs one.
pub fn aws_lc_served() {
    #[cfg(test)]
    SERVED.with(|s| s.set(true));
}

/// Whether aws-lc-rs computed anything on this thread since the last call.
#[cfg(test)]
pub fn take_aws_lc_served() -> bool {
    SERVED.with(|s| s.replace(false))
}

fn forced() -> Option<Provider> {
    #[cfg(test)]
    {
        FORCED.with(|f| f.get())
    }
    #[cfg(not(test))]
    {
        None
    }
}

/// Run `f` with every mechanism served by `p` on this thread (tests run one input through
/// both providers).
#[cfg(test)]
pub fn with<R>(p: Provider, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Provider>);
    impl Drop for Reset {
        fn drop(&mut self) {
            FORCED.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(FORCED.with(|c| c.replace(Some(p))));
    f()
}

/// The provider of `ty`'s private-key operations.
pub fn private(ty: MechType) -> Provider {
    forced().unwrap_or_else(|| table::lookup(ty).map_or(Provider::RustCrypto, |s| s.serves.private))
}

/// The provider of `ty`'s public-key operations.
pub fn public(ty: MechType) -> Provider {
    forced().unwrap_or_else(|| table::lookup(ty).map_or(Provider::RustCrypto, |s| s.serves.public))
}

/// Whether `p` is aws-lc-rs and built in.
pub fn is_aws_lc(p: Provider) -> bool {
    cfg!(feature = "aws-lc") && p == Provider::AwsLc
}
