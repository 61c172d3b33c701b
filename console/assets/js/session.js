// Who is signed in, per organisation.
//
// The session token lives in sessionStorage, not localStorage nor a cookie:
// it is scoped to this tab and gone when the tab closes (a bearer token for
// approvals should not sit on disk for days), it is never sent automatically
// by the browser (so no CSRF), and the strict Content-Security-Policy keeps
// foreign script from reading it. Signing out also ends the session
// server-side. Only the last organisation's id (not a secret) goes to
// localStorage, so the console reopens where the user left it.

const KEY = (orgId) => `latchkey.session.${orgId}`;
const LAST_ORG = 'latchkey.lastOrg';

export function load(orgId) {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY(orgId)) || 'null');
    if (!s || !s.token) return null;
    if (s.expiresAt && Date.parse(s.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(KEY(orgId));
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

/** Stores a token grant from `webauthn/verify`, and the passkey that earned it. */
export function save(orgId, grant, credentialId) {
  const s = { token: grant.token, expiresAt: grant.expiresAt, user: grant.user, credentialId };
  sessionStorage.setItem(KEY(orgId), JSON.stringify(s));
  rememberOrg(orgId);
  return s;
}

export function clear(orgId) {
  sessionStorage.removeItem(KEY(orgId));
}

export function rememberOrg(orgId) {
  try {
    localStorage.setItem(LAST_ORG, orgId);
  } catch {
    /* storage may be disabled; the org is in the URL anyway */
  }
}

export function lastOrg() {
  try {
    return localStorage.getItem(LAST_ORG);
  } catch {
    return null;
  }
}

export function forgetOrg() {
  try {
    localStorage.removeItem(LAST_ORG);
  } catch {
    /* nothing to forget */
  }
}

export const isAdmin = (s) => !!s && (s.user.role === 'admin' || s.user.role === 'super_admin');
