// Small DOM helpers shared by the screens: element creation without
// innerHTML (so no markup injection from API data), messages, dialogs and
// formatting. Nothing here knows about the API.

/**
 * h('button', {class: 'btn', onclick: fn, type: 'button'}, 'Save')
 * Props starting with "on" are listeners; `class`, `for`, aria-* and data-*
 * are attributes; booleans toggle attributes; other keys are properties.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value' || k === 'checked' || k === 'selected') {
      el[k] = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A message area: `say(kind, text)` with kind one of info, success, error, warning. */
export function messageArea() {
  const el = h('div', { class: 'message', role: 'status', 'aria-live': 'polite', hidden: true });
  el.say = (kind, text, ...extra) => {
    if (!text) {
      el.hidden = true;
      el.replaceChildren();
      return;
    }
    el.hidden = false;
    el.className = `message message--${kind}`;
    el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    fill(el, h('p', {}, text), ...extra);
  };
  return el;
}

/** A labelled form field. `input` is the control; `hint` is help text under it. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h('p', { class: 'field__hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { class: 'field__label', for: id }, label), input, hintEl);
}

/** Runs `work` with the button disabled and marked busy; returns work's result. */
export async function busy(button, work, busyText) {
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (busyText) button.textContent = busyText;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (busyText) button.textContent = text;
  }
}

/**
 * A modal dialog (native <dialog>: focus trap and Escape for free).
 * Resolves to the confirming button's value, or null when cancelled.
 * `body` may be a node or text; `onConfirm` may throw to keep it open.
 */
export function dialog({ title, body, confirm = 'OK', cancel = 'Cancel', danger = false, onConfirm }) {
  return new Promise((resolve) => {
    const msg = messageArea();
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn--danger' : 'btn btn--primary' }, confirm);
    const no = cancel ? h('button', { type: 'button', class: 'btn btn--ghost', value: 'cancel' }, cancel) : null;
    const form = h('form', { method: 'dialog', class: 'dialog__form' },
      h('h2', { class: 'dialog__title', id: 'dialog-title' }, title),
      h('div', { class: 'dialog__body' }, body),
      msg,
      h('div', { class: 'dialog__actions' }, no, ok));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' }, form);
    let result = null;
    const close = () => { dlg.close(); };
    no?.addEventListener('click', close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        result = onConfirm ? await busy(ok, () => onConfirm(form)) : true;
        if (result === undefined) result = true;
        close();
      } catch (e) {
        msg.say('error', e.userMessage || e.message);
      }
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    const first = form.querySelector('input, select, textarea');
    (first || (danger ? no : ok) || ok).focus();
  });
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '—');
export const formatDate = (iso) => (iso ? dateOnly.format(new Date(iso)) : '—');

/** "5 minutes", "12 hours", "7 days" for a number of seconds. */
export function duration(secs) {
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [n, name] of units) {
    if (secs >= n && secs % n === 0) {
      const v = secs / n;
      return `${v} ${name}${v === 1 ? '' : 's'}`;
    }
  }
  return `${secs} seconds`;
}

export const ROLE_NAMES = {
  super_admin: 'Super admin',
  admin: 'Admin',
  approver: 'Approver',
  member: 'Member',
};

export const badge = (text, kind = 'neutral') => h('span', { class: `badge badge--${kind}` }, text);

/** The page heading block every screen starts with. */
export function pageHeader(title, subtitle, ...actions) {
  return h('header', { class: 'page-header' },
    h('div', { class: 'page-header__text' },
      h('h1', {}, title),
      subtitle ? h('p', { class: 'page-header__subtitle' }, subtitle) : null),
    actions.length ? h('div', { class: 'page-header__actions' }, actions) : null);
}

/** Copies text, falling back to selecting it for the user. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}
