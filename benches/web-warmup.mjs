// Warm-up and throughput of the calibration workload on both backends in headless Chromium
// (WebGPU on SwiftShader vs burn Flex on wasm), in one page run, plus the bundle sizes.
// Usage: node benches/web-warmup.mjs [budget_seconds]   (after scripts/build-web.sh)
import { readFileSync } from 'node:fs';
import { startBrowser, openPage } from '../tests/browser/harness.mjs';

const budget = Number(process.argv[2] ?? 5);
const browser = await startBrowser({ webgpu: true });
try {
  const { page } = await openPage(browser, '#backend=auto');
  const decision = await page.evaluate(async (budget) => {
    const wasm = await import('/pkg/genlab.js');
    return wasm.calibrate('mlp2d', 0, budget);
  }, budget);
  const adapter = await page.textContent('#status-adapter');
  const sizes = JSON.parse(readFileSync(new URL('../pkg/sizes.json', import.meta.url)));
  const mb = (b) => (b / 1e6).toFixed(2);
  console.log(JSON.stringify({ adapter, budget_s: budget, ...decision, sizes }));
  console.log(`\n| backend | first step (ms) | steps/s |\n|---|---|---|`);
  for (const t of decision.timings) console.log(`| ${t.backend} | ${t.first_step_ms.toFixed(0)} | ${t.steps_per_s.toFixed(1)} |`);
  console.log(`\nauto → ${decision.chosen}: ${decision.reason}`);
  console.log(`wasm: raw ${mb(sizes.raw_bytes)} MB, wasm-opt ${mb(sizes.wasm_opt_bytes)} MB, bundle ${mb(sizes.bundle_bytes)} MB, gzip -9 ${mb(sizes.gzip_bytes)} MB`);
} finally {
  await browser.close();
}
