// Alerts end to end: a user adds a webhook channel (a receiver in this test) and a CPU
// rule on their machine; the agent crosses the threshold; the grid, the machine page and
// the alert list show it live; it is acknowledged, then resolves. Bad input shows the
// hub's message, and a second user sees none of it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIRequestContext } from '@playwright/test';
import { test, expect, admin, apiAs, deleteMachine, login, shot, hubUrl } from './fixtures';
import { TestAgent } from './test-agent';

/** A local webhook receiver that keeps every request it gets. */
async function receiver(): Promise<{ url: string; hits: { headers: IncomingMessage['headers']; body: string }[]; close: () => Promise<void> }> {
  const hits: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A fresh user (signed in through the API) with one machine streaming from a test agent. */
async function userWithMachine(adminApi: APIRequestContext, tag: string) {
  const email = `${tag}-${Date.now()}@e2e.lunasentri.test`;
  const password = `${tag}-password-1`;
  const u = await adminApi.post('/api/users', { data: { email, password, role: 'user' } });
  expect(u.status(), await u.text()).toBeLessThan(300);
  const userApi = await apiAs(email, password);
  const res = await userApi.post('/api/machines', { data: { name: `${tag}-box` } });
  expect(res.status(), await res.text()).toBeLessThan(300);
  const { machine, api_key } = await res.json();
  const agent = new TestAgent(hubUrl(), api_key, `${tag}.example`);
  await agent.start(1000);
  return { email, password, userApi, machine: machine as { id: number; name: string }, agent };
}

test('a user is alerted on high CPU: channel, rule, live firing, acknowledge, resolve', async ({ page }) => {
  test.setTimeout(150_000);
  const a = admin();
  const adminApi = await apiAs(a.email, a.password);
  const hook = await receiver();
  const { email, password, userApi, machine, agent } = await userWithMachine(adminApi, 'alerts');
  try {
    await login(page, email, password);
    await expect(page.getByTestId('machine-card')).toHaveCount(1);

    // Channels: one that fails (a closed port) and shows why, one that works.
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Channels' }).click();
    await expect(page.getByText('No channels yet.')).toBeVisible();
    await page.getByTestId('channel-name').fill('dead hook');
    await page.getByTestId('channel-url').fill('http://127.0.0.1:1/nothing-listens');
    await page.getByTestId('channel-create').click();
    const dead = page.getByTestId('channel-row').filter({ hasText: 'dead hook' });
    await expect(dead).toBeVisible();
    await dead.getByTestId('channel-test').click();
    await expect(dead.getByTestId('channel-test-result')).toHaveAttribute('data-ok', 'false', { timeout: 60_000 });
    await expect(dead.getByTestId('channel-test-result')).toContainText(/Failed after \d attempts?: \S+/);
    await dead.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete channel' }).click();
    await expect(dead).toHaveCount(0);

    // A bad URL is refused with the hub's message beside the field.
    await page.getByTestId('channel-url').fill('ftp://example.com');
    await page.getByTestId('channel-create').click();
    await expect(page.getByTestId('channel-error-url')).toContainText('config.url: must be an http:// or https:// URL');

    await page.getByTestId('channel-name').fill('ops hook');
    await page.getByTestId('channel-url').fill(hook.url);
    await page.getByTestId('channel-secret').fill('e2e-signing-secret');
    await page.getByTestId('channel-create').click();
    const ops = page.getByTestId('channel-row').filter({ hasText: 'ops hook' });
    await expect(ops).toBeVisible();
    await expect(ops).not.toContainText('e2e-signing-secret');
    await ops.getByTestId('channel-test').click();
    await expect(ops.getByTestId('channel-test-result')).toHaveText('Sent.');
    expect(hook.hits.length).toBe(1);
    expect(hook.hits[0].headers['x-lunasentri-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    await shot(page, 'alerts-channels');

    // A rule from the machine page: the scope is pre-filled with this machine.
    await page.getByRole('link', { name: 'Machines', exact: true }).click();
    await page.getByTestId('machine-card').getByRole('link', { name: machine.name }).click();
    await expect(page.getByTestId('machine-rules')).toContainText('No rule watches this machine.');
    await page.getByTestId('add-machine-rule').click();
    await expect(page.getByTestId('rule-form')).toBeVisible();
    await expect(page.getByTestId('scope-some')).toBeChecked();
    await expect(page.locator(`[data-testid="scope-machine"][data-machine-id="${machine.id}"]`)).toBeChecked();
    // Every channel of mine is picked by default.
    await expect(page.getByRole('checkbox', { name: /ops hook/ })).toBeChecked();
    await page.getByTestId('rule-name').fill('CPU hot');
    await expect(page.getByTestId('rule-metric')).toHaveValue('cpu_pct');
    await expect(page.getByTestId('rule-comparator')).toHaveValue('gt');

    // Bad input: the hub's message is shown next to the threshold.
    await page.getByTestId('rule-threshold').fill('150');
    await page.getByTestId('rule-for').fill('0');
    await page.getByTestId('rule-save').click();
    await expect(page.getByTestId('rule-error-threshold')).toHaveText('threshold: out of range (0 to 100 for a percentage)');
    await shot(page, 'alerts-rule-error');

    await page.getByTestId('rule-threshold').fill('90');
    await page.getByTestId('rule-save').click();
    await expect(page).toHaveURL(new RegExp(`/machines/${machine.id}$`));
    await expect(page.getByTestId('machine-rule')).toContainText('CPU hot');
    await expect(page.getByTestId('machine-rule')).toContainText('CPU busy > 90%');

    // The rules list shows it with its scope, timing and channel.
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Rules' }).click();
    const row = page.getByTestId('rule-row').filter({ hasText: 'CPU hot' });
    await expect(row).toContainText(machine.name);
    await expect(row).toContainText('at once');
    await expect(row).toContainText('ops hook');
    await expect(row).toContainText('warning');

    // The alert list is open when the agent crosses the threshold: the alert appears live.
    await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Alerts' }).click();
    await expect(page.getByText('No alerts', { exact: true })).toBeVisible();
    agent.overrides = { cpu_pct: 97.5 };
    const ev = page.getByTestId('event-row').filter({ hasText: 'CPU hot' });
    await expect(ev).toHaveAttribute('data-state', 'firing');
    await expect(ev.getByTestId('event-value')).toHaveText('97.5%');
    await expect(ev).toContainText(machine.name);
    await expect(page.getByTestId('nav-firing-count')).toHaveText('1 firing');
    // The webhook is delivered; its outcome shows without a reload.
    await expect(ev.getByTestId('delivery').first()).toHaveAttribute('data-status', 'sent', { timeout: 30_000 });
    await expect.poll(() => hook.hits.some((h) => h.body.includes('CPU hot'))).toBe(true);
    await shot(page, 'alerts-events');

    // The grid: a badge with the count and severity on the machine's card.
    await page.getByRole('link', { name: 'Machines', exact: true }).click();
    const badge = page.getByTestId('machine-card').getByTestId('firing-badge');
    await expect(badge).toHaveText(/1 firing/);
    await expect(badge).toHaveAttribute('data-severity', 'warning');
    await expect(page.getByTestId('fleet-summary')).toContainText('1 alerting');
    await page.getByTestId('status-filter').selectOption('alerting');
    await expect(page.getByTestId('machine-card')).toHaveCount(1);
    await page.getByTestId('status-filter').selectOption('all');
    await shot(page, 'alerts-grid');

    // The machine page: a banner lists the firing alert.
    await page.getByTestId('machine-card').getByRole('link', { name: machine.name }).click();
    await expect(page.getByTestId('firing-banner')).toContainText('CPU hot');
    await expect(page.getByTestId('firing-banner')).toContainText('value 97.5%');
    await shot(page, 'alerts-machine');

    // The badge leads to the machine's firing alerts; acknowledge there.
    await page.getByRole('link', { name: 'Machines', exact: true }).click();
    await badge.click();
    await expect(page).toHaveURL(/\/alerts\?machine=\d+&state=firing/);
    await expect(page.getByTestId('event-state-filter')).toHaveValue('firing');
    await ev.getByTestId('ack-button').click();
    await expect(ev.getByTestId('event-acknowledged')).not.toHaveText('—');
    await expect(ev.getByTestId('ack-button')).toHaveCount(0);

    // Back under the threshold: with every state listed, the row turns resolved live.
    await page.getByTestId('event-state-filter').selectOption('');
    await expect(ev).toHaveAttribute('data-state', 'firing');
    agent.overrides = { cpu_pct: 12 };
    await expect(ev).toHaveAttribute('data-state', 'resolved');
    await expect(ev.getByTestId('event-resolved')).not.toHaveText('—');
    await expect(page.getByTestId('nav-firing-count')).toHaveCount(0);
    await page.getByRole('link', { name: 'Machines', exact: true }).click();
    await expect(page.getByTestId('machine-card')).toHaveCount(1);
    await expect(badge).toHaveCount(0);
  } finally {
    agent.stop();
    await deleteMachine(userApi, machine.id);
    await userApi.dispose();
    await adminApi.dispose();
    await hook.close();
  }
});

test('a second user sees none of the first user’s rules, alerts or channels', async ({ page }) => {
  const a = admin();
  const adminApi = await apiAs(a.email, a.password);
  const first = await userWithMachine(adminApi, 'owner');
  const email = `other-${Date.now()}@e2e.lunasentri.test`;
  const password = 'other-password-1';
  const u = await adminApi.post('/api/users', { data: { email, password, role: 'user' } });
  expect(u.status(), await u.text()).toBeLessThan(300);
  try {
    // The first user's channel, rule, and a firing alert.
    const ch = await first.userApi.post('/api/channels', {
      data: { name: 'owner-secret-channel', config: { kind: 'webhook', url: 'http://127.0.0.1:1/x' } },
    });
    expect(ch.status(), await ch.text()).toBe(201);
    const r = await first.userApi.post('/api/alert-rules', {
      data: { name: 'owner-private-rule', metric: 'cpu_pct', comparator: 'ge', threshold: 0, for_s: 0, channel_ids: [] },
    });
    expect(r.status(), await r.text()).toBe(201);
    const rule = await r.json();
    await expect
      .poll(async () => (await (await first.userApi.get('/api/alert-events?state=firing')).json()).length, { timeout: 20_000 })
      .toBe(1);

    await login(page, email, password);
    await expect(page.getByTestId('nav-firing-count')).toHaveCount(0);
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await expect(page.getByText('No alerts', { exact: true })).toBeVisible();
    await expect(page.getByTestId('event-row')).toHaveCount(0);
    await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Rules' }).click();
    await expect(page.getByText('No alert rules yet')).toBeVisible();
    await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Channels' }).click();
    await expect(page.getByText('No channels yet.')).toBeVisible();
    await expect(page.getByText('owner-secret-channel')).toHaveCount(0);
    // By URL: the first user's rule is "not found", as if it did not exist.
    await page.goto(`/alerts/rules/${rule.id}`);
    await expect(page.getByRole('heading', { name: 'Alert rule not found' })).toBeVisible();
    await expect(page.getByText('owner-private-rule')).toHaveCount(0);
    // A new rule cannot pick the first user's machine: it is not offered.
    await page.goto(`/alerts/rules/new?machine=${first.machine.id}`);
    await expect(page.getByTestId('rule-form')).toBeVisible();
    await expect(page.getByTestId('scope-machine')).toHaveCount(0);
    await page.getByTestId('rule-save').click();
    await expect(page.getByTestId('rule-error-machine_ids')).toContainText(`machine ${first.machine.id} not found`);
  } finally {
    first.agent.stop();
    await deleteMachine(first.userApi, first.machine.id);
    await first.userApi.dispose();
    await adminApi.dispose();
  }
});
