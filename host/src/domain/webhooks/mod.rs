//! Outgoing webhooks: tenants register endpoints; every domain event is delivered to each
//! matching endpoint, signed per Standard Webhooks, retried on a schedule, logged, replayable.
//!
//! - [`endpoints`]: registering, changing and rotating the secret of endpoints.
//! - [`filter`]: which event types an endpoint receives.
//! - [`fanout`]: the outbox relay's consumer that turns events into deliveries.
//! - [`dispatch`]: the loop that claims due deliveries, sends them, and records the outcome.
//! - [`health`]: disabling endpoints that keep failing.
//! - [`deliveries`]: the delivery log, replays and test sends.
//! - [`envelope`], [`signing`]: what is sent, and how it is signed.
//! - [`schedule`]: when attempts run.
//! - [`retention`]: deleting finished deliveries past their retention.
//!
//! Deliveries are their own durable queue rather than one job each in `jobs`: a job costs a
//! claim and a settle transaction per delivery with one attempt running per worker, while the
//! dispatcher claims and settles hundreds per transaction with many attempts in flight, which is
//! what 5,000 deliveries/s on one host needs. The queue keeps the job queue's rules: enqueued in
//! the transaction of the change (via the relay), SKIP LOCKED claims, leases, backoff with
//! jitter, and a final failed state.

pub mod deliveries;
pub mod dispatch;
pub mod endpoints;
pub mod envelope;
pub mod fanout;
pub mod filter;
pub mod health;
pub mod retention;
pub mod schedule;
pub mod signing;

use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::config::Config;
use crate::egress::{Egress, Policy};

/// The type of the sample event `POST /v1/webhook-endpoints/{id}/test` sends.
pub const TEST_EVENT: &str = "webhook.test";

/// Webhook machinery shared by the API, the relay and the dispatcher.
pub struct Webhooks {
    pub egress: Egress,
    wake: Notify,
    settled: watch::Sender<u64>,
}

impl Webhooks {
    pub fn new(config: &Config) -> Result<Self, reqwest::Error> {
        let policy = Policy::new(config.webhooks_allow_nets.clone());
        Ok(Self {
            egress: Egress::new(policy, Duration::from_millis(config.webhooks_timeout_ms.max(1)))?,
            wake: Notify::new(),
            settled: watch::Sender::new(0),
        })
    }

    /// Tells the local dispatcher that deliveries are due now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub(crate) async fn woken(&self) {
        self.wake.notified().await
    }

    /// Counts batches of attempts this process has recorded; changes after every batch, so
    /// tests (and anyone waiting for deliveries) can wait on it.
    pub fn settled(&self) -> watch::Receiver<u64> {
        self.settled.subscribe()
    }

    pub(crate) fn mark_settled(&self) {
        self.settled.send_modify(|n| *n += 1);
    }
}
