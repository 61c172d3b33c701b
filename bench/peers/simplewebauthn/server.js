// A minimal passkey server on @simplewebauthn/server: the comparison peer of
// Latchkey's benchmarks (bench/run.sh). It speaks Latchkey's four ceremony
// routes with the same request and reply shapes, for any orgId, with
// in-memory state: what a team would write in an afternoon with the most
// popular WebAuthn library. It is deliberately *not* slowed down: no database,
// no audit log, one process. Its verify still signs a real Ed25519 JWT, as a
// session token is what a login produces; otherwise the comparison would leave
// out work Latchkey does on every ceremony.
//
// Policy (matching a Latchkey org created by bench/run.sh): open registration,
// ES256 and EdDSA, attestation conveyance "none", user verification required,
// resident key required.
//
// Usage: node server.js PORT   (env ORIGIN, default http://localhost:PORT; RP_ID, default localhost)

import http from 'node:http';
import crypto from 'node:crypto';
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  generateAuthenticationOptions,
  verifyAuthenticationResponse,
} from '@simplewebauthn/server';

const PORT = Number(process.argv[2] || process.env.PORT || 8090);
const ORIGIN = process.env.ORIGIN || `http://localhost:${PORT}`;
const RP_ID = process.env.RP_ID || 'localhost';
const CEREMONY_TTL_MS = 5 * 60 * 1000;
const SESSION_TTL_S = 24 * 60 * 60;
const MAX_BODY = 64 * 1024;

// orgId → { users: Map<username, user>, credentials: Map<credId, cred> }
const orgs = new Map();
// ceremonyId → { orgId, kind, challenge, username?, userId?, expires }
const ceremonies = new Map();
const sessions = new Map();

const signingKey = crypto.generateKeyPairSync('ed25519').privateKey;
const KID = `key_${crypto.randomBytes(8).toString('hex')}`;
const JWT_HEADER = b64url(JSON.stringify({ alg: 'EdDSA', typ: 'lk-session+jwt', kid: KID }));

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

function org(orgId) {
  let o = orgs.get(orgId);
  if (!o) {
    o = { users: new Map(), credentials: new Map() };
    orgs.set(orgId, o);
  }
  return o;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function newCeremony(fields) {
  const id = `cer_${crypto.randomBytes(16).toString('base64url')}`;
  ceremonies.set(id, { ...fields, expires: Date.now() + CEREMONY_TTL_MS });
  return id;
}

// Single use: the ceremony is gone whether verification then succeeds or not.
function takeCeremony(orgId, id, kind) {
  const c = ceremonies.get(id);
  if (!c || c.orgId !== orgId || c.kind !== kind) throw new ApiError(404, 'ceremony_not_found', 'no such ceremony');
  ceremonies.delete(id);
  if (c.expires < Date.now()) throw new ApiError(410, 'ceremony_expired', 'the ceremony has expired');
  return c;
}

async function registerInit(orgId, body) {
  const username = (body.username || '').trim();
  if (!username) throw new ApiError(400, 'invalid_request', 'username is required');
  if (org(orgId).users.has(username)) throw new ApiError(409, 'username_taken', 'username is taken');
  const userId = crypto.randomBytes(16);
  const publicKey = await generateRegistrationOptions({
    rpName: 'Bench',
    rpID: RP_ID,
    userName: username,
    userID: userId,
    userDisplayName: body.displayName || username,
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    supportedAlgorithmIDs: [-7, -8],
  });
  const ceremonyId = newCeremony({ orgId, kind: 'register', challenge: publicKey.challenge, username, userId: b64url(userId) });
  return { ceremonyId, publicKey };
}

async function registerComplete(orgId, body) {
  const c = takeCeremony(orgId, body.ceremonyId, 'register');
  const o = org(orgId);
  let result;
  try {
    result = await verifyRegistrationResponse({
      response: body.credential,
      expectedChallenge: c.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      requireUserVerification: true,
      supportedAlgorithmIDs: [-7, -8],
    });
  } catch (e) {
    throw new ApiError(400, 'registration_failed', String(e.message || e));
  }
  if (!result.verified) throw new ApiError(400, 'registration_failed', 'not verified');
  const { credential } = result.registrationInfo;
  if (o.users.has(c.username)) throw new ApiError(409, 'username_taken', 'username is taken');
  if (o.credentials.has(credential.id)) throw new ApiError(409, 'credential_exists', 'already registered');
  o.users.set(c.username, { id: c.userId, username: c.username, credentialIds: [credential.id] });
  o.credentials.set(credential.id, { ...credential, userId: c.userId, username: c.username });
  return [201, { id: credential.id, userId: c.userId, createdAt: new Date().toISOString() }];
}

async function challenge(orgId, body) {
  const o = org(orgId);
  let allowCredentials = [];
  let username;
  if (body.username) {
    username = body.username.trim();
    const user = o.users.get(username);
    // Unknown users get a ceremony nothing can complete, as Latchkey does.
    allowCredentials = user ? user.credentialIds.map((id) => ({ id, transports: ['internal', 'hybrid'] })) : [];
  }
  const publicKey = await generateAuthenticationOptions({ rpID: RP_ID, allowCredentials, userVerification: 'required' });
  const ceremonyId = newCeremony({ orgId, kind: 'authenticate', challenge: publicKey.challenge, username });
  return { ceremonyId, publicKey };
}

async function verify(orgId, body) {
  const c = takeCeremony(orgId, body.ceremonyId, 'authenticate');
  const o = org(orgId);
  const response = body.credential || {};
  const cred = o.credentials.get(response.id);
  if (!cred) throw new ApiError(400, 'credential_not_found', 'this passkey is not registered here');
  if (c.username !== undefined && cred.username !== c.username) {
    throw new ApiError(400, 'credential_user_mismatch', 'this passkey belongs to another user');
  }
  const handle = response.response && response.response.userHandle;
  if (c.username === undefined && handle !== cred.userId) {
    throw new ApiError(400, 'user_handle_mismatch', 'the user handle does not match');
  }
  let result;
  try {
    result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: c.challenge,
      expectedOrigin: ORIGIN,
      expectedRPID: RP_ID,
      credential: cred,
      requireUserVerification: true,
    });
  } catch (e) {
    throw new ApiError(400, 'authentication_failed', String(e.message || e));
  }
  if (!result.verified) throw new ApiError(400, 'authentication_failed', 'not verified');
  cred.counter = result.authenticationInfo.newCounter;
  return { ...issueSession(orgId, cred), user: { id: cred.userId, username: cred.username } };
}

function issueSession(orgId, cred) {
  const now = Math.floor(Date.now() / 1000);
  const sid = `ses_${crypto.randomBytes(16).toString('base64url')}`;
  const claims = { iss: ORIGIN, aud: 'latchkey:session', sub: cred.userId, org: orgId, sid, iat: now, exp: now + SESSION_TTL_S, amr: ['hwk', 'user'] };
  const signingInput = `${JWT_HEADER}.${b64url(JSON.stringify(claims))}`;
  const signature = crypto.sign(null, Buffer.from(signingInput), signingKey);
  sessions.set(sid, { orgId, userId: cred.userId, exp: claims.exp });
  return { token: `${signingInput}.${b64url(signature)}`, tokenType: 'session', expiresAt: new Date(claims.exp * 1000).toISOString() };
}

const ROUTES = {
  'webauthn/register/init': registerInit,
  'webauthn/register/complete': registerComplete,
  'webauthn/challenge': challenge,
  'webauthn/verify': verify,
};
const ROUTE_RE = /^\/api\/v1\/organizations\/([^/]+)\/(webauthn\/(?:register\/init|register\/complete|challenge|verify))$/;

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'payload_too_large', 'request body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (size === 0) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new ApiError(400, 'invalid_json', 'body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer(async (req, res) => {
  try {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return send(res, 200, { status: 'ok' });
    const m = req.method === 'POST' && ROUTE_RE.exec(path);
    if (!m) throw new ApiError(404, 'not_found', 'no such route');
    const body = await readJson(req);
    const out = await ROUTES[m[2]](decodeURIComponent(m[1]), body);
    if (Array.isArray(out)) send(res, out[0], out[1]);
    else send(res, 200, out);
  } catch (e) {
    if (e instanceof ApiError) send(res, e.status, { error: { code: e.code, message: e.message } });
    else send(res, 500, { error: { code: 'internal', message: 'internal error' } });
  }
});
server.keepAliveTimeout = 60_000;

// Expired ceremonies are swept, so an abandoned-ceremony load can't grow memory forever.
setInterval(() => {
  const now = Date.now();
  for (const [id, c] of ceremonies) if (c.expires < now) ceremonies.delete(id);
}, 10_000).unref();

server.listen(PORT, '127.0.0.1', () => {
  console.log(`simplewebauthn peer listening on http://127.0.0.1:${PORT} (origin ${ORIGIN}, rp ${RP_ID})`);
});
