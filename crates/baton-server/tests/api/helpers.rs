//! The test app: a fresh store (SQLite, or PostgreSQL when
//! `BATON_TEST_POSTGRES_URL` is set), a fake clock, one token per role, and
//! helpers that drive the router in-process or serve it on `127.0.0.1:0`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use baton_core::Role;
use baton_server::{AppState, FakeClock, ServerConfig};
use baton_store::{Store, TokenRecord};
use baton_store_postgres::PgStore;
use baton_store_sqlite::SqliteStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use uuid::Uuid;

/// Secret of the admin token (name `admin`).
pub const ADMIN: &str = "baton_test_admin";
/// Secret of the lead token (name `lead`).
pub const LEAD: &str = "baton_test_lead";
/// Secret of the reviewer token (name `reviewer`), bound to group `triage`.
pub const REVIEWER: &str = "baton_test_reviewer";
/// Secret of the agent token (name `agent`), bound to workflow `support-chat`.
pub const AGENT: &str = "baton_test_agent";
/// Secret of a revoked admin token (name `revoked`).
pub const REVOKED: &str = "baton_test_revoked";

/// Every live token: its role and secret.
pub const ROLES: [(Role, &str); 4] = [
    (Role::Agent, AGENT),
    (Role::Reviewer, REVIEWER),
    (Role::Lead, LEAD),
    (Role::Admin, ADMIN),
];

/// Where the fake clock starts: 2026-01-05T09:00:00Z.
pub fn start() -> Timestamp {
    "2026-01-05T09:00:00Z".parse().expect("valid timestamp")
}

/// A running test app over its own database.
pub struct TestApp {
    /// The router over `state`.
    pub router: Router,
    /// The state behind the router.
    pub state: AppState,
    /// The clock every handler reads.
    pub clock: FakeClock,
    /// Keeps the SQLite file alive for the life of the app.
    _dir: Option<TempDir>,
}

/// A response, fully read.
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The body as JSON; a JSON string holding the text when it is not JSON.
    pub json: Value,
    /// The body as text.
    pub text: String,
}

/// An app over a fresh SQLite database.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("baton.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open sqlite");
    build(Arc::new(store), Some(dir)).await
}

/// `BATON_TEST_POSTGRES_URL`, or `None` when it is unset and the tests may
/// skip PostgreSQL.
///
/// # Panics
/// Under `CI=true` when it is unset: a CI run without PostgreSQL is red,
/// never a row of PostgreSQL tests that passed without running.
pub fn postgres_url() -> Option<String> {
    postgres_url_from(
        std::env::var("BATON_TEST_POSTGRES_URL").ok(),
        std::env::var("CI").ok(),
    )
}

/// [`postgres_url`] over given values of `BATON_TEST_POSTGRES_URL` and `CI`.
pub fn postgres_url_from(url: Option<String>, ci: Option<String>) -> Option<String> {
    let url = url.filter(|u| !u.is_empty());
    if url.is_none() && ci.is_some_and(|ci| ci.eq_ignore_ascii_case("true")) {
        panic!("CI=true but BATON_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI");
    }
    url
}

/// An app over a fresh PostgreSQL database, or `None` when
/// `BATON_TEST_POSTGRES_URL` is not set (a panic under `CI=true`).
pub async fn spawn_pg_app() -> Option<TestApp> {
    let url = pg_database().await?;
    let store = PgStore::open(&url).await.expect("open test database");
    Some(build(Arc::new(store), None).await)
}

/// The URL of a fresh, empty PostgreSQL database, or `None` when
/// `BATON_TEST_POSTGRES_URL` is not set (a panic under `CI=true`). Open it
/// as often as needed: each store opened on it is one more instance.
pub async fn pg_database() -> Option<String> {
    let url = postgres_url()?;
    let name = format!("baton_test_{}", Uuid::new_v4().simple());
    let admin = PgStore::admin_pool(&url)
        .await
        .expect("connect to BATON_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let (base, _) = url.rsplit_once('/').expect("url with a database name");
    Some(format!("{base}/{name}"))
}

/// An app (one more instance) over `store`, which may already hold the
/// test tokens; `dir` keeps a SQLite file's folder alive.
pub async fn app_over(store: Arc<dyn Store>, dir: Option<TempDir>) -> TestApp {
    build(store, dir).await
}

/// What the tests add to the built-in default policy: the workflows and the
/// second owner group they use (workflows and groups must be declared).
pub const DECLARED: &str = r#"
[[group]]
name = "billing"

[[workflow]]
name = "support-chat"
default_group = "triage"

[[workflow]]
name = "email"
default_group = "triage"
"#;

/// An app over `store`; `dir` is kept alive with it.
pub async fn build(store: Arc<dyn Store>, dir: Option<TempDir>) -> TestApp {
    let clock = FakeClock::new(start());
    let token = |name: &str, role, secret: &str| TokenRecord {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        role,
        groups: Vec::new(),
        workflows: Vec::new(),
        hash: baton_server::token::hash(secret),
        created_at: start(),
        revoked_at: None,
    };
    let tokens = [
        token("admin", Role::Admin, ADMIN),
        token("lead", Role::Lead, LEAD),
        TokenRecord {
            groups: vec!["triage".into()],
            ..token("reviewer", Role::Reviewer, REVIEWER)
        },
        TokenRecord {
            workflows: vec!["support-chat".into()],
            ..token("agent", Role::Agent, AGENT)
        },
        TokenRecord {
            revoked_at: Some(start()),
            ..token("revoked", Role::Admin, REVOKED)
        },
    ];
    if store.list_tokens().await.expect("list tokens").is_empty() {
        for record in &tokens {
            store.insert_token(record).await.expect("insert token");
        }
    }
    let text = format!("{}{DECLARED}", baton_core::policy::DEFAULT_POLICY);
    let policy = baton_core::policy::Policy::build(&text, &|_: &str| Err("no files".into()))
        .expect("the test policy builds");
    let state = AppState::new(store, Arc::new(clock.clone()), ServerConfig::default())
        .with_policy(baton_server::PolicyHandle::new(policy, text));
    TestApp {
        router: baton_server::router(state.clone()),
        state,
        clock,
        _dir: dir,
    }
}

/// Generates, for each named `async fn(TestApp)`, a module with a `sqlite`
/// and a `postgres` test; the PostgreSQL one returns at once unless
/// `BATON_TEST_POSTGRES_URL` is set, and fails under `CI=true` without it.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$case($crate::helpers::spawn_app().await).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(app) = $crate::helpers::spawn_pg_app().await else {
                        eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
                        return;
                    };
                    super::$case(app).await;
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

impl TestApp {
    /// The same app with other HTTP settings.
    pub fn with_config(mut self, config: ServerConfig) -> Self {
        self.state.config = Arc::new(config);
        self.router = baton_server::router(self.state.clone());
        self
    }

    /// Gives up the SQLite folder, so the database outlives this app.
    pub fn into_dir(mut self) -> Option<TempDir> {
        self._dir.take()
    }

    /// Sends `method path` with an optional bearer `token` and JSON `body`;
    /// the status and the body as JSON.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let reply = self.call(method, path, token, body, &[]).await;
        (reply.status, reply.json)
    }

    /// Like [`TestApp::request`] with extra headers, answering the whole reply.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(value) => {
                req = req.header("content-type", "application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        self.send(req.body(body).expect("valid request")).await
    }

    /// Sends a raw body with the given content type (none when `None`).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Bytes>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            req = req.header("content-type", content_type);
        }
        self.send(req.body(Body::from(body.into())).expect("valid request"))
            .await
    }

    /// Drives one request through a clone of the router.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router is infallible");
        read_reply(response).await
    }

    /// Creates a handoff as `token` and answers its JSON, asserting 201.
    pub async fn create(&self, token: &str, body: Value) -> Value {
        let (status, json) = self
            .request(Method::POST, "/v1/handoffs", Some(token), Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "create: {json}");
        json
    }

    /// Creates a sample handoff (workflow `support-chat`, group `triage`) as
    /// the agent; answers its id.
    pub async fn create_sample(&self, impact: &str, reason: &str) -> String {
        id_of(&self.create(AGENT, new_handoff(impact, reason)).await)
    }

    /// `POST /v1/handoffs/{id}/{action}` as `token`.
    pub async fn act(
        &self,
        token: &str,
        id: &str,
        action: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.request(
            Method::POST,
            &format!("/v1/handoffs/{id}/{action}"),
            Some(token),
            Some(body),
        )
        .await
    }

    /// Like [`TestApp::act`], asserting 200; answers the action result.
    pub async fn act_ok(&self, token: &str, id: &str, action: &str, body: Value) -> Value {
        let (status, json) = self.act(token, id, action, body).await;
        assert_eq!(status, StatusCode::OK, "{action}: {json}");
        json
    }

    /// `PUT /v1/policy` with `text` as the admin, asserting 200; the answer.
    pub async fn put_policy(&self, text: &str) -> Value {
        let body = serde_json::json!({ "text": text });
        let (status, json) = self
            .request(Method::PUT, "/v1/policy", Some(ADMIN), Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "PUT /v1/policy: {json}");
        json
    }

    /// `GET path` as `token`, asserting 200.
    pub async fn get_ok(&self, token: &str, path: &str) -> Value {
        let (status, json) = self.request(Method::GET, path, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {json}");
        json
    }

    /// Moves the fake clock forward.
    pub fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    /// Serves the router on `127.0.0.1:0`, bound before the task spawns.
    pub async fn serve(&self) -> Served {
        serve_router(self.router.clone()).await
    }

    /// Serves the metrics listener's router on `127.0.0.1:0`.
    pub async fn serve_metrics(&self) -> Served {
        serve_router(baton_server::metrics_router(self.state.clone())).await
    }
}

/// Serves `router` on `127.0.0.1:0`, bound before the task spawns.
async fn serve_router(router: Router) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(baton_server::serve(listener, router, async move {
        let _ = stopped.await;
    }));
    Served { addr, stop, task }
}

/// The app served on a real socket.
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Asks the server to stop and waits (a few seconds at most) until it has.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .expect("the server stops within 10 s")
            .expect("the server task does not panic")
            .expect("the server stops cleanly");
    }
}

async fn read_reply(response: axum::response::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("read body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(text.clone()));
    Reply {
        status,
        headers,
        json,
        text,
    }
}

/// A valid create body in workflow `support-chat` (the caller's default group).
pub fn new_handoff(impact: &str, reason: &str) -> Value {
    json!({
        "workflow": "support-chat",
        "subject": {"source": "zendesk", "ref": "T-100", "url": "https://example.com/T-100"},
        "title": "refund above the automatic limit",
        "impact": impact,
        "reason": reason,
        "context": {
            "summary": "customer asks for 900 EUR back",
            "messages": [{"role": "customer", "text": "I want my money back"}],
            "ai_assessment": {"proposed_action": "refund 900 EUR", "confidence": 0.61},
            "payload": {"amount": 900, "currency": "EUR"}
        }
    })
}

/// The `id` of a handoff JSON.
pub fn id_of(handoff: &Value) -> String {
    handoff["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {handoff}"))
        .to_owned()
}

/// Asserts `json` is `{"error": {"code": code, "message": …}}`; answers the error object.
pub fn assert_error(
    status: StatusCode,
    json: &Value,
    expect_status: StatusCode,
    code: &str,
) -> Value {
    assert_eq!(status, expect_status, "{json}");
    assert_error_shape(json);
    assert_eq!(json["error"]["code"], code, "{json}");
    json["error"].clone()
}

/// Asserts `json` is `{"error": {"code": string, "message": string, "field"?: string}}`.
pub fn assert_error_shape(json: &Value) {
    let error = json["error"]
        .as_object()
        .unwrap_or_else(|| panic!("not an error body: {json}"));
    assert!(error["code"].is_string(), "{json}");
    let message = error["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{json}"));
    assert!(!message.is_empty(), "{json}");
    if let Some(field) = error.get("field") {
        assert!(field.is_string(), "{json}");
    }
}
