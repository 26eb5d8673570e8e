// The real page in headless Chromium: WebGPU (SwiftShader), forced CPU, and no WebGPU at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PNG } from 'pngjs';
import { startBrowser, openPage } from './harness.mjs';

const LONG = { timeout: 300_000 };
let browser;
before(async () => { browser = await startBrowser({ webgpu: true }); });
after(async () => { await browser?.close(); });

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
function assertLossFalls(losses) {
  assert.ok(losses.length >= 6, `only ${losses.length} losses`);
  assert.ok(losses.every(Number.isFinite), `non-finite loss in ${losses}`);
  const k = Math.max(3, Math.floor(losses.length / 4));
  const first = mean(losses.slice(0, k));
  const last = mean(losses.slice(-k));
  assert.ok(last < first, `loss did not fall: first ${first}, last ${last} (${losses.map((l) => l.toFixed(3))})`);
}

test('page loads on WebGPU with no console errors and names the adapter', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#backend=webgpu');
  assert.equal(await page.textContent('#status-backend'), 'webgpu');
  assert.equal(await page.textContent('#status-fallback'), 'no');
  const adapter = await page.textContent('#status-adapter');
  assert.ok(adapter && adapter !== 'none (CPU)', `adapter: ${adapter}`);
  assert.equal(await page.getAttribute('#tabs button[data-demo="langevin"]', 'aria-selected'), 'true');
  assert.ok(await page.isVisible('#lv-canvas'), 'the Langevin demo is live');
  await page.click('#tabs button[data-demo="csdi"]');
  assert.ok(await page.isVisible('#ts-chart'), 'the CSDI demo is live');
  assert.match(new URL(page.url()).hash, /demo=csdi/);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('training on WebGPU really uses the wgpu backend and the loss falls', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#backend=webgpu');
  const run = await page.evaluate(async () => {
    const r = await window.genlab.train(12);
    return { backend: r.backend, losses: r.losses };
  });
  assert.equal(run.backend, 'webgpu', 'the model must live on the wgpu device, not a silent CPU fallback');
  assertLossFalls(run.losses);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('forced CPU trains, the loss falls, and the page is not blank', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#backend=cpu');
  assert.equal(await page.textContent('#status-adapter'), 'none (CPU)');
  assert.match(await page.textContent('#backend-reason'), /CPU forced/);
  const run = await page.evaluate(async () => {
    const r = await window.genlab.train(40);
    return { backend: r.backend, losses: r.losses };
  });
  assert.equal(run.backend, 'cpu');
  assertLossFalls(run.losses);
  assert.match(await page.textContent('#train-status'), /cpu: step 40\/40/);

  const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
  const colours = new Set();
  for (let i = 0; i < png.data.length; i += 4 * 97) colours.add(png.data.readUInt32BE(i));
  assert.ok(colours.size > 20, `screenshot looks blank (${colours.size} colours)`);
  const plot = PNG.sync.read(await page.locator('#loss-plot').screenshot());
  let blue = 0;
  for (let i = 0; i < plot.data.length; i += 4) if (plot.data[i + 2] > 180 && plot.data[i] < 120) blue += 1;
  assert.ok(blue > 100, `the loss curve was not drawn (${blue} curve pixels)`);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('auto times both backends on the workload and shows the decision', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#backend=auto');
  // The workload the backend check calibrates is wasm's, and the page describes it as wasm does.
  const workload = await page.evaluate(async () => (await import('/pkg/genlab.js')).calibrationWorkloads().langevin);
  assert.equal(workload.name, 'mlp2d');
  assert.equal(await page.textContent('#check-summary'), workload.summary);
  await page.click('#calibrate');
  await page.waitForFunction(() => /^auto → /.test(document.querySelector('#decision').textContent), null, { timeout: 120_000 });
  const decision = await page.evaluate(() => window.genlab.calibrate('mlp2d'));
  const backends = decision.timings.map((t) => t.backend).sort();
  assert.deepEqual(backends, ['cpu', 'webgpu']);
  const fastest = decision.timings.reduce((a, b) => (b.steps_per_s > a.steps_per_s ? b : a));
  assert.equal(decision.chosen, fastest.backend);
  const shown = await page.textContent('#decision');
  assert.match(shown, new RegExp(`auto → ${decision.chosen} for mlp2d`));
  assert.match(shown, /steps\/s/);
  const run = await page.evaluate(async () => (await window.genlab.train(6)).backend);
  assert.equal(run, decision.chosen);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a link with state reloads into the same state', LONG, async () => {
  const hash = '#demo=mnist&backend=cpu&dataset=fashion&guidance=2.5&seed=7&class=3';
  const { page, consoleErrors } = await openPage(browser, hash);
  const before = await page.evaluate(() => window.genlab.view());
  assert.equal(before.demo, 'mnist');
  assert.deepEqual(before.notices, []);
  assert.equal(before.params.dataset, 'fashion');
  assert.equal(before.params.guidance, 2.5);
  assert.equal(before.params.seed, 7);
  assert.equal(before.params.class, '3');
  assert.equal(await page.inputValue('#params [name="guidance"]'), '2.5');
  assert.equal(await page.inputValue('#params [name="class"]'), '3');
  assert.equal(await page.getAttribute('#tabs button[data-demo="mnist"]', 'aria-selected'), 'true');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  const after = await page.evaluate(() => window.genlab.view());
  assert.deepEqual(after, before);
  assert.equal(new URL(page.url()).hash.slice(1), before.hash);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('an old link\'s class=-1 opens every class, spelled as links spell it now', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#demo=mnist&backend=cpu&dataset=mnist&class=-1&seed=2');
  const view = await page.evaluate(() => window.genlab.view());
  assert.deepEqual(view.notices, []);
  assert.equal(view.params.class, 'all');
  assert.equal(await page.inputValue('#params [name="class"]'), 'all');
  assert.equal(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('class'), 'all');
  assert.equal(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('seed'), '2');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('switching the image dataset starts from that dataset\'s default guidance weight', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#demo=mnist&backend=cpu&dataset=mnist&guidance=2.5');
  const fashionDefault = await page.evaluate(async () => (await import('/pkg/genlab.js')).defaultGuidance('fashion'));
  await page.selectOption('#params [name="dataset"]', 'fashion');
  await page.waitForFunction(() => window.genlab.view().params.dataset === 'fashion');
  assert.equal((await page.evaluate(() => window.genlab.view())).params.guidance, fashionDefault);
  assert.equal(Number(await page.inputValue('#params [name="guidance"]')), fashionDefault);
  assert.equal(Number(new URLSearchParams(new URL(page.url()).hash.slice(1)).get('guidance')), fashionDefault, 'the link carries it');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a garbage link opens defaults with a visible notice', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#demo=nope&backend=quantum&steps=%zz&tau=-3&&==&colour=red&particles=1e99');
  assert.ok(await page.isVisible('#notices'));
  const notices = await page.locator('#notice-list li').allTextContents();
  for (const word of ['demo', 'backend', 'tau', 'colour', 'particles']) {
    assert.ok(notices.some((n) => n.includes(word)), `no notice about ${word}: ${notices}`);
  }
  const view = await page.evaluate(() => window.genlab.view());
  const defaults = await page.evaluate(async () => (await import('/pkg/genlab.js')).decode_hash(''));
  assert.equal(view.demo, 'langevin');
  assert.equal(view.backend, 'auto');
  assert.deepEqual(view.params, defaults.params);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a bad value typed into a control is refused with a message and the value is kept', LONG, async () => {
  const { page } = await openPage(browser, '#backend=cpu&steps=250');
  await page.fill('#params [name="steps"]', 'many');
  await page.dispatchEvent('#params [name="steps"]', 'change');
  assert.ok(await page.isVisible('#notices'));
  assert.match((await page.locator('#notice-list li').allTextContents()).join(' '), /steps/);
  assert.equal((await page.evaluate(() => window.genlab.view())).params.steps, 250);
  assert.equal(await page.inputValue('#params [name="steps"]'), '250');
  await page.fill('#params [name="tau"]', '0.05');
  await page.dispatchEvent('#params [name="tau"]', 'change');
  assert.match(new URL(page.url()).hash, /tau=0\.05/);
  await page.close();
});

test('a Rust panic is shown in the error panel', LONG, async () => {
  const { page } = await openPage(browser, '#backend=cpu');
  await page.evaluate(() => { try { window.genlab.debugPanic('deliberate test panic'); } catch { /* the trap */ } });
  assert.ok(await page.isVisible('#errors'));
  assert.match(await page.textContent('#error-list'), /deliberate test panic/);
  await page.close();
});

test('without WebGPU the page falls back to the CPU and says why', LONG, async () => {
  const plain = await startBrowser({ webgpu: false });
  try {
    const { page, consoleErrors } = await openPage(plain, '#backend=webgpu');
    assert.equal(await page.textContent('#status-fallback'), 'yes');
    assert.equal(await page.textContent('#status-backend'), 'cpu');
    assert.match(await page.textContent('#backend-reason'), /WebGPU/);
    const run = await page.evaluate(async () => (await window.genlab.train(6)).backend);
    assert.equal(run, 'cpu');
    assert.deepEqual(consoleErrors.filter((e) => !/webgpu|adapter/i.test(e)), []);
  } finally {
    await plain.close();
  }
});

test('Langevin particles move on the CPU path, metrics render, and the link reproduces them', LONG, async () => {
  const hash = '#demo=langevin&backend=cpu&density=two-modes&p=0.2&sampler=sde-ve&steps=40&particles=2000&seed=3';
  const { page, consoleErrors } = await openPage(browser, hash);
  const start = await page.evaluate(() => window.genlab.live('langevin').runToEnd(0));
  const end = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.equal(end.report.steps_done, 40);
  assert.equal(end.report.total_steps, 40);
  assert.notDeepEqual(end.positions, start.positions, 'particles did not move');
  assert.ok(Math.abs(end.report.occupancy[0] - 0.2) < 0.1, `occupancy ${end.report.occupancy}`);
  assert.match(await page.textContent('#lv-status'), /step 40\/40.*mode TV/);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  const again = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.deepEqual(again.positions, end.positions, 'the same link and seed must give the same particles');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('plain Langevin on gmm150 says why its mode weights are wrong', LONG, async () => {
  const { page } = await openPage(browser, '#demo=langevin&backend=cpu&sampler=ula&steps=60&tau=0.05&particles=1000');
  const end = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.ok(end.report.mode_tv > 0.1, `tv ${end.report.mode_tv}`);
  assert.match(await page.textContent('#lv-lessons'), /basin of attraction/);
  await page.close();
});

test('an uploaded mixture runs, and a bad upload is refused with the previous density kept', LONG, async () => {
  const { page, consoleErrors } = await openPage(browser, '#demo=langevin&backend=cpu&sampler=ula&steps=20&particles=500');
  const good = JSON.stringify({ weights: [1, 3], means: [[-2, 0], [2, 1]], covariances: [[[0.5, 0.1], [0.1, 0.4]], [[0.3, 0], [0, 0.3]]] });
  assert.equal(await page.evaluate((t) => window.genlab.live('langevin').upload(t), good), true);
  const before = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.equal(before.report.mode_weights.length, 2);
  const bad = JSON.stringify({ weights: [1], means: [[0, 0]], covariances: [[[1, 2], [2, 1]]] });
  assert.equal(await page.evaluate((t) => window.genlab.live('langevin').upload(t), bad), false);
  assert.match(await page.textContent('#lv-upload-status'), /refused.*positive definite.*previous density is kept/);
  const after = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.deepEqual(after.report.mode_weights, before.report.mode_weights);
  assert.equal(await page.evaluate((t) => window.genlab.live('langevin').upload(t), '{not json'), false);
  await page.check('#lv-arrows');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('every sampler runs a few steps on each backend, moves the particles and renders metrics', LONG, async () => {
  const samplers = ['ga', 'ula', 'ula-aniso', 'pula', 'mala', 'annealed', 'sde-ve', 'sde-vp', 'pc', 'ode'];
  for (const backend of ['cpu', 'webgpu']) {
    const { page, consoleErrors } = await openPage(browser, `#demo=langevin&backend=${backend}&particles=300`);
    for (const sampler of samplers) {
      await page.evaluate((h) => { location.hash = h; }, `demo=langevin&backend=${backend}&sampler=${sampler}&particles=300&steps=20&seed=1`);
      await page.waitForFunction((s) => window.genlab.view().params.sampler === s, sampler);
      const start = await page.evaluate(() => window.genlab.live('langevin').runToEnd(0));
      const end = await page.evaluate(() => window.genlab.live('langevin').runToEnd(5));
      assert.equal(end.engine, backend === 'cpu' ? 'cpu' : 'wgsl', `${sampler} on ${backend}`);
      assert.equal(end.report.steps_done, 5, sampler);
      assert.notDeepEqual(end.positions, start.positions, `${sampler} on ${backend}: particles did not move`);
      assert.ok(Number.isFinite(end.report.mode_tv), sampler);
      assert.match(await page.textContent('#lv-status'), /step 5\//, sampler);
    }
    assert.deepEqual(consoleErrors, []);
    await page.close();
  }
});

test('links changed faster than a lab builds leave one working run: the last link', LONG, async () => {
  for (const backend of ['webgpu', 'cpu']) {
    const { page, consoleErrors } = await openPage(browser, `#demo=langevin&backend=${backend}&particles=300`);
    // No waiting for the first lab: the next link lands while it is still being built or read.
    await page.evaluate(async (backend) => {
      for (const [sampler, particles] of [['ula', 310], ['mala', 320], ['annealed', 330], ['ode', 340]]) {
        location.hash = `demo=langevin&backend=${backend}&sampler=${sampler}&particles=${particles}&steps=20&seed=1`;
        await new Promise((r) => setTimeout(r, 0));
      }
    }, backend);
    await page.waitForFunction(() => window.genlab.view().params.sampler === 'ode');
    const end = await page.evaluate(() => window.genlab.live('langevin').runToEnd(5));
    assert.equal(end.report.particle_count, 340, `${backend}: the last link's run`);
    assert.equal(end.report.steps_done, 5, backend);
    assert.deepEqual(await page.evaluate(() => window.genlab.errors()), [], backend);
    assert.deepEqual(consoleErrors, [], backend);
    await page.close();
  }
});

test('the WGSL shader moves 200 000 particles, draws them as a histogram, and a link reproduces them', LONG, async () => {
  const hash = '#demo=langevin&backend=webgpu&density=ring&sampler=ula&steps=3&particles=200000&seed=5';
  const { page, consoleErrors } = await openPage(browser, hash);
  const end = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.equal(end.engine, 'wgsl');
  assert.equal(end.report.particle_count, 200000);
  assert.equal(end.report.measured, 10000);
  assert.equal(await page.evaluate(() => window.genlab.live('langevin').histogramTotal()), 200000);
  assert.match(await page.textContent('#lv-engine'), /200,000 particles on WebGPU — WGSL/);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  const again = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.deepEqual(again.positions, end.positions, 'same link, seed and backend: same particles');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a learned score trains live, its error field renders, and it drives the annealed sampler', LONG, async () => {
  for (const [backend, steps, engine] of [['cpu', 300, 'cpu'], ['webgpu', 6, 'burn']]) {
    const hash = `#demo=langevin&backend=${backend}&density=two-modes&score=learned&sampler=annealed&levels=4&steps-per-level=3&particles=500&seed=2`;
    const { page, consoleErrors } = await openPage(browser, hash);
    const losses = await page.evaluate((n) => window.genlab.live('langevin').trainScore(n), steps);
    assert.equal(losses.length, steps);
    if (backend === 'cpu') assertLossFalls(losses); else assert.ok(losses.every(Number.isFinite), `${losses}`);
    await page.check('#lv-error');
    const grids = await page.evaluate(() => window.genlab.live('langevin').scoreGrids());
    assert.ok(grids.learned && grids.error && grids.error.every(Number.isFinite), 'learned field and error drawn');
    const end = await page.evaluate(() => window.genlab.live('langevin').runToEnd(4));
    assert.equal(end.engine, engine);
    assert.equal(end.report.steps_done, 4);
    assert.ok(end.positions.every(Number.isFinite));
    assert.deepEqual(consoleErrors, []);
    await page.close();
  }
});

test('an .npz mixture and a painted density can be sampled', LONG, async () => {
  const { readFileSync } = await import('node:fs');
  const npz = Array.from(readFileSync(new URL('../fixtures/gmm.npz', import.meta.url)));
  const { page, consoleErrors } = await openPage(browser, '#demo=langevin&backend=cpu&sampler=ula&steps=10&particles=500');
  assert.equal(await page.evaluate((b) => window.genlab.live('langevin').upload({ kind: 'npz', bytes: new Uint8Array(b) }), npz), true);
  const fromNpz = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.ok(fromNpz.report.mode_weights.length >= 1);
  const notNpz = await page.evaluate(() => window.genlab.live('langevin').upload({ kind: 'npz', bytes: new Uint8Array([80, 75, 3, 4, 0]) }));
  assert.equal(notNpz, false);
  const points = [[-3, 0], [-2.8, 0.2], [-3.1, 0.3], [3, 0], [3.2, 0.1]];
  const hash = await page.evaluate((p) => window.genlab.live('langevin').paint(p, 0.5), points);
  assert.match(hash, /density=painted/);
  assert.match(decodeURIComponent(hash), /paint=0\.5;-3,0;-2\.8,0\.2;/);
  const painted = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.deepEqual(painted.report.mode_weights.map((w) => w.toFixed(2)), ['0.60', '0.40']);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  const again = await page.evaluate(() => window.genlab.live('langevin').runToEnd());
  assert.deepEqual(again.positions, painted.positions, 'the painting travels in the link');
  assert.deepEqual(consoleErrors, []);
  await page.close();
});
