// `/enroll?org=…&token=…`: redeem a one-time enrolment or invitation link by
// creating a passkey. The link is inspected first: the super admin's
// bootstrap link shows the activation step (what activating passkeys means,
// the RP ID and origins to check) before the passkey is created; an
// invitee of an organisation that is not active yet is told activation is
// pending. Afterwards the user learns whether the passkey is synced or bound
// to this device, and is advised to add a second one.

import { h, field, fill, ROLE_NAMES, formatDateTime, busy } from '../ui.js';
import { client } from '../api.js';
import * as session from '../session.js';
import { createPasskey, explain, signIn, supported } from '../webauthn.js';

export const title = 'Create your passkey';

export async function render(main, ctx) {
  const orgId = ctx.query.get('org') || '';
  const token = ctx.query.get('token') || '';
  const card = h('section', { class: 'card card--wide' });
  main.append(card);
  const brand = () => h('p', { class: 'brand' }, h('img', { src: '/assets/img/favicon.svg', alt: '', width: 28, height: 28 }), 'Latchkey');

  const problem = (heading, text, ...more) => fill(card, brand(), h('h1', {}, heading), h('p', { class: 'muted' }, text), ...more);

  if (!orgId || !token) {
    return problem('This link is incomplete', 'Open the whole enrolment or invitation link you were sent; it ends with a long token.');
  }
  if (!supported()) {
    return problem('Passkeys are not supported here', 'This browser cannot create passkeys. Open the link in an up-to-date browser.');
  }
  const api = client(orgId);
  let inv;
  try {
    inv = await api.inspectInvitation(token);
  } catch (e) {
    const used = e.code === 'invitation_already_used';
    return problem(used ? 'This link has been used' : 'This link can’t be used', explain(e),
      used ? h('a', { class: 'btn btn--primary', href: `/o/${encodeURIComponent(orgId)}/sign-in`, 'data-nav': true }, 'Sign in') : null);
  }
  session.rememberOrg(orgId);
  const org = inv.org;
  const who = `${inv.displayName && inv.displayName !== inv.username ? inv.displayName + ' · ' : ''}${inv.username}`;

  if (inv.activationPending) {
    return fill(card, brand(),
      h('span', { class: 'badge badge--warning' }, 'Activation pending'),
      h('h1', {}, `${org.name} is not using passkeys yet`),
      h('p', {}, `You were invited as ${ROLE_NAMES[inv.role] || inv.role} (${who}). Before anyone can create a passkey, the super admin of ${org.name} activates passkeys by enrolling through their own enrolment link.`),
      h('p', { class: 'muted' }, `Keep this link: open it again once passkeys are active. It expires ${formatDateTime(inv.expiresAt)}.`));
  }

  if (inv.activatesOrg) activationStep();
  else createStep();

  function steps(n) {
    if (!inv.activatesOrg) return null;
    return h('ol', { class: 'steps', 'aria-label': 'Progress' },
      ['Activate passkeys', 'Create your passkey'].map((label, i) => h('li', {
        class: i + 1 === n ? 'steps__item steps__item--current' : (i + 1 < n ? 'steps__item steps__item--done' : 'steps__item'),
        'aria-current': i + 1 === n ? 'step' : null,
      }, label)));
  }

  function activationStep() {
    const next = h('button', { type: 'button', class: 'btn btn--primary', id: 'activation-continue' }, 'Continue');
    next.addEventListener('click', createStep);
    fill(card, brand(), steps(1),
      h('h1', {}, `Activate passkeys for ${org.name}`),
      h('p', {}, `You are the super admin of ${org.name}. Creating your passkey activates passkeys for the organisation: from then on its users can be invited and sign in with passkeys.`),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Passkey status'), h('dd', {}, h('span', { class: 'badge badge--warning' }, 'Inactive')),
        h('dt', {}, 'Relying party ID'), h('dd', {}, h('code', {}, org.rpId)),
        h('dt', {}, 'Allowed origins'), h('dd', {}, h('ul', { class: 'plain-list' }, (inv.origins || []).map((o) => h('li', {}, h('code', {}, o))))),
        h('dt', {}, 'Your account'), h('dd', {}, `${who} · ${ROLE_NAMES[inv.role] || inv.role}`)),
      h('div', { class: 'callout' },
        h('p', {}, h('strong', {}, 'Check the relying party ID before you continue. '),
          `Every passkey is bound to it for good: passkeys made for ${org.rpId} only work on that domain and its subdomains. If it is wrong, stop here and fix the organisation's settings with the latchkey CLI; this link stays valid until ${formatDateTime(inv.expiresAt)}.`)),
      h('div', { class: 'actions' }, next));
    next.focus();
  }

  function createStep() {
    const name = h('input', { name: 'name', type: 'text', maxlength: 100, autocomplete: 'off', placeholder: 'e.g. Work laptop' });
    const create = h('button', { type: 'submit', class: 'btn btn--primary', id: 'create-passkey' },
      inv.activatesOrg ? 'Activate and create passkey' : 'Create passkey');
    const msg = ctx.notice;
    const form = h('form', { class: 'stack', novalidate: true },
      field(h('span', {}, 'Passkey name ', h('span', { class: 'muted' }, '(optional)')), name,
        'A name helps you tell your passkeys apart later.'),
      msg,
      h('div', { class: 'actions' }, create));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.say();
      try {
        const cred = await busy(create, async () => {
          const start = await api.registerInitWithInvitation(token);
          return createPasskey(api, start, name.value.trim());
        }, 'Waiting for your passkey…');
        done(cred);
      } catch (e) {
        msg.say('error', explain(e, org.name));
      }
    });
    fill(card, brand(), steps(2),
      h('h1', {}, 'Create your passkey'),
      h('p', {}, inv.activatesOrg
        ? `Your passkey signs you in to ${org.name} as ${who}. Your browser will ask you to confirm with your fingerprint, face, screen lock or security key.`
        : `You were invited to ${org.name} as ${ROLE_NAMES[inv.role] || inv.role} (${who}). A passkey replaces a password: your browser will ask you to confirm with your fingerprint, face, screen lock or security key.`),
      form);
    name.focus();
  }

  function done(cred) {
    const synced = cred.backupState;
    const signInBtn = h('button', { type: 'button', class: 'btn btn--primary', id: 'enrolled-sign-in' }, 'Sign in with your passkey');
    const msg = ctx.notice;
    signInBtn.addEventListener('click', async () => {
      msg.say();
      try {
        const { grant, credentialId } = await busy(signInBtn, () => signIn(api, { username: inv.username }), 'Waiting for your passkey…');
        session.save(orgId, grant, credentialId);
        ctx.navigate(`/o/${encodeURIComponent(orgId)}/passkeys`, { notice: { kind: 'success', text: 'You are signed in. Add a second passkey below so you can’t get locked out.' } });
      } catch (e) {
        msg.say('error', explain(e, org.name));
      }
    });
    fill(card, brand(),
      h('div', { class: 'success-mark', 'aria-hidden': 'true' }, '✓'),
      h('h1', {}, 'Your passkey is ready'),
      inv.activatesOrg ? h('div', { class: 'message message--success', id: 'activated' }, h('p', {}, `Passkeys are now active for ${org.name}.`)) : null,
      h('dl', { class: 'facts' },
        h('dt', {}, 'Name'), h('dd', {}, cred.name),
        h('dt', {}, 'Authenticator'), h('dd', {}, cred.authenticator?.name || 'Unknown model'),
        h('dt', {}, 'Kind'), h('dd', { id: 'passkey-kind' }, synced
          ? h('span', { class: 'badge badge--success' }, 'Synced')
          : h('span', { class: 'badge badge--neutral' }, 'Device-bound'))),
      h('p', {}, synced
        ? 'This passkey is synced: your passkey provider backs it up and makes it available on your other devices signed in to the same account.'
        : 'This passkey is bound to this device or security key and is not backed up. If you lose the device, you lose the passkey.'),
      h('div', { class: 'callout' }, h('p', {}, h('strong', {}, 'Add a second passkey. '),
        synced
          ? 'A security key or a passkey from another provider keeps you in if you lose access to your provider.'
          : 'Create one on another device or a security key, so that losing this one does not lock you out.')),
      msg,
      h('div', { class: 'actions' }, signInBtn));
    signInBtn.focus();
  }
}
