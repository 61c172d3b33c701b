// `/o/{org}/sign-in`: sign in with a passkey. The username field offers
// passkeys in its autofill (conditional mediation) as soon as the page
// opens; "Continue" signs in as the username typed; "Sign in with a
// passkey" lets the browser list every passkey for this site (usernameless).

import { h, field } from '../ui.js';
import * as session from '../session.js';
import { ApiError } from '../api.js';
import { conditionalAvailable, explain, signIn, supported } from '../webauthn.js';

export const title = 'Sign in';

export async function render(main, ctx) {
  const { api, org } = ctx;
  const existing = session.load(ctx.orgId);
  if (existing) return ctx.navigate(`/o/${encodeURIComponent(ctx.orgId)}/passkeys`, { replace: true });

  const msg = ctx.notice; // also carries a message from the previous screen
  const username = h('input', {
    name: 'username', type: 'text', autocomplete: 'username webauthn', spellcheck: 'false',
    autocapitalize: 'off', required: true, placeholder: 'you@company.example',
  });
  const next = h('button', { type: 'submit', class: 'btn btn--primary btn--block', id: 'sign-in-username' }, 'Continue');
  const passkey = h('button', { type: 'button', class: 'btn btn--secondary btn--block', id: 'sign-in-passkey' },
    h('img', { src: '/assets/img/passkey.svg', alt: '', width: 20, height: 20, class: 'btn__icon' }),
    'Sign in with a passkey');
  const form = h('form', { class: 'stack', novalidate: true },
    field('Username', username),
    next);

  const inactive = org.passkeyStatus !== 'active';
  main.append(h('section', { class: 'card' },
    h('p', { class: 'brand' }, h('img', { src: '/assets/img/favicon.svg', alt: '', width: 28, height: 28 }), 'Latchkey'),
    h('h1', {}, `Sign in to ${org.name}`),
    h('p', { class: 'muted' }, 'Use the passkey on this device, your phone or a security key. There is no password.'),
    msg,
    form,
    h('div', { class: 'divider', role: 'separator' }, h('span', {}, 'or')),
    passkey,
    h('footer', { class: 'card__footer' },
      h('span', {}, 'Invited? Open your invitation link to create a passkey.'),
      h('a', { href: '/?choose', 'data-nav': true }, 'Another organisation'))));

  if (!supported()) {
    msg.say('error', 'This browser does not support passkeys. Use an up-to-date browser.');
    next.disabled = passkey.disabled = true;
    return;
  }
  if (inactive) {
    msg.say('warning', explain({ code: 'passkeys_inactive' }, org.name));
    next.disabled = passkey.disabled = username.disabled = true;
    return;
  }

  // The autofill request runs until a button starts a modal request or the screen closes.
  let conditional = null;
  async function startConditional() {
    if (!(await conditionalAvailable()) || ctx.signal.aborted) return;
    const controller = new AbortController();
    const stop = () => controller.abort();
    ctx.signal.addEventListener('abort', stop, { once: true });
    // data-autofill tells scripts (and the browser tests) the autofill request is live.
    const onWaiting = () => { username.dataset.autofill = 'waiting'; };
    const done = signIn(api, {}, { mediation: 'conditional', signal: controller.signal, onWaiting })
      .then(finish)
      .catch((e) => {
        // Only the server's answers are worth a message here: the browser's own
        // rejections of a request the user never started explicitly are noise.
        if (e instanceof ApiError && !ctx.signal.aborted && conditional?.controller === controller) show(e);
      });
    conditional = { controller, done };
  }
  async function stopConditional() {
    if (!conditional) return;
    const c = conditional;
    conditional = null;
    delete username.dataset.autofill;
    c.controller.abort();
    await c.done;
  }

  function show(e) {
    msg.say('error', explain(e, org.name));
  }

  function finish({ grant, credentialId }) {
    session.save(ctx.orgId, grant, credentialId);
    const name = grant.user.displayName || grant.user.username;
    ctx.navigate(`/o/${encodeURIComponent(ctx.orgId)}/passkeys`, { notice: { kind: 'success', text: `Welcome, ${name}.` } });
  }

  async function modal(button, input) {
    msg.say();
    next.disabled = passkey.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await stopConditional();
      finish(await signIn(api, input));
    } catch (e) {
      if (ctx.signal.aborted) return;
      show(e);
      startConditional();
    } finally {
      next.disabled = passkey.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = username.value.trim();
    if (!name) {
      msg.say('error', 'Enter your username, or use “Sign in with a passkey”.');
      username.focus();
      return;
    }
    modal(next, { username: name });
  });
  passkey.addEventListener('click', () => modal(passkey, {}));

  username.focus();
  startConditional();
}
