//! Tells ADD's remote sources from local paths, with Docker's rules: a git repository
//! is `git@host:path`, `git://`, `ssh://`, or an `http(s)://` URL whose path ends in
//! `.git`, optionally followed by `#ref:subdir`; any other `http(s)://` URL is a file
//! to download. Owns the parsing only; never touches the network.

/// A source ADD fetches instead of reading the context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// A file to download.
    Http(String),
    Git(GitRef),
}

/// A git repository, the ref to check out and the directory of it to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRef {
    /// The repository URL without the `#...` fragment.
    pub url: String,
    /// Branch, tag or commit; the remote's default branch when `None`.
    pub reference: Option<String>,
    /// The directory inside the repository to copy; the whole tree when `None`.
    pub subdir: Option<String>,
}

pub fn classify(source: &str) -> Option<Remote> {
    let (base, fragment) = match source.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (source, None),
    };
    let lower = base.to_ascii_lowercase();
    let is_http = lower.starts_with("http://") || lower.starts_with("https://");
    let path_ends_git = is_http && {
        let after_scheme = base.split_once("://").map_or("", |(_, r)| r);
        let path = after_scheme.split_once('/').map_or("", |(_, p)| p);
        let path = path.split(['?']).next().unwrap_or("");
        path.trim_end_matches('/').ends_with(".git")
    };
    let git = lower.starts_with("git://")
        || lower.starts_with("ssh://")
        || lower.starts_with("git@")
        || path_ends_git;
    if git {
        let (reference, subdir) = match fragment {
            None => (None, None),
            Some(f) => {
                let (r, d) = match f.split_once(':') {
                    Some((r, d)) => (r, Some(d)),
                    None => (f, None),
                };
                (
                    Some(r.to_string()).filter(|r| !r.is_empty()),
                    d.map(str::to_string).filter(|d| !d.is_empty()),
                )
            }
        };
        return Some(Remote::Git(GitRef {
            url: base.to_string(),
            reference,
            subdir,
        }));
    }
    is_http.then(|| Remote::Http(source.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(url: &str, r: Option<&str>, d: Option<&str>) -> Option<Remote> {
        Some(Remote::Git(GitRef {
            url: url.into(),
            reference: r.map(Into::into),
            subdir: d.map(Into::into),
        }))
    }

    #[test]
    fn git_urls_files_and_local_paths() {
        assert_eq!(
            classify("https://example.com/repo.git#v1:docs"),
            git("https://example.com/repo.git", Some("v1"), Some("docs"))
        );
        assert_eq!(
            classify("git@github.com:moby/buildkit.git"),
            git("git@github.com:moby/buildkit.git", None, None)
        );
        assert_eq!(
            classify("ssh://git@host/r#main"),
            git("ssh://git@host/r", Some("main"), None)
        );
        assert_eq!(
            classify("https://example.com/a/file.tar.gz"),
            Some(Remote::Http("https://example.com/a/file.tar.gz".into()))
        );
        assert_eq!(
            classify("http://example.com/x.git.txt"),
            Some(Remote::Http("http://example.com/x.git.txt".into()))
        );
        assert_eq!(classify("./repo.git"), None);
        assert_eq!(classify("src/file"), None);
    }
}
