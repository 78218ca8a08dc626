// The UI in a real browser: Debian's chromium driven by playwright-core (from build/web), against
// the platform as `make run OFFLINE=1` starts it (tools/ui-test.sh). Every page loads with no
// console error and draws; a workflow started from the Queues form reaches `finished` without a
// reload; a live queue stopped from the UI ends `interrupted`; the Kafka page shows live
// messages; the graph and the model card render. Screenshots go to $ARTIFACTS.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || '../build/web/node_modules/playwright-core');
const UI = process.env.UI_URL;
const ART = process.env.ARTIFACTS || 'build/ui-artifacts';
mkdirSync(ART, { recursive: true });

const failures = [];
const fail = (what) => { failures.push(what); console.log('FAIL: ' + what); };
const ok = (what) => console.log('ok: ' + what);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

// Does a canvas under `selector` hold a drawing (more than one colour)?
async function drawn(selector) {
  return page.evaluate((sel) => {
    for (const c of document.querySelectorAll(sel + ' canvas, canvas' + sel)) {
      if (!c.width || !c.height) continue;
      const g = c.getContext('2d');
      if (!g) continue;
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const first = d.slice(0, 4).join(',');
      let other = 0;
      for (let i = 0; i < d.length; i += 4 * 97) {
        if (d.slice(i, i + 4).join(',') !== first) other++;
        if (other > 20) return true;
      }
    }
    return false;
  }, selector);
}

async function visit(name, hash, check) {
  const before = consoleErrors.length;
  await page.goto('about:blank');  // a fresh page each time, not only a hash change
  await page.goto(UI + '/' + hash);
  try {
    await check();
    ok(name);
  } catch (e) {
    fail(`${name}: ${e.message}`);
  }
  await page.screenshot({ path: `${ART}/${name}.png`, fullPage: true });
  if (consoleErrors.length > before) fail(`${name}: console errors: ${consoleErrors.slice(before).join(' | ')}`);
}

const until = async (what, f, ms = 60000) => {
  const end = Date.now() + ms;
  for (;;) {
    if (await f()) return;
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await page.waitForTimeout(250);
  }
};
const statusOf = (id) => page.evaluate((qid) => {
  const row = document.querySelector(`tr.queue[data-id="${qid}"] [data-status]`);
  return row ? row.textContent : null;
}, id);

// Queues: the sample workflow is listed; start one from the form and see it finish, no reload.
let tradesQueue = null;
await visit('queues', '#/queues', async () => {
  await page.waitForSelector('tr.queue');
  await page.fill('input[name=symbol]', 'BTCUSDT');
  await page.fill('input[name=type]', 'api_trades');
  await page.fill('input[name=time_range]', '2024-08-08:2024-08-09');
  await page.click('#start-form');
  await page.waitForSelector('#start-result:has-text("started wf-")', { timeout: 15000 });
  tradesQueue = (await page.textContent('#start-result')).replace('started ', '').trim();
  await until('the form\'s queue to finish', async () => (await statusOf(tradesQueue)) === 'finished', 120000);
});

// A live queue stopped from the UI ends interrupted; meanwhile the Kafka page shows its messages.
let liveQueue = null;
await visit('queues-stop', '#/queues', async () => {
  await page.click('#seed-historical');  // the seed examples fill the box
  const seeded = await page.inputValue('#workflow');
  if (!seeded.includes('gnn_train')) throw new Error('the historical seed example is not in the box');
  await page.fill('#workflow', JSON.stringify({ symbol: 'BTCUSDT', type: 'ws_trades' }));
  await page.click('#start-json');
  await page.waitForSelector('#start-result:has-text("started wf-realtime")', { timeout: 15000 });
  liveQueue = (await page.textContent('#start-result')).replace('started ', '').trim();
  await until('the live queue to load', async () => ['loading', 'started'].includes(await statusOf(liveQueue)), 30000);
});
await visit('kafka-topic', '#/topic?topic=queue-events', async () => {  // telemetry of the live queue, every second
  await page.waitForSelector('#feed .msg', { timeout: 30000 });
});
await visit('events', '#/events', async () => {
  await page.waitForSelector('#feed .msg', { timeout: 30000 });
});
await visit('queues-stopped', '#/queues', async () => {
  await page.waitForSelector(`button[data-stop="${liveQueue}"]`);
  await page.click(`button[data-stop="${liveQueue}"]`);
  await until('the live queue to be interrupted', async () => (await statusOf(liveQueue)) === 'interrupted', 60000);
});

// Figures for the benchmark table (printed, not asserted): the dashboard's transferred bytes and
// the time from navigation to a drawn candlestick chart.
{
  await page.goto('about:blank');
  const t0 = Date.now();
  await page.goto(UI + '/#/candles?collection=btc_candles_5m_2024_06&symbol=BTCUSDT&limit=2000');
  await until('the first chart', () => drawn('#chart'), 20000).catch(() => {});
  const first = Date.now() - t0;
  const bytes = await page.evaluate(() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
    .reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0));
  console.log(`bench: page weight ${(bytes / 1024).toFixed(0)} KiB (2,000 candles of data included), first chart ${first} ms`);
}

// Charts draw (their canvases are not blank).
await visit('candles', '#/candles?collection=btc_candles_5m_2024_06&symbol=BTCUSDT&limit=2000', async () => {
  await page.waitForSelector('#info:has-text("candles")');
  await until('the candlestick chart to draw', () => drawn('#chart'), 15000);
});
await visit('indicators', '#/indicators?collection=btc_candles_5m_2024_06&symbol=BTCUSDT&limit=800', async () => {
  await page.waitForSelector('#price canvas');
  await until('the indicator charts to draw', () => drawn('#price'), 15000);
});
await visit('heatmap', '#/heatmap?collection=btc_trades_2024_08&symbol=BTCUSDT&bucket_ms=60000&bins=30', async () => {
  await page.waitForSelector('#info:has-text("trades")');
  await until('the heatmap to draw', () => drawn('#heat'), 15000);
});
await visit('graph', '#/graph?collection=btc_graph_2024_06&bars=30', async () => {
  await page.waitForSelector('#info:has-text("nodes")');
  await until('the graph to draw', () => drawn('#cy'), 15000);
  // Click a node where cytoscape drew it: its features appear.
  const at = await page.evaluate(() => { const p = window.sfGraph.nodes()[5].renderedPosition(); return { x: p.x, y: p.y }; });
  const box = await page.locator('#cy').boundingBox();
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForSelector('#node td:has-text("ret_1")', { timeout: 5000 });
});
await visit('gnn', '#/gnn?model=gnn_model_btc_2024_06', async () => {
  await page.waitForSelector('#verdict');
  const verdict = await page.textContent('#verdict');
  if (!/test bars/.test(verdict)) throw new Error('no verdict: ' + verdict);
  const rows = await page.locator('#scores tbody tr').count();
  if (rows !== 4) throw new Error(`${rows} score rows, expected the model and three baselines`);
  await until('the predictions chart to draw', () => drawn('#chart'), 15000);
});

await browser.close();
if (failures.length) {
  console.log(`${failures.length} failures; screenshots in ${ART}`);
  process.exit(1);
}
console.log(`PASS: every page loaded and drew; screenshots in ${ART}`);
