//! Who is signed in. Loaded once from `/api/auth/me`; a 401 anywhere signs the tab out.
import { api, ApiError, errorText, setUnauthorizedHandler } from '../api/client';
import type { User } from '../api/types';
import { live } from './live.svelte';
import { fleet } from './fleet.svelte';
import { alerts } from './alerts.svelte';
import { router } from './router.svelte';

type Status = 'loading' | 'anonymous' | 'signed-in' | 'error';

class Session {
  user = $state<User | null>(null);
  status = $state<Status>('loading');
  error = $state<string | null>(null);

  get isAdmin(): boolean {
    return this.user?.role === 'admin';
  }

  /** Asks the hub who we are. */
  async load(): Promise<void> {
    this.status = 'loading';
    this.error = null;
    try {
      this.begin(await api.me());
    } catch (e) {
      if (e instanceof ApiError && e.unauthorized) this.end();
      else {
        this.error = errorText(e);
        this.status = 'error';
      }
    }
  }

  async login(email: string, password: string): Promise<void> {
    this.begin(await api.login({ email, password }));
  }

  async logout(): Promise<void> {
    try {
      await api.logout();
    } catch {
      /* the session is gone either way */
    }
    this.end();
    router.navigate('/login');
  }

  private begin(user: User) {
    this.user = user;
    this.status = 'signed-in';
    live.start();
    void fleet.load();
    void alerts.load();
  }

  /** Forgets the user locally (after logout or an expired session). */
  end(): void {
    const wasSignedIn = this.status === 'signed-in';
    this.user = null;
    this.status = 'anonymous';
    live.stop();
    fleet.clear();
    alerts.clear();
    if (wasSignedIn && router.path !== '/login') {
      router.navigate('/login?next=' + encodeURIComponent(router.path + router.search));
    }
  }
}

export const session = new Session();

setUnauthorizedHandler(() => session.end());

// A socket that keeps failing may mean the session expired: ask once per outage.
live.onState((s, attempt) => {
  if (s === 'reconnecting' && attempt === 2 && session.status === 'signed-in') {
    api.me().catch((e) => {
      if (e instanceof ApiError && e.unauthorized) session.end();
    });
  }
});
