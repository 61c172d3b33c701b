//! The command line: clap definitions and the dispatch to the commands. The
//! global flags become the top configuration layer; everything else about
//! a command is passed to it as plain values.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::admin::{self, Invite, OrgCreate};
use crate::config::{self, Config, Layer};
use crate::settings::{self, OrgSettingsArgs};
use crate::{logging, ops, sched, serve};

/// Latchkey: a self-hosted passkey (WebAuthn) server.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Data directory: SQLite database, master key, latchkey.toml [default: ./latchkey-data]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of the SQLite file in the data directory
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// A TOML configuration file [default: <data-dir>/latchkey.toml, if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The public base URL of the server, for token issuers and enrolment links
    /// [default: http://localhost:<listen port>]
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Invite a user to an organisation: prints a one-time enrolment link.
    Invite(Invite),
    /// Apply database migrations and show the schema status.
    Migrate,
    /// Token-signing keys: list them, or rotate to a new one.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write every table to a versioned JSON Lines file (to move to another database).
    Export {
        /// The file to create
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Load an export into an empty database (run once, before `serve`).
    Import {
        /// The export file
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
    },
    /// Copy the SQLite database to a new file while the server runs.
    Backup {
        /// The file to create
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the token-signing keys, marking the active one.
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Generate a new signing key and retire the current one.
    Rotate {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation and its first super admin; prints the enrolment link.
    Create(OrgCreate),
    /// List organisations.
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Show an organisation's settings, or change them (RP ID, origins, modes, lifetimes).
    Settings(OrgSettingsArgs),
}

impl Cli {
    /// The flags as the top configuration layer.
    fn layer(&self) -> Layer {
        let listen = match &self.command {
            Command::Serve { listen } => listen.clone(),
            _ => None,
        };
        Layer {
            listen,
            data_dir: self.global.data_dir.clone(),
            database_url: self.global.database_url.clone(),
            public_url: self.global.public_url.clone(),
            ..Layer::default()
        }
    }
}

/// Loads the configuration, starts logging, sets the server's scheduling
/// policy while this is the process's only thread (every thread started
/// later inherits it, see `sched`) and runs the command on a new runtime.
pub fn run(cli: Cli) -> Result<()> {
    let config = config::load(cli.layer(), cli.global.config.as_deref())?;
    logging::init(&config);
    if matches!(cli.command, Command::Serve { .. }) && !sched::apply(config.scheduling) {
        tracing::debug!("SCHED_BATCH refused; the server keeps the default policy");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(dispatch(cli, config))
}

async fn dispatch(cli: Cli, config: Config) -> Result<()> {
    match cli.command {
        Command::Serve { .. } => serve::run(&config).await,
        Command::Org(OrgCommand::List { json }) => admin::org_list(&config, json).await,
        Command::Org(OrgCommand::Create(args)) => admin::org_create(&config, args).await,
        Command::Org(OrgCommand::Settings(args)) => settings::org_settings(&config, args).await,
        Command::Invite(args) => admin::invite(&config, args).await,
        Command::Migrate => admin::migrate(&config).await,
        Command::Keys(KeysCommand::List { json }) => ops::keys_list(&config, json).await,
        Command::Keys(KeysCommand::Rotate { json }) => ops::keys_rotate(&config, json).await,
        Command::Export { out } => ops::export(&config, &out).await,
        Command::Import { input } => ops::import(&config, &input).await,
        Command::Backup { out } => ops::backup(&config, &out).await,
    }
}
