//! Operator commands on the database: init, migrate, token, audit.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use baton_core::{ChainVerdict, Label, Role};
use baton_store::{Store, TokenRecord, verify_audit};
use comfy_table::Table;

use crate::cli::{AuditCommand, DbArgs, TokenCommand};
use crate::config::{Config, EXAMPLE};

/// Loads the config and opens (and migrates) its store.
pub async fn store_for(
    db: &DbArgs,
    listen: Option<String>,
) -> anyhow::Result<(Config, Arc<dyn Store>)> {
    let config = Config::load(db.config.as_deref(), db.database.clone(), listen)?;
    let store = crate::db::open(&config.database).await?;
    Ok((config, store))
}

/// Creates a token and returns its secret. Every token is made here: the
/// name follows [`baton_core::limits::check_token_name`].
pub async fn create_token(
    store: &dyn Store,
    name: &str,
    role: &str,
    groups: Vec<String>,
    workflows: Vec<String>,
) -> anyhow::Result<String> {
    let role = Role::parse(role)
        .with_context(|| format!("--role {role:?}: use agent, reviewer, lead or admin"))?;
    // The one rule for token names, shared with `serve`'s first `admin` token.
    baton_core::limits::check_token_name("--name", name)?;
    for group in &groups {
        Label::parse("--groups", group)?;
    }
    for workflow in &workflows {
        Label::parse("--workflows", workflow)?;
    }
    if role == Role::Reviewer && groups.is_empty() {
        bail!(
            "--groups: a reviewer token needs at least one owner group, e.g. --groups triage,billing"
        );
    }
    let (secret, hash) = baton_server::token::generate();
    store
        .insert_token(&TokenRecord {
            id: uuid::Uuid::now_v7(),
            name: name.to_owned(),
            role,
            groups,
            workflows,
            hash,
            created_at: baton_server::Clock::now(&baton_server::SystemClock),
            revoked_at: None,
        })
        .await
        .map_err(|e| match e {
            baton_store::StoreError::Duplicate(_) => {
                anyhow::anyhow!("a token named {name:?} exists; pick another --name")
            }
            other => other.into(),
        })?;
    Ok(secret)
}

pub fn init(path: &Path, force: bool) -> anyhow::Result<ExitCode> {
    if path.exists() && !force {
        bail!("{} exists; pass --force to overwrite it", path.display());
    }
    std::fs::write(path, EXAMPLE).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}

pub async fn migrate(db: DbArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = store_for(&db, None).await?;
    println!(
        "migrations applied to {}",
        crate::config::redact(&config.database)
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn token(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create {
            db,
            name,
            role,
            groups,
            workflows,
            quiet,
        } => {
            let (_, store) = store_for(&db, None).await?;
            let secret = create_token(store.as_ref(), &name, &role, groups, workflows).await?;
            if quiet {
                println!("{secret}");
            } else {
                println!(
                    "Created token {name:?} with role {role}. The secret is shown once:\n\n    {secret}\n"
                );
            }
        }
        TokenCommand::List { db, json } => {
            let (_, store) = store_for(&db, None).await?;
            let tokens = store.list_tokens().await?;
            if json {
                let rows: Vec<_> = tokens
                    .iter()
                    .map(|t| serde_json::json!({
                        "id": t.id, "name": t.name, "role": t.role.as_str(), "groups": t.groups,
                        "workflows": t.workflows, "created_at": t.created_at, "revoked_at": t.revoked_at,
                    }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let mut table = Table::new();
                table.set_header(["name", "role", "groups", "workflows", "created", "revoked"]);
                for t in tokens {
                    table.add_row([
                        t.name,
                        t.role.to_string(),
                        t.groups.join(","),
                        t.workflows.join(","),
                        t.created_at.to_string(),
                        t.revoked_at.map(|r| r.to_string()).unwrap_or_default(),
                    ]);
                }
                println!("{table}");
            }
        }
        TokenCommand::Revoke { db, name } => {
            let (_, store) = store_for(&db, None).await?;
            let now = baton_server::Clock::now(&baton_server::SystemClock);
            if !store.revoke_token(&name, now).await? {
                bail!("no active token named {name:?}; see `baton token list`");
            }
            println!("revoked {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify { db } = command;
    let (_, store) = store_for(&db, None).await?;
    match verify_audit(store.as_ref()).await? {
        ChainVerdict::Intact { events } => {
            println!("ok: {events} events, hash chain intact and ending at the stored chain head");
            Ok(ExitCode::SUCCESS)
        }
        ChainVerdict::Broken { position, problem } => {
            println!("broken: event {position}: {problem}");
            Ok(ExitCode::FAILURE)
        }
    }
}
