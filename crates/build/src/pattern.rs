//! Path patterns as Docker reads them in `.dockerignore` and COPY sources: `/`-separated
//! components where `*` and `?` match within one component, `[...]` is a character
//! class, `\` escapes, and a `**` component matches any number of components. Owns the
//! matching only; never touches the file system.

/// A cleaned pattern, cut into components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<String>,
}

impl Pattern {
    /// Cleans `text` like Go's `filepath.Clean` (no leading `/`, `.` dropped, `..`
    /// folded); `None` when it climbs above its root.
    pub fn new(text: &str) -> Option<Pattern> {
        Some(Pattern {
            parts: clean(text)?,
        })
    }

    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// Whether the pattern matches `path` (relative, `/`-separated) exactly.
    pub fn matches(&self, path: &str) -> bool {
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let parts: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        match_parts(&parts, &comps)
    }

    /// Whether the pattern matches `path` or one of its parent directories (a
    /// `.dockerignore` line excludes everything below a directory it names).
    pub fn matches_or_parent(&self, path: &str) -> bool {
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let parts: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        (1..=comps.len()).any(|n| match_parts(&parts, &comps[..n]))
    }
}

/// Whether `text` uses any wildcard.
pub fn has_wildcards(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Lexically cleans a path into its components; `None` if `..` leaves the root.
pub fn clean(text: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in text.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            other => out.push(other.to_string()),
        }
    }
    Some(out)
}

fn match_parts(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_parts(rest, &path[skip..])),
        Some((p, rest)) => match path.split_first() {
            Some((c, tail)) => match_component(p, c) && match_parts(rest, tail),
            None => false,
        },
    }
}

/// Shell-style match of one component.
pub fn match_component(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_chars(&p, &n)
}

fn match_chars(p: &[char], n: &[char]) -> bool {
    let Some((&first, rest)) = p.split_first() else {
        return n.is_empty();
    };
    match first {
        '*' => (0..=n.len()).any(|k| match_chars(rest, &n[k..])),
        '?' => !n.is_empty() && match_chars(rest, &n[1..]),
        '[' => {
            let Some(&c) = n.first() else { return false };
            match class(rest, c) {
                Some((true, after)) => match_chars(after, &n[1..]),
                Some((false, _)) => false,
                // An unterminated class is a literal '['.
                None => c == '[' && match_chars(rest, &n[1..]),
            }
        }
        '\\' => match rest.split_first() {
            Some((&lit, after)) => n.first() == Some(&lit) && match_chars(after, &n[1..]),
            None => n == ['\\'],
        },
        lit => n.first() == Some(&lit) && match_chars(rest, &n[1..]),
    }
}

/// Reads a `[...]` class after its `[`: whether `c` is in it, and what follows.
fn class(p: &[char], c: char) -> Option<(bool, &[char])> {
    let (negate, mut i) = match p.first() {
        Some('^') | Some('!') => (true, 1),
        _ => (false, 0),
    };
    let mut found = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((found != negate, &p[i + 1..]));
        }
        first = false;
        let mut lo = p[i];
        if lo == '\\' && i + 1 < p.len() {
            i += 1;
            lo = p[i];
        }
        let mut hi = lo;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            hi = p[i + 2];
            i += 2;
        }
        if lo <= c && c <= hi {
            found = true;
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, path: &str) -> bool {
        Pattern::new(p).map(|p| p.matches(path)).unwrap_or(false)
    }

    #[test]
    fn stars_stay_within_a_component() {
        assert!(m("*.txt", "a.txt"));
        assert!(!m("*.txt", "d/a.txt"));
        assert!(m("d/*.txt", "d/a.txt"));
        assert!(m("a?c", "abc"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
    }

    #[test]
    fn double_star_spans_directories() {
        assert!(m("**/*.go", "a.go"));
        assert!(m("**/*.go", "x/y/a.go"));
        assert!(m("x/**", "x/y/z"));
        assert!(!m("x/**/z", "y/z"));
    }

    #[test]
    fn cleaning_folds_dots_and_refuses_escapes() {
        assert_eq!(Pattern::new("/a/./b/../c").unwrap().parts(), ["a", "c"]);
        assert!(Pattern::new("../x").is_none());
        assert!(Pattern::new("a/../../x").is_none());
    }

    #[test]
    fn parents_match_for_ignore_files() {
        let p = Pattern::new("build").unwrap();
        assert!(p.matches_or_parent("build/out/x.o"));
        assert!(!p.matches_or_parent("src/build.rs"));
    }
}
