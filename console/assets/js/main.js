// The console's entry point: the routes (one screen module each), the
// guards (signed in, admin) and the layout around every screen. To add a
// screen, write `screens/<name>.js` exporting `title` and `render(main, ctx)`
// and list it here.

import { client, whenSessionEnds } from './api.js';
import { createRouter } from './router.js';
import * as session from './session.js';
import { explain } from './webauthn.js';
import { h, fill, messageArea } from './ui.js';
import { topbar } from './layout.js';

const screen = (name) => () => import(`./screens/${name}.js`);

// layout: 'card' (a centred card, before sign-in) or 'app' (header and navigation).
const ROUTES = [
  { path: '/', load: screen('home'), layout: 'card' },
  { path: '/enroll', load: screen('enroll'), layout: 'card' },
  { path: '/o/:org', redirect: (p) => (session.load(p.org) ? `/o/${p.org}/passkeys` : `/o/${p.org}/sign-in`) },
  { path: '/o/:org/sign-in', load: screen('sign-in'), layout: 'card' },
  { path: '/o/:org/passkeys', load: screen('passkeys'), layout: 'app', auth: true },
  { path: '/o/:org/users', load: screen('users'), layout: 'app', auth: true, admin: true },
  { path: '/o/:org/settings', load: screen('settings'), layout: 'app', auth: true, admin: true },
];

const app = document.getElementById('app');
let current = null; // AbortController of the screen on display
let flash = null; // a message carried to the next screen
const orgs = new Map(); // org views, fetched once per page load

async function orgView(orgId) {
  if (!orgs.has(orgId)) orgs.set(orgId, client(orgId).org().catch((e) => { orgs.delete(orgId); throw e; }));
  return orgs.get(orgId);
}

function go(to, { replace = false, notice } = {}) {
  flash = notice || null;
  return router.navigate(to, { replace });
}

async function onRoute(match, { navigated }) {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  if (!match) return show(null, { layout: 'card' }, controller, navigated);
  const { route, params } = match;
  if (route.redirect) return go(route.redirect(params), { replace: true, notice: flash });
  const orgId = params.org;
  const sess = orgId ? session.load(orgId) : null;
  if (route.auth && !sess) {
    return go(`/o/${orgId}/sign-in`, { replace: true, notice: flash || { kind: 'info', text: 'Sign in to continue.' } });
  }
  if (orgId) session.rememberOrg(orgId);
  return show(route, { params, orgId, sess }, controller, navigated);
}

async function show(route, { params = {}, orgId, sess }, controller, navigated) {
  const main = h('main', { id: 'main', class: route?.layout === 'app' ? 'page' : 'page page--centered', tabindex: '-1' });
  const notice = messageArea();
  const ctx = {
    params,
    query: new URLSearchParams(location.search),
    orgId,
    session: sess,
    api: orgId ? client(orgId, sess?.token) : null,
    signal: controller.signal,
    navigate: go,
    notice,
    org: null,
  };
  if (flash) {
    notice.say(flash.kind, flash.text);
    flash = null;
  }
  try {
    if (orgId) ctx.org = await orgView(orgId);
  } catch (e) {
    return render(h('main', { id: 'main', class: 'page page--centered', tabindex: '-1' }, orgMissing(orgId, e)), null, navigated);
  }
  if (controller.signal.aborted) return;
  if (!route) {
    document.title = 'Not found · Latchkey';
    fill(main, h('section', { class: 'card' },
      h('h1', {}, 'Page not found'),
      h('p', { class: 'muted' }, 'There is no console page at this address.'),
      h('a', { href: '/', 'data-nav': true, class: 'btn btn--primary' }, 'Go to the console')));
    return render(main, null, navigated);
  }
  if (route.admin && !session.isAdmin(sess)) {
    document.title = 'Not allowed · Latchkey';
    fill(main, notice, h('section', { class: 'panel' },
      h('h1', {}, 'Admins only'),
      h('p', {}, 'This page is for the organisation’s admins.')));
    return render(main, ctx, navigated, route);
  }
  const mod = await route.load();
  if (controller.signal.aborted) return;
  document.title = `${mod.title} · ${ctx.org ? ctx.org.name + ' · ' : ''}Latchkey`;
  main.append(notice);
  render(main, ctx, navigated, route);
  try {
    await mod.render(main, ctx);
  } catch (e) {
    if (!controller.signal.aborted) notice.say('error', explain(e, ctx.org?.name));
  }
}

function render(main, ctx, navigated, route) {
  const parts = [h('a', { class: 'skip-link', href: '#main' }, 'Skip to content')];
  if (route?.layout === 'app') parts.push(topbar(ctx, route, signOut));
  parts.push(main);
  fill(app, ...parts);
  if (navigated) main.focus({ preventScroll: true });
}

function orgMissing(orgId, e) {
  const unknown = e.code === 'org_not_found';
  return h('section', { class: 'card' },
    h('p', { class: 'brand' }, 'Latchkey'),
    h('h1', {}, unknown ? 'Organisation not found' : 'The console could not load'),
    h('p', { class: 'muted' }, unknown ? `There is no organisation ${orgId} on this server.` : explain(e)),
    h('a', { href: '/?choose', 'data-nav': true, class: 'btn btn--primary' }, 'Choose an organisation'));
}

async function signOut(ctx) {
  try {
    await ctx.api.logout(); // ends the session server-side
  } catch {
    /* already ended: sign out locally anyway */
  }
  session.clear(ctx.orgId);
  return go(`/o/${ctx.orgId}/sign-in`, { notice: { kind: 'success', text: 'You are signed out.' } });
}

whenSessionEnds((err) => {
  const m = /^\/o\/([^/]+)/.exec(location.pathname);
  if (!m) return;
  const orgId = decodeURIComponent(m[1]);
  if (!session.load(orgId)) return;
  session.clear(orgId);
  const text = err.code === 'user_suspended'
    ? 'Your account has been suspended. Ask an admin to reactivate it.'
    : 'Your session has ended. Sign in again to continue.';
  go(`/o/${orgId}/sign-in`, { replace: true, notice: { kind: 'warning', text } });
});

const router = createRouter(ROUTES, onRoute);
router.start();
