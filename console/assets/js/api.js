// The one API client of the console. It speaks the same JSON API that
// integrators use (/api/v1/organizations/{orgId}/…), attaches the session
// token when there is one, and turns every error into an ApiError carrying
// the API's stable `code`, so screens explain failures by code, not by text.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'http_' + status;
  }
}

// Codes that mean "your session is gone": the shell signs the user out.
const SESSION_ENDED = new Set([
  'unauthenticated', 'invalid_token', 'token_expired', 'session_revoked', 'user_suspended',
  'wrong_organization',
]);

let onSessionEnded = () => {};

/** The shell registers what happens when a signed-in call finds the session ended. */
export function whenSessionEnds(handler) {
  onSessionEnded = handler;
}

async function request(orgId, method, path, { body, token, query } = {}) {
  const url = new URL(`/api/v1/organizations/${encodeURIComponent(orgId)}${path}`, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection and try again.');
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new ApiError(res.status, data?.error?.code, data?.error?.message);
    if (token && SESSION_ENDED.has(err.code)) onSessionEnded(err);
    throw err;
  }
  return data;
}

/** Every call the console makes, for one organisation and (optionally) one session. */
export function client(orgId, token) {
  const call = (method, path, opts = {}) => request(orgId, method, path, { ...opts, token });
  const anon = (method, path, opts = {}) => request(orgId, method, path, opts);
  return {
    orgId,
    // Public
    org: () => anon('GET', ''),
    inspectInvitation: (invitationToken) =>
      anon('POST', '/users/invitations/inspect', { body: { token: invitationToken } }),
    registerInitWithInvitation: (invitationToken) =>
      anon('POST', '/webauthn/register/init', { body: { invitationToken } }),
    registerComplete: (ceremonyId, credential, name) =>
      anon('POST', '/webauthn/register/complete', { body: { ceremonyId, credential, ...(name ? { name } : {}) } }),
    challenge: (input) => anon('POST', '/webauthn/challenge', { body: input || {} }),
    verify: (ceremonyId, credential) => anon('POST', '/webauthn/verify', { body: { ceremonyId, credential } }),
    // Signed in
    registerInit: () => call('POST', '/webauthn/register/init', { body: {} }),
    myCredentials: (page = 1, perPage = 100) =>
      call('GET', '/webauthn/credentials', { query: { page, per_page: perPage } }),
    allCredentials: (page = 1, perPage = 100) =>
      call('GET', '/webauthn/credentials/all', { query: { page, per_page: perPage } }),
    renameCredential: (id, name) =>
      call('PATCH', `/webauthn/credentials/${encodeURIComponent(id)}`, { body: { name } }),
    deleteCredential: (id, { override = false } = {}) =>
      call('DELETE', `/webauthn/credentials/${encodeURIComponent(id)}`, { query: override ? { override: 'true' } : {} }),
    logout: () => call('POST', '/sessions/logout'),
    settings: () => call('GET', '/settings'),
    saveSettings: (settings) => call('PUT', '/settings', { body: settings }),
    users: (page = 1, perPage = 100) => call('GET', '/users', { query: { page, per_page: perPage } }),
    invite: (input) => call('POST', '/users/invitations', { body: input }),
    setUserStatus: (userId, status) =>
      call('PATCH', `/users/${encodeURIComponent(userId)}`, { body: { status } }),
  };
}

/** Every item of a paginated list (the API caps per_page at 100). */
export async function all(fetchPage) {
  const items = [];
  for (let page = 1; ; page++) {
    const res = await fetchPage(page);
    items.push(...res.items);
    if (items.length >= res.total || res.items.length === 0) return items;
  }
}
