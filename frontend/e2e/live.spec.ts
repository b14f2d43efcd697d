// The live socket survives a dropped connection: the page says it is reconnecting,
// retries with backoff, and resumes streaming without a reload.
import type { WebSocketRoute } from '@playwright/test';
import { test, expect, admin, apiAs, deleteMachine, login, hubUrl } from './fixtures';
import { TestAgent } from './test-agent';

test('the live socket reconnects by itself and shows it', async ({ page }) => {
  const a = admin();
  const api = await apiAs(a.email, a.password);
  const res = await api.post('/api/machines', { data: { name: `e2e-live-${Date.now() % 100_000}` } });
  expect(res.status(), await res.text()).toBeLessThan(300);
  const { machine, api_key } = await res.json();
  const agent = new TestAgent(hubUrl(), api_key, 'live-host');
  await agent.start(1000);

  // Pass the socket through to the hub, or refuse it while `down`.
  let down = false;
  const open: WebSocketRoute[] = [];
  await page.routeWebSocket('**/api/live', (ws) => {
    if (down) {
      void ws.close({ code: 1011, reason: 'test outage' });
      return;
    }
    ws.connectToServer();
    open.push(ws);
  });

  try {
    await login(page, a.email, a.password);
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'open');
    const card = page.getByTestId('machine-card').filter({ hasText: machine.name });
    await expect(card.getByTestId('cpu-value')).toHaveText(/%$/);

    // The connection drops and the hub stays unreachable for a moment.
    down = true;
    for (const ws of open.splice(0)) await ws.close({ code: 1011, reason: 'test outage' });
    await expect(page.getByTestId('live-reconnecting')).toBeVisible();
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'reconnecting');

    // It comes back: the banner goes and samples flow again.
    down = false;
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-state', 'open', { timeout: 40_000 });
    await expect(page.getByTestId('live-reconnecting')).toHaveCount(0);
    const before = await card.getByTestId('cpu-value').textContent();
    await expect.poll(async () => card.getByTestId('cpu-value').textContent(), { timeout: 15_000 }).not.toBe(before);
  } finally {
    agent.stop();
    await deleteMachine(api, machine.id);
    await api.dispose();
  }
});
