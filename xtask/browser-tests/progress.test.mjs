// The "Your progress" page and the quizzes' text, as a reader meets them:
// answer a quiz, find its score on the progress page, reset it and find it
// gone (and the quiz on its page fresh again), reset every quiz at once;
// the answers are stored under keys scoped to this course; the print page
// and the search index hold every quiz's questions, and never its answers.
//
// usage: node progress.test.mjs <built site> <repository root> <screenshot dir>

import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const [site, repo, shots] = process.argv.slice(2);
if (!site || !repo || !shots) {
  console.error('usage: node progress.test.mjs <built site> <repository root> <screenshot dir>');
  process.exit(2);
}
fs.mkdirSync(shots, { recursive: true });
const TIMEOUT_MS = 30_000;

// The site under a sub-path, as GitHub Pages serves a project site, so the
// storage scoping is tested with a real prefix.
const BASE = '/processes-and-threads/';
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (!url.pathname.startsWith(BASE)) { res.writeHead(404).end(); return; }
  let file = path.join(path.resolve(site), decodeURIComponent(url.pathname.slice(BASE.length)));
  if (!file.startsWith(path.resolve(site))) { res.writeHead(403).end(); return; }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
  if (!fs.existsSync(file)) { res.writeHead(404).end('not found'); return; }
  const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' }[path.extname(file)];
  res.writeHead(200, { 'content-type': type ?? 'application/octet-stream' }).end(fs.readFileSync(file));
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'],
});
// One context for the whole test: localStorage is kept between pages.
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT_MS);
const failures = [];
const fail = (what) => failures.push(what);
page.on('pageerror', (e) => fail(`script error on ${page.url()}: ${e.message}`));
// A failed request is reported by URL below, not as its console line.
page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && fail(`console error on ${page.url()}: ${m.text()}`));
const notes = new Set();
page.on('response', (r) => {
  if (r.status() < 400) return;
  // Known, and not this test's subject: the print page keeps each chapter's
  // relative link to mdbook-quiz's script, `../quiz/…` from a chapter one
  // folder down, which misses under a sub-path; the top-level chapters'
  // copy of the same script loads, so the print page's quizzes still work.
  if (page.url().endsWith('/print.html') && /\/quiz\/[^/]+$/.test(r.url()) && !r.url().includes(BASE)) {
    notes.add(`print.html: ${r.url()} is ${r.status()} (mdbook-quiz's chapter-relative script link, under a sub-path)`);
  } else {
    fail(`HTTP ${r.status()} for ${r.url()} on ${page.url()}`);
  }
});
page.on('dialog', (d) => d.accept());
const open = (rel) => page.goto(`${origin}${BASE}${rel}`, { waitUntil: 'networkidle', timeout: TIMEOUT_MS });

// Answers every question of the page's first quiz, the first wrongly.
async function answerFirstQuiz() {
  const quiz = page.locator('.quiz-placeholder').first();
  const questions = JSON.parse(await quiz.getAttribute('data-quiz-questions')).questions;
  await quiz.locator('button.start').click();
  for (const [i, q] of questions.entries()) {
    const wrong = i === 0;
    if (q.type === 'MultipleChoice') {
      const choices = wrong ? [q.prompt.distractors[0]] : [q.answer.answer].flat();
      for (const c of choices) await quiz.locator(`.response input[value="${c.replaceAll('"', '\\"')}"]`).check();
    } else {
      await quiz.locator('.response input[type=text], .response textarea').first().fill(wrong ? 'certainly not this' : q.answer.answer);
    }
    await quiz.locator('.response input[type=submit]').click();
  }
  await quiz.locator('section').waitFor();
  return questions.length;
}

const row = (name) => page.locator(`#quiz-progress tr[data-quiz="${name}"]`);
const rowText = async (name) => (await row(name).innerText()).replace(/\s+/g, ' ');

try {
  // ---- the progress page lists every quiz, none answered ----
  await open('progress.html');
  const names = await page.locator('#quiz-progress tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.quiz));
  const quizFiles = fs.readdirSync(path.join(repo, 'src', 'quizzes')).filter((f) => f.endsWith('.toml'));
  if (names.length === 0) fail('the progress page lists no quiz');
  for (const f of quizFiles) {
    if (!names.includes(f.replace(/\.toml$/, ''))) fail(`the progress page does not list the quiz src/quizzes/${f}`);
  }
  for (const n of names) if (!(await rowText(n)).includes('not answered')) fail(`${n}: shown as answered before any answer`);

  // ---- answer two quizzes on their pages ----
  const answered = [];
  for (const name of names.slice(0, 2)) {
    await open('progress.html');
    const href = await row(name).locator('a').getAttribute('href');
    await open(href);
    const total = await answerFirstQuiz();
    answered.push({ name, total, href });
  }
  // Stored under this course's path, never under mdbook-quiz's bare key.
  const keys = await page.evaluate(() => Object.keys(window.localStorage));
  for (const { name } of answered) {
    if (!keys.includes(`${BASE}mdbook-quiz:${name}`)) fail(`quiz ${name}: no answer stored under ${BASE}mdbook-quiz:${name} (keys: ${keys.join(', ')})`);
  }
  if (keys.some((k) => k.startsWith('mdbook-quiz:'))) fail(`answers stored under a key not scoped to the course: ${keys.join(', ')}`);

  // ---- the progress page shows their scores ----
  await open('progress.html');
  for (const { name, total } of answered) {
    const text = await rowText(name);
    if (!text.includes('answered') || text.includes('not answered') || !text.includes(`${total - 1}/${total}`)) {
      fail(`quiz ${name}: answered ${total - 1} of ${total} rightly, the progress page says "${text}"`);
    }
  }
  await page.screenshot({ path: path.join(shots, 'progress.png'), fullPage: true });

  // ---- reset one: gone here, and its page offers a fresh quiz ----
  const [first, second] = answered;
  await row(first.name).locator('button.quiz-reset').click();
  if (!(await rowText(first.name)).includes('not answered')) fail(`quiz ${first.name}: still shown as answered after its reset`);
  await open('progress.html');
  if (!(await rowText(first.name)).includes('not answered')) fail(`quiz ${first.name}: answered again after reset and reload`);
  if (!(await rowText(second.name)).includes(`${second.total - 1}/${second.total}`)) fail(`quiz ${second.name}: resetting ${first.name} also reset it`);
  await open(first.href);
  if (await page.locator('.quiz-placeholder').first().locator('button.start').count() !== 1) fail(`quiz ${first.name}: its page still shows the old answers after a reset`);

  // ---- reset all ----
  await open('progress.html');
  await page.locator('#quiz-reset-all').click();
  for (const n of names) if (!(await rowText(n)).includes('not answered')) fail(`${n}: still answered after "Reset every quiz"`);
  const left = await page.evaluate(() => Object.keys(window.localStorage).filter((k) => k.includes('mdbook-quiz:')));
  if (left.length) fail(`after "Reset every quiz", stored answers remain: ${left.join(', ')}`);

  // ---- print page and search index hold the questions, not the answers ----
  await open('print.html');
  // The quizzes as built (the script may have re-rendered the placeholders).
  const unescape = (s) => s.replace(/&#92;/g, '\\').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x27;/g, "'").replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  const built = fs.readFileSync(path.join(site, 'print.html'), 'utf8');
  const placeholders = [...built.matchAll(/<div class="quiz-placeholder" data-quiz-name="([^"]*)" data-quiz-questions="([^"]*)"/g)]
    .map(([, name, questions]) => ({ name: JSON.parse(unescape(name)), questions: JSON.parse(unescape(questions)).questions }));
  // The print page is long: under load, networkidle can come before the
  // document has finished parsing (readyState still "loading").
  await page.waitForFunction(() => document.readyState === 'complete', null, { timeout: TIMEOUT_MS });
  const texts = await page.locator('.quiz-text').allTextContents();
  const printed = texts.join(' ').replace(/\s+/g, ' ');
  const indexFile = fs.readdirSync(site).find((f) => /^searchindex.*\.js$/.test(f));
  const index = indexFile ? fs.readFileSync(path.join(site, indexFile), 'utf8') : '';
  if (!indexFile) fail('the site has no searchindex*.js');
  const plain = (s) => s.replace(/[`*_]/g, '').replace(/\s+/g, ' ').trim();
  // Four words in a row without quotes or symbols, to find in the index's JSON.
  const phrase = (s) => {
    const w = plain(s).split(' ');
    for (let i = 0; i + 4 <= w.length; i++) if (w.slice(i, i + 4).every((x) => /^[A-Za-z0-9,.-]+$/.test(x))) return w.slice(i, i + 4).join(' ');
    return w.slice(0, 2).join(' ');
  };
  if (placeholders.length < quizFiles.length) fail(`the print page has ${placeholders.length} quizzes, the book ${quizFiles.length}`);
  for (const { name, questions } of placeholders) {
    for (const q of questions) {
      const start = plain(q.prompt.prompt).split(' ').slice(0, 8).join(' ');
      if (!plain(printed).includes(start)) fail(`print page: quiz ${name} lacks the question "${start}…"`);
      if (!index.includes(phrase(q.prompt.prompt))) fail(`search index: quiz ${name} lacks the question "${phrase(q.prompt.prompt)}"`);
      const answer = [q.answer.answer].flat().join(' ');
      if (answer.length > 12 && printed.includes(answer)) fail(`print page: quiz ${name} shows the answer "${answer}"`);
    }
  }
  await page.emulateMedia({ media: 'print' });
  if (!(await page.locator('.quiz-text').first().isVisible())) fail('print page: the questions are not visible when printed');
} catch (e) {
  fail(`the progress test crashed: ${e.message.split('\n')[0]}`);
}

await browser.close();
server.close();
for (const n of notes) console.log(`NOTE ${n}`);
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`browser progress: ${failures.length} problem(s)`);
process.exit(failures.length === 0 ? 0 : 1);
