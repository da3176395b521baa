//! Table and property tests for business-hours calendars.

use super::*;
use jiff::civil::DateTime;
use proptest::prelude::*;

const BRUSSELS: &str = "Europe/Brussels";
const NEW_YORK: &str = "America/New_York";

/// The example from the policy documentation, parsed from TOML.
const OFFICE_TOML: &str = r#"
[[calendar]]
name = "brussels-office"
time_zone = "Europe/Brussels"
hours = { mon = ["09:00-17:00"], tue = ["09:00-12:00", "13:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }
holidays = ["2026-12-25", "2027-01-01"]
"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    calendar: Vec<CalendarConfig>,
}

fn parse(toml_text: &str) -> Result<Vec<CalendarConfig>, String> {
    toml::from_str::<File>(toml_text)
        .map(|f| f.calendar)
        .map_err(|e| e.to_string())
}

fn office() -> Calendar {
    Calendar::build(&parse(OFFICE_TOML).unwrap()[0]).unwrap()
}

fn config(time_zone: &str, days: &[&str], ranges: &[&str], holidays: &[&str]) -> CalendarConfig {
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    CalendarConfig {
        name: "test".to_owned(),
        time_zone: time_zone.to_owned(),
        hours: days
            .iter()
            .map(|d| ((*d).to_owned(), strings(ranges)))
            .collect(),
        holidays: strings(holidays),
    }
}

const MON_FRI: &[&str] = &["mon", "tue", "wed", "thu", "fri"];
const EVERY_DAY: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn calendar(time_zone: &str, days: &[&str], ranges: &[&str]) -> Calendar {
    Calendar::build(&config(time_zone, days, ranges, &[])).unwrap()
}

/// Local wall-clock time `"2026-03-27T16:00"` in `tz`, compatible disambiguation.
fn at(tz: &str, local: &str) -> Timestamp {
    let tz = TimeZoneDatabase::bundled().get(tz).unwrap();
    let local: DateTime = local.parse().unwrap();
    tz.to_ambiguous_timestamp(local).compatible().unwrap()
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

/// `work` after local `start` ends at local `expect`, and counts back to `work`.
fn check(cal: &Calendar, tz: &str, start: &str, work: SignedDuration, expect: &str) {
    let start_at = at(tz, start);
    let end = cal.add_working(start_at, work);
    assert_eq!(end, at(tz, expect), "{} {start} + {work:#}", cal.name());
    if work.is_positive() {
        assert_eq!(
            cal.working_between(start_at, end),
            work,
            "{start} + {work:#}"
        );
    }
}

/// Working time between two local times.
fn check_between(cal: &Calendar, tz: &str, from: &str, to: &str, expect: SignedDuration) {
    let got = cal.working_between(at(tz, from), at(tz, to));
    assert_eq!(got, expect, "{} [{from}, {to})", cal.name());
}

#[test]
fn office_hours() {
    let cal = office();
    let b = BRUSSELS;
    // 2026-06-01 is a Monday.
    check(&cal, b, "2026-06-01T10:00", hours(2), "2026-06-01T12:00");
    check(&cal, b, "2026-06-01T15:00", hours(2), "2026-06-01T17:00");
    check(&cal, b, "2026-06-01T07:00", mins(30), "2026-06-01T09:30");
    check(&cal, b, "2026-06-01T20:00", hours(1), "2026-06-02T10:00");
    check(&cal, b, "2026-06-02T11:00", hours(2), "2026-06-02T14:00");
    check(&cal, b, "2026-06-02T10:00", hours(2), "2026-06-02T12:00");
    check(&cal, b, "2026-06-02T12:30", mins(1), "2026-06-02T13:01");
    check(&cal, b, "2026-06-05T16:00", hours(2), "2026-06-08T10:00");
    check(&cal, b, "2026-06-06T11:00", hours(1), "2026-06-08T10:00");
    check(&cal, b, "2026-06-01T09:00", hours(39), "2026-06-05T17:00");
    check(&cal, b, "2026-06-01T09:00", hours(40), "2026-06-08T10:00");
    // Zero and negative work leave the start alone, even on a Saturday.
    check(&cal, b, "2026-06-06T11:00", mins(0), "2026-06-06T11:00");
    check(&cal, b, "2026-06-06T11:00", hours(-3), "2026-06-06T11:00");
    // Christmas (a Friday) and New Year's Day are whole days off.
    check(&cal, b, "2026-12-24T16:00", hours(2), "2026-12-28T10:00");
    check(&cal, b, "2026-12-31T16:00", hours(2), "2027-01-04T10:00");
    check_between(&cal, b, "2026-12-21T00:00", "2026-12-28T00:00", hours(31));
    check_between(
        &cal,
        b,
        "2026-06-01T12:00",
        "2026-06-01T10:00",
        SignedDuration::ZERO,
    );
}

#[test]
fn weekday_calendars_keep_eight_hours_across_dst() {
    let brussels = calendar(BRUSSELS, MON_FRI, &["09:00-17:00"]);
    let new_york = calendar(NEW_YORK, MON_FRI, &["09:00-17:00"]);
    let daily = calendar(BRUSSELS, EVERY_DAY, &["09:00-17:00"]);
    for (cal, tz, fri, mon) in [
        (&brussels, BRUSSELS, "2026-03-27", "2026-03-30"),
        (&brussels, BRUSSELS, "2026-10-23", "2026-10-26"),
        (&new_york, NEW_YORK, "2026-03-06", "2026-03-09"),
        (&new_york, NEW_YORK, "2026-10-30", "2026-11-02"),
    ] {
        check(
            cal,
            tz,
            &format!("{fri}T16:00"),
            hours(2),
            &format!("{mon}T10:00"),
        );
        check_between(
            cal,
            tz,
            &format!("{fri}T09:00"),
            &format!("{mon}T17:00"),
            hours(16),
        );
    }
    check(
        &daily,
        BRUSSELS,
        "2026-03-29T09:00",
        hours(8),
        "2026-03-29T17:00",
    );
    check(
        &daily,
        BRUSSELS,
        "2026-10-25T09:00",
        hours(8),
        "2026-10-25T17:00",
    );
    check(
        &daily,
        BRUSSELS,
        "2026-03-28T16:00",
        hours(2),
        "2026-03-29T10:00",
    );
}

#[test]
fn all_day_calendars_follow_the_real_length_of_change_days() {
    let brussels = calendar(BRUSSELS, EVERY_DAY, &["00:00-24:00"]);
    let new_york = calendar(NEW_YORK, EVERY_DAY, &["00:00-24:00"]);
    let b = BRUSSELS;
    check(
        &brussels,
        b,
        "2026-03-28T12:00",
        hours(24),
        "2026-03-29T13:00",
    );
    check(
        &brussels,
        b,
        "2026-10-24T12:00",
        hours(24),
        "2026-10-25T11:00",
    );
    check(
        &brussels,
        b,
        "2026-03-29T01:30",
        hours(1),
        "2026-03-29T03:30",
    );
    check_between(
        &brussels,
        b,
        "2026-03-29T00:00",
        "2026-03-30T00:00",
        hours(23),
    );
    check_between(
        &brussels,
        b,
        "2026-10-25T00:00",
        "2026-10-26T00:00",
        hours(25),
    );
    check_between(
        &brussels,
        b,
        "2026-03-23T00:00",
        "2026-03-30T00:00",
        hours(167),
    );
    check_between(
        &new_york,
        NEW_YORK,
        "2026-03-08T00:00",
        "2026-03-09T00:00",
        hours(23),
    );
    check_between(
        &new_york,
        NEW_YORK,
        "2026-11-01T00:00",
        "2026-11-02T00:00",
        hours(25),
    );
    check(
        &new_york,
        NEW_YORK,
        "2026-11-01T00:00",
        hours(25),
        "2026-11-02T00:00",
    );
}

#[test]
fn ranges_over_the_changeover_use_compatible_disambiguation() {
    let b = BRUSSELS;
    // 02:00–03:00 is skipped on 2026-03-29 and 02:00–03:00 repeats on 2026-10-25.
    let night = calendar(b, &["sun"], &["01:00-04:00"]);
    check_between(&night, b, "2026-03-29T00:00", "2026-03-30T00:00", hours(2));
    check_between(&night, b, "2026-10-25T00:00", "2026-10-26T00:00", hours(4));
    check_between(&night, b, "2026-06-07T00:00", "2026-06-08T00:00", hours(3));
    // A start inside the gap reads as if the clocks had not changed yet
    // (02:30 → 03:30); a repeated start means its first occurrence.
    let late = calendar(b, &["sun"], &["02:30-05:00"]);
    check_between(&late, b, "2026-03-29T00:00", "2026-03-30T00:00", mins(90));
    let folded = calendar(b, &["sun"], &["02:30-04:00"]);
    check_between(
        &folded,
        b,
        "2026-10-25T00:00",
        "2026-10-26T00:00",
        mins(150),
    );
}

#[test]
fn always_is_wall_clock_addition() {
    let cal = Calendar::always();
    assert_eq!(cal.name(), "24x7");
    for (start, work) in [
        ("2026-03-29T01:30:00Z", hours(1)),
        ("2026-06-06T23:59:59Z", SignedDuration::from_secs(1)),
        ("2027-01-01T00:00:00Z", hours(2000)),
        ("2026-01-01T00:00:00Z", SignedDuration::from_nanos(1)),
    ] {
        let start: Timestamp = start.parse().unwrap();
        let end = cal.add_working(start, work);
        assert_eq!(end, start.checked_add(work).unwrap(), "{start} + {work:#}");
        assert_eq!(cal.working_between(start, end), work);
        assert!(cal.is_working(start));
    }
    assert_eq!(
        cal.add_working(Timestamp::MAX, hours(1)),
        Timestamp::MAX,
        "saturates"
    );
}

#[test]
fn long_durations_are_fast_and_exact() {
    let b = BRUSSELS;
    let weekdays = calendar(b, MON_FRI, &["09:00-17:00"]);
    check(
        &weekdays,
        b,
        "2026-01-05T09:00",
        hours(2000),
        "2026-12-18T17:00",
    );
    check(
        &weekdays,
        b,
        "2026-01-05T09:00",
        hours(2001),
        "2026-12-21T10:00",
    );
    let cal = office();
    let start = at(b, "2026-02-11T13:37");
    for h in [500, 2000, 20_000, 200_000] {
        let end = cal.add_working(start, hours(h));
        assert_eq!(cal.working_between(start, end), hours(h), "{h}h");
    }
    // Far beyond year 9999: saturate instead of overflowing.
    assert_eq!(cal.add_working(start, SignedDuration::MAX), Timestamp::MAX);
    let near_end = Timestamp::MAX.checked_sub(hours(30)).unwrap();
    assert_eq!(cal.add_working(near_end, hours(1000)), Timestamp::MAX);
    // Both ends of time: no panic.
    let month = hours(24 * 31);
    let early = Timestamp::MIN.checked_add(month).unwrap();
    let late = Timestamp::MAX.checked_sub(month).unwrap();
    assert!(cal.working_between(Timestamp::MIN, early) > hours(100));
    assert!(cal.working_between(late, Timestamp::MAX) > hours(100));
    let utc = calendar("UTC", &["sun"], &["00:00-24:00"]);
    let all = utc.working_between(Timestamp::MIN, Timestamp::MAX);
    let sundays = all.as_hours() / 24;
    assert!((1_043_000..1_044_000).contains(&sundays), "{all:#}");
}

#[test]
fn working_instants() {
    let cal = office();
    for (local, working) in [
        ("2026-06-01T08:59:59", false),
        ("2026-06-01T09:00", true),
        ("2026-06-01T16:59:59", true),
        ("2026-06-01T17:00", false),
        ("2026-06-02T12:30", false),
        ("2026-06-02T13:00", true),
        ("2026-06-06T10:00", false),
        ("2026-12-25T10:00", false),
        ("2026-12-24T10:00", true),
    ] {
        assert_eq!(cal.is_working(at(BRUSSELS, local)), working, "{local}");
    }
}

#[test]
fn build_reports_every_problem_with_the_calendar_name() {
    let config = CalendarConfig {
        name: "broken".to_owned(),
        time_zone: "Mars/Olympus".to_owned(),
        hours: [
            ("monday", vec!["09:00-17:00"]),
            (
                "tue",
                vec!["9-17", "13:00-12:00", "09:00-09:00", "24:00-24:00"],
            ),
            ("wed", vec!["09:00-12:00", "11:00-13:00"]),
            ("thu", vec!["08:00-24:00", "00:00-08:00"]),
        ]
        .into_iter()
        .map(|(d, r)| (d.to_owned(), r.into_iter().map(str::to_owned).collect()))
        .collect(),
        holidays: ["2026-02-30", "2026-12-25", "2026-12-25", "christmas"]
            .map(str::to_owned)
            .to_vec(),
    };
    let errors = Calendar::build(&config).unwrap_err();
    assert_eq!(errors.len(), 10, "{errors:#?}");
    assert!(errors.iter().all(|e| e.starts_with("calendar broken: ")));
    for expected in [
        r#"calendar broken: time_zone: unknown time zone "Mars/Olympus""#,
        r#"calendar broken: hours: unknown weekday "monday""#,
        r#"calendar broken: hours.tue: "9-17" is not a range; write "HH:MM-HH:MM""#,
        r#"calendar broken: hours.tue: "13:00-12:00" ends before it starts"#,
        r#"calendar broken: hours.tue: "09:00-09:00" is empty"#,
        r#"calendar broken: hours.tue: "24:00-24:00" starts at 24:00"#,
        r#"calendar broken: hours.wed: "09:00-12:00" overlaps "11:00-13:00""#,
        r#"calendar broken: holidays: "2026-02-30" is not a date"#,
        r#"calendar broken: holidays: "2026-12-25" is listed twice"#,
        r#"calendar broken: holidays: "christmas" is not a date"#,
    ] {
        assert!(
            errors.iter().any(|e| e.starts_with(expected)),
            "{expected} not in {errors:#?}"
        );
    }
}

#[test]
fn build_rejects_calendars_without_hours_or_name() {
    let mut empty = config("UTC", &[], &[], &[]);
    let errors = Calendar::build(&empty).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("calendar test: hours: no working hours"));
    empty.hours.insert("sat".to_owned(), Vec::new());
    assert_eq!(Calendar::build(&empty).unwrap_err().len(), 1);
    for zone in ["Etc/Unknown", "", "CET+1", "Europe/Atlantis"] {
        let errors = Calendar::build(&config(zone, &["mon"], &["09:00-17:00"], &[])).unwrap_err();
        assert_eq!(errors.len(), 1, "{zone}");
        assert!(errors[0].starts_with("calendar test: time_zone: unknown time zone"));
    }
    let ok = ["00:00-24:00", "23:59-24:00", "00:00-00:01"];
    assert!(Calendar::build(&config("UTC", &["sun"], &ok[..1], &[])).is_ok());
    assert!(Calendar::build(&config("UTC", &["sun"], &ok[1..], &[])).is_ok());
    let unnamed = CalendarConfig {
        name: String::new(),
        ..config("UTC", &["mon"], &["09:00-17:00"], &[])
    };
    let errors = Calendar::build(&unnamed).unwrap_err();
    assert_eq!(
        errors,
        [r#"calendar "": name: must not be empty; name the calendar, e.g. "brussels-office""#]
    );
}

#[test]
fn toml_shape() {
    let configs = parse(OFFICE_TOML).unwrap();
    assert_eq!(configs[0].hours["tue"], ["09:00-12:00", "13:00-17:00"]);
    assert_eq!(office().name(), "brussels-office");
    let typo = OFFICE_TOML.replace("holidays", "holiday");
    assert!(parse(&typo).unwrap_err().contains("unknown field"));
    let no_holidays = OFFICE_TOML.replace("holidays = [\"2026-12-25\", \"2027-01-01\"]", "");
    assert!(parse(&no_holidays).unwrap()[0].holidays.is_empty());
}

fn brussels_timestamp() -> impl Strategy<Value = Timestamp> {
    let from = "2026-01-01T00:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_second();
    let to = "2029-01-01T00:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .as_second();
    (from..to).prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// (a) a positive deadline lies in `(start, end]` of a working span, i.e.
/// the instant just before it is working time (a deadline of exactly 17:00
/// is fine); zero work returns the start; (b) deadlines grow with the
/// duration; (c) `working_between` inverts `add_working`.
fn invariants(cal: &Calendar, start: Timestamp, a: i64, b: i64) -> Result<(), TestCaseError> {
    let (d1, d2) = (mins(a.min(b)), mins(a.max(b)));
    let (t1, t2) = (cal.add_working(start, d1), cal.add_working(start, d2));
    prop_assert!(t1 <= t2);
    for (d, t) in [(d1, t1), (d2, t2)] {
        prop_assert_eq!(cal.working_between(start, t), d);
        if d.is_positive() {
            let just_before = t.checked_sub(SignedDuration::from_nanos(1)).unwrap();
            prop_assert!(cal.is_working(just_before), "{} + {:#} = {}", start, d, t);
        } else {
            prop_assert_eq!(t, start);
        }
    }
    Ok(())
}

proptest! {
    /// The office calendar: a lunch break, holidays, two DST changes a year.
    #[test]
    fn office_deadlines_invert_and_grow(
        start in brussels_timestamp(),
        a in 0i64..30_000,
        b in 0i64..30_000,
    ) {
        invariants(&office(), start, a, b)?;
    }

    /// Ranges that start, end or lie inside the changeover hours.
    #[test]
    fn night_shift_deadlines_invert_and_grow(
        start in brussels_timestamp(),
        a in 0i64..30_000,
        b in 0i64..30_000,
    ) {
        let night = calendar(BRUSSELS, EVERY_DAY, &["00:00-02:30", "02:45-03:15", "22:00-24:00"]);
        invariants(&night, start, a, b)?;
    }

    /// Working every hour of every local day is working all the time, DST
    /// or not, so it matches wall-clock addition.
    #[test]
    fn all_day_calendars_are_wall_clock(
        start in brussels_timestamp(),
        minutes in 0i64..300_000,
    ) {
        let work = mins(minutes);
        for tz in [BRUSSELS, NEW_YORK] {
            let cal = calendar(tz, EVERY_DAY, &["00:00-24:00"]);
            let end = cal.add_working(start, work);
            prop_assert_eq!(end, start.checked_add(work).unwrap());
            prop_assert_eq!(cal.working_between(start, end), work);
        }
    }
}
