//! Helpers shared by the CLI's integration tests: run `baton`, start `baton serve`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BATON: &str = env!("CARGO_BIN_EXE_baton");
pub fn baton(db: &Path) -> Command {
    let mut cmd = Command::new(BATON);
    cmd.env("BATON_DATABASE", db)
        .env_remove("BATON_CONFIG")
        .env("BATON_LOG", "warn");
    cmd
}

/// Creates a token named `name` with `role` in `db` (before the server
/// starts) and returns its secret.
pub async fn create_token(db: &Path, name: &str, role: &str) -> String {
    let out = baton(db)
        .args(["token", "create", "--name", name, "--role", role, "--quiet"])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Starts `baton serve` on a free port and returns it with its base URL.
pub async fn serve(db: &Path) -> (Child, String) {
    let mut child = baton(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn baton serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("Baton listening on ") {
                return rest.split_whitespace().next().expect("url").to_owned();
            }
        }
        panic!("baton serve exited before listening");
    })
    .await
    .expect("baton serve did not start within 30 s");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}
