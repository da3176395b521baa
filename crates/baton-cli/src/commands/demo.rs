//! `baton serve --demo`: the BPI Challenge 2013 incident log of Volvo IT
//! (built into the binary, attribution in NOTICE) imported into a demo
//! database under the it-incidents example policy.

use std::net::SocketAddr;
use std::sync::Arc;

use baton_core::policy::Policy;
use baton_server::PolicyHandle;
use baton_store::Store;

use super::import::{ImportOptions, import};
use crate::eventlog::LogSource;

/// The demo's database when none is named.
pub const DATABASE: &str = "baton-demo.db";

const LOG: &[u8] = include_bytes!("../../../../data/bpic2013_incidents.xes.gz");
const MAPPING: &str = include_str!("../../../../examples/mappings/bpic2013-incidents.toml");
const POLICY: &str = include_str!("../../../../examples/policies/it-incidents.toml");

/// The it-incidents example policy.
pub fn policy() -> anyhow::Result<PolicyHandle> {
    let built = Policy::build(POLICY, &|name: &str| {
        Err(format!("the demo policy loads no files ({name})"))
    })
    .map_err(|errors| anyhow::anyhow!("the built-in demo policy does not build: {errors:?}"))?;
    Ok(PolicyHandle::new(built, POLICY.to_owned()))
}

/// Imports the incident log (a no-op when it is already there).
pub async fn import_log(store: Arc<dyn Store>, policy: &Policy) -> anyhow::Result<()> {
    let options = ImportOptions {
        log: LogSource::Embedded {
            name: "bpic2013_incidents.xes.gz",
            bytes: LOG,
        },
        mapping: ("bpic2013-incidents.toml (built in)".into(), MAPPING.into()),
        policy: None,
        policy_built: Some(policy.clone()),
        strict: false,
        anomalies: None,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let summary = import(store, &options).await?;
    println!(
        "Demo: the BPI Challenge 2013 incident log of Volvo IT, {} incidents ({} imported now, {} already there) in {:.1} s",
        summary.cases, summary.imported, summary.already_imported, summary.seconds
    );
    Ok(())
}

/// Prints where to look.
pub fn print_guide(address: SocketAddr, database: &str) {
    let url = format!("http://{address}");
    println!(
        "\nWhere to look (send the admin token as `Authorization: Bearer TOKEN`):\n  \
         {url}/v1/views/oldest          the oldest open incidents\n  \
         {url}/v1/views/aging           open items by impact and age\n  \
         {url}/v1/reports/summary?by=line   MTTA, MTTR, SLA, ping-pong per support line\n  \
         {url}/v1/reports/weekly?to=2012-05-23   the log's last week\n\
         From the shell:\n  \
         baton report summary --database {database} --by impact --policy examples/policies/it-incidents.toml\n  \
         baton report weekly --database {database} --to 2012-05-23\n\
         Lost the token? baton token create --database {database} --name me --role lead\n"
    );
}
