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
    /// Write plugins: scaffold, build to a component, check before uploading.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Create ./NAME/ with Cargo.toml, plugin.toml and src/lib.rs; it builds as it is.
    New {
        name: String,
        /// The switchboard-sdk crate to depend on (default: this repository's `sdk/`).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// In a plugin's folder: build for wasm32-unknown-unknown and write dist/NAME.wasm.
    Build,
    /// In a plugin's folder: validate the manifest, the component's imports and its interface version.
    Check {
        /// The component to check (default: dist/NAME.wasm).
        #[arg(long)]
        wasm: Option<PathBuf>,
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
