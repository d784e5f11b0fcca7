//! Fake servers on 127.0.0.1 that speak the real wire format of what they stand in for.

pub mod receiver;
