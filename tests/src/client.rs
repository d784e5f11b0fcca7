//! A small HTTP client for tests: JSON in, status + headers + JSON out.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use switchboard::ids::{PrefixedId, TenantId, UserId};
use switchboard::tenancy::{Actor, TenantCtx};

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The JSON body, or `Value::String` of the raw text when it is not JSON, or `Null` when empty.
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the reply is an RFC 9457 problem with `status`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status, "body: {}", self.body);
        assert!(
            self.body["type"].is_string() && self.body["title"].is_string(),
            "body: {}",
            self.body
        );
    }

    /// The field names a 422 problem reports.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A credential (or none) against one server.
#[derive(Clone, Debug)]
pub struct Session {
    http: reqwest::Client,
    base_url: String,
    pub token: Option<String>,
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    pub refresh_token: String,
}

impl Session {
    pub fn new(http: reqwest::Client, base_url: String, token: Option<String>) -> Self {
        Self {
            http,
            base_url,
            token,
            tenant_id: String::new(),
            user_id: String::new(),
            email: String::new(),
            refresh_token: String::new(),
        }
    }

    /// This user acting in their tenant, for calling the domain and store layers directly.
    pub fn ctx(&self) -> TenantCtx {
        TenantCtx::new(
            TenantId::parse(&self.tenant_id).expect("signed-up tenant id"),
            Actor::User(UserId::parse(&self.user_id).expect("signed-up user id")),
            None,
        )
    }

    /// The same credential against another server (one sharing this one's database).
    pub fn at_url(&self, base_url: &str) -> Session {
        Session {
            base_url: base_url.to_owned(),
            ..self.clone()
        }
    }

    /// The same server with another bearer credential.
    pub fn with_token(&self, token: &str) -> Session {
        Session {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base_url));
        match &self.token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Reply {
        let resp = builder.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply { status, headers, body }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut builder = self.request(method, path);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        self.send(builder).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates an API key with `role` and returns a session using it.
    pub async fn api_key(&self, role: &str) -> Session {
        let reply = self
            .post(
                "/v1/api-keys",
                serde_json::json!({"name": format!("{role} key"), "role": role}),
            )
            .await;
        assert_eq!(reply.status, 201, "api key: {}", reply.body);
        let mut s = self.with_token(reply.body["secret"].as_str().expect("secret"));
        s.user_id = reply.body["id"].as_str().unwrap_or_default().to_owned();
        s
    }

    /// Invites a new user with `role`, accepts, and returns their session.
    pub async fn invite_user(&self, role: &str) -> Session {
        let email = format!("{role}-{}@example.com", uuid::Uuid::now_v7().simple());
        let inv = self
            .post("/v1/invitations", serde_json::json!({"email": email, "role": role}))
            .await;
        assert_eq!(inv.status, 201, "invite: {}", inv.body);
        let anon = Session {
            token: None,
            ..self.clone()
        };
        let acc = anon
            .post(
                "/v1/invitations/accept",
                serde_json::json!({"token": inv.body["token"], "password": "another good password"}),
            )
            .await;
        assert_eq!(acc.status, 201, "accept: {}", acc.body);
        let mut s = self.with_token(acc.body["tokens"]["access_token"].as_str().expect("token"));
        s.user_id = acc.body["user"]["id"].as_str().unwrap_or_default().to_owned();
        s.email = email;
        s.refresh_token = acc.body["tokens"]["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        s
    }
}
