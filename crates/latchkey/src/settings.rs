//! `org settings`: show an organisation's relying-party settings and change
//! any of them from the command line. This is the operator's way to fix a
//! wrong RP ID or origin before anyone has a passkey to sign in with.

use anyhow::{Context, Result};
use clap::Args;
use latchkey_core::ids::OrgId;
use latchkey_core::model::{
    AttestationConveyance, OrgSettings, RegistrationMode, UserVerification,
};

use crate::bootstrap;
use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct OrgSettingsArgs {
    /// The organisation id (org_…)
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub rp_id: Option<String>,
    #[arg(long)]
    pub rp_name: Option<String>,
    /// Replace the allowed origins (repeatable)
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// invite or open
    #[arg(long, value_parser = parse_registration)]
    pub registration: Option<RegistrationMode>,
    /// required, preferred or discouraged
    #[arg(long, value_parser = parse_uv)]
    pub user_verification: Option<UserVerification>,
    /// none, indirect, direct or enterprise
    #[arg(long, value_parser = parse_attestation)]
    pub attestation: Option<AttestationConveyance>,
    /// Ceremony lifetime in seconds
    #[arg(long)]
    pub ceremony_ttl: Option<i64>,
    /// Session lifetime in seconds
    #[arg(long)]
    pub session_ttl: Option<i64>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

impl OrgSettingsArgs {
    fn changes_anything(&self) -> bool {
        self.rp_id.is_some()
            || self.rp_name.is_some()
            || !self.origins.is_empty()
            || self.registration.is_some()
            || self.user_verification.is_some()
            || self.attestation.is_some()
            || self.ceremony_ttl.is_some()
            || self.session_ttl.is_some()
    }

    fn apply(&self, mut s: OrgSettings) -> OrgSettings {
        if let Some(v) = &self.rp_id {
            s.rp_id = v.clone();
        }
        if let Some(v) = &self.rp_name {
            s.rp_name = v.clone();
        }
        if !self.origins.is_empty() {
            s.origins = self.origins.clone();
        }
        s.registration_mode = self.registration.unwrap_or(s.registration_mode);
        s.user_verification = self.user_verification.unwrap_or(s.user_verification);
        s.attestation = self.attestation.unwrap_or(s.attestation);
        s.ceremony_ttl_secs = self.ceremony_ttl.unwrap_or(s.ceremony_ttl_secs);
        s.session_ttl_secs = self.session_ttl.unwrap_or(s.session_ttl_secs);
        s
    }
}

fn parse_json_enum<T: serde::de::DeserializeOwned>(s: &str, expected: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| format!("expected {expected}"))
}

fn parse_registration(s: &str) -> Result<RegistrationMode, String> {
    parse_json_enum(s, "invite or open")
}

fn parse_uv(s: &str) -> Result<UserVerification, String> {
    parse_json_enum(s, "required, preferred or discouraged")
}

fn parse_attestation(s: &str) -> Result<AttestationConveyance, String> {
    parse_json_enum(s, "none, indirect, direct or enterprise")
}

pub async fn org_settings(config: &Config, args: OrgSettingsArgs) -> Result<()> {
    let org = OrgId::parse(args.org.trim()).context("--org must be an organisation id (org_…)")?;
    let store = bootstrap::open_store(config).await?;
    let core = bootstrap::core(config, store, config.public_url(config.listen.port())).await?;
    let current = core.operator_settings(&org).await?;
    let settings = if args.changes_anything() {
        core.operator_update_settings(&org, args.apply(current))
            .await?
    } else {
        current
    };
    if args.json {
        println!("{}", serde_json::to_string(&settings)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&settings)?);
    }
    Ok(())
}
