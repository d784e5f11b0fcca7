//! KV entries that expire (`kv-put-expiring`, interface 0.1.1), and components built for the
//! interface before it, which still run.

use serde_json::{json, Value};
use switchboard::domain::plugins::kv_expiry;
use switchboard_tests::plugins::{hostile_for_interface_0_1_0, install, installed, invoke, invoke_ok, upload};
use switchboard_tests::TestServer;

/// An expiring entry is there until its time, then absent from gets, lists and the quota, and
/// housekeeping deletes it; an entry kept for an hour stays. A time to live out of range is
/// refused.
#[tokio::test]
async fn kv_entries_expire() {
    let server = TestServer::start_with(|c| c.plugin_kv_quota_bytes = 300).await;
    let owner = server.signup("Expiry").await;
    let id = installed(&owner, &["kv"]).await;

    let lasting = invoke_ok(
        &owner,
        &id,
        "kv-put",
        json!({"key": "lasting", "len": 1, "ttl_ms": 3_600_000}),
    )
    .await;
    assert_eq!(lasting["keys"], json!(["lasting"]));
    invoke_ok(&owner, &id, "kv-put", json!({"key": "brief", "len": 200, "ttl_ms": 1})).await;
    for ttl in [0, 91 * 24 * 3_600_000u64] {
        let refused = invoke(&owner, &id, "kv-put", json!({"key": "bad", "ttl_ms": ttl})).await;
        assert_eq!(refused["outcome"], "error", "{refused}");
        assert!(refused["error"].as_str().unwrap().contains("ttl-ms"), "{refused}");
    }

    // Each run reads the store anew; "brief" is gone once a millisecond has passed.
    let mut gone = None;
    for _ in 0..1000 {
        let got = invoke_ok(&owner, &id, "kv-get", json!({"key": "brief"})).await;
        if got["found"] == false {
            gone = Some(got);
            break;
        }
    }
    let gone = gone.expect("the 1 ms entry expired");
    assert_eq!(gone["keys"], json!(["lasting"]), "expired entries are not listed");

    // 250 bytes fit only if the expired 205 no longer count against the 300-byte quota; more
    // does not fit.
    invoke_ok(&owner, &id, "kv-put", json!({"key": "big", "len": 250})).await;
    let over = invoke(&owner, &id, "kv-put", json!({"key": "more", "len": 100})).await;
    assert_eq!(over["outcome"], "error", "{over}");
    assert!(
        over["error"].as_str().unwrap().contains("limited to 300 bytes"),
        "{over}"
    );

    assert_eq!(kv_expiry::prune(&server.state.store).await.unwrap(), 1);
    assert_eq!(kv_expiry::prune(&server.state.store).await.unwrap(), 0);
    let kept = invoke_ok(&owner, &id, "kv-get", json!({"key": "lasting"})).await;
    assert_eq!(kept, json!({"found": true, "keys": ["big", "lasting"]}));
}

/// The quota counts what is stored now: overwriting a key with less and deleting a key free
/// their bytes, and a refused put leaves nothing behind.
#[tokio::test]
async fn the_quota_follows_overwrites_and_deletes() {
    let server = TestServer::start_with(|c| c.plugin_kv_quota_bytes = 300).await;
    let owner = server.signup("Quota").await;
    let id = installed(&owner, &["kv"]).await;
    let refused = |run: Value| {
        assert_eq!(run["outcome"], "error", "{run}");
        assert!(run["error"].as_str().unwrap().contains("limited to 300 bytes"), "{run}");
    };

    invoke_ok(&owner, &id, "kv-put", json!({"key": "big", "len": 280})).await; // 283 bytes
    invoke_ok(&owner, &id, "kv-fill", json!({"from": 0, "n": 1})).await; // "many/0000" = "0": 293
    refused(invoke(&owner, &id, "kv-put", json!({"key": "c", "len": 8})).await);
    let absent = invoke_ok(&owner, &id, "kv-get", json!({"key": "c"})).await;
    assert_eq!(absent["found"], false, "a refused put is rolled back: {absent}");

    // kv-scan deletes many/0000: 283 left, so 9 more bytes fit.
    invoke_ok(&owner, &id, "kv-scan", json!({"n": 1})).await;
    invoke_ok(&owner, &id, "kv-put", json!({"key": "c", "len": 8})).await; // 292
    refused(invoke(&owner, &id, "kv-put", json!({"key": "d", "len": 150})).await);
    // "big" shrinks to 103 bytes: 112 in all, and 153 more fit.
    invoke_ok(&owner, &id, "kv-put", json!({"key": "big", "len": 100})).await;
    let keys = invoke_ok(&owner, &id, "kv-put", json!({"key": "d", "len": 150})).await;
    assert_eq!(keys["keys"], json!(["big", "c", "d"]));
}

/// A run's writes are one transaction: when the run fails none of them stay; a call that is
/// refused is undone alone, and the run goes on and keeps what it writes next.
#[tokio::test]
async fn a_run_writes_all_or_nothing() {
    let server = TestServer::start_with(|c| c.plugin_kv_quota_bytes = 100).await;
    let owner = server.signup("Atomic").await;
    let id = installed(&owner, &["kv"]).await;
    let failed = invoke(&owner, &id, "write-then-fail", json!({})).await;
    assert_eq!(failed["outcome"], "error", "{failed}");
    let got = invoke_ok(&owner, &id, "kv-get", json!({"key": "doomed"})).await;
    assert_eq!(got, json!({"found": false, "keys": []}));

    let out = invoke_ok(&owner, &id, "refused-then-put", json!({"len": 200})).await;
    assert_eq!(out, json!({"refused": true, "keys": ["small"]}));
    let got = invoke_ok(&owner, &id, "kv-get", json!({"key": "small"})).await;
    assert_eq!(got, json!({"found": true, "keys": ["small"]}));
}

/// Putting a key for good after putting it with a time to live keeps it for good.
#[tokio::test]
async fn a_plain_put_makes_an_expiring_entry_permanent() {
    let server = TestServer::start().await;
    let owner = server.signup("Permanent").await;
    let id = installed(&owner, &["kv"]).await;
    invoke_ok(&owner, &id, "kv-put", json!({"key": "k", "ttl_ms": 1})).await;
    invoke_ok(&owner, &id, "kv-put", json!({"key": "k"})).await;
    // Runs later, when the 1 ms entry would have expired: nothing to prune, still there.
    invoke_ok(&owner, &id, "kv-get", json!({"key": "k"})).await;
    assert_eq!(kv_expiry::prune(&server.state.store).await.unwrap(), 0);
    let got = invoke_ok(&owner, &id, "kv-get", json!({"key": "k"})).await;
    assert_eq!(got, json!({"found": true, "keys": ["k"]}));
}

/// A component built for interface 0.1.0 (before `kv-put-expiring`) uploads and runs on this
/// 0.1.1 host: its imports and exports are matched semver-compatibly.
#[tokio::test]
async fn components_built_for_interface_0_1_0_still_run() {
    let server = TestServer::start().await;
    let owner = server.signup("Older").await;
    let (wasm, manifest) = hostile_for_interface_0_1_0();
    assert!(manifest.contains("interface = \"0.1.0\""));
    let up = upload(&owner, wasm, &manifest).await;
    assert_eq!(up.status, 201, "{}", up.body);
    let id = install(&owner, up.body["id"].as_str().unwrap(), &["kv"]).await;
    let run = invoke_ok(&owner, &id, "kv-roundtrip", json!({})).await;
    assert_eq!(run, json!({"value": "hello", "keys": ["greeting"]}));
}

/// A run keeps the connection of its first read (a webhook's: its installation's) for its later
/// reads and its record, and gives it back before it waits for another; a webhook takes its
/// run's permit before that connection. With more runs at once than connections, none of them
/// waits on a connection another run holds while waiting itself (that would stall them all
/// until the pool's acquire timeout, and fail them).
#[tokio::test]
async fn runs_holding_connections_do_not_wait_on_each_other() {
    let server = TestServer::start_with(|c| {
        c.database_max_connections = 3;
        c.plugin_concurrency = 12;
    })
    .await;
    let owner = server.signup("Pool").await;
    let id = installed(&owner, &["kv", "customers:read"]).await;
    invoke_ok(&owner, &id, "kv-put", json!({"key": "k"})).await;
    // Webhooks read their installation on the connection their run goes on with.
    let hook = server.url(&format!("/v1/hooks/{}/{id}/echo", owner.tenant_id));
    let runs = (0..32).map(|i| {
        let (server, owner, id, hook) = (&server, &owner, &id, &hook);
        async move {
            match i % 4 {
                0 => invoke(owner, id, "kv-get", json!({"key": "k"})).await,
                1 => invoke(owner, id, "read-customer", json!({"id": "cus_missing"})).await,
                2 => invoke(owner, id, "kv-put", json!({"key": format!("k{i}")})).await,
                _ => {
                    let reply = server.http.post(hook).body("ping").send().await.unwrap();
                    assert_eq!(reply.status(), 200);
                    json!({"outcome": "ok"})
                }
            }
        }
    });
    for run in futures_util::future::join_all(runs).await {
        assert_eq!(run["outcome"], "ok", "{run}");
    }
    let got = invoke_ok(&owner, &id, "kv-get", json!({"key": "k"})).await;
    assert_eq!(got["keys"].as_array().unwrap().len(), 9, "{got}");
}
