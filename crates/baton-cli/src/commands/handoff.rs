//! `baton handoff create|list|show|claim|resolve` against a running server.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use comfy_table::Table;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{ClientArgs, HandoffCommand};
use crate::client::ApiClient;

pub async fn run(args: ClientArgs, command: HandoffCommand) -> anyhow::Result<ExitCode> {
    let client = ApiClient::new(&args.url, args.token.as_deref(), args.ca_cert.as_deref())?;
    let out = match command {
        HandoffCommand::Create {
            file,
            idempotency_key,
        } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            let body: Value =
                serde_json::from_str(&text).context("the handoff file is not valid JSON")?;
            let (_, v) = client
                .call_with(
                    Method::POST,
                    "/v1/handoffs",
                    Some(&body),
                    idempotency_key.as_deref(),
                )
                .await?;
            Output::Handoffs(vec![v])
        }
        HandoffCommand::List {
            state,
            owner_group,
            impact,
            sort,
            limit,
        } => {
            let mut query = vec![format!("limit={limit}")];
            for (k, v) in [
                ("state", state),
                ("owner_group", owner_group),
                ("impact", impact),
                ("sort", sort),
            ] {
                if let Some(v) = v {
                    query.push(format!("{k}={v}"));
                }
            }
            let v = client
                .call(
                    Method::GET,
                    &format!("/v1/handoffs?{}", query.join("&")),
                    None,
                )
                .await?;
            if args.json {
                Output::Raw(v)
            } else {
                Output::Handoffs(v["items"].as_array().cloned().unwrap_or_default())
            }
        }
        HandoffCommand::Show { id } => {
            let v = client
                .call(Method::GET, &format!("/v1/handoffs/{id}"), None)
                .await?;
            Output::Raw(v)
        }
        HandoffCommand::Claim { id } => {
            let v = client
                .call(
                    Method::POST,
                    &format!("/v1/handoffs/{id}/claim"),
                    Some(&json!({})),
                )
                .await?;
            if args.json {
                Output::Raw(v)
            } else {
                println!(
                    "claimed {id}; claim token: {}",
                    v["claim_token"].as_str().unwrap_or("")
                );
                return Ok(ExitCode::SUCCESS);
            }
        }
        HandoffCommand::Resolve {
            id,
            claim_token,
            resolution,
            reason,
            changes,
            customer_note,
            internal_note,
        } => {
            let changes: Option<Value> = changes
                .map(|c| serde_json::from_str(&c).context("--changes must be JSON"))
                .transpose()?;
            let body = json!({
                "claim_token": claim_token, "resolution": resolution, "resolution_reason": reason,
                "changes": changes, "customer_note": customer_note, "internal_note": internal_note,
            });
            let v = client
                .call(
                    Method::POST,
                    &format!("/v1/handoffs/{id}/resolve"),
                    Some(&body),
                )
                .await?;
            Output::Raw(v["handoff"]["receipt"].clone())
        }
    };
    match out {
        Output::Raw(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Output::Handoffs(items) if args.json => {
            println!("{}", serde_json::to_string_pretty(&items)?)
        }
        Output::Handoffs(items) => {
            let mut table = Table::new();
            table.set_header([
                "id",
                "state",
                "impact",
                "reason",
                "owner group",
                "assignee",
                "age",
                "title",
            ]);
            for h in items {
                let s = |k: &str| h[k].as_str().unwrap_or("").to_owned();
                table.add_row([
                    s("id"),
                    s("state"),
                    s("impact"),
                    s("reason"),
                    s("owner_group"),
                    s("assignee"),
                    format_age(h["queue_age_seconds"].as_i64().unwrap_or(0)),
                    s("title"),
                ]);
            }
            println!("{table}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

enum Output {
    Raw(Value),
    Handoffs(Vec<Value>),
}

/// `90` → `1m30s`, `7200` → `2h0m`, `200000` → `2d7h`.
fn format_age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_read_well() {
        assert_eq!(super::format_age(5), "5s");
        assert_eq!(super::format_age(90), "1m30s");
        assert_eq!(super::format_age(7200), "2h0m");
        assert_eq!(super::format_age(200_000), "2d7h");
    }
}
