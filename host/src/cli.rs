//! The `switchboard` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "switchboard", version, about = "The Switchboard server")]
pub struct Cli {
    /// Optional TOML configuration file; `SWITCHBOARD_*` variables override it.
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI spec.
    Openapi,
    /// Operator commands for tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and its owner. Prints the ids and, unless given, a generated password.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        /// The owner's password; read from this variable so it stays out of shell history.
        #[arg(long, env = "SWITCHBOARD_OWNER_PASSWORD", hide_env_values = true)]
        owner_password: Option<String>,
    },
}
