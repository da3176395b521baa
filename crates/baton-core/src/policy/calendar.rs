//! Business-hours calendars: which instants count as working time, so SLA
//! deadlines can count working time only.
//!
//! A calendar is a time zone, a weekly pattern of local wall-clock ranges and
//! a list of holidays (whole local days). Its working time is a set of
//! half-open instant spans `[start, end)`: for every local date that is not a
//! holiday, each range of that date's weekday, with both ends turned into
//! instants in the calendar's time zone.
//!
//! Turning a local time into an instant uses jiff's *compatible*
//! disambiguation: a time skipped by a spring-forward gap is read with the
//! offset before the gap (so it lands as far after the gap's start as it
//! names), and a time repeated by a fall-back fold means its first
//! occurrence. "24:00" is the next local midnight. Ranges therefore keep their
//! real length: a 09:00–17:00 day is 8 hours on both change days (the change
//! happens at night), while a 00:00–24:00 day is 23 hours when clocks spring
//! forward and 25 hours when they fall back.
//!
//! Everything is exact to the nanosecond, and
//! `working_between(s, add_working(s, d)) == d` for every `d ≥ 0` short of
//! saturation at [`Timestamp::MAX`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use jiff::civil::Date;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// One `[[calendar]]` table of the policy file, as written.
///
/// ```toml
/// [[calendar]]
/// name = "brussels-office"
/// time_zone = "Europe/Brussels"
/// hours = { mon = ["09:00-17:00"], tue = ["09:00-12:00", "13:00-17:00"] }
/// holidays = ["2026-12-25", "2027-01-01"]
/// ```
///
/// `hours` maps a weekday (`mon` … `sun`) to local ranges `"HH:MM-HH:MM"`
/// (end after start, `"24:00"` allowed as an end, no overlaps on one day);
/// `holidays` are local dates `"YYYY-MM-DD"` with no working time at all.
/// [`Calendar::build`] checks all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// The name routes and SLA targets refer to, e.g. `"brussels-office"`.
    pub name: String,
    /// An IANA time zone name, e.g. `"Europe/Brussels"` or `"UTC"`.
    pub time_zone: String,
    /// Weekday key (`mon` … `sun`) → local working ranges `"HH:MM-HH:MM"`.
    pub hours: BTreeMap<String, Vec<String>>,
    /// Local dates `"YYYY-MM-DD"` that are whole non-working days.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// A checked business-hours calendar, ready to count working time.
///
/// Built from a [`CalendarConfig`] with [`Calendar::build`], or the 24×7
/// [`Calendar::always`]. It holds its time zone rules, so counting working
/// time reads no files; clones share those rules.
#[derive(Debug, Clone)]
pub struct Calendar {
    name: String,
    kind: Kind,
}

/// The weekday keys of [`CalendarConfig::hours`], Monday first.
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes in a local day; a range may end here ("24:00").
const DAY_MINUTES: u16 = 24 * 60;

impl Calendar {
    /// Checks `config` and builds the calendar, or returns every problem
    /// found at once.
    ///
    /// Time zones come from the IANA database bundled into the binary, so
    /// building reads no files and answers the same on every machine.
    ///
    /// # Errors
    ///
    /// One lowercase message per problem, each starting with
    /// `calendar <name>: <field>:` and naming the offending value: an empty
    /// name, an unknown time zone, a weekday key other than `mon` … `sun`, a
    /// range not written `"HH:MM-HH:MM"` or not ending after it starts, two
    /// overlapping ranges on one day, a holiday that is not a `"YYYY-MM-DD"`
    /// date or is listed twice, and a calendar with no working hours at all.
    /// For example `calendar brussels-office: hours.tue: "13:00-12:00" ends
    /// before it starts`.
    pub fn build(config: &CalendarConfig) -> Result<Calendar, Vec<String>> {
        let mut problems = Problems {
            calendar: &config.name,
            list: Vec::new(),
        };
        if config.name.trim().is_empty() {
            problems.push(
                "name",
                "must not be empty; name the calendar, e.g. \"brussels-office\"",
            );
        }
        let tz = match TimeZoneDatabase::bundled().get(&config.time_zone) {
            Ok(tz) if !tz.is_unknown() => Some(tz),
            _ => {
                problems.push(
                    "time_zone",
                    format!(
                        "unknown time zone {:?}; use an iana name such as \"Europe/Brussels\" or \"UTC\"",
                        config.time_zone
                    ),
                );
                None
            }
        };
        let mut days: [Vec<Range>; 7] = Default::default();
        let before = problems.list.len();
        for (key, ranges) in &config.hours {
            let field = format!("hours.{key}");
            let day = WEEKDAYS.iter().position(|d| d == key);
            if day.is_none() {
                problems.push(
                    "hours",
                    format!("unknown weekday {key:?}; use mon, tue, wed, thu, fri, sat or sun"),
                );
            }
            let parsed = parse_day(&field, ranges, &mut problems);
            if let Some(day) = day {
                days[day] = parsed;
            }
        }
        let hours_ok = problems.list.len() == before;
        let nominal = days.each_ref().map(|ranges| {
            let minutes: u16 = ranges.iter().map(|r| r.end - r.start).sum();
            SignedDuration::from_mins(i64::from(minutes))
        });
        let week = nominal.iter().fold(SignedDuration::ZERO, |a, &b| a + b);
        if hours_ok && week.is_zero() {
            problems.push(
                "hours",
                "no working hours; give at least one weekday a range, e.g. mon = [\"09:00-17:00\"]",
            );
        }
        let mut holidays = BTreeSet::new();
        for text in &config.holidays {
            match parse_date(text) {
                None => problems.push(
                    "holidays",
                    format!("{text:?} is not a date; write \"YYYY-MM-DD\", e.g. \"2026-12-25\""),
                ),
                Some(date) if !holidays.insert(date) => {
                    problems.push("holidays", format!("{text:?} is listed twice; remove one"));
                }
                Some(_) => {}
            }
        }
        match tz {
            Some(tz) if problems.list.is_empty() => Ok(Calendar {
                name: config.name.clone(),
                kind: Kind::Weekly(Box::new(Weekly {
                    tz,
                    days,
                    holidays,
                    nominal,
                    week,
                })),
            }),
            _ => Err(problems.list),
        }
    }

    /// A calendar where every instant is working time, named `"24x7"`:
    /// [`Calendar::add_working`] is plain wall-clock addition.
    pub fn always() -> Calendar {
        Calendar {
            name: "24x7".to_owned(),
            kind: Kind::Always,
        }
    }

    /// The calendar's name, as configured (`"24x7"` for [`Calendar::always`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The time zone its hours are in: UTC for [`Calendar::always`]. Times
    /// of an item on this calendar are shown in it.
    pub fn time_zone(&self) -> TimeZone {
        match &self.kind {
            Kind::Always => TimeZone::UTC,
            Kind::Weekly(weekly) => weekly.tz.clone(),
        }
    }

    /// Whether `at` is working time: inside some working range `[start, end)`
    /// of a local date that is not a holiday. The end of a range is not.
    pub fn is_working(&self, at: Timestamp) -> bool {
        let Kind::Weekly(weekly) = &self.kind else {
            return true;
        };
        let date = weekly.local_date(at);
        [date.yesterday().ok(), Some(date), date.tomorrow().ok()]
            .into_iter()
            .flatten()
            .any(|d| weekly.day(d).spans.iter().any(|&(s, e)| s <= at && at < e))
    }

    /// The instant at which `work` of working time has elapsed after `start`.
    ///
    /// A zero or negative `work` returns `start` unchanged (even outside
    /// working hours). A positive `work` returns an instant inside a working
    /// range or exactly at a range's end (work that runs out at 17:00 ends at
    /// 17:00, not at the next morning's 09:00), so the result is never
    /// `start` moved to the next working instant with nothing left to do.
    /// Monotonic in `work`, exact to the nanosecond, and the inverse of
    /// [`Calendar::working_between`]. Whole regular weeks are skipped
    /// arithmetically, so long durations are cheap; the result saturates at
    /// [`Timestamp::MAX`] instead of overflowing.
    pub fn add_working(&self, start: Timestamp, work: SignedDuration) -> Timestamp {
        if work <= SignedDuration::ZERO {
            return start;
        }
        match &self.kind {
            Kind::Always => start.checked_add(work).unwrap_or(Timestamp::MAX),
            Kind::Weekly(weekly) => weekly.add(start, work),
        }
    }

    /// The working time in `[from, to)`; zero when `to ≤ from`.
    pub fn working_between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        if to <= from {
            return SignedDuration::ZERO;
        }
        match &self.kind {
            Kind::Always => to.duration_since(from),
            Kind::Weekly(weekly) => weekly.between(from, to),
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    /// Every instant is working time.
    Always,
    Weekly(Box<Weekly>),
}

#[derive(Debug, Clone)]
struct Weekly {
    tz: TimeZone,
    /// Sorted, non-overlapping ranges per weekday, Monday first.
    days: [Vec<Range>; 7],
    holidays: BTreeSet<Date>,
    /// Nominal working time per weekday (Monday first) and per week, exact
    /// on regular days: no holiday and no time zone transition nearby.
    nominal: [SignedDuration; 7],
    week: SignedDuration,
}

/// A local range in minutes after midnight, `start < end ≤ 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Range {
    start: u16,
    end: u16,
}

/// One local date's working spans as instants, sorted and disjoint, and the
/// instant its day ends (the next local midnight).
struct Day {
    end: Timestamp,
    spans: Vec<(Timestamp, Timestamp)>,
}

impl Weekly {
    fn local_date(&self, at: Timestamp) -> Date {
        self.tz.to_datetime(at).date()
    }

    /// The instant of local `date` at `minute` after midnight (1440 is the
    /// next midnight), compatible disambiguation, saturating at the ends of
    /// the timestamp range.
    fn instant(&self, date: Date, minute: u16) -> Timestamp {
        let (date, minute) = if minute >= DAY_MINUTES {
            match date.tomorrow() {
                Ok(next) => (next, 0),
                Err(_) => return Timestamp::MAX,
            }
        } else {
            (date, minute)
        };
        let hour = i8::try_from(minute / 60).unwrap_or(0);
        let min = i8::try_from(minute % 60).unwrap_or(0);
        let local = date.at(hour, min, 0, 0);
        match self.tz.to_ambiguous_timestamp(local).compatible() {
            Ok(at) => at,
            Err(_) if date.year() > 0 => Timestamp::MAX,
            Err(_) => Timestamp::MIN,
        }
    }

    fn day(&self, date: Date) -> Day {
        let start = self.instant(date, 0);
        let end = self.instant(date, DAY_MINUTES).max(start);
        let mut spans: Vec<(Timestamp, Timestamp)> = Vec::new();
        if self.holidays.contains(&date) {
            return Day { end, spans };
        }
        for range in &self.days[weekday(date)] {
            // Clamping keeps a day's spans inside its own day even when a
            // range's ends fall in a gap and map out of order.
            let s = self.instant(date, range.start).clamp(start, end);
            let e = self.instant(date, range.end).clamp(start, end);
            if s < e {
                spans.push((s, e));
            }
        }
        spans.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Day { end, spans: merged }
    }

    /// The first date on or after `date` that may not have the nominal
    /// working time: a holiday, or a day next to a time zone transition.
    /// `None` when there is neither.
    fn next_irregular(&self, date: Date) -> Option<Date> {
        let holiday = self.holidays.range(date..).next().copied();
        let from = self
            .instant(date, 0)
            .checked_sub(SignedDuration::from_hours(72))
            .unwrap_or(Timestamp::MIN);
        let transition = self.tz.following(from).find_map(|t| {
            let at = t.timestamp();
            let before = self.local_date(at.checked_sub(SignedDuration::from_nanos(1)).ok()?);
            let after = self.local_date(at);
            let hi = before.max(after).tomorrow().unwrap_or(Date::MAX);
            let lo = before.min(after).yesterday().unwrap_or(Date::MIN);
            (hi >= date).then(|| lo.max(date))
        });
        match (holiday, transition) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn nominal(&self, date: Date) -> SignedDuration {
        self.nominal[weekday(date)]
    }

    fn add(&self, start: Timestamp, work: SignedDuration) -> Timestamp {
        let week = self.week.as_nanos();
        let mut stretch = Stretch::new(self);
        let mut left = work;
        let mut floor = start;
        let mut clear = false;
        let first = self.local_date(start);
        let mut date = first.yesterday().unwrap_or(first);
        loop {
            // Once a day starts after `start`, regular days can be counted
            // without looking at their instants: weeks, then single days,
            // always leaving some work for the last day.
            clear = clear || self.instant(date, 0) >= floor;
            let regular = if clear { stretch.days(date) } else { 0 };
            let weeks = (regular / 7).min((left.as_nanos() - 1) / week);
            if weeks > 0 {
                let Some(next) = add_days(date, weeks * 7) else {
                    return Timestamp::MAX;
                };
                date = next;
                left = left.saturating_sub(SignedDuration::from_nanos_i128(week * weeks));
                continue;
            }
            let skip = regular > 0 && self.nominal(date) < left;
            if skip {
                left = left.saturating_sub(self.nominal(date));
            } else {
                let day = self.day(date);
                for (s, e) in day.spans {
                    let s = s.max(floor);
                    if e <= s {
                        continue;
                    }
                    let length = e.duration_since(s);
                    if length >= left {
                        return s.checked_add(left).unwrap_or(Timestamp::MAX);
                    }
                    left = left.saturating_sub(length);
                }
                floor = floor.max(day.end);
            }
            match date.tomorrow() {
                Ok(next) if floor < Timestamp::MAX => date = next,
                _ => return Timestamp::MAX,
            }
        }
    }

    fn between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        let week = self.week.as_nanos();
        let mut stretch = Stretch::new(self);
        let mut total = SignedDuration::ZERO;
        let mut floor = from;
        let mut clear = false;
        let first = self.local_date(from);
        let last = self.local_date(to);
        let mut date = first.yesterday().unwrap_or(first);
        loop {
            // Regular days after `from` and ending a day before `to`'s date
            // count nominally.
            clear = clear || self.instant(date, 0) >= floor;
            let free = if clear {
                stretch.days(date).min(days_between(date, last) - 1)
            } else {
                0
            };
            if free >= 7
                && let Some(next) = add_days(date, free / 7 * 7)
            {
                date = next;
                let counted = SignedDuration::from_nanos_i128(week * (free / 7));
                total = total.saturating_add(counted);
                continue;
            }
            if free >= 1 {
                total = total.saturating_add(self.nominal(date));
            } else {
                let day = self.day(date);
                for (s, e) in day.spans {
                    let (s, e) = (s.max(floor), e.min(to));
                    if s < e {
                        total = total.saturating_add(e.duration_since(s));
                    }
                }
                floor = floor.max(day.end);
            }
            match date.tomorrow() {
                Ok(next) if floor < to => date = next,
                _ => return total,
            }
        }
    }
}

/// Caches [`Weekly::next_irregular`] while walking forward through dates.
struct Stretch<'a> {
    weekly: &'a Weekly,
    /// `next_irregular(from)`: every date in `[from, irregular)` is regular.
    known: Option<(Date, Option<Date>)>,
}

impl<'a> Stretch<'a> {
    fn new(weekly: &'a Weekly) -> Self {
        Stretch {
            weekly,
            known: None,
        }
    }

    /// How many days from `date` on are regular (`i128::MAX`: all of them).
    fn days(&mut self, date: Date) -> i128 {
        let irregular = match self.known {
            Some((from, irregular)) if from <= date && irregular.is_none_or(|i| date <= i) => {
                irregular
            }
            _ => {
                let irregular = self.weekly.next_irregular(date);
                self.known = Some((date, irregular));
                irregular
            }
        };
        irregular.map_or(i128::MAX, |i| days_between(date, i))
    }
}

fn weekday(date: Date) -> usize {
    usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)
}

/// Whole days from `a` to `b` (negative when `b` is earlier).
fn days_between(a: Date, b: Date) -> i128 {
    i128::from(b.duration_since(a).as_hours() / 24)
}

/// `date` plus `days` days, `None` past the end of the calendar.
fn add_days(mut date: Date, mut days: i128) -> Option<Date> {
    // jiff adds at most a date range's worth of days at once, so step.
    const STEP: i128 = 1_000_000;
    if days.abs() > 8 * STEP {
        return None;
    }
    while days != 0 {
        let step = days.clamp(-STEP, STEP);
        let hours = i64::try_from(step * 24).ok()?;
        date = date.checked_add(SignedDuration::from_hours(hours)).ok()?;
        days -= step;
    }
    Some(date)
}

/// Build problems of one calendar, each prefixed with its name and field.
struct Problems<'a> {
    calendar: &'a str,
    list: Vec<String>,
}

impl Problems<'_> {
    fn push(&mut self, field: &str, message: impl Display) {
        let name = if self.calendar.is_empty() {
            "\"\""
        } else {
            self.calendar
        };
        self.list
            .push(format!("calendar {name}: {field}: {message}"));
    }
}

/// Parses one weekday's ranges, reporting bad and overlapping ones; returns
/// the good ones sorted.
fn parse_day(field: &str, texts: &[String], problems: &mut Problems<'_>) -> Vec<Range> {
    let mut ranges: Vec<(Range, &str)> = Vec::new();
    for text in texts {
        match parse_range(text) {
            Ok(range) => ranges.push((range, text)),
            Err(why) => problems.push(field, format!("{text:?} {why}")),
        }
    }
    ranges.sort();
    let mut reach: Option<(Range, &str)> = None;
    for &(range, text) in &ranges {
        if let Some((prev, prev_text)) = reach {
            if range.start < prev.end {
                problems.push(
                    field,
                    format!("{prev_text:?} overlaps {text:?}; make the ranges of a day disjoint"),
                );
            }
            if range.end <= prev.end {
                continue;
            }
        }
        reach = Some((range, text));
    }
    ranges.into_iter().map(|(range, _)| range).collect()
}

/// Parses `"HH:MM-HH:MM"`; the error completes `"<text>" …`.
fn parse_range(text: &str) -> Result<Range, &'static str> {
    const FORMAT: &str = "is not a range; write \"HH:MM-HH:MM\", e.g. \"09:00-17:00\"";
    let (start, end) = text.split_once('-').ok_or(FORMAT)?;
    let (start, end) = (
        parse_time(start).ok_or(FORMAT)?,
        parse_time(end).ok_or(FORMAT)?,
    );
    if start == DAY_MINUTES {
        return Err("starts at 24:00; 24:00 is only allowed as an end, start at \"00:00\"");
    }
    if end < start {
        return Err("ends before it starts");
    }
    if end == start {
        return Err("is empty; the end must be after the start");
    }
    Ok(Range { start, end })
}

/// Parses `"HH:MM"` (00:00 to 24:00) into minutes after midnight.
fn parse_time(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return None;
    }
    let hour = two_digits(&bytes[0..2])?;
    let minute = two_digits(&bytes[3..5])?;
    match (hour, minute) {
        (0..=23, 0..=59) | (24, 0) => Some(hour * 60 + minute),
        _ => None,
    }
}

fn two_digits(bytes: &[u8]) -> Option<u16> {
    match bytes {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some(u16::from(a - b'0') * 10 + u16::from(b - b'0')),
        _ => None,
    }
}

/// Parses a strict `"YYYY-MM-DD"` date.
fn parse_date(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = two_digits(&bytes[0..2])? * 100 + two_digits(&bytes[2..4])?;
    let month = two_digits(&bytes[5..7])?;
    let day = two_digits(&bytes[8..10])?;
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

#[cfg(test)]
mod tests;
