// Opens every page of the built book in headless Chromium and checks what a
// reader meets: no console errors, no failed request, no request leaving the
// machine, math rendered, every listing's code present, quizzes answerable,
// search and the print page working. Screenshots go to the output folder.
//
// usage: node site.test.mjs <built site> <repository root> <screenshot dir>

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [site, repo, shots] = process.argv.slice(2);
if (!site || !repo || !shots) {
  console.error('usage: node site.test.mjs <built site> <repository root> <screenshot dir>');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });

// A page heavier than this (compressed, as GitHub Pages serves it) fails.
const PAGE_BUDGET = 1024 * 1024;
// Each page gets this long to load and settle before it counts as hung.
const PAGE_TIMEOUT_MS = 30_000;

// ---- the site, served as GitHub Pages would (gzip), counting bytes sent ----
const MIME = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.woff': 'font/woff',
  '.ttf': 'font/ttf', '.txt': 'text/plain', '.ico': 'image/x-icon', '.gz': 'application/gzip',
};
let bytesSent = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let file = path.join(site, decodeURIComponent(url.pathname));
  if (!file.startsWith(path.resolve(site))) { res.writeHead(403).end(); return; }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
  if (!fs.existsSync(file)) { res.writeHead(404).end('not found'); return; }
  let body = fs.readFileSync(file);
  const headers = { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' };
  if (/gzip/.test(req.headers['accept-encoding'] ?? '') && !/\.(png|woff2?|gz)$/.test(file)) {
    body = zlib.gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  bytesSent += body.length;
  res.writeHead(200, headers).end(body);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;

// ---- the pages, from SUMMARY.md (draft chapters have no page) ----
const summary = fs.readFileSync(path.join(repo, 'src/SUMMARY.md'), 'utf8');
const chapters = [...summary.matchAll(/\[([^\]]+)\]\(([^)]+\.md)\)/g)].map(([, title, md]) => ({ title, md }));

// The page's own source tells what it must show.
function expectations(md) {
  const text = fs.readFileSync(path.join(repo, 'src', md), 'utf8');
  const listings = [...text.matchAll(/\{\{#(?:rustdoc_)?include [^}]*listings\/([^/]+)\/src[^}]*\}\}/g)].map((m) => m[1]);
  const hasMath = /\$\$[\s\S]+?\$\$|(^|[^\\`$])\$[^$\s`][^$`\n]*\$/m.test(text.replace(/```[\s\S]*?```/g, ''));
  return { listings: [...new Set(listings)], hasMath, quizzes: (text.match(/\{\{#quiz /g) ?? []).length };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

const failures = [];
const weights = [];
const shot = { quiz: false, math: false };
const fail = (page, what) => failures.push(`${page}: ${what}`);

async function openPage(rel) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} for ${r.url()}`));
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (!['127.0.0.1', ''].includes(url.hostname) && !url.protocol.startsWith('data')) {
      problems.push(`request to another host: ${r.url()}`);
    }
  });
  bytesSent = 0;
  await page.goto(`${origin}/${rel}`, { waitUntil: 'networkidle', timeout: PAGE_TIMEOUT_MS });
  // On a loaded machine the network can go idle while a long page (print.html)
  // is still being parsed; the load event comes after the whole document.
  await page.waitForLoadState('load', { timeout: PAGE_TIMEOUT_MS });
  return { context, page, problems, bytes: () => bytesSent };
}

async function answerQuizzes(page, rel, count) {
  const quizzes = page.locator('.quiz-placeholder');
  const found = await quizzes.count();
  if (found !== count) fail(rel, `the source has ${count} quiz(zes), the page shows ${found}`);
  for (let q = 0; q < found; q++) {
    const quiz = quizzes.nth(q);
    const questions = JSON.parse(await quiz.getAttribute('data-quiz-questions')).questions;
    await quiz.locator('button.start').click();
    for (const [i, question] of questions.entries()) {
      const wrong = i === 0; // the first answered wrongly, the rest rightly
      if (question.type === 'MultipleChoice') {
        const right = [question.answer.answer].flat();
        const choices = wrong ? [question.prompt.distractors[0]] : right;
        for (const choice of choices) {
          await quiz.locator(`.response input[value="${choice.replaceAll('"', '\\"')}"]`).check();
        }
      } else if (question.type === 'ShortAnswer') {
        await quiz.locator('.response input[type=text], .response textarea').first()
          .fill(wrong ? 'certainly not this' : question.answer.answer);
      } else {
        fail(rel, `quiz question ${i + 1} has type ${question.type}, which this test cannot answer`);
        return;
      }
      await quiz.locator('.response input[type=submit]').click();
    }
    const review = quiz.locator('section');
    const summary = await review.innerText();
    const expected = `${questions.length - 1}/${questions.length}`;
    if (!summary.includes(expected)) fail(rel, `quiz ${q + 1}: answered one of ${questions.length} wrongly, the review does not say ${expected}`);
    if (await review.locator('.incorrect').count() < 1 || await review.locator('.correct').count() < 1) {
      fail(rel, `quiz ${q + 1}: the review does not mark right and wrong answers`);
    }
  }
}

for (const { md } of chapters) {
  const rel = md.replace(/\.md$/, '.html').replace(/(^|\/)README\.html$/, '$1index.html');
  const want = expectations(md);
  let opened;
  try {
    opened = await openPage(rel);
  } catch (e) {
    fail(rel, `did not load: ${e.message.split('\n')[0]}`);
    continue;
  }
  const { context, page, problems } = opened;
  try {
    const main = page.locator('main');
    if (want.hasMath) {
      const maths = page.locator('main math');
      if (await maths.count() === 0) fail(rel, 'the source has math but the page has no <math> element');
      else if (!(await maths.first().isVisible())) fail(rel, 'math is rendered but not visible');
      // Outside code: `$$` in a shell command is the shell's own PID.
      const rawMath = await page.evaluate(() => {
        const copy = document.querySelector('main').cloneNode(true);
        copy.querySelectorAll('code, pre').forEach((e) => e.remove());
        return copy.textContent.includes('$$');
      });
      if (rawMath) fail(rel, 'raw $$ left in the page: a formula did not render');
    }
    // textContent, not innerText: a block inside a closed <details> (a hint,
    // the course's version) has no layout, so its innerText is empty.
    const codes = await page.locator('main pre code').allTextContents();
    if (codes.length < want.listings.length || codes.some((c) => c.trim() === '')) {
      fail(rel, `expected a code block for each of ${want.listings.length} listing(s), found ${codes.length} (some empty?)`);
    }
    const html = await main.innerHTML();
    for (const name of want.listings) {
      if (!html.includes(name)) fail(rel, `listing ${name} is included but its name is not on the page (caption missing?)`);
    }
    weights.push([rel, opened.bytes()]);
    // Math first: answering a quiz changes the page's layout.
    await answerQuizzes(page, rel, want.quizzes);
    if (['introduction.html', 'process/anatomy.html'].includes(rel)) {
      await page.screenshot({ path: path.join(shots, `${rel.replace(/[/.]/g, '_')}.png`) });
    }
    if (want.quizzes > 0 && !shot.quiz) {
      shot.quiz = true;
      await page.locator('.quiz-placeholder').first().screenshot({ path: path.join(shots, 'quiz.png') });
    }
    if (want.hasMath && !shot.math) {
      shot.math = true;
      await page.locator('main math').first().scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(shots, 'math.png') });
    }
  } catch (e) {
    fail(rel, `check crashed: ${e.message.split('\n')[0]}`);
  }
  for (const p of problems) fail(rel, p);
  await context.close();
}

// ---- search ----
{
  const { context, page, problems } = await openPage('introduction.html');
  for (const term of ['fork', 'context switch']) {
    await page.click('#mdbook-search-toggle');
    await page.fill('#mdbook-searchbar', '');
    await page.locator('#mdbook-searchbar').pressSequentially(term, { delay: 20 });
    const hits = page.locator('#mdbook-searchresults li');
    try {
      await hits.first().waitFor({ timeout: 5000 });
    } catch {
      fail('search', `no results for "${term}"`);
    }
    if (term === 'fork') await page.screenshot({ path: path.join(shots, 'search.png') });
    await page.keyboard.press('Escape');
  }
  for (const p of problems) fail('search', p);
  await context.close();
}

// ---- the print page has the whole chapter ----
{
  const { context, page, problems } = await openPage('print.html');
  // The print page is long: under load, playwright's networkidle can come
  // before the document has finished parsing (readyState still "loading").
  await page.waitForFunction(() => document.readyState === 'complete', null, { timeout: PAGE_TIMEOUT_MS });
  // textContent, not innerText: the print page is long, and innerText depends on layout.
  const text = await page.locator('main').textContent();
  for (const { title, md } of chapters) {
    const h1 = fs.readFileSync(path.join(repo, 'src', md), 'utf8').match(/^# (.+)$/m)?.[1]?.replace(/[`*_]/g, '');
    if (h1 && !text.includes(h1)) fail('print.html', `missing the chapter "${title}" (heading "${h1}")`);
  }
  for (const p of problems) fail('print.html', p);
  await context.close();
}

await browser.close();
server.close();

// ---- weight of the site ----
const du = (dir) => fs.readdirSync(dir, { withFileTypes: true })
  .reduce((n, e) => n + (e.isDirectory() ? du(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size), 0);
weights.sort((a, b) => b[1] - a[1]);
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`site: ${kib(du(site))} on disk; heaviest page ${weights[0]?.[0]} at ${kib(weights[0]?.[1] ?? 0)} transferred (gzip, cold cache)`);
for (const [rel, bytes] of weights) if (bytes > PAGE_BUDGET) fail(rel, `transfers ${kib(bytes)}, over the ${kib(PAGE_BUDGET)} budget`);

for (const f of failures) console.log(`FAIL ${f}`);
console.log(`browser: ${chapters.length + 2} pages checked, ${failures.length} problem(s); screenshots in ${shots}`);
process.exit(failures.length === 0 ? 0 : 1);
