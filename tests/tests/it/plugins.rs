//! Plugins end to end: uploads and their refusals, installations with config, secrets and
//! grants, invocations, runs and logs, webhook routes, and tenant isolation.

use serde_json::{json, Value};
use switchboard_tests::plugins::{hostile, install, installed, invoke, invoke_ok, upload, DIST};
use switchboard_tests::{Session, TestServer};

const ALL_CAPS: [&str; 3] = ["kv", "customers:read", "customers:write"];

#[tokio::test]
async fn upload_install_configure_and_invoke() {
    let server = TestServer::start().await;
    let owner = server.signup("Plugins").await;
    let (wasm, manifest) = hostile();
    let up = upload(&owner, wasm.clone(), &manifest).await;
    assert_eq!(up.status, 201, "{}", up.body);
    assert!(up.body["id"].as_str().unwrap().starts_with("plg_"));
    assert_eq!(
        (up.body["name"].as_str(), up.body["version"].as_str()),
        (Some("hostile"), Some("0.1.0"))
    );
    // The same version again is a conflict; nothing else changes.
    upload(&owner, wasm, &manifest).await.assert_problem(409);

    let ins = owner
        .post(
            "/v1/installations",
            json!({"plugin": up.body["id"], "config": {"greeting": "hi", "token": "s3cret"}, "capabilities": ALL_CAPS}),
        )
        .await;
    assert_eq!(ins.status, 201, "{}", ins.body);
    let id = ins.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ins_"));
    assert_eq!(ins.body["enabled"], true);
    assert_eq!(
        ins.body["config"],
        json!({"greeting": "hi"}),
        "secrets are never returned"
    );
    assert_eq!(ins.body["secrets_set"], json!(["token"]));
    assert_eq!(
        ins.body["webhook_urls"],
        json!([format!("{}/v1/hooks/{}/{id}/echo", server.base_url, owner.tenant_id)])
    );
    let got = owner.get(&format!("/v1/installations/{id}")).await;
    assert!(!got.body.to_string().contains("s3cret"), "{}", got.body);

    // The plugin sees its config with the secret decrypted.
    let echo = invoke(&owner, &id, "echo", json!({"n": 1})).await;
    assert_eq!(echo["outcome"], "ok", "{echo}");
    assert_eq!(echo["output"]["config"], json!({"greeting": "hi", "token": "s3cret"}));
    assert_eq!(echo["output"]["data"], json!({"n": 1}));
    assert!(echo["fuel_used"].as_u64().unwrap() > 0 && echo["memory_peak_bytes"].as_u64().unwrap() > 0);

    let kv = invoke(&owner, &id, "kv-roundtrip", json!({})).await;
    assert_eq!(kv["output"], json!({"value": "hello", "keys": ["greeting"]}), "{kv}");
    let failed = invoke(&owner, &id, "fail", json!({})).await;
    assert_eq!(
        (failed["outcome"].as_str(), failed["error"].as_str()),
        (Some("error"), Some("the handler refused"))
    );
    invoke(&owner, &id, "log", json!({})).await;

    // Runs newest first, paginated; the plugin's log line and the failure's reason in the log.
    let runs = owner.get(&format!("/v1/installations/{id}/runs?limit=2")).await;
    let outcomes: Vec<&str> = runs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["ok", "error"]);
    let cursor = runs.body["next_cursor"].as_str().unwrap();
    let rest = owner.get(&format!("/v1/installations/{id}/runs?after={cursor}")).await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 2, "{}", rest.body);
    let logs = owner.get(&format!("/v1/installations/{id}/logs")).await;
    let messages: Vec<&str> = logs.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages[0], "hello from the plugin");
    assert!(
        messages[1].contains("error") && messages[1].contains("the handler refused"),
        "{messages:?}"
    );

    // Reconfigure keeping the secret; disable; delete.
    let patched = owner
        .patch(
            &format!("/v1/installations/{id}"),
            json!({"config": {"greeting": "hey"}}),
        )
        .await;
    assert_eq!(patched.body["secrets_set"], json!(["token"]), "{}", patched.body);
    let echo = invoke(&owner, &id, "echo", json!({})).await;
    assert_eq!(echo["output"]["config"], json!({"greeting": "hey", "token": "s3cret"}));
    owner
        .patch(&format!("/v1/installations/{id}"), json!({"config": {"greeting": 5}}))
        .await
        .assert_problem(422);
    let disabled = owner
        .patch(&format!("/v1/installations/{id}"), json!({"enabled": false}))
        .await;
    assert_eq!(disabled.body["enabled"], false);
    owner
        .post(
            &format!("/v1/installations/{id}/invoke"),
            json!({"event": {"type": "noop"}}),
        )
        .await
        .assert_problem(409);
    let list = owner.get("/v1/installations").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(stored_rows(&server, &owner, &id).await, (1, 5, 2));
    assert_eq!(owner.delete(&format!("/v1/installations/{id}")).await.status, 204);
    assert_eq!(
        stored_rows(&server, &owner, &id).await,
        (0, 0, 0),
        "no foreign key cascades these"
    );
    owner.get(&format!("/v1/installations/{id}")).await.assert_problem(404);
    owner
        .get(&format!("/v1/installations/{id}/runs"))
        .await
        .assert_problem(404);
}

/// `(KV entries, runs, log lines)` stored for an installation.
async fn stored_rows(server: &TestServer, owner: &Session, id: &str) -> (i64, i64, i64) {
    let ctx = owner.ctx();
    let mut tx = server.state.store.tenant_tx(&ctx).await.unwrap();
    let mut counts = [0; 3];
    for (table, count) in ["plugin_kv", "plugin_runs", "plugin_logs"].iter().zip(&mut counts) {
        *count = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table} WHERE installation_id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    (counts[0], counts[1], counts[2])
}

/// With fuel to spare, an endless loop is stopped by the wall-clock budget (epoch interruption).
#[tokio::test]
async fn the_wall_clock_budget_stops_an_endless_loop() {
    let server = TestServer::start_with(|c| c.plugin_fuel = 1 << 60).await;
    let owner = server.signup("Clock").await;
    let id = installed(&owner, &["kv"]).await;
    let run = invoke(&owner, &id, "loop", json!({})).await;
    assert_eq!(run["outcome"], "timeout", "{run}");
    assert!(
        run["error"].as_str().unwrap().contains("wall-clock budget exhausted"),
        "{run}"
    );
    assert_eq!(invoke(&owner, &id, "noop", json!({})).await["outcome"], "ok");
}

#[tokio::test]
async fn hostile_plugins_fail_alone_and_the_log_says_why() {
    // A wall-clock budget far above what these need, so each stops at its own limit however
    // loaded the machine is (at 50 ms, a loaded debug run hit the clock before the memory
    // limit); the clock has its own test, the_wall_clock_budget_stops_an_endless_loop.
    let server = TestServer::start_with(|c| c.plugin_wall_ms = 5_000).await;
    let owner = server.signup("Hostile").await;
    let id = installed(&owner, &ALL_CAPS).await;
    let cases = [
        ("loop", "timeout", "instruction budget exhausted"),
        ("memory-bomb", "out_of_memory", "memory limit"),
        ("recurse", "trap", "stack overflow"),
        ("huge-output", "trap", "output exceeds"),
        ("panic", "trap", "panicked"),
        ("hammer", "trap", "host call limit"),
        ("ungranted", "denied", "messages:send"),
    ];
    for (event, outcome, reason) in cases {
        // Another request runs while the plugin misbehaves, and is served.
        let (run, me) = tokio::join!(invoke(&owner, &id, event, json!({})), async {
            let started = std::time::Instant::now();
            let reply = owner.get("/v1/me").await;
            (reply.status, started.elapsed())
        });
        assert_eq!(me.0, 200);
        println!("{event}: concurrent GET /v1/me took {:?}", me.1);
        assert_eq!(run["outcome"], outcome, "{event}: {run}");
        assert!(run["error"].as_str().unwrap().contains(reason), "{event}: {run}");
        let logs = owner.get(&format!("/v1/installations/{id}/logs?limit=1")).await;
        let line = logs.body["data"][0]["message"].as_str().unwrap().to_owned();
        assert!(line.contains(outcome) && line.contains(reason), "{event}: {line}");
        // The sandbox is fresh for the next call.
        assert_eq!(invoke(&owner, &id, "noop", json!({})).await["outcome"], "ok");
    }
    // Without customers:read the plugin is refused inside, and the run is `denied`.
    let plugin = owner.get(&format!("/v1/installations/{id}")).await.body["plugin"].clone();
    let limited = install(&owner, plugin.as_str().unwrap(), &["kv"]).await;
    let run = invoke(
        &owner,
        &limited,
        "read-customer",
        json!({"id": "cus_00000000000070008000000000000000"}),
    )
    .await;
    assert_eq!(run["outcome"], "denied", "{run}");
    assert!(run["error"].as_str().unwrap().contains("customers:read"), "{run}");
}

#[tokio::test]
async fn a_plugin_sees_only_its_tenant() {
    let server = TestServer::start().await;
    let a = server.signup("A").await;
    let b = server.signup("B").await;
    let ins = installed(&a, &ALL_CAPS).await;
    let theirs = b.post("/v1/customers", json!({"email": "b@b.example"})).await;
    let ours = a.post("/v1/customers", json!({"email": "a@a.example"})).await;
    let read = |id: Value| invoke(&a, &ins, "read-customer", json!({"id": id}));
    assert_eq!(read(theirs.body["id"].clone()).await["output"], json!({"found": null}));
    assert_eq!(
        read(ours.body["id"].clone()).await["output"],
        json!({"found": ours.body["id"]})
    );
    // Writes go to the installing tenant: the plugin tags A's customer.
    let created = invoke(&a, &ins, "customer.created", json!({"id": ours.body["id"]})).await;
    assert_eq!(created["outcome"], "ok", "{created}");
    let customer = a
        .get(&format!("/v1/customers/{}", ours.body["id"].as_str().unwrap()))
        .await;
    assert_eq!(customer.body["tags"], json!(["seen-by-0.1.0"]));

    // Each installation's KV store is its own: B's installation of the same plugin neither
    // sees A's keys nor shows its own to A.
    let b_ins = installed(&b, &ALL_CAPS).await;
    invoke_ok(&a, &ins, "kv-put", json!({"key": "of-a"})).await;
    invoke_ok(&b, &b_ins, "kv-put", json!({"key": "of-b"})).await;
    let seen_by_b = invoke_ok(&b, &b_ins, "kv-get", json!({"key": "of-a"})).await;
    assert_eq!(seen_by_b, json!({"found": false, "keys": ["of-b"]}));
    let seen_by_a = invoke_ok(&a, &ins, "kv-get", json!({"key": "of-b"})).await;
    assert_eq!(seen_by_a, json!({"found": false, "keys": ["of-a"]}));

    // Another tenant cannot see, change, run or read the installation.
    for path in ["", "/runs", "/logs"] {
        b.get(&format!("/v1/installations/{ins}{path}"))
            .await
            .assert_problem(404);
    }
    b.patch(&format!("/v1/installations/{ins}"), json!({"enabled": false}))
        .await
        .assert_problem(404);
    b.post(
        &format!("/v1/installations/{ins}/invoke"),
        json!({"event": {"type": "noop"}}),
    )
    .await
    .assert_problem(404);
    assert_eq!(b.delete(&format!("/v1/installations/{ins}")).await.status, 404);
    // Nor install A's upload.
    let a_plugin = a.get(&format!("/v1/installations/{ins}")).await.body["plugin"].clone();
    let stolen = b
        .post("/v1/installations", json!({"plugin": a_plugin, "capabilities": []}))
        .await;
    stolen.assert_problem(422);
    assert_eq!(stolen.error_fields(), ["plugin"]);
    // A hook URL naming another tenant is no hook at all.
    let hook = |tenant: &str| server.url(&format!("/v1/hooks/{tenant}/{ins}/echo"));
    assert_eq!(
        server
            .http
            .post(hook(&b.tenant_id))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        server
            .http
            .post(hook(&a.tenant_id))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn webhook_routes_pass_the_raw_request_and_response() {
    let server = TestServer::start().await;
    let owner = server.signup("Hooks").await;
    let ins = installed(&owner, &[]).await;
    let url = server.url(&format!("/v1/hooks/{}/{ins}/echo", owner.tenant_id));
    let reply = server
        .http
        .post(&url)
        .header("x-anything", "1")
        .body("raw body, not JSON")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["x-plugin"], "hostile");
    let body: Value = reply.json().await.unwrap();
    assert_eq!(
        body,
        json!({"route": "echo", "method": "POST", "body": "raw body, not JSON"})
    );
    let runs = owner.get(&format!("/v1/installations/{ins}/runs")).await;
    assert_eq!(runs.body["data"][0]["trigger"], "webhook");
    // Unknown routes, malformed ids and disabled installations have no hook.
    let other = server.url(&format!("/v1/hooks/{}/{ins}/nope", owner.tenant_id));
    assert_eq!(server.http.post(other).send().await.unwrap().status(), 404);
    let bad = server.url(&format!("/v1/hooks/ten_x/{ins}/echo"));
    assert_eq!(server.http.post(bad).send().await.unwrap().status(), 404);
    owner
        .patch(&format!("/v1/installations/{ins}"), json!({"enabled": false}))
        .await;
    assert_eq!(server.http.post(&url).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn bad_uploads_and_installs_are_refused_whole() {
    let server = TestServer::start_with(|c| c.plugin_max_bytes = 200_000).await;
    let owner = server.signup("Refusals").await;
    let (wasm, manifest) = hostile();
    let refused = |reply: switchboard_tests::Reply, field: &str, says: &str| {
        reply.assert_problem(422);
        assert_eq!(reply.error_fields(), [field], "{}", reply.body);
        assert!(reply.body.to_string().contains(says), "{}", reply.body);
    };
    refused(
        upload(&owner, b"hello".to_vec(), &manifest).await,
        "wasm",
        "not a WebAssembly component",
    );
    refused(
        upload(&owner, b"\0asm\x01\0\0\0".to_vec(), &manifest).await,
        "wasm",
        "core WebAssembly module",
    );
    let evil = wat::parse_str(r#"(component (import "evil:fs/files@1.0.0" (instance)))"#).unwrap();
    refused(upload(&owner, evil, &manifest).await, "wasm", "evil:fs/files");
    refused(
        upload(
            &owner,
            wasm.clone(),
            &manifest.replace("interface = \"0.1.1\"", "interface = \"0.1.0\""),
        )
        .await,
        "manifest.interface",
        "built for 0.1.1",
    );
    // A newer interface than the host's, or another major one.
    for newer in ["0.1.2", "1.0.0"] {
        refused(
            upload(
                &owner,
                wasm.clone(),
                &manifest.replace("interface = \"0.1.1\"", &format!("interface = \"{newer}\"")),
            )
            .await,
            "manifest.interface",
            "not compatible",
        );
    }
    refused(
        upload(
            &owner,
            wasm.clone(),
            &manifest.replace("name = \"hostile\"", "name = \"friendly\""),
        )
        .await,
        "manifest.name",
        "component is hostile",
    );
    refused(upload(&owner, wasm.clone(), "name = 3").await, "manifest", "");
    let big = [wasm.clone(), vec![0u8; 200_000]].concat();
    upload(&owner, big, &manifest).await.assert_problem(413);

    // Nothing was stored: the first good upload is the plugin's first version.
    let up = upload(&owner, wasm, &manifest).await;
    assert_eq!(up.status, 201, "{}", up.body);
    let install = |body: Value| owner.post("/v1/installations", body);
    let r = install(json!({"plugin": up.body["id"], "config": {"greeting": 5}})).await;
    refused(r, "config.greeting", "");
    let r = install(json!({"plugin": up.body["id"], "capabilities": ["messages:send"]})).await;
    refused(r, "capabilities[0]", "does not request");
    let r = install(json!({"plugin": up.body["id"], "version": "9.9.9"})).await;
    refused(r, "plugin", "version 9.9.9");
    let r = install(json!({"plugin": "no-such-plugin"})).await;
    refused(r, "plugin", "no catalog plugin");
    assert_eq!(owner.get("/v1/installations").await.body["data"], json!([]));
}

#[tokio::test]
async fn catalog_plugins_install_by_name() {
    let server = TestServer::start_with(|c| c.plugin_catalog_dir = DIST.into()).await;
    let owner = server.signup("Catalog").await;
    let catalog = owner.get("/v1/plugin-catalog").await;
    assert_eq!(catalog.status, 200);
    let entry = &catalog.body["data"][0];
    assert_eq!(entry["name"], "hostile");
    assert_eq!(entry["capabilities"], json!(ALL_CAPS));
    assert_eq!(entry["config_schema"]["properties"]["token"]["secret"], true);
    let ins = owner
        .post(
            "/v1/installations",
            json!({"plugin": "hostile", "capabilities": ["kv"]}),
        )
        .await;
    assert_eq!(ins.status, 201, "{}", ins.body);
    let id = ins.body["id"].as_str().unwrap();
    assert_eq!(invoke(&owner, id, "kv-roundtrip", json!({})).await["outcome"], "ok");
}

/// A run reads its KV namespace once when it is small, key by key when it is larger than the
/// snapshot (256 keys); either way gets, misses, lists and the run's own writes are right, and
/// another installation sees none of it.
#[tokio::test]
async fn kv_reads_are_right_below_and_past_the_snapshot_size() {
    // Past the snapshot a scan reads key by key, a round trip each: with the default budget a
    // loaded debug run on PostgreSQL ran out of time (279 host calls in 249 ms). The test is
    // about what the reads return, so the clock is set far off.
    let server = TestServer::start_with(|c| c.plugin_wall_ms = 5_000).await;
    let owner = server.signup("KV").await;
    let (wasm, manifest) = hostile();
    let up = upload(&owner, wasm, &manifest).await;
    let plugin = up.body["id"].as_str().unwrap();
    for n in [10, 300] {
        let id = install(&owner, plugin, &["kv"]).await;
        let fill = invoke(&owner, &id, "kv-fill", json!({"from": 0, "n": n})).await;
        assert_eq!(fill["outcome"], "ok", "{fill}");
        let scan = invoke(&owner, &id, "kv-scan", json!({"n": n})).await;
        assert_eq!(
            scan["output"],
            json!({"matching": n, "missing": true, "listed": n, "deleted": true, "after": n - 1}),
            "{scan}"
        );
        // Another installation's namespace is empty.
        let other = install(&owner, plugin, &["kv"]).await;
        let scan = invoke(&owner, &other, "kv-scan", json!({"n": n})).await;
        assert_eq!(
            scan["output"],
            json!({"matching": 0, "missing": true, "listed": 0, "deleted": true, "after": 0}),
            "{scan}"
        );
    }
}
