// The diffusion model in the MNIST lab, in headless Chromium: the shipped weights sample images
// the shipped classifier recognises, a few training steps run on each backend, the forward-noising
// strip and the sweep plots render, and a shared link reproduces the same samples.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBrowser, openPage } from './harness.mjs';

const LONG = { timeout: 900_000 };
let browser;
before(async () => { browser = await startBrowser({ webgpu: true }); });
after(async () => { await browser?.close(); });

async function openDdpm(backend, extra = '', dataset = 'mnist') {
  const opened = await openPage(browser, `#demo=mnist&backend=${backend}&dataset=${dataset}&model=ddpm&n=16&seed=5&steps=10${extra}`);
  await opened.page.evaluate(() => window.genlab.live('mnist').ready());
  return opened;
}

// The issue asks 90 % of MNIST; Fashion's classifier itself gets 91 % of real test images, so its
// bar is lower (BENCHMARKS.md has both datasets' figures on 10 000 samples).
for (const [dataset, bar] of [['mnist', 0.9], ['fashion', 0.8]]) {
  test(`shipped DDPM weights: guided samples the classifier recognises (${dataset}, CPU)`, LONG, async () => {
    // 64 samples, classes cycling 0–9, DDIM 20 steps at the default guidance.
    const { page, consoleErrors } = await openDdpm('cpu', '', dataset);
    const state = await page.evaluate(() => window.genlab.live('mnist').state());
    assert.ok(state.shipped, state.weightsStatus);
    const report = await page.evaluate(() => window.genlab.live('mnist').evaluateSamples({ count: 64, steps: 20 }));
    assert.equal(report.n, 64);
    assert.ok(report.accuracy >= bar, `class accuracy of 64 guided ${dataset} samples: ${report.accuracy}`);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });
}

test('the diffusion views: shipped weights load, the forward-noising strip and the sweep plots (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openDdpm('cpu');
  const state = await page.evaluate(() => window.genlab.live('mnist').state());
  assert.equal(state.generator.name, 'ddpm');
  assert.ok(state.shipped, 'the shipped weights load at once');
  const strip = await page.evaluate(() => window.genlab.live('mnist').strip());
  assert.equal(strip.hidden, false);
  assert.match(strip.status, /linear schedule, t = 250 of 1000: √ᾱ_t = 0\.\d+/);
  // The strip's T is the one wasm noises with: the slider and the last frame reach it.
  const facts = await page.evaluate(async () => (await import('/pkg/genlab.js')).imageLabFacts());
  assert.equal(facts.diffusion_steps, 1000);
  assert.equal(strip.max, facts.diffusion_steps);
  assert.equal(strip.times.at(-1), facts.diffusion_steps);
  assert.equal(strip.times[0], 0);
  const sweep = await page.evaluate(() => window.genlab.live('mnist').sweep());
  assert.ok(sweep.guidance_sweep.length >= 3 && sweep.steps_sweep.length >= 3);
  assert.match(await page.textContent('#im-sweep-status'), /samples per point/);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

test('a link\'s class is the samples\' class, and the status names it (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openDdpm('cpu', '&class=3');
  const state = await page.evaluate(() => window.genlab.live('mnist').state());
  assert.match(await page.textContent('#im-sample-status'), new RegExp(`^16 samples of class ${state.info.classes[3]}, seed 5`));
  await page.evaluate(() => { location.hash = location.hash.replace('class=3', 'class=all'); });
  await page.waitForFunction(() => window.genlab.view().params.class === 'all');
  await page.evaluate(() => window.genlab.live('mnist').ready());
  assert.match(await page.textContent('#im-sample-status'), /^16 samples, seed 5/);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});

for (const backend of ['cpu', 'webgpu']) {
  test(`DDPM trains a few steps and a shared link reproduces its samples on ${backend}`, LONG, async () => {
    const { page, consoleErrors } = await openDdpm(backend);
    const first = await page.evaluate(() => window.genlab.live('mnist').sample());
    const hash = await page.evaluate(() => location.hash);
    const run = await page.evaluate(() => window.genlab.live('mnist').train(2, { fidEvery: 0, sampleEvery: 0, batch: 8 }).then((r) => r.losses));
    assert.equal(run.length, 2);
    assert.ok(run.every((l) => Number.isFinite(l) && l > 0), `losses ${run}`);
    const state = await page.evaluate(() => window.genlab.live('mnist').state());
    assert.equal(state.backend, backend);
    await page.close();

    // The same link in a fresh page: the same shipped weights, seed and sampler settings.
    const other = await openPage(browser, hash);
    await other.page.evaluate(() => window.genlab.live('mnist').ready());
    const again = await other.page.evaluate(() => window.genlab.live('mnist').sample());
    assert.deepEqual(again, first, 'a shared link reproduces the samples');
    assert.deepEqual([...consoleErrors, ...other.consoleErrors], []);
    await other.page.close();
  });
}
