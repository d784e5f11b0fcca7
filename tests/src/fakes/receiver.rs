//! A webhook receiver: records every request it gets and answers as told (200, an error, a
//! redirect, a huge body, a reply that never comes or never ends).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use poem::http::{HeaderMap, StatusCode};
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Body, Request, Response, Route, Server};
use tokio::sync::watch;

/// How the receiver answers.
#[derive(Clone, Debug)]
pub enum Answer {
    /// This status, with a short body.
    Status(u16),
    /// 302 to `location`.
    Redirect(String),
    /// 200 with a body of this many bytes.
    Huge(usize),
    /// Never answers.
    Hang,
    /// Sends the headers, then a byte now and then, forever (slowloris).
    Dribble,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

struct Shared {
    answer: Mutex<Answer>,
    received: Mutex<Vec<Received>>,
    count: watch::Sender<usize>,
}

pub struct Receiver {
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver answering 200.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        let addr = acceptor.local_addr()[0]
            .as_socket_addr()
            .copied()
            .expect("a socket address");
        let shared = Arc::new(Shared {
            answer: Mutex::new(Answer::Status(200)),
            received: Mutex::new(Vec::new()),
            count: watch::Sender::new(0),
        });
        let state = shared.clone();
        let app = Route::new().at(
            "/*path",
            poem::endpoint::make(move |req: Request| {
                let state = state.clone();
                async move { answer(state, req).await }
            }),
        );
        let task = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self {
            base_url: format!("http://{addr}"),
            shared,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn port(&self) -> u16 {
        self.base_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port")
    }

    pub fn answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests have arrived (30 s at most) and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let mut count = self.shared.count.subscribe();
        tokio::time::timeout(Duration::from_secs(30), count.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} webhook requests did not arrive within 30 s"))
            .expect("receiver alive");
        self.received()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(state: Arc<Shared>, mut req: Request) -> Response {
    let body = req.take_body().into_bytes().await.unwrap_or_default();
    state.received.lock().unwrap().push(Received {
        path: req.uri().path().to_owned(),
        headers: req.headers().clone(),
        body,
    });
    state.count.send_modify(|c| *c += 1);
    let answer = state.answer.lock().unwrap().clone();
    match answer {
        Answer::Status(code) => Response::builder()
            .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
            .body(format!("answered {code}")),
        Answer::Redirect(location) => Response::builder()
            .status(StatusCode::FOUND)
            .header("location", location)
            .finish(),
        Answer::Huge(bytes) => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let chunks = bytes.div_ceil(chunk.len());
            let stream = futures_util::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
            Response::builder().body(Body::from_bytes_stream(stream))
        }
        Answer::Hang => std::future::pending().await,
        Answer::Dribble => {
            let stream = futures_util::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<_, std::io::Error>(Bytes::from_static(b"x")), ()))
            });
            Response::builder().body(Body::from_bytes_stream(stream))
        }
    }
}
