//! "Did you mean" hints for misspelt instructions, flags and mount options. Owns only
//! the closeness measure; never decides that a misspelling is acceptable.

/// The candidate closest to `word` (case-insensitively), if it is close enough to be a
/// plausible typo: one edit between short words, two when either is longer. A swap of
/// two neighbouring letters (`FORM` for `FROM`) counts as one edit.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| {
            let c_lower = c.to_ascii_lowercase();
            let limit = if word.len().max(c_lower.len()) <= 3 {
                1
            } else {
                2
            };
            (distance(&word, &c_lower), limit, *c)
        })
        .filter(|(d, limit, _)| d <= limit)
        .map(|(d, _, c)| (d, c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// `" (did you mean X?)"` or nothing, ready to append to a message.
pub fn hint(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(c) => format!(" (did you mean {c}?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_found_and_strangers_are_not() {
        let names = ["FROM", "RUN", "COPY", "WORKDIR"];
        assert_eq!(closest("form", &names), Some("FROM"));
        assert_eq!(closest("RUNN", &names), Some("RUN"));
        assert_eq!(closest("WORKDIT", &names), Some("WORKDIR"));
        assert_eq!(closest("PUSH", &names), None);
        assert_eq!(closest("X", &names), None);
    }
}
