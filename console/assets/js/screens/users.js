// `/o/{org}/users` (admins): the organisation's users with their status and
// passkeys; invite a user (a one-time link to copy and send), suspend or
// reactivate, and remove a user's passkey (their last one only with the
// admin override, explained first).

import { h, fill, field, dialog, pageHeader, badge, formatDate, formatDateTime, ROLE_NAMES, copyText } from '../ui.js';
import { all } from '../api.js';
import { explain } from '../webauthn.js';
import { passkeyIcon, passkeySummary } from '../passkey-view.js';

export const title = 'Users';

const STATUS = {
  active: ['Active', 'success'],
  invited: ['Invited', 'info'],
  suspended: ['Suspended', 'danger'],
};

export async function render(main, ctx) {
  const { api, org } = ctx;
  const me = ctx.session.user;
  const invite = h('button', { type: 'button', class: 'btn btn--primary', id: 'invite-user' }, 'Invite a user');
  const list = h('ul', { class: 'users', 'aria-label': 'Users' });
  const inviteResult = h('div');
  const fail = (e) => { if (!ctx.signal.aborted) ctx.notice.say('error', explain(e, org.name)); };
  main.append(
    pageHeader('Users', `Everyone who can sign in to ${org.name}. New users join through a one-time invitation link and create their own passkey.`, invite),
    inviteResult,
    h('section', { class: 'panel panel--flush' }, list));
  invite.addEventListener('click', () => inviteUser().catch(fail));

  async function refresh() {
    const [users, creds] = await Promise.all([all((p) => api.users(p)), all((p) => api.allCredentials(p))]);
    if (ctx.signal.aborted) return;
    const byUser = new Map();
    for (const c of creds) byUser.set(c.userId, [...(byUser.get(c.userId) || []), c]);
    fill(list, users.map((u) => row(u, byUser.get(u.id) || [])));
  }

  function row(user, creds) {
    const [label, kind] = STATUS[user.status] || [user.status, 'neutral'];
    const self = user.id === me.id;
    const actions = [];
    if (!self && user.status === 'active') {
      const b = h('button', { type: 'button', class: 'btn btn--ghost btn--small btn--danger-text', 'aria-label': `Suspend ${user.username}` }, 'Suspend');
      b.addEventListener('click', () => setStatus(user, 'suspended').catch(fail));
      actions.push(b);
    }
    if (!self && user.status === 'suspended') {
      const b = h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'aria-label': `Reactivate ${user.username}` }, 'Reactivate');
      b.addEventListener('click', () => setStatus(user, 'active').catch(fail));
      actions.push(b);
    }
    const passkeys = creds.length
      ? h('details', { class: 'user__passkeys' },
        h('summary', {}, `${creds.length} passkey${creds.length === 1 ? '' : 's'}`),
        h('ul', { class: 'passkeys passkeys--nested' }, creds.map((c) => passkeyRow(user, c, creds.length))))
      : h('p', { class: 'user__passkeys muted' }, user.status === 'invited' ? 'No passkey yet: invitation sent' : 'No passkeys');
    return h('li', { class: 'user', 'data-user-id': user.id, 'data-username': user.username },
      h('div', { class: 'user__main' },
        h('p', { class: 'user__name' }, user.displayName || user.username, self ? h('span', { class: 'muted' }, ' (you)') : null),
        h('p', { class: 'user__meta' },
          h('span', {}, user.username),
          h('span', {}, ROLE_NAMES[user.role] || user.role),
          h('span', {}, `Added ${formatDate(user.createdAt)}`))),
      h('div', { class: 'user__status' }, badge(label, kind)),
      h('div', { class: 'user__actions' }, actions),
      passkeys);
  }

  function passkeyRow(user, cred, count) {
    const remove = h('button', { type: 'button', class: 'btn btn--ghost btn--small btn--danger-text', 'aria-label': `Remove ${cred.name} of ${user.username}` }, 'Remove');
    remove.addEventListener('click', () => removePasskey(user, cred, count).catch(fail));
    return h('li', { class: 'passkey', 'data-credential-id': cred.credentialId },
      passkeyIcon(cred), passkeySummary(cred), h('div', { class: 'passkey__actions' }, remove));
  }

  async function removePasskey(user, cred, count) {
    const last = count <= 1;
    const name = user.displayName || user.username;
    const ok = await dialog({
      title: last ? `Remove ${name}’s only passkey?` : `Remove “${cred.name}”?`,
      body: h('div', {},
        h('p', {}, `${name} won’t be able to sign in with “${cred.name}” any more, and the sessions it started end at once.`),
        last ? h('div', { class: 'callout callout--danger' }, h('p', {},
          h('strong', {}, 'This is their last passkey. '),
          `Without it ${name} can’t sign in at all. Only do this for a lost or compromised passkey; removing the last one needs your admin override.`)) : null),
      confirm: last ? 'Override and remove' : 'Remove passkey',
      danger: true,
      onConfirm: async () => {
        try {
          await api.deleteCredential(cred.credentialId, { override: last });
        } catch (e) {
          e.userMessage = e.code === 'last_credential'
            ? `This became ${name}’s last passkey in the meantime. Close this and try again to confirm the override.`
            : explain(e, org.name);
          throw e;
        }
      },
    });
    if (!ok) return;
    ctx.notice.say('success', `Removed “${cred.name}” from ${name}.`);
    await refresh();
  }

  async function setStatus(user, status) {
    const name = user.displayName || user.username;
    const suspend = status === 'suspended';
    const ok = await dialog({
      title: suspend ? `Suspend ${name}?` : `Reactivate ${name}?`,
      body: h('p', {}, suspend
        ? `${name} is signed out everywhere at their next request and can’t sign in until reactivated. Their passkeys are kept.`
        : `${name} can sign in again with their passkeys.`),
      confirm: suspend ? 'Suspend' : 'Reactivate',
      danger: suspend,
      onConfirm: async () => {
        try {
          return await api.setUserStatus(user.id, status);
        } catch (e) {
          e.userMessage = explain(e, org.name);
          throw e;
        }
      },
    });
    if (!ok) return;
    ctx.notice.say('success', suspend ? `${name} is suspended.` : `${name} is active again.`);
    await refresh();
  }

  async function inviteUser() {
    const username = h('input', { name: 'username', type: 'text', required: true, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off', placeholder: 'bob@company.example' });
    const displayName = h('input', { name: 'displayName', type: 'text', autocomplete: 'off', placeholder: 'Bob Smith' });
    const roles = ['member', 'approver', 'admin', ...(me.role === 'super_admin' ? ['super_admin'] : [])];
    const role = h('select', { name: 'role' }, roles.map((r) => h('option', { value: r }, ROLE_NAMES[r])));
    const created = await dialog({
      title: 'Invite a user',
      body: h('div', { class: 'stack' },
        field('Username', username, 'Usually their work email address.'),
        field(h('span', {}, 'Display name ', h('span', { class: 'muted' }, '(optional)')), displayName),
        field('Role', role, 'Admins manage users and settings. Approvers will approve operations.')),
      confirm: 'Create invitation',
      onConfirm: async () => {
        if (!username.value.trim()) throw new Error('Enter a username.');
        try {
          return await api.invite({
            username: username.value.trim(),
            ...(displayName.value.trim() ? { displayName: displayName.value.trim() } : {}),
            role: role.value,
          });
        } catch (e) {
          e.userMessage = e.code === 'username_taken' ? 'A user with this username already exists.' : explain(e, org.name);
          throw e;
        }
      },
    });
    if (!created) return;
    showInvitation(created);
    await refresh();
  }

  function showInvitation(inv) {
    const link = h('input', { type: 'text', readonly: true, value: inv.link, id: 'invitation-link', class: 'mono', 'aria-label': 'Invitation link' });
    const copy = h('button', { type: 'button', class: 'btn btn--secondary', id: 'copy-invitation' }, 'Copy link');
    const status = h('span', { class: 'muted', role: 'status', 'aria-live': 'polite' });
    copy.addEventListener('click', async () => {
      const ok = await copyText(inv.link, link);
      status.textContent = ok ? 'Copied.' : 'Select the link and copy it.';
    });
    link.addEventListener('focus', () => link.select());
    const close = h('button', { type: 'button', class: 'btn btn--ghost btn--small' }, 'Done');
    close.addEventListener('click', () => fill(inviteResult));
    fill(inviteResult, h('section', { class: 'panel invitation', 'aria-labelledby': 'invitation-title' },
      h('h2', { id: 'invitation-title' }, `Invitation for ${inv.user.username}`),
      h('p', {}, `Send this one-time link to ${inv.user.displayName || inv.user.username} over a channel you trust. It is shown only now, and expires ${formatDateTime(inv.expiresAt)}.`),
      h('div', { class: 'copy-row' }, link, copy),
      h('div', { class: 'invitation__footer' }, status, close)));
    copy.focus();
  }

  await refresh();
}
