//! What the host functions do, behind a trait: the runtime checks capabilities and counts
//! calls, then hands each call to the installation's [`HostApi`], which acts for its tenant.

use super::bindings::{Customer, CustomerInput, HostError, HttpResponse, Message, OutgoingRequest};

pub type HostResult<T> = Result<T, HostError>;

/// The tenant-scoped side of the host functions. Implementations block: invocations run on a
/// blocking thread.
pub trait HostApi: Send {
    fn kv_get(&mut self, key: &str) -> HostResult<Option<Vec<u8>>>;
    /// Stores for good, or for `ttl_ms` when given (`kv-put-expiring`).
    fn kv_put(&mut self, key: &str, value: &[u8], ttl_ms: Option<u64>) -> HostResult<()>;
    fn kv_delete(&mut self, key: &str) -> HostResult<()>;
    fn kv_list(&mut self, prefix: &str, after: Option<&str>, limit: u32) -> HostResult<Vec<String>>;
    fn customer_get(&mut self, id: &str) -> HostResult<Option<Customer>>;
    fn customer_search(&mut self, query: &str, limit: u32) -> HostResult<Vec<Customer>>;
    fn customer_upsert(&mut self, input: CustomerInput) -> HostResult<Customer>;
    fn tag(&mut self, customer_id: &str, add: Vec<String>, remove: Vec<String>) -> HostResult<()>;
    fn track_event(&mut self, customer_id: &str, event_type: &str, properties: &str) -> HostResult<()>;
    fn send_message(&mut self, message: Message) -> HostResult<String>;
    /// Called only for URLs whose host the installation was granted.
    fn http_fetch(&mut self, request: OutgoingRequest) -> HostResult<HttpResponse>;
    fn schedule(&mut self, delay_ms: u64, event_type: &str, data: &str) -> HostResult<()>;
}

/// A host that offers nothing: for calls that must not touch any tenant (reading a plugin's
/// metadata at upload, benchmarks).
pub struct NoHost;

fn unavailable<T>() -> HostResult<T> {
    Err(HostError::Unavailable("no host functions in this context".into()))
}

impl HostApi for NoHost {
    fn kv_get(&mut self, _: &str) -> HostResult<Option<Vec<u8>>> {
        unavailable()
    }
    fn kv_put(&mut self, _: &str, _: &[u8], _: Option<u64>) -> HostResult<()> {
        unavailable()
    }
    fn kv_delete(&mut self, _: &str) -> HostResult<()> {
        unavailable()
    }
    fn kv_list(&mut self, _: &str, _: Option<&str>, _: u32) -> HostResult<Vec<String>> {
        unavailable()
    }
    fn customer_get(&mut self, _: &str) -> HostResult<Option<Customer>> {
        unavailable()
    }
    fn customer_search(&mut self, _: &str, _: u32) -> HostResult<Vec<Customer>> {
        unavailable()
    }
    fn customer_upsert(&mut self, _: CustomerInput) -> HostResult<Customer> {
        unavailable()
    }
    fn tag(&mut self, _: &str, _: Vec<String>, _: Vec<String>) -> HostResult<()> {
        unavailable()
    }
    fn track_event(&mut self, _: &str, _: &str, _: &str) -> HostResult<()> {
        unavailable()
    }
    fn send_message(&mut self, _: Message) -> HostResult<String> {
        unavailable()
    }
    fn http_fetch(&mut self, _: OutgoingRequest) -> HostResult<HttpResponse> {
        unavailable()
    }
    fn schedule(&mut self, _: u64, _: &str, _: &str) -> HostResult<()> {
        unavailable()
    }
}
