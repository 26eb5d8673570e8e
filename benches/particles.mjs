// Particle-steps per second of the `ula` step on gmm150 in one headless-Chromium page: the WGSL
// shader on WebGPU, burn's tensor path on WebGPU and on the CPU (Flex in wasm), the f64 Rust loop
// in wasm, and a plain-JavaScript loop of the same step (the baseline the issue asks for; it lives
// here, not in the page, which does no model math).
// Usage: node benches/particles.mjs [particles ...]   (after scripts/build-web.sh)
import { readFileSync } from 'node:fs';
import { startBrowser, openPage } from '../tests/browser/harness.mjs';

const counts = process.argv.slice(2).map(Number);
if (!counts.length) counts.push(10_000, 100_000);
const STEPS = { cpu: 10, 'burn-cpu': 10, wgsl: 20, 'burn-webgpu': 3, js: 10 };
const mixture = JSON.parse(readFileSync(new URL('../www/data/gmm150.json', import.meta.url)));

// The same rule as src/langevin/particles.rs for `ula`: x + τ∇log π(x) + √(2τ)ζ, with a streaming
// log-sum-exp over the components, in f64.
function plainJsUla({ weights, means, covariances }, n, steps, tau) {
  const k = weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  const comp = new Float64Array(6 * k);
  for (let j = 0; j < k; j += 1) {
    const [[a, b], [, d]] = covariances[j];
    const det = a * d - b * b;
    comp.set([means[j][0], means[j][1], d / det, -b / det, a / det, Math.log(weights[j] / total) - 0.5 * Math.log(det)], 6 * j);
  }
  const xs = new Float64Array(2 * n);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
  for (let i = 0; i < 2 * n; i += 1) xs[i] = gauss();
  const scale = Math.sqrt(2 * tau);
  const t0 = performance.now();
  for (let s = 0; s < steps; s += 1) {
    for (let i = 0; i < n; i += 1) {
      const x = xs[2 * i], y = xs[2 * i + 1];
      let best = -Infinity, sum = 0, gx = 0, gy = 0;
      for (let j = 0; j < k; j += 1) {
        const o = 6 * j, dx = x - comp[o], dy = y - comp[o + 1];
        const wx = comp[o + 2] * dx + comp[o + 3] * dy, wy = comp[o + 3] * dx + comp[o + 4] * dy;
        const l = comp[o + 5] - 0.5 * (dx * wx + dy * wy);
        if (l > best) { const r = Math.exp(best - l); sum *= r; gx *= r; gy *= r; best = l; }
        const r = Math.exp(l - best);
        sum += r; gx -= r * wx; gy -= r * wy;
      }
      xs[2 * i] = x + tau * gx / sum + scale * gauss();
      xs[2 * i + 1] = y + tau * gy / sum + scale * gauss();
    }
  }
  return (n * steps) / ((performance.now() - t0) / 1000);
}

const browser = await startBrowser({ webgpu: true });
try {
  const { page } = await openPage(browser, '#backend=webgpu&demo=csdi');
  const adapter = await page.textContent('#status-adapter');
  const rows = [];
  for (const n of counts) {
    const hash = `demo=langevin&density=gmm150&sampler=ula&tau=0.01&particles=${n}&seed=1`;
    const row = { particles: n };
    for (const engine of ['wgsl', 'burn-webgpu', 'cpu', 'burn-cpu']) {
      // burn's tensor path on SwiftShader is far slower; keep its share of the run bounded.
      const steps = engine === 'burn-webgpu' && n > 10_000 ? 1 : STEPS[engine];
      row[engine] = await page.evaluate(async ([e, h, s]) => {
        const wasm = await import('/pkg/genlab.js');
        return wasm.benchParticles(e, h, s);
      }, [engine, hash, steps]);
    }
    row.js = await page.evaluate(([f, m, n, s]) => (0, eval)(`(${f})`)(m, n, s, 0.01), [plainJsUla.toString(), mixture, n, STEPS.js]);
    rows.push(row);
    console.log(JSON.stringify({ adapter, ...row }));
  }
  const fmt = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : `${(v / 1e3).toFixed(1)} k`);
  console.log(`\nadapter: ${adapter}\n\n| particles | WGSL (WebGPU) | burn (WebGPU) | Rust f64 (wasm) | burn (Flex, wasm) | plain JS | WGSL ÷ JS | Rust ÷ JS |\n|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    console.log(`| ${r.particles.toLocaleString('en')} | ${fmt(r.wgsl)} | ${fmt(r['burn-webgpu'])} | ${fmt(r.cpu)} | ${fmt(r['burn-cpu'])} | ${fmt(r.js)} | ${(r.wgsl / r.js).toFixed(2)} | ${(r.cpu / r.js).toFixed(2)} |`);
  }
} finally {
  await browser.close();
}
