//! The operator and client commands, run as a user would run them.

mod common;

use common::{baton, serve};
use serde_json::{Value, json};

async fn run(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = baton(db).args(args).output().await.expect("run baton");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn init_writes_a_config_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.toml");
    let p = path.to_str().unwrap();
    let db = dir.path().join("x.db");
    let (ok, _, _) = run(&db, &["init", "--path", p]).await;
    assert!(ok);
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("database = \"./baton.db\"")
    );
    let (ok, _, err) = run(&db, &["init", "--path", p]).await;
    assert!(!ok);
    assert!(err.contains("--force"), "{err}");
}

#[tokio::test]
async fn tokens_are_created_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let (ok, secret, _) = run(
        &db,
        &[
            "token",
            "create",
            "--name",
            "amy",
            "--role",
            "reviewer",
            "--groups",
            "triage,billing",
            "--quiet",
        ],
    )
    .await;
    assert!(ok);
    let secret = secret.trim();
    assert!(
        secret.starts_with("baton_") && secret.len() == 70,
        "{secret:?}"
    );
    let (ok, _, err) = run(&db, &["token", "create", "--name", "amy", "--role", "lead"]).await;
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, _, err) = run(
        &db,
        &["token", "create", "--name", "bo", "--role", "reviewer"],
    )
    .await;
    assert!(!ok && err.contains("--groups"), "{err}");
    let (ok, _, err) = run(&db, &["token", "create", "--name", "cy", "--role", "boss"]).await;
    assert!(!ok && err.contains("--role"), "{err}");
    let (ok, out, _) = run(&db, &["token", "list", "--json"]).await;
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["name"], "amy");
    assert_eq!(list[0]["groups"], json!(["triage", "billing"]));
    assert!(!out.contains(secret), "list must never show secrets");
    assert!(run(&db, &["token", "revoke", "amy"]).await.0);
    let (ok, _, err) = run(&db, &["token", "revoke", "amy"]).await;
    assert!(!ok && err.contains("no active token"), "{err}");
    let (ok, out, _) = run(&db, &["audit", "verify"]).await;
    assert!(ok && out.starts_with("ok: 0 events"), "{out}");
}

#[tokio::test]
async fn handoff_commands_work_a_handoff_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let (_, token, _) = run(
        &db,
        &[
            "token", "create", "--name", "lee", "--role", "admin", "--quiet",
        ],
    )
    .await;
    let (mut child, url) = serve(&db).await;
    let file = dir.path().join("handoff.json");
    std::fs::write(
        &file,
        json!({
            "workflow": "invoice-exception", "title": "price variance 4 %", "impact": "normal",
            "reason": "policy_exception", "subject": {"source": "sap", "ref": "INV-9"},
        })
        .to_string(),
    )
    .unwrap();
    let client = |args: Vec<String>| {
        let (db, url, token) = (db.clone(), url.clone(), token.trim().to_owned());
        async move {
            let out = baton(&db)
                .env("BATON_URL", url)
                .env("BATON_TOKEN", token)
                .args(&args)
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let created: Value = serde_json::from_str(
        &client(s(&["handoff", "create", file.to_str().unwrap(), "--json"])).await,
    )
    .unwrap();
    let id = created[0]["id"].as_str().unwrap().to_owned();
    let table = client(s(&["handoff", "list"])).await;
    assert!(table.contains(&id) && table.contains("pending"), "{table}");
    let claimed: Value =
        serde_json::from_str(&client(s(&["handoff", "claim", &id, "--json"])).await).unwrap();
    let claim = claimed["claim_token"].as_str().unwrap().to_owned();
    let receipt: Value = serde_json::from_str(
        &client(s(&[
            "handoff",
            "resolve",
            &id,
            "--claim-token",
            &claim,
            "--resolution",
            "approved",
            "--reason",
            "within_tolerance",
            "--customer-note",
            "paid",
        ]))
        .await,
    )
    .unwrap();
    assert_eq!(receipt["decided_by"], "lee");
    assert_eq!(receipt["resolution"], "approved");
    let shown: Value = serde_json::from_str(&client(s(&["handoff", "show", &id])).await).unwrap();
    assert_eq!(shown["state"], "resolved");
    assert_eq!(shown["events"].as_array().unwrap().len(), 3);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
