//! The dispatcher: claims due deliveries in batches, runs up to `webhooks_max_in_flight`
//! attempts at once, and records outcomes in batches (one transaction for many attempts).
//!
//! Per endpoint, at most a share of the slots may be in flight and its rate limit holds, so a
//! slow or hanging endpoint delays only itself: its extra deliveries are deferred (due again a
//! moment later, the attempt not counted) rather than occupying slots healthy endpoints need.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Url;
use tokio::sync::{mpsc, watch, Semaphore};

use super::endpoints::stored;
use super::health;
use super::signing::Keys;
use crate::egress::{EgressError, Reply};
use crate::state::AppState;
use crate::store::webhook_attempts::NewAttempt;
use crate::store::webhook_deliveries::{self as rows, DeliveryRow, Ending};
use crate::store::webhook_endpoints::{self, EndpointRow};
use crate::store::{now_ms, StoreError};

/// Deliveries claimed per transaction at most.
const CLAIM_BATCH: usize = 500;
/// Outcomes recorded per transaction at most.
const SETTLE_BATCH: usize = 1000;
/// How soon a deferred delivery is due again.
const DEFER: Duration = Duration::from_millis(200);

/// An endpoint as one attempt needs it, built once per claimed batch.
struct Target {
    id: String,
    url: Option<Url>,
    keys: Keys,
    headers: HeaderMap,
    rate_limit: Option<u32>,
    disabled: bool,
}

impl Target {
    fn of(row: &EndpointRow, now: i64) -> Self {
        let custom: std::collections::BTreeMap<String, String> = stored(&row.headers).unwrap_or_default();
        let headers = custom
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    HeaderName::from_bytes(k.as_bytes()).ok()?,
                    HeaderValue::from_str(v).ok()?,
                ))
            })
            .collect();
        Self {
            id: row.id.clone(),
            url: Url::parse(&row.url).ok(),
            keys: Keys::of(
                &row.secret,
                row.previous_secret.as_deref(),
                row.previous_secret_until,
                now,
            ),
            headers,
            rate_limit: row.rate_limit.and_then(|n| u32::try_from(n).ok()),
            disabled: row.disabled_at.is_some(),
        }
    }
}

/// What happened to one claimed delivery.
enum Outcome {
    /// A request was made: the reply, or why none came.
    Attempted {
        reply: Result<Reply, EgressError>,
        latency_ms: i64,
    },
    /// Not attempted now (endpoint busy or over its rate): due again at `at`.
    Deferred { at: i64 },
    /// Not attempted ever: the endpoint is disabled or gone.
    Dropped { reason: &'static str },
}

struct Done {
    delivery: DeliveryRow,
    result: Outcome,
    at: i64,
}

/// In-flight counts and rate limiters per endpoint.
#[derive(Default)]
struct Gates {
    inner: Mutex<HashMap<String, Gate>>,
}

struct Gate {
    in_flight: usize,
    limit: Option<(u32, DefaultDirectRateLimiter)>,
}

impl Gates {
    /// Takes a slot for `target`, or says when to try again.
    fn enter(&self, target: &Target, cap: usize) -> Result<(), Duration> {
        let mut gates = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let gate = gates.entry(target.id.clone()).or_insert(Gate {
            in_flight: 0,
            limit: None,
        });
        if gate.in_flight >= cap {
            return Err(DEFER);
        }
        match (target.rate_limit, &gate.limit) {
            (None, _) => gate.limit = None,
            (Some(rate), Some((current, _))) if *current == rate => {}
            (Some(rate), _) => {
                let quota = Quota::per_second(NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN));
                gate.limit = Some((rate, RateLimiter::direct(quota)));
            }
        }
        if let Some((_, limiter)) = &gate.limit {
            limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))?;
        }
        gate.in_flight += 1;
        Ok(())
    }

    fn leave(&self, endpoint: &str) {
        let mut gates = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(gate) = gates.get_mut(endpoint) {
            gate.in_flight = gate.in_flight.saturating_sub(1);
            if gate.in_flight == 0 && gate.limit.is_none() {
                gates.remove(endpoint);
            }
        }
    }
}

/// Runs the dispatcher until `stopped` turns true. Attempts in flight then are abandoned:
/// their leases expire and they run again, which is the "at most a retry" a crash costs too.
pub async fn run(state: Arc<AppState>, mut stopped: watch::Receiver<bool>) {
    let max_in_flight = state.config.webhooks_max_in_flight;
    if max_in_flight == 0 {
        return;
    }
    let per_endpoint = (max_in_flight / 8).max(8);
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let gates = Arc::new(Gates::default());
    let (done_tx, done_rx) = mpsc::channel::<Done>(SETTLE_BATCH * 2);
    let settler = tokio::spawn(settle_loop(state.clone(), done_rx));
    let poll = Duration::from_millis(state.config.webhooks_poll_ms.max(1));
    // An attempt ends within the timeout; twice that plus a second leaves room to record it,
    // so a live dispatcher keeps its lease while a dead one's deliveries are soon due again.
    let lease_ms = 2 * state.config.webhooks_timeout_ms as i64 + 1_000;
    while !*stopped.borrow() {
        let free = slots.available_permits().min(CLAIM_BATCH);
        if free == 0 {
            // Every slot is busy: claim again as soon as one frees up.
            drop(slots.acquire().await.expect("the semaphore is never closed"));
            continue;
        }
        match claim(&state, lease_ms, free).await {
            Ok(batch) if !batch.is_empty() => match targets_of(&state, &batch).await {
                Ok(targets) => {
                    let full = batch.len() == free;
                    for delivery in batch {
                        let permit = slots
                            .clone()
                            .acquire_owned()
                            .await
                            .expect("the semaphore is never closed");
                        let target = targets.get(&delivery.endpoint_id).cloned();
                        let (state, gates, done_tx) = (state.clone(), gates.clone(), done_tx.clone());
                        tokio::spawn(async move {
                            let done = attempt(&state, &gates, per_endpoint, delivery, target).await;
                            drop(permit);
                            let _ = done_tx.send(done).await;
                        });
                    }
                    if full {
                        continue;
                    }
                }
                // The claimed deliveries are due again when their lease ends.
                Err(e) => tracing::error!(error = %e, "loading webhook endpoints failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "claiming webhook deliveries failed"),
        }
        tokio::select! {
            _ = state.webhooks.woken() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stopped.changed() => {}
        }
    }
    settler.abort();
}

async fn claim(state: &AppState, lease_ms: i64, limit: usize) -> Result<Vec<DeliveryRow>, StoreError> {
    let mut tx = state.store.system_tx().await?;
    let rows = rows::claim(&mut tx, state.store.backend(), now_ms(), lease_ms, limit as i64).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn targets_of(state: &AppState, batch: &[DeliveryRow]) -> Result<HashMap<String, Arc<Target>>, StoreError> {
    let mut ids: Vec<&str> = batch.iter().map(|d| d.endpoint_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut read = state.store.system_read().await?;
    let endpoints = webhook_endpoints::by_ids(&mut read, &ids).await?;
    read.commit().await?;
    let now = now_ms();
    Ok(endpoints
        .iter()
        .map(|e| (e.id.clone(), Arc::new(Target::of(e, now))))
        .collect())
}

async fn attempt(
    state: &AppState,
    gates: &Gates,
    cap: usize,
    delivery: DeliveryRow,
    target: Option<Arc<Target>>,
) -> Done {
    let result = match &target {
        None => Outcome::Dropped {
            reason: "endpoint deleted",
        },
        Some(t) if t.disabled => Outcome::Dropped {
            reason: "endpoint disabled",
        },
        Some(t) => match gates.enter(t, cap) {
            Err(wait) => Outcome::Deferred {
                at: now_ms() + wait.max(DEFER).as_millis() as i64,
            },
            Ok(()) => {
                let result = send(state, t, &delivery).await;
                gates.leave(&t.id);
                result
            }
        },
    };
    Done {
        delivery,
        result,
        at: now_ms(),
    }
}

async fn send(state: &AppState, target: &Target, delivery: &DeliveryRow) -> Outcome {
    let started = Instant::now();
    let reply = match &target.url {
        Some(url) => {
            let body = Bytes::from(delivery.payload.clone());
            let timestamp = now_ms() / 1000;
            let headers = target
                .keys
                .headers(&target.headers, &delivery.event_id, timestamp, &body);
            state.webhooks.egress.post(url, headers, body).await
        }
        None => Err(EgressError::Failed("the endpoint URL no longer parses".into())),
    };
    Outcome::Attempted {
        reply,
        latency_ms: started.elapsed().as_millis() as i64,
    }
}

/// Collects outcomes and records them a batch per transaction.
async fn settle_loop(state: Arc<AppState>, mut done_rx: mpsc::Receiver<Done>) {
    let mut batch = Vec::with_capacity(SETTLE_BATCH);
    while done_rx.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
        if let Err(e) = settle(&state, &batch).await {
            // The leases expire and the deliveries run again: a retry, not a loss.
            tracing::error!(error = %e, count = batch.len(), "recording webhook attempts failed");
        }
        batch.clear();
        state.webhooks.mark_settled();
    }
}

async fn settle(state: &AppState, batch: &[Done]) -> Result<(), crate::domain::DomainError> {
    let schedule = &state.config.webhooks_retry_schedule;
    let now = now_ms();
    let mut attempts = Vec::new();
    let mut endings: HashMap<Ending, Vec<(&str, i64)>> = HashMap::new();
    let mut healthy: Vec<&str> = Vec::new();
    let mut failing: Vec<&str> = Vec::new();
    let mut tx = state.store.system_tx().await?;
    for done in batch {
        let d = &done.delivery;
        let (reply, latency_ms) = match &done.result {
            Outcome::Deferred { at } => {
                rows::defer(&mut tx, &d.id, d.attempts, *at, now).await?;
                continue;
            }
            Outcome::Dropped { reason } => {
                let ending = Ending {
                    status: rows::FAILED,
                    attempt: d.attempts,
                    code: None,
                    error: Some(reason.to_string()),
                };
                endings.entry(ending).or_default().push((&d.id, now));
                continue;
            }
            Outcome::Attempted { reply, latency_ms } => (reply, *latency_ms),
        };
        let code = reply.as_ref().ok().map(|r| i32::from(r.status));
        let succeeded = code.is_some_and(|c| (200..300).contains(&c));
        let error = match reply {
            Ok(r) if !succeeded => Some(format!("HTTP {}", r.status)),
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        attempts.push(NewAttempt {
            tenant_id: &d.tenant_id,
            endpoint_id: &d.endpoint_id,
            delivery_id: &d.id,
            attempt: d.attempts,
            succeeded,
            response_code: code,
            response_body: reply.as_ref().ok().map(|r| r.body.as_str()),
            error: error.clone(),
            latency_ms,
            created_at: done.at,
        });
        let next = (!succeeded && d.attempts < d.max_attempts)
            .then(|| schedule.delay_before(d.attempts as u32 + 1))
            .flatten();
        let (status, at) = match next {
            _ if succeeded => (rows::SUCCEEDED, now),
            Some(delay) => (rows::PENDING, now + delay.as_millis() as i64),
            None => (rows::FAILED, now),
        };
        if succeeded {
            healthy.push(&d.endpoint_id);
        } else {
            failing.push(&d.endpoint_id);
        }
        let ending = Ending {
            status,
            attempt: d.attempts,
            code,
            error,
        };
        endings.entry(ending).or_default().push((&d.id, at));
    }
    for (ending, rows) in &endings {
        rows::settle_many(&mut tx, ending, rows, now).await?;
    }
    crate::store::webhook_attempts::insert_many(&mut tx, &attempts).await?;
    health::record(state, &mut tx, &healthy, &failing, now).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(rate_limit: Option<u32>) -> Target {
        Target {
            id: "wep_1".into(),
            url: None,
            keys: Keys(vec![]),
            headers: HeaderMap::new(),
            rate_limit,
            disabled: false,
        }
    }

    #[test]
    fn an_endpoint_gets_at_most_its_share_of_slots() {
        let gates = Gates::default();
        let t = target(None);
        assert!(gates.enter(&t, 2).is_ok());
        assert!(gates.enter(&t, 2).is_ok());
        assert_eq!(gates.enter(&t, 2), Err(DEFER));
        gates.leave(&t.id);
        assert!(gates.enter(&t, 2).is_ok());
    }

    #[test]
    fn an_endpoint_over_its_rate_waits() {
        let gates = Gates::default();
        let t = target(Some(1));
        assert!(gates.enter(&t, 10).is_ok());
        let wait = gates.enter(&t, 10).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        // A new limit replaces the old one at once.
        assert!(gates.enter(&target(Some(100)), 10).is_ok());
    }
}
