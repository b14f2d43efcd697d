//! The tab's one live socket and its connection state for the header banner.
import { LiveClient, liveUrl, type LiveState } from '../live/client';

export const live = new LiveClient({ url: liveUrl() });

class Connection {
  state = $state<LiveState>('idle');
  attempt = $state(0);
  /** Live frames the hub announced as skipped (`lagged`), since the user dismissed the notice. */
  lagged = $state(0);
}

export const connection = new Connection();

live.onState((s, attempt) => {
  connection.state = s;
  connection.attempt = attempt;
});

live.onFrame((f) => {
  if (f.type === 'lagged') connection.lagged += f.dropped;
});

addEventListener('online', () => live.reconnectNow());
