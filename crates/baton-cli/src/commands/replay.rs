//! `baton replay`: an event log driven through a running Baton on the log's
//! own timing (live), or run offline through one or two policies
//! (`--simulate`, `--compare`).

mod live;

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use baton_core::eventlog::{
    CaseImport, MappingConfig, Simulation, Timeline, import_case, simulate,
};
use baton_core::policy::Policy;
use comfy_table::Table;
use jiff::Timestamp;

use super::import::{load_mapping, load_policy};
use crate::cli::ReplayArgs;

/// `baton replay`.
pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let mapping = load_mapping(&args.mapping)?;
    if args.simulate {
        let Some(policy) = &args.policy else {
            bail!("--simulate needs --policy FILE: the policy to run the log through");
        };
        return simulate_log(
            &args.file,
            &mapping,
            policy,
            args.compare.as_deref(),
            args.json,
        );
    }
    if args.compare.is_some() || args.policy.is_some() {
        bail!("--policy and --compare go with --simulate; a live replay uses the server's policy");
    }
    live::run(&args, mapping).await
}

/// Reads every case of `file` through `mapping`, calling `each` with it.
pub fn read_cases(
    file: &Path,
    mapping: &MappingConfig,
    mut each: impl FnMut(CaseImport),
) -> anyhow::Result<u64> {
    let mut skipped = 0;
    let source = crate::eventlog::LogSource::File(file.to_path_buf());
    crate::eventlog::for_each_case(&source, mapping, Default::default(), |case| {
        match import_case(&case, mapping, |_| uuid::Uuid::nil(), "replay") {
            Ok(imported) => each(imported),
            Err(_) => skipped += 1,
        }
        Ok(())
    })?;
    Ok(skipped)
}

fn simulate_log(
    file: &Path,
    mapping: &MappingConfig,
    policy: &Path,
    compare: Option<&Path>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let first = load_policy(policy)?;
    let second = compare.map(load_policy).transpose()?;
    let mut timelines = Vec::new();
    let mut log_end = Timestamp::MIN;
    let skipped = read_cases(file, mapping, |case| {
        let t = Timeline::of(&case);
        log_end = log_end.max(t.last_at);
        timelines.push(t);
    })?;
    let runs: Vec<(String, Simulation)> = std::iter::once((policy.display().to_string(), &first))
        .chain(second.iter().map(|p| {
            (
                compare.map(|c| c.display().to_string()).unwrap_or_default(),
                p,
            )
        }))
        .map(|(name, p): (String, &Policy)| (name, simulate(&timelines, p, log_end)))
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    if json {
        let runs: Vec<serde_json::Value> = runs
            .iter()
            .map(|(name, sim)| serde_json::json!({ "policy": name, "simulation": sim, "total": sim.total() }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cases": timelines.len(), "skipped": skipped, "log_end": log_end, "seconds": seconds, "runs": runs,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Simulated {} cases (log ends {log_end}) in {seconds:.1} s{}",
        timelines.len(),
        if skipped > 0 {
            format!("; {skipped} unreadable cases skipped")
        } else {
            String::new()
        }
    );
    for (i, (name, sim)) in runs.iter().enumerate() {
        println!(
            "policy {}: {name} (version {})",
            i + 1,
            &sim.policy_version[..12]
        );
    }
    print_breaches(&runs);
    print_groups(&runs);
    print_escalations(&runs);
    Ok(ExitCode::SUCCESS)
}

fn print_breaches(runs: &[(String, Simulation)]) {
    let mut table = Table::new();
    let mut header = vec!["impact".to_owned(), "items".to_owned()];
    for i in 1..=runs.len() {
        for col in [
            "accept reminders",
            "accept breaches",
            "resolve reminders",
            "resolve breaches",
        ] {
            header.push(if runs.len() > 1 {
                format!("{col} (P{i})")
            } else {
                col.to_owned()
            });
        }
    }
    table.set_header(header);
    let mut impacts: Vec<&String> = runs[0].1.by_impact.keys().collect();
    impacts.sort_by_key(|k| std::cmp::Reverse(runs[0].1.by_impact[*k].items));
    let totals: Vec<_> = runs.iter().map(|(_, s)| s.total()).collect();
    let rows = impacts
        .into_iter()
        .map(|k| {
            (
                k.clone(),
                runs.iter()
                    .map(|(_, s)| s.by_impact[k].clone())
                    .collect::<Vec<_>>(),
            )
        })
        .chain(std::iter::once(("all".to_owned(), totals)));
    for (impact, outcomes) in rows {
        let mut row = vec![impact, outcomes[0].items.to_string()];
        for o in &outcomes {
            if o.without_sla == o.items && o.items > 0 {
                row.extend(["no SLA".to_owned(), "-".into(), "-".into(), "-".into()]);
                continue;
            }
            row.extend([
                o.accept_reminders.to_string(),
                o.accept_breaches.to_string(),
                o.resolve_reminders.to_string(),
                o.resolve_breaches.to_string(),
            ]);
        }
        table.add_row(row);
    }
    println!("\nDeadlines by customer impact\n{table}");
}

fn print_escalations(runs: &[(String, Simulation)]) {
    let mut levels: Vec<u32> = runs
        .iter()
        .flat_map(|(_, s)| s.escalated_items.keys().copied())
        .collect();
    levels.sort_unstable();
    levels.dedup();
    if levels.is_empty() {
        println!("\nNo escalation level would have fired.");
        return;
    }
    let mut table = Table::new();
    let mut header = vec!["escalation level".to_owned()];
    header.extend((1..=runs.len()).map(|i| {
        if runs.len() > 1 {
            format!("items (P{i})")
        } else {
            "items".into()
        }
    }));
    table.set_header(header);
    for level in levels {
        let mut row = vec![format!("level {level}")];
        row.extend(runs.iter().map(|(_, s)| {
            s.escalated_items
                .get(&level)
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        table.add_row(row);
    }
    let mut row = vec!["firings (repeats included)".to_owned()];
    row.extend(runs.iter().map(|(_, s)| s.escalation_firings.to_string()));
    table.add_row(row);
    println!("\nItems each escalation level would have reached\n{table}");
}

fn print_groups(runs: &[(String, Simulation)]) {
    let mut groups: Vec<&String> = runs.iter().flat_map(|(_, s)| s.by_group.keys()).collect();
    groups.sort();
    groups.dedup();
    let mut table = Table::new();
    let mut header = vec!["owner group".to_owned()];
    header.extend((1..=runs.len()).map(|i| {
        if runs.len() > 1 {
            format!("volume (P{i})")
        } else {
            "volume".into()
        }
    }));
    table.set_header(header);
    for g in groups {
        let mut row = vec![g.clone()];
        row.extend(
            runs.iter()
                .map(|(_, s)| s.by_group.get(g).copied().unwrap_or(0).to_string()),
        );
        table.add_row(row);
    }
    println!("\nVolume per owner group the policy routes to\n{table}");
}
