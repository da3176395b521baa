//! `baton log stats`: the facts of an event log, read through a mapping.

use std::process::ExitCode;

use anyhow::Context;
use baton_core::eventlog::{LogFacts, MappingConfig};

use crate::cli::LogCommand;

pub fn run(command: LogCommand) -> anyhow::Result<ExitCode> {
    let LogCommand::Stats {
        file,
        mapping,
        json,
    } = command;
    let text = std::fs::read_to_string(&mapping)
        .with_context(|| format!("cannot read {}", mapping.display()))?;
    let mapping =
        MappingConfig::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", mapping.display()))?;
    let mut facts = LogFacts::default();
    crate::eventlog::for_each_case(
        &crate::eventlog::LogSource::File(file),
        &mapping,
        Default::default(),
        |case| {
            facts.add(&case, &mapping);
            Ok(())
        },
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&facts)?);
    } else {
        println!("cases:               {}", facts.cases);
        println!("events:              {}", facts.events);
        println!("through 2+ teams:    {}", facts.multi_team);
        println!("ping-pong (A→B→A):   {}", facts.ping_pong);
        println!("line 1 ⇄ lines 2/3:  {}", facts.line_moves);
        println!("open at the end:     {}", facts.open);
        println!("unmapped statuses:   {}", facts.unknown_statuses);
        for (impact, n) in &facts.by_impact {
            println!("impact {impact:<12} {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
