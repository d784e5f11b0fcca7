use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use switchboard::cli::{Cli, Command, PluginCommand, TenantCommand};
use switchboard::config::Config;
use switchboard::domain::tenants::{self, NewTenant};
use switchboard::plugins::authoring;
use switchboard::state::AppState;
use switchboard::{api, app, store};
use tracing_subscriber::EnvFilter;

fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The plugin author's commands, which need no server or database.
fn plugin(command: PluginCommand) -> anyhow::Result<()> {
    let here = std::env::current_dir()?;
    match command {
        PluginCommand::New { name, sdk } => {
            let dir = authoring::new::create(&here, &name, sdk.as_deref())?;
            println!("created {}: `cd {name} && switchboard plugin build`", dir.display());
        }
        PluginCommand::Build => {
            let (path, size) = authoring::build::build(&here)?;
            println!("{} ({size} bytes)", path.display());
        }
        PluginCommand::Check { wasm } => {
            let path = authoring::check::check(&here, wasm.as_deref())?;
            println!(
                "{}: ok (interface {})",
                path.display(),
                switchboard::plugins::INTERFACE_VERSION
            );
        }
    }
    Ok(())
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Plugin { command } => plugin(command)?,
        Command::Openapi => {
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{}", api::service(&config.public_url).spec());
        }
        Command::Migrate => {
            let store = store::Store::connect(&config.database_url, 1).await?;
            store.migrate().await?;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.bind).await?;
            let state = AppState::start(config).await?;
            app::serve(state, listener, app::shutdown_signal()).await?;
        }
        Command::Tenant {
            command:
                TenantCommand::Create {
                    name,
                    owner_email,
                    owner_password,
                },
        } => {
            let state = AppState::start(config).await?;
            let generated = owner_password.is_none();
            let password =
                owner_password.unwrap_or_else(|| switchboard::auth::secrets::generate("").chars().take(24).collect());
            let input = NewTenant {
                tenant_name: &name,
                email: &owner_email,
                password: &password,
            };
            let created = tenants::create(&state, input, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {e:?}"))?;
            println!("tenant_id={}", created.tenant.id);
            println!("owner_id={}", created.owner.id);
            if generated {
                println!("owner_password={password}");
            }
        }
    }
    Ok(())
}
