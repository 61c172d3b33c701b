// `/o/{org}/settings` (admins): passkey activation status, the relying
// party (RP ID, shown read-only because changing it orphans every passkey;
// name and allowed origins editable), registration mode, user-verification
// requirement, attestation, and the lifetimes of ceremonies, sessions,
// verification tokens and invitations. Saved with PUT settings; the server
// validates and reports every problem at once.

import { h, field, pageHeader, badge, busy, duration } from '../ui.js';
import { explain } from '../webauthn.js';

export const title = 'Settings';

const LIFETIMES = [
  ['ceremonyTtlSecs', 'Ceremony lifetime', 30, 3600, 'How long a sign-in or registration request waits for the passkey.'],
  ['sessionTtlSecs', 'Session lifetime', 60, 30 * 86400, 'How long a console or API session lasts after sign-in.'],
  ['verificationTokenTtlSecs', 'Verification token lifetime', 10, 3600, 'How long a “this user proved possession” token stays valid.'],
  ['invitationTtlSecs', 'Invitation lifetime', 300, 30 * 86400, 'How long an invitation link can be used.'],
];

export async function render(main, ctx) {
  const { api, org } = ctx;
  const s = await api.settings();
  if (ctx.signal.aborted) return;

  const rpName = h('input', { name: 'rpName', type: 'text', required: true, value: s.rpName, maxlength: 200 });
  const origins = h('textarea', { name: 'origins', rows: Math.max(2, s.origins.length + 1), spellcheck: 'false', class: 'mono' });
  origins.value = s.origins.join('\n');
  const radio = (name, value, label, hint) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name, value, checked: s[name] === value }),
    h('span', {}, h('span', { class: 'choice__label' }, label), h('span', { class: 'choice__hint' }, hint)));
  const select = (name, options) => h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: s[name] === v }, label)));
  const uv = select('userVerification', [
    ['required', 'Required: fingerprint, face, PIN or screen lock every time'],
    ['preferred', 'Preferred: when the authenticator can'],
    ['discouraged', 'Discouraged: presence only'],
  ]);
  const attestation = select('attestation', [
    ['none', 'None: accept any authenticator'],
    ['indirect', 'Indirect'],
    ['direct', 'Direct: verify the authenticator’s certificate chain'],
    ['enterprise', 'Enterprise'],
  ]);
  const lifetimes = LIFETIMES.map(([key, label, min, max, hint]) => {
    const input = h('input', { name: key, type: 'number', min, max, step: 1, required: true, value: s[key], inputmode: 'numeric', class: 'input--short' });
    const human = h('span', { class: 'unit' }, `seconds · ${duration(s[key])}`);
    input.addEventListener('input', () => { human.textContent = `seconds · ${duration(Number(input.value) || 0)}`; });
    return field(label, h('span', { class: 'with-unit' }, input, human), `${hint} Between ${duration(min)} and ${duration(max)}.`);
  });

  const save = h('button', { type: 'submit', class: 'btn btn--primary', id: 'save-settings' }, 'Save settings');
  const form = h('form', { class: 'settings', novalidate: true },
    h('section', { class: 'panel' },
      h('h2', {}, 'Passkeys'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Status'),
        h('dd', { id: 'passkey-status' }, org.passkeyStatus === 'active'
          ? badge('Active', 'success') : badge('Inactive: waiting for the super admin to enrol', 'warning')),
        h('dt', {}, 'Organisation'), h('dd', {}, org.name, ' ', h('code', { class: 'muted' }, org.id)))),
    h('section', { class: 'panel' },
      h('h2', {}, 'Relying party'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'RP ID'), h('dd', {}, h('code', {}, s.rpId),
          h('p', { class: 'field__hint' }, 'Every passkey is bound to this domain, so it can’t be changed here: changing it would make every existing passkey unusable.'))),
      field('Name shown in passkey prompts', rpName),
      field('Allowed origins', origins, 'One per line: https://host[:port], or android:apk-key-hash:… for an Android app. Sign-ins from any other origin are refused.')),
    h('section', { class: 'panel' },
      h('h2', {}, 'Sign-in policy'),
      h('fieldset', { class: 'fieldset' },
        h('legend', { class: 'field__label' }, 'Registration'),
        radio('registrationMode', 'invite', 'Invitation only', 'Users join through a one-time link from an admin.'),
        radio('registrationMode', 'open', 'Open sign-up', 'Anyone who can reach the sign-in page can create an account.')),
      field('User verification', uv, 'Required is the safe choice: the passkey alone is not enough without the user’s biometric or PIN.'),
      field('Attestation', attestation, 'Ask authenticators to prove their model. Needed to restrict which models may register.')),
    h('section', { class: 'panel' },
      h('h2', {}, 'Lifetimes'),
      h('div', { class: 'grid-2' }, lifetimes)),
    h('div', { class: 'form-actions' }, save));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const next = {
      ...s, // keeps what this screen does not edit (rpId, allowedAaguids)
      rpName: String(data.get('rpName')).trim(),
      origins: String(data.get('origins')).split('\n').map((o) => o.trim()).filter(Boolean),
      registrationMode: data.get('registrationMode'),
      userVerification: data.get('userVerification'),
      attestation: data.get('attestation'),
    };
    for (const [key] of LIFETIMES) next[key] = Number(data.get(key));
    ctx.notice.say();
    try {
      const saved = await busy(save, () => api.saveSettings(next), 'Saving…');
      Object.assign(s, saved);
      ctx.notice.say('success', 'Settings saved. They apply to every new sign-in and registration.');
    } catch (e) {
      ctx.notice.say('error', e.code === 'invalid_request' ? `Nothing was saved: ${e.message}.` : explain(e, org.name));
    }
    ctx.notice.scrollIntoView({ block: 'nearest' });
  });

  main.append(pageHeader('Settings', `How ${org.name} uses passkeys. Changes apply at once to new sign-ins and registrations.`), form);
}
