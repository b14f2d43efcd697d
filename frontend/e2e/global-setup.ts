// Starts the real hub for the e2e run: a fresh SQLite database in a temp directory,
// an ephemeral port, the freshly built dashboard, and a known admin account.
// Set E2E_BASE_URL (plus E2E_ADMIN_EMAIL/E2E_ADMIN_PASSWORD) to test a running hub instead.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, createWriteStream, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

const frontend = resolve(import.meta.dirname, '..');
const repo = resolve(frontend, '..');

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with status ${r.status}`);
}

/** Resolves with the port once the hub logs `listening on http://127.0.0.1:PORT`. */
function waitForPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`hub did not report its port within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = /listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening:\n${seen}`));
    });
  });
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.E2E_BASE_URL) return async () => {};

  if (!process.env.E2E_SKIP_BUILD) run('npm', ['run', 'build'], frontend);
  const hub = resolve(repo, process.env.E2E_HUB_BIN ?? 'target/debug/lunasentri-hub');
  if (!existsSync(hub)) run('cargo', ['build', '-p', 'lunasentri-hub'], repo);

  const dir = mkdtempSync(join(tmpdir(), 'lunasentri-e2e-'));
  const email = 'admin@e2e.lunasentri.test';
  const password = 'e2e-' + randomBytes(12).toString('hex');
  mkdirSync(resolve(repo, 'artifacts'), { recursive: true });
  const log = createWriteStream(resolve(repo, 'artifacts/e2e-hub.log'));

  const child = spawn(
    hub,
    ['--bind', '127.0.0.1:0', '--database-url', `sqlite://${dir}/hub.db`, '--ui-dir', join(frontend, 'dist')],
    {
      cwd: dir,
      env: {
        ...process.env,
        LUNASENTRI_ADMIN_EMAIL: email,
        LUNASENTRI_ADMIN_PASSWORD: password,
        RUST_LOG: process.env.RUST_LOG ?? 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const port = await waitForPort(child, 60_000);

  process.env.E2E_BASE_URL = `http://127.0.0.1:${port}`;
  process.env.E2E_ADMIN_EMAIL = email;
  process.env.E2E_ADMIN_PASSWORD = password;

  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r(null);
      }, 5000);
      child.on('exit', () => {
        clearTimeout(t);
        r(null);
      });
    });
    rmSync(dir, { recursive: true, force: true });
  };
}
