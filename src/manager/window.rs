//! Windows: which upstream results count for a dependent at a given time.
//!
//! A result counts when its time is inside every bound that applies:
//! - since the last trigger (the reset of all leaves, always);
//! - with a schedule and dependencies, since the current schedule period began, and at most
//!   one trigger per period;
//! - `within`: no older than that many seconds;
//! - `resetAt`: since the latest fire time of that cron.
//!
//! Rate periods are anchored at the Unix epoch (EventBridge anchors them at rule creation,
//! which the manager cannot know; the epoch makes periods the same on every machine).

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::registry::{Registration, ScheduleSpec, WindowSpec};
use super::store::Millis;
use crate::cron::{Cron, Rate};

/// The oldest result time that counts: `at`, or strictly after it when `strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bound {
    pub at: Millis,
    pub strict: bool,
}

impl Bound {
    pub fn counts(&self, time: Millis) -> bool {
        if self.strict {
            time > self.at
        } else {
            time >= self.at
        }
    }

    /// The later of two bounds (at the same instant, the strict one).
    pub fn tighter(a: Option<Bound>, b: Option<Bound>) -> Option<Bound> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(a), Some(b)) => Some(if (a.at, a.strict) >= (b.at, b.strict) {
                a
            } else {
                b
            }),
        }
    }

    pub fn as_pair(bound: Option<Bound>) -> Option<(Millis, bool)> {
        bound.map(|b| (b.at, b.strict))
    }
}

/// A recurring time: a schedule's period or a `resetAt`.
#[derive(Debug, Clone)]
pub enum Period {
    Cron { cron: Cron, tz: Option<Tz> },
    Rate { seconds: i64 },
}

impl Period {
    /// Parses a stored schedule; `None` when it is not a valid expression or zone (the
    /// validator makes sure registrations built from pipelines always are).
    pub fn parse(spec: &ScheduleSpec) -> Option<Period> {
        let tz = match &spec.timezone {
            Some(name) => Some(name.parse::<Tz>().ok()?),
            None => None,
        };
        if spec.expression.starts_with("rate(") {
            let rate = Rate::parse(&spec.expression).ok()?;
            let seconds = i64::try_from(rate.period_seconds()).ok()?;
            return Some(Period::Rate { seconds });
        }
        let cron = Cron::parse(&spec.expression).ok()?;
        Some(Period::Cron { cron, tz })
    }

    /// The latest fire time at or before `now`.
    pub fn last_fire(&self, now: Millis) -> Option<Millis> {
        match self {
            Period::Rate { seconds } => {
                let p = seconds.checked_mul(1000)?.max(1);
                Some(now.div_euclid(p) * p)
            }
            Period::Cron { cron, tz } => last_cron_fire(cron, *tz, now),
        }
    }

    /// The first fire time strictly after `after`.
    pub fn next_fire(&self, after: Millis) -> Option<Millis> {
        match self {
            Period::Rate { seconds } => {
                let p = seconds.checked_mul(1000)?.max(1);
                Some((after.div_euclid(p) + 1) * p)
            }
            Period::Cron { cron, tz } => next_cron_fire(cron, *tz, after),
        }
    }
}

fn next_cron_fire(cron: &Cron, tz: Option<Tz>, after: Millis) -> Option<Millis> {
    let mut from = to_local(after, tz)?;
    // A local time that does not exist (DST gap) is skipped, as Scheduler does.
    for _ in 0..4 {
        let next = cron.next_after(from)?;
        if let Some(t) = to_utc(next, tz).filter(|t| *t > after) {
            return Some(t);
        }
        from = next;
    }
    None
}

fn to_local(ms: Millis, tz: Option<Tz>) -> Option<NaiveDateTime> {
    let utc = chrono::DateTime::from_timestamp_millis(ms)?;
    Some(match tz {
        Some(tz) => utc.with_timezone(&tz).naive_local(),
        None => utc.naive_utc(),
    })
}

fn to_utc(local: NaiveDateTime, tz: Option<Tz>) -> Option<Millis> {
    match tz {
        Some(tz) => tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.timestamp_millis()),
        None => Some(local.and_utc().timestamp_millis()),
    }
}

/// Searches backwards in growing steps: crons have no `previous`, and most fire at least
/// daily, so the first small look-back usually finds the answer.
fn last_cron_fire(cron: &Cron, tz: Option<Tz>, now: Millis) -> Option<Millis> {
    const HOUR: i64 = 3_600_000;
    for lookback in [2 * HOUR, 49 * HOUR, 32 * 24 * HOUR, 367 * 24 * HOUR] {
        let mut t = now - lookback;
        let mut last = None;
        while let Some(next) = next_cron_fire(cron, tz, t) {
            if next > now {
                break;
            }
            last = Some(next);
            t = next;
        }
        if last.is_some() {
            return last;
        }
    }
    None
}

/// A dependent's window at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// The oldest result that counts (`None`: any).
    pub bound: Option<Bound>,
    /// With a schedule: the start of the current period.
    pub period_start: Option<Millis>,
}

/// The prepared periods of a registration.
#[derive(Debug, Clone, Default)]
pub struct Periods {
    /// The schedule as a period (only with dependencies).
    pub schedule: Option<Period>,
    pub reset_at: Option<Period>,
}

impl Periods {
    pub fn of(reg: &Registration) -> Periods {
        let schedule = reg
            .schedule
            .as_ref()
            .filter(|_| reg.has_dependencies())
            .and_then(Period::parse);
        let reset_at = match &reg.window {
            WindowSpec::ResetAt(spec) => Period::parse(spec),
            _ => None,
        };
        Periods { schedule, reset_at }
    }
}

/// The window of `reg` at `now`, given the reset recorded at its last trigger.
pub fn view(reg: &Registration, periods: &Periods, reset: Option<Bound>, now: Millis) -> View {
    let period_start = periods.schedule.as_ref().and_then(|p| p.last_fire(now));
    let mut bound = reset;
    bound = Bound::tighter(bound, period_start.map(|at| Bound { at, strict: false }));
    let extra = match &reg.window {
        WindowSpec::SinceLastTrigger => None,
        WindowSpec::Within { seconds } => {
            let ms = i64::try_from(*seconds)
                .unwrap_or(i64::MAX / 2)
                .saturating_mul(1000);
            Some(Bound {
                at: now.saturating_sub(ms),
                strict: false,
            })
        }
        WindowSpec::ResetAt(_) => periods
            .reset_at
            .as_ref()
            .and_then(|p| p.last_fire(now))
            .map(|at| Bound { at, strict: false }),
    };
    View {
        bound: Bound::tighter(bound, extra),
        period_start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> Millis {
        super::super::time::parse_time(text).unwrap()
    }

    #[test]
    fn daily_cron_last_and_next_fire() {
        let p = Period::parse(&ScheduleSpec {
            expression: "cron(0 3 * * ? *)".into(),
            timezone: None,
        })
        .unwrap();
        assert_eq!(
            p.last_fire(ms("2026-11-21T05:00:00Z")),
            Some(ms("2026-11-21T03:00:00Z"))
        );
        assert_eq!(
            p.last_fire(ms("2026-11-21T03:00:00Z")),
            Some(ms("2026-11-21T03:00:00Z"))
        );
        assert_eq!(
            p.last_fire(ms("2026-11-21T02:59:00Z")),
            Some(ms("2026-11-20T03:00:00Z"))
        );
        assert_eq!(
            p.next_fire(ms("2026-11-21T03:00:00Z")),
            Some(ms("2026-11-22T03:00:00Z"))
        );
    }

    #[test]
    fn zoned_cron_fires_in_local_time() {
        let p = Period::parse(&ScheduleSpec {
            expression: "cron(0 3 * * ? *)".into(),
            timezone: Some("Europe/Berlin".into()),
        })
        .unwrap();
        assert_eq!(
            p.last_fire(ms("2026-11-21T05:00:00Z")),
            Some(ms("2026-11-21T02:00:00Z"))
        );
    }

    #[test]
    fn rate_periods_are_anchored_at_the_epoch() {
        let p = Period::Rate { seconds: 3600 };
        assert_eq!(
            p.last_fire(ms("2026-11-21T05:30:00Z")),
            Some(ms("2026-11-21T05:00:00Z"))
        );
        assert_eq!(
            p.next_fire(ms("2026-11-21T05:00:00Z")),
            Some(ms("2026-11-21T06:00:00Z"))
        );
    }

    #[test]
    fn tighter_prefers_later_then_strict() {
        let a = Bound {
            at: 5,
            strict: false,
        };
        let b = Bound {
            at: 5,
            strict: true,
        };
        assert_eq!(Bound::tighter(Some(a), Some(b)), Some(b));
        let later = Bound {
            at: 9,
            strict: false,
        };
        assert_eq!(Bound::tighter(Some(later), Some(b)), Some(later));
        assert!(!b.counts(5) && a.counts(5));
    }
}
