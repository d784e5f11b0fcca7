//! The job queue beyond imports: scheduled jobs, tenants taking turns, dead letters retried
//! through the API.

use serde_json::json;
use switchboard::jobs::{queue, NewJob};
use switchboard::store::now_ms;
use switchboard_tests::TestServer;

fn job(tenant_id: Option<&str>, kind: &'static str) -> NewJob {
    NewJob {
        tenant_id: tenant_id.map(str::to_owned),
        kind,
        payload: json!({}),
        idempotency_key: None,
    }
}

#[tokio::test]
async fn a_scheduled_job_is_not_claimed_before_its_time() {
    // No workers: the test is the only claimer and chooses the clock.
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    let (store, jobs) = (&server.state.store, &server.state.jobs);
    let now = now_ms();
    let later = jobs
        .submit_at(store, &job(None, "test.later"), now + 3_600_000)
        .await
        .unwrap();
    assert!(queue::claim(store, "w", now, 60_000, 10).await.unwrap().is_empty());
    assert!(queue::claim(store, "w", now + 3_599_999, 60_000, 10)
        .await
        .unwrap()
        .is_empty());
    let due = queue::claim(store, "w", now + 3_600_000, 60_000, 10).await.unwrap();
    assert_eq!(due.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(), [later.as_str()]);
}

#[tokio::test]
async fn tenants_take_turns_however_many_jobs_one_has_queued() {
    let server = TestServer::start_with(|c| c.job_workers = 0).await;
    let (store, jobs) = (&server.state.store, &server.state.jobs);
    let big = server.signup("Big").await;
    let small = server.signup("Small").await;
    let now = now_ms();
    for _ in 0..50 {
        jobs.submit_at(store, &job(Some(&big.tenant_id), "test.bulk"), now - 1_000)
            .await
            .unwrap();
    }
    // Queued after all of Big's and due later, yet served within the next two claims.
    let urgent = jobs
        .submit_at(store, &job(Some(&small.tenant_id), "test.urgent"), now)
        .await
        .unwrap();
    let mut served = Vec::new();
    for step in 0..4 {
        let claimed = queue::claim(store, "w", now + step, 60_000, 1).await.unwrap();
        assert_eq!(claimed.len(), 1);
        served.push(claimed[0].tenant_id.clone().unwrap());
    }
    let small_turns: Vec<usize> = (0..4).filter(|&i| served[i] == small.tenant_id).collect();
    assert_eq!(small_turns.len(), 1, "{served:?}");
    assert!(small_turns[0] <= 1, "Small waited behind Big: {served:?}");
    assert_eq!(served.iter().filter(|t| **t == big.tenant_id).count(), 3);
    let row = queue::get(store, &urgent).await.unwrap().unwrap();
    assert_eq!(row.status, "running");
}

#[tokio::test]
async fn a_dead_job_is_shown_and_retried_through_the_api() {
    let server = TestServer::start_with(|c| c.job_max_attempts = 2).await;
    let owner = server.signup("Dead letters").await;
    let id = server
        .state
        .jobs
        .submit(&server.state.store, &job(Some(&owner.tenant_id), "test.no-such-kind"))
        .await
        .unwrap();
    let path = format!("/v1/jobs/{id}");
    let dead = server
        .until_jobs(|| async {
            let reply = owner.get(&path).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            (reply.body["status"] == "dead").then_some(reply.body)
        })
        .await;
    assert_eq!(dead["attempts"], 2);
    assert!(dead["last_error"].as_str().unwrap().contains("no handler"), "{dead}");

    let stranger = server.signup("Stranger").await;
    stranger.get(&path).await.assert_problem(404);
    stranger
        .post(&format!("{path}/retry"), json!({}))
        .await
        .assert_problem(404);
    owner.get("/v1/jobs/job_nope").await.assert_problem(404);

    let retried = owner.post(&format!("{path}/retry"), json!({})).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body["status"], "queued");
    assert_eq!(retried.body["attempts"], 0);
    // It runs (and, still without a handler, dies) again: two more attempts.
    let again = server
        .until_jobs(|| async {
            let reply = owner.get(&path).await;
            (reply.body["status"] == "dead").then_some(reply.body)
        })
        .await;
    assert_eq!(again["attempts"], 2);
    // Only a dead job can be retried.
    let sql_pool = {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&server.state.config.database_url).await.unwrap()
    };
    sqlx::query("UPDATE jobs SET status = 'done' WHERE id = $1")
        .bind(id.as_str())
        .execute(&sql_pool)
        .await
        .unwrap();
    owner
        .post(&format!("{path}/retry"), json!({}))
        .await
        .assert_problem(409);
}
