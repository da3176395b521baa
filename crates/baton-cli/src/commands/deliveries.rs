//! `baton deliveries`: the notification outbox on the database: list
//! deliveries (the dead-letter list is `--state dead`) and redeliver one.

use std::process::ExitCode;

use anyhow::{Context, bail};
use baton_store::DeliveryState;
use comfy_table::Table;

use crate::cli::DeliveriesCommand;
use crate::commands::admin::store_for;

pub async fn run(command: DeliveriesCommand) -> anyhow::Result<ExitCode> {
    match command {
        DeliveriesCommand::List {
            db,
            state,
            limit,
            json,
        } => {
            let wanted = match state.as_deref() {
                None => None,
                Some(name) => Some(DeliveryState::parse(name).with_context(|| {
                    format!("--state {name:?}: use pending, delivered or dead")
                })?),
            };
            if !(1..=10_000).contains(&limit) {
                bail!("--limit {limit}: use 1 to 10000");
            }
            let (_, store) = store_for(&db, None).await?;
            let items = store.list_deliveries(wanted, limit).await?;
            if json {
                let rows: Vec<_> = items
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "id": d.id, "channel": d.channel, "handoff_id": d.handoff_id,
                            "event": d.event, "role": d.role, "state": d.state.as_str(),
                            "attempts": d.attempts, "next_at": d.next_at, "last_error": d.last_error,
                            "created_at": d.created_at, "updated_at": d.updated_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if items.is_empty() {
                println!("no deliveries");
            } else {
                let mut table = Table::new();
                table.set_header([
                    "id",
                    "channel",
                    "event",
                    "state",
                    "attempts",
                    "next",
                    "last error",
                ]);
                for d in items {
                    table.add_row([
                        d.id.to_string(),
                        d.channel,
                        d.event,
                        d.state.as_str().to_owned(),
                        d.attempts.to_string(),
                        d.next_at.to_string(),
                        d.last_error.unwrap_or_default(),
                    ]);
                }
                println!("{table}");
            }
        }
        DeliveriesCommand::Redeliver { db, id } => {
            let uuid = uuid::Uuid::parse_str(&id).with_context(|| {
                format!("{id:?} is not a delivery id; see `baton deliveries list`")
            })?;
            let (_, store) = store_for(&db, None).await?;
            let Some(delivery) = store.get_delivery(uuid).await? else {
                bail!("no delivery with id {id}; see `baton deliveries list`");
            };
            if store.enable_channel(&delivery.channel).await? {
                println!("enabled channel {}", delivery.channel);
            }
            let now = baton_server::Clock::now(&baton_server::SystemClock);
            if !store.redeliver(uuid, now).await? {
                bail!("delivery {id} is still pending: it will be attempted on its schedule");
            }
            println!("queued {id} on channel {} again", delivery.channel);
        }
    }
    Ok(ExitCode::SUCCESS)
}
