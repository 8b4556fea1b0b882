//! Timestamps as Docker writes them (RFC 3339 with nanoseconds, UTC) and the relative
//! phrases `ps` prints ("Up 5 seconds", "3 minutes ago").

use std::time::{Duration, SystemTime};

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` to `out`, without the formatting
/// machinery: the monitor stamps every log line with it, and keeping core::fmt out of
/// that path keeps the monitor's resident code small.
pub fn push_rfc3339_nanos(out: &mut Vec<u8>, t: SystemTime) {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let push = |out: &mut Vec<u8>, v: u64, width: usize, sep: u8| {
        let mut buf = [b'0'; 9];
        let mut v = v;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out.extend_from_slice(&buf[..width]);
        out.push(sep);
    };
    push(out, year.max(0) as u64, 4, b'-');
    push(out, month as u64, 2, b'-');
    push(out, day as u64, 2, b'T');
    push(out, rem / 3600, 2, b':');
    push(out, rem / 60 % 60, 2, b':');
    push(out, rem % 60, 2, b'.');
    push(out, u64::from(d.subsec_nanos()), 9, b'Z');
}

pub fn parse(ts: &str) -> Option<SystemTime> {
    if ts.is_empty() || ts.starts_with("0001-") {
        return None;
    }
    humantime::parse_rfc3339(ts).ok()
}

/// Time since `ts`, or zero for unset or future times.
pub fn since(ts: &str) -> Duration {
    parse(ts)
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default()
}

/// Docker's units.HumanDuration.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let hours = secs / 3600;
    if secs < 1 {
        "Less than a second".into()
    } else if secs == 1 {
        "1 second".into()
    } else if secs < 60 {
        format!("{secs} seconds")
    } else if secs / 60 == 1 {
        "About a minute".into()
    } else if secs < 3600 {
        format!("{} minutes", secs / 60)
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_since() {
        let now = now_rfc3339();
        assert!(now.ends_with('Z'));
        assert!(parse(&now).is_some());
        assert!(since(&now) < Duration::from_secs(5));
        assert_eq!(since(crate::record::ZERO_TIME), Duration::ZERO);
    }

    #[test]
    fn fast_timestamps_match_humantime() {
        for secs in [
            0u64,
            951_782_400,
            1_709_164_799,
            1_795_433_059,
            4_102_444_800,
            951_868_799,
        ] {
            for nanos in [0u32, 7, 123_456_789, 999_999_999] {
                let t = std::time::UNIX_EPOCH + Duration::new(secs, nanos);
                let mut out = Vec::new();
                push_rfc3339_nanos(&mut out, t);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    humantime::format_rfc3339_nanos(t).to_string()
                );
            }
        }
    }

    #[test]
    fn durations_read_like_docker() {
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(human_duration(Duration::from_secs(5)), "5 seconds");
        assert_eq!(human_duration(Duration::from_secs(90)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(600)), "10 minutes");
        assert_eq!(human_duration(Duration::from_secs(3 * 3600)), "3 hours");
    }
}
