//! The REST client: same-origin JSON over fetch with the session cookie, errors turned
//! into `ApiError` carrying the hub's `{"error":{"code","message"}}` in words.
import type {
  AlertEvent,
  AlertRule,
  AlertRuleInput,
  AlertState,
  AuditEntry,
  Channel,
  ChannelTestResult,
  CreateChannel,
  ChangePassword,
  CreateEnrollmentToken,
  CreateUser,
  EnrollmentToken,
  EnrollmentTokenWithSecret,
  ErrorBody,
  Latest,
  LoginRequest,
  Machine,
  MachineWithKey,
  MetricSeries,
  UpdateUser,
  User,
} from './types';

/** A failed API call: HTTP status plus the hub's error code and sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get notFound(): boolean {
    return this.status === 404;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

/** Called on any 401 from an authenticated call, so the app can show the login page. */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

function isErrorBody(v: unknown): v is ErrorBody {
  return (
    typeof v === 'object' &&
    v !== null &&
    'error' in v &&
    typeof (v as ErrorBody).error?.message === 'string'
  );
}

async function request<T>(method: string, path: string, body?: unknown, quiet401 = false): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The hub could not be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !quiet401) onUnauthorized?.();
    if (isErrorBody(data)) throw new ApiError(res.status, data.error.code, data.error.message);
    throw new ApiError(res.status, 'http_' + res.status, `The hub answered ${res.status} ${res.statusText}.`.replace(' .', '.'));
  }
  return data as T;
}

const enc = encodeURIComponent;

/** Filters of `GET /api/alert-events`; every one optional. */
export interface AlertEventQuery {
  machine_id?: number;
  state?: AlertState;
  /** Alerts open at or after this instant (epoch ms). */
  from?: number;
  /** Alerts that started at or before this instant (epoch ms). */
  to?: number;
  limit?: number;
  /** Admins: every user's alerts. */
  all?: boolean;
}

function query(params: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === false) continue;
    q.set(k, String(typeof v === 'number' ? Math.round(v) : v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** Every REST call the dashboard makes, one function each. */
export const api = {
  login: (body: LoginRequest) => request<User>('POST', '/api/auth/login', body, true),
  logout: () => request<void>('POST', '/api/auth/logout'),
  me: () => request<User>('GET', '/api/auth/me', undefined, true),
  changePassword: (body: ChangePassword) => request<void>('PATCH', '/api/auth/password', body),

  machines: (all = false) => request<Machine[]>('GET', all ? '/api/machines?all=true' : '/api/machines'),
  machine: (id: number) => request<Machine>('GET', `/api/machines/${enc(id)}`),
  createMachine: (name: string) => request<MachineWithKey>('POST', '/api/machines', { name }),
  renameMachine: (id: number, name: string) => request<Machine>('PATCH', `/api/machines/${enc(id)}`, { name }),
  deleteMachine: (id: number) => request<void>('DELETE', `/api/machines/${enc(id)}`),
  rotateKey: (id: number) => request<MachineWithKey>('POST', `/api/machines/${enc(id)}/rotate-key`),
  revokeKey: (id: number) => request<Machine>('POST', `/api/machines/${enc(id)}/revoke-key`),
  latest: (id: number) => request<Latest>('GET', `/api/machines/${enc(id)}/latest`),
  metrics: (id: number, from: number, to: number, points: number) =>
    request<MetricSeries>(
      'GET',
      `/api/machines/${enc(id)}/metrics?from=${Math.floor(from)}&to=${Math.ceil(to)}&points=${Math.round(points)}`,
    ),

  /** History of several machines in one request (at most 500 ids). */
  overviewMetrics: (ids: number[], from: number, to: number, points: number, metrics: string[]) =>
    request<MetricSeries[]>(
      'GET',
      `/api/metrics?machine_ids=${ids.map(enc).join(',')}&from=${Math.floor(from)}&to=${Math.ceil(to)}` +
        `&points=${Math.round(points)}&metrics=${metrics.map(enc).join(',')}`,
    ),

  enrollmentTokens: () => request<EnrollmentToken[]>('GET', '/api/enrollment-tokens'),
  createEnrollmentToken: (body: CreateEnrollmentToken) =>
    request<EnrollmentTokenWithSecret>('POST', '/api/enrollment-tokens', body),
  deleteEnrollmentToken: (id: number) => request<void>('DELETE', `/api/enrollment-tokens/${enc(id)}`),

  users: () => request<User[]>('GET', '/api/users'),
  createUser: (body: CreateUser) => request<User>('POST', '/api/users', body),
  updateUser: (id: number, body: UpdateUser) => request<User>('PATCH', `/api/users/${enc(id)}`, body),
  deleteUser: (id: number) => request<void>('DELETE', `/api/users/${enc(id)}`),
  alertRules: (all = false) => request<AlertRule[]>('GET', all ? '/api/alert-rules?all=true' : '/api/alert-rules'),
  alertRule: (id: number) => request<AlertRule>('GET', `/api/alert-rules/${enc(id)}`),
  createAlertRule: (body: AlertRuleInput) => request<AlertRule>('POST', '/api/alert-rules', body),
  updateAlertRule: (id: number, body: AlertRuleInput) => request<AlertRule>('PUT', `/api/alert-rules/${enc(id)}`, body),
  deleteAlertRule: (id: number) => request<void>('DELETE', `/api/alert-rules/${enc(id)}`),
  alertEvents: (q: AlertEventQuery = {}) => request<AlertEvent[]>('GET', '/api/alert-events' + query(q)),
  alertEvent: (id: number) => request<AlertEvent>('GET', `/api/alert-events/${enc(id)}`),
  acknowledgeAlertEvent: (id: number) => request<AlertEvent>('POST', `/api/alert-events/${enc(id)}/ack`),
  channels: () => request<Channel[]>('GET', '/api/channels'),
  createChannel: (body: CreateChannel) => request<Channel>('POST', '/api/channels', body),
  deleteChannel: (id: number) => request<void>('DELETE', `/api/channels/${enc(id)}`),
  testChannel: (id: number) => request<ChannelTestResult>('POST', `/api/channels/${enc(id)}/test`),
  auditLog: (limit = 200) => request<AuditEntry[]>('GET', `/api/admin/audit-log?limit=${limit}`),
};

/** A sentence for any error thrown by the client or elsewhere. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
