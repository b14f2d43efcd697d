//! Client-side routing over the History API: the current path and query as state,
//! `navigate()` for code, and same-origin link clicks intercepted in `App.svelte`.

class Router {
  path = $state(location.pathname);
  search = $state(location.search);

  /** Goes to `to` (path plus optional query) without a page load. */
  navigate(to: string, opts: { replace?: boolean } = {}): void {
    const url = new URL(to, location.origin);
    if (url.pathname === this.path && url.search === this.search) return;
    if (opts.replace) history.replaceState(null, '', url.pathname + url.search);
    else history.pushState(null, '', url.pathname + url.search);
    this.sync();
    if (!opts.replace) window.scrollTo(0, 0);
  }

  /** Reads the location again (after back/forward). */
  sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }

  /** One query parameter. */
  param(name: string): string | null {
    return new URLSearchParams(this.search).get(name);
  }

  /** Changes query parameters in place (`null` removes one). */
  setParams(params: Record<string, string | null>): void {
    const q = new URLSearchParams(this.search);
    for (const [k, v] of Object.entries(params)) {
      if (v === null) q.delete(k);
      else q.set(k, v);
    }
    const s = q.toString();
    this.navigate(this.path + (s ? '?' + s : ''), { replace: true });
  }
}

export const router = new Router();

/** Sends same-origin `<a href>` clicks through the router. */
export function interceptLinks(ev: MouseEvent): void {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = (ev.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download') || a.getAttribute('rel') === 'external') return;
  const href = a.getAttribute('href');
  if (!href || href.startsWith('#')) return;
  const url = new URL(href, location.href);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/install.sh') return;
  ev.preventDefault();
  router.navigate(url.pathname + url.search);
}
