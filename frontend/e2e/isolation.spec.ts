// A second user sees none of the first user's machines: not in the grid, not in the
// selector, not by URL (the 404 page), not on the live socket.
import { test, expect, admin, apiAs, deleteMachine, login, shot } from './fixtures';
import { TestAgent } from './test-agent';
import { hubUrl } from './fixtures';

test('a second user cannot see the first user’s machines anywhere', async ({ page }) => {
  const a = admin();
  const adminApi = await apiAs(a.email, a.password);
  const created = await adminApi.post('/api/machines', { data: { name: 'e2e-private-1' } });
  expect(created.status(), await created.text()).toBeLessThan(300);
  const { machine, api_key } = await created.json();
  const agent = new TestAgent(hubUrl(), api_key, 'private-host');
  await agent.start(1000);

  const email = `user-${Date.now()}@e2e.lunasentri.test`;
  const password = 'user-password-1';
  const u = await adminApi.post('/api/users', { data: { email, password, role: 'user' } });
  expect(u.status(), await u.text()).toBeLessThan(300);

  try {
    await login(page, email, password);
    // Grid: empty, in words.
    await expect(page.getByText('No machines yet')).toBeVisible();
    await expect(page.getByTestId('machine-card')).toHaveCount(0);
    // Selector: nothing to jump to.
    const options = await page.getByTestId('machine-selector').locator('option').allTextContents();
    expect(options.join('|')).not.toContain('e2e-private-1');
    // By URL: the same 404 page as a machine that does not exist.
    await page.goto(`/machines/${machine.id}`);
    await expect(page.getByTestId('not-found')).toBeVisible();
    await expect(page.getByRole('heading', { name: 'Machine not found' })).toBeVisible();
    await expect(page.getByText('e2e-private-1')).toHaveCount(0);
    await shot(page, 'not-found');
    await page.goto('/machines/999999');
    await expect(page.getByRole('heading', { name: 'Machine not found' })).toBeVisible();
    // The API agrees.
    const userApi = await apiAs(email, password);
    expect((await userApi.get(`/api/machines/${machine.id}`)).status()).toBe(404);
    const list = await (await userApi.get('/api/machines')).json();
    expect(list).toEqual([]);
    // Admin pages are not offered.
    await expect(page.getByRole('link', { name: 'Admin', exact: true })).toHaveCount(0);
    await userApi.dispose();
  } finally {
    agent.stop();
    await deleteMachine(adminApi, machine.id);
    await adminApi.dispose();
  }
});

test('a user changes their password, signs out and back in', async ({ page }) => {
  const a = admin();
  const adminApi = await apiAs(a.email, a.password);
  const email = `pw-${Date.now()}@e2e.lunasentri.test`;
  const u = await adminApi.post('/api/users', { data: { email, password: 'first-password-1', role: 'user' } });
  expect(u.status(), await u.text()).toBeLessThan(300);
  await adminApi.dispose();

  await login(page, email, 'first-password-1');
  await page.getByTestId('account-link').click();
  await page.getByLabel('Current password').fill('first-password-1');
  await page.getByLabel('New password', { exact: true }).fill('second-password-2');
  await page.getByLabel('New password again').fill('second-password-2');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Password changed.')).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);

  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('first-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('login-error')).toBeVisible();
  await login(page, email, 'second-password-2');
});
