// The signed-in frame: brand, organisation, navigation (admin pages only for
// admins), who is signed in, and sign out. Later screens (approvals, policy,
// audit) add one entry to NAV.

import { h, ROLE_NAMES, busy } from './ui.js';
import { isAdmin } from './session.js';

const NAV = [
  { screen: 'passkeys', label: 'My passkeys' },
  { screen: 'users', label: 'Users', admin: true },
  { screen: 'settings', label: 'Settings', admin: true },
];

export function topbar(ctx, route, signOut) {
  const here = location.pathname;
  const links = NAV.filter((n) => !n.admin || isAdmin(ctx.session)).map((n) => {
    const href = `/o/${encodeURIComponent(ctx.orgId)}/${n.screen}`;
    return h('li', {}, h('a', {
      href,
      'data-nav': true,
      class: 'nav__link',
      'aria-current': here === href ? 'page' : null,
    }, n.label));
  });
  const user = ctx.session.user;
  const out = h('button', { type: 'button', class: 'btn btn--ghost btn--small', id: 'sign-out' }, 'Sign out');
  out.addEventListener('click', () => busy(out, () => signOut(ctx), 'Signing out…'));
  return h('header', { class: 'topbar' },
    h('div', { class: 'topbar__inner' },
      h('a', { class: 'topbar__brand', href: `/o/${encodeURIComponent(ctx.orgId)}/passkeys`, 'data-nav': true },
        h('img', { src: '/assets/img/favicon.svg', alt: '', width: 28, height: 28 }),
        h('span', { class: 'topbar__product' }, 'Latchkey'),
        h('span', { class: 'topbar__org' }, ctx.org.name)),
      h('nav', { class: 'nav', 'aria-label': 'Console' }, h('ul', { class: 'nav__list' }, links)),
      h('div', { class: 'topbar__account' },
        h('span', { class: 'topbar__user' },
          h('span', { class: 'topbar__name' }, user.displayName || user.username),
          h('span', { class: 'topbar__role' }, ROLE_NAMES[user.role] || user.role)),
        out)));
}
