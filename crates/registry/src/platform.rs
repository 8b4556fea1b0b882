//! Owns platforms (`linux/amd64`, `linux/arm64/v8`): the host's own, parsing
//! `--platform`, and matching against the entries of an image index with the same
//! normalization containerd applies (`aarch64` is `arm64`, whose default variant is
//! `v8`). Never looks at anything but strings.

use std::fmt;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    /// `v8`, `v7`...; None matches any variant of the architecture.
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this process runs on (`linux` + the Go name of the CPU).
    pub fn host() -> Platform {
        let (architecture, variant) = normalize_arch(std::env::consts::ARCH, None);
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture,
            variant,
        }
    }

    /// Parses `os/arch[/variant]` as `--platform` takes it.
    pub fn parse(input: &str) -> Result<Platform> {
        let bad = |reason: &str| Error::InvalidPlatform {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = input.trim().split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some(*variant)),
            _ => return Err(bad("want os/arch or os/arch/variant, e.g. linux/arm64")),
        };
        if [os, arch].iter().chain(variant.iter()).any(|p| {
            p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }) {
            return Err(bad("empty or invalid component"));
        }
        let (architecture, variant) = normalize_arch(&arch.to_ascii_lowercase(), variant);
        Ok(Platform {
            os: os.to_ascii_lowercase(),
            architecture,
            variant,
        })
    }

    /// Whether an index entry for `os`/`arch`/`variant` runs here.
    pub fn matches(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        if !os.eq_ignore_ascii_case(&self.os) {
            return false;
        }
        let (arch, variant) = normalize_arch(&arch.to_ascii_lowercase(), variant);
        if arch != self.architecture {
            return false;
        }
        match &self.variant {
            None => true,
            Some(want) => variant.as_deref().unwrap_or(default_variant(&arch)) == want,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Default for Platform {
    fn default() -> Platform {
        Platform::host()
    }
}

/// The variant an entry without one is taken to have.
fn default_variant(arch: &str) -> &'static str {
    match arch {
        "arm64" => "v8",
        "arm" => "v7",
        _ => "",
    }
}

/// Maps kernel/Rust names to the Go names images use, keeping the variant.
fn normalize_arch(arch: &str, variant: Option<&str>) -> (String, Option<String>) {
    let variant = variant.map(str::to_ascii_lowercase);
    let (a, v) = match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64", variant),
        "aarch64" | "arm64" => (
            "arm64",
            match variant.as_deref() {
                Some("8") => Some("v8".to_string()),
                _ => variant,
            },
        ),
        "armhf" => ("arm", Some("v7".to_string())),
        "armel" => ("arm", Some("v6".to_string())),
        "arm" => ("arm", variant),
        "x86" | "i386" | "i686" | "386" => ("386", variant),
        "powerpc64" | "ppc64le" => ("ppc64le", variant),
        "riscv64" | "s390x" | "mips64" | "loongarch64" => (arch, variant),
        other => (other, variant),
    };
    (a.to_string(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_uses_go_names() {
        let h = Platform::host();
        assert_eq!(h.os, "linux");
        if cfg!(target_arch = "x86_64") {
            assert_eq!(h.architecture, "amd64");
        }
        if cfg!(target_arch = "aarch64") {
            assert_eq!(h.architecture, "arm64");
        }
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(
            Platform::parse("linux/amd64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/aarch64/v8").unwrap().to_string(),
            "linux/arm64/v8"
        );
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("linux//v7").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
    }

    #[test]
    fn matching_normalizes_default_variants() {
        let arm64 = Platform::parse("linux/arm64").unwrap();
        assert!(arm64.matches("linux", "arm64", Some("v8")));
        assert!(arm64.matches("linux", "arm64", None));
        let v8 = Platform::parse("linux/arm64/v8").unwrap();
        assert!(v8.matches("linux", "arm64", None));
        assert!(!v8.matches("linux", "arm64", Some("v9")));
        let v7 = Platform::parse("linux/arm/v7").unwrap();
        assert!(v7.matches("linux", "arm", None));
        assert!(!v7.matches("linux", "arm", Some("v6")));
        let amd = Platform::parse("linux/amd64").unwrap();
        assert!(!amd.matches("windows", "amd64", None));
        assert!(!amd.matches("linux", "arm64", None));
    }
}
