// Drives the panel in headless Debian Chromium the way a person would: signs in, watches the
// live numbers, opens a stream, exports a CSV, switches the theme and visits every main screen.
// Fails on any request to another origin, any console error (CSP violations included) and any
// error notice on screen. Screenshots go to target/screenshots/ for people to look at.
//
//   TALLY_URL=http://127.0.0.1:8080 TALLY_EMAIL=… TALLY_PASSWORD=… node tests/browser/run.mjs

import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
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

/** Calls the API as the operator, with a bearer token (no cookie, so no Origin needed). */
let bearer = null;
async function apiLogin(user, pass, agent = 'tally-browser-test') {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'User-Agent': agent },
    body: JSON.stringify({ email: user, password: pass }),
  });
  assert(res.ok, `API login: ${res.status}`);
  return (await res.json()).token;
}
async function api(method, path, body) {
  bearer ??= await apiLogin(email, password);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${bearer}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.status === 204 ? null : res.json();
}
const me = await api('GET', '/api/v1/me');

async function signIn(p, user, pass) {
  await p.goto(`${base}/login`);
  await p.getByLabel('Email').fill(user);
  await p.getByLabel('Password').fill(pass);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor({ timeout: 15_000 });
}

/** A local webhook receiver for alert notifications (the panel posts to it, not the browser). */
const receiver = await new Promise((resolveReceiver) => {
  const requests = [];
  const srv = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      requests.push({ body: data, signature: req.headers['x-tally-signature'] ?? null });
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    });
  });
  srv.listen(0, '127.0.0.1', () =>
    resolveReceiver({ url: `http://127.0.0.1:${srv.address().port}/hook`, requests, close: () => srv.close() }),
  );
});

let streamHref = null;
let addedServer = null;

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
  addedServer = `browser-${Date.now()}`;
  await dialog.getByLabel('Server name').fill(addedServer);
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

await check('a server gets notification URLs that work, and turning them off stops them', async () => {
  assert(addedServer, 'no server was added');
  await page.getByRole('button', { name: `Notification URLs of ${addedServer}` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByTestId('hooks-state').filter({ hasText: /^Off/ }).waitFor();
  await dialog.getByRole('button', { name: 'Turn on' }).click();
  const url = await dialog.getByLabel('nginx-rtmp URL', { exact: true }).inputValue();
  assert(new RegExp(`^${origin}/hooks/v1/ths_[A-Za-z0-9_-]+/nginx-rtmp$`).test(url), `unexpected URL: ${url}`);
  const config = await dialog.getByLabel(/^nginx-rtmp: inside/).inputValue();
  assert(config.includes(`on_play         ${url};`), `the nginx-rtmp configuration lacks the URL: ${config}`);
  const srs = await dialog.getByLabel('SRS URL', { exact: true }).inputValue();
  assert(srs === url.replace(/nginx-rtmp$/, 'srs'), `unexpected SRS URL: ${srs}`);
  const notify = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'call=connect&app=live&addr=127.0.0.1&epoch=1',
    });
  const accepted = await notify();
  assert(accepted.status === 200, `the new URL answered ${accepted.status}`);
  await shot('05b-hooks');
  await dialog.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('button', { name: `Notification URLs of ${addedServer}` }).click();
  await dialog.getByTestId('hooks-state').filter({ hasText: /^On since/ }).waitFor();
  await dialog.getByRole('button', { name: 'Turn off', exact: true }).click();
  await dialog.getByRole('button', { name: 'Turn off notifications' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const refused = await notify();
  assert(refused.status === 404, `the URL still answered ${refused.status} after turning it off`);
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
  // The preview re-renders after the input event; wait for it rather than read at once.
  await mark
    .evaluate(
      (el, want) =>
        new Promise((done) => {
          const t0 = Date.now();
          const poll = () => {
            const got = getComputedStyle(el).getPropertyValue('--preview-accent').trim();
            if (got === want || Date.now() - t0 > 5000) done(got);
            else requestAnimationFrame(poll);
          };
          poll();
        }),
      '#0a7d4f',
    )
    .catch(() => {});
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

await check('retention: what each class holds, a change previewed, saved; the account export downloads', async () => {
  await nav('Data retention').click();
  await heading('Data retention');
  await settled();
  await page.getByText(/Per-minute statistics per server/).waitFor();
  const minute = page.getByLabel('Minute statistics: days kept', { exact: true });
  await minute.fill('99');
  await page.getByRole('button', { name: 'Preview the effect' }).click();
  await page.getByRole('alert').filter({ hasText: /at most 14/ }).waitFor();
  assert((await minute.getAttribute('aria-invalid')) === 'true', 'the field in error is not marked');
  await minute.fill('7');
  await page.getByRole('button', { name: 'Preview the effect' }).click();
  await page.getByText('The next retention run would delete:').waitFor();
  await page.getByText(/Not counted in the preview: Activity log, Alert history/).waitFor();
  // Shortening a period asks again, with what it deletes, before saving.
  await page.getByRole('button', { name: 'Save periods' }).click();
  const confirm = page.getByRole('dialog', { name: 'Shorten the retention periods?' });
  await confirm.getByText('The next retention run would delete:').waitFor();
  await shot('26-retention-confirm');
  await confirm.getByRole('button', { name: 'Save and delete' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await page.reload();
  await settled();
  assert((await page.getByLabel('Minute statistics: days kept', { exact: true }).inputValue()) === '7', 'retention not saved');
  await shot('26-retention');
  // The operator also edits the instance values, which are every account's maxima.
  await page.getByRole('button', { name: 'Instance defaults' }).click();
  await page.getByRole('heading', { name: 'Instance retention periods' }).waitFor();
  await settled();
  assert(
    (await page.getByLabel('Minute statistics: days kept', { exact: true }).inputValue()) === '14',
    'instance value not shown',
  );
  await page.getByRole('button', { name: 'This account' }).click();
  await page.getByRole('heading', { name: 'Retention periods', exact: true }).waitFor();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export (JSON)' }).click(),
  ]);
  const body = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert(body.account?.id && Array.isArray(body.users), 'account export lacks the account');
  assert(body.settings?.retention?.minute_days === 7, 'account export lacks the retention settings');
});

await check('your account: sessions listed and ended, personal data exported', async () => {
  // A second session of the same user, as a script would start it.
  await apiLogin(email, password, 'nightly-report/1.0');
  await nav('Your account').click();
  await heading('Your account');
  await settled();
  const extra = page.getByRole('row').filter({ hasText: 'nightly-report/1.0' });
  await extra.waitFor();
  await page.getByText('This browser').waitFor();
  await shot('27-me');
  await extra.getByRole('button', { name: /End the session of nightly-report/ }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'End session' }).click();
  await extra.waitFor({ state: 'detached' });
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export my data' }).click(),
  ]);
  const body = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert(body.user?.email === email, 'personal export lacks the user');
  assert(Array.isArray(body.login_sessions), 'personal export lacks the sessions');
  await settled();
});

/** RFC 6238 code (SHA-1, 6 digits, 30 s) for a base32 key, `steps` steps from now. */
function totpCode(base32, steps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + steps));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

await check('two-step sign-in: turned on with a first code, then asked for at sign-in, then turned off', async () => {
  const user = `totp-${Date.now()}@example.com`;
  await api('POST', `/api/v1/accounts/${me.account.id}/users`, { email: user, password: 'totp password 12', role: 'viewer' });
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-GB' });
  try {
    const p = await ctx.newPage();
    await signIn(p, user, 'totp password 12');
    await p.goto(`${base}/me`);
    await p.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    await p.getByRole('button', { name: 'Turn on' }).click();
    const key = await p.getByLabel('Key', { exact: true }).inputValue();
    assert(/^[A-Z2-7]{16,}/.test(key.replace(/\s/g, '')), `key: ${key}`);
    await p.getByLabel('Code from the app').fill(totpCode(key));
    await p.getByRole('button', { name: 'Confirm and turn on' }).click();
    await p.getByRole('status').filter({ hasText: 'Two-step sign-in is on.' }).waitFor();
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.waitForURL(/\/login/);
    await p.getByLabel('Email').fill(user);
    await p.getByLabel('Password').fill('totp password 12');
    await p.getByRole('button', { name: 'Sign in' }).click();
    const code = p.getByLabel('Authentication code');
    await code.waitFor();
    await p.screenshot({ path: join(shots, '36-login-code.png'), fullPage: true });
    await code.fill(totpCode(key, 1));
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor({ timeout: 15_000 });
    await p.goto(`${base}/me`);
    await p.getByText(/^On: signing in needs/).waitFor();
    await p.getByRole('button', { name: 'Turn off' }).click();
    await p.getByRole('dialog').getByLabel('Your password').fill('totp password 12');
    await p.getByRole('dialog').getByRole('button', { name: 'Turn off' }).click();
    await p.getByText(/^Signing in needs only your password/).waitFor();
  } finally {
    await ctx.close();
  }
});

await check('a user corrects their profile, changes their password, then erases themself and is signed out', async () => {
  const gone = `erase-${Date.now()}@example.com`;
  await api('POST', `/api/v1/accounts/${me.account.id}/users`, { email: gone, password: 'a long enough password', role: 'viewer' });
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-GB' });
  try {
    const p = await ctx.newPage();
    await signIn(p, gone, 'a long enough password');
    await p.goto(`${base}/me`);
    await p.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    // Rectification: the name at once, the e-mail address only with the current password.
    await p.getByLabel('Name', { exact: true }).fill('Erin Example');
    await p.getByRole('button', { name: 'Save profile' }).click();
    await p.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
    await p.locator('.user-name').filter({ hasText: 'Erin Example' }).waitFor();
    const renamed = gone.replace('erase-', 'erin-');
    await p.getByLabel('Email', { exact: true }).fill(renamed);
    await p.getByRole('button', { name: 'Save profile' }).click();
    await p.getByText('Enter your current password to confirm the change.').waitFor();
    await p.getByLabel('Current password').fill('a long enough password');
    await p.getByRole('button', { name: 'Save profile' }).click();
    await p.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
    await p.getByLabel('Current password').fill('a long enough password');
    await p.getByLabel('New password').fill('another long password');
    await p.getByRole('button', { name: 'Change password' }).click();
    await p.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
    await p.screenshot({ path: join(shots, '27-me-profile.png'), fullPage: true });
    const users = await api('GET', `/api/v1/accounts/${me.account.id}/users`);
    assert(users.some((u) => u.email === renamed && u.name === 'Erin Example'), 'profile change not stored');
    await p.getByRole('button', { name: 'Erase me' }).click();
    await p.getByRole('dialog').getByText(/cannot be undone/).waitFor();
    await p.getByRole('dialog').getByRole('button', { name: 'Erase my user' }).click();
    await p.waitForURL(/\/login/);
    await p.getByLabel('Email').waitFor();
  } finally {
    await ctx.close();
  }
  const users = await api('GET', `/api/v1/accounts/${me.account.id}/users`);
  assert(!users.some((u) => u.email === gone.replace('erase-', 'erin-')), 'erased user still listed');
});

let brandAccount = null;

await check('accounts: create with a domain, rename, restrict processing, export, delete with typed confirmation', async () => {
  await nav('Accounts').click();
  await heading('Accounts');
  await settled();
  await page.getByRole('button', { name: 'Create account' }).first().click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Brand Customer');
  await dialog.getByLabel('Custom domains').fill('brand.test');
  await dialog.getByLabel('Time zone').selectOption('Europe/Berlin');
  await dialog.getByLabel('Most servers').fill('3');
  await dialog.getByRole('button', { name: 'Create account' }).click();
  await dialog.waitFor({ state: 'detached' }).catch(() => {});
  const row = page.getByRole('row', { name: /Brand Customer/ });
  await row.waitFor();
  assert((await row.innerText()).includes('brand.test'), 'domain not listed');
  assert((await row.innerText()).includes('0 of 3'), 'server limit not listed');
  brandAccount = (await api('GET', '/api/v1/accounts')).find((a) => a.name === 'Brand Customer');
  assert(brandAccount, 'account not created');
  assert(brandAccount.limits.max_servers === 3, 'server limit not stored');

  await page.getByRole('button', { name: 'Edit Brand Customer' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Brand Co');
  await dialog.getByLabel('Most users').fill('lots');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.getByText('A whole number, or empty for no limit.').waitFor();
  await dialog.getByLabel('Most users').fill('10');
  await dialog.getByLabel('Most servers').fill('');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('row', { name: /Brand Co/ }).waitFor();
  const limits = (await api('GET', `/api/v1/accounts/${brandAccount.id}`)).limits;
  assert(limits.max_servers === null && limits.max_users === 10, `limits stored as ${JSON.stringify(limits)}`);

  const restrict = page.getByRole('switch', { name: 'Restrict processing for Brand Co' });
  await restrict.check();
  await page.getByRole('row', { name: /Brand Co/ }).getByText('Restricted').waitFor();
  await page.waitForLoadState('networkidle');
  await settled();
  let stored = await api('GET', `/api/v1/accounts/${brandAccount.id}`);
  assert(stored.processing_restricted === true, 'restriction not stored');
  await shot('28-accounts');
  await restrict.uncheck();
  await page.getByRole('row', { name: /Brand Co/ }).getByText('Active').waitFor();
  await page.waitForLoadState('networkidle');
  await settled();
  stored = await api('GET', `/api/v1/accounts/${brandAccount.id}`);
  assert(stored.processing_restricted === false, 'restriction not lifted');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export Brand Co as JSON' }).click(),
  ]);
  const body = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert(body.account?.name === 'Brand Co', 'account export is of another account');

  await api('POST', '/api/v1/accounts', { name: 'Doomed Ltd' });
  await page.reload();
  await settled();
  await page.getByRole('button', { name: 'Delete Doomed Ltd' }).click();
  dialog = page.getByRole('dialog');
  const erase = dialog.getByRole('button', { name: 'Delete for good' });
  await dialog.getByLabel(/Type the account name/).fill('Doomed');
  assert(await erase.isDisabled(), 'delete possible without the exact name');
  await dialog.getByLabel(/Type the account name/).fill('Doomed Ltd');
  await shot('29-account-delete');
  await erase.click();
  await page.getByRole('row', { name: /Doomed Ltd/ }).waitFor({ state: 'detached' });
  await settled();
});

await check('the operator works in a customer account and comes back to their own', async () => {
  assert(brandAccount, 'no customer account');
  await nav('Accounts').click();
  await heading('Accounts');
  await settled();
  await page.getByRole('button', { name: 'Work in Brand Co' }).click();
  await page.getByTestId('acting').filter({ hasText: 'You are working in Brand Co' }).waitFor();
  await heading('Overview');
  await settled();
  await nav('Servers').click();
  await heading('Servers');
  await settled();
  await page.getByText('No server reports yet').waitFor();
  await page.getByRole('button', { name: 'Add server' }).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Server name').fill('brand-edge');
  await dialog.getByRole('button', { name: 'Create server' }).click();
  await dialog.getByLabel('Ingest token', { exact: true }).waitFor();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('row', { name: /brand-edge/ }).waitFor();
  await shot('28b-acting');
  // A reload stays in the account; the server was made there and nowhere else.
  await page.reload();
  await page.getByTestId('acting').waitFor();
  const theirs = await api('GET', `/api/v1/servers?account=${brandAccount.id}`);
  assert(theirs.map((s) => s.name).join() === 'brand-edge', `customer servers: ${theirs.map((s) => s.name)}`);
  const ours = await api('GET', '/api/v1/servers');
  assert(!ours.some((s) => s.name === 'brand-edge'), 'the server landed in the operator account');
  await page.getByRole('button', { name: 'Back to your account' }).click();
  await heading('Overview');
  assert((await page.getByTestId('acting').count()) === 0, 'still working in the customer account');
  await nav('Servers').click();
  await heading('Servers');
  await settled();
  assert((await page.getByRole('row', { name: /brand-edge/ }).count()) === 0, 'customer server listed in own account');
});

await check("the sign-in page on a customer's domain shows the customer's brand from the first paint", async () => {
  assert(brandAccount, 'no customer account');
  await api('PUT', `/api/v1/branding?account=${brandAccount.id}`, {
    product_name: 'Brandy Streams',
    accent_color: '#c2185b',
  });
  const port = new URL(base).port;
  const brandBase = `http://brand.test:${port}`;
  const mapped = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--host-resolver-rules=MAP brand.test 127.0.0.1'],
  });
  try {
    // Without scripts: what the server sends is what the first paint shows.
    const bare = await mapped.newContext({ javaScriptEnabled: false, locale: 'en-GB' });
    const raw = await bare.newPage();
    await raw.goto(`${brandBase}/login`);
    assert((await raw.title()) === 'Brandy Streams', `first-paint title: ${await raw.title()}`);
    const firstAccent = await raw.evaluate(() =>
      getComputedStyle(document.documentElement).getPropertyValue('--accent').trim(),
    );
    assert(firstAccent.toLowerCase() === '#c2185b', `first-paint accent: ${firstAccent}`);
    await bare.close();

    const ctx = await mapped.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-GB', colorScheme: 'light' });
    const p = await ctx.newPage();
    const foreignHere = [];
    ctx.on('request', (req) => {
      if (new URL(req.url()).origin !== brandBase) foreignHere.push(req.url());
    });
    await p.goto(`${brandBase}/`);
    await p.waitForURL(/\/login/);
    await p.getByLabel('Email').waitFor();
    assert((await p.locator('.brand-name').first().innerText()) === 'Brandy Streams', 'brand name not shown');
    assert(/Brandy Streams$/.test(await p.title()), `title: ${await p.title()}`);
    const button = await p
      .getByRole('button', { name: 'Sign in' })
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    assert(button === 'rgb(194, 24, 91)', `sign-in button colour: ${button}`);
    await p.screenshot({ path: join(shots, '30-brand-login.png'), fullPage: true });
    // Its public privacy notice is the customer's, rendered from Markdown.
    await p.getByRole('link', { name: 'Privacy notice' }).click();
    await p.getByRole('heading', { name: 'Privacy notice — Brandy Streams' }).waitFor();
    assert((await p.locator('.card-prose h2').count()) > 0, 'notice sections not rendered as headings');
    // The default host keeps the default brand.
    const plain = await (await browser.newContext()).newPage();
    await plain.goto(`${base}/login`);
    assert((await plain.title()) !== 'Brandy Streams', 'customer brand leaked to the default host');
    await plain.context().close();
    assert(foreignHere.length === 0, `requests to other origins: ${foreignHere.join(', ')}`);
    await ctx.close();
  } finally {
    await mapped.close();
  }
});

await check('slices: a bad pattern is caught, a slice is created with servers and patterns, then deleted', async () => {
  await nav('Slices').click();
  await heading('Slices');
  await settled();
  await page.getByRole('button', { name: 'Create slice' }).first().click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Sports');
  await dialog.getByRole('checkbox').first().check();
  await dialog.getByLabel('App pattern').fill('(');
  await dialog.getByRole('button', { name: 'Create slice' }).click();
  await dialog.getByText(/Not a valid regular expression/).waitFor();
  await dialog.getByLabel('App pattern').fill('^live$');
  await dialog.getByLabel('Stream pattern').fill('news|sport');
  await dialog.getByLabel('Time zone').selectOption('America/New_York');
  await dialog.getByRole('button', { name: 'Create slice' }).click();
  const row = page.getByRole('row', { name: /Sports/ });
  await row.waitFor();
  const text = await row.innerText();
  assert(text.includes('^live$') && text.includes('news|sport') && text.includes('America/New York'), `row: ${text}`);
  await settled();
  await shot('31-slices');

  // A viewer limited to the slice on the Users screen; the slice then cannot be deleted.
  const limited = `limited-${Date.now()}@example.com`;
  const user = await api('POST', `/api/v1/accounts/${me.account.id}/users`, {
    email: limited,
    password: 'limited password 1',
    role: 'viewer',
  });
  await nav('Users').click();
  await heading('Users');
  await settled();
  await page.getByRole('button', { name: `Limit ${limited} to slices` }).click();
  const limitDialog = page.getByRole('dialog');
  await limitDialog.getByLabel('Sports').check();
  await limitDialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('row', { name: new RegExp(limited) }).getByText('Sports').waitFor();
  const stored = await api('GET', `/api/v1/accounts/${me.account.id}/users`);
  const sports = (await api('GET', '/api/v1/slices')).find((x) => x.name === 'Sports');
  assert(stored.find((u) => u.email === limited)?.slices?.[0] === sports.id, 'slice limit not stored');

  // An invitation can carry the limit too.
  const invitee = `sliced-${Date.now()}@example.com`;
  await page.getByRole('button', { name: 'Invite', exact: true }).click();
  const invite = page.getByRole('dialog');
  await invite.getByLabel('Email').fill(invitee);
  await invite.getByLabel('Role').selectOption('billing');
  await invite.getByLabel('Sports').check();
  await invite.getByRole('button', { name: 'Invite', exact: true }).click();
  await invite.getByLabel('Invitation link', { exact: true }).waitFor();
  await invite.getByRole('button', { name: 'Done' }).click();
  const invitation = (await api('GET', '/api/v1/invitations')).find((i) => i.email === invitee);
  assert(invitation?.slices?.[0] === sports.id, 'invitation without the slice limit');
  await api('DELETE', `/api/v1/invitations/${invitation.id}`);

  await nav('Slices').click();
  await heading('Slices');
  await settled();
  expectedHttpErrors.set(`/api/v1/slices/${sports.id}`, 409);
  await page.getByRole('button', { name: 'Delete Sports' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete slice' }).click();
  await page.getByRole('dialog').getByRole('alert').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  expectedHttpErrors.delete(`/api/v1/slices/${sports.id}`);
  await api('DELETE', `/api/v1/accounts/${me.account.id}/users/${user.id}`);
  await page.getByRole('button', { name: 'Delete Sports' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete slice' }).click();
  await row.waitFor({ state: 'detached' });
});

await check('alerts: a webhook rule is created, tested, muted, edited and deleted; history shows the delivery', async () => {
  await nav('Alerts').click();
  await heading('Alert rules');
  await settled();
  await page.getByRole('button', { name: 'Create rule' }).first().click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Edge offline');
  await dialog.getByLabel('Watch for').selectOption('server_offline');
  await dialog.getByLabel('After (seconds)').fill('90');
  await dialog.getByLabel('Send to').selectOption('webhook');
  await dialog.getByLabel('URL').fill(receiver.url);
  await dialog.getByLabel('Signing secret (optional)').fill('s3cret');
  await dialog.getByRole('button', { name: 'Create rule' }).click();
  const row = page.getByRole('row', { name: /Edge offline/ });
  await row.waitFor();
  assert((await row.innerText()).includes('after 90 s'), `condition: ${await row.innerText()}`);

  await page.getByRole('button', { name: 'Send a test notification for Edge offline' }).click();
  await page.getByRole('status').filter({ hasText: /delivered \(HTTP 200\)/ }).waitFor({ timeout: 15_000 });
  assert(receiver.requests.length >= 1, 'the receiver got nothing');
  assert(receiver.requests.at(-1).signature, 'webhook not signed');

  await page.getByRole('button', { name: 'Mute Edge offline' }).click();
  await row.getByText('Muted').waitFor();

  await page.getByRole('button', { name: 'Edit Edge offline' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Viewers high');
  await dialog.getByLabel('Watch for').selectOption('viewers');
  await dialog.getByLabel('When').selectOption('above');
  await dialog.getByLabel('Threshold (viewers)').fill('5000');
  await dialog.getByLabel('For (seconds)').fill('120');
  await dialog.getByLabel('Stream (optional)').fill('news');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const edited = page.getByRole('row', { name: /Viewers high/ });
  await edited.waitFor();
  const text = await edited.innerText();
  assert(/Viewers above 5,000 for 2 min/.test(text) && text.includes('stream news'), `edited rule: ${text}`);
  await shot('32-alerts');

  await page.getByRole('link', { name: 'History', exact: true }).click();
  await heading('Alert history');
  await settled();
  const event = page.getByRole('row').filter({ hasText: 'Edge offline' }).first();
  await event.waitFor();
  assert((await event.innerText()).includes('Delivered'), 'delivery not shown');
  await event.getByText('Delivered').click();
  await event.getByText(/HTTP 200/).waitFor();
  await shot('33-alert-history');

  await page.getByRole('link', { name: 'Rules', exact: true }).click();
  await heading('Alert rules');
  await page.getByRole('button', { name: 'Delete Viewers high' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete rule' }).click();
  await edited.waitFor({ state: 'detached' });
  await settled();
});

await check('activity log: entries, an action filter, paging back, CSV of the same filter', async () => {
  // More entries than one page holds.
  for (let i = 0; i < 30; i += 1) {
    const tok = await api('POST', '/api/v1/tokens', { name: `paging-${i}`, scope: 'read' });
    await api('DELETE', `/api/v1/tokens/${tok.id}`);
  }
  await nav('Activity log').click();
  await heading('Activity log');
  await settled();
  await page.getByRole('cell', { name: 'Token revoked' }).first().waitFor();
  const rows = page.locator('tbody tr');
  assert((await rows.count()) === 50, `first page has ${await rows.count()} rows`);
  await page.getByRole('button', { name: 'Show older entries' }).click();
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length > 50);
  await page.getByRole('cell', { name: 'Signed in' }).first().waitFor();
  await page.getByLabel('Action').selectOption('account_created');
  await page.waitForFunction(() => {
    const badges = [...document.querySelectorAll('tbody .badge')].map((b) => b.textContent);
    return badges.length > 0 && badges.every((b) => b === 'Account created');
  });
  await settled();
  await shot('34-activity');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: /CSV/ }).click(),
  ]);
  const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
  assert(csv.length >= 2 && csv.slice(1).every((l) => l.includes('account_created')), `CSV: ${csv.slice(0, 3).join(' / ')}`);
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await settled();
});

await check('a viewer sees the screens but no controls that change anything', async () => {
  const viewer = `viewer-${Date.now()}@example.com`;
  await api('POST', `/api/v1/accounts/${me.account.id}/users`, { email: viewer, password: 'viewer password 1', role: 'viewer' });
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-GB' });
  try {
    const p = await ctx.newPage();
    await signIn(p, viewer, 'viewer password 1');
    const main = p.getByRole('navigation', { name: 'Main' });
    await main.getByRole('link', { name: 'Your account', exact: true }).waitFor();
    for (const hidden of ['Accounts', 'Activity log', 'Data retention', 'Branding']) {
      assert((await main.getByRole('link', { name: hidden, exact: true }).count()) === 0, `viewer sees ${hidden}`);
    }
    for (const [path, title, write] of [
      ['/alerts', 'Alert rules', 'Create rule'],
      ['/slices', 'Slices', 'Create slice'],
      ['/servers', 'Servers', 'Add server'],
    ]) {
      await p.goto(`${base}${path}`);
      await p.getByRole('heading', { level: 1, name: title }).waitFor();
      await p.waitForLoadState('networkidle').catch(() => {});
      assert((await p.getByRole('button', { name: write }).count()) === 0, `viewer sees "${write}" on ${path}`);
    }
  } finally {
    await ctx.close();
  }
});

await check('a billing user sees traffic reports and their own account only', async () => {
  const billing = `billing-${Date.now()}@example.com`;
  await api('POST', `/api/v1/accounts/${me.account.id}/users`, { email: billing, password: 'billing password 1', role: 'billing' });
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-GB' });
  try {
    const p = await ctx.newPage();
    const errors = [];
    p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await p.goto(`${base}/login`);
    await p.getByLabel('Email').fill(billing);
    await p.getByLabel('Password').fill('billing password 1');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { level: 1, name: /Billing/ }).waitFor({ timeout: 15_000 });
    const main = p.getByRole('navigation', { name: 'Main' });
    await main.getByRole('link', { name: 'Your account', exact: true }).waitFor();
    const links = await main.getByRole('link').allInnerTexts();
    for (const hidden of ['Overview', 'Servers', 'Streams', 'Slices', 'Alerts', 'Users', 'Activity log', 'Accounts', 'Data retention']) {
      assert(!links.includes(hidden), `billing user sees ${hidden}`);
    }
    const tabs = await p.getByRole('navigation', { name: 'Reports' }).getByRole('link').allInnerTexts();
    assert(tabs.join() === 'Billing', `billing user's report tabs: ${tabs.join(', ')}`);
    await p.waitForLoadState('networkidle').catch(() => {});
    await p.waitForFunction(() => !document.querySelector('[aria-busy="true"]'), null, { timeout: 15_000 });
    assert(/\d/.test(await p.locator('.stat').nth(2).innerText()), 'no traffic total');
    const shown = await p.locator('.notice-error').allInnerTexts();
    assert(shown.length === 0, `errors on the billing report: ${shown.join(' | ')}`);
    assert(errors.length === 0, `console errors: ${errors.join(' | ')}`);
    await p.screenshot({ path: join(shots, '35-billing-user.png'), fullPage: true });
  } finally {
    await ctx.close();
  }
});

await check('on a 360 px phone nothing overflows and the menu opens', async () => {
  await page.setViewportSize({ width: 360, height: 780 });
  for (const path of [
    '/',
    '/servers',
    '/streams',
    '/reports/billing',
    streamHref,
    '/accounts',
    '/settings/retention',
    '/slices',
    '/alerts',
    '/alerts/history',
    '/activity',
    '/me',
  ]) {
    await page.goto(`${base}${path}`);
    await page.locator('h1').first().waitFor();
    await settled();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 360, `${path} is ${width}px wide`);
    if (['/alerts', '/accounts', '/me'].includes(path)) await shot(`13-phone${path.replace(/\//g, '-')}`);
  }
  await page.goto(`${base}/`);
  await settled();
  await shot('12-phone-overview');
  await page.getByRole('button', { name: 'Menu' }).click();
  await nav('Reports').click();
  await heading(/Reports/);
  await page.setViewportSize({ width: 1400, height: 900 });
});

async function unlabelledControls() {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => {
        const hasLabel = el.labels?.length || el.getAttribute('aria-label') || el.textContent?.trim();
        return !hasLabel && el.getAttribute('type') !== 'hidden';
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
}

await check('every screen can be reached from the keyboard', async () => {
  await page.goto(`${base}/`);
  await heading('Overview');
  await page.keyboard.press('Tab');
  const skip = await page.evaluate(() => document.activeElement?.textContent);
  assert(skip === 'Skip to content', `first tab stop is "${skip}"`);
  const unlabelled = await unlabelledControls();
  assert(unlabelled.length === 0, `unlabelled controls: ${unlabelled.join(', ')}`);
});

await check('administration screens and their dialogs have labelled controls and open from the keyboard', async () => {
  for (const [path, create] of [
    ['/accounts', 'Create account'],
    ['/slices', 'Create slice'],
    ['/alerts', 'Create rule'],
    ['/alerts/history', null],
    ['/activity', null],
    ['/settings/retention', null],
    ['/me', null],
  ]) {
    await page.goto(`${base}${path}`);
    await page.locator('h1').first().waitFor();
    await settled();
    let unlabelled = await unlabelledControls();
    assert(unlabelled.length === 0, `${path}: unlabelled controls: ${unlabelled.join(', ')}`);
    if (!create) continue;
    await page.getByRole('button', { name: create }).first().focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const focused = await page.evaluate(() => document.activeElement?.closest('dialog') !== null);
    assert(focused, `${path}: focus did not move into the dialog`);
    unlabelled = await unlabelledControls();
    assert(unlabelled.length === 0, `${path} dialog: unlabelled controls: ${unlabelled.join(', ')}`);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  }
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
receiver.close();

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`screenshots: ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
