//! livecart-bench: measure livecart on this machine. Loopback only; every run is
//! bounded in count and time.

mod bare;
mod chaos;
mod checkout;
mod fanout;
mod firstvisit;
mod hydration;
mod pages;
mod questions;
mod report;
mod server;
mod spread;

use clap::{Parser, Subcommand};

/// Measure livecart: fan-out latency, checkout throughput, page speed.
///
/// Each subcommand starts livecart itself on a fresh database (SQLite, or a
/// PostgreSQL URL with --database-url) unless --url points at a running server.
#[derive(Debug, Parser)]
#[command(name = "livecart-bench", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// N sockets follow one topic; M changes are committed by an outside writer
    /// at rate R; reports commit-to-receipt latency, lost/duplicate/out-of-order
    /// frames and server memory per socket
    Fanout(fanout::Args),
    /// Signed-in clients buy through POST /api/checkout; reports orders/s,
    /// latency, errors by kind, and checks that stock is conserved
    Checkout(checkout::Args),
    /// Server-rendered catalog and product pages under load; requests/s,
    /// latency, bytes per response
    Pages(pages::Args),
    /// A first visit with an empty cache (the page and every /pkg file it
    /// loads: bytes on the wire, server CPU per visit under load) and a repeat
    /// visit with the cache filled (what is asked for again)
    FirstVisit(firstvisit::Args),
    /// A first visit in Chromium at phone size with a cold cache, on a slow
    /// profile (1.6 Mbps, 150 ms, CPU 4x slower): when the page paints and
    /// when it is hydrated (every button answers)
    Hydration(hydration::Args),
    /// Shoppers spread over catalog pages, each following its page's 24
    /// cards; an outside writer changes products page after page; reports
    /// frames per change (should equal the shoppers showing it), stray and lost
    /// frames, latency and server CPU per change
    Spread(spread::Args),
    /// Shoppers buy and watch the catalog through a load balancer (--url) while
    /// instances restart and database links fail (scripts/multihost.sh breaks
    /// them); checks that no order is lost or doubled, stock is conserved and
    /// every open page converges to the database
    Chaos(chaos::Args),
    /// A busy product: N sockets follow its questions while signed-in clients
    /// ask and upvote at a rate; reports how long each write takes to reach
    /// every socket and checks that no vote is lost or counted twice
    Questions(questions::Args),
    /// The bare broadcaster `fanout --target bare` starts (not for direct use)
    #[command(hide = true)]
    BareServe(bare::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Fanout(args) => fanout::run(args).await,
        Command::Checkout(args) => checkout::run(args).await,
        Command::Pages(args) => pages::run(args).await,
        Command::FirstVisit(args) => firstvisit::run(args).await,
        Command::Hydration(args) => hydration::run(args).await,
        Command::Spread(args) => spread::run(args).await,
        Command::Questions(args) => questions::run(args).await,
        Command::Chaos(args) => chaos::run(args).await,
        Command::BareServe(args) => bare::serve(args).await,
    }
}
