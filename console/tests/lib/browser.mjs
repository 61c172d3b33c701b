// Debian's Chromium (never a downloaded browser) driven by playwright-core,
// with CDP virtual authenticators, console-error collection and screenshots
// at desktop and phone widths.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './server.mjs';

const EXECUTABLE = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
const SHOTS = join(ROOT, 'docs', 'screenshots');

/**
 * A fresh browser profile (its own user data dir), so nothing leaks between
 * users or runs. Each call is one person: one context, one page.
 */
export async function person(name) {
  const dir = mkdtempSync(join(tmpdir(), `latchkey-chromium-${name}-`));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: EXECUTABLE,
    headless: true,
    args: ARGS,
    viewport: DESKTOP,
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timezoneId: 'UTC',
    colorScheme: 'light',
  });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(10_000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    // The API answers 4xx by design (an unknown passkey, the last-passkey
    // guard, a revoked session), and the console explains each on screen;
    // Chromium logs every such response. Anything else fails the run.
    const where = msg.location()?.url || '';
    if (/status of 4\d\d/.test(msg.text()) && where.includes('/api/v1/organizations/')) return;
    errors.push(`console error: ${msg.text()} (${where})`);
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  return {
    page,
    context,
    errors,
    cdp,
    /** A virtual authenticator; `internal` (platform) or `usb` (security key). */
    async addAuthenticator({ transport = 'internal', synced = false } = {}) {
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport,
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
          ...(synced ? { defaultBackupEligibility: true, defaultBackupState: true } : {}),
        },
      });
      this.authenticators.push(authenticatorId);
      return authenticatorId;
    },
    /** Which authenticators answer: the others never see the user touch them. */
    async only(...ids) {
      // Switch the others off before switching the chosen ones on: a pending
      // conditional (autofill) request is answered by any authenticator that
      // simulates presence, even for the instant between two CDP calls.
      const all = this.authenticators;
      for (const id of all.filter((a) => !ids.includes(a))) {
        await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: id, enabled: false });
      }
      for (const id of all.filter((a) => ids.includes(a))) {
        await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: id, enabled: true });
      }
    },
    authenticators: [],
    async credentials(authenticatorId) {
      return (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    },
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Screenshots of what the page shows now, at desktop and phone widths. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  for (const [suffix, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const fullPage = await page.evaluate(() => !document.querySelector('dialog[open]'));
    await page.screenshot({ path: join(SHOTS, `${name}-${suffix}.png`), fullPage, animations: 'disabled', caret: 'hide' });
  }
  await page.setViewportSize(DESKTOP);
}
