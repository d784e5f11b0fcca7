//! Verified senders: a link mailed to the address verifies it; campaigns send only from
//! verified senders of their own tenant.

use serde_json::json;
use switchboard_tests::email::{last_email_to, link_in, news_draft, news_reader};
use switchboard_tests::TestServer;

#[tokio::test]
async fn a_sender_is_verified_by_the_link_mailed_to_it_and_only_then_sends() {
    let server = TestServer::start().await;
    let owner = server.signup("Senders").await;
    let other = server.signup("Other").await;
    for bad in ["nope", "root@localhost"] {
        let r = owner.post("/v1/email-senders", json!({ "email": bad })).await;
        r.assert_problem(422);
        assert_eq!(r.error_fields(), ["email"], "{bad}");
    }
    let created = owner
        .post("/v1/email-senders", json!({"email": "News@Acme.test"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        (&created.body["email"], &created.body["status"]),
        (&json!("news@acme.test"), &json!("pending"))
    );
    let sender = created.body["id"].as_str().unwrap().to_owned();
    owner
        .post("/v1/email-senders", json!({"email": "news@acme.test"}))
        .await
        .assert_problem(409);

    // A campaign from it cannot be sent yet.
    news_reader(&owner, "ann@x.test").await;
    let campaign = owner.post("/v1/email-campaigns", news_draft("<p>x</p>")).await;
    let send_path = format!("/v1/email-campaigns/{}/send", campaign.body["id"].as_str().unwrap());
    let refused = owner.post(&send_path, json!({})).await;
    refused.assert_problem(422);
    assert_eq!(refused.error_fields(), ["from_email"]);

    // The link went through the tenant's provider (the dev outbox here).
    let (html, text) = last_email_to(&owner, None, "news@acme.test").await;
    let link = link_in(&text, "/verify-sender/");
    assert_eq!(link, link_in(&html, "/verify-sender/"));
    assert!(link.starts_with(&server.url("/verify-sender/snd_")), "{link}");
    let (payload, tag) = link.rsplit_once('.').unwrap();
    let flipped = if tag.ends_with('A') { "B" } else { "A" };
    let forged = format!("{payload}.{}{flipped}", &tag[..tag.len() - 1]);
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 404);
    assert_eq!(
        owner.get("/v1/email-senders").await.body["data"][0]["status"],
        "pending"
    );
    // The other tenant sees nothing of it.
    assert_eq!(other.get("/v1/email-senders").await.body["data"], json!([]));
    other
        .delete(&format!("/v1/email-senders/{sender}"))
        .await
        .assert_problem(404);

    let again = owner
        .post(&format!("/v1/email-senders/{sender}/resend-verification"), json!({}))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("news@acme.test"));
    let listed = owner.get("/v1/email-senders").await;
    assert_eq!(listed.body["data"][0]["status"], "verified", "{}", listed.body);
    assert!(listed.body["data"][0]["verified_at"].is_string());
    owner
        .post(&format!("/v1/email-senders/{sender}/resend-verification"), json!({}))
        .await
        .assert_problem(409);

    // Verified for this tenant only.
    news_reader(&other, "gus@x.test").await;
    let theirs = other.post("/v1/email-campaigns", news_draft("<p>x</p>")).await;
    other
        .post(
            &format!("/v1/email-campaigns/{}/send", theirs.body["id"].as_str().unwrap()),
            json!({}),
        )
        .await
        .assert_problem(422);

    let sent = owner.post(&send_path, json!({})).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert_eq!(owner.delete(&format!("/v1/email-senders/{sender}")).await.status, 204);
    assert_eq!(owner.get("/v1/email-senders").await.body["data"], json!([]));
}
