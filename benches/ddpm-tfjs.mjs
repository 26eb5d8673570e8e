// The DDPM U-Net (src/images/unet.rs, src/images/ddpm.rs) in burn against the same network written in
// TensorFlow.js 4.22, side by side in one headless-Chromium page (benches/ddpm-tfjs.html):
// training steps/s at the same batch (burn WebGPU vs tfjs-backend-webgpu, burn's CPU path in
// wasm vs tfjs-backend-wasm) and the time from the call to 16 DDIM-50 samples with guidance
// (a doubled batch of 32) read back, with WebGPU dispatches, submits, uploads and read-backs
// per step counted at the browser's API for both libraries.
// Usage: node benches/ddpm-tfjs.mjs [batch=64] [timed_steps=3] [engines=burn,tfjs]
//        (after scripts/build-web.sh; `burn` alone skips TF.js, whose WebGPU sampling takes ~11 min here)
import { startBrowser } from '../tests/browser/harness.mjs';

const batch = Number(process.argv[2] ?? 64);
const timed = Number(process.argv[3] ?? 3);
const engines = (process.argv[4] ?? 'burn,tfjs').split(',');
const SAMPLES = 16, DDIM_STEPS = 50;

const browser = await startBrowser({ webgpu: true });
try {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.setDefaultTimeout(0);
  await page.goto(`${browser.origin}/benches/ddpm-tfjs.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 120_000 });
  const info = await page.evaluate(() => window.bench.info());
  if (!info.workloads.includes('unet28')) throw new Error('pkg/ predates the unet28 workload: run scripts/build-web.sh');
  console.error(JSON.stringify(info));

  const rows = [];
  for (const backend of ['webgpu', 'cpu']) {
    for (const engine of engines) {
      const train = await page.evaluate(([e, b, n, k]) => window.bench.train(e, b, n, k), [engine, backend, batch, timed]);
      console.error(JSON.stringify({ engine, backend, batch, train }));
      const sample = await page.evaluate(([e, b, c, s]) => window.bench.sample(e, b, c, s), [engine, backend, SAMPLES, DDIM_STEPS]);
      console.error(JSON.stringify({ engine, backend, sample }));
      rows.push({ engine, backend, train, sample });
    }
  }
  if (errors.length) console.error('page errors:', errors);
  console.log(JSON.stringify({ ...info, batch, timed_steps: timed, rows }));

  const name = (r) => (r.engine === 'burn' ? `burn 0.22.1 ${r.backend === 'cpu' ? 'Flex (wasm)' : 'WebGPU'}` : `tfjs 4.22 ${r.backend === 'cpu' ? 'wasm' : 'WebGPU'}`);
  const gpuCell = (g) => (g && g.dispatches ? `${g.dispatches.toFixed(0)} / ${g.submits.toFixed(0)} / ${g.uploads.toFixed(0)} / ${g.readbacks.toFixed(2)}` : '–');
  console.log(`\nadapter: ${info.adapter || '(unnamed)'} (SwiftShader); batch ${batch}; ${timed} timed steps after 2 warm-up steps, one read-back; samples: ${SAMPLES} × DDIM-${DDIM_STEPS}, guidance 1 (batch ${2 * SAMPLES}), first call`);
  console.log('\n| engine | parameters | first step (s) | steps/s | host ms/step | WebGPU per step: dispatches / submits / writeBuffer / mapAsync | tfjs kernels/step | 16 samples (s) | of which host (s) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const t = r.train, s = r.sample;
    console.log(`| ${name(r)} | ${t.parameters.toLocaleString('en')} | ${(t.first_step_ms / 1000).toFixed(2)} | ${t.steps_per_s.toFixed(3)} | ${t.host_queue_ms_per_step.toFixed(0)} | ${gpuCell(t.per_step_gpu)} | ${t.tfjs_kernels_per_step ?? '–'} | ${(s.first_ms / 1000).toFixed(2)} | ${(s.first_host_queue_ms / 1000).toFixed(2)} |`);
  }
  for (const backend of ['webgpu', 'cpu']) {
    const [b, t] = ['burn', 'tfjs'].map((e) => rows.find((r) => r.engine === e && r.backend === backend));
    if (!b || !t) continue;
    console.log(`\n${backend}: burn ÷ tfjs training steps/s ${(b.train.steps_per_s / t.train.steps_per_s).toFixed(2)}×; time to samples tfjs ÷ burn ${(t.sample.first_ms / b.sample.first_ms).toFixed(2)}×`);
  }
} finally {
  await browser.close();
}
