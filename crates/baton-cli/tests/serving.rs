//! `baton serve` under hostile connections and over TLS: more idle and
//! half-open connections than the cap while `/healthz` keeps answering, an
//! exit within the shutdown bound after SIGTERM with them (and a stalled
//! upload) still open; HTTPS with a self-signed certificate through the
//! CLI's own client; no password in `--help`.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{BATON, baton, create_token};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Starts `baton serve` with `args`; the child and the URL it prints.
async fn serve(db: &Path, args: &[&str]) -> (Child, String) {
    let mut child = baton(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Baton listening on ") {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("baton serve exited before listening");
    })
    .await
    .expect("baton serve listens within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// Sends a whole `GET /healthz` on `socket` and reads its answer, keeping
/// the connection open (HTTP/1.1 keep-alive).
async fn healthz_on(socket: &mut TcpStream) {
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: baton\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&answer).contains("\"ok\"") {
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_cap_healthz_answers_and_sigterm_exits_within_the_shutdown_bound() {
    const CAP: usize = 16;
    let shutdown_bound = Duration::from_secs(2);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let admin = create_token(&db, "admin", "admin").await;
    let (mut child, url) = serve(
        &db,
        &[
            "--max-connections",
            &CAP.to_string(),
            "--shutdown-timeout",
            "2s",
            "--header-read-timeout",
            "5m",
            "--idle-timeout",
            "5m",
            "--request-timeout",
            "5m",
        ],
    )
    .await;
    let addr = url.strip_prefix("http://").unwrap().to_owned();

    // A stalled upload: a request in flight that never completes its body.
    let mut upload = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/handoffs HTTP/1.1\r\nhost: baton\r\nauthorization: Bearer {admin}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"workflow\":"
    );
    upload.write_all(head.as_bytes()).await.unwrap();

    // CAP idle keep-alive connections after a full request, then CAP
    // half-open ones that sent half a request line: twice the cap.
    let mut open = Vec::new();
    for _ in 0..CAP {
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        healthz_on(&mut socket).await;
        open.push(socket);
    }
    for _ in 0..CAP {
        let mut socket = TcpStream::connect(&addr).await.unwrap();
        socket.write_all(b"GET /heal").await.unwrap();
        open.push(socket);
    }
    let http = reqwest::Client::new();
    for _ in 0..5 {
        let reply = tokio::time::timeout(
            Duration::from_secs(5),
            http.get(format!("{url}/healthz")).send(),
        )
        .await
        .expect("/healthz answers within 5 s over the cap")
        .unwrap();
        assert_eq!(reply.status(), 200);
    }
    // The oldest idle connection was closed to make room.
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), open[0].read(&mut buf))
        .await
        .expect("the oldest idle connection is closed")
        .unwrap_or(0);
    assert_eq!(n, 0);

    let pid = child.id().unwrap().to_string();
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(shutdown_bound + Duration::from_secs(3), child.wait())
        .await
        .expect("baton serve exits within the shutdown bound after SIGTERM")
        .unwrap();
    let took = started.elapsed();
    assert!(exit.success(), "{exit:?}");
    assert!(
        took < shutdown_bound + Duration::from_millis(1500),
        "exit took {took:?}"
    );
    drop(open);
    drop(upload);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_to_the_cli_client_with_a_custom_ca() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let lead = create_token(&db, "lead", "lead").await;
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (_child, url) = serve(
        &db,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--header-read-timeout",
            "1s",
        ],
    )
    .await;
    let port = url
        .strip_prefix("https://127.0.0.1:")
        .expect("an https URL");
    let url = format!("https://localhost:{port}");
    let list = |ca: Option<&Path>| {
        let mut cmd = baton(&db);
        cmd.args(["handoff", "--url", &url, "--token", &lead]);
        if let Some(ca) = ca {
            cmd.arg("--ca-cert").arg(ca);
        }
        cmd.args(["list", "--json"]);
        cmd.output()
    };
    let trusted = list(Some(&cert)).await.unwrap();
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&trusted.stdout).unwrap();
    assert!(listed.is_object() || listed.is_array(), "{listed}");
    let untrusted = list(None).await.unwrap();
    assert!(
        !untrusted.status.success(),
        "a self-signed server is not trusted by default"
    );
    let err = String::from_utf8_lossy(&untrusted.stderr);
    assert!(err.contains("cannot reach"), "{err}");
    // Plain HTTP to the TLS port is no handshake: closed within the
    // header-read timeout, unanswered.
    let mut plain = TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf))
        .await
        .expect("the server closes a plain-text connection within header_read_timeout");
    assert!(!String::from_utf8_lossy(&buf).contains("\"ok\""));
}

#[tokio::test]
async fn help_never_prints_the_database_password() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
    ] {
        let out = Command::new(BATON)
            .env(
                "BATON_DATABASE",
                "postgres://baton:s3cret-pw@db.internal/baton",
            )
            .args(&args)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("s3cret-pw"),
            "{args:?} prints the password:\n{text}"
        );
    }
    let out = Command::new(BATON)
        .args(["serve", "--help"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--max-connections",
        "--shutdown-timeout",
        "--tls-cert",
        "BATON_HEADER_READ_TIMEOUT",
    ] {
        assert!(text.contains(flag), "serve --help lacks {flag}");
    }
}
