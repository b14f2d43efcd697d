// A small fleet with half an hour of history (replayed as a backlog `batch`, as an
// agent does after an outage) plus live samples: proves the history + live join on
// real data and keeps current screenshots for the docs (alerts included).
import { test, expect, admin, apiAs, deleteMachine, login, shot, hubUrl } from './fixtures';
import { TestAgent } from './test-agent';

test('a fleet with history: overview, machine page on 1 hour, light theme, phone', async ({ page }) => {
  test.setTimeout(150_000);
  const a = admin();
  const api = await apiAs(a.email, a.password);
  const names = ['web-1', 'web-2', 'db-1', 'cache-1'];
  const agents: TestAgent[] = [];
  const ids: number[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const res = await api.post('/api/machines', { data: { name } });
      expect(res.status(), await res.text()).toBeLessThan(300);
      const { machine, api_key } = await res.json();
      ids.push(machine.id);
      const agent = new TestAgent(hubUrl(), api_key, `${name}.prod.example`, i);
      agents.push(agent);
      await agent.start(1000, { backfillMinutes: 30, backfillStepMs: 5000 });
    }

    // Two rules, so the fleet has alerts to show: memory on every machine, CPU on db-1.
    const rules = [
      { name: 'Memory high', metric: 'mem_used_pct', comparator: 'gt', threshold: 52, clear_threshold: 45, severity: 'critical' },
      { name: 'CPU busy', metric: 'cpu_pct', comparator: 'gt', threshold: 40, clear_threshold: 30, for_s: 10, machine_ids: [ids[2]] },
    ];
    for (const r of rules) {
      const res = await api.post('/api/alert-rules', { data: r });
      expect(res.status(), await res.text()).toBe(201);
    }

    await login(page, a.email, a.password);
    await expect(page.getByTestId('machine-card')).toHaveCount(names.length);
    await page.waitForTimeout(35_000); // let the sparklines fill
    await shot(page, 'fleet-overview');

    // The alert list, one of them acknowledged, and the rule editor.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /^Alerts/ }).click();
    await expect(page.getByTestId('event-row').first()).toBeVisible();
    await page.getByTestId('ack-button').first().click();
    await page.waitForTimeout(500);
    await shot(page, 'fleet-alerts');
    await page.getByRole('navigation', { name: 'Alerting' }).getByRole('link', { name: 'Rules' }).click();
    await expect(page.getByTestId('rule-row')).toHaveCount(rules.length);
    await shot(page, 'fleet-alert-rules');
    await page.getByTestId('rule-row').filter({ hasText: 'CPU busy' }).getByRole('link', { name: 'Edit' }).click();
    await expect(page.getByTestId('rule-form')).toBeVisible();
    await shot(page, 'fleet-alert-rule');
    await page.getByRole('link', { name: 'Machines', exact: true }).click();

    // The machine page on 1 hour: stored history and live samples in one line.
    await page.getByRole('link', { name: 'web-1', exact: true }).click();
    await page.locator('button[data-range="1h"]').click();
    const cpu = page.getByTestId('chart-cpu');
    // Half an hour at one point per 5 s is ~360 stored points, then the live ones.
    await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 20_000 }).toBeGreaterThan(100);
    const lastTs = async () => Number(await cpu.getAttribute('data-last-ts'));
    const t0 = await lastTs();
    await expect.poll(lastTs, { timeout: 10_000 }).toBeGreaterThan(t0);
    await page.waitForTimeout(1500);
    await shot(page, 'fleet-machine-1h');
    await page.screenshot({ path: `${process.cwd()}/../artifacts/screenshots/fleet-machine-1h-full.png`, fullPage: true });

    // Live 5 minutes: stored seconds and live ones in one line.
    await page.locator('button[data-range="5m"]').click();
    await expect(page.getByTestId('charts')).toHaveAttribute('data-range', '5m');
    await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 20_000 }).toBeGreaterThan(30);
    await page.waitForTimeout(1500);
    await shot(page, 'fleet-machine-5m');

    // Light theme.
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    await page.waitForTimeout(1500);
    await shot(page, 'fleet-machine-light');

    // Phone.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Machines', exact: true }).click();
    await page.waitForTimeout(1500);
    await shot(page, 'fleet-phone');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
  } finally {
    for (const agent of agents) agent.stop();
    for (const r of await (await api.get('/api/alert-rules')).json()) await api.delete(`/api/alert-rules/${r.id}`);
    for (const id of ids) await deleteMachine(api, id);
    await api.dispose();
  }
});
