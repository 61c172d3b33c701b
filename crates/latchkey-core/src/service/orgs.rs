//! Organisations and their people: bootstrap (an org with its first super
//! admin and a one-time enrolment link), invitations, user administration and
//! settings. No passwords anywhere: every user enrols a passkey through a
//! one-time, expiring link.

use sha2::{Digest, Sha256};

use super::{Latchkey, Principal, UserView};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{fail, Error, ErrorCode, Result};
use crate::ids::{InvitationId, OrgId, UserId};
use crate::model::{
    Invitation, InvitationKind, Org, OrgSettings, Page, Paged, PasskeyStatus, Role, User, UserKind,
    UserStatus,
};
use crate::random;

pub struct NewOrg {
    pub name: String,
    pub admin_username: String,
    pub admin_display_name: Option<String>,
    pub settings: OrgSettings,
}

#[derive(Debug)]
pub struct CreatedOrg {
    pub org: Org,
    pub admin: User,
    pub enrolment_token: String,
    pub enrolment_link: String,
    pub enrolment_expires_at: crate::clock::Timestamp,
}

pub struct NewInvitation {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
}

#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedInvitation {
    pub user: UserView,
    pub token: String,
    pub link: String,
    pub expires_at: String,
}

pub(crate) fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub(crate) fn check_username(username: &str) -> Result<String> {
    let u = username.trim();
    if u.is_empty() || u.len() > 256 || u.chars().any(char::is_control) {
        return fail(
            ErrorCode::InvalidRequest,
            "username must be 1 to 256 printable characters",
        );
    }
    Ok(u.to_owned())
}

pub(crate) fn check_display_name(name: Option<String>, username: &str) -> Result<String> {
    let n = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    match n {
        Some(n) if n.len() > 256 || n.chars().any(char::is_control) => fail(
            ErrorCode::InvalidRequest,
            "displayName must be at most 256 printable characters",
        ),
        Some(n) => Ok(n),
        None => Ok(username.to_owned()),
    }
}

/// Checks settings before they are stored; every problem is reported at once.
pub fn validate_settings(s: &OrgSettings) -> Result<()> {
    let mut problems = Vec::new();
    if s.rp_id.is_empty() || s.rp_id.contains(['/', ':', ' ']) {
        problems.push("rpId must be a bare domain, e.g. example.com".to_owned());
    }
    if s.origins.is_empty() {
        problems.push("at least one allowed origin is needed".to_owned());
    }
    for o in &s.origins {
        let web = (o.starts_with("https://") || o.starts_with("http://")) && !o.ends_with('/');
        if !web && !o.starts_with("android:apk-key-hash:") {
            problems.push(format!(
                "origin {o:?} must be scheme://host[:port] or android:apk-key-hash:…"
            ));
        }
    }
    let ranges = [
        ("ceremonyTtlSecs", s.ceremony_ttl_secs, 30, 3600),
        ("sessionTtlSecs", s.session_ttl_secs, 60, 30 * 86400),
        (
            "verificationTokenTtlSecs",
            s.verification_token_ttl_secs,
            10,
            3600,
        ),
        ("invitationTtlSecs", s.invitation_ttl_secs, 300, 30 * 86400),
    ];
    for (name, v, lo, hi) in ranges {
        if !(lo..=hi).contains(&v) {
            problems.push(format!("{name} must be between {lo} and {hi}"));
        }
    }
    if let Some(list) = &s.allowed_aaguids {
        if list
            .iter()
            .any(|a| crate::aaguid::parse_aaguid(a).is_none())
        {
            problems.push("allowedAaguids must hold UUIDs".to_owned());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        fail(ErrorCode::InvalidRequest, problems.join("; "))
    }
}

impl Latchkey {
    /// Bootstrap: the org, its super admin (invited) and the enrolment link.
    pub async fn create_org(&self, input: NewOrg) -> Result<CreatedOrg> {
        let now = self.now();
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.len() > 200 {
            return fail(
                ErrorCode::InvalidRequest,
                "name must be 1 to 200 characters",
            );
        }
        validate_settings(&input.settings)?;
        let org = Org {
            id: OrgId::generate(),
            name,
            passkey_status: PasskeyStatus::Inactive,
            settings: input.settings,
            created_at: now,
        };
        let username = check_username(&input.admin_username)?;
        let display_name = check_display_name(input.admin_display_name, &username)?;
        let admin = new_user(&org.id, username, display_name, Role::SuperAdmin, now);
        let token = random::secret_token();
        let ttl = org.settings.invitation_ttl_secs;
        let enrolment = new_invitation(&admin, InvitationKind::Enrolment, &token, None, now, ttl);
        let audit = [
            AuditEvent::new(&org.id, now, AuditKind::OrgCreated, org.id.as_str()),
            AuditEvent::new(&org.id, now, AuditKind::UserInvited, admin.id.as_str())
                .with(serde_json::json!({"role": "super_admin", "kind": "enrolment"})),
        ];
        self.store
            .create_org(&org, &admin, &enrolment, &audit)
            .await?;
        let enrolment_link = self.enrolment_link(&org.id, &token);
        Ok(CreatedOrg {
            org,
            admin,
            enrolment_token: token,
            enrolment_link,
            enrolment_expires_at: enrolment.expires_at,
        })
    }

    pub fn enrolment_link(&self, org: &OrgId, token: &str) -> String {
        format!(
            "{}/enroll?org={}&token={}",
            self.config.public_url.trim_end_matches('/'),
            org,
            token
        )
    }

    /// Invites a user; `by` is `None` for the CLI operator. Admins only.
    pub async fn invite_user(
        &self,
        org_id: &OrgId,
        by: Option<&Principal>,
        input: NewInvitation,
    ) -> Result<CreatedInvitation> {
        if let Some(p) = by {
            p.require_admin()?;
            if input.role == Role::SuperAdmin && p.role != Role::SuperAdmin {
                return fail(
                    ErrorCode::Forbidden,
                    "only a super admin can invite a super admin",
                );
            }
        }
        let org = self.org(org_id).await?;
        let now = self.now();
        let username = check_username(&input.username)?;
        let display_name = check_display_name(input.display_name, &username)?;
        let existing = self.store.find_user_by_username(org_id, &username).await?;
        // Re-inviting someone who never enrolled issues a fresh link for the same user.
        let (user, is_new) = match existing {
            Some(u) if u.status == UserStatus::Invited => (u, false),
            Some(_) => return fail(ErrorCode::UsernameTaken, "this user already exists"),
            None => (
                new_user(org_id, username, display_name, input.role, now),
                true,
            ),
        };
        let token = random::secret_token();
        let by_id = by.map(|p| p.user_id.clone());
        let ttl = org.settings.invitation_ttl_secs;
        let inv = new_invitation(&user, InvitationKind::Invitation, &token, by_id, now, ttl);
        let mut event = AuditEvent::new(org_id, now, AuditKind::UserInvited, user.id.as_str())
            .with(serde_json::json!({"role": user.role.as_str()}));
        if let Some(p) = by {
            event = event.by(&p.user_id);
        }
        self.store
            .create_invitation(is_new.then_some(&user), &inv, &[event])
            .await?;
        Ok(CreatedInvitation {
            user: UserView::from(&user),
            link: self.enrolment_link(org_id, &token),
            token,
            expires_at: inv.expires_at.to_rfc3339(),
        })
    }

    pub async fn list_users(&self, p: &Principal, page: Page) -> Result<Paged<UserView>> {
        p.require_admin()?;
        let users = self.store.list_users(&p.org_id, page).await?;
        Ok(Paged {
            items: users.items.iter().map(UserView::from).collect(),
            total: users.total,
        })
    }

    /// Suspends or reactivates a user. Admins only; nobody suspends themselves.
    pub async fn set_user_status(
        &self,
        p: &Principal,
        user: &UserId,
        status: UserStatus,
    ) -> Result<UserView> {
        p.require_admin()?;
        if &p.user_id == user {
            return fail(ErrorCode::Forbidden, "you can't change your own status");
        }
        if status == UserStatus::Invited {
            return fail(
                ErrorCode::InvalidRequest,
                "status must be active or suspended",
            );
        }
        let now = self.now();
        let event = AuditEvent::new(&p.org_id, now, AuditKind::UserStatusChanged, user.as_str())
            .by(&p.user_id)
            .with(serde_json::json!({"status": status}));
        self.store
            .set_user_status(&p.org_id, user, status, &[event])
            .await?;
        // A suspension ends every session at once, not just at the next request's check.
        if status == UserStatus::Suspended {
            let ended = AuditEvent::new(&p.org_id, now, AuditKind::SessionRevoked, user.as_str())
                .by(&p.user_id)
                .with(serde_json::json!({"reason": "user_suspended"}));
            self.store
                .revoke_user_sessions(&p.org_id, user, now, &[ended])
                .await?;
        }
        let updated = self.store.get_user(&p.org_id, user).await?;
        updated
            .map(|u| UserView::from(&u))
            .ok_or_else(|| Error::new(ErrorCode::UserNotFound, "no such user"))
    }

    /// Settings as the operator's CLI changes them: no principal, because
    /// before the first passkey is enrolled nobody can sign in to fix, say,
    /// a wrong RP ID. Audited with no actor.
    pub async fn operator_update_settings(
        &self,
        org_id: &OrgId,
        settings: OrgSettings,
    ) -> Result<OrgSettings> {
        validate_settings(&settings)?;
        self.org(org_id).await?;
        let event = AuditEvent::new(
            org_id,
            self.now(),
            AuditKind::OrgSettingsUpdated,
            org_id.as_str(),
        )
        .with(serde_json::json!({"by": "operator"}));
        self.store
            .update_org_settings(org_id, &settings, &[event])
            .await?;
        self.orgs.evict(org_id);
        Ok(self.org(org_id).await?.settings.clone())
    }

    /// The full settings, for the operator's CLI.
    pub async fn operator_settings(&self, org_id: &OrgId) -> Result<OrgSettings> {
        Ok(self.org(org_id).await?.settings.clone())
    }

    /// The full settings. Admins only.
    pub async fn settings(&self, p: &Principal) -> Result<OrgSettings> {
        p.require_admin()?;
        Ok(self.org(&p.org_id).await?.settings.clone())
    }

    pub async fn update_settings(
        &self,
        p: &Principal,
        settings: OrgSettings,
    ) -> Result<OrgSettings> {
        p.require_admin()?;
        validate_settings(&settings)?;
        let event = AuditEvent::new(
            &p.org_id,
            self.now(),
            AuditKind::OrgSettingsUpdated,
            p.org_id.as_str(),
        )
        .by(&p.user_id);
        self.store
            .update_org_settings(&p.org_id, &settings, &[event])
            .await?;
        self.orgs.evict(&p.org_id);
        self.settings(p).await
    }
}

fn new_user(
    org: &OrgId,
    username: String,
    display_name: String,
    role: Role,
    now: crate::clock::Timestamp,
) -> User {
    User {
        id: UserId::generate_at(now),
        org_id: org.clone(),
        username,
        display_name,
        role,
        kind: UserKind::Human,
        status: UserStatus::Invited,
        user_handle: random::unique_bytes::<16>().to_vec(),
        created_at: now,
    }
}

fn new_invitation(
    user: &User,
    kind: InvitationKind,
    token: &str,
    created_by: Option<UserId>,
    now: crate::clock::Timestamp,
    ttl_secs: i64,
) -> Invitation {
    Invitation {
        id: InvitationId::generate(),
        org_id: user.org_id.clone(),
        user_id: user.id.clone(),
        kind,
        token_hash: hash_token(token),
        created_by,
        created_at: now,
        expires_at: now.plus_secs(ttl_secs),
        used_at: None,
    }
}
