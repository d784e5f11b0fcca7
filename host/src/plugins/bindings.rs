//! Host-side bindings generated from the one WIT definition in `sdk/wit/`. Every import may trap
//! (the host-call budget is enforced by trapping).

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../sdk/wit",
    imports: { default: trappable },
});

pub use self::switchboard::plugin::types::{
    Channel, Customer, CustomerInput, Event, HostError, HttpRequest, HttpResponse, Level, Message, OutgoingRequest,
};
