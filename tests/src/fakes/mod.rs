//! Fake provider servers on 127.0.0.1 speaking the providers' own wire formats, so the real
//! clients are tested as they run in production.

pub mod resend;
pub mod smtp;
