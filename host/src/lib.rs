//! Switchboard: a multi-tenant customer-engagement platform. This crate is the server.

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod egress;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod plugins;
pub mod providers;
pub mod signatures;
pub mod state;
pub mod store;
pub mod tenancy;
