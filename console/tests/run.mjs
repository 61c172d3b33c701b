// End-to-end tests of the Latchkey console in real headless Chromium with
// virtual WebAuthn authenticators, against the real server binary.
//
//   node console/tests/run.mjs        (LATCHKEY_BIN=target/debug/latchkey by default)
//
// One story, in order, because each step builds on the last (as a real
// organisation's first day would): bootstrap from the CLI, the super admin
// enrols through the link (activation step), signs in by username, through
// autofill (conditional UI) and usernameless, adds a security key and signs
// in with it, renames and deletes passkeys, meets the last-passkey guard,
// invites a user who enrols in another browser, suspends and reactivates
// them, removes their passkey with the override, changes settings and signs
// out (the session ends server-side). Error messages: a cancelled dialog
// and an unknown passkey. An expired ceremony is not exercised here: it
// needs a clock the browser test can't move (the API suite covers
// `ceremony_expired` with a fake clock).
//
// Virtual authenticators answer by themselves, even the username field's
// autofill request; `only(...)` chooses which ones "the user touches", so
// each step uses the passkey it means to.

import { test as nodeTest, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './lib/server.mjs';
import { person, shot } from './lib/browser.mjs';

let srv;
let acme; // {orgId, enrolmentLink, …}
let alice; // the super admin's browser
let A; // alice's platform authenticator (synced passkeys)
let B; // alice's security key (usb, device-bound)
let bob; // the invited member's browser
let invitation;
const people = [];

/** A test step that, when it fails, saves what each browser showed (in $TMPDIR). */
function test(name, fn) {
  nodeTest(name, async () => {
    try {
      await fn();
    } catch (e) {
      for (const [i, p] of people.entries()) {
        const path = join(tmpdir(), `latchkey-console-failure-${i}.png`);
        await p.page.screenshot({ path, fullPage: true }).catch(() => {});
        console.error(`# failure screenshot: ${path} (${p.page.url()})`);
      }
      throw e;
    }
  });
}

const signInUrl = () => `${srv.url}/o/${acme.orgId}/sign-in`;
const token = (p) => p.page.evaluate((org) => JSON.parse(sessionStorage.getItem(`latchkey.session.${org}`) || 'null')?.token, acme.orgId);
const heading = (p, name) => p.page.getByRole('heading', { name, exact: true });
const message = (p) => p.page.locator('.message:not([hidden])').first();

/**
 * Waits until the username field's autofill request is live in the browser.
 * Nobody touches an authenticator until then, so it stays pending (a
 * virtual authenticator would otherwise answer it at once).
 */
async function autofillPending(p) {
  await heading(p, 'Sign in to Acme').waitFor();
  await p.page.locator('input[name=username][data-autofill=waiting]').waitFor();
  await p.page.waitForTimeout(150); // the browser's own dispatch of the request
}

async function openSignIn(p) {
  await p.only();
  await p.page.goto(signInUrl());
  await autofillPending(p);
}

async function signOut(p) {
  await p.only();
  await p.page.click('#sign-out');
  await autofillPending(p);
}

before(async () => {
  srv = await startServer();
  acme = await srv.createOrg('Acme', 'alice@acme.example', 'Alice Martin');
  alice = await person('alice');
  people.push(alice);
  A = await alice.addAuthenticator({ transport: 'internal', synced: true });
});

after(async () => {
  for (const p of people) await p.close().catch(() => {});
  await srv?.stop();
});

test('the home page asks for an organisation and opens its sign-in page', async () => {
  const { page } = alice;
  await alice.only();
  await page.goto(`${srv.url}/`);
  await heading(alice, 'Sign in to your organisation').waitFor();
  await shot(page, 'home');
  await page.fill('input[name=org]', 'not-an-org');
  await page.click('button[type=submit]');
  await message(alice).getByText('Enter an organisation id').waitFor();
  await page.fill('input[name=org]', acme.orgId);
  await page.click('button[type=submit]');
  await heading(alice, 'Sign in to Acme').waitFor();
  // Before the super admin enrols, nobody can sign in.
  await message(alice).getByText('Passkeys are not active for Acme yet').waitFor();
  assert.equal(await page.isDisabled('#sign-in-passkey'), true);
});

test('the super admin enrols through the link: activation step first, then the passkey', async () => {
  const { page } = alice;
  await alice.only(A);
  await page.goto(acme.enrolmentLink);
  await heading(alice, 'Activate passkeys for Acme').waitFor();
  await page.getByText('Inactive', { exact: true }).waitFor();
  await page.locator('dd code', { hasText: 'localhost' }).first().waitFor();
  await page.locator('dd code', { hasText: srv.url }).waitFor();
  await shot(page, 'enroll-activation');
  await page.click('#activation-continue');
  await heading(alice, 'Create your passkey').waitFor();
  await page.fill('input[name=name]', 'Work laptop');
  await shot(page, 'enroll-create');
  await page.click('#create-passkey');
  await heading(alice, 'Your passkey is ready').waitFor();
  await page.locator('#activated').getByText('Passkeys are now active for Acme.').waitFor();
  assert.equal((await page.textContent('#passkey-kind')).trim(), 'Synced');
  await page.getByText('Add a second passkey.').waitFor();
  await shot(page, 'enroll-done');
  const org = await srv.api('GET', `/api/v1/organizations/${acme.orgId}`);
  assert.equal(org.json.passkeyStatus, 'active');
  // The link is single use.
  await alice.only();
  await page.goto(acme.enrolmentLink);
  await heading(alice, 'This link has been used').waitFor();
});

test('signs in with a username', async () => {
  const { page } = alice;
  await openSignIn(alice);
  await page.fill('input[name=username]', 'alice@acme.example');
  await shot(page, 'sign-in');
  await alice.only(A);
  await page.click('#sign-in-username');
  await heading(alice, 'My passkeys').waitFor();
  await message(alice).getByText('Welcome, Alice Martin.').waitFor();
  await page.locator('.passkey', { hasText: 'Work laptop' }).getByText('Used for this session').waitFor();
  await page.locator('#single-passkey-advice').waitFor();
  await shot(page, 'passkeys-one');
});

test('signing out ends the session server-side', async () => {
  const before = await token(alice);
  const ok = await srv.api('GET', `/api/v1/organizations/${acme.orgId}/webauthn/credentials`, { token: before });
  assert.equal(ok.status, 200);
  await signOut(alice);
  await message(alice).getByText('You are signed out.').waitFor();
  assert.equal(await token(alice), undefined);
  const after = await srv.api('GET', `/api/v1/organizations/${acme.orgId}/webauthn/credentials`, { token: before });
  assert.equal(after.status, 401);
  assert.equal(after.json.error.code, 'session_revoked');
});

test('signs in through the username field’s autofill (conditional UI)', async () => {
  const { page } = alice;
  // The virtual authenticator answers the conditional request as a person picking the passkey would.
  await alice.only(A);
  await page.goto(signInUrl());
  await heading(alice, 'My passkeys').waitFor();
  await signOut(alice);
});

test('signs in without a username (“Sign in with a passkey”)', async () => {
  const { page } = alice;
  await openSignIn(alice);
  await alice.only(A);
  await page.click('#sign-in-passkey');
  await heading(alice, 'My passkeys').waitFor();
});

test('adds a security key as a second passkey and signs in with it', async () => {
  const { page } = alice;
  B = await alice.addAuthenticator({ transport: 'usb' });
  await alice.only(B);
  await page.click('#add-passkey');
  await page.fill('dialog input[name=name]', 'YubiKey 5C');
  await shot(page, 'passkeys-add');
  await page.click('dialog button[type=submit]');
  await message(alice).getByText('Added “YubiKey 5C”. It is bound to that device or security key').waitFor();
  await page.locator('.passkey').nth(1).waitFor();
  assert.equal(await page.locator('.passkey').count(), 2);
  await page.locator('.passkey', { hasText: 'YubiKey 5C' }).getByText('Device-bound').waitFor();
  assert.equal(await page.locator('#single-passkey-advice').count(), 0);
  assert.equal((await alice.credentials(B)).length, 1);

  await signOut(alice);
  await alice.only(B);
  await page.click('#sign-in-passkey');
  await heading(alice, 'My passkeys').waitFor();
  await page.locator('.passkey', { hasText: 'YubiKey 5C' }).getByText('Used for this session').waitFor();
  await shot(page, 'passkeys');
});

test('renames a passkey', async () => {
  const { page } = alice;
  await page.getByRole('button', { name: 'Rename Work laptop' }).click();
  await page.fill('dialog input[name=name]', 'MacBook Touch ID');
  await shot(page, 'passkeys-rename');
  await page.click('dialog button[type=submit]');
  await message(alice).getByText('Renamed to “MacBook Touch ID”.').waitFor();
  await page.locator('.passkey__label', { hasText: 'MacBook Touch ID' }).waitFor();
});

test('deletes a passkey, and explains why the last one cannot be deleted', async () => {
  const { page } = alice;
  await page.getByRole('button', { name: 'Delete MacBook Touch ID' }).click();
  await heading(alice, 'Delete “MacBook Touch ID”?').waitFor();
  await shot(page, 'passkeys-delete');
  await page.click('dialog button[type=submit]');
  await message(alice).getByText('Deleted “MacBook Touch ID”.').waitFor();
  await page.locator('#single-passkey-advice').waitFor();
  assert.equal(await page.locator('.passkey').count(), 1);

  await page.getByRole('button', { name: 'Delete YubiKey 5C' }).click();
  await heading(alice, 'This is your only passkey').waitFor();
  await page.getByText('Add another passkey first').waitFor();
  await shot(page, 'passkeys-last');
  await page.click('dialog button[type=submit]');
  // And the server itself refuses it with last_credential.
  const list = await srv.api('GET', `/api/v1/organizations/${acme.orgId}/webauthn/credentials`, { token: await token(alice) });
  const id = list.json.items[0].credentialId;
  const del = await srv.api('DELETE', `/api/v1/organizations/${acme.orgId}/webauthn/credentials/${id}`, { token: await token(alice) });
  assert.equal(del.json.error.code, 'last_credential');
});

test('explains a cancelled passkey dialog and an unknown passkey', async () => {
  const { page } = alice;
  await signOut(alice);
  // The user dismisses the prompt: the authenticator fails user verification.
  await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: B, isUserVerified: false });
  await alice.only(B);
  await page.click('#sign-in-passkey');
  await message(alice).getByText('The passkey request was cancelled or timed out').waitFor();
  // Nobody answers the autofill request the page re-arms while B is repaired.
  await alice.only();
  await alice.cdp.send('WebAuthn.setUserVerified', { authenticatorId: B, isUserVerified: true });

  // The platform authenticator still holds the passkey deleted above.
  await openSignIn(alice);
  assert.equal((await alice.credentials(A)).length, 1);
  await alice.only(A);
  await page.click('#sign-in-passkey');
  await message(alice).getByText('That passkey is not registered with Acme').waitFor();
  await shot(page, 'sign-in-error');
  // The console tells the passkey provider to forget it (WebAuthn signal API).
  if (await page.evaluate(() => typeof PublicKeyCredential.signalUnknownCredential === 'function')) {
    for (let i = 0; i < 20 && (await alice.credentials(A)).length > 0; i++) await page.waitForTimeout(100);
    assert.equal((await alice.credentials(A)).length, 0);
  }
  await openSignIn(alice);
});

test('an admin invites a user with a copyable link; the user enrols in their own browser', async () => {
  const { page } = alice;
  await alice.only(B);
  await page.fill('input[name=username]', 'alice@acme.example');
  await page.click('#sign-in-username');
  await heading(alice, 'My passkeys').waitFor();
  await page.getByRole('link', { name: 'Users' }).click();
  await heading(alice, 'Users').waitFor();
  await shot(page, 'users-one');

  await page.click('#invite-user');
  await page.fill('dialog input[name=username]', 'bob@acme.example');
  await page.fill('dialog input[name=displayName]', 'Bob Stone');
  await page.selectOption('dialog select[name=role]', 'approver');
  await shot(page, 'users-invite');
  await page.click('dialog button[type=submit]');
  await heading(alice, 'Invitation for bob@acme.example').waitFor();
  const link = await page.inputValue('#invitation-link');
  assert.match(link, new RegExp(`^${srv.url}/enroll\\?org=${acme.orgId}&token=`));
  await page.click('#copy-invitation');
  await page.locator('.invitation [role=status]', { hasText: /Copied|Select the link/ }).waitFor();
  await page.locator('.user', { hasText: 'bob@acme.example' }).getByText('Invited').waitFor();
  await shot(page, 'users-invited');
  invitation = link;

  bob = await person('bob');
  people.push(bob);
  const C = await bob.addAuthenticator({ transport: 'internal' });
  await bob.only(C);
  await bob.page.goto(invitation);
  await heading(bob, 'Create your passkey').waitFor();
  await bob.page.getByText('You were invited to Acme as Approver (Bob Stone · bob@acme.example)').waitFor();
  assert.equal(await bob.page.locator('#activation-continue').count(), 0);
  await shot(bob.page, 'enroll-invited');
  await bob.page.click('#create-passkey');
  await heading(bob, 'Your passkey is ready').waitFor();
  assert.equal((await bob.page.textContent('#passkey-kind')).trim(), 'Device-bound');
  await shot(bob.page, 'enroll-done-device-bound');
  await bob.page.click('#enrolled-sign-in');
  await heading(bob, 'My passkeys').waitFor();
  // A member sees no admin pages.
  assert.equal(await bob.page.getByRole('link', { name: 'Users' }).count(), 0);
  await bob.page.goto(`${srv.url}/o/${acme.orgId}/settings`);
  await heading(bob, 'Admins only').waitFor();
});

test('an invitee of an organisation that is not active yet sees that activation is pending', async () => {
  const globex = await srv.createOrg('Globex', 'gina@globex.example');
  const inv = await srv.invite(globex.orgId, 'hank@globex.example');
  await bob.page.goto(inv.link);
  await heading(bob, 'Globex is not using passkeys yet').waitFor();
  await bob.page.getByText('Activation pending').waitFor();
  await shot(bob.page, 'enroll-pending');
});

test('an admin suspends and reactivates a user, and removes their last passkey with the override', async () => {
  const { page } = alice;
  await page.reload();
  const row = page.locator('.user', { hasText: 'bob@acme.example' });
  await row.getByText('Active').waitFor();
  await page.getByRole('button', { name: 'Suspend bob@acme.example' }).click();
  await heading(alice, 'Suspend Bob Stone?').waitFor();
  await page.click('dialog button[type=submit]');
  await row.getByText('Suspended').waitFor();
  await message(alice).getByText('Bob Stone is suspended.').waitFor();
  await shot(page, 'users');

  // Bob's next request finds his session over.
  await bob.only();
  await bob.page.goto(`${srv.url}/o/${acme.orgId}/passkeys`);
  await autofillPending(bob);
  await message(bob).getByText('Your session has ended').waitFor();
  await bob.only(bob.authenticators[0]);
  await bob.page.click('#sign-in-passkey');
  await message(bob).getByText('Your account is suspended. Ask an admin of Acme to reactivate it.').waitFor();
  await shot(bob.page, 'sign-in-suspended');

  await page.getByRole('button', { name: 'Reactivate bob@acme.example' }).click();
  await page.click('dialog button[type=submit]');
  await row.getByText('Active').waitFor();

  await row.locator('summary').click();
  await page.getByRole('button', { name: /^Remove .* of bob@acme\.example$/ }).click();
  await heading(alice, 'Remove Bob Stone’s only passkey?').waitFor();
  await page.getByText('This is their last passkey.').waitFor();
  await shot(page, 'users-remove-last');
  await page.click('dialog button[type=submit]');
  await message(alice).getByText(/^Removed “.*” from Bob Stone\.$/).waitFor();
  await row.getByText('No passkeys').waitFor();
});

test('an admin changes the organisation settings', async () => {
  const { page } = alice;
  await page.getByRole('link', { name: 'Settings' }).click();
  await heading(alice, 'Settings').waitFor();
  await page.locator('#passkey-status').getByText('Active').waitFor();
  await shot(page, 'settings');
  await page.fill('input[name=sessionTtlSecs]', '5');
  await page.click('#save-settings');
  await message(alice).getByText('Nothing was saved: sessionTtlSecs must be between 60').waitFor();
  await page.fill('input[name=sessionTtlSecs]', '3600');
  await page.fill('input[name=rpName]', 'Acme Corp');
  await page.click('#save-settings');
  await message(alice).getByText('Settings saved.').waitFor();
  const s = await srv.api('GET', `/api/v1/organizations/${acme.orgId}/settings`, { token: await token(alice) });
  assert.equal(s.json.sessionTtlSecs, 3600);
  assert.equal(s.json.rpName, 'Acme Corp');
  assert.equal(s.json.rpId, 'localhost');
});

test('signs out from the console', async () => {
  const before = await token(alice);
  await signOut(alice);
  const after = await srv.api('POST', `/api/v1/organizations/${acme.orgId}/sessions/logout`, { token: before });
  assert.equal(after.status, 401);
});

test('no page logged an error', () => {
  const errors = people.flatMap((p) => p.errors);
  assert.deepEqual(errors, []);
});
