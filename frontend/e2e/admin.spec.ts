// Admin pages: users (create, role, delete), all machines with their owner, audit log.
import { test, expect, admin, apiAs, deleteMachine, login, shot } from './fixtures';

test('admin manages users and sees every machine with its owner', async ({ page }) => {
  const a = admin();
  const adminApi = await apiAs(a.email, a.password);
  const email = `owner-${Date.now()}@e2e.lunasentri.test`;
  const u = await adminApi.post('/api/users', { data: { email, password: 'owner-password-1', role: 'user' } });
  expect(u.status(), await u.text()).toBeLessThan(300);
  const ownerApi = await apiAs(email, 'owner-password-1');
  const m = await ownerApi.post('/api/machines', { data: { name: 'e2e-owned-by-user' } });
  expect(m.status(), await m.text()).toBeLessThan(300);

  try {
    await login(page, a.email, a.password);
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await expect(page).toHaveURL(/\/admin\/users$/);
    await expect(page.getByTestId('user-row').filter({ hasText: email })).toBeVisible();

    // Create a user through the form, promote, then delete.
    const newEmail = `made-${Date.now()}@e2e.lunasentri.test`;
    await page.getByLabel('Email').fill(newEmail);
    await page.getByLabel('Password').fill('made-password-1');
    await page.getByRole('button', { name: 'Add user' }).click();
    const row = page.getByTestId('user-row').filter({ hasText: newEmail });
    await expect(row).toBeVisible();
    await row.getByRole('combobox').selectOption('admin');
    await expect(row.getByRole('combobox')).toHaveValue('admin');
    await page.reload();
    await expect(page.getByTestId('user-row').filter({ hasText: newEmail }).getByRole('combobox')).toHaveValue('admin');
    await shot(page, 'admin-users');
    await page.getByTestId('user-row').filter({ hasText: newEmail }).getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox').fill(newEmail);
    await dialog.getByRole('button', { name: 'Delete user' }).click();
    await expect(page.getByTestId('user-row').filter({ hasText: newEmail })).toHaveCount(0);

    // All machines, with owner.
    await page.getByRole('link', { name: 'All machines' }).click();
    const mrow = page.getByTestId('admin-machines').locator('tr', { hasText: 'e2e-owned-by-user' });
    await expect(mrow).toContainText(email);

    // Audit log renders.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
    await expect(page.getByText('Could not load the audit log')).toHaveCount(0);
  } finally {
    const id = (await m.json()).machine?.id;
    if (id) await deleteMachine(ownerApi, id);
    await ownerApi.dispose();
    await adminApi.dispose();
  }
});
