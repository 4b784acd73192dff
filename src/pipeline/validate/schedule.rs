//! Schedule checks: the field form, raw cron and rate compiled to one AWS expression (through
//! `cron`), the time zone, and warnings for times that a DST change skips or repeats.

use chrono::{Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use super::{Checker, values};
use crate::cron::{Cron, ExprError, Field, Rate};
use crate::diag::codes;
use crate::pipeline::model::{Schedule, ScheduleExpr};
use crate::pipeline::raw::{self, CronAtom, CronField};
use crate::pipeline::schema::Target;

pub fn schedule(c: &mut Checker, p: &str, raw: &raw::Schedule) -> Option<Schedule> {
    let fields = [
        &raw.minute,
        &raw.hour,
        &raw.day,
        &raw.month,
        &raw.week_day,
        &raw.year,
    ];
    let has_fields = fields.iter().any(|f| f.is_some());
    let forms = [has_fields, raw.cron.is_some(), raw.rate.is_some()]
        .iter()
        .filter(|f| **f)
        .count();
    if forms == 0 {
        c.emit(
            &codes::SCHEDULE_EMPTY,
            p,
            Target::Key,
            "the schedule sets no time",
            Some(
                "e.g. `hour: 3` (daily at 03:00), `cron: \"0 3 * * ? *\"` or `rate: \"6 hours\"`"
                    .into(),
            ),
        );
        return None;
    }
    if forms > 1 {
        let at = if raw.rate.is_some() { "rate" } else { "cron" };
        c.emit(
            &codes::SCHEDULE_CONFLICT,
            &format!("{p}/{at}"),
            Target::Key,
            "use one of the field form, `cron` and `rate`",
            Some("they describe the same thing; keep one".into()),
        );
        return None;
    }
    let tz = match &raw.timezone {
        Some(name) => Some(values::timezone(c, &format!("{p}/timezone"), name)?),
        None => None,
    };
    let expr = if let Some(rate) = &raw.rate {
        ScheduleExpr::Rate(rate_at(c, &format!("{p}/rate"), rate)?)
    } else if let Some(cron) = &raw.cron {
        ScheduleExpr::Cron(cron_at(c, &format!("{p}/cron"), cron)?)
    } else {
        ScheduleExpr::Cron(field_form(c, p, raw)?)
    };
    if let (ScheduleExpr::Cron(cron), Some(tz)) = (&expr, tz) {
        dst_warnings(c, &format!("{p}/timezone"), cron, tz);
    }
    Some(Schedule {
        expr,
        timezone: raw.timezone.clone(),
    })
}

/// Parses a raw cron at `pointer`, reporting errors at the offending field inside the string.
pub fn cron_at(c: &mut Checker, pointer: &str, text: &str) -> Option<Cron> {
    parse_cron(text)
        .map_err(|e| report(c, pointer, &codes::SCHEDULE_INVALID_CRON, e))
        .ok()
}

/// `Cron::parse`, remembered per thread for the last expressions seen: the field form parses
/// a probe per field and then the whole expression, and a tree repeats a handful of
/// schedules, so most parses were of a text parsed before.
fn parse_cron(text: &str) -> Result<Cron, ExprError> {
    use std::cell::RefCell;
    const REMEMBERED: usize = 64;
    type Parsed = Vec<(String, Result<Cron, ExprError>)>;
    thread_local! {
        static PARSED: RefCell<Parsed> = const { RefCell::new(Vec::new()) };
    }
    PARSED.with_borrow_mut(|parsed| {
        if let Some((_, result)) = parsed.iter().find(|(t, _)| t == text) {
            return result.clone();
        }
        let result = Cron::parse(text);
        if parsed.len() == REMEMBERED {
            parsed.drain(..1);
        }
        parsed.push((text.to_string(), result.clone()));
        result
    })
}

fn rate_at(c: &mut Checker, pointer: &str, text: &str) -> Option<Rate> {
    Rate::parse(text)
        .map_err(|e| report(c, pointer, &codes::SCHEDULE_INVALID_RATE, e))
        .ok()
}

fn report(
    c: &mut Checker,
    pointer: &str,
    code: &'static crate::diag::diagnostic::Code,
    e: ExprError,
) {
    c.emit_within(code, pointer, (e.offset, e.len), e.message, e.help);
}

/// `{hour: 3}` → `0 3 * * ? *`: each field is validated where the user wrote it.
fn field_form(c: &mut Checker, p: &str, raw: &raw::Schedule) -> Option<Cron> {
    let day_set = raw.day.is_some();
    let weekday_set = raw.week_day.is_some();
    if day_set && weekday_set {
        c.emit(
            &codes::SCHEDULE_DAY_AND_WEEKDAY,
            &format!("{p}/weekDay"),
            Target::Key,
            "`day` and `weekDay` cannot both be set",
            Some(
                "AWS cron takes a day of the month or a day of the week, not both; keep one".into(),
            ),
        );
        return None;
    }
    let entries: [(&str, &Option<CronField>, &str); 6] = [
        ("minute", &raw.minute, "0"),
        ("hour", &raw.hour, "*"),
        ("day", &raw.day, if weekday_set { "?" } else { "*" }),
        ("month", &raw.month, "*"),
        ("weekDay", &raw.week_day, "?"),
        ("year", &raw.year, "*"),
    ];
    let mut parts = Vec::with_capacity(6);
    let mut ok = true;
    for ((key, value, default), field) in entries.into_iter().zip(Field::ALL) {
        let text = value
            .as_ref()
            .map_or_else(|| default.to_string(), render_field);
        if value.is_some() {
            let mut probe = ["0", "0", "*", "*", "?", "*"];
            if field == Field::DayOfWeek {
                probe[2] = "?";
            }
            probe[field as usize] = &text;
            if let Err(e) = parse_cron(&probe.join(" ")) {
                let pointer = format!("{p}/{key}");
                c.emit(
                    &codes::SCHEDULE_INVALID_FIELD,
                    &pointer,
                    Target::Value,
                    format!("`{key}`: {}", e.message),
                    e.help,
                );
                ok = false;
            }
        }
        parts.push(text);
    }
    if !ok {
        return None;
    }
    parse_cron(&parts.join(" "))
        .map_err(|e| {
            c.emit(
                &codes::SCHEDULE_INVALID_CRON,
                p,
                Target::Key,
                e.message,
                e.help,
            )
        })
        .ok()
}

fn render_field(field: &CronField) -> String {
    let atom = |a: &CronAtom| match a {
        CronAtom::Number(n) => n.to_string(),
        CronAtom::Text(t) => t.trim().to_string(),
    };
    match field {
        CronField::Number(n) => n.to_string(),
        CronField::Text(t) => t.split(',').map(str::trim).collect::<Vec<_>>().join(","),
        CronField::List(items) if items.is_empty() => String::new(),
        CronField::List(items) => items.iter().map(atom).collect::<Vec<_>>().join(","),
    }
}

/// Warns once for a fire time skipped (gap) and once for one repeated (overlap) by a DST
/// change in this year or the next.
fn dst_warnings(c: &mut Checker, pointer: &str, cron: &Cron, tz: Tz) {
    let times = cron.times_of_day();
    let year = c.ctx.today.year();
    let mut gap = None;
    let mut overlap = None;
    for &date in transition_dates(tz, year).iter() {
        for t in &times {
            if !cron.fires_on(date) {
                continue;
            }
            match tz.from_local_datetime(&date.and_time(*t)) {
                LocalResult::None if gap.is_none() => gap = Some((date, *t)),
                LocalResult::Ambiguous(..) if overlap.is_none() => overlap = Some((date, *t)),
                _ => {}
            }
        }
    }
    let name = tz.name();
    if let Some((date, t)) = gap {
        c.emit(&codes::SCHEDULE_DST_GAP, pointer, Target::Value,
            format!("{} does not exist in {name} on {date} (clocks go forward): EventBridge Scheduler skips that run", t.format("%H:%M")),
            Some("schedule outside the DST change hour, or in UTC".into()));
    }
    if let Some((date, t)) = overlap {
        c.emit(&codes::SCHEDULE_DST_OVERLAP, pointer, Target::Value,
            format!("{} happens twice in {name} on {date} (clocks go back): EventBridge Scheduler runs once", t.format("%H:%M")),
            Some("this is usually fine; schedule outside the DST change hour to make it explicit".into()));
    }
}

/// Checks one local time of day (an SLA deadline) against DST changes.
pub fn dst_time_warnings(c: &mut Checker, pointer: &str, time: NaiveTime, tz: Tz) {
    let year = c.ctx.today.year();
    for &date in transition_dates(tz, year).iter() {
        let (code, what) = match tz.from_local_datetime(&date.and_time(time)) {
            LocalResult::None => (&codes::SCHEDULE_DST_GAP, "does not exist"),
            LocalResult::Ambiguous(..) => (&codes::SCHEDULE_DST_OVERLAP, "happens twice"),
            LocalResult::Single(_) => continue,
        };
        c.emit(
            code,
            pointer,
            Target::Value,
            format!("{} {what} in {} on {date}", time.format("%H:%M"), tz.name()),
            Some("choose a time outside the DST change hour".into()),
        );
        return;
    }
}

/// Local dates on which the zone's UTC offset changes, in `year` and `year + 1`: computed
/// once per zone and year on each thread (a tree of pipelines names a handful of zones, and
/// the day-by-day search cost more than reading the file).
fn transition_dates(tz: Tz, year: i32) -> std::rc::Rc<[NaiveDate]> {
    use std::cell::RefCell;
    use std::rc::Rc;
    type Known = Vec<((Tz, i32), Rc<[NaiveDate]>)>;
    thread_local! {
        static KNOWN: RefCell<Known> = const { RefCell::new(Vec::new()) };
    }
    KNOWN.with_borrow_mut(|known| {
        if let Some((_, dates)) = known.iter().find(|(key, _)| *key == (tz, year)) {
            return dates.clone();
        }
        let dates: Rc<[NaiveDate]> = search_transition_dates(tz, year).into();
        known.push(((tz, year), dates.clone()));
        dates
    })
}

fn search_transition_dates(tz: Tz, year: i32) -> Vec<NaiveDate> {
    let offset = |d: NaiveDate| {
        use chrono::Offset;
        tz.offset_from_utc_date(&d).fix().local_minus_utc()
    };
    let mut out = Vec::new();
    let (Some(start), Some(end)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year + 2, 1, 1),
    ) else {
        return out;
    };
    let mut week = start;
    while week < end {
        let next = week + chrono::Duration::days(7);
        if offset(week) != offset(next) {
            let mut day = week;
            while day < next {
                let tomorrow = day + chrono::Duration::days(1);
                if offset(day) != offset(tomorrow) {
                    out.extend([day, tomorrow]);
                }
                day = tomorrow;
            }
        }
        week = next;
    }
    out
}
