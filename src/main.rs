use std::process::ExitCode;

use clap::Parser as _;
use livecart::cli;
use livecart::config::{Cli, Command, TokenCommand, UserCommand};
use livecart::startup::Application;
use livecart::telemetry;

/// mimalloc instead of glibc's malloc: a checkout request spent about a
/// third of its CPU in glibc's allocator (its arenas consolidating and
/// splitting chunks that requests on two threads allocate and free); see
/// docs/benchmarks.md, "Checkout in the thousands".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.log, cli.log_format);
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => cli::migrate(&args.database_url).await,
        Command::Seed(args) => cli::seed(&args.db.database_url, args.products).await,
        Command::User(UserCommand::Add { username, staff, password_stdin, db }) => {
            cli::add_user(&db.database_url, &username, staff, password_stdin).await
        }
        Command::Token(TokenCommand::Create { name, scope, db }) => cli::create_token(&db.database_url, &name, &scope).await,
        Command::Backup { file, db } => cli::backup(&db.database_url, &file).await,
        Command::Restore { file, force, db } => cli::restore(&db.database_url, &file, force).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The causes, one per line: what failed, then why.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: livecart::config::ServeArgs) -> anyhow::Result<()> {
    let config = args.into_config()?;
    let app = Application::build(config).await?;
    tracing::info!("livecart is up: open http://{}/ in your browser", app.address());
    app.run_until_stopped().await
}
