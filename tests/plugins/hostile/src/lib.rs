// Does what the event type says, so each limit of the sandbox can be met on purpose. (A plain
// comment: tests/plugins/hostile-next includes this file as another version of the plugin.)

use std::time::Duration;

use switchboard_sdk::serde_json::{json, Value};
use switchboard_sdk::{host, plugin, Event, Plugin, Request, Response, Result};

struct Hostile;

#[inline(never)]
fn recurse(n: u64) -> u64 {
    if n == u64::MAX {
        return 0;
    }
    // Black-boxed so the recursion is real and not turned into a loop.
    std::hint::black_box(recurse(std::hint::black_box(n + 1))) + 1
}

impl Plugin for Hostile {
    fn on_event(event: Event) -> Result<Value> {
        match event.event_type.as_str() {
            "noop" => Ok(Value::Null),
            "echo" => Ok(json!({"data": event.data, "config": host::config::<Value>()?})),
            "loop" => loop {
                std::hint::black_box(0);
            },
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => Ok(json!(recurse(0))),
            // 1.5 MiB: over the 1 MiB output cap, and cheap to build and serialise.
            "huge-output" => Ok(Value::String("x".repeat(3 << 19))),
            "panic" => panic!("the plugin panicked on purpose"),
            "fail" => Err("the handler refused".into()),
            // Needs messages:send, which the manifest does not even request.
            "ungranted" => {
                let message = host::Message {
                    channel: host::Channel::Email,
                    customer_id: "cus_x".into(),
                    subject: None,
                    body: "hi".into(),
                };
                Ok(json!(host::send_message(&message)?))
            }
            // Reads a customer by id: another tenant's id must look like no customer at all.
            "read-customer" => {
                let id = event.data["id"].as_str().unwrap_or_default();
                let found = host::customers::get(id)?;
                Ok(json!({"found": found.map(|c| c.id)}))
            }
            "hammer" => loop {
                host::now_ms();
            },
            "kv10" => {
                for i in 0..10 {
                    host::kv::get(&format!("k{i}"))?;
                }
                Ok(Value::Null)
            }
            "kv-roundtrip" => {
                host::kv::put("greeting", b"hello")?;
                let back = host::kv::get("greeting")?.unwrap_or_default();
                let keys = host::kv::list("", None, 10)?;
                Ok(json!({"value": String::from_utf8_lossy(&back), "keys": keys}))
            }
            // Writes keys `from` to `from + n`, so the namespace can outgrow the snapshot a run
            // reads (in several runs: each put is a transaction of its own).
            "kv-fill" => {
                let from = event.data["from"].as_u64().unwrap_or(0);
                let n = event.data["n"].as_u64().unwrap_or(0);
                for i in from..from + n {
                    host::kv::put(&format!("many/{i:04}"), i.to_string().as_bytes())?;
                }
                Ok(Value::Null)
            }
            // Reads back what kv-fill wrote, then deletes one key and lists again.
            "kv-scan" => {
                let n = event.data["n"].as_u64().unwrap_or(0);
                let mut matching = 0;
                for i in 0..n {
                    let value = host::kv::get(&format!("many/{i:04}"))?;
                    matching += u64::from(value.as_deref() == Some(i.to_string().as_bytes()));
                }
                let missing = host::kv::get("many/missing")?.is_none();
                let listed = host::kv::list("many/", None, 1000)?.len();
                host::kv::delete("many/0000")?;
                let deleted = host::kv::get("many/0000")?.is_none();
                let after = host::kv::list("many/", None, 1000)?.len();
                Ok(json!({"matching": matching, "missing": missing, "listed": listed, "deleted": deleted, "after": after}))
            }
            // Puts `len` bytes under `key`, for `ttl_ms` when given (else for good); lists after.
            "kv-put" => {
                let key = event.data["key"].as_str().unwrap_or("k");
                let value = "x".repeat(event.data["len"].as_u64().unwrap_or(1) as usize);
                match event.data["ttl_ms"].as_u64() {
                    Some(ttl) => host::kv::put_expiring(key, value.as_bytes(), Duration::from_millis(ttl))?,
                    None => host::kv::put(key, value.as_bytes())?,
                }
                Ok(json!({"keys": host::kv::list("", None, 100)?}))
            }
            // A run's writes are one transaction: a failing run leaves none of them.
            "write-then-fail" => {
                host::kv::put("doomed", b"1")?;
                Err("failed after writing".into())
            }
            // A refused call is undone alone: the run goes on and what it writes next stays.
            "refused-then-put" => {
                let len = event.data["len"].as_u64().unwrap_or(1) as usize;
                let refused = host::kv::put("big", "x".repeat(len).as_bytes()).is_err();
                host::kv::put("small", b"1")?;
                Ok(json!({"refused": refused, "keys": host::kv::list("", None, 100)?}))
            }
            "kv-get" => {
                let key = event.data["key"].as_str().unwrap_or("k");
                Ok(json!({"found": host::kv::get(key)?.is_some(), "keys": host::kv::list("", None, 100)?}))
            }
            "log" => {
                host::log::info("hello from the plugin");
                Ok(Value::Null)
            }
            // Which build this is: the upgrade test runs two versions of these sources.
            "version" => Ok(json!(env!("CARGO_PKG_VERSION"))),
            // Asks for `followed-up` with the same data after `delay_ms`; `schedule-then-fail`
            // asks too, then fails, so its follow-up must be dropped.
            "schedule" | "schedule-then-fail" => {
                let delay = event.data["delay_ms"].as_u64().unwrap_or(0);
                host::schedule(delay, "followed-up", &event.data)?;
                if event.event_type == "schedule-then-fail" {
                    return Err("failed after scheduling".into());
                }
                Ok(Value::Null)
            }
            // Tags the customer in the data, so the follow-up's run shows from outside.
            "followed-up" => {
                let id = event.data["id"].as_str().unwrap_or_default();
                host::customers::tag(id, &["followed-up"], &[])?;
                Ok(json!({"event_id": event.id}))
            }
            "customer.created" => {
                let id = event.data["id"].as_str().unwrap_or_default();
                host::customers::tag(id, &[concat!("seen-by-", env!("CARGO_PKG_VERSION"))], &[])?;
                Ok(Value::Null)
            }
            other => Err(format!("unknown test event {other}").into()),
        }
    }

    fn transform(request: Request) -> Result<Response> {
        let mut response = Response::json(
            200,
            &json!({"route": request.route, "method": request.method, "body": String::from_utf8_lossy(&request.body)}),
        );
        response.headers.push(("x-plugin".into(), "hostile".into()));
        Ok(response)
    }
}

plugin!(Hostile);
