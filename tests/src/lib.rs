//! Test harness: starts the real server in-process on 127.0.0.1:0 with a database of its own
//! (a fresh SQLite file, or a fresh PostgreSQL database when `SWITCHBOARD_TEST_POSTGRES_URL` is
//! set) and speaks HTTP to it.

pub mod client;
pub mod database;
pub mod email;
pub mod fakes;
pub mod plugins;
pub mod server;

pub use client::{Reply, Session};
pub use server::TestServer;
