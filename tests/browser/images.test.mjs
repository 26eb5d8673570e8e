// The MNIST lab in headless Chromium: the dataset loads with its progress bar, real images
// render, the shipped classifier runs in the page on WebGPU (SwiftShader) and on the CPU and
// agrees with the native figure, and a registered generator samples, trains and refuses
// wrong weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { startBrowser, openPage } from './harness.mjs';

const LONG = { timeout: 600_000 };
const ROOT = new URL('../..', import.meta.url).pathname;
let browser;
let nativeAccuracy;
before(async () => {
  browser = await startBrowser({ webgpu: true });
  // The same weights and the same 1 000 test images, natively (burn's CPU backend).
  // scripts/lib.sh's build directory, so this reuses the binary `cargo test` built.
  const env = { ...process.env, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR ?? `${homedir()}/.cache/genlab/target` };
  const out = execFileSync('cargo', ['run', '--quiet', '--bin', 'genlab', '--', 'eval', '--dataset', 'mnist', '--classify-test', '1000'], { cwd: ROOT, encoding: 'utf8', env });
  nativeAccuracy = JSON.parse(out.trim()).accuracy;
});
after(async () => { await browser?.close(); });

async function openLab(backend) {
  const opened = await openPage(browser, `#demo=mnist&backend=${backend}&dataset=mnist&model=vae&n=16&seed=3`);
  await opened.page.evaluate(() => window.genlab.live('mnist').ready());
  return opened;
}

// Canvas pixels that are not white: real digits drawn dark on white.
async function inkedPixels(page, selector) {
  return page.evaluate((sel) => {
    const canvas = document.querySelector(sel);
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 128) inked++;
    return inked;
  }, selector);
}

for (const backend of ['webgpu', 'cpu']) {
  test(`MNIST loads, real images render and the classifier matches the native figure on ${backend}`, LONG, async () => {
    const { page, consoleErrors } = await openLab(backend);
    const state = await page.evaluate(() => window.genlab.live('mnist').state());
    assert.equal(state.dataset, 'mnist');
    assert.equal(state.backend, backend);
    assert.equal(state.info.train, 60000);
    assert.equal(state.info.test, 10000);
    assert.match(await page.textContent('#im-data-status'), /60,000 training and 10,000 test images, loaded/);
    assert.ok(await page.isHidden('#im-progress'), 'the progress bar goes away once loaded');
    const size = readFileSync(`${ROOT}/www/data/mnist.bin`).length;
    assert.deepEqual(state.progress, { loaded: size, total: size }, 'progress knew the total and reached it');
    assert.ok(await inkedPixels(page, '#im-real') > 2000, 'the grid of real images is drawn');

    const check = await page.evaluate(() => window.genlab.live('mnist').checkClassifier(1000));
    assert.equal(check.n, 1000);
    assert.equal(check.backend, backend);
    assert.ok(Math.abs(check.accuracy - nativeAccuracy) <= 0.005,
      `page ${check.accuracy} vs native ${nativeAccuracy} on ${backend}`);
    assert.match(await page.textContent('#im-classifier-status'), /of 1000 test images right/);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  });
}

test('the VAE from the registry samples with shipped weights, trains on both backends and refuses wrong weights', LONG, async () => {
  for (const backend of ['cpu', 'webgpu']) {
    const { page, consoleErrors } = await openLab(backend);
    let state = await page.evaluate(() => window.genlab.live('mnist').state());
    assert.equal(state.generator.name, 'vae');
    assert.ok(state.shipped, 'the shipped weights load at once');
    assert.ok(await inkedPixels(page, '#im-samples') > 500, 'the sample grid is drawn');
    const first = await page.evaluate(() => window.genlab.live('mnist').sample());
    const again = await page.evaluate(() => window.genlab.live('mnist').sample());
    assert.deepEqual(first, again, 'the link\'s seed fixes the samples');

    const run = await page.evaluate((n) => window.genlab.live('mnist').train(n, { fidEvery: 0 }).then((r) => r.losses), backend === 'cpu' ? 6 : 2);
    assert.ok(run.length >= 2 && run.every(Number.isFinite), `losses ${run}`);
    state = await page.evaluate(() => window.genlab.live('mnist').state());
    assert.equal(state.backend, backend);

    // The classifier's weights are not a VAE's: refused with a message, the model kept.
    const classifier = Array.from(readFileSync(`${ROOT}/www/models/classifier-mnist.bpk`));
    const before = await page.evaluate(() => window.genlab.live('mnist').sample());
    const refused = await page.evaluate((bytes) => window.genlab.live('mnist').upload('classifier-mnist.bpk', new Uint8Array(bytes)), classifier);
    assert.equal(refused.ok, false);
    assert.match(refused.message, /weights of the `classifier` model; this is the `vae` model.*current weights are kept/);
    assert.deepEqual(await page.evaluate(() => window.genlab.live('mnist').sample()), before);
    // Downloaded weights load back.
    const bytes = await page.evaluate(() => window.genlab.live('mnist').download());
    const reloaded = await page.evaluate((b) => window.genlab.live('mnist').upload('vae-mnist.bpk', new Uint8Array(b)), bytes);
    assert.equal(reloaded.ok, true);
    assert.deepEqual(await page.evaluate(() => window.genlab.live('mnist').sample()), before);
    assert.deepEqual(consoleErrors, []);
    await page.close();
  }
});

test('FID over training has its floor and a point for the shipped weights (CPU)', LONG, async () => {
  const { page, consoleErrors } = await openLab('cpu');
  const report = await page.evaluate(() => window.genlab.live('mnist').fidPoint());
  assert.ok(Number.isFinite(report.fid) && report.fid > 0);
  assert.ok(report.accuracy > 0.6, `class accuracy of the shipped VAE: ${report.accuracy}`);
  assert.match(await page.textContent('#im-fid-status'), /FID .* class accuracy .* \(floor /);
  assert.deepEqual(consoleErrors, []);
  await page.close();
});
