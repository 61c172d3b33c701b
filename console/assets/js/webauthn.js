// The two browser ceremonies, with WebAuthn Level 3's JSON helpers
// (PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON
// and credential.toJSON()) and a small fallback for browsers that lack them.
// Also the one place that turns a failure into words a person understands.

import { ApiError } from './api.js';

// --- base64url <-> ArrayBuffer, only for the fallback path.

function fromB64url(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=');
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
}

function toB64url(buf) {
  const bytes = new Uint8Array(buf);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const withId = (d) => ({ ...d, id: fromB64url(d.id) });

function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromB64url(json.challenge),
    user: { ...json.user, id: fromB64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map(withId),
  };
}

function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromB64url(json.challenge),
    allowCredentials: (json.allowCredentials || []).map(withId),
  };
}

function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') {
    try {
      return cred.toJSON();
    } catch {
      /* fall through to the manual form */
    }
  }
  const r = cred.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  }
  return {
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment || null,
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    response,
  };
}

export const supported = () => !!(window.PublicKeyCredential && navigator.credentials);

/** Whether the browser can offer passkeys in the username field's autofill. */
export async function conditionalAvailable() {
  try {
    return supported() && typeof PublicKeyCredential.isConditionalMediationAvailable === 'function'
      && (await PublicKeyCredential.isConditionalMediationAvailable());
  } catch {
    return false;
  }
}

/**
 * Registration: `start` is `{ceremonyId, publicKey}` from register/init;
 * resolves to the stored passkey from register/complete.
 */
export async function createPasskey(api, start, name) {
  const cred = await navigator.credentials.create({ publicKey: creationOptions(start.publicKey) });
  return api.registerComplete(start.ceremonyId, credentialJSON(cred), name);
}

/**
 * Authentication: `input` is `{}`, `{username}` or `{credentialId}`. Resolves
 * to `{grant, credentialId}`. `mediation: 'conditional'` waits on the
 * username field's autofill until `signal` aborts; `onWaiting` is called
 * once the browser holds the request.
 */
export async function signIn(api, input, { mediation, signal, onWaiting } = {}) {
  const start = await api.challenge(input);
  const pending = navigator.credentials.get({
    publicKey: requestOptions(start.publicKey),
    ...(mediation ? { mediation } : {}),
    ...(signal ? { signal } : {}),
  });
  onWaiting?.();
  const cred = await pending;
  const json = credentialJSON(cred);
  try {
    const grant = await api.verify(start.ceremonyId, json);
    return { grant, credentialId: json.id };
  } catch (e) {
    // The passkey was deleted here: let the passkey provider forget it too.
    if (e instanceof ApiError && e.code === 'credential_not_found') {
      signalUnknown(start.publicKey.rpId, json.id);
    }
    throw e;
  }
}

function signalUnknown(rpId, credentialId) {
  if (typeof PublicKeyCredential.signalUnknownCredential !== 'function' || !rpId) return;
  PublicKeyCredential.signalUnknownCredential({ rpId, credentialId }).catch(() => {});
}

/** True for the rejection of a request we aborted ourselves. */
export const isAbort = (e) => e && (e.name === 'AbortError' || e === 'superseded');

/** A sentence for the person in front of the screen; `org` names the organisation. */
export function explain(e, org = 'this organisation') {
  if (!e) return 'Something went wrong.';
  switch (e.name) {
    case 'NotAllowedError':
      return 'The passkey request was cancelled or timed out, so nothing was changed. Try again when you are ready.';
    case 'InvalidStateError':
      return 'This device or security key already holds a passkey for your account. Use a different one.';
    case 'SecurityError':
      return `This page's address is not one of ${org}'s allowed origins, so the browser refused to use passkeys here.`;
    case 'NotSupportedError':
      return 'This device or browser cannot create a passkey of a type this server accepts.';
    default:
      break;
  }
  const messages = {
    credential_not_found: `That passkey is not registered with ${org} (it may have been deleted). Choose another passkey, or ask an admin for help.`,
    credential_user_mismatch: 'That passkey belongs to a different user than the one you entered.',
    credential_not_allowed: 'That passkey was not offered for this sign-in. Choose another one.',
    credential_possibly_cloned: 'That passkey has been flagged as possibly cloned and can’t be used. Use another passkey and tell an admin.',
    ceremony_expired: 'The request expired before your passkey answered. Please start again.',
    ceremony_already_used: 'That request was already used. Please start again.',
    user_suspended: `Your account is suspended. Ask an admin of ${org} to reactivate it.`,
    passkeys_inactive: `Passkeys are not active for ${org} yet. Its super admin activates them by enrolling through their enrolment link.`,
    user_verification_required: 'Your device did not verify you (PIN, fingerprint or face). Try again and complete the check.',
    origin_mismatch: `This page's address is not one of ${org}'s allowed origins.`,
    rp_id_mismatch: `This passkey was created for another domain than ${org}'s.`,
    user_handle_mismatch: 'That passkey does not match the account it claims. Choose another one.',
    authenticator_not_allowed: `${org} does not accept this model of authenticator.`,
    credential_already_registered: 'This passkey is already registered.',
    invitation_invalid: 'This link is not valid. Check that you opened the whole link you were sent.',
    invitation_expired: 'This link has expired. Ask an admin for a new invitation.',
    invitation_already_used: 'This link has already been used. If you created your passkey with it, sign in instead.',
    org_not_found: 'There is no organisation with this id on this server.',
    rate_limited: 'Too many attempts. Wait a moment and try again.',
    too_many_pending_ceremonies: 'The server is busy. Wait a moment and try again.',
    last_credential: 'This is the only passkey of the account: deleting it would lock the account out. Add another passkey first.',
    forbidden: 'You do not have permission to do that.',
  };
  return messages[e.code] || e.message || 'Something went wrong.';
}
