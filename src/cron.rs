//! EventBridge schedule expressions: parses six-field AWS cron and `rate(...)` with AWS's rules,
//! reports errors with the byte offset of the offending field, renders the canonical
//! expression, and computes fire times (naive, in the schedule's own clock).

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// An error in an expression, at `offset..offset+len` of the expression text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub message: String,
    pub help: Option<String>,
    pub offset: usize,
    pub len: usize,
}

impl ExprError {
    fn new(message: impl Into<String>, offset: usize, len: usize) -> Self {
        Self {
            message: message.into(),
            help: None,
            offset,
            len,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The six cron fields, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Minute,
        Field::Hour,
        Field::DayOfMonth,
        Field::Month,
        Field::DayOfWeek,
        Field::Year,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Minute => "minutes",
            Field::Hour => "hours",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
            Field::Year => "year",
        }
    }

    fn range(self) -> (u32, u32) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (1, 7),
            Field::Year => (1970, 2199),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &[
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ],
            Field::DayOfWeek => &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            _ => &[],
        }
    }

    fn allows_step(self) -> bool {
        self != Field::DayOfWeek
    }
}

/// A set of values of one field (bit `v - min` set when `v` is in the set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValueSet {
    bits: [u64; 4],
}

impl ValueSet {
    fn insert(&mut self, i: u32) {
        self.bits[(i / 64) as usize] |= 1 << (i % 64);
    }

    fn contains(&self, i: u32) -> bool {
        i < 256 && self.bits[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn count(&self) -> u32 {
        self.bits.iter().map(|b| b.count_ones()).sum()
    }
}

/// A parsed field: the plain values, plus the special forms of the day fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    field: Field,
    values: ValueSet,
    /// `?`: no constraint (day fields only).
    any: bool,
    /// `*` (or a full range): every value.
    all: bool,
    /// Day-of-month `L`.
    last_day: bool,
    /// Day-of-month `LW`.
    last_weekday: bool,
    /// Day-of-month `15W`.
    nearest_weekday: Vec<u32>,
    /// Day-of-week `5L`: the last such weekday of the month.
    last_of_weekday: Vec<u32>,
    /// Day-of-week `2#1`: the nth such weekday of the month.
    nth_weekday: Vec<(u32, u32)>,
}

impl FieldSpec {
    fn empty(field: Field) -> Self {
        Self {
            field,
            values: ValueSet::default(),
            any: false,
            all: false,
            last_day: false,
            last_weekday: false,
            nearest_weekday: Vec::new(),
            last_of_weekday: Vec::new(),
            nth_weekday: Vec::new(),
        }
    }

    fn has(&self, v: u32) -> bool {
        let (min, _) = self.field.range();
        v >= min && self.values.contains(v - min)
    }

    /// True when the field restricts nothing.
    pub fn is_unrestricted(&self) -> bool {
        self.any || self.all
    }

    fn values(&self) -> impl Iterator<Item = u32> + '_ {
        let (min, max) = self.field.range();
        (min..=max).filter(|v| self.has(*v))
    }
}

/// A validated six-field AWS cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    text: String,
    fields: Box<[FieldSpec; 6]>,
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Cron {
    /// Parses `0 3 * * ? *` or `cron(0 3 * * ? *)`. Offsets in errors refer to `input`.
    pub fn parse(input: &str) -> Result<Cron, ExprError> {
        let (body, base) = strip_wrapper(input, "cron");
        let parts = split_fields(body, base);
        if parts.len() != 6 {
            return Err(ExprError::new(
                format!("a cron expression has 6 fields, this one has {}", parts.len()),
                0,
                input.len(),
            )
            .help("AWS cron fields: minutes hours day-of-month month day-of-week year, e.g. `0 3 * * ? *`"));
        }
        let mut specs = Vec::with_capacity(6);
        for (field, (text, offset)) in Field::ALL.into_iter().zip(&parts) {
            specs.push(parse_field(field, text, *offset)?);
        }
        check_day_fields(&specs, &parts)?;
        let fields: [FieldSpec; 6] = specs
            .try_into()
            .map_err(|_| ExprError::new("internal: field count", 0, input.len()))?;
        let text = parts
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Cron {
            text,
            fields: Box::new(fields),
        })
    }

    /// The expression as EventBridge takes it: `cron(...)`.
    pub fn expression(&self) -> String {
        format!("cron({})", self.text)
    }

    /// The six fields, space-separated.
    pub fn fields_text(&self) -> &str {
        &self.text
    }

    pub fn field(&self, field: Field) -> &FieldSpec {
        &self.fields[field as usize]
    }

    /// Every (hour, minute) the expression fires at on a day it fires, when few enough to list.
    pub fn times_of_day(&self) -> Vec<NaiveTime> {
        let hours: Vec<u32> = self.field(Field::Hour).values().collect();
        let minutes: Vec<u32> = self.field(Field::Minute).values().collect();
        hours
            .iter()
            .flat_map(|h| {
                minutes
                    .iter()
                    .filter_map(move |m| NaiveTime::from_hms_opt(*h, *m, 0))
            })
            .collect()
    }

    /// The first fire time strictly after `after`, searching up to the year field's end.
    pub fn next_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        let start = after + Duration::minutes(1);
        let mut date = start.date();
        let mut from = NaiveTime::from_hms_opt(start.hour(), start.minute(), 0)?;
        let last = NaiveDate::from_ymd_opt(2199, 12, 31)?;
        while date <= last {
            if self.fires_on(date)
                && let Some(t) = self.first_time_from(from)
            {
                return Some(date.and_time(t));
            }
            date = self.next_candidate_date(date)?;
            from = NaiveTime::MIN;
        }
        None
    }

    /// The next `n` fire times after `after`.
    pub fn upcoming(&self, after: NaiveDateTime, n: usize) -> Vec<NaiveDateTime> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }

    fn first_time_from(&self, from: NaiveTime) -> Option<NaiveTime> {
        let hours = self.field(Field::Hour);
        let minutes = self.field(Field::Minute);
        (from.hour()..24).filter(|h| hours.has(*h)).find_map(|h| {
            let start = if h == from.hour() { from.minute() } else { 0 };
            (start..60)
                .find(|m| minutes.has(*m))
                .and_then(|m| NaiveTime::from_hms_opt(h, m, 0))
        })
    }

    /// Skips whole years and months that cannot match, so sparse schedules stay cheap.
    fn next_candidate_date(&self, date: NaiveDate) -> Option<NaiveDate> {
        let years = self.field(Field::Year);
        let months = self.field(Field::Month);
        if !years.has(date.year() as u32) {
            return NaiveDate::from_ymd_opt(date.year() + 1, 1, 1);
        }
        if !months.has(date.month()) {
            let (y, m) = if date.month() == 12 {
                (date.year() + 1, 1)
            } else {
                (date.year(), date.month() + 1)
            };
            return NaiveDate::from_ymd_opt(y, m, 1);
        }
        date.succ_opt()
    }

    /// Whether the expression fires on some time of `date`.
    pub fn fires_on(&self, date: NaiveDate) -> bool {
        self.field(Field::Year).has(date.year() as u32)
            && self.field(Field::Month).has(date.month())
            && self.matches_day_of_month(date)
            && self.matches_day_of_week(date)
    }

    fn matches_day_of_month(&self, date: NaiveDate) -> bool {
        let dom = self.field(Field::DayOfMonth);
        if dom.any {
            return true;
        }
        let last = last_day_of_month(date);
        dom.has(date.day())
            || (dom.last_day && date.day() == last)
            || (dom.last_weekday && date.day() == nearest_weekday(date, last))
            || dom
                .nearest_weekday
                .iter()
                .any(|d| *d <= last && date.day() == nearest_weekday(date, *d))
    }

    fn matches_day_of_week(&self, date: NaiveDate) -> bool {
        let dow = self.field(Field::DayOfWeek);
        if dow.any {
            return true;
        }
        let weekday = date.weekday().num_days_from_sunday() + 1;
        let last = last_day_of_month(date);
        dow.has(weekday)
            || dow
                .last_of_weekday
                .iter()
                .any(|w| *w == weekday && date.day() + 7 > last)
            || dow
                .nth_weekday
                .iter()
                .any(|(w, n)| *w == weekday && (date.day() - 1) / 7 + 1 == *n)
    }
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// The weekday nearest to day `target` of `date`'s month, without leaving the month.
fn nearest_weekday(date: NaiveDate, target: u32) -> u32 {
    let Some(day) = date.with_day(target) else {
        return 0;
    };
    let last = last_day_of_month(date);
    match day.weekday().num_days_from_monday() {
        5 if target == 1 => 3,
        5 => target - 1,
        6 if target == last => target - 2,
        6 => target + 1,
        _ => target,
    }
}

/// Strips an optional `name(...)` wrapper; returns the body and its offset in the input.
fn strip_wrapper<'a>(input: &'a str, name: &str) -> (&'a str, usize) {
    let trimmed = input.trim_end();
    if let Some(rest) = trimmed.strip_prefix(name).and_then(|r| r.strip_prefix('('))
        && let Some(body) = rest.strip_suffix(')')
    {
        return (body, name.len() + 1);
    }
    (input, 0)
}

fn split_fields(body: &str, base: usize) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in body
        .char_indices()
        .chain(std::iter::once((body.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((body[s..i].to_string(), base + s));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn parse_field(field: Field, text: &str, offset: usize) -> Result<FieldSpec, ExprError> {
    let mut spec = FieldSpec::empty(field);
    let day_field = matches!(field, Field::DayOfMonth | Field::DayOfWeek);
    if text == "?" {
        if !day_field {
            return Err(ExprError::new(
                format!("`?` is not allowed in the {} field", field.name()),
                offset,
                1,
            )
            .help("`?` is only for day-of-month or day-of-week"));
        }
        spec.any = true;
        return Ok(spec);
    }
    let mut item_offset = offset;
    for item in text.split(',') {
        parse_item(&mut spec, item, item_offset)?;
        item_offset += item.len() + 1;
    }
    let (min, max) = field.range();
    spec.all = spec.all || spec.values.count() == max - min + 1;
    Ok(spec)
}

fn parse_item(spec: &mut FieldSpec, item: &str, offset: usize) -> Result<(), ExprError> {
    let field = spec.field;
    let err = |msg: String| ExprError::new(msg, offset, item.len().max(1)).help(syntax_help(field));
    if item.is_empty() {
        return Err(err(format!("empty value in the {} field", field.name())));
    }
    if let Some(done) = parse_special_day(spec, item).map_err(err)? {
        return Ok(done);
    }
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    if step.is_some() && !field.allows_step() {
        return Err(err(format!(
            "the {} field does not take `/` steps",
            field.name()
        ))
        .help("list the days instead, e.g. `MON,WED,FRI`"));
    }
    let (min, max) = field.range();
    let (lo, hi) = if range == "*" {
        spec.all = step.is_none();
        (min, max)
    } else if let Some((a, b)) = range.split_once('-') {
        let lo = value(field, a).map_err(err)?;
        let hi = value(field, b).map_err(err)?;
        if lo > hi {
            return Err(
                err(format!("range {range} runs backwards")).help(format!("write it as {b}-{a}"))
            );
        }
        (lo, hi)
    } else {
        let v = value(field, range).map_err(err)?;
        (v, if step.is_some() { max } else { v })
    };
    let step = match step {
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n >= 1 && n <= max - min + 1 => n,
            _ => {
                return Err(err(format!(
                    "invalid step `/{s}` in the {} field",
                    field.name()
                )));
            }
        },
        None => 1,
    };
    for v in (lo..=hi).step_by(step as usize) {
        spec.values.insert(v - min);
    }
    Ok(())
}

/// `L`, `LW`, `15W` (day-of-month) and `5L`, `MON#2` (day-of-week). `Ok(None)`: not special.
fn parse_special_day(spec: &mut FieldSpec, item: &str) -> Result<Option<()>, String> {
    let upper = item.to_ascii_uppercase();
    match spec.field {
        Field::DayOfMonth if upper == "L" => spec.last_day = true,
        Field::DayOfMonth if upper == "LW" => spec.last_weekday = true,
        Field::DayOfMonth if upper.ends_with('W') => {
            let day = value(Field::DayOfMonth, &item[..item.len() - 1])?;
            spec.nearest_weekday.push(day);
        }
        Field::DayOfWeek if upper == "L" => spec.values.insert(6),
        Field::DayOfWeek if upper.ends_with('L') => {
            let day = value(Field::DayOfWeek, &item[..item.len() - 1])?;
            spec.last_of_weekday.push(day);
        }
        Field::DayOfWeek if item.contains('#') => {
            let (d, n) = item.split_once('#').unwrap_or((item, ""));
            let day = value(Field::DayOfWeek, d)?;
            match n.parse::<u32>() {
                Ok(n @ 1..=5) => spec.nth_weekday.push((day, n)),
                _ => return Err(format!("`#{n}` must be 1-5 (the nth weekday of the month)")),
            }
        }
        _ if upper.contains('L') || upper.contains('W') || item.contains('#') => {
            if !spec.field.names().iter().any(|n| upper.contains(n)) {
                return Err(format!(
                    "`{item}` is not allowed in the {} field",
                    spec.field.name()
                ));
            }
            return Ok(None);
        }
        _ => return Ok(None),
    }
    Ok(Some(()))
}

fn syntax_help(field: Field) -> String {
    let (min, max) = field.range();
    let extra = match field {
        Field::DayOfMonth => ", `L` (last day), `15W` (nearest weekday), `?`",
        Field::DayOfWeek => " or SUN-SAT, `L`, `MON#2` (second Monday), `?`",
        Field::Month => " or JAN-DEC",
        _ => "",
    };
    format!(
        "{} takes {min}-{max}{extra}, `*`, ranges `a-b`, lists `a,b` and steps `a/n`",
        field.name()
    )
}

fn value(field: Field, text: &str) -> Result<u32, String> {
    let (min, max) = field.range();
    let upper = text.to_ascii_uppercase();
    if let Some(i) = field.names().iter().position(|n| *n == upper) {
        return Ok(i as u32 + 1);
    }
    match text.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "{v} is out of range for {} ({min}-{max})",
            field.name()
        )),
        Err(_) => {
            let names = field.names();
            if names.is_empty() {
                Err(format!(
                    "`{text}` is not a number for {} ({min}-{max})",
                    field.name()
                ))
            } else {
                Err(format!(
                    "`{text}` is not valid for {}: use {min}-{max} or {}-{}",
                    field.name(),
                    names[0],
                    names[names.len() - 1]
                ))
            }
        }
    }
}

fn check_day_fields(specs: &[FieldSpec], parts: &[(String, usize)]) -> Result<(), ExprError> {
    let (dom, dow) = (&specs[2], &specs[4]);
    let (dom_text, dom_offset) = &parts[2];
    let (dow_text, dow_offset) = &parts[4];
    match (dom.any, dow.any) {
        (false, false) => Err(ExprError::new(
            "day-of-month and day-of-week cannot both be set; one must be `?`",
            *dow_offset,
            dow_text.len(),
        )
        .help(day_fix(parts))),
        (true, true) => Err(ExprError::new(
            "day-of-month and day-of-week cannot both be `?`",
            *dom_offset,
            dom_text.len(),
        )
        .help("set one of them to `*`, e.g. `0 3 * * ? *`")),
        _ => Ok(()),
    }
}

/// Suggests both ways to keep one of the day fields.
fn day_fix(parts: &[(String, usize)]) -> String {
    let with = |i: usize| {
        let mut fields: Vec<&str> = parts.iter().map(|(t, _)| t.as_str()).collect();
        fields[i] = "?";
        fields.join(" ")
    };
    format!(
        "on those days of the week: `{}`; on those days of the month: `{}`",
        with(2),
        with(4)
    )
}

/// The unit of a rate expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    fn singular(self) -> &'static str {
        match self {
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }

    pub fn seconds(self) -> u64 {
        match self {
            RateUnit::Minute => 60,
            RateUnit::Hour => 3600,
            RateUnit::Day => 86_400,
        }
    }
}

/// A validated `rate(value unit)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub value: u32,
    pub unit: RateUnit,
}

impl Rate {
    /// Parses `6 hours` or `rate(6 hours)`; singular for 1, plural otherwise, as AWS requires.
    pub fn parse(input: &str) -> Result<Rate, ExprError> {
        let (body, base) = strip_wrapper(input, "rate");
        let parts = split_fields(body, base);
        let [(number, n_off), (unit, u_off)] = parts.as_slice() else {
            return Err(ExprError::new(
                "a rate is a number and a unit, e.g. `6 hours`",
                0,
                input.len(),
            ));
        };
        let value = match number.parse::<u32>() {
            Ok(v) if v >= 1 => v,
            _ => {
                return Err(ExprError::new(
                    format!("`{number}` is not a positive whole number"),
                    *n_off,
                    number.len(),
                )
                .help("the fastest schedule is `1 minute`"));
            }
        };
        let base_unit = unit.strip_suffix('s').unwrap_or(unit);
        let unit_kind = match base_unit {
            "minute" => RateUnit::Minute,
            "hour" => RateUnit::Hour,
            "day" => RateUnit::Day,
            _ => {
                return Err(ExprError::new(
                    format!("unknown rate unit `{unit}`"),
                    *u_off,
                    unit.len(),
                )
                .help("use minute(s), hour(s) or day(s)"));
            }
        };
        let rate = Rate {
            value,
            unit: unit_kind,
        };
        let expected = rate.unit_text();
        if unit != &expected {
            return Err(ExprError::new(
                format!("AWS requires `{expected}` with {value}, not `{unit}`"),
                *u_off,
                unit.len(),
            )
            .help(format!("write `{value} {expected}`")));
        }
        Ok(rate)
    }

    fn unit_text(&self) -> String {
        let s = self.unit.singular();
        if self.value == 1 {
            s.to_string()
        } else {
            format!("{s}s")
        }
    }

    pub fn expression(&self) -> String {
        format!("rate({} {})", self.value, self.unit_text())
    }

    pub fn period_seconds(&self) -> u64 {
        u64::from(self.value) * self.unit.seconds()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("test datetime")
    }

    #[test]
    fn daily_at_three() {
        let c = Cron::parse("0 3 * * ? *").expect("valid");
        assert_eq!(c.expression(), "cron(0 3 * * ? *)");
        assert_eq!(
            c.next_after(dt("2026-11-21 03:00")),
            Some(dt("2026-11-22 03:00"))
        );
        assert_eq!(
            c.next_after(dt("2026-11-21 02:59")),
            Some(dt("2026-11-21 03:00"))
        );
    }

    #[test]
    fn accepts_the_cron_wrapper_and_names() {
        let c = Cron::parse("cron(0/15 8-17 ? * MON-FRI *)").expect("valid");
        // 2026-11-21 is a Saturday: next is Monday 08:00.
        assert_eq!(
            c.next_after(dt("2026-11-21 12:00")),
            Some(dt("2026-11-23 08:00"))
        );
        assert_eq!(c.times_of_day().len(), 40);
    }

    #[test]
    fn special_day_forms() {
        let last = Cron::parse("0 0 L * ? *").expect("valid");
        assert_eq!(
            last.next_after(dt("2026-02-01 00:00")),
            Some(dt("2026-02-28 00:00"))
        );
        let second_monday = Cron::parse("0 0 ? * MON#2 *").expect("valid");
        assert_eq!(
            second_monday.next_after(dt("2026-11-01 00:00")),
            Some(dt("2026-11-09 00:00"))
        );
        let last_friday = Cron::parse("0 0 ? * 6L *").expect("valid");
        assert_eq!(
            last_friday.next_after(dt("2026-11-01 00:00")),
            Some(dt("2026-11-27 00:00"))
        );
        // 2026-11-15 is a Sunday: the nearest weekday is Monday the 16th.
        let w = Cron::parse("0 0 15W * ? *").expect("valid");
        assert_eq!(
            w.next_after(dt("2026-11-01 00:00")),
            Some(dt("2026-11-16 00:00"))
        );
    }

    #[test]
    fn rejects_what_aws_rejects() {
        let cases = [
            ("0 3 * * *", "6 fields"),
            ("0 3 * * MON *", "both be set"),
            ("0 3 ? * ? *", "both be `?`"),
            ("60 3 * * ? *", "out of range"),
            ("0 24 * * ? *", "out of range"),
            ("0 3 * 13 ? *", "out of range"),
            ("0 3 ? * 8 *", "out of range"),
            ("0 3 * * ? 1969", "out of range"),
            ("0 ? * * ? *", "not allowed"),
            ("0 3 ? * MON/2 *", "does not take"),
            ("0 3 5-1 * ? *", "backwards"),
            ("0 3 ? * MON#6 *", "1-5"),
            ("0/0 3 * * ? *", "invalid step"),
            ("0 3 * FOO ? *", "not valid for month"),
            ("0 3 1L * ? *", "not allowed"),
        ];
        for (expr, want) in cases {
            let err = Cron::parse(expr).expect_err(expr);
            assert!(err.message.contains(want), "{expr}: {}", err.message);
        }
    }

    #[test]
    fn errors_point_at_the_field() {
        let err = Cron::parse("0 25 * * ? *").expect_err("hour");
        assert_eq!((err.offset, err.len), (2, 2));
        let err = Cron::parse("cron(0 3 * * ? 1900)").expect_err("year");
        assert_eq!(err.offset, 15);
    }

    #[test]
    fn rates_need_the_right_number() {
        assert_eq!(
            Rate::parse("6 hours").expect("valid").expression(),
            "rate(6 hours)"
        );
        assert_eq!(
            Rate::parse("rate(1 day)").expect("valid").period_seconds(),
            86_400
        );
        assert!(
            Rate::parse("1 hours")
                .expect_err("plural")
                .message
                .contains("`hour`")
        );
        assert!(
            Rate::parse("5 minute")
                .expect_err("singular")
                .message
                .contains("`minutes`")
        );
        assert!(Rate::parse("0 minutes").is_err());
        assert!(Rate::parse("30 seconds").is_err());
        assert!(Rate::parse("hourly").is_err());
    }
}
