//! Container ids (64 hex characters of kernel randomness), generated names in Docker's
//! `adjective_name` style, and name validation.

use crate::error::{Error, Result};

pub fn new_id() -> Result<String> {
    let mut b = [0u8; 32];
    runtime::sys::random_bytes(&mut b)
        .map_err(|e| Error::invalid(format!("reading random bytes: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "clever", "eager", "fond", "gentle", "happy", "keen", "lucid", "merry",
    "nimble", "patient", "quiet", "quirky", "sharp", "steady", "sturdy", "swift", "tidy", "vivid",
    "wise", "zen",
];
const NAMES: &[&str] = &[
    "anchor", "beacon", "buoy", "cabin", "compass", "current", "dock", "ferry", "galley", "harbor",
    "hull", "jetty", "keel", "lantern", "mast", "mooring", "pier", "quay", "rudder", "sail",
    "tide", "wharf",
];

/// A readable random name; the caller retries on collision.
pub fn random_name() -> String {
    let mut b = [0u8; 4];
    let _ = runtime::sys::random_bytes(&mut b);
    let a = ADJECTIVES[b[0] as usize % ADJECTIVES.len()];
    let n = NAMES[b[1] as usize % NAMES.len()];
    let suffix = u16::from_le_bytes([b[2], b[3]]) % 1000;
    format!("{a}_{n}{suffix}")
}

/// Docker's rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least two characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_distinct() {
        let a = new_id().unwrap();
        let b = new_id().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn names_follow_docker_rules() {
        assert!(validate_name("web").is_ok());
        assert!(validate_name("web-1.a_b").is_ok());
        assert!(validate_name("-web").is_err());
        assert!(validate_name("w").is_err());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name(&random_name()).is_ok());
    }
}
