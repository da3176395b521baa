//! A live replay: each case of the log becomes a handoff on a running
//! server, driven through the public API (create, claim, wait, reassign,
//! escalate, resolve, close, reopen) at the log's own timing compressed by
//! `--speed`, every case on its own task so many are in flight at once.
//!
//! The log's teams become the policy's owner groups through the mapping's
//! `[line] groups`; a team change inside one line stays a reassignment
//! (reason `team_change`) to the same group, so the lifecycle path is the
//! log's. Claims are made by the replay's token.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use baton_core::Action;
use baton_core::eventlog::{CaseImport, MappingConfig, label_of};
use jiff::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::cli::ReplayArgs;
use crate::client::ApiClient;

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    errors: AtomicU64,
    cases_done: AtomicU64,
    skipped_actions: AtomicU64,
}

pub async fn run(args: &ReplayArgs, mapping: MappingConfig) -> anyhow::Result<ExitCode> {
    if !(args.speed > 0.0 && args.speed.is_finite()) {
        bail!("--speed must be a positive number (3600 plays one hour of the log per second)");
    }
    let bound = |name: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| baton_server::reports::parse_bound(name, t))
            .transpose()
            .map_err(anyhow::Error::msg)
    };
    let from = bound("--from", &args.from)?;
    let until = bound("--until", &args.until)?;
    let mut cases: Vec<CaseImport> = Vec::new();
    super::read_cases(&args.file, &mapping, |case| {
        let t = case.created.created_at;
        if from.is_none_or(|f| t >= f) && until.is_none_or(|u| t < u) {
            cases.push(case);
        }
    })?;
    cases.sort_by_key(|c| c.created.created_at);
    if let Some(limit) = args.limit {
        cases.truncate(limit);
    }
    let Some(first) = cases.first() else {
        bail!("no case of the log was created in the --from/--until window");
    };
    let start = from.unwrap_or(first.created.created_at);
    let end = until.unwrap_or_else(|| {
        cases
            .iter()
            .filter_map(|c| c.actions.last().map(|a| a.at))
            .max()
            .unwrap_or(start)
    });
    let planned: usize = cases.iter().map(|c| 1 + c.actions.len()).sum();
    let log_span = end.duration_since(start);
    eprintln!(
        "replaying {} cases ({planned} requests planned) from {start} to {end}: {:.0} s at {}x",
        cases.len(),
        log_span.as_secs_f64() / args.speed,
        args.speed
    );
    let client = Arc::new(ApiClient::new(
        &args.target,
        args.token.as_deref(),
        args.ca_cert.as_deref(),
    )?);
    client
        .call(Method::GET, "/v1/policy", None)
        .await
        .context("the server did not accept the token (a replay needs an admin token)")?;
    let counters = Arc::new(Counters::default());
    let mapping = Arc::new(mapping);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let t0 = Instant::now();
    let speed = args.speed;
    let at = move |t: Timestamp| {
        let secs = t.duration_since(start).as_secs_f64().max(0.0) / speed;
        t0 + Duration::from_secs_f64(secs)
    };
    let mut tasks = tokio::task::JoinSet::new();
    let total = cases.len() as u64;
    for case in cases {
        let (client, counters, mapping, run_id) = (
            client.clone(),
            counters.clone(),
            mapping.clone(),
            run_id.clone(),
        );
        tasks.spawn(async move {
            let key = format!("replay-{run_id}:{}", case.case_id);
            if let Err(e) = replay_case(&client, &mapping, &case, &key, until, &at, &counters).await
            {
                let n = counters.errors.fetch_add(1, Ordering::Relaxed);
                if n < 10 {
                    eprintln!("error: case {}: {e:#}", case.case_id);
                }
            }
            counters.cases_done.fetch_add(1, Ordering::Relaxed);
        });
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last = 0;
    loop {
        tokio::select! {
            done = tasks.join_next() => {
                match done {
                    Some(result) => result.context("a replay task failed")?,
                    None => break,
                }
            }
            _ = tick.tick() => {
                let requests = counters.requests.load(Ordering::Relaxed);
                let elapsed = t0.elapsed().as_secs_f64();
                let log_now = start + jiff::SignedDuration::from_secs_f64(elapsed * speed);
                eprintln!(
                    "{:>6.0} s  log {}  cases {}/{}  requests {} ({} req/s now)  errors {}",
                    elapsed,
                    log_now.strftime("%Y-%m-%d %H:%M"),
                    counters.cases_done.load(Ordering::Relaxed),
                    total,
                    requests,
                    requests - last,
                    counters.errors.load(Ordering::Relaxed),
                );
                last = requests;
            }
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let requests = counters.requests.load(Ordering::Relaxed);
    let errors = counters.errors.load(Ordering::Relaxed);
    println!(
        "replayed {total} cases: {requests} requests in {elapsed:.1} s ({:.1} req/s), {errors} errors, {} actions past --until skipped",
        requests as f64 / elapsed.max(1e-9),
        counters.skipped_actions.load(Ordering::Relaxed),
    );
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The policy's owner group for a log team on `line`.
fn group_for(mapping: &MappingConfig, line: u8, team: &str) -> String {
    mapping
        .group_of_line(line)
        .map_or_else(|| label_of(team), str::to_owned)
}

async fn replay_case(
    client: &ApiClient,
    mapping: &MappingConfig,
    case: &CaseImport,
    key: &str,
    until: Option<Timestamp>,
    at: &(impl Fn(Timestamp) -> Instant + Sync),
    counters: &Counters,
) -> anyhow::Result<()> {
    let h = &case.created;
    tokio::time::sleep_until(at(h.created_at)).await;
    let line = h
        .context
        .payload
        .get("support_line")
        .and_then(Value::as_u64)
        .unwrap_or(1) as u8;
    let group = group_for(mapping, line, h.owner_group.as_str());
    let body = json!({
        "workflow": h.workflow, "subject": {"source": h.subject.source, "ref": h.subject.reference},
        "title": h.title, "impact": h.impact, "reason": h.reason, "owner_group": group,
        "context": {"summary": h.context.summary, "payload": h.context.payload},
    });
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let (_, created) = client
        .call_with(Method::POST, "/v1/handoffs", Some(&body), Some(key))
        .await
        .context("create")?;
    let id = created["id"]
        .as_str()
        .context("the create answer has no id")?
        .to_owned();
    let mut claim_token: Option<String> = None;
    for planned in &case.actions {
        if until.is_some_and(|u| planned.at >= u) {
            counters.skipped_actions.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let (name, body) = match &planned.action {
            Action::Claim { .. } => ("claim", json!({})),
            Action::Release => ("release", json!({ "claim_token": claim_token })),
            Action::RequestInfo { question } => (
                "request-info",
                json!({ "claim_token": claim_token, "question": question }),
            ),
            Action::ProvideInfo { info } => ("provide-info", json!({ "info": info })),
            Action::Reassign {
                owner_group,
                reason,
            } => {
                let to = group_for(mapping, planned.lines.map_or(1, |l| l.1), owner_group);
                ("reassign", json!({ "owner_group": to, "reason": reason }))
            }
            Action::Escalate {
                owner_group,
                reason,
            } => {
                let team = owner_group.as_deref().unwrap_or_default();
                let to = group_for(mapping, planned.lines.map_or(1, |l| l.1), team);
                ("escalate", json!({ "owner_group": to, "reason": reason }))
            }
            Action::Resolve(receipt) => {
                let mut body = serde_json::to_value(receipt)?;
                body["claim_token"] = json!(claim_token);
                ("resolve", body)
            }
            Action::Close => ("close", json!({})),
            Action::Reopen { reason } => ("reopen", json!({ "reason": reason })),
            _ => continue,
        };
        tokio::time::sleep_until(at(planned.at)).await;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let path = format!("/v1/handoffs/{id}/{name}");
        let answer = client
            .call(Method::POST, &path, Some(&body))
            .await
            .with_context(|| format!("{name} (source event {})", planned.source_event + 1))?;
        match name {
            "claim" => claim_token = answer["claim_token"].as_str().map(str::to_owned),
            "release" | "reassign" | "escalate" | "reopen" => claim_token = None,
            _ => {}
        }
    }
    Ok(())
}
