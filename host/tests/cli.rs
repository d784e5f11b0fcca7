//! The `switchboard` binary end to end: operator commands, serving, and SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A fresh database URL: PostgreSQL when the test suite targets it, else a SQLite file.
async fn database_url() -> String {
    let name = format!("sb_test_{}", uuid::Uuid::now_v7().simple());
    match std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(base) => {
            use sqlx::{Connection, Executor};
            let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
            conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            let (prefix, _) = base.rsplit_once('/').unwrap();
            format!("{prefix}/{name}")
        }
        None => format!("sqlite://{}", std::env::temp_dir().join(format!("{name}.db")).display()),
    }
}

fn switchboard(db: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("SWITCHBOARD_DATABASE_URL", db)
        .env("SWITCHBOARD_BIND", "127.0.0.1:0")
        .env("SWITCHBOARD_JWT_SECRET", "cli-test-secret-cli-test-secret!")
        .env("SWITCHBOARD_LOG_FORMAT", "pretty")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info");
    cmd
}

#[test]
fn openapi_command_prints_the_checked_in_spec() {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checked_in: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(printed, checked_in);
}

#[tokio::test]
async fn operator_creates_a_tenant_then_the_server_serves_it_and_stops_on_sigterm() {
    let db = database_url().await;
    let out = switchboard(&db)
        .args([
            "tenant",
            "create",
            "--name",
            "Operator Co",
            "--owner-email",
            "ops@example.com",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("{key} in {stdout}"))
    };
    let (tenant_id, password) = (field("tenant_id"), field("owner_password"));
    assert!(tenant_id.starts_with("ten_"));

    let mut child = switchboard(&db).arg("serve").stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // The server logs its address once it listens; wait for that line rather than sleeping.
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("addr=socket://")
                .nth(1)
                .map(|a| a.split_whitespace().next().unwrap_or_default().to_owned())
        })
        .expect("listening line");

    let http = reqwest::Client::new();
    let login = http
        .post(format!("http://{addr}/v1/auth/login"))
        .json(&serde_json::json!({"email": "ops@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: serde_json::Value = http
        .get(format!("http://{addr}/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["tenant"]["id"], tenant_id.as_str());
    assert_eq!(me["role"], "owner");

    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status}");
    assert!(lines.map_while(Result::ok).any(|l| l.contains("shutting down")));
}

#[test]
fn bad_configuration_is_refused_clearly() {
    let out = Command::new(BIN)
        .arg("serve")
        .env("SWITCHBOARD_BIND", "not an address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).to_lowercase().contains("bind"));
}
