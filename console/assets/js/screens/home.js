// `/`: the way in. Reopens the organisation used last in this browser, or
// asks for an organisation id (the console is per organisation; enrolment
// and invitation links carry theirs).

import { h, field } from '../ui.js';
import { client } from '../api.js';
import { lastOrg, forgetOrg } from '../session.js';
import { explain } from '../webauthn.js';

export const title = 'Console';

export async function render(main, ctx) {
  const last = lastOrg();
  if (last && !ctx.query.has('choose')) {
    return ctx.navigate(`/o/${encodeURIComponent(last)}`, { replace: true });
  }
  if (ctx.query.has('choose')) forgetOrg();
  const msg = ctx.notice; // also carries a message from the previous screen
  const input = h('input', {
    name: 'org', type: 'text', required: true, autocomplete: 'organization', spellcheck: 'false',
    placeholder: 'org_…', pattern: 'org_[A-Za-z0-9_-]+', autocapitalize: 'off',
  });
  const go = h('button', { type: 'submit', class: 'btn btn--primary btn--block' }, 'Continue');
  const form = h('form', { class: 'stack', novalidate: true },
    field('Organisation ID', input, 'Your administrator can tell you this id; it starts with “org_”.'),
    msg, go);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = input.value.trim();
    if (!/^org_[A-Za-z0-9_-]+$/.test(id)) {
      msg.say('error', 'Enter an organisation id such as org_2x7…');
      input.focus();
      return;
    }
    try {
      await client(id).org();
      ctx.navigate(`/o/${encodeURIComponent(id)}/sign-in`);
    } catch (e) {
      msg.say('error', explain(e));
    }
  });
  main.append(h('section', { class: 'card' },
    h('p', { class: 'brand' }, h('img', { src: '/assets/img/favicon.svg', alt: '', width: 28, height: 28 }), 'Latchkey'),
    h('h1', {}, 'Sign in to your organisation'),
    h('p', { class: 'muted' }, 'Passwordless sign-in with passkeys. Were you sent an enrolment or invitation link? Open that link to create your passkey.'),
    form,
    h('footer', { class: 'card__footer' },
      h('a', { href: '/openapi.json' }, 'API reference'),
      h('a', { href: '/.well-known/jwks.json' }, 'Signing keys'),
      h('a', { href: '/healthz' }, 'Status'))));
  input.focus();
}
