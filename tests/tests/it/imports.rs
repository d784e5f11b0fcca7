//! CSV imports: upload, the import job, progress, the errors report, and the job queue beneath.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use switchboard::domain::crm::export;
use switchboard::domain::imports::run::{BATCH_ROWS, SETTLE_FROM};
use switchboard::ids::{JobId, PrefixedId};
use switchboard::jobs::{queue, Job, NewJob};
use switchboard::store::now_ms;
use switchboard_tests::database::postgres_base_url;
use switchboard_tests::{Reply, Session, TestServer};

async fn upload(session: &Session, query: &str, csv: impl Into<Vec<u8>>) -> Reply {
    let req = session
        .request(Method::POST, &format!("/v1/imports{query}"))
        .header(CONTENT_TYPE, "text/csv")
        .body(csv.into());
    session.send(req).await
}

/// Uploads `csv` and waits for the import to end; returns its final progress.
async fn import(server: &TestServer, session: &Session, query: &str, csv: impl Into<Vec<u8>>) -> Value {
    let reply = upload(session, query, csv).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["status"], "queued");
    let id = reply.body["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("imp_"), "{id}");
    finished(server, session, &id).await
}

async fn finished(server: &TestServer, session: &Session, id: &str) -> Value {
    server
        .until_jobs(|| async {
            let reply = session.get(&format!("/v1/imports/{id}")).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            matches!(reply.body["status"].as_str(), Some("done" | "failed")).then_some(reply.body)
        })
        .await
}

async fn errors_csv(session: &Session, id: &Value) -> String {
    let reply = session
        .get(&format!("/v1/imports/{}/errors", id.as_str().unwrap()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("text/csv"));
    reply.body.as_str().expect("csv text").to_owned()
}

async fn customers(session: &Session) -> Vec<Value> {
    let reply = session.get("/v1/customers?limit=500").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"].as_array().unwrap().clone()
}

fn by_email<'a>(list: &'a [Value], email: &str) -> &'a Value {
    list.iter()
        .find(|c| c["email"] == email)
        .unwrap_or_else(|| panic!("no {email} in {list:?}"))
}

#[tokio::test]
async fn a_plain_csv_creates_customers() {
    let server = TestServer::start().await;
    let owner = server.signup("Plain").await;
    let done = import(
        &server,
        &owner,
        "",
        "email,first_name,last_name,notes\nann@x.io,Ann,Lee,ignored\nbob@x.io,Bob,Ray,\n",
    )
    .await;
    assert_eq!(
        (&done["status"], &done["rows_done"], &done["created"], &done["failed"]),
        (&json!("done"), &json!(2), &json!(2), &json!(0)),
        "{done}"
    );
    let list = customers(&owner).await;
    assert_eq!(list.len(), 2);
    assert_eq!(by_email(&list, "ann@x.io")["last_name"], "Lee");
    assert_eq!(by_email(&list, "bob@x.io")["first_name"], "Bob");
    assert_eq!(errors_csv(&owner, &done["id"]).await, "row,column,reason\n");
}

#[tokio::test]
async fn upsert_merges_into_existing_customers() {
    let server = TestServer::start().await;
    let owner = server.signup("Upsert").await;
    let made = owner
        .post("/v1/customers", json!({"email": "ann@x.io", "first_name": "Ann"}))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let csv = "email,last_name\nann@x.io,Lee\ncat@x.io,Cole\ncat@x.io,Coleman\n";
    let done = import(&server, &owner, "?mode=upsert", csv).await;
    assert_eq!(
        (&done["created"], &done["updated"], &done["failed"]),
        (&json!(1), &json!(2), &json!(0)),
        "{done}"
    );
    let list = customers(&owner).await;
    assert_eq!(list.len(), 2);
    let ann = by_email(&list, "ann@x.io");
    assert_eq!((&ann["first_name"], &ann["last_name"]), (&json!("Ann"), &json!("Lee")));
    assert_eq!(by_email(&list, "cat@x.io")["last_name"], "Coleman");
}

async fn score_field(owner: &Session) {
    let reply = owner
        .post("/v1/custom-fields", json!({"key": "score", "type": "number"}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

fn mapping(m: Value) -> String {
    let text = m.to_string();
    let encoded: String = text
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("mapping={encoded}")
}

#[tokio::test]
async fn a_mapping_fills_custom_fields_and_tags_and_names_the_column_of_a_bad_value() {
    let server = TestServer::start().await;
    let owner = server.signup("Mapped").await;
    score_field(&owner).await;
    let query = format!(
        "?{}",
        mapping(json!({"E-mail": "email", "Score": "custom_fields.score", "Labels": "tags"}))
    );
    let csv = "E-mail,Score,Labels\nann@x.io,42,vip; new\nbob@x.io,lots,x\n";
    let done = import(&server, &owner, &query, csv).await;
    assert_eq!((&done["created"], &done["failed"]), (&json!(1), &json!(1)), "{done}");
    let ann = by_email(&customers(&owner).await, "ann@x.io").clone();
    assert_eq!(ann["custom_fields"]["score"], json!(42));
    let mut tags: Vec<&str> = ann["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["new", "vip"]);
    assert_eq!(
        errors_csv(&owner, &done["id"]).await,
        "row,column,reason\n2,Score,must be a number\n"
    );

    let bad = upload(
        &owner,
        &format!("?{}", mapping(json!({"X": "custom_fields.nope"}))),
        "X\n1\n",
    )
    .await;
    bad.assert_problem(422);
    assert_eq!(bad.error_fields(), ["mapping"]);
}

#[tokio::test]
async fn bom_semicolons_and_quoted_newlines_are_read() {
    let server = TestServer::start().await;
    let owner = server.signup("Semicolons").await;
    let reply = owner
        .post("/v1/custom-fields", json!({"key": "notes", "type": "text"}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let query = format!(
        "?{}",
        mapping(json!({"email": "email", "last_name": "last_name", "notes": "custom_fields.notes"}))
    );
    let csv = "\u{feff}email;last_name;notes\nann@x.io;\"Lee, Jr\";\"line one\nline two\"\nbob@x.io;Ray;\n";
    let done = import(&server, &owner, &query, csv).await;
    assert_eq!(
        (&done["rows_done"], &done["created"], &done["failed"]),
        (&json!(2), &json!(2), &json!(0)),
        "{done}"
    );
    let list = customers(&owner).await;
    let ann = by_email(&list, "ann@x.io");
    assert_eq!(ann["last_name"], "Lee, Jr");
    assert_eq!(ann["custom_fields"]["notes"], "line one\nline two");
    assert_eq!(by_email(&list, "bob@x.io")["last_name"], "Ray");
}

#[tokio::test]
async fn invalid_utf8_and_ragged_rows_are_row_errors() {
    let server = TestServer::start().await;
    let owner = server.signup("Bytes").await;
    let mut csv = b"email,first_name\nann@x.io,Ann\nbad@x.io,".to_vec();
    csv.extend_from_slice(b"\xff\xfe\ncid@x.io\ndan@x.io,Dan\n");
    let done = import(&server, &owner, "", csv).await;
    assert_eq!(
        (&done["rows_done"], &done["created"], &done["failed"]),
        (&json!(4), &json!(2), &json!(2)),
        "{done}"
    );
    assert_eq!(
        errors_csv(&owner, &done["id"]).await,
        "row,column,reason\n2,,invalid UTF-8\n3,,\"expected 2 fields, found 1\"\n"
    );
    let list = customers(&owner).await;
    let emails: Vec<&str> = list.iter().map(|c| c["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), 2);
    assert!(
        emails.contains(&"ann@x.io") && emails.contains(&"dan@x.io"),
        "{emails:?}"
    );
}

#[tokio::test]
async fn a_duplicate_email_in_create_mode_is_one_row_error() {
    let server = TestServer::start().await;
    let owner = server.signup("Duplicates").await;
    let csv = "email,first_name\nann@x.io,Ann\nANN@x.io,Annie\nbob@x.io,Bob\n";
    let done = import(&server, &owner, "?mode=create", csv).await;
    assert_eq!((&done["created"], &done["failed"]), (&json!(2), &json!(1)), "{done}");
    assert_eq!(
        errors_csv(&owner, &done["id"]).await,
        "row,column,reason\n2,email,email is already in use\n"
    );
    assert_eq!(by_email(&customers(&owner).await, "ann@x.io")["first_name"], "Ann");
}

#[tokio::test]
async fn a_multipart_upload_takes_its_options_from_the_form() {
    let server = TestServer::start().await;
    let owner = server.signup("Multipart").await;
    let boundary = "sbboundary7d1f";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nupsert\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"mapping\"\r\n\r\n{{\"Mail\": \"email\"}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nMail\nann@x.io\n\r\n--{boundary}--\r\n"
    );
    let req = owner
        .request(Method::POST, "/v1/imports")
        .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(body);
    let reply = owner.send(req).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.body["mode"], "upsert");
    let done = finished(&server, &owner, reply.body["id"].as_str().unwrap()).await;
    assert_eq!(done["created"], 1, "{done}");
    by_email(&customers(&owner).await, "ann@x.io");
}

#[tokio::test]
async fn uploads_have_their_own_size_limit() {
    let server = TestServer::start_with(|c| {
        c.max_body_bytes = 1024;
        c.max_import_bytes = 4096;
    })
    .await;
    let owner = server.signup("Limits").await;
    let rows: String = (0..200).map(|i| format!("p{i}@x.io\n")).collect();
    let csv = format!("email\n{rows}");
    assert!(csv.len() > 1024 && csv.len() <= 4096);
    let done = import(&server, &owner, "", csv).await;
    assert_eq!(done["created"], 200, "{done}");

    let big = format!("email\n{}", "x".repeat(5000));
    upload(&owner, "", big).await.assert_problem(413);
    // Without a declared length the limit holds while streaming.
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok("email\n".into()), Ok("y".repeat(5000))];
    let req = owner
        .request(Method::POST, "/v1/imports")
        .header(CONTENT_TYPE, "text/csv")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)));
    owner.send(req).await.assert_problem(413);
}

#[tokio::test]
async fn another_tenants_import_is_not_found() {
    let server = TestServer::start().await;
    let owner = server.signup("Mine").await;
    let other = server.signup("Theirs").await;
    let done = import(&server, &owner, "", "email\nann@x.io\n").await;
    let id = done["id"].as_str().unwrap();
    other.get(&format!("/v1/imports/{id}")).await.assert_problem(404);
    other.get(&format!("/v1/imports/{id}/errors")).await.assert_problem(404);
    upload(&owner, "?mode=merge", "email\n").await.assert_problem(422);
}

#[tokio::test]
async fn a_failing_job_is_retried_then_dead_lettered() {
    let server = TestServer::start_with(|c| c.job_max_attempts = 3).await;
    let owner = server.signup("Dead").await;
    let job = NewJob {
        tenant_id: Some(owner.tenant_id.clone()),
        kind: "test.no-such-kind",
        payload: json!({}),
        idempotency_key: None,
    };
    let id = server
        .state
        .jobs
        .submit(&server.state.store, &job)
        .await
        .expect("enqueued");
    let row = server
        .until_jobs(|| async {
            let row = queue::get(&server.state.store, &id)
                .await
                .expect("job")
                .expect("exists");
            (row.status == "dead").then_some(row)
        })
        .await;
    assert_eq!(row.attempts, 3);
    assert!(row.last_error.unwrap_or_default().contains("no handler"));

    let dead = owner.get("/v1/jobs?status=dead").await;
    assert_eq!(dead.status, 200, "{}", dead.body);
    let ids: Vec<&str> = dead.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    let stranger = server.signup("Stranger").await;
    let theirs = stranger.get("/v1/jobs").await;
    assert_eq!(theirs.body["data"], json!([]), "{}", theirs.body);
    owner.get("/v1/jobs?status=lost").await.assert_problem(422);
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again() {
    // No workers: this test is the only claimer.
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    let store = &server.state.store;
    let job = NewJob {
        tenant_id: None,
        kind: "test.lease",
        payload: json!({"n": 1}),
        idempotency_key: Some(JobId::generate().to_string()),
    };
    let id = server.state.jobs.submit(store, &job).await.expect("enqueued");
    // A second job with the same key is refused.
    assert!(server.state.jobs.submit(store, &job).await.is_err());

    let now = now_ms();
    let first = queue::claim(store, "crashed", now, 1_000, 10).await.unwrap();
    assert_eq!(
        first.iter().map(|j| (j.id.as_str(), j.attempt)).collect::<Vec<_>>(),
        [(id.as_str(), 1)]
    );
    assert!(
        queue::claim(store, "other", now + 500, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "lease still held"
    );
    // The crashed worker never settles; once its lease has passed, another worker takes the job.
    let again = queue::claim(store, "other", now + 1_001, 1_000, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|j| (j.id.as_str(), j.attempt)).collect::<Vec<_>>(),
        [(id.as_str(), 2)]
    );
    let row = queue::get(store, &id).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.locked_by.as_deref()),
        ("running", Some("other"))
    );
}

#[tokio::test]
async fn rows_beyond_one_batch_are_numbered_and_counted_across_batches() {
    let server = TestServer::start().await;
    let owner = server.signup("Batches").await;
    // A row of the second batch repeats row 1's email, so its error carries a number from there.
    let total = BATCH_ROWS + 700;
    assert!(total as i64 >= SETTLE_FROM);
    let repeat = BATCH_ROWS + 200;
    let rows: String = (1..=total)
        .map(|i| format!("p{}@x.io\n", if i == repeat { 1 } else { i }))
        .collect();
    let done = import(&server, &owner, "", format!("email\n{rows}")).await;
    assert_eq!(
        (&done["rows_done"], &done["created"], &done["failed"]),
        (&json!(total), &json!(total - 1), &json!(1)),
        "{done}"
    );
    assert_eq!(
        errors_csv(&owner, &done["id"]).await,
        format!("row,column,reason\n{repeat},email,email is already in use\n")
    );
    // The export reads them back in pages, in the order they were created.
    assert!(total as i64 - 1 > export::PAGE);
    let csv = owner
        .request(Method::GET, "/v1/customers/export")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exported: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap()).collect();
    let imported: Vec<String> = (1..=total)
        .filter(|i| *i != repeat)
        .map(|i| format!("p{i}@x.io"))
        .collect();
    assert_eq!(exported, imported);
    if postgres_base_url().is_some() {
        // The import ended by vacuuming what it grew: PostgreSQL counts every row it wrote
        // (the last refresh during the import was after the first batch) and has vacuumed it.
        let mut db = PgConnection::connect(&server.state.config.database_url).await.unwrap();
        let (estimate, vacuums): (f32, i64) = sqlx::query_as(
            "SELECT c.reltuples, s.vacuum_count FROM pg_class c \
             JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = 'customers'",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert!(estimate >= (total - 1) as f32 && vacuums >= 1, "{estimate} {vacuums}");
    }
}

/// On PostgreSQL batches are written two at once. A later batch's row that shares an identifier
/// with the earlier batch waits for that batch's commit and is then checked like any row, so rows
/// end as they would one batch after the other: row 1 is refused (its phone is taken), so a later
/// row with its email is created; a later row repeating row 2's email is refused.
#[tokio::test]
async fn rows_of_batches_written_together_end_as_written_one_after_the_other() {
    let server = TestServer::start().await;
    let owner = server.signup("Together").await;
    let taken = owner.post("/v1/customers", json!({"phone": "+14155550100"})).await;
    assert_eq!(taken.status, 201, "{}", taken.body);
    let total = 2 * BATCH_ROWS + 300;
    let (after_refused, repeat) = (BATCH_ROWS + 10, BATCH_ROWS + 20);
    let rows: String = (1..=total)
        .map(|i| match i {
            1 => "a@x.io,+14155550100\n".to_owned(),
            i if i == after_refused => "a@x.io,\n".to_owned(),
            i if i == repeat => "p2@x.io,\n".to_owned(),
            i => format!("p{i}@x.io,\n"),
        })
        .collect();
    let done = import(&server, &owner, "", format!("email,phone\n{rows}")).await;
    assert_eq!(
        (&done["rows_done"], &done["created"], &done["failed"]),
        (&json!(total), &json!(total - 2), &json!(2)),
        "{done}"
    );
    assert_eq!(
        errors_csv(&owner, &done["id"]).await,
        format!("row,column,reason\n1,phone,phone is already in use\n{repeat},email,email is already in use\n")
    );
    let found = owner.get("/v1/customers?q=a%40x.io").await;
    assert_eq!(found.body["data"].as_array().map(Vec::len), Some(1), "{}", found.body);
}

#[tokio::test]
async fn a_restarted_import_resumes_after_the_committed_rows() {
    // No workers: the test runs the claimed job itself, as a restarted host would.
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    let owner = server.signup("Resume").await;
    let reply = upload(&owner, "", "email\na@x.io\nb@x.io\nc@x.io\n").await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    // As if an earlier attempt had committed the first two rows' batch and then died.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.state.config.database_url).await.unwrap();
    sqlx::query("UPDATE imports SET rows_done = 2, status = 'running' WHERE id = $1")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    let store = &server.state.store;
    let mut jobs = queue::claim(store, "restarted", now_ms(), 60_000, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    switchboard::domain::imports::run_job(server.state.clone(), jobs.remove(0))
        .await
        .expect("import job");
    let done = owner.get(&format!("/v1/imports/{id}")).await;
    assert_eq!(
        (&done.body["status"], &done.body["rows_done"], &done.body["created"]),
        (&json!("done"), &json!(3), &json!(1)),
        "{}",
        done.body
    );
    let list = customers(&owner).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["email"], "c@x.io");
}

/// Uploads `csv` with no worker running and claims its job twice: by a first worker, and by a
/// second once the first stalled past its lease. The first then runs and is fenced off.
/// Answers the import id and the second worker's claim.
async fn taken_over(server: &TestServer, owner: &Session, csv: &str) -> (String, Job) {
    let reply = upload(owner, "", csv).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    let store = &server.state.store;
    let mut first = queue::claim(store, "first", now_ms(), 60_000, 10).await.unwrap();
    let mut second = queue::claim(store, "second", now_ms() + 120_000, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(
        (first.len(), second.len()),
        (1, 1),
        "the expired lease is claimed again"
    );
    let stale = switchboard::domain::imports::run_job(server.state.clone(), first.remove(0)).await;
    assert!(
        stale.unwrap_err().to_string().contains("lease"),
        "the stale worker is fenced off"
    );
    (id, second.remove(0))
}

/// A worker that lost its lease does not end the import either: ending it (and removing the
/// file) belongs to the worker holding the job, which then finds the file and ends it `done`.
#[tokio::test]
async fn a_worker_whose_lease_was_taken_over_does_not_end_the_import() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    let owner = server.signup("Ended").await;
    // No rows: the stale worker reaches the end without a batch that would fence it off.
    let (id, second) = taken_over(&server, &owner, "email\n").await;
    let pending = owner.get(&format!("/v1/imports/{id}")).await;
    assert_ne!(pending.body["status"], "done", "{}", pending.body);
    switchboard::domain::imports::run_job(server.state.clone(), second)
        .await
        .expect("import job");
    let done = owner.get(&format!("/v1/imports/{id}")).await;
    assert_eq!(done.body["status"], "done", "{}", done.body);
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_over_writes_nothing() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    let owner = server.signup("Fenced").await;
    let (id, second) = taken_over(&server, &owner, "email\na@x.io\nb@x.io\n").await;
    assert!(
        customers(&owner).await.is_empty(),
        "nothing written by the stale worker"
    );
    switchboard::domain::imports::run_job(server.state.clone(), second)
        .await
        .expect("import job");
    let done = owner.get(&format!("/v1/imports/{id}")).await;
    assert_eq!(
        (&done.body["status"], &done.body["created"]),
        (&json!("done"), &json!(2)),
        "{}",
        done.body
    );
}

#[tokio::test]
async fn an_upload_retried_with_its_idempotency_key_queues_one_import() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    let owner = server.signup("Retry").await;
    let send = || {
        owner
            .request(Method::POST, "/v1/imports")
            .header(CONTENT_TYPE, "text/csv")
            .header("Idempotency-Key", "upload-1")
            .body("email\na@x.io\n")
    };
    let first = owner.send(send()).await;
    let retry = owner.send(send()).await;
    assert_eq!((first.status, retry.status), (202, 202), "{}", retry.body);
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let jobs = owner.get("/v1/jobs").await;
    assert_eq!(jobs.body["data"].as_array().unwrap().len(), 1, "{}", jobs.body);
}

#[tokio::test]
async fn lease_renewals_never_stall_a_long_import() {
    // A lease this short renews many times while batches hold their transactions open; the
    // renewal must wait on the batch's row lock without stopping the batch.
    let server = TestServer::start_with(|c| c.job_lease_ms = 30).await;
    let owner = server.signup("Heartbeat").await;
    let rows: String = (0..1500).map(|i| format!("h{i}@x.io\n")).collect();
    let done = import(&server, &owner, "", format!("email\n{rows}")).await;
    assert_eq!(
        (&done["status"], &done["created"]),
        (&json!("done"), &json!(1500)),
        "{done}"
    );
}

#[tokio::test]
async fn refused_rows_in_a_row_in_upsert_mode_each_keep_their_error() {
    let server = TestServer::start().await;
    let owner = server.signup("Refusals").await;
    // Each refused row is undone to the row savepoint, and its error row is written after it:
    // the next refusal must not undo that error row too.
    let csv = "email,first_name\nnot-an-address,A\nann@x.io,Ann\nalso-bad,B\nstill-bad,C\n";
    let done = import(&server, &owner, "?mode=upsert", csv).await;
    assert_eq!((&done["created"], &done["failed"]), (&json!(1), &json!(3)), "{done}");
    assert_eq!(
        errors_csv(&owner, &done["id"]).await,
        "row,column,reason\n1,email,must be a valid email address\n\
         3,email,must be a valid email address\n4,email,must be a valid email address\n"
    );
}
