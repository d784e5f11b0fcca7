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
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&name);
            url.into()
        }
        None => format!("sqlite://{}", std::env::temp_dir().join(format!("{name}.db")).display()),
    }
}

/// The server logs its address once it listens; this waits for that line rather than sleeping.
fn listening_addr(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> String {
    lines
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("addr=socket://")
                .nth(1)
                .map(|a| a.split_whitespace().next().unwrap_or_default().to_owned())
        })
        .expect("listening line")
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
    let addr = listening_addr(&mut lines);

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

/// A running `switchboard serve` and its address; its log is drained so it never blocks.
struct Served {
    child: std::process::Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(db: &str, env: &[(&str, &str)]) -> Served {
    let mut cmd = switchboard(db);
    cmd.arg("serve")
        .stderr(Stdio::piped())
        .env("RUST_LOG", "warn,switchboard::app=info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = listening_addr(&mut lines);
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Served { child, addr }
}

/// Polls `url` (GET, bearer `token`) until `done` holds for its JSON; panics after 60 s.
async fn until(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(url).bearer_auth(token).send().await {
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            if done(&body) {
                return body;
            }
        }
        assert!(std::time::Instant::now() < deadline, "{url} did not get there in 60 s");
        // A polling interval, not a wait for something to happen.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_campaign_killed_mid_send_finishes_after_a_restart_with_every_recipient_emailed_once() {
    const RECIPIENTS: usize = 300;
    let fake = switchboard_tests::fakes::resend::FakeResend::start().await;
    // Slow enough that the kill lands mid-send (30 batches of 10).
    fake.set_latency(std::time::Duration::from_millis(40));
    let db = database_url().await;
    let env = [
        ("SWITCHBOARD_RESEND_BASE_URL", fake.base_url.as_str()),
        ("SWITCHBOARD_RESEND_API_KEY", fake.api_key.as_str()),
        ("SWITCHBOARD_EMAIL_BATCH_SIZE", "10"),
        ("SWITCHBOARD_JOB_LEASE_MS", "1500"),
        ("SWITCHBOARD_JOB_POLL_MS", "50"),
    ];
    let first = serve(&db, &env);
    let http = reqwest::Client::new();
    let base = format!("http://{}", first.addr);
    let signup: serde_json::Value = http
        .post(format!("{base}/v1/signup"))
        .json(&serde_json::json!({"tenant_name": "Crash", "email": "crash@example.com", "password": "a long password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["tokens"]["access_token"].as_str().unwrap().to_owned();
    let session = switchboard_tests::Session::new(http.clone(), base.clone(), Some(token.clone()));
    switchboard_tests::email::verified_sender(&session, Some(&fake), "news@acme.test").await;
    let csv: String = std::iter::once("email,tags\n".to_owned())
        .chain((0..RECIPIENTS).map(|i| format!("r{i}@x.test,news\n")))
        .collect();
    let import: serde_json::Value = http
        .post(format!("{base}/v1/imports"))
        .query(&[("mapping", r#"{"email": "email", "tags": "tags"}"#)])
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let import_url = format!("{base}/v1/imports/{}", import["id"].as_str().unwrap());
    let imported = until(&http, &import_url, &token, |b| b["status"] == "done").await;
    assert_eq!(imported["created"], RECIPIENTS as i64, "{imported}");
    let campaign: serde_json::Value = http
        .post(format!("{base}/v1/email-campaigns"))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"name": "Crash", "from_email": "news@acme.test", "subject": "Hi",
            "html": "<p>Hello {{ email }}</p>", "audience": {"tags": ["news"]}}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = campaign["id"].as_str().unwrap().to_owned();
    let sent = http
        .post(format!("{base}/v1/email-campaigns/{id}/send"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 202, "{}", sent.text().await.unwrap_or_default());

    fake.until_delivered(60).await;
    drop(first); // SIGKILL
                 // Recipients only: the sender's verification email is not part of the campaign.
    let recipients = || {
        let mut d = fake.deliveries();
        d.remove("news@acme.test");
        d
    };
    let before = recipients().len();
    assert!(
        before < RECIPIENTS,
        "the kill came after the campaign ended ({before} delivered)"
    );

    let second = serve(&db, &env);
    let url = format!("http://{}/v1/email-campaigns/{id}", second.addr);
    let done = until(&http, &url, &token, |b| b["status"] == "sent").await;
    drop(second);

    let deliveries = recipients();
    assert_eq!(deliveries.len(), RECIPIENTS, "every recipient got an email");
    let twice: Vec<_> = deliveries.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "emailed more than once: {twice:?}");
    assert_eq!(done["sent"], RECIPIENTS as i64);
}
