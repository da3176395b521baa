//! `baton bench create`: many clients creating handoffs as fast as the server
//! acknowledges them; prints throughput and latency percentiles. `bench
//! policy` times decisions, `bench timers` ([`timers`]) the scheduler.

mod timers;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::json;

use crate::cli::BenchCommand;
use crate::client::ApiClient;

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let (target, token, ca_cert, clients, duration) = match command {
        BenchCommand::Policy { rules, decisions } => return bench_policy(rules, decisions),
        BenchCommand::Timers(args) => return timers::run(args).await,
        BenchCommand::Create {
            target,
            token,
            ca_cert,
            clients,
            duration,
        } => (target, token, ca_cert, clients, duration),
    };
    let duration: SignedDuration = duration
        .parse()
        .with_context(|| format!("--duration {duration:?}: use a duration such as 30s or 2m"))?;
    let duration = Duration::try_from(duration).context("--duration must be positive")?;
    anyhow::ensure!(clients > 0, "--clients must be at least 1");
    let client = Arc::new(ApiClient::new(&target, Some(&token), ca_cert.as_deref())?);
    client
        .call(Method::GET, "/v1/handoffs?limit=1", None)
        .await
        .context("cannot use the target")?;
    eprintln!("bench: {clients} clients creating handoffs on {target} for {duration:?}");
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut i = 0u64;
                while Instant::now() < deadline {
                    let body = json!({
                        "workflow": "default", "title": "bench handoff", "impact": "normal",
                        "reason": "low_confidence",
                        "subject": {"source": "bench", "ref": format!("{c}-{i}")},
                        "context": {"summary": "load test", "payload": {"client": c, "n": i}},
                    });
                    let t = Instant::now();
                    match client.call(Method::POST, "/v1/handoffs", Some(&body)).await {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                    i += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let progress = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        loop {
            tick.tick().await;
            eprintln!("bench: {:.0}s elapsed", start.elapsed().as_secs_f64());
        }
    });
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    progress.abort();
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!("requests ok:   {}", latencies.len());
    println!("errors:        {errors}");
    println!(
        "throughput:    {:.0} creates/s",
        latencies.len() as f64 / elapsed
    );
    println!("latency p50:   {:.2} ms", pct(0.50));
    println!("latency p99:   {:.2} ms", pct(0.99));
    println!("latency max:   {:.2} ms", pct(1.0));
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A policy with `rules` triggers of the usual shapes (thresholds, intents,
/// keywords, payload checks), none of which fires on the benchmark signal,
/// so every decision evaluates every rule: the worst case.
fn generated_policy(rules: usize) -> String {
    let mut text = String::from(
        "[reasons.handoff]\nlow_confidence = \"x\"\n[[impact]]\nname = \"normal\"\nrank = 1\naccept_within = \"1h\"\nresolve_within = \"8h\"\n[[group]]\nname = \"g\"\n[[route]]\nid = \"default\"\ngroup = \"g\"\n",
    );
    for i in 0..rules {
        let rule = match i % 4 {
            0 => format!("when = \"confidence < 0.{}\"", 1 + i % 5),
            1 => format!("when = \"intent == 'intent_{i}'\""),
            2 => format!("keywords = [\"phrase number {i}\", \"other {i}\"]"),
            _ => format!(
                "when = \"has(payload.amount) && payload.amount > {}\"",
                10_000 + i
            ),
        };
        text.push_str(&format!(
            "[[trigger]]\nid = \"t{i}\"\n{rule}\nreason = \"low_confidence\"\nimpact = \"normal\"\n"
        ));
    }
    text
}

fn bench_policy(rules: usize, decisions: usize) -> anyhow::Result<ExitCode> {
    use baton_core::policy::{Policy, Signal, Streaks};
    let text = generated_policy(rules);
    let policy = Policy::build(&text, &|_: &str| Err("no files".into()))
        .map_err(|e| anyhow::anyhow!("generated policy does not build: {e:?}"))?;
    let signal: Signal = serde_json::from_value(json!({
        "conversation_id": "bench", "turn": 3, "confidence": 0.93, "intent": "balance",
        "text": "what is the balance of my savings account", "sentiment": 0.1,
        "payload": {"amount": 120.5, "currency": "EUR"},
    }))?;
    let streaks = Streaks::new();
    let start = Instant::now();
    let mut handoffs = 0usize;
    for _ in 0..decisions {
        let d = policy.evaluate(&signal, &streaks);
        handoffs += usize::from(d.rule.is_some());
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("rules:        {rules}");
    println!("decisions:    {decisions} ({handoffs} fired)");
    println!(
        "throughput:   {:.0} decisions/s on one core",
        decisions as f64 / elapsed
    );
    println!("per decision: {:.2} µs", elapsed * 1e6 / decisions as f64);
    Ok(ExitCode::SUCCESS)
}
