//! The durable job queue: jobs are rows in the database, enqueued in the transaction of the
//! change that needs them, claimed by workers under a lease, retried with backoff and
//! dead-lettered after their last attempt.
//!
//! - [`queue`]: enqueueing, the handler registry, and waking local workers.
//! - [`worker`]: the worker pool that claims and runs jobs.
//! - [`backoff`]: when a failed attempt runs again.

pub mod backoff;
pub mod queue;
pub mod worker;

pub use queue::{Handler, HandlerResult, Job, NewJob, Queue};
pub use worker::Workers;
