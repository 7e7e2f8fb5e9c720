use clap::Parser as _;
use livecart::config::{Cli, Command};
use livecart::startup::Application;
use livecart::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(&cli.log);
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => {
            let config = args.into_config()?;
            let app = Application::build(config).await?;
            tracing::info!("livecart is up: open http://{}/ in your browser", app.address());
            app.run_until_stopped().await
        }
        Command::Migrate(args) => livecart::startup::migrate_only(&args.database_url).await,
    }
}
