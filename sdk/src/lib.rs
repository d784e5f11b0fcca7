//! The Switchboard plugin SDK: what a plugin author depends on.
//!
//! A plugin is a Rust library built for `wasm32-unknown-unknown` and wrapped into a WebAssembly
//! component (`switchboard plugin build` does both). It implements [`Plugin`] and declares
//! itself with [`plugin!`]; the host calls it for the events it subscribed to, the requests to
//! its webhook routes and its schedules. It reaches the world only through [`host`], and only
//! through the capabilities the tenant granted at install time.
//!
//! A complete plugin, with its `plugin.toml` beside `Cargo.toml`:
//!
//! ```no_run
//! use switchboard_sdk::{host, plugin, Event, Plugin, Request, Response, Result};
//! use serde_json::{json, Value};
//!
//! struct Greeter;
//!
//! impl Plugin for Greeter {
//!     fn on_event(event: Event) -> Result<Value> {
//!         // handle the event here
//!         if event.event_type == "customer.created" {
//!             let id = event.data["id"].as_str().unwrap_or_default();
//!             host::customers::tag(id, &["greeted"], &[])?;
//!             host::log::info(&format!("greeted {id}"));
//!         }
//!         Ok(json!({"greeted": true}))
//!     }
//!
//!     fn transform(request: Request) -> Result<Response> {
//!         let count = host::kv::get("hits")?.map(|v| v.len()).unwrap_or(0);
//!         host::kv::put("hits", &vec![b'x'; count + 1])?;
//!         Ok(Response::json(200, &json!({"route": request.route, "hits": count + 1})))
//!     }
//! }
//!
//! plugin!(Greeter);
//! ```
//!
//! ```toml
//! # plugin.toml
//! name = "greeter"
//! version = "0.1.0"
//! interface = "0.1.1"
//! description = "Tags every new customer."
//! events = ["customer.created"]
//! webhooks = ["hits"]
//! capabilities = ["kv", "customers:write"]
//! ```

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "wit",
        pub_export_macro: true,
        default_bindings_module: "switchboard_sdk::bindings",
    });
}

mod error;
mod event;
#[doc(hidden)]
pub mod export;
pub mod host;
mod http;

pub use error::{Error, Result};
pub use event::Event;
pub use http::{Request, Response};
pub use serde;
pub use serde_json;

/// The interface version this SDK was generated from (the WIT package version).
pub const INTERFACE_VERSION: &str = "0.1.1";

/// A plugin's handlers. Every method has a default, so a plugin implements only what its
/// manifest subscribes to.
pub trait Plugin {
    /// A domain event the installation subscribed to (or a follow-up it scheduled with
    /// [`host::schedule`]). The returned JSON is recorded as the run's output.
    fn on_event(event: Event) -> Result<serde_json::Value> {
        let _ = event;
        Ok(serde_json::Value::Null)
    }

    /// A request to one of the installation's webhook routes; the response goes back to the
    /// caller as it is. The default answers 404.
    fn transform(request: Request) -> Result<Response> {
        let _ = request;
        Ok(Response::empty(404))
    }

    /// A schedule from the manifest fired at `now_ms`.
    fn tick(schedule: &str, now_ms: i64) -> Result<()> {
        let _ = (schedule, now_ms);
        Ok(())
    }
}

/// Declares the type implementing [`Plugin`] as this component's handlers; use it once, at the
/// crate root. The plugin's name and version (checked against `plugin.toml`) are the crate's.
#[macro_export]
macro_rules! plugin {
    ($plugin:ty) => {
        struct __SwitchboardExports;

        impl $crate::export::Guest for __SwitchboardExports {
            fn metadata() -> $crate::export::PluginMetadata {
                $crate::export::metadata(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))
            }
            fn on_event(event: $crate::export::RawEvent) -> ::core::result::Result<String, String> {
                $crate::export::on_event::<$plugin>(event)
            }
            fn transform(
                request: $crate::export::RawRequest,
            ) -> ::core::result::Result<$crate::export::RawResponse, String> {
                $crate::export::transform::<$plugin>(request)
            }
            fn tick(schedule: String, now_ms: i64) -> ::core::result::Result<(), String> {
                <$plugin as $crate::Plugin>::tick(&schedule, now_ms).map_err(|e| e.to_string())
            }
        }

        $crate::bindings::export!(__SwitchboardExports with_types_in $crate::bindings);
    };
}
