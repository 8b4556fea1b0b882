//! Docker's restart policies: `--restart` parsed and validated with Docker's rules and
//! messages, and the decision the monitor asks for after each exit of a container:
//! restart it or not, and after which back-off. Pure arithmetic over the policy, the
//! exit and the run's length; never touches a container or a file (the monitor acts on
//! the answers and owns the state).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::record::RestartPolicy;

/// The first back-off, doubled after each restart that follows a short run.
pub const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The back-off never grows past this.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long was healthy enough: the back-off starts over.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// A container's restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    No,
    Always,
    UnlessStopped,
    /// Restart after a non-zero exit, at most `max_retries` times (0: no limit).
    OnFailure {
        max_retries: u32,
    },
}

const HINT: &str = "use no, always, unless-stopped, on-failure or on-failure:N";

impl Policy {
    /// Parses `--restart` as Docker's CLI does (`NAME[:COUNT]`) and validates it as
    /// Docker's daemon does. An empty value is `no`.
    pub fn parse(flag: &str) -> Result<Policy> {
        if flag.is_empty() {
            return Ok(Policy::No);
        }
        let (name, count) = match flag.split_once(':') {
            Some(("", _)) => {
                return Err(Error::invalid(format!(
                    "invalid restart policy format: no policy provided before colon in {flag:?} ({HINT})"
                )))
            }
            Some((name, "")) => (name, 0),
            Some((name, count)) => {
                let n: i64 = count.parse().map_err(|_| {
                    Error::invalid(format!(
                        "invalid restart policy format: maximum retry count must be an integer, not {count:?} (e.g. --restart on-failure:3)"
                    ))
                })?;
                (name, n)
            }
            None => (flag, 0),
        };
        match name {
            "no" | "always" | "unless-stopped" => {
                if count != 0 {
                    let negative = if count < 0 {
                        " and cannot be negative"
                    } else {
                        ""
                    };
                    return Err(Error::invalid(format!(
                        "invalid restart policy: maximum retry count can only be used with 'on-failure'{negative} (use --restart on-failure:N, or --restart {name} without a count)"
                    )));
                }
                Ok(match name {
                    "no" => Policy::No,
                    "always" => Policy::Always,
                    _ => Policy::UnlessStopped,
                })
            }
            "on-failure" => {
                if count < 0 {
                    return Err(Error::invalid(
                        "invalid restart policy: maximum retry count cannot be negative (use on-failure:N with N ≥ 1, or on-failure for no limit)",
                    ));
                }
                let max_retries = u32::try_from(count).map_err(|_| {
                    Error::invalid(format!(
                        "invalid restart policy: maximum retry count {count} is too large (at most {})",
                        u32::MAX
                    ))
                })?;
                Ok(Policy::OnFailure { max_retries })
            }
            other => Err(Error::invalid(format!(
                "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
            ))),
        }
    }

    /// The policy a record holds. Names Docker never wrote (hand-edited records) mean no
    /// restart, as the empty name of records from before Docker 25 does.
    pub fn of(recorded: &RestartPolicy) -> Policy {
        match recorded.name.as_str() {
            "always" => Policy::Always,
            "unless-stopped" => Policy::UnlessStopped,
            "on-failure" => Policy::OnFailure {
                max_retries: recorded.maximum_retry_count,
            },
            _ => Policy::No,
        }
    }

    /// Docker's `HostConfig.RestartPolicy`.
    pub fn to_record(self) -> RestartPolicy {
        let (name, maximum_retry_count) = match self {
            Policy::No => ("no", 0),
            Policy::Always => ("always", 0),
            Policy::UnlessStopped => ("unless-stopped", 0),
            Policy::OnFailure { max_retries } => ("on-failure", max_retries),
        };
        RestartPolicy {
            name: name.into(),
            maximum_retry_count,
        }
    }

    /// Whether the policy may ever restart the container.
    pub fn restarts(self) -> bool {
        self != Policy::No
    }
}

/// `--rm` with a policy that restarts.
pub fn conflicts_with_rm() -> Error {
    Error::invalid(
        "conflicting options: --restart and --rm (a container removed when it exits cannot be restarted: drop one of them)",
    )
}

/// One monitor's restart bookkeeping (Docker's restart manager): how many restarts the
/// policy has made since the user last started the container, and the back-off.
#[derive(Debug, Clone)]
pub struct Manager {
    policy: Policy,
    count: u32,
    delay: Option<Duration>,
}

impl Manager {
    /// A manager for `policy`, which has restarted the container `count` times already.
    pub fn new(policy: Policy, count: u32) -> Manager {
        Manager {
            policy,
            count,
            delay: None,
        }
    }

    /// Restarts made so far (Docker's `RestartCount`).
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Called once per exit of the container, with its exit code, whether a user's
    /// `stop` or `kill` reached it (Docker's HasBeenManuallyStopped: `unless-stopped`
    /// then leaves it stopped) and how long the run lasted. Returns the back-off after
    /// which to start it again, or None to leave it stopped. The back-off advances on
    /// every exit, as Docker's does, and starts over after a run of [`RESET_AFTER`].
    pub fn next(
        &mut self,
        exit_code: i32,
        manually_stopped: bool,
        ran: Duration,
    ) -> Option<Duration> {
        if self.policy == Policy::No {
            return None;
        }
        if ran >= RESET_AFTER {
            self.delay = None;
        }
        let delay = match self.delay {
            None => FIRST_DELAY,
            Some(d) => (d * 2).min(MAX_DELAY),
        };
        self.delay = Some(delay);
        let restart = match self.policy {
            Policy::No => false,
            Policy::Always => true,
            Policy::UnlessStopped => !manually_stopped,
            Policy::OnFailure { max_retries } => {
                exit_code != 0 && (max_retries == 0 || self.count < max_retries)
            }
        };
        if !restart {
            return None;
        }
        self.count = self.count.saturating_add(1);
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(flag: &str) -> String {
        Policy::parse(flag).unwrap_err().to_string()
    }

    #[test]
    fn policies_parse_like_dockers() {
        assert_eq!(Policy::parse("").unwrap(), Policy::No);
        assert_eq!(Policy::parse("no").unwrap(), Policy::No);
        assert_eq!(Policy::parse("no:0").unwrap(), Policy::No);
        assert_eq!(Policy::parse("always").unwrap(), Policy::Always);
        assert_eq!(Policy::parse("always:").unwrap(), Policy::Always);
        assert_eq!(
            Policy::parse("unless-stopped").unwrap(),
            Policy::UnlessStopped
        );
        assert_eq!(
            Policy::parse("on-failure").unwrap(),
            Policy::OnFailure { max_retries: 0 }
        );
        assert_eq!(
            Policy::parse("on-failure:5").unwrap(),
            Policy::OnFailure { max_retries: 5 }
        );
        assert!(err("on-failure:-1")
            .starts_with("invalid restart policy: maximum retry count cannot be negative"));
        assert!(err("always:3").starts_with(
            "invalid restart policy: maximum retry count can only be used with 'on-failure' ("
        ));
        assert!(err("unless-stopped:-2").starts_with(
            "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"
        ));
        assert!(err("on-failure:x").contains("maximum retry count must be an integer"));
        assert!(err(":3").contains("no policy provided before colon"));
        assert!(err("sometimes").contains("unknown policy 'sometimes'"));
        assert!(err("on-failure:99999999999").contains("too large"));
    }

    #[test]
    fn records_round_trip_in_dockers_shape() {
        for p in [
            Policy::No,
            Policy::Always,
            Policy::UnlessStopped,
            Policy::OnFailure { max_retries: 3 },
        ] {
            assert_eq!(Policy::of(&p.to_record()), p);
        }
        let r = Policy::OnFailure { max_retries: 2 }.to_record();
        assert_eq!((r.name.as_str(), r.maximum_retry_count), ("on-failure", 2));
        assert_eq!(Policy::of(&RestartPolicy::default()), Policy::No);
    }

    const SHORT: Duration = Duration::from_millis(5);

    #[test]
    fn the_back_off_doubles_to_a_minute_and_resets_after_a_long_run() {
        let mut m = Manager::new(Policy::Always, 0);
        let delays: Vec<u64> = (0..12)
            .map(|_| m.next(0, false, SHORT).unwrap().as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]
        );
        assert_eq!(m.count(), 12);
        assert_eq!(m.next(1, false, RESET_AFTER), Some(FIRST_DELAY));
        assert_eq!(m.next(1, false, SHORT), Some(FIRST_DELAY * 2));
    }

    #[test]
    fn on_failure_restarts_non_zero_exits_up_to_its_count() {
        let mut m = Manager::new(Policy::OnFailure { max_retries: 2 }, 0);
        assert!(m.next(0, false, SHORT).is_none());
        assert!(m.next(3, false, SHORT).is_some());
        assert!(m.next(3, false, SHORT).is_some());
        assert!(m.next(3, false, SHORT).is_none());
        assert_eq!(m.count(), 2);
        let mut unlimited = Manager::new(Policy::OnFailure { max_retries: 0 }, 0);
        assert!((0..50).all(|_| unlimited.next(1, false, SHORT).is_some()));
        // A manual stop does not matter to on-failure (Docker's rule).
        assert!(unlimited.next(137, true, SHORT).is_some());
    }

    #[test]
    fn only_unless_stopped_heeds_a_manual_stop() {
        assert!(Manager::new(Policy::Always, 0)
            .next(0, true, SHORT)
            .is_some());
        assert!(Manager::new(Policy::UnlessStopped, 0)
            .next(0, true, SHORT)
            .is_none());
        assert!(Manager::new(Policy::UnlessStopped, 0)
            .next(0, false, SHORT)
            .is_some());
        assert!(Manager::new(Policy::No, 0).next(1, false, SHORT).is_none());
    }
}
