// Drives the panel in headless Debian Chromium the way a person would: signs in, watches the
// live numbers, opens a stream, exports a CSV, switches the theme and visits every main screen.
// Fails on any request to another origin, any console error (CSP violations included) and any
// error notice on screen. Screenshots go to target/screenshots/ for people to look at.
//
//   TALLY_URL=http://127.0.0.1:8080 TALLY_EMAIL=… TALLY_PASSWORD=… node tests/browser/run.mjs

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const shots = resolve(here, '../../target/screenshots');
mkdirSync(shots, { recursive: true });

const base = (process.env.TALLY_URL ?? '').replace(/\/+$/, '');
const email = process.env.TALLY_EMAIL ?? '';
const password = process.env.TALLY_PASSWORD ?? '';
if (!base || !email || !password) {
  console.error('Set TALLY_URL, TALLY_EMAIL and TALLY_PASSWORD.');
  process.exit(2);
}
const origin = new URL(base).origin;

const results = [];
const foreign = [];
const consoleErrors = [];
const apiStatus = [];
/** HTTP errors a step provokes on purpose (path → status), so the browser's log of them is expected. */
const expectedHttpErrors = new Map([['/api/v1/privacy-notice', 404]]);

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL - ${name}: ${String(e?.message ?? e).split('\n')[0]}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const context = await browser.newContext({
  viewport: { width: 1400, height: 900 },
  acceptDownloads: true,
  colorScheme: 'light',
  locale: 'en-GB',
  timezoneId: 'Europe/London',
});

context.on('request', (req) => {
  const url = req.url();
  if (url.startsWith('data:') || url.startsWith('blob:')) return;
  if (new URL(url).origin !== origin) foreign.push(url);
});
context.on('response', (res) => {
  const url = new URL(res.url());
  if (url.pathname.startsWith('/api/')) apiStatus.push({ path: url.pathname, status: res.status() });
});
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
  });
});

const page = await context.newPage();
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const text = msg.text();
  const where = msg.location()?.url ?? '';
  if (text.startsWith('Failed to load resource') && where) {
    const path = new URL(where).pathname;
    const status = Number(/status of (\d+)/.exec(text)?.[1]);
    if (expectedHttpErrors.get(path) === status) return;
  }
  consoleErrors.push(`${text} (${where})`);
});
page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));

async function shot(name) {
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Waits for the screen's data, then fails if any card shows an error. */
async function settled() {
  await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => {});
  await page.waitForFunction(() => !document.querySelector('.skeleton'), null, { timeout: 15_000 }).catch(() => {});
  const errors = await page.locator('.notice-error').allInnerTexts();
  assert(errors.length === 0, `error shown on ${page.url()}: ${errors.join(' | ')}`);
}

/** A link in the main navigation (the sidebar, or the drawer on phones). */
function nav(name) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

async function heading(text) {
  await page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: 15_000 });
}

let streamHref = null;

await check('signed out, any path leads to the branded sign-in page', async () => {
  await page.goto(`${base}/reports/daily`);
  await page.waitForURL(/\/login\?next=/);
  await page.getByLabel('Email').waitFor();
  assert((await page.title()).length > 0, 'empty title');
  const meta = await page.locator('meta[name="tally-branding"]').getAttribute('content');
  assert(meta && JSON.parse(meta).product_name, 'no branding meta tag in index.html');
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  assert(icon, 'no favicon link');
  await shot('01-login');
});

await check('a wrong password is reported inline', async () => {
  expectedHttpErrors.set('/api/v1/auth/login', 401);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(`${password}-wrong`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /do not match/ }).waitFor();
  expectedHttpErrors.delete('/api/v1/auth/login');
  await shot('02-login-error');
});

await check('signing in opens the page that was asked for', async () => {
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/reports\/daily$/);
  await heading(/Reports/);
});

await check('overview shows live numbers that refresh', async () => {
  await nav('Overview').click();
  await heading('Overview');
  const viewers = page.getByTestId('live-viewers');
  await page.waitForFunction(
    () => /\d/.test(document.querySelector('[data-testid="live-viewers"]')?.textContent ?? ''),
    null,
    { timeout: 15_000 },
  );
  const before = apiStatus.filter((r) => r.path === '/api/v1/live').length;
  await page.waitForTimeout(5_600);
  const after = apiStatus.filter((r) => r.path === '/api/v1/live').length;
  assert(after > before, 'live numbers were not refreshed within 5 s');
  assert(/\d/.test(await viewers.innerText()), 'no live viewer count');
  assert(/\d/.test(await page.getByTestId('live-bandwidth').innerText()), 'no live bandwidth');
  await settled();
  await page.locator('.world-map svg path').first().waitFor();
  await shot('03-overview');
});

await check('servers list their state, and a new one gets a token and agent command', async () => {
  await nav('Servers').click();
  await heading('Servers');
  await settled();
  await page.getByRole('button', { name: 'Add server' }).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Server name').fill(`browser-${Date.now()}`);
  await dialog.getByRole('button', { name: 'Create server' }).click();
  const token = await dialog.getByLabel('Ingest token', { exact: true }).inputValue();
  assert(token.length >= 16, 'no ingest token shown');
  const command = await dialog.getByLabel('Run on the media server', { exact: true }).inputValue();
  assert(
    command.startsWith(`tally agent --panel ${origin} --token ${token} --source nginx-rtmp=`),
    `unexpected agent command: ${command}`,
  );
  await shot('04-add-server');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('row').nth(1).waitFor();
  await shot('05-servers');
});

await check('streams can be searched by regular expression', async () => {
  await nav('Streams').click();
  await heading('Streams');
  await settled();
  const search = page.getByLabel('Search streams');
  await search.fill('(');
  await page.getByText('Not a valid regular expression').waitFor();
  await search.fill('.');
  await page.waitForTimeout(500);
  await settled();
  const link = page.locator('table a.stream-link').first();
  await link.waitFor({ timeout: 15_000 });
  streamHref = await link.getAttribute('href');
  await shot('06-streams');
});

await check('a stream page shows its time series and breakdowns', async () => {
  assert(streamHref, 'no stream to open');
  await page.locator(`table a.stream-link[href="${streamHref}"]`).first().click();
  await page.waitForURL((u) => u.pathname === streamHref);
  await page.locator('.chart canvas').first().waitFor();
  await settled();
  for (const title of ['Protocols', 'How long people watch', 'Where viewers are', 'Players and devices']) {
    await page.getByRole('heading', { name: title }).waitFor();
  }
  await page.getByRole('button', { name: 'Bandwidth' }).first().click();
  await settled();
  await shot('07-stream');
});

await check('a deep link to a stream page loads directly', async () => {
  await page.goto(`${base}${streamHref}`);
  await page.locator('.chart canvas').first().waitFor();
  await settled();
});

await check('CSV export downloads the report rows', async () => {
  await page.goto(`${base}/reports/daily?range=7d`);
  await heading(/Daily/);
  await settled();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: /CSV/ }).first().click(),
  ]);
  const file = join(shots, 'daily.csv');
  await download.saveAs(file);
  const text = readFileSync(file, 'utf8');
  const lines = text.trim().split(/\r?\n/);
  assert(lines.length >= 2 && lines[0].includes(','), `not a CSV: ${text.slice(0, 120)}`);
  await shot('08-report-daily');
});

for (const [tab, title] of [
  ['billing', 'Billing'],
  ['geo', 'Geography'],
  ['asn', 'Networks'],
  ['unique', 'Unique viewers'],
]) {
  await check(`report "${title}" renders`, async () => {
    await page.getByRole('link', { name: title, exact: true }).click();
    await page.waitForURL(new RegExp(`/reports/${tab}`));
    await heading(new RegExp(title));
    await settled();
    await shot(`09-report-${tab}`);
  });
}

await check('the date range and time zone can be changed', async () => {
  await page.getByRole('button', { name: 'Yesterday' }).click();
  await page.waitForURL(/range=yesterday/);
  await settled();
  await page.getByRole('button', { name: 'Custom' }).click();
  await page.getByLabel('From').fill('2026-01-01');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/range=custom/);
  await settled();
  await page.getByLabel('Time zone').selectOption('UTC');
  await settled();
  await page.getByRole('button', { name: '7 days' }).click();
});

await check('the theme switches, and the choice is remembered', async () => {
  const before = await page.evaluate(() => document.documentElement.dataset.theme);
  await page.getByRole('button', { name: /Switch to (dark|light) theme/ }).first().click();
  const after = await page.evaluate(() => document.documentElement.dataset.theme);
  assert(after && after !== before, `theme did not change (${before} → ${after})`);
  await page.goto(`${base}/`);
  await heading('Overview');
  const reloaded = await page.evaluate(() => document.documentElement.dataset.theme);
  assert(reloaded === after, 'theme not remembered after reload');
  await settled();
  await shot(`10-overview-${after}`);
});

await check('the privacy notice page renders', async () => {
  await page.getByRole('link', { name: 'Privacy notice' }).click();
  await heading('Privacy notice');
  await settled();
  await shot('11-privacy');
});

await check('unknown paths show a not-found screen', async () => {
  await page.goto(`${base}/no/such/page`);
  await heading('Page not found');
});

await check('API tokens can be created (shown once) and revoked', async () => {
  await nav('API tokens').click();
  await heading('API tokens');
  await settled();
  await page.getByRole('button', { name: 'Create token' }).first().click();
  const dialog = page.getByRole('dialog');
  const name = `browser-${Date.now()}`;
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByLabel('Scope').selectOption('write');
  await dialog.getByRole('button', { name: 'Create token' }).click();
  const token = await dialog.getByLabel('Token', { exact: true }).inputValue();
  assert(token.startsWith('tly_'), `unexpected token: ${token}`);
  await shot('20-token-created');
  await dialog.getByRole('button', { name: 'Done' }).click();
  const row = page.getByRole('row', { name: new RegExp(name) });
  await row.waitFor();
  await shot('21-tokens');
  await page.getByRole('button', { name: `Revoke ${name}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
  await row.waitFor({ state: 'detached' });
  await settled();
});

await check('users can be added, re-roled and removed; an invitation link signs a new user in', async () => {
  await nav('Users').click();
  await heading('Users');
  await settled();
  const email = `user-${Date.now()}@example.com`;
  await page.getByRole('button', { name: 'Add user' }).first().click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel('Email').fill(email);
  await dialog.getByLabel('Password').fill('correct horse battery');
  await dialog.getByLabel('Role').selectOption('viewer');
  await dialog.getByRole('button', { name: 'Add user' }).click();
  const role = page.getByLabel(`Role of ${email}`);
  await role.waitFor();
  await role.selectOption('admin');
  await page.waitForResponse((r) => r.url().includes('/users') && r.request().method() === 'GET');
  await settled();
  assert((await role.inputValue()) === 'admin', 'role change not kept');
  await shot('22-users');
  await page.getByRole('button', { name: `Remove ${email}` }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove user' }).click();
  await role.waitFor({ state: 'detached' });

  const invited = `invited-${Date.now()}@example.com`;
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Email').fill(invited);
  await dialog.getByRole('button', { name: 'Invite', exact: true }).click();
  const link = await dialog.getByLabel('Invitation link', { exact: true }).inputValue();
  assert(link.startsWith(`${origin}/invite/`), `unexpected invitation link: ${link}`);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('row', { name: new RegExp(invited) }).waitFor();
  await shot('23-invitations');

  const guest = await browser.newContext({ viewport: { width: 360, height: 780 }, locale: 'en-GB' });
  try {
    const p = await guest.newPage();
    await p.goto(link);
    await p.getByRole('heading', { level: 1, name: 'Join the panel' }).waitFor();
    await p.getByLabel('Password').fill('another long password');
    await p.screenshot({ path: join(shots, '24-invite-accept.png'), fullPage: true });
    await p.getByRole('button', { name: 'Accept and sign in' }).click();
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor({ timeout: 15_000 });
  } finally {
    await guest.close();
  }
  await page.reload();
  await settled();
  assert((await page.getByRole('row', { name: new RegExp(invited) }).count()) >= 1, 'accepted user not listed');
});

await check('branding: colours preview live, save, and a logo uploads and is removed', async () => {
  await nav('Branding').click();
  await heading('Branding');
  await settled();
  await page.getByRole('textbox', { name: 'Accent colour', exact: true }).fill('#0a7d4f');
  const mark = page.locator('.brand-preview-frame');
  const accent = await mark.evaluate((el) => getComputedStyle(el).getPropertyValue('--preview-accent').trim());
  assert(accent === '#0a7d4f', `preview accent not applied: ${accent}`);
  await page.getByRole('button', { name: 'Save branding' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  const png = Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    'base64',
  );
  await page.getByLabel('Logo').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
  await page.locator('.brand-preview-logo').waitFor();
  await shot('25-branding');
  await page.getByRole('button', { name: 'Remove logo' }).click();
  await page.locator('.brand-preview-logo').waitFor({ state: 'detached' });
  await page.getByRole('textbox', { name: 'Accent colour', exact: true }).fill('');
  await page.getByRole('button', { name: 'Save branding' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await settled();
});

await check('retention periods preview and save; exports download', async () => {
  await nav('Data retention').click();
  await heading('Data retention');
  await settled();
  const minute = page.getByLabel('minute: days kept', { exact: true });
  await minute.fill('7');
  await page.getByRole('button', { name: 'Preview the effect' }).click();
  await page.getByText('The next retention run would delete:').waitFor();
  await page.getByRole('button', { name: 'Save periods' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await page.reload();
  await settled();
  assert((await page.getByLabel('minute: days kept', { exact: true }).inputValue()) === '7', 'retention not saved');
  await shot('26-retention');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export my data' }).click(),
  ]);
  const body = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert(body.user?.email === email, 'personal export lacks the user');
});

await check('on a 360 px phone nothing overflows and the menu opens', async () => {
  await page.setViewportSize({ width: 360, height: 780 });
  for (const path of ['/', '/servers', '/streams', '/reports/billing', streamHref]) {
    await page.goto(`${base}${path}`);
    await page.locator('h1').first().waitFor();
    await settled();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 360, `${path} is ${width}px wide`);
  }
  await page.goto(`${base}/`);
  await settled();
  await shot('12-phone-overview');
  await page.getByRole('button', { name: 'Menu' }).click();
  await nav('Reports').click();
  await heading(/Reports/);
  await page.setViewportSize({ width: 1400, height: 900 });
});

await check('every screen can be reached from the keyboard', async () => {
  await page.goto(`${base}/`);
  await heading('Overview');
  await page.keyboard.press('Tab');
  const skip = await page.evaluate(() => document.activeElement?.textContent);
  assert(skip === 'Skip to content', `first tab stop is "${skip}"`);
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const hasLabel = el.labels?.length || el.getAttribute('aria-label') || el.textContent?.trim();
        return !hasLabel && el.getAttribute('type') !== 'hidden';
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert(unlabelled.length === 0, `unlabelled controls: ${unlabelled.join(', ')}`);
});

await check('signing out returns to the sign-in page', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
  await page.getByLabel('Email').waitFor();
  await page.goto(`${base}/servers`);
  await page.waitForURL(/\/login\?next=/);
});

await check('no request left the panel origin', async () => {
  assert(foreign.length === 0, `requests to other origins: ${[...new Set(foreign)].join(', ')}`);
});

await check('no console errors or CSP violations', async () => {
  assert(consoleErrors.length === 0, consoleErrors.join(' | '));
});

await browser.close();

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`screenshots: ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
