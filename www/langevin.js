// Langevin demo view: draws what the Rust run computes (particles, density, metrics).
const MODE_COLOURS = ['#d9480f', '#2f6fde', '#2b8a3e', '#ae3ec9', '#e67700', '#0b7285', '#5c940d', '#c2255c'];

function heatColour(t) {
  // t in [0, 1] → pale blue to dark violet
  const r = Math.round(245 - 190 * t), g = Math.round(247 - 200 * t), b = Math.round(252 - 110 * t);
  return [r, g, b];
}

export function createLangevinView(root, wasm, showError) {
  root.innerHTML = `
    <div class="langevin">
      <div class="lv-left">
        <canvas id="lv-canvas" width="520" height="520" aria-label="particles over the density"></canvas>
        <div class="controls">
          <button id="lv-run" type="button">Run</button>
          <button id="lv-reset" type="button">Reset</button>
          <label><input id="lv-arrows" type="checkbox"> score arrows</label>
          <label class="upload">mixture JSON <input id="lv-upload" type="file" accept=".json,application/json"></label>
        </div>
        <p id="lv-upload-status" role="status"></p>
        <p id="lv-status"></p>
      </div>
      <div class="lv-right">
        <h3>Mode occupancy vs true weights</h3>
        <canvas id="lv-occupancy" width="360" height="150"></canvas>
        <h3>Distance to π over steps</h3>
        <canvas id="lv-history" width="360" height="170"></canvas>
        <p class="legend"><span style="color:#2f6fde">■</span> mode TV &nbsp; <span style="color:#d9480f">■</span> sliced Wasserstein</p>
        <ul id="lv-lessons"></ul>
      </div>
    </div>`;
  const $ = (id) => root.querySelector(`#${id}`);
  const view = { lab: null, hash: null, uploaded: null, running: false, history: [], box: [-10, 10, -10, 10], heat: null, report: null, rate: NaN };

  function toCanvas([x, y], canvas) {
    const [x0, x1, y0, y1] = view.box;
    return [((x - x0) / (x1 - x0)) * canvas.width, ((y1 - y) / (y1 - y0)) * canvas.height];
  }

  function buildHeat(canvas) {
    const w = 130, h = 130;
    const [x0, x1, y0, y1] = view.box;
    const grid = view.lab.log_density_grid(x0, x1, y0, y1, w, h);
    let max = -Infinity;
    for (const v of grid) if (v > max) max = v;
    const image = new ImageData(w, h);
    grid.forEach((v, i) => {
      const t = Math.max(0, Math.min(1, 1 + (v - max) / 12));
      const [r, g, b] = heatColour(t * t);
      image.data.set([r, g, b, 255], 4 * i);
    });
    const off = new OffscreenCanvas(w, h);
    off.getContext('2d').putImageData(image, 0, 0);
    view.heat = off;
  }

  function draw() {
    const canvas = $('lv-canvas');
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(view.heat, 0, 0, canvas.width, canvas.height);
    const xs = view.lab.positions();
    ctx.fillStyle = 'rgba(20, 20, 30, 0.55)';
    for (let i = 0; i < xs.length; i += 2) {
      if (!Number.isFinite(xs[i]) || !Number.isFinite(xs[i + 1])) continue;
      const [px, py] = toCanvas([xs[i], xs[i + 1]], canvas);
      ctx.fillRect(px - 0.75, py - 0.75, 1.5, 1.5);
    }
    if ($('lv-arrows').checked) drawArrows(ctx, canvas);
  }

  function drawArrows(ctx, canvas) {
    const n = 22;
    const [x0, x1, y0, y1] = view.box;
    const scores = view.lab.score_grid(x0, x1, y0, y1, n, n);
    let longest = 0;
    for (let i = 0; i < scores.length; i += 2) longest = Math.max(longest, Math.hypot(scores[i], scores[i + 1]));
    const cell = canvas.width / n;
    ctx.strokeStyle = 'rgba(200, 60, 20, 0.8)';
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

  function drawReport() {
    const r = view.report;
    const sigma = r.sigma > 0 ? `, σ = ${r.sigma.toPrecision(3)}` : '';
    const diag = r.diagnostic ? `, ${r.diagnostic[0]} ${(100 * r.diagnostic[1]).toFixed(1)} %` : '';
    const rate = Number.isFinite(view.rate) ? `, ${view.rate.toFixed(0)} steps/s` : '';
    $('lv-status').textContent = `step ${r.steps_done}/${r.total_steps}${sigma}${diag}${rate}; mode TV ${r.mode_tv.toFixed(3)}, SW ${r.sliced_wasserstein.toFixed(3)}${r.non_finite ? `; ${r.non_finite} diverged` : ''}`;
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

    const hist = $('lv-history'), hctx = hist.getContext('2d');
    hctx.clearRect(0, 0, hist.width, hist.height);
    const series = [['mode_tv', '#2f6fde'], ['sliced_wasserstein', '#d9480f']];
    const last = view.history.at(-1)?.step || 1;
    for (const [key, colour] of series) {
      const values = view.history.map((h) => h[key]).filter(Number.isFinite);
      const max = Math.max(...values, 1e-3);
      hctx.strokeStyle = colour;
      hctx.lineWidth = 2;
      hctx.beginPath();
      view.history.forEach((h, i) => {
        const x = 5 + (h.step / last) * (hist.width - 10), y = hist.height - 5 - (h[key] / max) * (hist.height - 15);
        if (i) hctx.lineTo(x, y); else hctx.moveTo(x, y);
      });
      hctx.stroke();
    }
  }

  function measure() {
    view.report = view.lab.report();
    view.history.push({ step: view.report.steps_done, mode_tv: view.report.mode_tv, sliced_wasserstein: view.report.sliced_wasserstein });
    drawReport();
  }

  function reset(hash) {
    // A new lab is built first, so a refused upload or density keeps the current run.
    let lab;
    try {
      lab = view.uploaded ? wasm.LangevinLab.fromMixtureJson(hash, view.uploaded) : new wasm.LangevinLab(hash);
    } catch (e) {
      $('lv-status').textContent = `Cannot start: ${e.message ?? e}`;
      return false;
    }
    view.running = false;
    view.lab?.free();
    view.lab = lab;
    view.hash = hash;
    view.history = [];
    view.box = Array.from(view.lab.view_box());
    buildHeat($('lv-canvas'));
    draw();
    measure();
    $('lv-run').textContent = 'Run';
    return true;
  }

  async function upload(text) {
    const previous = view.uploaded;
    view.uploaded = text;
    if (reset(view.hash)) {
      $('lv-upload-status').textContent = 'Running on the uploaded mixture (an upload is not part of the link).';
      return true;
    }
    view.uploaded = previous;
    $('lv-upload-status').textContent = `Upload refused: ${$('lv-status').textContent.replace(/^Cannot start: /, '')}; the previous density is kept.`;
    if (view.lab) measure();
    return false;
  }

  async function loop() {
    let stepsPerFrame = 1, lastMeasure = 0;
    while (view.running && view.lab) {
      const t0 = performance.now();
      const ran = view.lab.advance(stepsPerFrame);
      const dt = performance.now() - t0;
      if (ran > 0) view.rate = ran / (dt / 1000);
      stepsPerFrame = Math.max(1, Math.min(200, Math.round(stepsPerFrame * (dt > 24 ? 0.7 : 1.3))));
      draw();
      if (performance.now() - lastMeasure > 400 || ran === 0) { measure(); lastMeasure = performance.now(); }
      if (ran === 0) { view.running = false; $('lv-run').textContent = 'Run'; break; }
      await new Promise((r) => requestAnimationFrame(r));
    }
  }

  $('lv-run').addEventListener('click', () => {
    view.running = !view.running;
    $('lv-run').textContent = view.running ? 'Pause' : 'Run';
    if (view.running) loop().catch(showError);
  });
  $('lv-reset').addEventListener('click', () => reset(view.hash));
  $('lv-arrows').addEventListener('change', () => view.lab && draw());
  $('lv-upload').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    if (file) await upload(await file.text());
    e.target.value = '';
  });

  return {
    show(hash) { if (hash !== view.hash) reset(hash); },
    async runToEnd(maxSteps = Infinity) {
      let done = 0;
      while (view.lab && done < maxSteps) {
        const ran = view.lab.advance(Math.min(20, maxSteps - done));
        if (!ran) break;
        done += ran;
        draw();
        await new Promise((r) => setTimeout(r, 0));
      }
      measure();
      return { report: view.report, positions: Array.from(view.lab.positions()) };
    },
    stop() { view.running = false; },
    upload,
  };
}
