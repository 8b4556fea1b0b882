//! Parsing of the sizes, CPU counts and durations users type, with Docker's rules
//! (go-units RAMInBytes: `512m`, `1.5g`, `64MiB`; binary multipliers).

use crate::error::{Error, Result};

/// Parses a memory size like Docker's RAMInBytes. `flag` names the option in errors.
pub fn parse_bytes(s: &str, flag: &str) -> Result<i64> {
    let bad = || {
        Error::invalid(format!("invalid argument {s:?} for \"{flag}\" flag: invalid size: '{s}' (use a number with an optional unit b, k, m, g, t or p, e.g. 512m)"))
    };
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let mut chars = unit.chars();
    let mult: f64 = match chars.next() {
        None => 1.0,
        Some('b') if unit.len() == 1 => 1.0,
        Some(c) => {
            let m = match c {
                'k' => 1u64 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                'p' => 1 << 50,
                _ => return Err(bad()),
            };
            let rest: String = chars.collect();
            if !matches!(rest.as_str(), "" | "b" | "i" | "ib") {
                return Err(bad());
            }
            m as f64
        }
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes > i64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes as i64)
}

/// `--cpus 1.5` as nano-CPUs.
pub fn parse_cpus(s: &str) -> Result<i64> {
    let v: f64 = s.trim().parse().map_err(|_| {
        Error::invalid(format!(
            "invalid argument {s:?} for \"--cpus\" flag: not a number"
        ))
    })?;
    if v.is_nan() || v < 0.0 || !v.is_finite() {
        return Err(Error::invalid(format!(
            "invalid argument {s:?} for \"--cpus\" flag: must be a positive number"
        )));
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    if v > cores {
        return Err(Error::invalid(format!(
            "range of CPUs is from 0.01 to {cores:.2}, as there are only {cores} CPUs available"
        )));
    }
    Ok((v * 1e9).round() as i64)
}

/// Human-readable size as the Docker CLI prints it in `images`, `history` and `ps -s`
/// (go-units' `HumanSizeWithPrecision(size, 3)`): decimal units, three significant
/// digits ("72.8MB", "1.5kB", "500B").
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    let digits: String = format!("{v:.3}").chars().take(4).collect();
    let digits = if digits.contains('.') {
        digits
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        digits
    };
    format!("{digits}{}", UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_docker() {
        assert_eq!(parse_bytes("512", "-m").unwrap(), 512);
        assert_eq!(parse_bytes("512b", "-m").unwrap(), 512);
        assert_eq!(parse_bytes("4k", "-m").unwrap(), 4096);
        assert_eq!(parse_bytes("64m", "-m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("64MB", "-m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("64MiB", "-m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1.5g", "-m").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("2 g", "-m").unwrap(), 2 << 30);
    }

    #[test]
    fn bad_sizes_are_rejected_with_the_flag_named() {
        for bad in ["12XB", "", "m", "-1m", "1.m", "1mm", "1.2.3m"] {
            let e = parse_bytes(bad, "--memory").unwrap_err().to_string();
            assert!(e.contains("--memory"), "{bad}: {e}");
        }
    }

    #[test]
    fn cpus_become_nano_cpus() {
        assert_eq!(parse_cpus("0.5").unwrap(), 500_000_000);
        assert!(parse_cpus("abc").is_err());
        assert!(parse_cpus("-1").is_err());
        assert!(parse_cpus("100000").is_err());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(1500), "1.5kB");
        assert_eq!(human_size(2_000_000), "2MB");
        assert_eq!(human_size(72_812_345), "72.8MB");
        assert_eq!(human_size(123_456), "123kB");
        assert_eq!(human_size(999), "999B");
    }
}
