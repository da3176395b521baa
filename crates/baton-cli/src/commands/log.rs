//! `baton log stats`: the facts of an event log, read through a mapping.

use std::process::ExitCode;

use baton_core::eventlog::LogFacts;

use crate::cli::LogCommand;

pub fn run(command: LogCommand) -> anyhow::Result<ExitCode> {
    let LogCommand::Stats {
        file,
        mapping,
        json,
    } = command;
    let mapping = super::import::load_mapping(&mapping)?;
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
