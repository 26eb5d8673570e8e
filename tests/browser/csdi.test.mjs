// The CSDI demo in headless Chromium: the shipped PM10 data and weights load, one window is
// imputed on each backend with a small nsample and its band drawn, a painted stretch travels
// through a shared link, bad CSVs get a message naming the row and column, and fine-tuning runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowser, openPage } from './harness.mjs';

const LONG = { timeout: 900_000 };
// Window 45 of 51 lies in the test split (the last 20 % of the days).
const TEST_WINDOW = 45;
let browser;
before(async () => { browser = await startBrowser({ webgpu: true }); });
after(async () => { await browser?.close(); });

async function openCsdi(backend, extra = '') {
  const opened = await openPage(browser, `#demo=csdi&backend=${backend}&window=${TEST_WINDOW}&seed=3${extra}`);
  await opened.page.evaluate(() => window.genlab.live('csdi').ready());
  return opened;
}

const state = (page) => page.evaluate(() => window.genlab.live('csdi').state());

function assertBand(result, features) {
  assert.equal(result.median.length, 36 * features);
  // The median is torch.median's (the lower middle sample) and the band linearly interpolated,
  // as the paper computes them: with fewer than 10 samples the median may sit just outside it.
  const inBand = result.nsample >= 10;
  for (let c = 0; c < result.median.length; c++) {
    assert.ok(result.low[c] <= result.high[c] + 1e-3, `cell ${c}: band ${result.low[c]}…${result.high[c]}`);
    if (inBand) assert.ok(result.low[c] <= result.median[c] + 1e-3 && result.median[c] <= result.high[c] + 1e-3, `cell ${c}: ${result.low[c]} ≤ ${result.median[c]} ≤ ${result.high[c]}`);
  }
  assert.ok(result.n_eval > 0);
  for (const v of [result.csdi.crps, result.csdi.mae, result.csdi.rmse]) assert.ok(Number.isFinite(v) && v >= 0, `score ${v}`);
  assert.deepEqual(result.baselines.map(([name]) => name).sort(), ['linear', 'locf', 'mean']);
}

// The band's fill colour is on the chart: it was drawn, not only computed.
async function bandPixels(page) {
  const pixels = await page.evaluate(() => window.genlab.live('csdi').chartPixels());
  let count = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
    if (a > 0 && a < 128 && b > r && b > g) count += 1;
  }
  return count;
}

for (const [backend, nsample] of [['cpu', 100], ['webgpu', 2]]) {
  test(`the shipped data and weights impute a test window with its band on ${backend}`, LONG, async () => {
    const { page, consoleErrors } = await openCsdi(backend, `&nsample=${nsample}`);
    const s = await state(page);
    assert.equal(s.backend, backend);
    assert.equal(s.info.features, 35);
    assert.equal(s.info.rows, 1826);
    assert.equal(s.window.part, 'test');
    assert.equal(s.weights, 'Shipped weights (small network).');
    assert.equal(s.model.config, 'small');
    assert.equal(s.model.dataset, 'air-pm10');
    assert.ok(s.resultCurrent, 'the window was imputed on opening');
    if (backend === 'cpu') {
      assert.ok(s.result.nsample < nsample, 'the CPU path draws fewer samples');
      assert.match(s.imputeStatus, new RegExp(`draws at most ${s.result.nsample}; the link asks for ${nsample}`));
    } else {
      assert.equal(s.result.nsample, nsample);
    }
    assert.equal(s.progress.done, s.progress.total);
    assertBand(s.result, 35);
    assert.ok(await bandPixels(page) > 500, 'the band is drawn');
    assert.equal(await page.locator('#ts-scores tr').count(), 5, 'CSDI and three baselines scored');
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });
}

test('a painted stretch is hidden, re-imputed and reproduced through a shared link (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openCsdi('cpu', '&nsample=4&hide-ratio=0');
  const before = await state(page);
  assert.equal(before.result.n_eval, 0, 'hide-ratio 0 and nothing painted: nothing hidden');
  // Feature 2, days 10–17 of the window.
  await page.evaluate(() => window.genlab.live('csdi').paint(2, 10, 17));
  await page.evaluate(() => window.genlab.live('csdi').ready());
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /hide=2%3A10-17/);
  const painted = await state(page);
  assert.ok(painted.resultCurrent);
  const hiddenCells = painted.result.hidden.flatMap((h, c) => (h ? [[Math.floor(c / 35), c % 35]] : []));
  assert.ok(hiddenCells.length > 0);
  assert.ok(hiddenCells.every(([t, f]) => f === 2 && t >= 10 && t <= 17), `hidden: ${JSON.stringify(hiddenCells)}`);
  assert.equal(painted.result.n_eval, hiddenCells.length);
  // The stretch is shaded on feature 2's chart, a small one next to the picked feature 0's
  // (translucent orange), and on no other.
  const shaded = await page.evaluate(() => [...document.querySelectorAll('#ts-small canvas')].map((c) => {
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let count = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i + 3] < 128 && data[i] > data[i + 2]) count += 1;
    return [Number(c.dataset.feature), count];
  }));
  for (const [feature, count] of shaded) {
    assert.ok(feature === 2 ? count > 500 : count === 0, `feature ${feature}: ${count} shaded pixels`);
  }
  // wasm writes the link's grammar: a drag from right to left gives the same stretch.
  const added = await page.evaluate(async () => (await import('/pkg/genlab.js')).addHiddenStretch('2:10-17', 4, 9, 3));
  assert.equal(added, '2:10-17,4:3-9');
  await page.close();

  const other = await openPage(browser, hash);
  await other.page.evaluate(() => window.genlab.live('csdi').ready());
  const again = await state(other.page);
  assert.deepEqual(again.result.hidden, painted.result.hidden);
  assert.deepEqual(again.result.median, painted.result.median, 'same link, seed and backend: same imputation');
  assert.deepEqual([...consoleErrors, ...other.consoleErrors], []);
  await other.page.close();
});

test('CSV upload: errors name the row and column and keep the page; another shape gets a fresh model that fine-tunes (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openCsdi('cpu', '&nsample=2');
  const live = (f, ...args) => page.evaluate(([f, args]) => window.genlab.live('csdi')[f](...args), [f, args]);
  // 40 rows each (more than a window), one fault each; the header is row 1.
  const rows = (fault) => ['date,a,b', ...Array.from({ length: 40 }, (_, i) => (i === 9 ? fault : `2020-01-${String(i + 1).padStart(2, '0')},${i},${2 * i}`))].join('\n');
  const ragged = await live('uploadCsv', 'ragged.csv', rows('2020-01-10,3'));
  assert.equal(ragged.ok, false);
  assert.match(ragged.message, /row 11/);
  assert.match(ragged.message, /missing/);
  const text = await live('uploadCsv', 'text.csv', rows('2020-01-10,3,high'));
  assert.equal(text.ok, false);
  assert.match(text.message, /row 11/);
  assert.match(text.message, /column 3|"b"|`b`/);
  assert.match(text.message, /not a number/);
  const kept = await state(page);
  assert.equal(kept.info.name, 'air-pm10', 'the current series stays');

  // Two sine features over 120 days with gaps: not the shipped shape, so a fresh model.
  let csv = 'day,s,c\n';
  for (let t = 0; t < 120; t++) csv += `${t},${t % 9 === 4 ? '' : Math.sin(t / 5).toFixed(4)},${Math.cos(t / 7).toFixed(4)}\n`;
  const uploaded = await live('uploadCsv', 'waves.csv', csv);
  assert.equal(uploaded.ok, true);
  await live('ready');
  const s = await state(page);
  assert.equal(s.info.features, 2);
  assert.match(s.weights, /Fresh weights/);
  assert.ok(s.resultCurrent);
  const run = await live('train', 3, { batch: 4 });
  assert.equal(run.losses.length, 3);
  assert.ok(run.losses.every((l) => Number.isFinite(l) && l > 0), `losses ${run.losses}`);
  const result = await live('impute');
  assert.equal(result.median.length, 36 * 2);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a CSV uploaded while a window is being imputed replaces the series cleanly (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openCsdi('cpu', '&nsample=100');
  let csv = 'day,s,c\n';
  for (let t = 0; t < 120; t++) csv += `${t},${Math.sin(t / 5).toFixed(4)},${t % 11 === 3 ? '' : Math.cos(t / 7).toFixed(4)}\n`;
  // The upload lands while the imputation awaits its reverse steps on the old series.
  const uploaded = await page.evaluate(async (csv) => {
    const live = window.genlab.live('csdi');
    const imputing = live.impute();
    await new Promise((r) => setTimeout(r, 0));
    const result = await live.uploadCsv('mid-imputation.csv', csv);
    return { result, abandoned: await imputing };
  }, csv);
  assert.equal(uploaded.result.ok, true, uploaded.result.message);
  assert.equal(uploaded.abandoned, null, 'the old imputation stops');
  await page.evaluate(() => window.genlab.live('csdi').ready());
  const s = await state(page);
  assert.equal(s.info.features, 2);
  assert.ok(s.resultCurrent, 'the new series is imputed');
  assert.deepEqual(await page.evaluate(() => window.genlab.errors()), []);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('fine-tuning the shipped weights on the shipped series runs in the tab (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openCsdi('cpu', '&nsample=2&strategy=random');
  const run = await page.evaluate(() => window.genlab.live('csdi').train(2, { batch: 4 }));
  assert.equal(run.losses.length, 2);
  assert.ok(run.losses.every((l) => Number.isFinite(l) && l > 0), `losses ${run.losses}`);
  const s = await state(page);
  assert.equal(s.model.steps > 0, true);
  assert.ok(Math.abs(s.model.learning_rate - 1e-4) < 1e-12, 'pretrained weights fine-tune at the lower rate');
  // Pause holds the loop between steps; Stop during a pause ends the run and resets the buttons.
  const paused = await page.evaluate(async () => {
    const live = window.genlab.live('csdi');
    const status = () => document.querySelector('#ts-train-status').textContent;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const pending = live.train(10_000, { batch: 4 });
    while (!/step [1-9]/.test(status())) await sleep(50);
    document.querySelector('#ts-pause').click();
    const pauseLabel = document.querySelector('#ts-pause').textContent;
    await sleep(3000);
    const held = status();
    await sleep(2000);
    const stillHeld = status();
    document.querySelector('#ts-train').click();
    const run = await pending;
    return { pauseLabel, held, stillHeld, steps: run.steps, trainLabel: document.querySelector('#ts-train').textContent, pauseDisabled: document.querySelector('#ts-pause').disabled };
  });
  assert.equal(paused.pauseLabel, 'Resume');
  assert.equal(paused.held, paused.stillHeld, 'no step ran while paused');
  assert.ok(paused.steps >= 1 && paused.steps < 10_000, `${paused.steps} steps`);
  assert.equal(paused.trainLabel, 'Fine-tune');
  assert.equal(paused.pauseDisabled, true);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('network=paper imputes with the shipped paper-size weights, and switching back reloads the small ones (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openCsdi('cpu', '&nsample=2&network=paper');
  const paper = await state(page);
  assert.equal(paper.weights, 'Shipped weights (paper network).');
  assert.equal(paper.model.config, 'paper');
  assert.ok(paper.model.parameters > 400_000, `${paper.model.parameters} parameters`);
  assert.ok(paper.resultCurrent);
  assertBand(paper.result, 35);
  await page.evaluate(() => { location.hash = location.hash.replace('network=paper', 'network=small'); });
  await page.waitForFunction(() => window.genlab.live('csdi').state().model?.config === 'small');
  await page.evaluate(() => window.genlab.live('csdi').ready());
  const small = await state(page);
  assert.equal(small.weights, 'Shipped weights (small network).');
  assert.ok(small.resultCurrent, 'the window was imputed again with the small network');
  assert.notDeepEqual(small.result.median, paper.result.median);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});
