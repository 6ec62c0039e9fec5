// The operator console in real headless Chromium (Debian's chromium, driven
// by playwright-core), against two real paired stations that
// tests/integration/24-browser.sh has started. Prints "ok - STEP (N ms)" per
// step; on the first failure "FAIL: ..." (and a screenshot beside the
// stations' logs), exit 1.
//
// Environment (set by 24-browser.sh):
//   W_URL, B_URL          the two consoles (washington, beijing)
//   W_DIR, B_DIR          the station directories (for the CLI's view)
//   HOTLINE               the hotline binary
//   DUTY_W, DUTY_B, WATCH_W, PASSWORD   operators and their password
//   HL_SCREENSHOTS        if set, a directory for board.png, inbox.png, ...
//   HL_FAILSHOT           where to save a screenshot on failure
'use strict';
const { chromium } = require('playwright-core');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const env = (k) => {
  if (!process.env[k]) throw new Error(`set ${k}`);
  return process.env[k];
};
const W = env('W_URL'), B = env('B_URL');
const PW = env('PASSWORD');
const SHOTS = process.env.HL_SCREENSHOTS || '';
const T0 = Date.now();

// The CLI's view of a station: what the console must agree with.
function cli(dir, ...args) {
  return JSON.parse(execFileSync(env('HOTLINE'), ['-d', dir, ...args], { encoding: 'utf8' }));
}
const re = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 8000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

// Ask 24-browser.sh to stop and start a station (its lib.sh owns the
// daemons): a line on stdout, then wait for its answer on stdin.
const answers = require('node:readline').createInterface({ input: process.stdin });
const waiting = [];
answers.on('line', (l) => waiting.length && waiting.shift()(l));
function restart(station) {
  return new Promise((resolve, reject) => {
    waiting.push((l) => (l === 'restarted' ? resolve() : reject(new Error('restart: ' + l))));
    console.log('restart ' + station);
  });
}

let current = null; // the page to photograph on failure
async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  console.log(`ok - ${name} (${Date.now() - t0} ms)`);
}
async function shot(page, name) {
  if (!SHOTS) return;
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.waitForTimeout(150); // one tick of the live clocks
  await page.screenshot({ path: path.join(SHOTS, name + '.png') });
}

const newContext = (browser) => browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'en-US' });
async function login(ctx, url, name, wrongFirst) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(8000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.errors = errors;
  current = page;
  await page.goto(url + '/#/login');
  await page.fill('#login-name', name);
  if (wrongFirst) {
    await page.fill('#login-password', 'not the password');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error:not(:empty)');
    assert.match(await page.textContent('#login-error'), /Wrong name or password/);
  }
  await page.fill('#login-password', PW);
  await page.click('#login-submit');
  await page.waitForSelector('#board');
  return page;
}
const go = async (page, route) => {
  await page.evaluate((r) => { location.hash = r; }, route);
  await page.waitForSelector('#page-' + route.split('/')[1] + ':not(:has(> .loading))');
};
const channelBadge = (peer, channel) => `section[data-peer="${peer}"] tr[data-channel="${channel}"] .badge`;

async function main() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    // playwright-core gives each launch a fresh temporary profile (its
    // --user-data-dir). Both stations' consoles share one context, as two
    // tabs of one browser (their session cookies are named after the
    // station); the watch officer, at washington too, gets a context of
    // their own.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const wDir = env('W_DIR'), bDir = env('B_DIR');
    const dutyW = env('DUTY_W'), dutyB = env('DUTY_B');
    let w, b;

    await step('log in at both stations; a wrong password is refused', async () => {
      const ctx = await newContext(browser);
      w = await login(ctx, W, dutyW, true);
      b = await login(ctx, B, dutyB);
      current = w;
      assert.match(await w.textContent('#top .who'), new RegExp(re(dutyW) + '.*duty officer'));
      await w.waitForSelector('section[data-peer="beijing"] h2 .badge[data-state="up"]');
      await b.waitForSelector('section[data-peer="washington"] h2 .badge[data-state="up"]');
      await w.waitForSelector('#live.on');
    });

    let flash;
    await step('a FLASH message from beijing appears live in washington\'s inbox', async () => {
      await go(w, '#/inbox');
      await w.evaluate(() => { window.notReloaded = true; });
      const waiting = cli(wDir, 'inbox', '--json').length;
      await go(b, '#/compose');
      await b.selectOption('#c-precedence', 'flash');
      await b.fill('#c-text', 'Request a call at 14:00Z between defense ministers');
      const t0 = Date.now();
      await b.click('#c-send');
      flash = await (await b.waitForSelector('#sent-id')).textContent();
      await w.waitForSelector(`#inbox-table tr[data-id="${flash}"][data-state="unacknowledged"]`);
      const took = Date.now() - t0;
      assert.ok(await w.evaluate(() => window.notReloaded), 'the inbox page was reloaded');
      assert.equal(await w.textContent(`tr[data-id="${flash}"] .prec`), 'FLASH');
      assert.match(await w.textContent(`tr[data-id="${flash}"] .countdown`), /^(9|10):\d\d left$/);
      await until('the inbox count', async () => (await w.textContent('#inbox-count')) === String(waiting + 1));
      // sorted: unacknowledged first, FLASH before PRIORITY and ROUTINE
      const routine = execFileSync(env('HOTLINE'), ['-d', bDir, 'send', '--to', 'washington', '--precedence', 'routine',
        '--text-en', 'Exercise notice: the navy exercise ends on 3 December', '--text-zh', '演习通知：海军演习于12月3日结束'], { encoding: 'utf8' }).trim();
      const late = execFileSync(env('HOTLINE'), ['-d', bDir, 'send', '--to', 'washington', '--precedence', 'priority',
        '--code', 'CALL_REQUEST', 'medium=phone', 'level=defense_minister', 'proposed_time=2026-12-01T14:00Z', 'duration=30'], { encoding: 'utf8' }).trim();
      await w.waitForSelector(`tr[data-id="${late}"]`);
      await w.waitForSelector(`tr[data-id="${routine}"]`);
      const order = await w.$$eval('#inbox-table tbody tr', (rows) => rows.map((r) => r.dataset.id));
      assert.deepEqual(order.filter((id) => [flash, late, routine].includes(id)), [flash, late, routine]);
      assert.match(await w.textContent(`tr[data-id="${late}"] td.text`), /Request for a call/);
      // beijing's PRIORITY deadline is 2 s (24-browser.sh): overdue in red, live
      await w.waitForSelector(`tr[data-id="${late}"].overdue .countdown.late`, { timeout: 6000 });
      assert.match(await w.textContent(`tr[data-id="${late}"] .countdown`), /^overdue by/);
      assert.equal(await w.$eval(`tr[data-id="${late}"] .countdown`, (e) => getComputedStyle(e).color), 'rgb(196, 33, 33)');
      console.log(`# FLASH shown in washington's inbox ${took} ms after beijing's Send`);
      if (SHOTS) await w.waitForSelector(`tr[data-id="${late}"] .countdown >> text=/overdue by 0:(0[3-9]|[1-5][0-9])/`);
      await shot(w, 'inbox');
    });

    await step('acknowledge with one click; beijing\'s outbox turns acknowledged', async () => {
      await go(b, '#/outbox');
      await b.waitForSelector(`#outbox-table tr[data-id="${flash}"][data-state="delivered"]`);
      await w.click(`button[data-ack="${flash}"]`);
      await w.waitForSelector(`tr[data-id="${flash}"]`, { state: 'detached' }); // the inbox shows what waits
      await b.waitForSelector(`#outbox-table tr[data-id="${flash}"][data-state="acknowledged"]`);
      assert.match(await b.textContent(`tr[data-id="${flash}"]`), new RegExp(re(dutyW)));
      const m = cli(bDir, 'show', flash, '--json');
      assert.equal(m.state, 'acknowledged');
      assert.equal(m.acknowledged_by, dutyW);
      await go(w, '#/message/' + flash);
      await w.waitForSelector('table.history td >> text=acknowledged');
      assert.match(await w.textContent('#msg-state'), /acknowledged/);
      await shot(w, 'message');
    });

    await step('a codebook form: a bad field is shown by the field, from the page and from the station', async () => {
      await go(w, '#/compose');
      await w.click('#mode-code');
      await w.selectOption('#c-template', 'LAUNCH');
      assert.equal(await w.inputValue('#c-precedence'), 'priority'); // the template's precedence
      const before = cli(wDir, 'outbox', '--json').length;
      await w.selectOption('#f-vehicle', 'icbm');
      await w.fill('#f-window', '2026-12-01T09:00Z/2026-12-01T06:00Z'); // ends before it starts
      await w.fill('#f-launch_area', 'circle:20,150,25');
      await w.fill('#f-impact_area', 'polygon:10.5,170.2;10.5,172.8;8.1,172.8');
      await w.click('#c-send');
      await w.waitForSelector('#err-window:not(:empty)');
      assert.match(await w.textContent('#err-window'), /end must be after the start/);
      assert.match(await w.textContent('#compose-result'), /Correct the fields/);
      assert.ok(await w.$('#f-window.invalid'));
      await shot(w, 'compose');
      // The station has the last word: a value changed on the way (after the
      // page's checks) comes back as 400 invalid, shown by its field.
      await w.fill('#f-window', '2026-12-01T06:00Z/2026-12-01T09:00Z');
      await w.route('**/api/send', (route) => {
        const body = JSON.parse(route.request().postData());
        body.fields.count = '500';
        route.continue({ postData: JSON.stringify(body) });
      });
      await w.click('#c-send');
      await w.waitForSelector('#err-count:not(:empty)');
      assert.match(await w.textContent('#err-count'), /count/);
      await w.unroute('**/api/send');
      assert.equal(cli(wDir, 'outbox', '--json').length, before, 'an invalid message was stored');
      await w.fill('#f-count', '2');
      await w.click('#c-send');
      const id = await (await w.waitForSelector('#sent-id')).textContent();
      await until('LAUNCH delivered to beijing', () => {
        const m = cli(wDir, 'show', id, '--json');
        return m.state === 'delivered' && m.media_type === 'application/vnd.hotline.code+json';
      });
    });

    await step('suspend a channel: both stations\' boards change; resume', async () => {
      await go(b, '#/board');
      await b.waitForSelector(channelBadge('washington', 'maritime') + '[data-state="up"]');
      await go(w, '#/notices');
      await w.fill('input[data-reason="maritime"]', 'Suspended pending consultations on the incident of 28 November');
      const t0 = Date.now();
      await w.click('button[data-suspend="maritime"]');
      await b.waitForSelector(channelBadge('washington', 'maritime') + '[data-state="suspended"]');
      const took = Date.now() - t0;
      assert.match(await b.textContent(`section[data-peer="washington"] tr[data-channel="maritime"]`),
        new RegExp(`suspended by washington \\(${re(dutyW)}\\).*pending consultations`));
      await w.waitForSelector('button[data-resume="maritime"]');
      await shot(w, 'notices');
      await go(w, '#/board');
      await w.waitForSelector(channelBadge('beijing', 'maritime') + '[data-state="suspended"]');
      assert.equal(await w.getAttribute(channelBadge('beijing', 'general'), 'data-state'), 'up');
      console.log(`# suspension shown on beijing's board ${took} ms after the click at washington`);
      await shot(w, 'board');
      // a suspended channel cannot be chosen in Compose
      await go(w, '#/compose');
      assert.ok(await w.$('#c-channel option[value="maritime"][disabled]'));
      await go(w, '#/notices');
      await w.click('button[data-resume="maritime"]');
      await b.waitForSelector(channelBadge('washington', 'maritime') + '[data-state="up"]');
    });

    await step('a watch officer cannot send FLASH or suspend (the page hides it, the station refuses it)', async () => {
      const watch = await login(await newContext(browser), W, env('WATCH_W'));
      assert.match(await watch.textContent('#top .who'), /watch officer/);
      await go(watch, '#/compose');
      assert.ok(await watch.$('#c-precedence option[value="flash"][disabled]'));
      assert.ok(await watch.$('#c-precedence option[value="immediate"][disabled]'));
      assert.ok(await watch.$('#c-precedence option[value="routine"]:not([disabled])'));
      await go(watch, '#/notices');
      assert.equal(await watch.$('button[data-suspend]'), null);
      assert.match(await watch.textContent('#notice-role'), /Only duty officers/);
      const refused = await watch.evaluate(async () => {
        const me = await (await fetch('/api/me')).json();
        const post = async (p, body) => {
          const r = await fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf }, body: JSON.stringify(body) });
          return [r.status, (await r.json()).error];
        };
        return [await post('/api/send', { to: 'beijing', channel: 'general', precedence: 'flash', text: 'x' }),
          await post('/api/suspend', { peer: 'beijing', channel: 'maritime', reason: 'x' })];
      });
      assert.deepEqual(refused, [[403, 'forbidden'], [403, 'forbidden']]);
      // ... but reads, and sends ROUTINE
      await go(watch, '#/compose');
      await watch.fill('#c-text', 'Routine check from the watch');
      await watch.click('#c-send');
      await watch.waitForSelector('#sent-id');
      await watch.context().close();
      current = w;
    });

    await step('the transcript: verified, searchable', async () => {
      await go(w, '#/transcript');
      await w.waitForSelector('#t-verdict.good');
      await w.waitForSelector(`#transcript-table a[href="#/message/${flash}"]`);
      await w.fill('#t-q', 'defense ministers');
      await until('search narrows the transcript', async () => (await w.$$('#transcript-table tbody tr')).length === 1);
      await w.fill('#t-q', '');
      await until('search cleared', async () => (await w.$$('#transcript-table tbody tr')).length > 3);
      await shot(w, 'transcript');
    });

    await step('the interface follows the operator\'s language, stored by the station', async () => {
      await w.selectOption('#lang', 'zh');
      await w.waitForSelector('#nav-board >> text=总览');
      await go(w, '#/board');
      await shot(w, 'board-zh');
      // the station keeps the choice: /api/me says so, and a reload (or the next login) starts in it
      assert.equal(await w.evaluate(async () => (await (await fetch('/api/me')).json()).language), 'zh');
      await w.evaluate(() => localStorage.clear());
      await w.reload();
      await w.waitForSelector('#nav-inbox >> text=收件箱');
      await w.waitForSelector(channelBadge('beijing', 'general') + ' >> text=正常');
      await w.selectOption('#lang', 'en');
      await w.waitForSelector('#nav-board >> text=Board');
    });

    await step('a station restarted: the console says so, asks for a login, and comes back live', async () => {
      await go(w, '#/inbox');
      await w.waitForSelector('#live.on');
      await restart('washington'); // sessions live in the daemon's memory: this one is gone
      await w.waitForSelector('#login-name', { timeout: 15000 });
      await w.fill('#login-name', dutyW);
      await w.fill('#login-password', PW);
      await w.click('#login-submit');
      await w.waitForSelector('#page-inbox #inbox-table'); // back where the operator was
      await w.waitForSelector('#live.on');
      const id = execFileSync(env('HOTLINE'), ['-d', bDir, 'send', '--to', 'washington', '--precedence', 'flash',
        '--text', 'After the restart'], { encoding: 'utf8' }).trim();
      await w.waitForSelector(`#inbox-table tr[data-id="${id}"]`, { timeout: 15000 });
    });

    await step('the console came up without a script error', async () => {
      assert.deepEqual(w.errors, []);
      assert.deepEqual(b.errors, []);
    });
  } catch (e) {
    console.log('FAIL: ' + (e.stack || e));
    if (current && process.env.HL_FAILSHOT) {
      await current.screenshot({ path: process.env.HL_FAILSHOT }).catch(() => {});
      console.log('# screenshot of the page at the failure: ' + process.env.HL_FAILSHOT);
    }
    process.exitCode = 1;
  } finally {
    await browser.close();
    answers.close();
  }
  console.log(`# browser test: ${((Date.now() - T0) / 1000).toFixed(1)} s`);
}
main();
