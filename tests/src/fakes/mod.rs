//! Fake servers on 127.0.0.1 speaking the real wire formats of what they stand in for, so the
//! real clients are tested as they run in production.

pub mod receiver;
pub mod resend;
pub mod smtp;
