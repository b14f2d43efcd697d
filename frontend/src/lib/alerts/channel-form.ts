//! The channel form: one set of inputs for every kind, turned into the tagged
//! `ChannelConfig` the hub expects (empty optional fields are left out, never sent as "").
import type { ChannelConfig, CreateChannel } from '../api/types';

export type ChannelKind = ChannelConfig['kind'];

export const CHANNEL_KINDS: readonly { id: ChannelKind; label: string }[] = [
  { id: 'webhook', label: 'Webhook' },
  { id: 'slack', label: 'Slack' },
  { id: 'discord', label: 'Discord' },
  { id: 'ntfy', label: 'ntfy' },
  { id: 'email', label: 'Email (SMTP)' },
];

export type Tls = 'starttls' | 'tls' | 'none';

export interface ChannelForm {
  name: string;
  kind: ChannelKind;
  /** Webhook, Slack, Discord. */
  url: string;
  /** Webhook: HMAC-SHA256 signing secret. */
  secret: string;
  /** ntfy. */
  server: string;
  topic: string;
  token: string;
  /** Email. */
  host: string;
  port: number | null;
  tls: Tls;
  username: string;
  password: string;
  from: string;
  /** Recipients, separated by commas, semicolons or new lines. */
  to: string;
}

export function newChannelForm(kind: ChannelKind = 'webhook'): ChannelForm {
  return {
    name: '',
    kind,
    url: '',
    secret: '',
    server: '',
    topic: '',
    token: '',
    host: '',
    port: null,
    tls: 'starttls',
    username: '',
    password: '',
    from: '',
    to: '',
  };
}

/** A trimmed value, or null when empty (the hub's "not set"). */
function opt(v: string): string | null {
  const t = v.trim();
  return t === '' ? null : t;
}

/** The request body for the form. */
export function channelBody(f: ChannelForm): CreateChannel {
  const name = f.name.trim() || `${CHANNEL_KINDS.find((k) => k.id === f.kind)?.label ?? f.kind} channel`;
  let config: ChannelConfig;
  switch (f.kind) {
    case 'webhook':
      config = { kind: 'webhook', url: f.url.trim(), secret: opt(f.secret) };
      break;
    case 'slack':
      config = { kind: 'slack', url: f.url.trim() };
      break;
    case 'discord':
      config = { kind: 'discord', url: f.url.trim() };
      break;
    case 'ntfy':
      config = { kind: 'ntfy', server: opt(f.server), topic: f.topic.trim(), token: opt(f.token) };
      break;
    case 'email':
      config = {
        kind: 'email',
        host: f.host.trim(),
        port: f.port !== null && Number.isFinite(f.port) ? f.port : null,
        tls: f.tls,
        username: opt(f.username),
        // A password is sent as typed: spaces may be part of it.
        password: f.password === '' ? null : f.password,
        from: f.from.trim(),
        to: f.to
          .split(/[,;\n]/)
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      };
      break;
  }
  return { name, config };
}

/** The input a hub message is about: `"config.url: …"` → `url`, `"name: …"` → `name`. */
export function channelFieldOfError(message: string): keyof ChannelForm | null {
  const m = /^(?:config\.)?([a-z_]+):/.exec(message);
  if (!m) return null;
  const known: readonly string[] = Object.keys(newChannelForm());
  return known.includes(m[1]) ? (m[1] as keyof ChannelForm) : null;
}
