// A tiny path router over the History API. Routes are patterns such as
// `/o/:org/passkeys`; a screen module is loaded on first use. Same-origin
// links marked `data-nav` navigate without a page load.

export function createRouter(routes, onRoute) {
  const compiled = routes.map((r) => {
    const names = [];
    const re = new RegExp('^' + r.path.replace(/:([a-zA-Z]+)/g, (_, n) => {
      names.push(n);
      return '([^/]+)';
    }) + '/?$');
    return { ...r, re, names };
  });

  function match(pathname) {
    for (const r of compiled) {
      const m = r.re.exec(pathname);
      if (m) {
        const params = {};
        r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
        return { route: r, params };
      }
    }
    return null;
  }

  function navigate(to, { replace = false } = {}) {
    if (replace) history.replaceState(null, '', to);
    else history.pushState(null, '', to);
    return onRoute(match(location.pathname), { navigated: true });
  }

  document.addEventListener('click', (ev) => {
    const a = ev.target.closest?.('a[data-nav]');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    navigate(a.getAttribute('href'));
  });
  window.addEventListener('popstate', () => onRoute(match(location.pathname), { navigated: true }));

  return { navigate, start: () => onRoute(match(location.pathname), { navigated: false }) };
}
