//! A fake Resend: `POST /emails` and `POST /emails/batch` with Bearer auth, answering as Resend
//! does (`{"id"}` / `{"data": [{"id"}]}`, errors as `{"statusCode", "name", "message"}`), and
//! honouring `Idempotency-Key` as Resend does: the same key and body answer the first response
//! again without sending, the same key with another body is 409 `invalid_idempotent_request`.
//! It counts deliveries per recipient and can be told to fail or hang the next requests.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use poem::http::StatusCode;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::web::{Data, Json};
use poem::{handler, post, EndpointExt, IntoResponse, Request, Response, Route, Server};
use serde_json::{json, Value};
use tokio::sync::watch;

/// What the next request meets instead of a normal answer.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Answer this status (429, 500, …) without sending.
    Status(u16),
    /// Never answer, sending nothing.
    Hang,
    /// Send, remember the key, then never answer: the client cannot know it was sent.
    HangAfterSending,
}

#[derive(Default)]
struct Inner {
    faults: VecDeque<Fault>,
    /// Idempotency key → (request body, first response).
    keys: HashMap<String, (Value, Value)>,
    deliveries: HashMap<String, usize>,
    /// Recipient → the id answered for the last email to them.
    ids: HashMap<String, String>,
    emails: Vec<(Value, Option<String>)>,
    requests: usize,
}

struct Shared {
    api_key: String,
    /// How long each request takes before it is answered, as a busy provider would.
    latency: Mutex<std::time::Duration>,
    inner: Mutex<Inner>,
    delivered: watch::Sender<usize>,
}

pub struct FakeResend {
    pub base_url: String,
    pub api_key: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeResend {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().expect("addr");
        let api_key = format!("re_test_{}", uuid::Uuid::now_v7().simple());
        let shared = Arc::new(Shared {
            api_key: api_key.clone(),
            latency: Mutex::default(),
            inner: Mutex::default(),
            delivered: watch::Sender::new(0),
        });
        let app = Route::new()
            .at("/emails", post(send_one))
            .at("/emails/batch", post(send_batch))
            .data(shared.clone());
        let task = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self {
            base_url: format!("http://{addr}"),
            api_key,
            shared,
            task,
        }
    }

    /// The next requests meet these faults, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.shared.inner.lock().unwrap().faults.extend(faults);
    }

    /// Every request takes `latency` before it is handled.
    pub fn set_latency(&self, latency: std::time::Duration) {
        *self.shared.latency.lock().unwrap() = latency;
    }

    /// Emails delivered per recipient address.
    pub fn deliveries(&self) -> HashMap<String, usize> {
        self.shared.inner.lock().unwrap().deliveries.clone()
    }

    /// The id answered for the last email to `to` (what Resend's webhooks call `email_id`).
    pub fn id_of(&self, to: &str) -> String {
        self.shared.inner.lock().unwrap().ids[to].clone()
    }

    /// The last email to `to`'s tags as Resend's webhook events carry them: an object of
    /// name → value.
    pub fn tags_of(&self, to: &str) -> Value {
        let inner = self.shared.inner.lock().unwrap();
        let (email, _) = inner
            .emails
            .iter()
            .rev()
            .find(|(e, _)| e["to"][0] == to || e["to"] == to)
            .expect("an email to that address");
        let tags = email["tags"].as_array().cloned().unwrap_or_default();
        tags.iter()
            .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t["value"].clone()))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// Every email delivered, as sent, with the idempotency key of its request.
    pub fn emails(&self) -> Vec<(Value, Option<String>)> {
        self.shared.inner.lock().unwrap().emails.clone()
    }

    /// Requests received, faults and replays included.
    pub fn requests(&self) -> usize {
        self.shared.inner.lock().unwrap().requests
    }

    /// Waits (up to 60 s) until at least `n` emails were delivered.
    pub async fn until_delivered(&self, n: usize) {
        let mut rx = self.shared.delivered.subscribe();
        tokio::time::timeout(std::time::Duration::from_secs(60), rx.wait_for(|d| *d >= n))
            .await
            .expect("deliveries within 60 s")
            .expect("fake alive");
    }
}

impl Drop for FakeResend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: u16, name: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        Json(json!({"statusCode": status, "name": name, "message": message})),
    )
        .into_response()
}

fn invalid(message: &str) -> Response {
    error(422, "validation_error", message)
}

/// Checks tags as Resend does: a list of `{name, value}`, each ASCII letters, digits, `_` or `-`,
/// at most 256 characters.
fn check_tags(tags: &Value) -> Result<(), String> {
    let valid = |v: &Value| {
        v.as_str().is_some_and(|s| {
            !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    };
    match tags {
        Value::Null => Ok(()),
        Value::Array(list) if list.iter().all(|t| valid(&t["name"]) && valid(&t["value"])) => Ok(()),
        _ => Err("Tags should only contain ASCII letters, numbers, underscores, or dashes.".into()),
    }
}

/// Checks one email as Resend does (the fields we rely on): its recipient, or why not.
fn check(email: &Value) -> Result<String, String> {
    check_tags(&email["tags"])?;
    for field in ["from", "subject"] {
        if !email[field].is_string() {
            return Err(format!("The `{field}` field is missing."));
        }
    }
    if !(email["html"].is_string() || email["text"].is_string()) {
        return Err("Missing `html` or `text` field.".into());
    }
    let to = match &email["to"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => return Err("The `to` field is missing.".into()),
    };
    match to.as_slice() {
        [one] if one.contains('@') => Ok(one.clone()),
        _ => Err("Invalid `to` field.".into()),
    }
}

async fn handle(req: &Request, shared: &Shared, body: Value, batch: bool) -> Response {
    let latency = *shared.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let key = req.header("idempotency-key").map(str::to_owned);
    let fault = {
        let mut inner = shared.inner.lock().unwrap();
        inner.requests += 1;
        inner.faults.pop_front()
    };
    match req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")) {
        None => return error(401, "missing_api_key", "Missing API key in the authorization header."),
        Some(k) if k != shared.api_key => return error(403, "invalid_api_key", "API key is invalid."),
        Some(_) => {}
    }
    match fault {
        Some(Fault::Status(status)) => return error(status, "application_error", "Something went wrong."),
        Some(Fault::Hang) => std::future::pending::<()>().await,
        _ => {}
    }
    let emails: Vec<Value> = match (&body, batch) {
        (Value::Array(list), true) if !list.is_empty() && list.len() <= 100 => list.clone(),
        (_, true) => return invalid("The batch must hold 1 to 100 emails."),
        (Value::Object(_), false) => vec![body.clone()],
        _ => return invalid("Invalid body."),
    };
    let mut recipients = Vec::with_capacity(emails.len());
    for email in &emails {
        match check(email) {
            Ok(to) => recipients.push(to),
            Err(message) => return invalid(&message),
        }
    }
    let answer = {
        let mut inner = shared.inner.lock().unwrap();
        if let Some(key) = &key {
            if let Some((first_body, first_answer)) = inner.keys.get(key) {
                if *first_body != body {
                    return error(
                        409,
                        "invalid_idempotent_request",
                        "Same idempotency key used with a different request payload.",
                    );
                }
                return Json(first_answer.clone()).into_response();
            }
        }
        let ids: Vec<Value> = recipients
            .iter()
            .map(|_| json!({"id": uuid::Uuid::new_v4().to_string()}))
            .collect();
        let answer = if batch { json!({ "data": ids }) } else { ids[0].clone() };
        for ((email, to), id) in emails.into_iter().zip(recipients).zip(&ids) {
            inner
                .ids
                .insert(to.clone(), id["id"].as_str().unwrap_or_default().to_owned());
            *inner.deliveries.entry(to).or_default() += 1;
            inner.emails.push((email, key.clone()));
        }
        if let Some(key) = key {
            inner.keys.insert(key, (body, answer.clone()));
        }
        let total = inner.emails.len();
        shared.delivered.send_replace(total);
        answer
    };
    if let Some(Fault::HangAfterSending) = fault {
        std::future::pending::<()>().await;
    }
    Json(answer).into_response()
}

#[handler]
async fn send_one(req: &Request, shared: Data<&Arc<Shared>>, body: Json<Value>) -> Response {
    handle(req, &shared, body.0, false).await
}

#[handler]
async fn send_batch(req: &Request, shared: Data<&Arc<Shared>>, body: Json<Value>) -> Response {
    handle(req, &shared, body.0, true).await
}
