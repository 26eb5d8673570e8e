// Langevin demo view: draws what the Rust run computes (particles, density, scores, metrics).
// All math is in Rust; this file maps world coordinates to pixels and handles the mouse.
import { tracked } from './handles.js';
import { plotCurve } from './plot.js';
import { yieldToPage } from './training.js';

const MODE_COLOURS = ['#d9480f', '#2f6fde', '#2b8a3e', '#ae3ec9', '#e67700', '#0b7285', '#5c940d', '#c2255c'];
// Above this many particles the canvas shows a per-pixel count (from the GPU) instead of dots.
const MAX_DOTS = 20_000;
const HEAT_SIZE = 130;

function heatColour(t) {
  // t in [0, 1] → pale blue to dark violet
  const r = Math.round(245 - 190 * t), g = Math.round(247 - 200 * t), b = Math.round(252 - 110 * t);
  return [r, g, b];
}

export function createLangevinView(root, wasm, { showError, backendFor, setParams }) {
  root.innerHTML = `
    <div class="langevin">
      <div class="lv-left">
        <canvas id="lv-canvas" width="520" height="520" aria-label="particles over the density; drag to pan, wheel to zoom"></canvas>
        <div class="controls">
          <button id="lv-run" type="button">Run</button>
          <button id="lv-reset" type="button">Reset</button>
          <button id="lv-fit" type="button" title="reset pan and zoom">Fit view</button>
          <label><input id="lv-arrows" type="checkbox"> score arrows</label>
          <label><input id="lv-error" type="checkbox"> learned-score error</label>
          <label><input id="lv-trails" type="checkbox"> trails</label>
        </div>
        <div class="controls">
          <label><input id="lv-paint" type="checkbox"> paint a density</label>
          <label>brush <input id="lv-brush" type="range" min="0.2" max="2" step="0.1" value="0.6"></label>
          <button id="lv-use-paint" type="button" disabled>Sample the painting</button>
          <button id="lv-clear-paint" type="button" disabled>Clear</button>
          <label class="upload">mixture .json / .npz <input id="lv-upload" type="file" accept=".json,.npz,application/json"></label>
        </div>
        <p id="lv-upload-status" role="status"></p>
        <p id="lv-status"></p>
        <p id="lv-engine"></p>
      </div>
      <div class="lv-right">
        <h3>Mode occupancy vs true weights</h3>
        <canvas id="lv-occupancy" width="360" height="150"></canvas>
        <h3>Distance to π over steps</h3>
        <canvas id="lv-history" width="360" height="170"></canvas>
        <p class="legend"><span style="color:#2f6fde">■</span> mode TV &nbsp; <span style="color:#d9480f">■</span> sliced Wasserstein</p>
        <div id="lv-learning" hidden>
          <h3>Score network (denoising score matching)</h3>
          <canvas id="lv-score-loss" width="360" height="120"></canvas>
          <p id="lv-score-status"></p>
        </div>
        <ul id="lv-lessons"></ul>
      </div>
    </div>`;
  const $ = (id) => root.querySelector(`#${id}`);
  const view = {
    lab: null, hash: null, backend: null, source: null, running: false, history: [], fitted: [-10, 10, -10, 10],
    box: [-10, 10, -10, 10], heat: null, report: null, rate: NaN, grids: null, scoreLosses: [], paint: [], busy: null,
  };

  // ---- coordinates ----
  function toCanvas([x, y], canvas) {
    const [x0, x1, y0, y1] = view.box;
    return [((x - x0) / (x1 - x0)) * canvas.width, ((y1 - y) / (y1 - y0)) * canvas.height];
  }
  function toWorld(px, py, canvas) {
    const [x0, x1, y0, y1] = view.box;
    return [x0 + (px / canvas.width) * (x1 - x0), y1 - (py / canvas.height) * (y1 - y0)];
  }

  // ---- drawing ----
  function buildHeat() {
    const [x0, x1, y0, y1] = view.box;
    const grid = view.lab.log_density_grid(x0, x1, y0, y1, HEAT_SIZE, HEAT_SIZE);
    let max = -Infinity;
    for (const v of grid) if (v > max) max = v;
    const image = new ImageData(HEAT_SIZE, HEAT_SIZE);
    grid.forEach((v, i) => {
      const t = Math.max(0, Math.min(1, 1 + (v - max) / 12));
      const [r, g, b] = heatColour(t * t);
      image.data.set([r, g, b, 255], 4 * i);
    });
    const off = new OffscreenCanvas(HEAT_SIZE, HEAT_SIZE);
    off.getContext('2d').putImageData(image, 0, 0);
    view.heat = off;
  }

  async function drawParticles(ctx, canvas) {
    if (view.lab.particleCount <= MAX_DOTS) {
      const xs = view.lab.positions();
      ctx.fillStyle = 'rgba(20, 20, 30, 0.55)';
      for (let i = 0; i < xs.length; i += 2) {
        if (!Number.isFinite(xs[i]) || !Number.isFinite(xs[i + 1])) continue;
        const [px, py] = toCanvas([xs[i], xs[i + 1]], canvas);
        ctx.fillRect(px - 0.75, py - 0.75, 1.5, 1.5);
      }
      return;
    }
    const w = canvas.width / 2, h = canvas.height / 2;
    const [x0, x1, y0, y1] = view.box;
    const bins = await view.lab.histogram(x0, x1, y0, y1, w, h);
    let max = 1;
    for (const b of bins) if (b > max) max = b;
    const image = new ImageData(w, h);
    bins.forEach((b, i) => {
      if (!b) return;
      const a = Math.round(60 + 195 * Math.sqrt(b / max));
      image.data.set([20, 20, 30, a], 4 * i);
    });
    const off = new OffscreenCanvas(w, h);
    off.getContext('2d').putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  }

  async function draw() {
    const canvas = $('lv-canvas');
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = true;
    // Trails: the last frame fades under a translucent heat map instead of being replaced.
    ctx.globalAlpha = $('lv-trails').checked && view.running ? 0.18 : 1;
    ctx.drawImage(view.heat, 0, 0, canvas.width, canvas.height);
    ctx.globalAlpha = 1;
    if ($('lv-error').checked && view.grids?.error) drawError(ctx, canvas);
    await drawParticles(ctx, canvas);
    if ($('lv-arrows').checked && view.grids) drawArrows(ctx, canvas);
    drawPaint(ctx, canvas);
  }

  const ARROW_CELLS = 22;
  async function refreshGrids() {
    if (!$('lv-arrows').checked && !$('lv-error').checked) { view.grids = null; return; }
    const [x0, x1, y0, y1] = view.box;
    view.grids = await view.lab.scoreGrids(x0, x1, y0, y1, ARROW_CELLS, ARROW_CELLS);
  }

  function drawArrowField(ctx, canvas, scores, colour) {
    const n = ARROW_CELLS;
    let longest = 0;
    for (let i = 0; i < scores.length; i += 2) longest = Math.max(longest, Math.hypot(scores[i], scores[i + 1]));
    const cell = canvas.width / n;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1;
    for (let row = 0; row < n; row += 1) {
      for (let col = 0; col < n; col += 1) {
        const i = 2 * (row * n + col);
        const [sx, sy] = [scores[i], scores[i + 1]];
        const norm = Math.hypot(sx, sy);
        if (!(norm > 0)) continue;
        // Lengths on a square-root scale: near modes the score is tiny, far away it is huge.
        const len = 0.45 * cell * Math.sqrt(norm / longest);
        const cx = (col + 0.5) * cell, cy = (row + 0.5) * cell;
        const dx = (sx / norm) * len, dy = -(sy / norm) * len;
        ctx.beginPath();
        ctx.moveTo(cx - dx, cy - dy);
        ctx.lineTo(cx + dx, cy + dy);
        ctx.lineTo(cx + dx - 0.35 * (dx - 0.6 * dy), cy + dy - 0.35 * (dy + 0.6 * dx));
        ctx.stroke();
      }
    }
  }

  function drawArrows(ctx, canvas) {
    drawArrowField(ctx, canvas, view.grids.exact, 'rgba(200, 60, 20, 0.8)');
    if (view.grids.learned) drawArrowField(ctx, canvas, view.grids.learned, 'rgba(20, 90, 200, 0.8)');
  }

  function drawError(ctx, canvas) {
    const n = ARROW_CELLS, cell = canvas.width / n;
    const error = view.grids.error;
    const max = Math.max(...error, 1e-9);
    for (let row = 0; row < n; row += 1) {
      for (let col = 0; col < n; col += 1) {
        ctx.fillStyle = `rgba(230, 30, 30, ${(0.55 * error[row * n + col] / max).toFixed(3)})`;
        ctx.fillRect(col * cell, row * cell, cell, cell);
      }
    }
  }

  function drawPaint(ctx, canvas) {
    if (!view.paint.length) return;
    ctx.fillStyle = 'rgba(47, 111, 222, 0.35)';
    const brush = Number($('lv-brush').value);
    const radius = (brush / (view.box[1] - view.box[0])) * canvas.width;
    for (const [x, y] of view.paint) {
      const [px, py] = toCanvas([x, y], canvas);
      ctx.beginPath();
      ctx.arc(px, py, Math.max(2, radius), 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  function drawReport() {
    const r = view.report;
    const sigma = r.sigma > 0 ? `, σ = ${r.sigma.toPrecision(3)}` : '';
    const diag = r.diagnostic ? `, ${r.diagnostic[0]} ${(100 * r.diagnostic[1]).toFixed(1)} %` : '';
    const rate = Number.isFinite(view.rate) ? `, ${view.rate.toFixed(0)} steps/s` : '';
    $('lv-status').textContent = `step ${r.steps_done}/${r.total_steps}${sigma}${diag}${rate}; mode TV ${r.mode_tv.toFixed(3)}, SW ${r.sliced_wasserstein.toFixed(3)}${r.non_finite ? `; ${r.non_finite} diverged` : ''}`;
    const engines = { cpu: 'CPU (f64 Rust, in wasm)', wgsl: 'WebGPU — WGSL compute shader', burn: `burn tensors on ${view.backend}` };
    const measured = r.measured < r.particle_count ? `; metrics on the first ${r.measured}` : '';
    $('lv-engine').textContent = `${r.particle_count.toLocaleString('en')} particles on ${engines[r.engine]}${measured}${view.decision ? ` — ${view.decision}` : ''}`;
    $('lv-lessons').replaceChildren(...r.lessons.map((t) => Object.assign(document.createElement('li'), { textContent: t })));

    const occ = $('lv-occupancy'), ctx = occ.getContext('2d');
    ctx.clearRect(0, 0, occ.width, occ.height);
    const k = r.mode_weights.length, bw = Math.min(60, (occ.width - 20) / k);
    const top = Math.max(...r.mode_weights, ...r.occupancy, 0.01);
    r.mode_weights.forEach((w, i) => {
      const x = 10 + i * bw, hw = (w / top) * (occ.height - 30), ho = (r.occupancy[i] / top) * (occ.height - 30);
      ctx.fillStyle = MODE_COLOURS[i % MODE_COLOURS.length];
      ctx.fillRect(x + 4, occ.height - 15 - ho, bw / 2 - 6, ho);
      ctx.strokeStyle = '#333';
      ctx.strokeRect(x + bw / 2, occ.height - 15 - hw, bw / 2 - 6, hw);
      ctx.fillStyle = '#333';
      ctx.font = '10px system-ui';
      ctx.fillText(`${i}`, x + bw / 2 - 3, occ.height - 3);
    });

    // The two distances differ in size by orders of magnitude: the sliced Wasserstein one gets
    // its own scale on the right.
    const curve = (key) => view.history.map((h) => [h.step, h[key]]);
    plotCurve($('lv-history'), [
      { points: curve('mode_tv'), colour: '#2f6fde' },
      { points: curve('sliced_wasserstein'), colour: '#d9480f', axis: 'right' },
    ]);
  }

  // The caller has read the particles back (`refresh`); the report is computed from them.
  function measure() {
    view.report = view.lab.report();
    view.history.push({ step: view.report.steps_done, mode_tv: view.report.mode_tv, sliced_wasserstein: view.report.sliced_wasserstein });
    drawReport();
  }

  // ---- building a run ----
  async function buildLab(hash, backend, source) {
    if (source?.kind === 'json') return wasm.LangevinLab.fromMixtureJson(hash, backend, source.text);
    if (source?.kind === 'npz') return wasm.LangevinLab.fromMixtureNpz(hash, backend, source.bytes);
    return new wasm.LangevinLab(hash, backend);
  }

  // A new lab is built first, so a refused density keeps the current run; of two resets in
  // flight the later one wins, whichever lab finishes building first.
  async function reset(hash, source = view.source) {
    const generation = ++reset.generation;
    let lab, backend, decision;
    try {
      ({ backend, decision } = await backendFor(hash));
      lab = tracked(await buildLab(hash, backend, source));
    } catch (e) {
      if (generation === reset.generation) $('lv-status').textContent = `Cannot start: ${e.message ?? e}`;
      return false;
    }
    if (generation !== reset.generation) {
      lab.retire().catch(showError);
      return false;
    }
    view.running = false;
    view.lab?.retire().catch(showError);
    Object.assign(view, { lab, hash, backend, decision, source, history: [], scoreLosses: [], grids: null });
    view.fitted = Array.from(lab.view_box());
    view.box = [...view.fitted];
    $('lv-learning').hidden = !lab.learnsScore;
    $('lv-error').disabled = !lab.learnsScore;
    buildHeat();
    await lab.refresh();
    measure();
    await refreshGrids();
    await draw();
    $('lv-run').textContent = 'Run';
    return true;
  }
  reset.generation = 0;

  async function upload(file) {
    const source = file.kind ? file : { kind: 'json', text: file };
    if (reset.pending) await reset.pending;
    if (await reset(view.hash, source)) {
      $('lv-upload-status').textContent = 'Running on the uploaded mixture (an upload is not part of the link).';
      return true;
    }
    $('lv-upload-status').textContent = `Upload refused: ${$('lv-status').textContent.replace(/^Cannot start: /, '')}; the previous density is kept.`;
    if (view.lab) measure();
    return false;
  }

  // ---- the learned score: trained before sampling, in chunks that keep the page responsive ----
  async function trainScore() {
    const status = $('lv-score-status');
    const SCORE_STEPS = Number(wasm.decode_hash(view.hash).params['score-steps']);
    while (view.lab?.learnsScore && view.running && view.scoreLosses.length < SCORE_STEPS) {
      const chunk = view.backend === 'cpu' ? 50 : 10;
      const t0 = performance.now();
      const losses = await view.lab.trainScore(chunk);
      view.scoreLosses.push(...losses);
      const rate = losses.length / ((performance.now() - t0) / 1000);
      status.textContent = `training: step ${view.scoreLosses.length}/${SCORE_STEPS}, loss ${losses.at(-1).toFixed(3)}, ${rate.toFixed(0)} steps/s (EMA 0.999 weights sample)`;
      // Every fifth loss: thousands of points redrawn per chunk would slow the training.
      const points = view.scoreLosses.map((l, i) => [i + 1, l]).filter((_, i) => i % 5 === 0);
      plotCurve($('lv-score-loss'), [{ points, colour: '#2b8a3e' }]);
      await yieldToPage();
    }
    if (view.lab?.learnsScore && view.scoreLosses.length >= SCORE_STEPS) {
      const r = view.report;
      status.textContent = `trained ${view.scoreLosses.length} steps; NCSN-v2 schedule: L = ${r.levels} levels, T = ${r.steps_per_level} steps each, ε = ${r.eps.toExponential(2)}`;
      await refreshGrids();
    }
  }

  async function loop() {
    await trainScore();
    let stepsPerFrame = 1, lastMeasure = 0;
    while (view.running && view.lab) {
      const t0 = performance.now();
      const ran = view.lab.advance(stepsPerFrame);
      const measuring = performance.now() - lastMeasure > 400 || ran === 0;
      // One read-back per frame: the particles when they are drawn as dots or measured; above
      // MAX_DOTS the histogram in draw() is the read-back (and waits for the steps).
      if (measuring || view.lab.particleCount <= MAX_DOTS) await view.lab.refresh();
      if (measuring) {
        measure();
        await refreshGrids();
        lastMeasure = performance.now();
      }
      await draw();
      const dt = performance.now() - t0;
      if (ran > 0) view.rate = ran / (dt / 1000);
      stepsPerFrame = Math.max(1, Math.min(200, Math.round(stepsPerFrame * (dt > 24 ? 0.7 : 1.3))));
      if (ran === 0) { view.running = false; $('lv-run').textContent = 'Run'; break; }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }

  // ---- mouse: pan, zoom, paint ----
  const canvas = $('lv-canvas');
  let drag = null;
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    drag = { x: e.offsetX, y: e.offsetY, box: [...view.box] };
    if ($('lv-paint').checked) addDab(e);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag || !view.lab) return;
    if ($('lv-paint').checked) { addDab(e); return; }
    const [x0, x1, y0, y1] = drag.box;
    const dx = ((e.offsetX - drag.x) / canvas.width) * (x1 - x0), dy = ((e.offsetY - drag.y) / canvas.height) * (y1 - y0);
    view.box = [x0 - dx, x1 - dx, y0 + dy, y1 + dy];
    viewChanged();
  });
  canvas.addEventListener('pointerup', () => { drag = null; });
  canvas.addEventListener('wheel', (e) => {
    if (!view.lab) return;
    e.preventDefault();
    const [cx, cy] = toWorld(e.offsetX, e.offsetY, canvas);
    const f = Math.exp(Math.sign(e.deltaY) * 0.15);
    const [x0, x1, y0, y1] = view.box;
    view.box = [cx + (x0 - cx) * f, cx + (x1 - cx) * f, cy + (y0 - cy) * f, cy + (y1 - cy) * f];
    viewChanged();
  }, { passive: false });
  function addDab(e) {
    const p = toWorld(e.offsetX, e.offsetY, canvas);
    const last = view.paint.at(-1);
    const brush = Number($('lv-brush').value);
    if (last && Math.hypot(p[0] - last[0], p[1] - last[1]) < 0.5 * brush) return;
    view.paint.push(p);
    $('lv-use-paint').disabled = $('lv-clear-paint').disabled = false;
    if (!view.running) draw().catch(showError);
  }
  let redraw = null;
  function viewChanged() {
    // Pan and zoom redraw at most once per frame; the heat map is recomputed for the new box.
    if (redraw) return;
    redraw = requestAnimationFrame(async () => {
      redraw = null;
      buildHeat();
      await refreshGrids();
      if (!view.running) await draw();
    });
  }

  $('lv-run').addEventListener('click', () => {
    view.running = !view.running;
    $('lv-run').textContent = view.running ? 'Pause' : 'Run';
    if (view.running) loop().catch(showError);
  });
  $('lv-reset').addEventListener('click', () => reset(view.hash).catch(showError));
  $('lv-fit').addEventListener('click', () => { view.box = [...view.fitted]; viewChanged(); });
  for (const id of ['lv-arrows', 'lv-error']) {
    $(id).addEventListener('change', async () => { if (!view.lab) return; await refreshGrids(); await draw(); });
  }
  // A painting is a parameter like any other: it goes into the link, and the run starts from it.
  async function samplePainting(points, brush) {
    const { paint, dabs } = wasm.paintingLink(brush, Float64Array.from(points.flat()));
    const next = setParams({ density: 'painted', paint });
    await reset.pending;
    $('lv-upload-status').textContent = `Sampling the painted density (${dabs} brush dabs, saved in the link).`;
    return next.hash;
  }
  $('lv-use-paint').addEventListener('click', async () => {
    const points = [...view.paint];
    view.paint = [];
    $('lv-paint').checked = false;
    $('lv-use-paint').disabled = $('lv-clear-paint').disabled = true;
    await samplePainting(points, Number($('lv-brush').value));
  });
  $('lv-clear-paint').addEventListener('click', () => {
    view.paint = [];
    $('lv-use-paint').disabled = $('lv-clear-paint').disabled = true;
    if (view.lab) draw().catch(showError);
  });
  $('lv-upload').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    e.target.value = '';
    if (!file) return;
    if (file.name.toLowerCase().endsWith('.npz')) await upload({ kind: 'npz', bytes: new Uint8Array(await file.arrayBuffer()) });
    else await upload({ kind: 'json', text: await file.text() });
  });

  return {
    async show(hash) {
      if (hash === view.hash) return;
      view.hash = hash;
      reset.pending = reset(hash, null);
      await reset.pending;
    },
    ready: () => reset.pending,
    async runToEnd(maxSteps = Infinity) {
      await reset.pending;
      let done = 0;
      while (view.lab && done < maxSteps) {
        const ran = view.lab.advance(Math.min(20, maxSteps - done));
        if (!ran) break;
        done += ran;
        await view.lab.refresh();
        await draw();
        await yieldToPage();
      }
      measure();
      return { report: view.report, positions: Array.from(view.lab.positions()), engine: view.lab.engine, backend: view.backend };
    },
    async trainScore(steps) {
      await reset.pending;
      const losses = await view.lab.trainScore(steps);
      view.scoreLosses.push(...losses);
      return Array.from(losses);
    },
    async histogramTotal() {
      const [x0, x1, y0, y1] = view.box;
      const bins = await view.lab.histogram(x0, x1, y0, y1, 64, 64);
      return bins.reduce((a, b) => a + b, 0);
    },
    async scoreGrids() { await refreshGrids(); return view.grids ?? (await view.lab.scoreGrids(...view.box, 8, 8)); },
    stop() { view.running = false; },
    upload,
    paint: samplePainting,
  };
}
