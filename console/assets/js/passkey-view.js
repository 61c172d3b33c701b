// How one passkey is shown, on "My passkeys" and in user administration:
// the model's icon (from the AAGUID table; a generic key otherwise), the
// user's name for it, the model name, synced or device-bound, and dates.

import { h, badge, formatDateTime } from './ui.js';

const dark = () => window.matchMedia?.('(prefers-color-scheme: dark)').matches;

export function passkeyIcon(cred) {
  const a = cred.authenticator || {};
  const src = (dark() ? a.iconDark || a.iconLight : a.iconLight || a.iconDark) || '/assets/img/passkey.svg';
  const safe = src.startsWith('data:image/') || src.startsWith('/assets/') ? src : '/assets/img/passkey.svg';
  return h('img', { class: 'passkey__icon', src: safe, alt: '', width: 40, height: 40 });
}

export function kindBadge(cred) {
  return cred.backupState
    ? badge('Synced', 'success')
    : badge(cred.backupEligible ? 'Not yet synced' : 'Device-bound', 'neutral');
}

export function passkeySummary(cred, { current = false } = {}) {
  const model = cred.authenticator?.name || 'Unknown authenticator';
  return h('div', { class: 'passkey__main' },
    h('p', { class: 'passkey__name' }, h('span', { class: 'passkey__label' }, cred.name), kindBadge(cred),
      current ? badge('Used for this session', 'info') : null,
      cred.possiblyCloned ? badge('Possibly cloned', 'danger') : null),
    h('p', { class: 'passkey__meta' },
      h('span', {}, model),
      h('span', {}, `Created ${formatDateTime(cred.createdAt)}`),
      h('span', {}, cred.lastUsedAt ? `Last used ${formatDateTime(cred.lastUsedAt)}` : 'Never used')));
}
