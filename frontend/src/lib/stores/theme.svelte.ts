//! Dark (default) or light theme, remembered in localStorage and applied to <html>.

export type Theme = 'dark' | 'light';
const KEY = 'lunasentri.theme';

function saved(): Theme {
  try {
    return localStorage.getItem(KEY) === 'light' ? 'light' : 'dark';
  } catch {
    return 'dark';
  }
}

class ThemeStore {
  current = $state<Theme>(saved());

  constructor() {
    document.documentElement.dataset.theme = this.current;
  }

  set(t: Theme): void {
    this.current = t;
    document.documentElement.dataset.theme = t;
    try {
      localStorage.setItem(KEY, t);
    } catch {
      /* private mode: the choice lasts for this page */
    }
  }

  toggle(): void {
    this.set(this.current === 'dark' ? 'light' : 'dark');
  }
}

export const theme = new ThemeStore();
