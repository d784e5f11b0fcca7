//! Outbound HTTP to URLs tenants choose (webhook endpoints; plugins' HTTP later), behind an
//! SSRF guard.
//!
//! - [`ranges`]: which addresses are not public.
//! - [`policy`]: the operator's allowed networks, and the one yes/no per address.
//! - [`target`]: URL checks before any connection.
//! - [`resolver`]: DNS answers filtered by the policy, so the address connected to is checked.
//! - [`client`]: the bounded HTTP client.

pub mod client;
pub mod policy;
pub mod ranges;
pub mod resolver;
pub mod target;

pub use client::{Egress, EgressError, Reply};
pub use policy::{NetList, Policy};
