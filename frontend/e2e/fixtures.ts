// Shared e2e helpers: the hub's address, an API client per user, logging in through
// the UI, and screenshots kept as artifacts.
import { test as base, expect, request, type APIRequestContext, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

export const SCREENSHOTS = resolve(import.meta.dirname, '../../artifacts/screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

export function hubUrl(): string {
  const u = process.env.E2E_BASE_URL;
  if (!u) throw new Error('E2E_BASE_URL is not set: run through `npm run test:e2e`');
  return u;
}

export const admin = () => ({
  email: process.env.E2E_ADMIN_EMAIL ?? 'admin@example.com',
  password: process.env.E2E_ADMIN_PASSWORD ?? 'secret123',
});

/** An API client signed in as `email` (cookie kept in the context). */
export async function apiAs(email: string, password: string): Promise<APIRequestContext> {
  const ctx = await request.newContext({ baseURL: hubUrl() });
  const res = await ctx.post('/api/auth/login', { data: { email, password } });
  expect(res.status(), await res.text()).toBe(200);
  return ctx;
}

/** Signs in through the login form and waits for the app shell. */
export async function login(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

/** Deletes a machine a test created. A soft check: a failed clean-up is reported
 *  without hiding the test's own failure, and a machine left behind would otherwise
 *  show up later as an unexplained extra card in another test. */
export async function deleteMachine(api: APIRequestContext, id: number): Promise<void> {
  const res = await api.delete(`/api/machines/${id}`);
  expect.soft(res.status(), `deleting machine ${id}: ${await res.text()}`).toBe(204);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`) });
}

export const test = base.extend({
  // The hub's port is only known after global setup: read it per test.
  baseURL: async ({}, use) => {
    await use(hubUrl());
  },
});

export { expect };
