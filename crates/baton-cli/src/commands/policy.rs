//! `baton policy check|explain|simulate`: the same build path as server start-up.

mod simulate;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use baton_core::NewHandoff;
use baton_core::policy::{Policy, PolicyError, Signal, Streaks};
use jiff::Timestamp;
use serde_json::json;

use crate::cli::PolicyCommand;

/// Reads the policy at `path` once and builds it, loading contract files
/// relative to it; answers the built policy with the text it was built from.
pub fn load(path: &Path) -> anyhow::Result<Result<(Policy, String), Vec<PolicyError>>> {
    Ok(load_with_files(path)?
        .map(|loaded| (std::sync::Arc::unwrap_or_clone(loaded.policy), loaded.text)))
}

/// Like [`load`], keeping the contract files the policy loaded (the
/// database keeps them with the version, so every instance can build it).
pub fn load_with_files(
    path: &Path,
) -> anyhow::Result<Result<baton_server::LoadedPolicy, Vec<PolicyError>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(baton_server::policy::build_recording(
        &text,
        &file_loader(path),
    ))
}

/// Reads the files a policy at `path` names, relative to its folder.
pub fn file_loader(path: &Path) -> impl Fn(&str) -> Result<String, String> + Sync + use<> {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    move |relative: &str| std::fs::read_to_string(dir.join(relative)).map_err(|e| e.to_string())
}

/// Prints every error as `file:line: rule: message`.
pub fn print_errors(path: &Path, errors: &[PolicyError]) {
    for e in errors {
        match e.line {
            Some(line) => eprintln!("{}:{line}: {}: {}", path.display(), e.rule, e.message),
            None => eprintln!("{}: {}: {}", path.display(), e.rule, e.message),
        }
    }
    eprintln!(
        "{} error{} in {}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        path.display()
    );
}

/// Prints every warning as `warning: file:line: rule: message`; a policy
/// with warnings still checks clean.
pub fn print_warnings(path: &Path, warnings: &[PolicyError]) {
    for w in warnings {
        match w.line {
            Some(line) => eprintln!(
                "warning: {}:{line}: {}: {}",
                path.display(),
                w.rule,
                w.message
            ),
            None => eprintln!("warning: {}: {}: {}", path.display(), w.rule, w.message),
        }
    }
}

pub fn run(command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Simulate {
            file,
            handoff,
            until,
            at,
            json,
        } => simulate::run(simulate::Args {
            file: &file,
            handoff: &handoff,
            until: &until,
            at: at.as_deref(),
            json,
        }),
        PolicyCommand::Check { file } => match load(&file)? {
            Ok((policy, _)) => {
                print_warnings(&file, policy.warnings());
                println!("ok: {} (version {})", file.display(), &policy.version[..12]);
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                print_errors(&file, &errors);
                Ok(ExitCode::FAILURE)
            }
        },
        PolicyCommand::Explain {
            file,
            handoff,
            signal,
            at,
            json,
        } => {
            let policy = match load(&file)? {
                Ok((p, _)) => p,
                Err(errors) => {
                    print_errors(&file, &errors);
                    return Ok(ExitCode::FAILURE);
                }
            };
            let now: Timestamp = match at {
                Some(t) => t.parse().with_context(|| {
                    format!("--at {t:?}: use RFC 3339, e.g. 2026-11-23T09:00:00Z")
                })?,
                None => Timestamp::now(),
            };
            let out = if let Some(path) = handoff {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let new: NewHandoff = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a handoff", path.display()))?;
                let payload = serde_json::Value::Object(new.context.payload.clone());
                let route = policy.route(
                    &new.workflow,
                    &new.impact,
                    &new.reason,
                    new.tier.as_str(),
                    &new.title,
                    &payload,
                );
                let deadlines = policy.deadlines(&new.impact, now);
                let reason_ok = policy.is_handoff_reason(&new.reason);
                json!({ "route": route, "tier": new.tier, "impact": new.impact, "reason": new.reason,
                        "reason_declared": reason_ok, "deadlines": deadlines, "policy_version": policy.version })
            } else if let Some(path) = signal {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let signal: Signal = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a signal", path.display()))?;
                let decision = policy.explain_signal(&signal, &Streaks::new());
                let route = decision.reason.as_ref().map(|reason| {
                    let impact = decision.impact.clone().unwrap_or_default();
                    let tier = decision.tier.map(|t| t.as_str()).unwrap_or("warm");
                    let workflow = policy
                        .workflow_names()
                        .first()
                        .map(|w| w.to_string())
                        .unwrap_or_default();
                    policy.route(
                        &workflow,
                        &impact,
                        reason,
                        tier,
                        "",
                        &serde_json::Value::Object(signal.payload.clone()),
                    )
                });
                let deadlines = decision
                    .impact
                    .as_ref()
                    .and_then(|i| policy.deadlines(i, now));
                json!({ "decision": decision, "route": route, "deadlines": deadlines, "policy_version": policy.version })
            } else {
                anyhow::bail!("give --handoff FILE or --signal FILE");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print_explanation(&out);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_explanation(out: &serde_json::Value) {
    if let Some(decision) = out.get("decision") {
        println!("decision: {}", decision["action"].as_str().unwrap_or("?"));
        for t in decision["trace"].as_array().into_iter().flatten() {
            let mark = if t["matched"].as_bool() == Some(true) {
                "✔"
            } else {
                "·"
            };
            println!(
                "  {mark} trigger {}: {}",
                t["id"].as_str().unwrap_or(""),
                t["detail"].as_str().unwrap_or("")
            );
        }
        for key in ["rule", "tier", "reason", "impact"] {
            if let Some(v) = decision[key].as_str() {
                println!("{key}: {v}");
            }
        }
    }
    if let Some(route) = out.get("route").filter(|r| !r.is_null()) {
        for t in route["trace"].as_array().into_iter().flatten() {
            let mark = if t["matched"].as_bool() == Some(true) {
                "✔"
            } else {
                "·"
            };
            println!(
                "  {mark} route {}: {}",
                t["id"].as_str().unwrap_or(""),
                t["detail"].as_str().unwrap_or("")
            );
        }
        println!(
            "owner group: {} (rule {})",
            route["group"].as_str().unwrap_or(""),
            route["rule"].as_str().unwrap_or("")
        );
    }
    if let Some(d) = out.get("deadlines").filter(|d| !d.is_null()) {
        println!("accept by:  {}", d["accept_by"].as_str().unwrap_or(""));
        println!("resolve by: {}", d["resolve_by"].as_str().unwrap_or(""));
    }
    if out.get("reason_declared").and_then(|v| v.as_bool()) == Some(false) {
        println!(
            "warning: reason {} is not declared; creation would be refused",
            out["reason"]
        );
    }
    println!(
        "policy version: {}",
        &out["policy_version"].as_str().unwrap_or("")
            [..12.min(out["policy_version"].as_str().unwrap_or("").len())]
    );
}
