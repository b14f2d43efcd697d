// The main journey: sign in, add a machine, watch its first live sample arrive and
// its charts advance, switch ranges, rename it, delete it.
import { test, expect, admin, login, shot, hubUrl } from './fixtures';
import { TestAgent } from './test-agent';

test.describe.configure({ mode: 'serial' });

test('admin adds a machine, sees it live, switches ranges, renames and deletes it', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  const { email, password } = admin();
  const name = `e2e-web-${Date.now() % 100_000}`;
  const renamed = `${name}-renamed`;
  await login(page, email, password);
  await expect(page.getByRole('heading', { name: 'Machines' })).toBeVisible();

  // Add a machine: the key is shown once, with the one-liner and YAML.
  await page.getByRole('link', { name: 'Add machine' }).first().click();
  await expect(page).toHaveURL(/\/machines\/add$/);
  await page.getByTestId('machine-name').fill(name);
  await page.getByRole('button', { name: 'Create machine' }).click();
  const key = (await page.getByTestId('api-key').textContent())?.trim() ?? '';
  expect(key).toMatch(/^lsk_/);
  const cmd = (await page.getByTestId('install-command').textContent()) ?? '';
  expect(cmd).toContain(`curl -sSL ${hubUrl()}/install.sh | sudo bash -s -- --hub ${hubUrl()}`);
  expect(cmd).toContain(`--api-key ${key}`);
  expect(cmd).toContain(`--name ${name}`);
  await page.getByText('Or configure the agent by hand').click();
  const yaml = (await page.getByTestId('agent-yaml').textContent()) ?? '';
  expect(yaml).toContain(`api_key: "${key}"`);
  expect(yaml).toContain(`machine_name: "${name}"`);
  await expect(page.getByTestId('waiting-for-sample')).toBeVisible();
  await shot(page, 'add-machine');

  // The agent connects: the page notices the first sample by itself.
  const agent = new TestAgent(hubUrl(), key, `${name}.example`);
  await agent.start(1000);
  try {
    await expect(page.getByTestId('first-sample-received')).toBeVisible({ timeout: 20_000 });

    // The machine page: live charts advance sample by sample.
    await page.getByRole('link', { name: `Open ${name}` }).click();
    await expect(page.getByTestId('machine-title')).toHaveText(name);
    const cpu = page.getByTestId('chart-cpu');
    await expect(cpu).toBeVisible();
    const lastTs = async () => Number(await cpu.getAttribute('data-last-ts'));
    await expect.poll(lastTs, { timeout: 20_000 }).toBeGreaterThan(0);
    const before = await lastTs();
    await expect.poll(lastTs, { timeout: 20_000 }).toBeGreaterThan(before + 1500);
    await expect(page.getByText('e2e-worker')).toBeVisible();
    await expect(page.getByTestId('fact-hostname')).toHaveText(`${name}.example`);
    await page.waitForTimeout(3000);
    await shot(page, 'machine-detail');

    // Ranges: history joins the live stream; the chart keeps advancing.
    for (const r of ['1h', '24h', '7d', '5m']) {
      await page.locator(`button[data-range="${r}"]`).click();
      await expect(page.getByTestId('charts')).toHaveAttribute('data-range', r);
      await expect(page.locator(`button[data-range="${r}"]`)).toHaveAttribute('aria-pressed', 'true');
      await expect(page.getByText('History could not be loaded')).toHaveCount(0);
      await expect.poll(async () => Number(await cpu.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThan(0);
    }
    await expect(page).toHaveURL(/\/machines\/\d+$/);
    const after = await lastTs();
    await expect.poll(lastTs, { timeout: 15_000 }).toBeGreaterThan(after);

    // The overview shows it online with a value.
    await page.getByRole('link', { name: 'Machines', exact: true }).click();
    const card = page.getByTestId('machine-card').filter({ hasText: name });
    await expect(card.locator('[data-status="online"]')).toBeVisible();
    await expect(card.getByTestId('cpu-value')).toHaveText(/%$/);
    await page.waitForTimeout(2000);
    await shot(page, 'overview');

    // Reopened, the overview seeds its sparklines from stored history in one request.
    const history = page.waitForResponse((r) => r.url().includes('/api/metrics?machine_ids='));
    await page.reload();
    const res = await history;
    expect(res.status()).toBe(200);
    const series = (await res.json()) as { ts: number[] }[];
    expect(series.some((s) => s.ts.length > 0)).toBe(true);
    await expect(card.locator('[data-status="online"]')).toBeVisible();

    // Rename.
    await card.getByRole('link', { name }).click();
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByTestId('rename-input').fill(renamed);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByTestId('machine-title')).toHaveText(renamed);
    await expect(page.getByTestId('machine-selector').locator('option', { hasText: renamed })).toHaveCount(1);

    // Delete, confirmed by typing the name.
    await page.getByRole('button', { name: 'Delete machine' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.getByRole('button', { name: 'Delete machine' })).toBeDisabled();
    await dialog.getByRole('textbox').fill(renamed);
    await dialog.getByRole('button', { name: 'Delete machine' }).click();
    await expect(page).toHaveURL(/\/machines$/);
    await expect(page.getByTestId('machine-card').filter({ hasText: renamed })).toHaveCount(0);
  } finally {
    agent.stop();
  }
  expect(errors).toEqual([]);
});
