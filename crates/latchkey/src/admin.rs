//! The operator's commands: `org create` (bootstrap an organisation and its
//! first super admin's enrolment link), `org list`, `invite` and `migrate`.
//! They act on the same store as a running server (SQLite's WAL makes that
//! safe) through the same core calls the API uses; only printing is here.

use anyhow::{Context, Result};
use clap::Args;
use latchkey_core::ids::OrgId;
use latchkey_core::model::{OrgSettings, RegistrationMode, Role};
use latchkey_core::service::{NewInvitation, NewOrg, OrgView};
use serde_json::json;

use crate::bootstrap;
use crate::config::Config;

/// `org create`: an organisation and its first super admin; prints the enrolment link.
#[derive(Debug, Clone, Args)]
pub struct OrgCreate {
    #[arg(long)]
    pub name: String,
    /// The first super admin's username, e.g. an email address
    #[arg(long)]
    pub admin: String,
    /// The super admin's display name
    #[arg(long)]
    pub admin_name: Option<String>,
    /// Who may register: by invitation only, or anyone (open sign-up)
    #[arg(long, default_value = "invite", value_parser = parse_registration)]
    pub registration: RegistrationMode,
    /// WebAuthn relying-party id: the domain passkeys are bound to
    #[arg(long, default_value = "localhost")]
    pub rp_id: String,
    /// Relying-party name shown by authenticators [default: the org name]
    #[arg(long)]
    pub rp_name: Option<String>,
    /// An allowed origin (repeatable) [default: the public URL's origin]
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// `invite`: a one-time enrolment link for a new user.
#[derive(Debug, Clone, Args)]
pub struct Invite {
    /// The organisation id (org_…)
    #[arg(long)]
    pub org: String,
    /// The user's username, e.g. an email address
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub display_name: Option<String>,
    #[arg(long, default_value = "member", value_parser = parse_role)]
    pub role: Role,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "expected member, approver, admin or super_admin".to_owned())
}

fn parse_registration(s: &str) -> Result<RegistrationMode, String> {
    match s {
        "invite" => Ok(RegistrationMode::Invite),
        "open" => Ok(RegistrationMode::Open),
        _ => Err("expected invite or open".to_owned()),
    }
}

/// The public URL the links point at when the command runs outside the server.
fn public_url(config: &Config) -> String {
    config.public_url(config.listen.port())
}

/// `scheme://host[:port]` of a URL: the WebAuthn origin it is served from.
pub fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}")
}

pub async fn org_create(config: &Config, args: OrgCreate) -> Result<()> {
    let store = bootstrap::open_store(config).await?;
    let url = public_url(config);
    let core = bootstrap::core(config, store, url.clone()).await?;
    let origins = if args.origins.is_empty() {
        vec![origin_of(&url)]
    } else {
        args.origins
    };
    let rp_name = args.rp_name.unwrap_or_else(|| args.name.trim().to_owned());
    let mut settings = OrgSettings::new(&args.rp_id, &rp_name, origins);
    settings.registration_mode = args.registration;
    let input = NewOrg {
        name: args.name,
        admin_username: args.admin,
        admin_display_name: args.admin_name,
        settings,
    };
    let created = core.create_org(input).await?;
    let org = &created.org;
    let expires_at = created.enrolment_expires_at.to_rfc3339();
    if args.json {
        let out = json!({
            "orgId": org.id,
            "adminUserId": created.admin.id,
            "enrolmentLink": created.enrolment_link,
            "enrolmentToken": created.enrolment_token,
            "expiresAt": expires_at,
        });
        println!("{out}");
    } else {
        println!("Created organisation {} ({})", org.name, org.id);
        println!(
            "Super admin: {} ({})",
            created.admin.username, created.admin.id
        );
        println!(
            "Open this one-time enrolment link to create the first passkey (expires {expires_at}):"
        );
        println!("  {}", created.enrolment_link);
    }
    Ok(())
}

pub async fn org_list(config: &Config, json: bool) -> Result<()> {
    let store = bootstrap::open_store(config).await?;
    let orgs = store.list_orgs().await?;
    let views: Vec<OrgView> = orgs.iter().map(OrgView::from).collect();
    if json {
        println!("{}", serde_json::to_string(&views)?);
        return Ok(());
    }
    if views.is_empty() {
        println!("No organisations yet. Create one with: latchkey org create --name <name> --admin <username>");
    }
    for o in &views {
        let status = serde_json::to_value(o.passkey_status)?;
        let status = status.as_str().unwrap_or_default();
        println!("{}  {}  passkeys {}  rp {}", o.id, o.name, status, o.rp_id);
    }
    Ok(())
}

pub async fn invite(config: &Config, args: Invite) -> Result<()> {
    let org = OrgId::parse(args.org.trim()).context("--org must be an organisation id (org_…)")?;
    let store = bootstrap::open_store(config).await?;
    let core = bootstrap::core(config, store, public_url(config)).await?;
    let input = NewInvitation {
        username: args.username,
        display_name: args.display_name,
        role: args.role,
    };
    let created = core.invite_user(&org, None, input).await?;
    if args.json {
        println!("{}", serde_json::to_string(&created)?);
    } else {
        println!(
            "Invited {} as {} ({})",
            created.user.username,
            created.user.role.as_str(),
            created.user.id
        );
        println!(
            "Send them this one-time enrolment link (expires {}):",
            created.expires_at
        );
        println!("  {}", created.link);
    }
    Ok(())
}

pub async fn migrate(config: &Config) -> Result<()> {
    let store = bootstrap::open_store(config).await?;
    let backend = store.backend();
    let versions = latchkey_store::migration_versions();
    let applied = if backend == "postgres" {
        versions.postgres
    } else {
        versions.sqlite
    };
    println!("Database ({backend}) is up to date; migrations applied:");
    for m in applied {
        println!("  {:04} {}", m.version, m.description);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_of_a_url_drops_its_path() {
        assert_eq!(
            origin_of("https://auth.example.com/latchkey"),
            "https://auth.example.com"
        );
        assert_eq!(origin_of("http://localhost:8080"), "http://localhost:8080");
    }
}
