//! Splits a string `command:` or `entrypoint:` into argv with POSIX shell word rules,
//! as compose does (it never runs `sh -c` for it): blanks separate words, single
//! quotes keep everything literally, double quotes keep everything but `\"`, `\\`,
//! `\$`, `` \` `` and a backslash-newline, and a backslash outside quotes makes the
//! next character literal. Nothing is expanded: `$HOME`, `*`, `~` and operators such
//! as `&&` stay as they are, because no shell ever sees the words.

/// Splits `s` into words. Unterminated quotes and a trailing backslash are errors.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word has started even when it is empty so far (`''` is an empty argument).
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
                None => return Err(format!("{s:?} ends with a lone backslash")),
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err(format!("{s:?} has an unterminated ' quote")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some('"' | '\\' | '$' | '`') => {
                                if let Some(escaped) = chars.next() {
                                    word.push(escaped);
                                }
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => word.push('\\'),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err(format!("{s:?} has an unterminated \" quote")),
                    }
                }
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Vec<String> {
        match split_command(s) {
            Ok(v) => v,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn splits_like_a_shell_without_expanding() {
        assert_eq!(ok("echo hello world"), ["echo", "hello", "world"]);
        assert_eq!(ok("  a \t b\n c  "), ["a", "b", "c"]);
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(ok("   "), Vec::<String>::new());
        assert_eq!(
            ok(r#"sh -c "echo \"hi\" $HOME""#),
            ["sh", "-c", r#"echo "hi" $HOME"#]
        );
        assert_eq!(
            ok("sh -c 'echo \"a b\" \\n'"),
            ["sh", "-c", "echo \"a b\" \\n"]
        );
        assert_eq!(ok(r"a\ b c\\d"), ["a b", r"c\d"]);
        assert_eq!(ok(r#""a\nb""#), [r"a\nb"]);
        assert_eq!(ok("'' x \"\""), ["", "x", ""]);
        assert_eq!(ok("pre'mid dle'post"), ["premid dlepost"]);
        assert_eq!(ok("a && b | c; *"), ["a", "&&", "b", "|", "c;", "*"]);
        assert_eq!(ok("a\\\nb"), ["ab"]);
        assert_eq!(ok("\"a\\\nb\""), ["ab"]);
    }

    #[test]
    fn unterminated_quotes_are_errors() {
        assert!(split_command("echo 'abc")
            .unwrap_err()
            .contains("unterminated '"));
        assert!(split_command("echo \"abc")
            .unwrap_err()
            .contains("unterminated \""));
        assert!(split_command("echo abc\\")
            .unwrap_err()
            .contains("backslash"));
    }
}
