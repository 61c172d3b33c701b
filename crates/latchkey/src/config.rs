//! The binary's one typed configuration, built in layers (defaults → TOML
//! file → `LATCHKEY_*` environment → command-line flags), validated once
//! with every problem reported together, then passed in, never global.
//! Secrets (the master key, a database URL with its password) are redacted
//! in `Debug`. It owns no behaviour beyond parsing and checking.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use latchkey_core::keys::MasterKey;
use serde::{Deserialize, Serialize};

/// The file looked for in the data directory when no `--config` is given.
pub const CONFIG_FILE_NAME: &str = "latchkey.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./latchkey-data";

/// The environment variables read, and the config keys they set.
const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "public_url",
    "master_key",
    "log",
    "log_format",
    "scheduling",
];

/// One layer of settings, every field optional; also the TOML file's shape.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<String>,
}

impl Layer {
    fn defaults() -> Self {
        Layer {
            listen: Some(DEFAULT_LISTEN.to_owned()),
            data_dir: Some(PathBuf::from(DEFAULT_DATA_DIR)),
            log: Some("info".to_owned()),
            log_format: Some("text".to_owned()),
            scheduling: Some("batch".to_owned()),
            ..Layer::default()
        }
    }
}

/// A secret string: usable, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The Linux scheduling policy `serve` runs its threads under (see `sched`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduling {
    /// `SCHED_BATCH`: the server's threads never preempt one another on wake-up.
    Batch,
    /// The system's default policy for the request threads (the SQLite
    /// writer still asks for `SCHED_BATCH` on its own, see latchkey-store).
    Normal,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: Option<Secret>,
    /// As configured; see [`Config::public_url`] for the value in force.
    pub public_url: Option<String>,
    pub master_key: Option<MasterKey>,
    pub log: String,
    pub log_format: LogFormat,
    pub scheduling: Scheduling,
    /// The TOML file that was read, if any.
    pub file: Option<PathBuf>,
}

impl Config {
    /// The public base URL: as configured, else `http://localhost:<port>`.
    pub fn public_url(&self, port: u16) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{port}"))
    }

    /// The key file used when no master key is configured.
    pub fn master_key_file(&self) -> PathBuf {
        self.data_dir.join("master.key")
    }
}

/// Every problem found in the configuration, reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub Vec<String>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0.join("; "))
    }
}

impl std::error::Error for ConfigError {}

/// Loads the configuration from the process environment and the given flags.
pub fn load(flags: Layer, config_file: Option<&Path>) -> Result<Config, ConfigError> {
    load_from(flags, std::env::vars(), config_file)
}

/// Loads the configuration from explicit sources (testable without touching
/// the process environment).
pub fn load_from(
    flags: Layer,
    env: impl IntoIterator<Item = (String, String)>,
    config_file: Option<&Path>,
) -> Result<Config, ConfigError> {
    let env = env_layer(env);
    let file = find_file(&flags, &env, config_file)?;
    let mut figment = Figment::from(Serialized::defaults(Layer::defaults()));
    if let Some(path) = &file {
        figment = figment.merge(Toml::file_exact(path));
    }
    let raw: Layer = figment
        .merge(Serialized::defaults(env))
        .merge(Serialized::defaults(flags))
        .extract()
        .map_err(|e| ConfigError(e.into_iter().map(|e| e.to_string()).collect()))?;
    validate(raw, file)
}

/// `LATCHKEY_<KEY>` variables as a layer; empty values count as unset.
fn env_layer(vars: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    vars.into_iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("LATCHKEY_")?.to_ascii_lowercase();
            (ENV_KEYS.contains(&key.as_str()) && !v.is_empty()).then_some((key, v))
        })
        .collect()
}

/// `--config`, else `<data dir>/latchkey.toml` when it exists.
fn find_file(
    flags: &Layer,
    env: &BTreeMap<String, String>,
    explicit: Option<&Path>,
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(ConfigError(vec![format!(
                "config file {} does not exist",
                path.display()
            )]));
        }
        return Ok(Some(path.to_owned()));
    }
    let data_dir = flags
        .data_dir
        .clone()
        .or_else(|| env.get("data_dir").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let candidate = data_dir.join(CONFIG_FILE_NAME);
    Ok(candidate.is_file().then_some(candidate))
}

fn validate(raw: Layer, file: Option<PathBuf>) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    let mut check = |r: Result<(), String>| {
        if let Err(p) = r {
            problems.push(p);
        }
    };
    let listen = raw.listen.unwrap_or_default();
    let listen_addr = listen.parse::<SocketAddr>().ok();
    check(listen_addr.map(|_| ()).ok_or_else(|| {
        format!("listen {listen:?} must be an IP address and port, e.g. {DEFAULT_LISTEN}")
    }));
    let public_url = raw
        .public_url
        .map(|u| u.trim().trim_end_matches('/').to_owned());
    check(public_url.as_deref().map_or(Ok(()), check_public_url));
    check(
        raw.database_url
            .as_deref()
            .map_or(Ok(()), check_database_url),
    );
    let master_key = match raw.master_key.as_deref().map(MasterKey::from_text) {
        Some(Err(_)) => {
            check(Err("master_key must be 32 bytes in base64url".to_owned()));
            None
        }
        other => other.and_then(Result::ok),
    };
    let log = raw.log.unwrap_or_default();
    check(
        tracing_subscriber::EnvFilter::try_new(&log)
            .map(|_| ())
            .map_err(|e| format!("log {log:?} is not a valid filter: {e}")),
    );
    let log_format = match raw.log_format.as_deref() {
        Some("json") => LogFormat::Json,
        Some("text") | None => LogFormat::Text,
        Some(other) => {
            check(Err(format!("log_format {other:?} must be text or json")));
            LogFormat::Text
        }
    };
    let scheduling = match raw.scheduling.as_deref() {
        Some("batch") | None => Scheduling::Batch,
        Some("normal") => Scheduling::Normal,
        Some(other) => {
            check(Err(format!("scheduling {other:?} must be batch or normal")));
            Scheduling::Batch
        }
    };
    match listen_addr {
        Some(listen) if problems.is_empty() => Ok(Config {
            listen,
            data_dir: raw
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url: raw.database_url.map(Secret),
            public_url,
            master_key,
            log,
            log_format,
            scheduling,
            file,
        }),
        _ => Err(ConfigError(problems)),
    }
}

fn check_public_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => Ok(()),
        _ => Err(format!(
            "public_url {url:?} must be an http:// or https:// URL, e.g. https://auth.example.com"
        )),
    }
}

fn check_database_url(url: &str) -> Result<(), String> {
    let known = ["postgres://", "postgresql://", "sqlite:"];
    if known.iter().any(|p| url.starts_with(p)) {
        Ok(())
    } else {
        Err("database_url must start with postgres://, postgresql:// or sqlite:".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn temp_dir_with_file(contents: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CONFIG_FILE_NAME);
        std::fs::write(&path, contents).unwrap();
        (dir, path)
    }

    #[test]
    fn no_configuration_at_all_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let flags = Layer {
            data_dir: Some(dir.path().to_owned()),
            ..Layer::default()
        };
        let c = load_from(flags, env(&[]), None).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.public_url(8080), "http://localhost:8080");
        assert_eq!(c.log, "info");
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.scheduling, Scheduling::Batch);
        assert!(c.master_key.is_none() && c.database_url.is_none() && c.file.is_none());
    }

    #[test]
    fn flags_beat_env_which_beats_the_file_which_beats_defaults() {
        let (_dir, path) = temp_dir_with_file(
            "listen = \"127.0.0.1:7000\"\npublic_url = \"https://file.example\"\nlog = \"debug\"\n",
        );
        let vars = env(&[
            ("LATCHKEY_LISTEN", "127.0.0.1:7001"),
            ("LATCHKEY_PUBLIC_URL", "https://env.example/"),
        ]);
        let flags = Layer {
            listen: Some("127.0.0.1:7002".into()),
            ..Layer::default()
        };
        let c = load_from(flags, vars, Some(&path)).unwrap();
        assert_eq!(c.listen.port(), 7002);
        assert_eq!(c.public_url.as_deref(), Some("https://env.example"));
        assert_eq!(c.log, "debug");
        assert_eq!(c.file.as_deref(), Some(path.as_path()));
    }

    #[test]
    fn the_file_in_the_data_dir_is_read_without_a_config_flag() {
        let (dir, _path) = temp_dir_with_file("log_format = \"json\"\nscheduling = \"normal\"\n");
        let vars = env(&[("LATCHKEY_DATA_DIR", dir.path().to_str().unwrap())]);
        let c = load_from(Layer::default(), vars, None).unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.scheduling, Scheduling::Normal);
        assert_eq!(c.data_dir, dir.path());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let flags = Layer {
            data_dir: Some(dir.path().to_owned()),
            listen: Some("localhost".into()),
            public_url: Some("ftp://x".into()),
            database_url: Some("mysql://x".into()),
            master_key: Some("short".into()),
            log_format: Some("xml".into()),
            scheduling: Some("fifo".into()),
            ..Layer::default()
        };
        let err = load_from(flags, env(&[]), None).unwrap_err();
        assert_eq!(err.0.len(), 6, "{err}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error() {
        let (_dir, path) = temp_dir_with_file("lisen = \"127.0.0.1:1\"\n");
        let err = load_from(Layer::default(), env(&[]), Some(&path)).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn secrets_are_hidden_in_debug() {
        let key = MasterKey::generate();
        let flags = Layer {
            master_key: Some(key.to_text()),
            database_url: Some("postgres://u:hunter2@db/latchkey".into()),
            data_dir: Some(PathBuf::from("/nonexistent")),
            ..Layer::default()
        };
        let c = load_from(flags, env(&[]), None).unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains(&key.to_text()),
            "{shown}"
        );
    }
}
