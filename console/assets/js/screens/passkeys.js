// `/o/{org}/passkeys`: the signed-in user's passkeys. List (model and icon,
// name, created, last used, synced or device-bound), rename, delete (the
// server refuses to delete the last one: `last_credential`, explained
// here), and add another passkey.

import { h, fill, field, dialog, pageHeader } from '../ui.js';
import * as session from '../session.js';
import { all } from '../api.js';
import { createPasskey, explain } from '../webauthn.js';
import { passkeyIcon, passkeySummary } from '../passkey-view.js';

export const title = 'My passkeys';

export async function render(main, ctx) {
  const { api, org } = ctx;
  const add = h('button', { type: 'button', class: 'btn btn--primary', id: 'add-passkey' }, 'Add a passkey');
  const list = h('ul', { class: 'passkeys', 'aria-label': 'Your passkeys' });
  const advice = h('div');
  main.append(
    pageHeader('My passkeys', `The passkeys that sign you in to ${org.name}. Keep at least two, on different devices, so losing one doesn’t lock you out.`, add),
    advice,
    h('section', { class: 'panel panel--flush' }, list));
  const fail = (e) => { if (!ctx.signal.aborted) ctx.notice.say('error', explain(e, org.name)); };
  add.addEventListener('click', () => addPasskey().catch(fail));

  async function refresh() {
    const creds = await all((p) => api.myCredentials(p));
    if (ctx.signal.aborted) return;
    fill(list, creds.map((c) => row(c, creds.length)));
    fill(advice, creds.length === 1
      ? h('div', { class: 'callout', id: 'single-passkey-advice' }, h('p', {}, h('strong', {}, 'You have only one passkey. '),
        'Add a second one on another device or a security key: if you lose this one, you can’t sign in.'))
      : null);
  }

  function row(cred, count) {
    const current = cred.credentialId === ctx.session.credentialId;
    const rename = h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'aria-label': `Rename ${cred.name}` }, 'Rename');
    const del = h('button', { type: 'button', class: 'btn btn--ghost btn--small btn--danger-text', 'aria-label': `Delete ${cred.name}` }, 'Delete');
    rename.addEventListener('click', () => renamePasskey(cred).catch(fail));
    del.addEventListener('click', () => deletePasskey(cred, count, current).catch(fail));
    return h('li', { class: 'passkey', 'data-credential-id': cred.credentialId },
      passkeyIcon(cred),
      passkeySummary(cred, { current }),
      h('div', { class: 'passkey__actions' }, rename, del));
  }

  async function renamePasskey(cred) {
    const input = h('input', { name: 'name', type: 'text', maxlength: 100, required: true, value: cred.name, autocomplete: 'off' });
    const renamed = await dialog({
      title: 'Rename passkey',
      body: field('Name', input, 'Only you and your admins see this name.'),
      confirm: 'Save',
      onConfirm: async () => {
        const name = input.value.trim();
        if (!name) throw new Error('Enter a name.');
        try {
          return await api.renameCredential(cred.credentialId, name);
        } catch (e) {
          e.userMessage = explain(e, org.name);
          throw e;
        }
      },
    });
    if (renamed) {
      ctx.notice.say('success', `Renamed to “${renamed.name}”.`);
      await refresh();
    }
  }

  async function deletePasskey(cred, count, current) {
    if (count <= 1) {
      await dialog({
        title: 'This is your only passkey',
        body: h('div', {},
          h('p', {}, `You can’t delete “${cred.name}”: it is the only passkey on your account, and without it you could not sign in to ${org.name} again.`),
          h('p', {}, 'Add another passkey first, then delete this one. If it was lost or stolen, ask an admin to remove it.')),
        confirm: 'OK',
        cancel: null,
      });
      return;
    }
    const ok = await dialog({
      title: `Delete “${cred.name}”?`,
      body: h('div', {},
        h('p', {}, 'You won’t be able to sign in with this passkey any more. Sessions started with it end.'),
        current ? h('p', { class: 'strong' }, 'You signed in with this passkey, so you will be signed out.') : null),
      confirm: 'Delete passkey',
      danger: true,
      onConfirm: async () => {
        try {
          await api.deleteCredential(cred.credentialId);
        } catch (e) {
          e.userMessage = e.code === 'last_credential'
            ? 'This is the last passkey on your account, so it can’t be deleted. Add another passkey first.'
            : explain(e, org.name);
          throw e;
        }
      },
    });
    if (!ok) return;
    if (current) {
      // Deleting a passkey ends the sessions it started, this one included.
      session.clear(ctx.orgId);
      return ctx.navigate(`/o/${encodeURIComponent(ctx.orgId)}/sign-in`, {
        notice: { kind: 'info', text: `Deleted “${cred.name}”. You signed in with it, so you were signed out.` },
      });
    }
    ctx.notice.say('success', `Deleted “${cred.name}”.`);
    await refresh();
  }

  async function addPasskey() {
    const input = h('input', { name: 'name', type: 'text', maxlength: 100, autocomplete: 'off', placeholder: 'e.g. Security key' });
    const created = await dialog({
      title: 'Add a passkey',
      body: h('div', {},
        h('p', {}, 'Your browser will ask where to create the passkey: this device, your phone, or a security key. Choose a different one from your existing passkeys.'),
        field(h('span', {}, 'Name ', h('span', { class: 'muted' }, '(optional)')), input)),
      confirm: 'Create passkey',
      onConfirm: async () => {
        try {
          const start = await api.registerInit();
          return await createPasskey(api, start, input.value.trim());
        } catch (e) {
          e.userMessage = explain(e, org.name);
          throw e;
        }
      },
    });
    if (!created) return;
    ctx.notice.say('success', created.backupState
      ? `Added “${created.name}”. It is a synced passkey, backed up by your passkey provider.`
      : `Added “${created.name}”. It is bound to that device or security key and not backed up.`);
    await refresh();
  }

  await refresh();
}
