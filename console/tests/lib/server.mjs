// Starts the real latchkey binary on a free port with a fresh data
// directory, and runs its CLI against the same data directory.

import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = resolve(ROOT, process.env.LATCHKEY_BIN || 'target/debug/latchkey');

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

export async function startServer() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-console-'));
  // WebAuthn needs a secure context and RP ID `localhost`: browse http://localhost, not 127.0.0.1.
  const url = `http://localhost:${port}`;
  const global = ['--data-dir', dataDir, '--public-url', url];
  const proc = spawn(BIN, [...global, 'serve', '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((ok) => proc.once('exit', ok));

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`latchkey exited early (${BIN}):\n${stderr}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`latchkey did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const cli = async (...args) => {
    const { stdout } = await run(BIN, [...global, ...args], { env: { ...process.env, RUST_LOG: 'warn' } });
    return stdout;
  };

  return {
    url,
    port,
    cli,
    /** Creates an org from the CLI; returns {orgId, enrolmentLink, enrolmentToken, …}. */
    async createOrg(name, admin, adminName) {
      const out = await cli('org', 'create', '--json', '--name', name, '--admin', admin,
        ...(adminName ? ['--admin-name', adminName] : []), '--origin', url);
      return JSON.parse(out);
    },
    async invite(orgId, username, role = 'member') {
      return JSON.parse(await cli('invite', '--json', '--org', orgId, '--username', username, '--role', role));
    },
    /** A JSON API call from outside the browser (checks server-side effects). */
    async api(method, path, { token, body } = {}) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    },
    async stop() {
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
    stderr: () => stderr,
  };
}
