// "Run on this machine", as a reader uses it: the book built with the
// runner's script (as `cargo xtask serve` serves it) is opened in headless
// Chromium; Run is clicked on a forking, a threads and a tokio listing and
// their output must have the right shape; a long-running listing is stopped
// and no process of it may be left, zombie or not. The published site (no
// runner) must show the command with a copy button instead.
//
// usage: node runner.test.mjs <site with runner> <published site> <port> <screenshot dir>
// (the runner was started by `cargo xtask browser` for http://127.0.0.1:<port>)

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const [site, published, port, shots] = process.argv.slice(2);
if (!site || !published || !port || !shots) {
  console.error('usage: node runner.test.mjs <site with runner> <published site> <port> <screenshot dir>');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

// A click may have to build the listing (cargo's progress is shown): generous.
const RUN_DEADLINE_MS = 300_000;
const GONE_DEADLINE_MS = 30_000;

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml' };
function serve(dir, listenPort) {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    let file = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!file.startsWith(path.resolve(root))) { res.writeHead(403).end(); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  return new Promise((ok) => server.listen(listenPort, '127.0.0.1', () => ok(server)));
}

const withRunner = await serve(site, Number(port));
const withoutRunner = await serve(published, 0);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const failures = [];
const fail = (what) => failures.push(what);

async function open(origin, rel) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  await page.goto(`${origin}/${rel}`, { waitUntil: 'networkidle', timeout: 30_000 });
  await page.waitForLoadState('load', { timeout: 30_000 });
  // runner.js marks the page once its bars are in (after asking the runner).
  await page.waitForFunction(() => document.documentElement.dataset.listingRunner, null, { timeout: 30_000 });
  return { context, page, problems };
}

async function blockOf(page, name) {
  // Index of the caption naming the listing among the runnable bars.
  const index = await page.evaluate((n) => {
    const bars = [...document.querySelectorAll('main .listing-run')];
    return bars.findIndex((bar) => {
      const caption = bar.previousElementSibling?.previousElementSibling;
      return caption && caption.textContent.includes(`listings/${n}/`);
    });
  }, name);
  if (index < 0) throw new Error(`no Run bar under the block captioned listings/${name}/`);
  const bar = page.locator('main .listing-run').nth(index);
  const panel = bar.locator('xpath=following-sibling::div[1][contains(@class, "listing-output")]');
  return { bar, panel };
}

async function clickRun(page, name, command) {
  const state = await page.evaluate(() => document.documentElement.dataset.listingRunner);
  if (state !== 'connected') throw new Error(`the page did not reach the runner (runner.js says "${state}"): is the runner's script in the page?`);
  const { bar, panel } = await blockOf(page, name);
  if (command) await bar.locator('select').selectOption({ label: command });
  await bar.getByRole('button', { name: 'Run on this machine' }).click();
  return { bar, panel };
}

async function waitState(panel, states, what) {
  const start = Date.now();
  for (;;) {
    const state = await panel.getAttribute('data-state');
    if (states.includes(state)) return state;
    if (Date.now() - start > RUN_DEADLINE_MS) throw new Error(`${what}: still "${state}" after ${RUN_DEADLINE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const firstOutput = [];

// ---- Run: a forking, a threads and a tokio listing ----
const cases = [
  { page: 'process/fork-exec.html', name: 'process-02-fork-exec', shape: [/I am \/bin\/sh now/, /fork gave me pid \d+; waitpid: child pid \d+ exited with code 3/, /exited with code 127/] },
  { page: 'thread/anatomy.html', name: 'thread-02-spawn-join', shape: [/sum computed on another thread: 500500/, /panicked at/, /join returned Err/] },
  { page: 'tasks/models.html', name: 'tasks-01-spawn-many', shape: [/100000 tokio tasks/, /worker threads that ran them: \d+/] },
];
for (const c of cases) {
  let opened;
  try {
    opened = await open(`http://127.0.0.1:${port}`, c.page);
    const { page } = opened;
    const { panel } = await clickRun(page, c.name);
    const state = await waitState(panel, ['exited', 'failed'], `${c.page}: Run on ${c.name}`);
    const yours = await panel.locator('.listing-yours pre').innerText();
    const exit = await panel.locator('.listing-exit').innerText();
    if (state !== 'exited' || !/exit status: 0, wall time \d/.test(exit)) fail(`${c.page}: ${c.name} should exit 0 with a wall time, the page says "${exit}"`);
    for (const re of c.shape) if (!re.test(yours)) fail(`${c.page}: ${c.name}'s output on the page does not match ${re}:\n${yours}`);
    if (await panel.locator('.listing-ours pre').count() !== 1) fail(`${c.page}: ${c.name}: our output (output.txt) is not shown beside the reader's`);
    firstOutput.push([c.name, await panel.getAttribute('data-first-output-ms')]);
    await panel.screenshot({ path: path.join(shots, `runner-${c.name}.png`) });
    for (const p of opened.problems) fail(`${c.page}: ${p}`);
  } catch (e) {
    fail(`${c.page}: ${e.message.split('\n')[0]}`);
  }
  await opened?.context.close();
}

// ---- Stop: a listing kept alive to be looked at ----
function pgroupMembers(pgid) {
  const members = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) members.push(`${entry} (${fields[0]})`);
    } catch { /* gone meanwhile */ }
  }
  return members;
}
{
  let opened;
  try {
    opened = await open(`http://127.0.0.1:${port}`, 'observe/observe.html');
    const { page } = opened;
    const { bar, panel } = await clickRun(page, 'observe-01-named', 'cargo run -p observe-01-named -- --seconds 60');
    await waitState(panel, ['running'], 'observe-01-named');
    const start = Date.now();
    while (!(await panel.locator('.listing-yours pre').innerText()).includes('look with')) {
      if (Date.now() - start > RUN_DEADLINE_MS) throw new Error('observe-01-named printed no "look with" line');
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = Number(await panel.getAttribute('data-pid'));
    const tries = await panel.locator('.listing-observe code').allInnerTexts();
    if (!tries.some((t) => t.includes(`ps -T -p ${pid}`))) fail(`observe-01-named: the page should offer commands to try on PID ${pid}, it shows ${JSON.stringify(tries)}`);
    const alive = pgroupMembers(pid);
    if (alive.length < 3) fail(`observe-01-named: expected the listing and its two children in process group ${pid}, found ${alive.join(', ')}`);
    await page.screenshot({ path: path.join(shots, 'runner-observe-running.png') });
    await bar.getByRole('button', { name: 'Stop' }).click();
    await waitState(panel, ['exited'], 'observe-01-named after Stop');
    const exit = await panel.locator('.listing-exit').innerText();
    if (!/Stop/.test(exit)) fail(`observe-01-named: the exit line should say it was stopped: "${exit}"`);
    const goneBy = Date.now() + GONE_DEADLINE_MS;
    let left = pgroupMembers(pid);
    while (left.length && Date.now() < goneBy) {
      await new Promise((r) => setTimeout(r, 100));
      left = pgroupMembers(pid);
    }
    if (left.length) fail(`observe-01-named: after Stop, process group ${pid} still has ${left.join(', ')} (zombies count): the runner must kill and reap the whole group`);
    for (const p of opened.problems) fail(`observe.html: ${p}`);
  } catch (e) {
    fail(`observe.html: ${e.message.split('\n')[0]}`);
  }
  await opened?.context.close();
}

// ---- the published site: the command and a copy button ----
{
  const origin = `http://127.0.0.1:${withoutRunner.address().port}`;
  const opened = await open(origin, 'process/fork-exec.html');
  const { page } = opened;
  const bar = page.locator('main .listing-run-offline').first();
  const command = await bar.locator('code').innerText().catch(() => '');
  if (command !== 'cargo run -p process-02-fork-exec') fail(`published site: the block should show "cargo run -p process-02-fork-exec", shows "${command}"`);
  if (await bar.getByRole('button', { name: 'Copy' }).count() !== 1) fail('published site: no Copy button beside the command');
  if (await page.getByRole('button', { name: 'Run on this machine' }).count() !== 0) fail('published site: a Run on this machine button without a runner');
  await bar.screenshot({ path: path.join(shots, 'runner-published-command.png') }).catch(() => {});
  for (const p of opened.problems) fail(`published fork-exec.html: ${p}`);
  await opened.context.close();
  // A listing that must not compile is outside the workspace: built in its folder.
  const refused = await open(origin, 'thread/sharing.html');
  const shown = await refused.page.locator('main .listing-run-offline code').allInnerTexts();
  if (!shown.includes('cd listings/thread-06-race-refused && cargo build')) fail(`published sharing.html: the refused listing should show how to compile it, the bars show ${JSON.stringify(shown)}`);
  await refused.context.close();
}

await browser.close();
withRunner.close();
withoutRunner.close();
for (const [name, ms] of firstOutput) console.log(`runner: ${name}: first output ${ms} ms after the click (already built)`);
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`runner: ${cases.length} runs and a Stop checked, ${failures.length} problem(s)`);
process.exit(failures.length === 0 ? 0 : 1);
