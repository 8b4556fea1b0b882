//! Sizes (`64m`, `1.5g`, `67108864`), durations (Go's `1m30s`, `500ms`) and octal
//! file modes (`0440`, `"0440"`) as compose reads them. Sizes use Docker's rules:
//! binary multiples (k = 1024), units b, k, m, g, t, p with an optional `b` (`mb`,
//! `gb`) or `ib`, case-insensitive. Durations use Go's `time.ParseDuration` rules.

use crate::model::Nanos;
use crate::value::{Node, Value};

use super::read::{error, expected, Res};

const SIZE_HELP: &str =
    "use a number of bytes, or a number with a unit b, k, m or g (e.g. 512k, 64m, 1.5g)";
const DURATION_HELP: &str =
    "use a number with a unit ns, us, ms, s, m or h (e.g. 500ms, 30s, 1m30s)";

/// Parses a size as Docker does (`units.RAMInBytes`): "-1" and plain integers are
/// bytes; otherwise a decimal number, an optional space, and a unit.
pub fn parse_size(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    let bad = || format!("invalid size {s:?}: {SIZE_HELP}");
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(num_end);
    if num.is_empty() || num.starts_with('.') {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let unit = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let (shift, tail) = match unit.chars().next() {
        Some('k') => (10, &unit[1..]),
        Some('m') => (20, &unit[1..]),
        Some('g') => (30, &unit[1..]),
        Some('t') => (40, &unit[1..]),
        Some('p') => (50, &unit[1..]),
        _ => (0, unit.as_str()),
    };
    let tail = if shift > 0 {
        tail.strip_prefix('i').unwrap_or(tail)
    } else {
        tail
    };
    if !matches!(tail, "" | "b") {
        return Err(bad());
    }
    let bytes = value * (1u64 << shift) as f64;
    if bytes >= i64::MAX as f64 {
        return Err(format!("invalid size {s:?}: too large"));
    }
    Ok(bytes as i64)
}

/// A size node: an integer (bytes) or a string with a unit.
pub(crate) fn size(node: &Node, path: &str) -> Res<i64> {
    match &node.value {
        Value::Int(i) => Ok(*i),
        Value::Str(s) => parse_size(s).map_err(|m| error(node.span, path, m)),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(*f as i64),
        _ => Err(expected(
            node,
            path,
            "a size (a number of bytes or a string like \"64m\")",
        )),
    }
}

/// A size that must not be negative (`-1` excepted where `allow_unlimited`).
pub(crate) fn size_limit(node: &Node, path: &str, allow_unlimited: bool) -> Res<i64> {
    let v = size(node, path)?;
    if v < 0 && !(allow_unlimited && v == -1) {
        let also = if allow_unlimited {
            " (or -1 for unlimited)"
        } else {
            ""
        };
        return Err(error(
            node.span,
            path,
            format!("a size must not be negative{also}"),
        ));
    }
    Ok(v)
}

/// Parses a duration as Go's `time.ParseDuration` does: an optional sign, then one or
/// more decimal numbers (fractions allowed) each with a unit; "0" alone is zero.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let bad = |why: &str| format!("invalid duration {s:?}: {why}; {DURATION_HELP}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_part, after) = rest.split_at(int_end);
        rest = after;
        let mut frac_part = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let frac_end = after_dot
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_dot.len());
            frac_part = &after_dot[..frac_end];
            rest = &after_dot[frac_end..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad("expected a number"));
        }
        let unit_end = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, after) = rest.split_at(unit_end);
        rest = after;
        let mult: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(bad("a number is missing its unit")),
            _ => return Err(bad(&format!("unknown unit {unit:?}"))),
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad("too large"))?
        };
        total = total.saturating_add(whole.saturating_mul(mult));
        // Digits past nanosecond precision cannot change the result.
        let mut frac: u128 = 0;
        let mut scale: u128 = 1;
        for d in frac_part.bytes().take(20) {
            frac = frac * 10 + u128::from(d - b'0');
            scale *= 10;
        }
        total = total.saturating_add(frac * mult / scale);
        if total > i64::MAX as u128 {
            return Err(bad("too large"));
        }
    }
    let total = total as i64;
    Ok(if neg { -total } else { total })
}

/// A duration node (`"30s"`); a bare `0` is accepted as Go accepts "0".
pub(crate) fn duration(node: &Node, path: &str) -> Res<Nanos> {
    let text = match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        _ => return Err(expected(node, path, "a duration (a string like \"30s\")")),
    };
    let n = parse_duration(&text).map_err(|m| error(node.span, path, m))?;
    if n < 0 {
        return Err(error(
            node.span,
            path,
            format!("duration {text:?} must not be negative"),
        ));
    }
    Ok(Nanos(n))
}

/// A file mode: an integer as YAML gave it (`0440` is already octal there, as in
/// compose), or a string read as octal (`"0440"`, `"440"`).
pub(crate) fn mode(node: &Node, path: &str) -> Res<u32> {
    let v = match &node.value {
        Value::Int(i) => *i,
        Value::Str(s) => {
            let t = s.trim();
            let digits = t.strip_prefix("0o").unwrap_or(t);
            i64::from_str_radix(digits, 8).map_err(|_| {
                error(
                    node.span,
                    path,
                    format!("invalid file mode {s:?}: expected octal digits such as \"0440\""),
                )
            })?
        }
        _ => return Err(expected(node, path, "a file mode (such as 0440)")),
    };
    if !(0..=0o7777).contains(&v) {
        return Err(error(
            node.span,
            path,
            format!("file mode {v:#o} is out of range (0 to 07777)"),
        ));
    }
    Ok(v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dockers_units() {
        for (s, n) in [
            ("67108864", 67_108_864),
            ("-1", -1),
            ("64m", 64 << 20),
            ("64M", 64 << 20),
            ("64mb", 64 << 20),
            ("1gb", 1 << 30),
            ("1GB", 1 << 30),
            ("1g", 1 << 30),
            ("1gib", 1 << 30),
            ("512k", 512 << 10),
            ("512kb", 512 << 10),
            ("100b", 100),
            ("1.5g", 3 << 29),
            ("64 m", 64 << 20),
            ("2t", 2 << 40),
        ] {
            assert_eq!(parse_size(s), Ok(n), "{s}");
        }
        for s in [
            "", "m", "64x", "1.2.3m", "64 mm", "-5m", ".5g", "1i", "1kbb",
        ] {
            assert!(parse_size(s).is_err(), "{s} should be rejected");
        }
        assert!(parse_size("64x").unwrap_err().contains("unit b, k, m or g"));
    }

    #[test]
    fn durations_follow_go() {
        for (s, n) in [
            ("0", 0),
            ("1s", 1_000_000_000),
            ("500ms", 500_000_000),
            ("1.5s", 1_500_000_000),
            ("1m30s", 90_000_000_000),
            ("1h", 3_600_000_000_000),
            ("2h45m", 9_900_000_000_000),
            ("10us", 10_000),
            ("10µs", 10_000),
            ("7ns", 7),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("-2s", -2_000_000_000),
            ("+2s", 2_000_000_000),
        ] {
            assert_eq!(parse_duration(s), Ok(n), "{s}");
        }
        for s in ["", "1", "s", "1x", "1d", ".s", "1s2", "3000000h"] {
            assert!(parse_duration(s).is_err(), "{s} should be rejected");
        }
        assert!(parse_duration("10")
            .unwrap_err()
            .contains("missing its unit"));
    }
}
