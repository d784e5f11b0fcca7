//! Open and click tracking end to end: signed links in each email, counted per message, in the
//! campaign's stats, on the customer's timeline and as domain events; a tenant's tracking
//! domain carries its links and serves only its own.

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use switchboard_tests::email::{link_in, news_reader, send_news, verified_sender};
use switchboard_tests::fakes::resend::FakeResend;
use switchboard_tests::{Session, TestServer};

async fn server_with(fake: &FakeResend) -> TestServer {
    let (url, key) = (fake.base_url.clone(), fake.api_key.clone());
    TestServer::start_with(move |c| {
        c.resend_base_url = url;
        c.resend_api_key = Some(key.into());
    })
    .await
}

const HTML: &str = "<html><body><p>Hi {{ first_name | default('there') }}</p>\
    <a href=\"https://shop.example/sale?a=1&amp;b=2\">Sale</a> <a href=\"mailto:help@acme.test\">Help</a></body></html>";

fn html_to(fake: &FakeResend, to: &str) -> String {
    let emails = fake.emails();
    let email = &emails.iter().rev().find(|(e, _)| e["to"] == json!([to])).unwrap().0;
    email["html"].as_str().unwrap().to_owned()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn opens_and_clicks_are_counted_per_message_in_stats_timeline_and_domain_events() {
    let fake = FakeResend::start().await;
    let server = server_with(&fake).await;
    let owner = server.signup("Tracking").await;
    verified_sender(&owner, Some(&fake), "news@acme.test").await;
    let ann = news_reader(&owner, "ann@x.test").await;
    news_reader(&owner, "bob@x.test").await;
    // Stored, but no provider sends to it: skipped and counted.
    news_reader(&owner, "root@localhost").await;
    let campaign = send_news(&server, &owner, HTML).await;
    let id = campaign["id"].as_str().unwrap();
    assert_eq!(
        (&campaign["recipients"], &campaign["sent"], &campaign["invalid"]),
        (&json!(2), &json!(2), &json!(1)),
        "{campaign}"
    );
    assert!(!fake.deliveries().contains_key("root@localhost"));

    let html = html_to(&fake, "ann@x.test");
    assert!(!html.contains("https://shop.example"), "the link is tracked: {html}");
    assert!(html.contains("href=\"mailto:help@acme.test\""), "{html}");
    let pixel = link_in(&html, "/t/o/");
    let click = link_in(&html, "/t/c/");
    assert!(pixel.starts_with(&server.url("/t/o/msg_")), "{pixel}");

    let http = no_redirects();
    for _ in 0..2 {
        let r = http.get(&pixel).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/gif");
        assert_eq!(r.bytes().await.unwrap()[..6], *b"GIF89a");
    }
    let r = http.get(&click).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "https://shop.example/sale?a=1&b=2");

    // Tampered tokens: another target under the same signature, a changed signature, another
    // message's pixel. None redirects anywhere.
    let token = click.rsplit_once("/t/c/").unwrap().1;
    let (payload, tag) = token.rsplit_once('.').unwrap();
    let (message, _) = payload.split_once('.').unwrap();
    let evil = URL_SAFE_NO_PAD.encode("https://evil.example/");
    let flipped = if tag.ends_with('A') { "B" } else { "A" };
    for forged in [
        format!("/t/c/{message}.{evil}.{tag}"),
        format!("/t/c/{payload}.{}{flipped}", &tag[..tag.len() - 1]),
        format!("/t/c/{message}.{tag}"),
        format!("/t/o/msg_{}.{tag}", "0".repeat(32)),
    ] {
        let r = http.get(server.url(&forged)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{forged}");
        assert!(r.headers().get("location").is_none());
    }

    // Bob opens it from many devices at once: opens are group-committed, none is lost.
    let bob_pixel = link_in(&html_to(&fake, "bob@x.test"), "/t/o/");
    let opens = (0..24).map(|_| http.get(&bob_pixel).send());
    for r in futures_util::future::join_all(opens).await {
        assert_eq!(r.unwrap().status(), 200);
    }

    let stats = owner.get(&format!("/v1/email-campaigns/{id}/stats")).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let s = &stats.body;
    assert_eq!(
        (&s["sent"], &s["recipients"], &s["invalid"]),
        (&json!(2), &json!(2), &json!(1)),
        "{s}"
    );
    assert_eq!(s["opened"], json!({"total": 26, "unique": 2}), "{s}");
    assert_eq!(s["clicked"], json!({"total": 1, "unique": 1}), "{s}");
    assert_eq!(
        (&s["delivered"], &s["bounced"], &s["unsubscribed"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(s["rates"]["open"], 1.0, "{s}");
    assert_eq!(s["rates"]["click"], 0.5, "{s}");
    let hours = s["hourly"].as_array().unwrap();
    let sent_hourly: i64 = hours.iter().map(|h| h["sent"].as_i64().unwrap()).sum();
    let opens_hourly: i64 = hours.iter().map(|h| h["opened"]["total"].as_i64().unwrap()).sum();
    assert_eq!((sent_hourly, opens_hourly), (2, 26), "{s}");
    assert!(hours[0]["hour"].as_str().unwrap().ends_with(":00:00Z"), "{s}");

    let timeline = owner.get(&format!("/v1/customers/{ann}/timeline")).await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    let entry = &timeline.body["data"][0];
    assert_eq!(entry["kind"], "message", "{}", timeline.body);
    let m = &entry["message"];
    assert_eq!(
        (&m["campaign_id"], &m["to"], &m["channel"]),
        (&json!(id), &json!("ann@x.test"), &json!("email"))
    );
    assert_eq!((&m["opens"], &m["clicks"]), (&json!(2), &json!(1)), "{m}");

    let events = |t: &str| {
        let owner = owner.clone();
        let t = t.to_owned();
        async move { owner.get(&format!("/v1/domain-events?type={t}")).await.body["data"].clone() }
    };
    assert_eq!(events("message.sent").await.as_array().unwrap().len(), 2);
    let opened = events("message.opened").await;
    assert_eq!(opened.as_array().unwrap().len(), 26);
    let clicked = events("message.clicked").await;
    // The data of every message event: the message's ids and address, and when.
    let fields = [
        "campaign_id",
        "channel",
        "customer_id",
        "message_id",
        "occurred_at",
        "to",
    ];
    let keys = |e: &Value| e["data"].as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(keys(&opened[0]), fields.map(String::from).into(), "{opened}");
    assert_eq!(
        keys(&clicked[0]),
        fields.iter().chain(&["url"]).map(|k| k.to_string()).collect(),
        "{clicked}"
    );
    assert_eq!(
        clicked[0]["data"]["url"], "https://shop.example/sale?a=1&b=2",
        "{clicked}"
    );
    let data = &clicked[0]["data"];
    assert_eq!(
        (
            &data["customer_id"],
            &data["campaign_id"],
            &data["to"],
            &data["channel"]
        ),
        (&json!(ann), &json!(id), &json!("ann@x.test"), &json!("email"))
    );
    assert_eq!(data["occurred_at"], clicked[0]["occurred_at"], "{clicked}");

    // Another tenant sees none of it.
    let other = server.signup("Other").await;
    other
        .get(&format!("/v1/email-campaigns/{id}/stats"))
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn a_tracking_domain_carries_the_tenants_links_and_serves_only_its_own() {
    let fake = FakeResend::start().await;
    let server = server_with(&fake).await;
    let acme = server.signup("Acme").await;
    let globex = server.signup("Globex").await;
    let put = |s: &Session, domain: &str| {
        let s = s.clone();
        let body = json!({ "domain": domain });
        async move { s.call(reqwest::Method::PUT, "/v1/tracking-domain", Some(body)).await }
    };
    for bad in ["localhost", "https://links.acme.test", "links.acme.test:8080"] {
        let r = put(&acme, bad).await;
        r.assert_problem(422);
        assert_eq!(r.error_fields(), ["domain"], "{bad}");
    }
    acme.get("/v1/tracking-domain").await.assert_problem(404);
    let set = put(&acme, "Links.Acme.test").await;
    assert_eq!(set.body["domain"], "links.acme.test", "{}", set.body);
    assert_eq!(acme.get("/v1/tracking-domain").await.body["domain"], "links.acme.test");
    put(&globex, "links.acme.test").await.assert_problem(409);

    verified_sender(&acme, Some(&fake), "news@acme.test").await;
    verified_sender(&globex, Some(&fake), "news@acme.test").await;
    news_reader(&acme, "ann@x.test").await;
    news_reader(&globex, "gus@x.test").await;
    send_news(&server, &acme, HTML).await;
    send_news(&server, &globex, HTML).await;

    let acme_html = html_to(&fake, "ann@x.test");
    let acme_click = link_in(&acme_html, "/t/c/");
    assert!(acme_click.starts_with("http://links.acme.test/t/c/"), "{acme_click}");
    assert!(link_in(&acme_html, "/t/o/").starts_with("http://links.acme.test/t/o/"));
    let emails = fake.emails();
    let to_ann = &emails.iter().find(|(e, _)| e["to"] == json!(["ann@x.test"])).unwrap().0;
    let unsubscribe = to_ann["headers"]["List-Unsubscribe"].as_str().unwrap();
    assert!(unsubscribe.starts_with("<http://links.acme.test/u/"), "{unsubscribe}");
    let globex_click = link_in(&html_to(&fake, "gus@x.test"), "/t/c/");
    assert!(globex_click.starts_with(&server.url("/t/c/")), "{globex_click}");

    // The tracking domain is this server (its DNS points here): requests carry its Host.
    let http = no_redirects();
    let on_acme_domain = |path: &str| http.get(server.url(path)).header("host", "links.acme.test").send();
    let acme_path = acme_click.trim_start_matches("http://links.acme.test");
    let globex_path = globex_click.trim_start_matches(&server.base_url);
    let r = on_acme_domain(acme_path).await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "https://shop.example/sale?a=1&b=2");
    assert_eq!(
        on_acme_domain(globex_path).await.unwrap().status(),
        404,
        "another tenant's link"
    );
    let unsubscribe_path = unsubscribe
        .trim_start_matches("<http://links.acme.test")
        .trim_end_matches('>');
    assert_eq!(on_acme_domain(unsubscribe_path).await.unwrap().status(), 200);
    assert_eq!(
        on_acme_domain("/healthz").await.unwrap().status(),
        404,
        "only tracking routes"
    );
    assert_eq!(on_acme_domain("/docs").await.unwrap().status(), 404);
    // On the public host every tenant's links work.
    assert_eq!(http.get(&globex_click).send().await.unwrap().status(), 302);
    assert_eq!(http.get(server.url(acme_path)).send().await.unwrap().status(), 302);

    assert_eq!(acme.delete("/v1/tracking-domain").await.status, 204);
    assert_eq!(
        on_acme_domain(acme_path).await.unwrap().status(),
        302,
        "a plain host again"
    );
    acme.delete("/v1/tracking-domain").await.assert_problem(404);
}
