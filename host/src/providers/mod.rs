//! Outside services behind traits: a real client speaking the provider's wire format at a
//! configurable base URL, and an offline default used when nothing is configured.

pub mod email;
