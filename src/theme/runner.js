// "Run on this machine" for every block whose caption names a listing crate.
//
// `cargo xtask serve` starts a local runner (listing-runner/) and gives the
// served book its address and token in `window.LISTING_RUNNER`. When the page
// can reach it, each such block gets Run and Stop buttons; the output of the
// reader's run streams in beside the output printed on the page ("ours" /
// "yours"). Without a runner (the published site, plain `mdbook serve`) the
// block shows its `cargo run -p ...` command with a copy button instead.
// Output is only ever inserted as text, never as HTML.
(function () {
  'use strict';

  const LISTING = /^listings\/([a-z0-9][a-z0-9-]*)\//;

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // The page's own `cargo run -p NAME ...` lines (its output.txt blocks and
  // console blocks), first one first: the command a reader would type, and
  // the block that shows what our run printed.
  function pageCommands() {
    const found = [];
    document.querySelectorAll('main pre code').forEach((code) => {
      const lines = code.textContent.split('\n');
      lines.forEach((line, i) => {
        const m = line.match(/^\$?\s*(cargo run\b.*?)\s*$/);
        const pkg = m && m[1].match(/(?:-p|--package)\s+([a-z0-9-]+)/);
        if (pkg) found.push({ name: pkg[1], command: m[1], ours: i === 0 && line.startsWith('$ ') ? code.textContent : null });
      });
    });
    return found;
  }

  function captionedBlocks() {
    const blocks = [];
    document.querySelectorAll('main span.caption').forEach((caption) => {
      const code = caption.querySelector('code');
      const m = code && code.textContent.match(LISTING);
      if (!m) return;
      const holder = caption.closest('p') || caption;
      const pre = holder.nextElementSibling;
      if (!pre || pre.tagName !== 'PRE') return;
      blocks.push({ name: m[1], pre, id: `${location.pathname}#${blocks.length}` });
    });
    return blocks;
  }

  function copyButton(text) {
    const button = el('button', 'listing-copy', 'Copy');
    button.type = 'button';
    button.title = 'Copy the command';
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Select and copy';
      }
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    });
    return button;
  }

  function commandBar(block, command, label = 'Run it yourself:') {
    const bar = el('div', 'listing-run listing-run-offline');
    bar.append(el('span', 'listing-run-label', label), el('code', 'listing-command', command), copyButton(command));
    block.pre.after(bar);
  }

  // Server-sent events from a fetch body (EventSource cannot send a token).
  async function readEvents(response, onEvent) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let name = 'message';
        let data = '';
        for (const line of raw.split('\n')) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '');
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  }

  function runnerBar(block, listing, runner, ours) {
    const bar = el('div', 'listing-run');
    const choice = el('select', 'listing-args');
    listing.commands.forEach((c, i) => choice.append(new Option(c.command, String(i))));
    const run = el('button', 'listing-run-button', 'Run on this machine');
    const stop = el('button', 'listing-stop-button', 'Stop');
    run.type = stop.type = 'button';
    stop.disabled = true;
    const state = el('span', 'listing-state');
    bar.append(run, stop);
    if (listing.commands.length > 1) bar.append(choice);
    else bar.append(el('code', 'listing-command', listing.commands[0].command));
    bar.append(state);

    const panel = el('div', 'listing-output');
    panel.hidden = true;
    const build = el('details', 'listing-build');
    const buildText = el('pre');
    build.append(el('summary', null, "cargo's progress"), buildText);
    const observe = el('div', 'listing-observe');
    observe.hidden = true;
    const columns = el('div', 'listing-columns');
    const yoursBox = el('div', 'listing-yours');
    const yours = el('pre');
    yoursBox.append(el('div', 'listing-heading', 'yours (this machine)'), yours);
    if (ours) {
      const oursBox = el('div', 'listing-ours');
      oursBox.append(el('div', 'listing-heading', 'ours (printed on this page)'), el('pre', null, ours));
      columns.append(oursBox);
    }
    columns.append(yoursBox);
    const exit = el('div', 'listing-exit');
    panel.append(build, observe, columns, exit);
    block.pre.after(bar, panel);

    let generation = 0;
    let controller = null;
    const headers = { 'content-type': 'application/json', 'x-runner-token': runner.token };

    run.addEventListener('click', async () => {
      const mine = ++generation;
      if (controller) controller.abort();
      controller = new AbortController();
      const set = listing.commands[Number(choice.value || 0)];
      panel.hidden = false;
      build.open = true;
      buildText.textContent = '';
      yours.textContent = '';
      exit.textContent = '';
      observe.hidden = true;
      observe.textContent = '';
      panel.removeAttribute('data-first-output-ms');
      panel.dataset.state = 'building';
      state.textContent = 'building…';
      stop.disabled = false;
      const clicked = performance.now();
      let first = null;
      const onEvent = (name, data) => {
        if (mine !== generation) return;
        if (name === 'build') {
          buildText.textContent += data;
        } else if (name === 'started') {
          build.open = false;
          panel.dataset.state = 'running';
          panel.dataset.pid = String(data.pid);
          state.textContent = `running, PID ${data.pid}`;
          yours.append(el('span', 'listing-typed', `$ ${data.command}\n`));
          if (data.try.length) {
            observe.hidden = false;
            observe.append(el('span', null, `PID ${data.pid} is alive; look at it from a terminal:`));
            const list = el('ul');
            for (const command of data.try) {
              const item = el('li');
              item.append(el('code', null, command), copyButton(command));
              list.append(item);
            }
            observe.append(list);
          }
        } else if (name === 'output') {
          if (first === null) {
            first = performance.now() - clicked;
            panel.dataset.firstOutputMs = first.toFixed(0);
          }
          yours.append(document.createTextNode(data));
        } else if (name === 'note') {
          yours.append(el('span', 'listing-note', `\n[runner: ${data}]\n`));
        } else if (name === 'exit') {
          const wall = data.wall_ms >= 1000 ? `${(data.wall_ms / 1000).toFixed(2)} s` : `${data.wall_ms.toFixed(0)} ms`;
          exit.textContent = `${data.status}, wall time ${wall}${data.ended ? ` — ${data.ended}` : ''}`;
          panel.dataset.state = 'exited';
          state.textContent = data.success ? 'done' : 'ended';
          stop.disabled = true;
          observe.hidden = true;
        } else if (name === 'error') {
          exit.textContent = data;
          panel.dataset.state = 'failed';
          state.textContent = 'failed';
          stop.disabled = true;
          build.open = true;
        }
      };
      try {
        const response = await fetch(`${runner.url}/api/run`, {
          method: 'POST', headers, signal: controller.signal,
          body: JSON.stringify({ block: block.id, listing: listing.name, args: set.args }),
        });
        if (!response.ok) {
          onEvent('error', `the runner refused (${response.status}): ${(await response.text()).trim()}`);
          return;
        }
        await readEvents(response, onEvent);
        if (mine === generation && panel.dataset.state !== 'exited' && panel.dataset.state !== 'failed') {
          onEvent('error', 'the runner closed the stream before the run ended');
        }
      } catch (e) {
        if (mine === generation && e.name !== 'AbortError') onEvent('error', `cannot reach the runner: ${e.message}`);
      }
    });

    stop.addEventListener('click', async () => {
      state.textContent = 'stopping…';
      try {
        await fetch(`${runner.url}/api/stop`, { method: 'POST', headers, body: JSON.stringify({ block: block.id }) });
      } catch (e) {
        state.textContent = `cannot reach the runner: ${e.message}`;
      }
    });
  }

  async function start() {
    const blocks = captionedBlocks();
    if (blocks.length === 0) return;
    const commands = pageCommands();
    const commandFor = (name) => commands.find((c) => c.name === name);
    const runner = window.LISTING_RUNNER;
    let catalog = null;
    if (runner && runner.url && runner.token) {
      try {
        const response = await fetch(`${runner.url}/api/listings`, { headers: { 'x-runner-token': runner.token } });
        if (response.ok) catalog = (await response.json()).listings;
      } catch {
        catalog = null; // the runner is not running: offer the command instead
      }
    }
    for (const block of blocks) {
      // A listing that must not compile is outside the workspace: no Run,
      // and its output.txt command is run from its own folder.
      if (block.pre.querySelector('code.compile_fail')) {
        commandBar(block, `cd listings/${block.name} && cargo build`, 'Compile it yourself:');
        continue;
      }
      const listing = catalog && catalog.find((l) => l.name === block.name);
      const onPage = commandFor(block.name);
      if (listing) {
        const ours = commands.find((c) => c.name === block.name && c.ours)?.ours ?? null;
        runnerBar(block, listing, runner, ours);
      } else {
        commandBar(block, onPage ? onPage.command : `cargo run -p ${block.name}`);
      }
    }
    document.documentElement.dataset.listingRunner = catalog ? 'connected' : 'offline';
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
