//! The generated host traits, implemented once for the per-invocation state: every call is
//! counted against the budget, checked against the grants, then handed to the [`HostApi`].

use std::time::{Duration, Instant};

use super::bindings::switchboard::plugin::{host, types};
use super::bindings::{Customer, CustomerInput, HostError, HttpResponse, Level, Message, OutgoingRequest};
use super::capabilities::{Capability, Grants};
use super::host_api::{HostApi, HostResult};
use super::limits::Limiter;
use super::outcome::LogLine;

/// Raised (as a trap) when a plugin makes more host calls than its budget.
#[derive(Debug, thiserror::Error)]
#[error("host call limit of {0} reached")]
pub struct HostCallsExceeded(pub u32);

/// Most log lines kept per invocation, and longest line.
const MAX_LOG_LINES: usize = 100;
const MAX_LOG_LINE: usize = 2_000;

/// Everything one invocation's store holds.
pub struct Call {
    pub limiter: Limiter,
    pub host: Box<dyn HostApi>,
    pub grants: Grants,
    pub config: String,
    pub host_calls: u32,
    pub max_host_calls: u32,
    /// Set when a host call was refused for lack of a capability.
    pub denied: Option<String>,
    pub logs: Vec<LogLine>,
    /// Time spent inside host functions: the wall-clock budget counts the plugin's own time.
    pub host_time: Duration,
}

impl Call {
    /// Runs a host function, timing it.
    fn timed<T>(&mut self, f: impl FnOnce(&mut dyn HostApi) -> T) -> T {
        let started = Instant::now();
        let out = f(self.host.as_mut());
        self.host_time += started.elapsed();
        out
    }

    fn count(&mut self) -> wasmtime::Result<()> {
        self.host_calls += 1;
        if self.host_calls > self.max_host_calls {
            return Err(HostCallsExceeded(self.max_host_calls).into());
        }
        Ok(())
    }

    /// Counts the call and checks `cap`; `Ok(Err(denied))` when it was not granted.
    fn gate(&mut self, cap: Capability) -> wasmtime::Result<HostResult<()>> {
        self.count()?;
        if self.grants.allows(&cap) {
            return Ok(Ok(()));
        }
        Ok(Err(self.deny(&cap.name())))
    }

    fn deny(&mut self, what: &str) -> HostError {
        let message = format!("capability {what} was not granted to this installation");
        self.denied = Some(message.clone());
        HostError::Denied(message)
    }
}

/// Runs `f` on the host API once `cap` is checked.
macro_rules! gated {
    ($self:ident, $cap:expr, |$host:ident| $body:expr) => {{
        if let Err(e) = $self.gate($cap)? {
            return Ok(Err(e));
        }
        Ok($self.timed(|$host| $body))
    }};
}

impl types::Host for Call {}

impl host::Host for Call {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.count()?;
        if self.logs.len() < MAX_LOG_LINES {
            let mut message = message;
            if message.len() > MAX_LOG_LINE {
                let mut end = MAX_LOG_LINE;
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                message.truncate(end);
            }
            let level = match level {
                Level::Debug => "debug",
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Error => "error",
            };
            self.logs.push(LogLine { level, message });
        }
        Ok(())
    }

    fn now_ms(&mut self) -> wasmtime::Result<i64> {
        self.count()?;
        Ok(crate::store::now_ms())
    }

    fn config(&mut self) -> wasmtime::Result<String> {
        self.count()?;
        Ok(self.config.clone())
    }

    fn kv_get(&mut self, key: String) -> wasmtime::Result<HostResult<Option<Vec<u8>>>> {
        gated!(self, Capability::Kv, |h| h.kv_get(&key))
    }

    fn kv_put(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<HostResult<()>> {
        gated!(self, Capability::Kv, |h| h.kv_put(&key, &value, None))
    }

    fn kv_put_expiring(&mut self, key: String, value: Vec<u8>, ttl_ms: u64) -> wasmtime::Result<HostResult<()>> {
        gated!(self, Capability::Kv, |h| h.kv_put(&key, &value, Some(ttl_ms)))
    }

    fn kv_delete(&mut self, key: String) -> wasmtime::Result<HostResult<()>> {
        gated!(self, Capability::Kv, |h| h.kv_delete(&key))
    }

    fn kv_list(
        &mut self,
        prefix: String,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<HostResult<Vec<String>>> {
        gated!(self, Capability::Kv, |h| h.kv_list(&prefix, after.as_deref(), limit))
    }

    fn customer_get(&mut self, id: String) -> wasmtime::Result<HostResult<Option<Customer>>> {
        gated!(self, Capability::CustomersRead, |h| h.customer_get(&id))
    }

    fn customer_search(&mut self, query: String, limit: u32) -> wasmtime::Result<HostResult<Vec<Customer>>> {
        gated!(self, Capability::CustomersRead, |h| h.customer_search(&query, limit))
    }

    fn customer_upsert(&mut self, input: CustomerInput) -> wasmtime::Result<HostResult<Customer>> {
        gated!(self, Capability::CustomersWrite, |h| h.customer_upsert(input))
    }

    fn tag(&mut self, customer_id: String, add: Vec<String>, remove: Vec<String>) -> wasmtime::Result<HostResult<()>> {
        gated!(self, Capability::CustomersWrite, |h| h.tag(&customer_id, add, remove))
    }

    fn track_event(
        &mut self,
        customer_id: String,
        event_type: String,
        properties: String,
    ) -> wasmtime::Result<HostResult<()>> {
        gated!(self, Capability::CustomersWrite, |h| h.track_event(
            &customer_id,
            &event_type,
            &properties
        ))
    }

    fn send_message(&mut self, message: Message) -> wasmtime::Result<HostResult<String>> {
        gated!(self, Capability::MessagesSend, |h| h.send_message(message))
    }

    fn http_fetch(&mut self, request: OutgoingRequest) -> wasmtime::Result<HostResult<HttpResponse>> {
        self.count()?;
        let host = url_host(&request.url);
        match host {
            Some(host) if self.grants.allows(&Capability::Http(host.clone())) => {
                Ok(self.timed(|h| h.http_fetch(request)))
            }
            Some(host) => Ok(Err(self.deny(&format!("http:{host}")))),
            None => Ok(Err(HostError::Invalid(
                "url must be http:// or https:// with a host".into(),
            ))),
        }
    }

    fn schedule(&mut self, delay_ms: u64, event_type: String, data: String) -> wasmtime::Result<HostResult<()>> {
        self.count()?;
        Ok(self.timed(|h| h.schedule(delay_ms, &event_type, &data)))
    }
}

/// The lower-case host of an http(s) URL, without port or credentials.
fn url_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn url_hosts_are_extracted_strictly() {
        assert_eq!(
            super::url_host("https://API.example.com:8443/x?y").as_deref(),
            Some("api.example.com")
        );
        assert_eq!(super::url_host("http://a.b/").as_deref(), Some("a.b"));
        assert_eq!(super::url_host("https://user@evil.com/"), None);
        assert_eq!(super::url_host("ftp://a.b/"), None);
        assert_eq!(super::url_host("https:///x"), None);
    }
}
