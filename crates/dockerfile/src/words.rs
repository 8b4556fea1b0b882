//! How Docker cuts one logical instruction line into pieces: the instruction word, the
//! leading `--flags`, and the arguments, which each instruction then reads as a JSON
//! array, whitespace-separated words, quote-aware words, or one string. Owns only the
//! cutting; never expands variables and never removes quotes from arguments (that is
//! [`crate::expand`]'s job, done by the builder).

/// Whitespace as Docker's instruction splitter sees it (`[\t\v\f\r ]`).
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{b}' | '\u{c}' | '\r')
}

/// `(instruction, flags, arguments)`: the first word, the `--flag[=value]` words that
/// follow it (quotes removed, as Docker does for flags), and the rest, trimmed.
pub fn split_command(line: &str) -> (String, Vec<String>, String) {
    let line = line.trim();
    let (cmd, rest) = match line.find(is_separator) {
        Some(i) => (&line[..i], line[i..].trim_start_matches(is_separator)),
        None => (line, ""),
    };
    let (flags, args) = extract_flags(rest);
    (cmd.to_string(), flags, args.trim().to_string())
}

/// Splits off the leading words that start with `--`. A bare `--` ends the flags and is
/// dropped. Inside a flag word, quotes group (and are removed) and `\` escapes the next
/// character, whatever the escape directive says — Docker hard-codes it here.
pub fn extract_flags(line: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start();
        if !trimmed.starts_with("--") {
            return (flags, trimmed);
        }
        let (word, after) = flag_word(trimmed);
        if word == "--" {
            return (flags, after);
        }
        if !word.is_empty() {
            flags.push(word);
        }
        rest = after;
    }
}

/// One flag word from the start of `s` and what follows it.
fn flag_word(s: &str) -> (String, &str) {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match quote {
            None if c.is_whitespace() => return (word, &s[i..]),
            None if c == '\'' || c == '"' => quote = Some(c),
            Some(q) if c == q => quote = None,
            _ if c == '\\' => {
                if let Some((_, next)) = chars.next() {
                    word.push(next);
                }
            }
            _ => word.push(c),
        }
    }
    (word, "")
}

/// Quote-aware words for ENV, LABEL and ARG: split on unquoted whitespace, keeping the
/// quotes and escape characters in the words so that expansion later sees them.
pub fn quoted_words(s: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    // A word that had quotes is kept even when it is empty (`A=""` is not nothing).
    let mut had_quote = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None => {
                if c.is_whitespace() {
                    if in_word && (had_quote || !word.is_empty()) {
                        words.push(std::mem::take(&mut word));
                    }
                    word.clear();
                    in_word = false;
                    had_quote = false;
                    continue;
                }
                in_word = true;
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    had_quote = true;
                    word.push(c);
                } else if c == escape {
                    // An escape keeps itself and the next character, even a quote;
                    // a trailing escape is dropped.
                    if let Some(next) = chars.next() {
                        word.push(c);
                        word.push(next);
                    }
                } else {
                    word.push(c);
                }
            }
            Some(q) => {
                if c == q {
                    quote = None;
                    word.push(c);
                } else if c == escape && q != '\'' {
                    match chars.next() {
                        Some(next) => {
                            word.push(c);
                            word.push(next);
                        }
                        None => quote = None,
                    }
                } else {
                    word.push(c);
                }
            }
        }
    }
    if in_word && (had_quote || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// Words separated by Docker's instruction whitespace, with no quote handling (FROM,
/// EXPOSE, and the shell forms of COPY, ADD and VOLUME).
pub fn plain_words(s: &str) -> Vec<String> {
    s.split(is_separator)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// What the JSON form test found.
#[derive(Debug, PartialEq, Eq)]
pub enum Json {
    /// A JSON array of strings: exec form.
    Array(Vec<String>),
    /// Not JSON (or not an array): shell form, the text is used as written.
    NotJson,
    /// A JSON array with something other than strings in it. Docker refuses this rather
    /// than falling back to shell form.
    NotStrings,
}

/// Docker's exec-form test: the arguments start with `[` and parse as a JSON array.
pub fn json_array(s: &str) -> Json {
    let s = s.trim_start();
    if !s.starts_with('[') {
        return Json::NotJson;
    }
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(s) else {
        return Json::NotJson;
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            serde_json::Value::String(s) => out.push(s),
            _ => return Json::NotStrings,
        }
    }
    Json::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_flags_and_arguments_are_split() {
        let (cmd, flags, rest) = split_command("  copy --from=build  --chown=\"a b\" src /dst ");
        assert_eq!(cmd, "copy");
        assert_eq!(flags, vec!["--from=build", "--chown=a b"]);
        assert_eq!(rest, "src /dst");
    }

    #[test]
    fn a_bare_double_dash_ends_the_flags() {
        let (_, flags, rest) = split_command("RUN --network=none -- --not-a-flag");
        assert_eq!(flags, vec!["--network=none"]);
        assert_eq!(rest, "--not-a-flag");
    }

    #[test]
    fn a_single_dash_is_an_argument() {
        let (_, flags, rest) = split_command("RUN -x");
        assert!(flags.is_empty());
        assert_eq!(rest, "-x");
    }

    #[test]
    fn quoted_words_keep_quotes_and_escapes() {
        assert_eq!(
            quoted_words(r#"A=1 B="two words" C='x y' D=a\ b E="""#, '\\'),
            vec!["A=1", r#"B="two words""#, "C='x y'", r"D=a\ b", r#"E="""#]
        );
        assert_eq!(quoted_words("A=a` b", '`'), vec!["A=a` b"]);
    }

    #[test]
    fn json_detection_follows_docker() {
        assert_eq!(
            json_array(r#"["echo", "hi"]"#),
            Json::Array(vec!["echo".into(), "hi".into()])
        );
        assert_eq!(json_array(r#"[ "a" "b" ]"#), Json::NotJson);
        assert_eq!(json_array("echo [x]"), Json::NotJson);
        assert_eq!(json_array(r#"["a", 1]"#), Json::NotStrings);
        assert_eq!(json_array("[]"), Json::Array(vec![]));
    }
}
