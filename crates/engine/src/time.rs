//! Timestamps as Docker writes them (RFC 3339 with nanoseconds, UTC) and the relative
//! phrases `ps` prints ("Up 5 seconds", "3 minutes ago").

use std::time::{Duration, SystemTime};

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(SystemTime::now()).to_string()
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
