//! Start-up wiring shared by every command: the store (chosen once from the
//! database URL, migrated on open), the master key (configured, or a key
//! file in the data directory created on first start with mode 0600) and
//! the core service built over them.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use latchkey_core::clock::SystemClock;
use latchkey_core::keys::MasterKey;
use latchkey_core::store::Store;
use latchkey_core::{CoreConfig, Latchkey};

use crate::config::Config;

/// Creates the data directory if it is missing, readable by its owner only:
/// it holds the database and the master key. An existing directory is left
/// as the operator set it up.
pub fn ensure_data_dir(config: &Config) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })
}

/// Creates the data directory and opens (and migrates) the store.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    ensure_data_dir(config)?;
    let url = config.database_url.as_ref().map(|s| s.expose());
    latchkey_store::open(url, &config.data_dir)
        .await
        .context("cannot open the database")
}

/// The configured master key, else the data directory's key file, created if absent.
pub fn master_key(config: &Config) -> Result<MasterKey> {
    if let Some(key) = &config.master_key {
        return Ok(key.clone());
    }
    load_or_create_key_file(&config.master_key_file())
}

fn load_or_create_key_file(path: &Path) -> Result<MasterKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_text(&text)
            .with_context(|| format!("the key file {} is not a valid master key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn create_key_file(path: &Path) -> Result<MasterKey> {
    let key = MasterKey::generate();
    // Written whole to a private temporary file, then linked into place: the
    // key file never exists half-written, and of two processes creating it at
    // once (a CLI command next to a starting server) exactly one wins.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        writeln!(file, "{}", key.to_text())?;
        file.sync_all()
    });
    written.with_context(|| format!("cannot write {}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key_file(path),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
        Ok(()) => {
            tracing::info!(path = %path.display(), "created a new master key; back it up with the database");
            Ok(key)
        }
    }
}

/// The core service over `store`, with the public URL in force.
pub async fn core(config: &Config, store: Arc<dyn Store>, public_url: String) -> Result<Latchkey> {
    let master = master_key(config)?;
    let core_config = CoreConfig { public_url };
    Latchkey::new(store, Arc::new(SystemClock), master, core_config)
        .await
        .context("cannot start the core service (is the master key the one this database was created with?)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = load_or_create_key_file(&path).unwrap();
        let second = load_or_create_key_file(&path).unwrap();
        assert_eq!(first.to_text(), second.to_text());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
