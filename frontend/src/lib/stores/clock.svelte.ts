//! A shared once-a-second clock for "last seen 12s ago" labels (no server traffic).

class Clock {
  now = $state(Date.now());
  constructor() {
    setInterval(() => {
      this.now = Date.now();
    }, 1000);
  }
}

export const clock = new Clock();
