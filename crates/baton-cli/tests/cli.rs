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
    // Token names have one character set: a ':' could spell another token's keys.
    for name in ["bot:eu", "a b", ""] {
        let (ok, _, err) = run(&db, &["token", "create", "--name", name, "--role", "agent"]).await;
        assert!(!ok && err.contains("A-Z, a-z, 0-9"), "{name:?}: {err}");
    }
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
            "workflow": "default", "title": "price variance 4 %", "impact": "normal",
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

#[tokio::test]
async fn policy_check_passes_the_examples_and_lists_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.db");
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    for name in [
        "support-chat",
        "invoice-exceptions",
        "medical-scheduling",
        "it-incidents",
    ] {
        let file = examples.join(format!("{name}.toml"));
        let (ok, out, err) = run(&db, &["policy", "check", file.to_str().unwrap()]).await;
        assert!(ok && out.starts_with("ok: "), "{name}: {out}{err}");
    }
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[reasons.handoff]\nx = \"y\"\n[[impact]]\nname = \"n\"\nrank = 1\naccept_within = \"0s\"\nresolve_within = \"1h\"\n[[route]]\nid = \"r\"\ngroup = \"ghost\"\nwhen = \"payload.a >\"\n").unwrap();
    let (ok, _, err) = run(&db, &["policy", "check", bad.to_str().unwrap()]).await;
    assert!(!ok);
    assert!(
        err.contains("bad.toml:3: impact \"n\": accept_within"),
        "{err}"
    );
    assert!(err.contains("route \"r\": group \"ghost\""), "{err}");
    assert!(err.contains("invalid cel"), "{err}");
    assert!(err.contains("no default route"), "{err}");
    assert!(err.contains("4 errors"), "{err}");
}

#[tokio::test]
async fn policy_check_lists_structural_errors_and_warns_without_failing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.db");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[reasons.handoff]\nx = \"y\"\n[[impact]]\nname = \"n\"\naccept_within = \"1h\"\nresolve_within = \"2h\"\n[[group]]\nname = \"g\"\ncolour = \"red\"\n[[route]]\ngroup = \"g\"\n",
    )
    .unwrap();
    let (ok, _, err) = run(&db, &["policy", "check", bad.to_str().unwrap()]).await;
    assert!(!ok);
    assert!(
        err.contains("bad.toml:3: impact \"n\": missing field `rank`"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:9: group \"g\": unknown field `colour`"),
        "{err}"
    );
    assert!(
        err.contains("bad.toml:10: route 1: missing field `id`"),
        "{err}"
    );
    assert!(err.contains("3 errors"), "{err}");

    let warned = dir.path().join("warned.toml");
    std::fs::write(
        &warned,
        "[reasons.handoff]\nx = \"y\"\n[[impact]]\nname = \"n\"\nrank = 1\naccept_within = \"1h\"\nresolve_within = \"2h\"\n[[group]]\nname = \"g\"\n[[route]]\nid = \"r\"\ngroup = \"g\"\n[[channel]]\nname = \"c\"\nkind = \"email\"\nto = [\"a@example.com\"]\n[[escalation]]\nid = \"e\"\n[[escalation.level]]\nafter = \"resolve_breach\"\nnotify = [\"c\"]\n[[escalation.level]]\nafter = \"accept_breach\"\nnotify = [\"c\"]\n",
    )
    .unwrap();
    let (ok, out, err) = run(&db, &["policy", "check", warned.to_str().unwrap()]).await;
    assert!(ok && out.starts_with("ok: "), "{out}{err}");
    assert!(
        err.contains("warning: ") && err.contains("warned.toml:22: escalation \"e\": level 2"),
        "{err}"
    );
}

#[tokio::test]
async fn policy_explain_names_the_rules_and_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.db");
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/policies/invoice-exceptions.toml");
    let handoff = dir.path().join("h.json");
    std::fs::write(&handoff, json!({
        "workflow": "invoice-exception", "title": "variance", "impact": "normal", "reason": "price_variance",
        "subject": {"source": "sap", "ref": "INV-1"}, "context": {"payload": {"amount_usd": 9000}},
    }).to_string()).unwrap();
    let (ok, out, err) = run(
        &db,
        &[
            "policy",
            "explain",
            policy.to_str().unwrap(),
            "--handoff",
            handoff.to_str().unwrap(),
            "--at",
            "2026-11-20T21:00:00Z",
            "--json",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["route"]["group"], "procurement-analysts");
    assert_eq!(v["route"]["rule"], "over-5000-to-procurement");
    // Friday 16:00 New York: one business hour that day, seven on Monday → Monday 16:00 New York.
    assert_eq!(v["deadlines"]["accept_by"], "2026-11-23T21:00:00Z");
}

fn example(rel: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
        .to_str()
        .unwrap()
        .to_owned()
}

/// `baton policy simulate POLICY --handoff FILE --at T …`, as JSON.
async fn simulate(dir: &std::path::Path, handoff: &str, at: &str, until: &str) -> Vec<Value> {
    let (ok, out, err) = run(
        &dir.join("unused.db"),
        &[
            "policy",
            "simulate",
            &example("examples/policies/it-incidents.toml"),
            "--handoff",
            handoff,
            "--at",
            at,
            "--until",
            until,
            "--json",
        ],
    )
    .await;
    assert!(ok, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// The events of a timeline (not its notifications): time, label, and the
/// clock of an SLA event or the level of an escalation.
fn fired(timeline: &[Value]) -> Vec<(String, String, String)> {
    timeline[1..]
        .iter()
        .filter(|e| e["kind"] != "notification")
        .map(|e| {
            let what = match e["data"]["level"].as_u64() {
                Some(level) => format!("level {level}"),
                None => e["data"]["clock"].as_str().unwrap_or("").to_owned(),
            };
            (
                e["local"].as_str().unwrap().to_owned(),
                e["label"].as_str().unwrap().to_owned(),
                what,
            )
        })
        .collect()
}

#[tokio::test]
async fn policy_simulate_prints_the_timeline_of_a_major_incident() {
    let dir = tempfile::tempdir().unwrap();
    // Major incidents run on the wall clock (no calendar): times in UTC.
    let major = example("examples/handoffs/major-incident.json");
    let timeline = simulate(dir.path(), &major, "2026-06-01T07:00:00Z", "+3d").await;
    let admitted = &timeline[0];
    assert_eq!(admitted["kind"], "admitted");
    assert_eq!(admitted["owner_group"], "crisis-manager");
    assert_eq!(admitted["route_rule"], "major-to-crisis-manager");
    assert_eq!(admitted["time_zone"], "UTC");
    assert_eq!(admitted["accept_by"], "2026-06-01T07:15:00Z");
    assert_eq!(admitted["resolve_by"], "2026-06-01T11:00:00Z");
    let s = |a: &str, b: &str, c: &str| (a.to_owned(), b.to_owned(), c.to_owned());
    assert_eq!(
        fired(&timeline),
        vec![
            s("2026-06-01 07:11:15 UTC", "reminder", "accept"),
            s("2026-06-01 07:11:15 UTC", "escalated", "level 1"),
            s("2026-06-01 07:15:00 UTC", "breach", "accept"),
            s("2026-06-01 07:15:00 UTC", "escalated", "level 2"),
            s("2026-06-01 07:30:00 UTC", "escalated", "level 3"),
            s("2026-06-01 08:00:00 UTC", "escalated", "level 3"),
            s("2026-06-01 10:00:00 UTC", "reminder", "resolve"),
            s("2026-06-01 10:00:00 UTC", "escalated", "level 4"),
            s("2026-06-01 11:00:00 UTC", "breach", "resolve"),
        ]
    );
    assert!(timeline.iter().any(|e| e["kind"] == "sla_breached"));
    // Level 3 fans out to the crisis manager and IT operations, each on its channel.
    let fanout: Vec<(&str, &str)> = timeline
        .iter()
        .filter(|e| e["kind"] == "notification" && e["local"] == "2026-06-01 07:30:00 UTC")
        .map(|e| {
            (
                e["channel"].as_str().unwrap(),
                e["role"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        fanout,
        [
            ("crisis-manager-mail", "crisis-manager"),
            ("ops-hook", "it-operations")
        ]
    );
    // A horizon before the accept breach stops there.
    let short = simulate(dir.path(), &major, "2026-06-01T07:00:00Z", "+14m").await;
    assert_eq!(fired(&short).len(), 2);

    // A high incident at 17:00 in Brussels runs on its business hours
    // (08:00–18:00), shown in Europe/Brussels: 30 min to accept, 8 h to
    // resolve, one hour of which is left on Monday.
    let high = dir.path().join("high.json");
    let mut body: Value = serde_json::from_str(&std::fs::read_to_string(&major).unwrap()).unwrap();
    body["impact"] = json!("high");
    body["reason"] = json!("user_reported");
    body["tier"] = json!("warm");
    std::fs::write(&high, body.to_string()).unwrap();
    let timeline = simulate(
        dir.path(),
        high.to_str().unwrap(),
        "2026-06-01T15:00:00Z",
        "+3d",
    )
    .await;
    assert_eq!(timeline[0]["time_zone"], "Europe/Brussels");
    assert_eq!(timeline[0]["owner_group"], "service-desk");
    assert_eq!(
        fired(&timeline),
        vec![
            s("2026-06-01 17:22:30 CEST", "reminder", "accept"),
            s("2026-06-01 17:30:00 CEST", "breach", "accept"),
            s("2026-06-02 13:00:00 CEST", "reminder", "resolve"),
            s("2026-06-02 15:00:00 CEST", "breach", "resolve"),
        ]
    );
}

#[tokio::test]
async fn policy_simulate_names_the_field_it_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.db");
    let policy = example("examples/policies/it-incidents.toml");
    let refused = |body: Value| {
        let path = dir.path().join("h.json");
        std::fs::write(&path, body.to_string()).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let mut body: Value = serde_json::from_str(
        &std::fs::read_to_string(example("examples/handoffs/major-incident.json")).unwrap(),
    )
    .unwrap();
    body["impact"] = json!("catastrophic");
    let file = refused(body.clone());
    let (ok, _, err) = run(&db, &["policy", "simulate", &policy, "--handoff", &file]).await;
    assert!(!ok);
    assert!(
        err.contains("impact: catastrophic is not a declared customer impact"),
        "{err}"
    );
    body.as_object_mut().unwrap().remove("title");
    let file = refused(body);
    let (ok, _, err) = run(&db, &["policy", "simulate", &policy, "--handoff", &file]).await;
    assert!(!ok);
    assert!(err.contains("missing field `title`"), "{err}");
    let (ok, _, err) = run(
        &db,
        &[
            "policy",
            "simulate",
            "/nonexistent.toml",
            "--handoff",
            &file,
        ],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("/nonexistent.toml"), "{err}");
}

#[tokio::test]
async fn serve_exposes_metrics_on_their_own_listener() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let mut child = baton(&dir.path().join("baton.db"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut api, mut metrics) = (None, None);
    let started = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let url = |rest: &str| rest.split_whitespace().next().unwrap().to_owned();
            if let Some(rest) = line.strip_prefix("Baton listening on ") {
                api = Some(url(rest));
            }
            if let Some(rest) = line.strip_prefix("Metrics on ") {
                metrics = Some(url(rest));
            }
            if api.is_some() && metrics.is_some() {
                return;
            }
        }
        panic!("baton serve exited before printing both addresses");
    });
    started
        .await
        .expect("baton serve did not start within 30 s");
    let (api, metrics) = (api.unwrap(), metrics.unwrap());
    assert!(
        metrics.ends_with("/metrics") && !metrics.starts_with(&api),
        "{metrics}"
    );
    let get = |url: String| async move { reqwest::get(url).await.unwrap() };
    assert_eq!(get(format!("{api}/healthz")).await.status(), 200);
    // Not on the API's port.
    assert_eq!(get(format!("{api}/metrics")).await.status(), 404);
    let text = get(metrics).await.text().await.unwrap();
    for line in [
        r#"baton_http_requests_total{method="GET",route="/healthz",status="200"} 1"#,
        r#"baton_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"baton_open_handoffs{owner_group="triage",impact="high"} 0"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}
