//! The operator's commands for keys and data: `keys list` / `keys rotate`
//! (token-signing keys), `export` / `import` (move an installation to
//! another database, e.g. SQLite to PostgreSQL) and `backup` (an online copy
//! of the SQLite file). The work is in `latchkey-core` and
//! `latchkey_store::transfer`; only opening and printing are here.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use latchkey_core::service::SigningKeyView;
use latchkey_store::transfer::{self, Counts};
use latchkey_store::Database;

use crate::bootstrap;
use crate::config::Config;

/// The store as an operational handle (export, import, backup).
async fn open_database(config: &Config) -> Result<Arc<dyn Database>> {
    crate::bootstrap::ensure_data_dir(config)?;
    let url = config.database_url.as_ref().map(|s| s.expose());
    latchkey_store::open_database(url, &config.data_dir)
        .await
        .context("cannot open the database")
}

async fn core(config: &Config) -> Result<latchkey_core::Latchkey> {
    let store = bootstrap::open_store(config).await?;
    bootstrap::core(config, store, config.public_url(config.listen.port())).await
}

fn print_key(k: &SigningKeyView) {
    let state = match (&k.retired_at, k.active) {
        (_, true) => "active (signs new tokens)".to_owned(),
        (Some(at), false) => format!("retired {at} (verifies until its tokens expire)"),
        (None, false) => "unretired, superseded by a newer key".to_owned(),
    };
    println!("{}  {}  created {}  {state}", k.kid, k.alg, k.created_at);
}

/// `keys list`: every stored signing key, oldest first.
pub async fn keys_list(config: &Config, json: bool) -> Result<()> {
    let keys = core(config).await?.signing_keys().await?;
    if json {
        println!("{}", serde_json::to_string(&keys)?);
    } else {
        keys.iter().for_each(print_key);
    }
    Ok(())
}

/// `keys rotate`: a new signing key; the previous one is retired but stays
/// published until the tokens it signed have expired.
pub async fn keys_rotate(config: &Config, json: bool) -> Result<()> {
    let fresh = core(config).await?.rotate_signing_key().await?;
    if json {
        println!("{}", serde_json::to_string(&fresh)?);
    } else {
        println!("New signing key {} is active.", fresh.kid);
        println!("Running servers switch to it within a minute (or at once, on seeing one of its tokens).");
    }
    Ok(())
}

fn summary(counts: &Counts) -> String {
    format!(
        "{} orgs, {} users, {} passkeys, {} invitations, {} sessions, {} signing keys, {} audit events",
        counts.orgs,
        counts.users,
        counts.credentials,
        counts.invitations,
        counts.sessions,
        counts.signing_keys,
        counts.audit_events
    )
}

/// A new file only the owner can read: an export holds every user's data.
fn create_private(path: &Path) -> Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}

/// `export --out FILE`: every table as versioned JSON Lines.
pub async fn export(config: &Config, out: &Path) -> Result<()> {
    let db = open_database(config).await?;
    let mut file = BufWriter::new(create_private(out)?);
    let exported = transfer::export(db.as_ref(), &mut file).await;
    let written = exported.map_err(anyhow::Error::from).and_then(|counts| {
        file.flush()?;
        file.get_ref().sync_all()?;
        Ok(counts)
    });
    match written {
        Ok(counts) => {
            println!("Exported {} to {}", summary(&counts), out.display());
            println!(
                "Signing keys stay encrypted: the new installation needs the same master key."
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(out);
            Err(e.context("the export failed; no file was left behind"))
        }
    }
}

/// `import --in FILE`: loads an export into an empty database.
pub async fn import(config: &Config, input: &Path) -> Result<()> {
    let file = File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let db = open_database(config).await?;
    let counts = transfer::import(db.as_ref(), &mut BufReader::new(file))
        .await
        .with_context(|| format!("cannot import {}; nothing was written", input.display()))?;
    println!(
        "Imported {} into the {} database",
        summary(&counts),
        db.backend()
    );
    Ok(())
}

/// `backup --out FILE`: an online, consistent copy of the SQLite database.
pub async fn backup(config: &Config, out: &Path) -> Result<()> {
    let db = open_database(config).await?;
    db.backup_to(out).await?;
    println!("Backed up the SQLite database to {}", out.display());
    println!("Keep the master key too (a separate, safe place): without it the signing keys can't be used.");
    Ok(())
}
