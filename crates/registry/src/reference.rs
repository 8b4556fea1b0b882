//! Owns image references: parsing what a user typed (`alpine`, `user/app:1`,
//! `127.0.0.1:5000/team/app@sha256:...`) into the fully qualified form, exactly as
//! Docker's `ParseNormalizedNamed` does, and printing both the full and Docker's short
//! ("familiar") form. Never touches the network.

use std::fmt;

use crate::digest;
use crate::error::{Error, Result};

/// Docker Hub's canonical name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// Docker Hub's legacy name, normalized to [`DOCKER_HUB`].
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// The host Docker Hub's v2 API answers on (as oci-client resolves `docker.io`).
pub(crate) const DOCKER_HUB_API: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
const NAME_MAX: usize = 255;

/// A fully qualified image reference: `registry/repository[:tag][@digest]`.
///
/// `tag` is `latest` when neither tag nor digest was given; a reference by digest alone
/// has no tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `docker.io`, `quay.io`, `127.0.0.1:5000`, `[::1]:5000`.
    pub registry: String,
    /// `library/alpine`, `team/app`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses and normalizes a reference the way `docker pull` does.
    pub fn parse(input: &str) -> Result<ImageRef> {
        let bad = |reason: &str| Error::InvalidReference {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(bad("empty reference"));
        }
        if input.len() == 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad(&format!(
                "invalid repository name ({input}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (name_tag, digest) = match input.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (input, None),
        };
        // A ':' after the last '/' starts the tag; one before it is a registry port.
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].find(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };

        let (mut registry, mut repository) = split_registry(name);
        if registry == DOCKER_HUB_LEGACY {
            registry = DOCKER_HUB.to_string();
        }
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("{OFFICIAL_PREFIX}{repository}");
        }
        if repository.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad("repository name must be lowercase"));
        }
        if !is_valid_domain(&registry) || !repository.split('/').all(is_valid_component) {
            return Err(bad("invalid reference format"));
        }
        if registry.len() + 1 + repository.len() > NAME_MAX {
            return Err(bad(&format!(
                "repository name must not be more than {NAME_MAX} characters"
            )));
        }
        if let Some(t) = tag {
            if !is_valid_tag(t) {
                return Err(bad("invalid tag format"));
            }
        }
        if let Some(d) = digest {
            if !digest::is_valid(d) {
                return Err(bad("invalid checksum digest format"));
            }
        }
        let tag = match (tag, digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.map(str::to_string),
        };
        Ok(ImageRef {
            registry,
            repository,
            tag,
            digest: digest.map(str::to_string),
        })
    }

    /// `registry/repository`: the name without tag or digest.
    pub fn repo_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// Docker's short name without tag or digest: `alpine`, `user/app`,
    /// `127.0.0.1:5000/team/app`.
    pub fn familiar_name(&self) -> String {
        if self.registry != DOCKER_HUB {
            return self.repo_name();
        }
        match self.repository.strip_prefix(OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.repository.clone(),
        }
    }

    /// Docker's short form: `alpine:latest`, `user/app:1`, `127.0.0.1:5000/team/app:1`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    /// This reference with `tag` in place of its tag and without a digest.
    pub fn with_tag(&self, tag: &str) -> Result<ImageRef> {
        if !is_valid_tag(tag) {
            return Err(Error::InvalidReference {
                input: tag.to_string(),
                reason: "invalid tag format".into(),
            });
        }
        Ok(ImageRef {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        })
    }

    /// This reference pinned to `digest` (the tag, if any, is kept, as Docker's
    /// `name:tag@digest` does).
    pub fn with_digest(&self, digest: &str) -> Result<ImageRef> {
        if !digest::is_valid(digest) {
            return Err(Error::InvalidReference {
                input: digest.to_string(),
                reason: "invalid checksum digest format".into(),
            });
        }
        Ok(ImageRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        })
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
    }

    /// The oci-client reference for this image on its own registry.
    pub(crate) fn to_oci(&self) -> oci_client::Reference {
        let (r, p) = (self.registry.clone(), self.repository.clone());
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => {
                oci_client::Reference::with_tag_and_digest(r, p, t.clone(), d.clone())
            }
            (None, Some(d)) => oci_client::Reference::with_digest(r, p, d.clone()),
            (Some(t), None) => oci_client::Reference::with_tag(r, p, t.clone()),
            (None, None) => oci_client::Reference::with_tag(r, p, "latest".into()),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.repo_name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl std::str::FromStr for ImageRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<ImageRef> {
        ImageRef::parse(s)
    }
}

/// Normalizes what a user passes to `login`/`logout` or writes as a config key
/// (`docker.io`, `https://index.docker.io/v1/`, `registry-1.docker.io`,
/// `http://127.0.0.1:5000/`) to a registry name as it appears in references.
pub fn normalize_registry(input: &str) -> String {
    let s = input.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s);
    match host {
        "" | DOCKER_HUB_LEGACY | "registry-1.docker.io" | "registry.hub.docker.com" => {
            DOCKER_HUB.to_string()
        }
        h => h.to_string(),
    }
}

/// Docker's `splitDockerDomain`: the first component names a registry when it contains
/// a `.` or `:`, is `localhost`, or has an uppercase letter; otherwise it is Docker Hub.
fn split_registry(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// A host name (components of `[A-Za-z0-9-]`, not starting or ending with `-`,
/// joined by `.`) or a bracketed IPv6 address, with an optional `:port`.
fn is_valid_domain(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return false;
        };
        if ip.is_empty() || !ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(p) => ("x", Some(p)),
                None => return false,
            },
        }
    } else {
        match d.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (d, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        })
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn is_valid_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn full(s: &str) -> String {
        ImageRef::parse(s).unwrap().to_string()
    }

    fn err(s: &str) -> String {
        ImageRef::parse(s).unwrap_err().to_string()
    }

    #[test]
    fn docker_hub_names_are_normalized() {
        assert_eq!(full("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(full("alpine:3.19"), "docker.io/library/alpine:3.19");
        assert_eq!(full("user/app"), "docker.io/user/app:latest");
        assert_eq!(full("docker.io/alpine"), "docker.io/library/alpine:latest");
        assert_eq!(full("index.docker.io/user/app:1"), "docker.io/user/app:1");
        assert_eq!(full("library/alpine"), "docker.io/library/alpine:latest");
        assert_eq!(full("a/b/c"), "docker.io/a/b/c:latest");
    }

    #[test]
    fn first_component_is_a_registry_with_dot_colon_or_localhost() {
        let r = ImageRef::parse("127.0.0.1:5000/team/app:1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(full("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(full("quay.io/podman/hello"), "quay.io/podman/hello:latest");
        assert_eq!(full("[::1]:5000/app:2"), "[::1]:5000/app:2");
        // Not a registry: no '.', ':' or localhost.
        assert_eq!(full("myhost/app"), "docker.io/myhost/app:latest");
        // A registry without a path is just a Docker Hub image name with a tag.
        assert_eq!(full("localhost:5000"), "docker.io/library/localhost:5000");
    }

    #[test]
    fn digests_with_and_without_tags() {
        let r = ImageRef::parse(&format!("alpine@{D}")).unwrap();
        assert_eq!(r.tag, None);
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.to_string(), format!("docker.io/library/alpine@{D}"));
        let r = ImageRef::parse(&format!("127.0.0.1:5000/x/y:1@{D}")).unwrap();
        assert_eq!(r.tag.as_deref(), Some("1"));
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.familiar(), format!("127.0.0.1:5000/x/y:1@{D}"));
    }

    #[test]
    fn familiar_form_is_dockers_short_form() {
        assert_eq!(
            ImageRef::parse("alpine").unwrap().familiar(),
            "alpine:latest"
        );
        assert_eq!(
            ImageRef::parse("user/app:1").unwrap().familiar(),
            "user/app:1"
        );
        assert_eq!(
            ImageRef::parse("docker.io/library/a/b").unwrap().familiar(),
            "library/a/b:latest"
        );
        assert_eq!(
            ImageRef::parse("127.0.0.1:5000/team/app:1")
                .unwrap()
                .familiar(),
            "127.0.0.1:5000/team/app:1"
        );
        assert_eq!(
            ImageRef::parse("alpine").unwrap().repo_name(),
            "docker.io/library/alpine"
        );
    }

    #[test]
    fn bad_references_fail_with_dockers_messages() {
        assert_eq!(
            err("Alpine"),
            "invalid reference format: repository name must be lowercase"
        );
        assert_eq!(
            err("quay.io/Team/app"),
            "invalid reference format: repository name must be lowercase"
        );
        assert!(err("alpine:bad/tag").starts_with("invalid reference format"));
        assert!(err("alpine:-x").starts_with("invalid reference format"));
        assert!(err(&format!("alpine:{}", "t".repeat(129))).starts_with("invalid reference format"));
        assert!(err("alpine@sha256:abc").contains("invalid checksum digest format"));
        assert!(err("").starts_with("invalid reference format"));
        assert!(err("a//b").starts_with("invalid reference format"));
        assert!(err("a/b_-c").starts_with("invalid reference format"));
        assert!(err("-a").starts_with("invalid reference format"));
        assert!(err("a b").starts_with("invalid reference format"));
        assert!(err(&"a".repeat(300)).contains("255"));
        assert!(err(&"ab".repeat(32)).contains("64-byte hexadecimal"));
    }

    #[test]
    fn components_follow_the_distribution_grammar() {
        for ok in ["a", "a.b", "a_b", "a__b", "a-b", "a---b", "a0"] {
            assert!(is_valid_component(ok), "{ok}");
        }
        for bad in ["", "_a", "a_", "a___b", "a..b", "A", "a.", ".a"] {
            assert!(!is_valid_component(bad), "{bad}");
        }
    }

    #[test]
    fn with_tag_and_with_digest() {
        let r = ImageRef::parse(&format!("alpine:3@{D}")).unwrap();
        let t = r.with_tag("edge").unwrap();
        assert_eq!(t.to_string(), "docker.io/library/alpine:edge");
        let d = t.with_digest(D).unwrap();
        assert_eq!(d.to_string(), format!("docker.io/library/alpine:edge@{D}"));
        assert!(r.with_tag("no/slash").is_err());
        assert!(r.with_digest("sha256:xyz").is_err());
    }

    #[test]
    fn login_names_are_normalized() {
        assert_eq!(
            normalize_registry("https://index.docker.io/v1/"),
            "docker.io"
        );
        assert_eq!(normalize_registry("docker.io"), "docker.io");
        assert_eq!(normalize_registry("registry-1.docker.io"), "docker.io");
        assert_eq!(
            normalize_registry("http://127.0.0.1:5000/"),
            "127.0.0.1:5000"
        );
        assert_eq!(normalize_registry("quay.io"), "quay.io");
        assert_eq!(normalize_registry(""), "docker.io");
    }
}
