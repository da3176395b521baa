//! `baton report`: the summary and weekly reports, read straight from the
//! database, as a table, JSON or CSV.

use std::process::ExitCode;

use anyhow::Context;
use baton_core::policy::Policy;
use baton_core::report::{Durations, GroupBy, Summary, SummaryRow, Weekly, summarize, weekly};
use baton_server::reports::{load_histories, parse_bound, working_time};
use comfy_table::Table;

use crate::cli::{ReportCommand, ReportFormat};

/// `baton report`.
pub async fn run(command: ReportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::Summary {
            db,
            policy,
            from,
            to,
            by,
            output,
        } => {
            let by = GroupBy::parse(&by).with_context(|| {
                let all: Vec<&str> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
                format!("--by {by:?}: use one of {}", all.join(", "))
            })?;
            let from = from
                .map(|t| parse_bound("--from", &t))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let to = to
                .map(|t| parse_bound("--to", &t))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let policy = std::sync::Arc::new(policy_or_default(policy.as_deref())?);
            let (_, store) = super::admin::store_for(&db, None).await?;
            // Attainment by the live clocks under this policy (docs/sla-clocks.md).
            let histories = load_histories(store.as_ref(), Some(policy.clone())).await?;
            let working = working_time(&policy);
            let now = jiff::Timestamp::now();
            let summary = summarize(
                histories.items.iter().map(|(_, h)| h),
                from,
                to,
                by,
                now,
                &working,
            );
            match output.format() {
                ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
                ReportFormat::Csv => print!("{}", summary_csv(&summary)?),
                ReportFormat::Table => print_summary(&summary),
            }
        }
        ReportCommand::Weekly { db, to, output } => {
            let to = match to {
                Some(t) => parse_bound("--to", &t).map_err(anyhow::Error::msg)?,
                None => jiff::Timestamp::now(),
            };
            let (_, store) = super::admin::store_for(&db, None).await?;
            let histories = load_histories(store.as_ref(), None).await?;
            let report = weekly(&histories.items, to);
            match output.format() {
                ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                ReportFormat::Csv => print!("{}", weekly_csv(&report)?),
                ReportFormat::Table => print_weekly(&report),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn policy_or_default(path: Option<&std::path::Path>) -> anyhow::Result<Policy> {
    match path {
        Some(path) => super::import::load_policy(path),
        None => Ok(Policy::default_policy()),
    }
}

/// `1d 4h`, `3h 12m`, `45m`, `30s`; `-` for none.
pub fn human(seconds: Option<f64>) -> String {
    let Some(s) = seconds else { return "-".into() };
    let s = s.round() as i64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn print_summary(s: &Summary) {
    let window = match (s.from, s.to) {
        (None, None) => "all time".to_owned(),
        (f, t) => format!(
            "{} to {}",
            f.map_or("the start".into(), |f| f.to_string()),
            t.map_or("now".into(), |t| t.to_string())
        ),
    };
    println!("Summary by {}, handoffs created {window}", s.by.as_str());
    let mut table = Table::new();
    table.set_header([
        s.by.as_str(),
        "volume",
        "open",
        "MTTA",
        "TTA p50",
        "TTA p90",
        "MTTR",
        "TTR p50",
        "TTR p90",
        "TTR p50 working",
        "SLA accept",
        "SLA resolve",
        "rework",
        "waits",
        "ping-pong",
        "multi-team",
        "line 1⇄2/3",
        "reassign/item",
        "false pos.",
        "busiest reviewer",
    ]);
    for r in std::iter::once(&s.total).chain(&s.rows) {
        let (a, z) = (&r.time_to_accept, &r.time_to_resolve);
        table.add_row([
            r.key.clone(),
            r.volume.to_string(),
            r.open.to_string(),
            human(a.wall.mean_s),
            human(a.wall.p50_s),
            human(a.wall.p90_s),
            human(z.wall.mean_s),
            human(z.wall.p50_s),
            human(z.wall.p90_s),
            human(z.working.p50_s),
            pct(r.sla_accept.rate),
            pct(r.sla_resolve.rate),
            pct(r.rework_rate),
            r.waiting_cycles.to_string(),
            r.ping_pong.to_string(),
            r.multi_team.to_string(),
            r.line_moves.to_string(),
            r.reassignments_per_item
                .map_or("-".into(), |v| format!("{v:.2}")),
            pct(r.false_positive_rate),
            match (&r.busiest_reviewer, r.busiest_reviewer_share) {
                (Some(who), Some(share)) => format!("{who} ({})", pct(Some(share))),
                _ => "-".into(),
            },
        ]);
    }
    println!("{table}");
}

fn durations(prefix: &str, d: &Durations) -> Vec<(String, String)> {
    let f = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.0}"));
    vec![
        (format!("{prefix}_mean_s"), f(d.mean_s)),
        (format!("{prefix}_p50_s"), f(d.p50_s)),
        (format!("{prefix}_p90_s"), f(d.p90_s)),
    ]
}

fn row_fields(r: &SummaryRow) -> Vec<(String, String)> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    let mut fields = vec![
        ("key".to_owned(), r.key.clone()),
        ("volume".into(), r.volume.to_string()),
        ("open".into(), r.open.to_string()),
        ("resolved".into(), r.resolved.to_string()),
    ];
    fields.extend(durations("tta_wall", &r.time_to_accept.wall));
    fields.extend(durations("tta_working", &r.time_to_accept.working));
    fields.extend(durations("ttr_wall", &r.time_to_resolve.wall));
    fields.extend(durations("ttr_working", &r.time_to_resolve.working));
    fields.extend([
        ("sla_accept_due".into(), r.sla_accept.due.to_string()),
        ("sla_accept_met".into(), r.sla_accept.met.to_string()),
        ("sla_resolve_due".into(), r.sla_resolve.due.to_string()),
        ("sla_resolve_met".into(), r.sla_resolve.met.to_string()),
        ("rework".into(), r.rework.to_string()),
        ("waiting_cycles".into(), r.waiting_cycles.to_string()),
        ("ping_pong".into(), r.ping_pong.to_string()),
        ("multi_team".into(), r.multi_team.to_string()),
        ("line_moves".into(), r.line_moves.to_string()),
        ("reassignments".into(), r.reassignments.to_string()),
        ("false_positives".into(), r.false_positives.to_string()),
        (
            "busiest_reviewer".into(),
            r.busiest_reviewer.clone().unwrap_or_default(),
        ),
        (
            "busiest_reviewer_share".into(),
            opt(r.busiest_reviewer_share),
        ),
    ]);
    fields
}

fn summary_csv(s: &Summary) -> anyhow::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = row_fields(&s.total).into_iter().map(|(k, _)| k).collect();
    out.write_record(&header)?;
    for r in std::iter::once(&s.total).chain(&s.rows) {
        out.write_record(row_fields(r).into_iter().map(|(_, v)| v))?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

fn print_weekly(w: &Weekly) {
    println!("Week {} to {}", w.from, w.to);
    println!("\nTop handoff reasons (vs the week before)");
    let mut reasons = Table::new();
    reasons.set_header(["reason", "this week", "week before", "change"]);
    for r in &w.top_reasons {
        let change = match r.change_rate {
            Some(rate) => format!("{:+} ({:+.0}%)", r.change, rate * 100.0),
            None => format!("{:+} (new)", r.change),
        };
        reasons.add_row([
            r.reason.clone(),
            r.this_week.to_string(),
            r.previous_week.to_string(),
            change,
        ]);
    }
    println!("{reasons}");
    for (title, n, items) in [
        ("Oldest open items", w.open, &w.oldest_open),
        (
            "Ownerless items (pending, nobody holds them)",
            w.ownerless,
            &w.oldest_ownerless,
        ),
    ] {
        println!("\n{title}: {n}");
        let mut table = Table::new();
        table.set_header(["age", "impact", "owner group", "state", "title", "id"]);
        for i in items {
            table.add_row([
                human(Some(i.age_s as f64)),
                i.impact.clone(),
                i.owner_group.clone(),
                i.state.clone(),
                i.title.clone(),
                i.id.to_string(),
            ]);
        }
        println!("{table}");
    }
    println!("\nReviewer load");
    let mut load = Table::new();
    load.set_header(["reviewer", "resolved this week", "holding now"]);
    for r in &w.reviewer_load {
        load.add_row([
            r.reviewer.clone(),
            r.resolved_this_week.to_string(),
            r.holding.to_string(),
        ]);
    }
    println!("{load}");
}

fn weekly_csv(w: &Weekly) -> anyhow::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["section", "key", "value", "previous", "detail"])?;
    for r in &w.top_reasons {
        out.write_record([
            "top_reason",
            &r.reason,
            &r.this_week.to_string(),
            &r.previous_week.to_string(),
            "",
        ])?;
    }
    for (section, items) in [
        ("oldest_open", &w.oldest_open),
        ("ownerless", &w.oldest_ownerless),
    ] {
        for i in items {
            out.write_record([
                section,
                &i.id.to_string(),
                &i.age_s.to_string(),
                "",
                &i.owner_group,
            ])?;
        }
    }
    for r in &w.reviewer_load {
        out.write_record([
            "reviewer_load",
            &r.reviewer,
            &r.resolved_this_week.to_string(),
            "",
            &r.holding.to_string(),
        ])?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn durations_read_like_people_say_them() {
        for (s, want) in [
            (None, "-"),
            (Some(42.0), "42s"),
            (Some(600.0), "10m"),
            (Some(11_520.0), "3h 12m"),
            (Some(100_800.0), "1d 4h"),
        ] {
            assert_eq!(human(s), want);
        }
    }
}
