//! Owns content digests: which digest strings are valid (`sha256:<64 hex>`,
//! `sha512:<128 hex>`, lowercase) and incremental hashing to check content against one.
//! Never trusts a digest string it has not validated: callers use digests as file names.

use sha2::{Digest as _, Sha256, Sha512};

/// Whether `digest` is a digest berth can verify: `sha256:` + 64 or `sha512:` + 128
/// lowercase hex digits.
pub fn is_valid(digest: &str) -> bool {
    let Some((algo, hex)) = digest.split_once(':') else {
        return false;
    };
    let want = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == want && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// An incremental hasher for the algorithm a digest names.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    /// The hasher for `digest`'s algorithm; None if the digest is not valid.
    pub fn for_digest(digest: &str) -> Option<Hasher> {
        if !is_valid(digest) {
            return None;
        }
        if digest.starts_with("sha512:") {
            Some(Hasher::Sha512(Sha512::new()))
        } else {
            Some(Hasher::Sha256(Sha256::new()))
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest string (`algo:hex`) of everything fed in.
    pub fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex::encode(h.finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex::encode(h.finalize())),
        }
    }
}

/// The digest of `data` in `expected`'s algorithm (sha256 if `expected` is not valid).
pub fn digest_like(expected: &str, data: &[u8]) -> String {
    let mut h = Hasher::for_digest(expected).unwrap_or(Hasher::Sha256(Sha256::new()));
    h.update(data);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(is_valid(&sha256(b"x")));
        assert!(!is_valid("sha256:abc"));
        assert!(!is_valid(&sha256(b"x").to_uppercase()));
        assert!(!is_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
        assert!(!is_valid(&format!("sha256:../{}", "a".repeat(61))));
    }

    #[test]
    fn hasher_matches_one_shot() {
        let d = sha256(b"hello world");
        let mut h = Hasher::for_digest(&d).unwrap();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.finish(), d);
        assert_eq!(digest_like(&d, b"hello world"), d);
    }
}
