//! `latchkey`: parses the command line and runs it. Failures print one
//! clear line and exit with status 1.

use clap::Parser;
use latchkey::cli::{self, Cli};

#[tokio::main]
async fn main() {
    let parsed = Cli::parse();
    if let Err(e) = cli::run(parsed).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
