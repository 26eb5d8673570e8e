// CSDI imputation view: loads the shipped PM10 series (or the user's CSV), imputes one window
// a reverse step at a time with progress, draws per-feature charts with the band, lets the user
// paint stretches to hide (they live in the link) and fine-tune on the series. All model math
// is in Rust (SeriesLab).
import { plotCurve } from './plot.js';
import { TrainingRun, yieldToPage } from './training.js';
import { tracked } from './handles.js';

const SHIPPED_DATA = 'www/data/air-pm10.csv';
// Reverse steps per call: small enough that the page repaints between them.
const STEPS_PER_CALL = { cpu: 2, webgpu: 5 };
// Training steps per call: one, then the page repaints.
const TRAIN_CHUNK = 1;
// Features drawn as small charts next to the picked one.
const NEIGHBOURS = 5;
const COLOURS = { observed: '#1c2233', hidden: '#d9480f', median: '#2f6fde', band: 'rgba(47,111,222,0.18)', paint: 'rgba(217,72,15,0.12)' };

// One feature of one window: observed points, hidden ground truth, the median and the band,
// and the painted stretches shaded. Returns the time step under a canvas pixel.
function drawChart(canvas, { title, len, k, feature, values, result, painted }) {
  const at = (t) => t * k + feature;
  const times = Array.from({ length: len }, (_, t) => t);
  const hidden = (t) => result?.hidden[at(t)] === 1;
  const series = [];
  if (result) {
    series.push({ band: times.map((t) => [t, result.low[at(t)], result.high[at(t)]]), colour: COLOURS.band });
    series.push({ points: times.map((t) => [t, result.median[at(t)]]), colour: COLOURS.median, width: 1.5 });
  }
  series.push({ points: times.filter((t) => !hidden(t)).map((t) => [t, values[at(t)]]), colour: COLOURS.observed, dots: true });
  series.push({ points: times.filter(hidden).map((t) => [t, values[at(t)]]), colour: COLOURS.hidden, dots: true, hollow: true });
  const spans = painted.map(([first, last]) => [first, last, COLOURS.paint]);
  const plot = plotCurve(canvas, series, { title, spans, xLabel: null, xRange: [0, Math.max(1, len - 1)], fromZero: false });
  return { timeAt: (x) => Math.round(plot.xAt(x)) };
}

// The painted stretches of one feature, `[first, last]` each, of the link's (as wasm reads them).
function paintedStretches(stretches, feature) {
  return stretches.filter((s) => s.feature === feature).map((s) => [s.first, s.last]);
}

export function createSeriesView(root, wasm, { showError, seriesBackend, setParams }) {
  root.innerHTML = `
    <div class="series">
      <div class="ts-block">
        <h3>Data</h3>
        <p id="ts-data-status" role="status"></p>
        <div class="controls">
          <button id="ts-prev" type="button">◀ window</button>
          <button id="ts-next" type="button">window ▶</button>
          <label>feature <select id="ts-feature"></select></label>
          <label class="upload">upload CSV <input id="ts-upload" type="file" accept=".csv,text/csv"></label>
          <button id="ts-shipped-data" type="button">Shipped PM10 data</button>
        </div>
        <p id="ts-window-status"></p>
      </div>
      <div class="ts-block">
        <h3>Imputation</h3>
        <p id="ts-model-status" role="status"></p>
        <div class="controls">
          <button id="ts-impute" type="button">Impute</button>
          <button id="ts-clear" type="button" title="remove the painted stretches">Clear painting</button>
          <button id="ts-train" type="button">Fine-tune</button>
          <button id="ts-pause" type="button" disabled>Pause</button>
          <button id="ts-shipped" type="button">Shipped weights</button>
          <button id="ts-fresh" type="button" title="a fresh small network for this series">Fresh model</button>
          <button id="ts-download" type="button">Download weights</button>
          <label class="upload">upload weights (.bpk) <input id="ts-weights" type="file" accept=".bpk"></label>
        </div>
        <progress id="ts-progress" max="1" value="0"></progress>
        <p id="ts-impute-status" role="status"></p>
        <p class="legend">Drag across the chart to hide a stretch of it and impute again. Dots: observed;
          circles: hidden ground truth; line: median of the samples; band: 5–95 %.</p>
        <canvas id="ts-chart" width="720" height="260" aria-label="picked feature"></canvas>
        <div id="ts-small"></div>
        <table id="ts-scores"></table>
        <p id="ts-train-status" role="status"></p>
        <canvas id="ts-loss" width="480" height="160" aria-label="fine-tuning loss"></canvas>
      </div>
    </div>`;
  const $ = (id) => root.querySelector(`#${id}`);
  const facts = wasm.seriesLabFacts();
  const view = {
    lab: null, info: null, backend: null, params: null, window: null, result: null,
    resultKey: null, run: 0, progress: null, training: null, losses: [], loading: Promise.resolve(),
    weights: '',
  };

  function setStatus(id, text) { $(id).textContent = text; }

  async function fetchText(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} (run scripts/fetch-air.sh)`);
    return response.text();
  }

  function describeData() {
    const i = view.info;
    const span = i.first_time ? `, ${i.first_time} … ${i.last_time}` : '';
    setStatus('ts-data-status', `${i.name}: ${i.features} features × ${i.rows} time steps${span}, ${(100 * i.missing).toFixed(2)} % missing; ${i.windows} windows of ${i.window_len}; test split rows ${i.test[0]}–${i.test[1] - 1}.`);
    const select = $('ts-feature');
    select.replaceChildren(...i.names.map((n, f) => new Option(`${f}: ${n}`, String(f))));
  }

  function describeModel() {
    const m = view.lab.modelInfo();
    setStatus('ts-model-status', `CSDI (${m.config}, ${m.parameters.toLocaleString('en')} parameters) on ${m.backend}; trained on ${m.dataset}: ${m.epochs} epochs, ${m.steps} steps. ${view.weights}`);
    return m;
  }

  function loadSeries(text, name) {
    const lab = tracked(new wasm.SeriesLab(text, name));
    // The old series' imputation and training stop at their next step.
    stopTraining();
    view.run += 1;
    view.lab?.retire().catch(showError);
    view.lab = lab;
    view.info = lab.info();
    view.result = null;
    view.resultKey = null;
    describeData();
  }

  // The link's `network` picks the shipped weights: the small network or the paper-size one.
  async function loadShippedWeights() {
    const network = view.params.network;
    view.network = network;
    const url = `www/models/${wasm.csdiWeightsFile(network)}`;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    view.lab.loadModel(bytes, view.backend);
    view.weights = `Shipped weights (${network} network).`;
    view.losses = [];
    describeModel();
  }

  // The shipped weights where the series has their columns; else a fresh small network.
  async function ensureModel() {
    try {
      await loadShippedWeights();
    } catch (e) {
      view.lab.newModel(view.backend, Number(view.params.seed));
      view.weights = `Fresh weights: ${e.message ?? e}. Fine-tune to train them on this series.`;
      describeModel();
    }
  }

  function paramsKey(p) {
    return [p.network, p.window, p['hide-ratio'], p.hide, p.nsample, p.seed].join('|');
  }

  function drawCharts() {
    if (!view.window) return;
    const k = view.info.features;
    const feature = Math.min(Number(view.params.feature), k - 1);
    const len = view.window.len;
    const values = view.window.values;
    const result = view.resultKey === paramsKey(view.params) ? view.result : null;
    const names = view.info.names;
    const stretches = Array.from(wasm.hiddenStretches(view.params.hide));
    view.chart = drawChart($('ts-chart'), { title: names[feature], len, k, feature, values, result, painted: paintedStretches(stretches, feature) });
    const small = $('ts-small');
    const others = [];
    for (let j = 1; j <= NEIGHBOURS && j < k; j++) others.push((feature + j) % k);
    if (small.children.length !== others.length) {
      small.replaceChildren(...others.map(() => Object.assign(document.createElement('canvas'), { width: 236, height: 110 })));
    }
    others.forEach((f, i) => {
      const canvas = small.children[i];
      canvas.dataset.feature = String(f);
      canvas.title = `pick ${names[f]}`;
      drawChart(canvas, { title: names[f], len, k, feature: f, values, result, painted: paintedStretches(stretches, f) });
    });
    $('ts-feature').value = String(feature);
  }

  function drawScores(result) {
    const table = $('ts-scores');
    if (!result?.csdi) { table.replaceChildren(); return; }
    const row = (cells, tag = 'td') => {
      const tr = document.createElement('tr');
      for (const c of cells) tr.append(Object.assign(document.createElement(tag), { textContent: c }));
      return tr;
    };
    const fmt = (s) => [s.crps.toFixed(3), s.mae.toFixed(2), s.rmse.toFixed(2)];
    table.replaceChildren(
      row([`${result.n_eval} hidden values`, 'CRPS', 'MAE', 'RMSE'], 'th'),
      row([`CSDI (${result.nsample} samples)`, ...fmt(result.csdi)]),
      ...result.baselines.map(([name, s]) => row([name, ...fmt(s)])),
    );
  }

  function drawWindow() {
    const p = view.params;
    const index = Math.min(Number(p.window), view.info.windows - 1);
    view.window = view.lab.windowView(index);
    const w = view.window;
    const when = w.times ? `${w.times[0]} … ${w.times[w.len - 1]}` : `rows ${w.start}–${w.start + w.len - 1}`;
    setStatus('ts-window-status', `Window ${index + 1} of ${view.info.windows} (${when}), in the ${w.part} part of the split.`);
    drawCharts();
  }

  // Imputes the link's window: start, then a few reverse steps per call with the progress bar.
  async function impute() {
    const p = view.params;
    const run = ++view.run;
    const index = Math.min(Number(p.window), view.info.windows - 1);
    const key = paramsKey(p);
    const started = view.lab.startImputation(index, Number(p['hide-ratio']), p.hide, Number(p.nsample), Number(p.seed));
    const cap = started.capped ? ` (the CPU path draws at most ${started.nsample}; the link asks for ${started.requested})` : '';
    view.progress = { done: 0, total: started.total, nsample: started.nsample };
    const bar = $('ts-progress');
    bar.max = started.total;
    bar.value = 0;
    const t0 = performance.now();
    let remaining = started.total;
    while (remaining > 0) {
      setStatus('ts-impute-status', `Sampling ${started.nsample} imputations${cap}: reverse step ${started.total - remaining}/${started.total}, ${started.hidden} values hidden…`);
      remaining = await view.lab.imputeSteps(STEPS_PER_CALL[view.backend]);
      if (run !== view.run) return null;
      bar.value = started.total - remaining;
      view.progress.done = started.total - remaining;
      // On the CPU a call resolves in microtasks only: without this the bar would not repaint.
      await yieldToPage();
      if (run !== view.run) return null;
    }
    const result = await view.lab.finishImputation();
    if (run !== view.run) return null;
    view.result = result;
    view.resultKey = key;
    const seconds = (performance.now() - t0) / 1000;
    const vs = result.csdi ? (() => {
      const linear = result.baselines.find(([n]) => n === 'linear')?.[1];
      return ` CSDI MAE ${result.csdi.mae.toFixed(2)}, CRPS ${result.csdi.crps.toFixed(3)}; linear interpolation MAE ${linear.mae.toFixed(2)}.`;
    })() : ' No observed value was hidden: nothing to score.';
    setStatus('ts-impute-status', `${result.nsample} samples on ${view.backend}${cap} in ${seconds.toFixed(1)} s.${vs}`);
    drawCharts();
    drawScores(result);
    return result;
  }

  async function train(steps, { batch = facts.train_batch } = {}) {
    stopTraining();
    const run = new TrainingRun(steps, { pauseButton: $('ts-pause'), trainButton: $('ts-train') });
    view.training = run;
    view.run += 1;
    try {
      while (await run.next()) {
        const losses = await run.chunk(TRAIN_CHUNK, (n) => view.lab.trainSteps(n, batch, view.params.strategy));
        view.losses.push(...losses);
        setStatus('ts-train-status', `Fine-tuning (${view.params.strategy} targets): step ${run.steps}/${steps}, loss ${losses[losses.length - 1].toFixed(4)}, ${run.speed()}.`);
        plotCurve($('ts-loss'), [{ points: view.losses.map((l, i) => [i + 1, l]), colour: '#2f6fde' }]);
        await yieldToPage();
      }
    } finally {
      if (view.training === run) view.training = null;
      run.finish();
      view.weights = `Fine-tuned in the tab (${view.losses.length} steps).`;
      describeModel();
    }
    return { steps: run.steps, losses: [...view.losses] };
  }

  function stopTraining() {
    view.training?.stop();
    view.training = null;
  }

  async function show(hash) {
    const decoded = wasm.decode_hash(hash);
    view.params = decoded.params;
    const work = (async () => {
      await view.loading;
      const backend = await seriesBackend();
      if (!view.lab) loadSeries(await fetchText(SHIPPED_DATA), 'air-pm10');
      // `view.network` is set by the first load, so this also loads the first model.
      if (view.backend !== backend || view.network !== view.params.network) {
        view.backend = backend;
        await ensureModel();
      }
      drawWindow();
      if (view.resultKey !== paramsKey(view.params) && !view.training) await impute();
    })();
    view.loading = work.catch(() => {});
    return work;
  }

  async function uploadCsv(file) {
    const text = await file.text();
    try {
      loadSeries(text, file.name.replace(/\.csv$/i, ''));
    } catch (e) {
      const message = `${file.name} was not loaded: ${e.message ?? e}. The current series is kept.`;
      setStatus('ts-data-status', message);
      return { ok: false, message };
    }
    await ensureModel();
    setParams({ window: 0, feature: 0, hide: '' });
    return { ok: true, info: view.info };
  }

  async function uploadWeights(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    try {
      view.lab.loadModel(bytes, view.backend);
      view.weights = `Loaded ${file.name}.`;
      view.resultKey = null;
      describeModel();
      await impute();
      return { ok: true };
    } catch (e) {
      const message = `${file.name} was not loaded: ${e.message ?? e}. The current weights are kept.`;
      view.weights = message;
      describeModel();
      return { ok: false, message };
    }
  }

  async function download() {
    const bytes = await view.lab.saveModel();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    link.download = `csdi-${view.info.name}.bpk`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    return bytes;
  }

  // Painting: a drag across the big chart hides that stretch of the picked feature.
  let drag = null;
  const chart = $('ts-chart');
  const timeAt = (e) => {
    const rect = chart.getBoundingClientRect();
    const x = (e.clientX - rect.left) * (chart.width / rect.width);
    return Math.max(0, Math.min(view.window.len - 1, view.chart.timeAt(x)));
  };
  chart.addEventListener('pointerdown', (e) => { if (view.window) { drag = { from: timeAt(e) }; chart.setPointerCapture(e.pointerId); } });
  chart.addEventListener('pointerup', (e) => {
    if (!drag) return;
    const to = timeAt(e);
    const from = drag.from;
    drag = null;
    paint(Number(view.params.feature), from, to);
  });

  function paint(feature, first, last) {
    return setParams({ hide: wasm.addHiddenStretch(view.params.hide, feature, first, last) });
  }

  const guard = (f) => () => f().catch(showError);
  const move = (delta) => setParams({ window: Math.max(0, Math.min(view.info.windows - 1, Number(view.params.window) + delta)) });
  $('ts-prev').addEventListener('click', () => move(-1));
  $('ts-next').addEventListener('click', () => move(1));
  $('ts-feature').addEventListener('change', (e) => setParams({ feature: e.target.value }));
  $('ts-small').addEventListener('click', (e) => { const f = e.target.dataset?.feature; if (f !== undefined) setParams({ feature: f }); });
  $('ts-impute').addEventListener('click', guard(impute));
  $('ts-clear').addEventListener('click', () => setParams({ hide: '' }));
  $('ts-train').addEventListener('click', guard(async () => { if (view.training) { stopTraining(); return; } await train(100_000); }));
  $('ts-pause').addEventListener('click', () => view.training?.togglePause());
  $('ts-shipped').addEventListener('click', guard(async () => { try { await loadShippedWeights(); } catch (e) { view.weights = `Shipped weights not loaded: ${e.message ?? e}.`; describeModel(); return; } await impute(); }));
  $('ts-fresh').addEventListener('click', guard(async () => { view.lab.newModel(view.backend, Number(view.params.seed)); view.weights = 'Fresh weights.'; view.losses = []; describeModel(); }));
  $('ts-shipped-data').addEventListener('click', guard(async () => { loadSeries(await fetchText(SHIPPED_DATA), 'air-pm10'); await ensureModel(); setParams({ window: 0, feature: 0, hide: '' }); }));
  $('ts-upload').addEventListener('change', (e) => { const file = e.target.files[0]; if (file) uploadCsv(file).catch(showError); e.target.value = ''; });
  $('ts-weights').addEventListener('change', (e) => { const file = e.target.files[0]; if (file) uploadWeights(file).catch(showError); e.target.value = ''; });
  $('ts-download').addEventListener('click', () => { download().catch(showError); });

  return {
    show,
    stop() { stopTraining(); view.run += 1; },
    ready: () => view.loading,
    impute,
    train,
    paint,
    uploadCsv: (name, text) => uploadCsv(new File([text], name)),
    uploadWeights: (name, bytes) => uploadWeights(new File([bytes], name)),
    download: async () => Array.from(await download()),
    state: () => ({
      backend: view.backend, info: view.info, model: view.lab?.modelInfo(), window: view.window && { index: view.window.index, part: view.window.part },
      progress: view.progress, result: view.result && { nsample: view.result.nsample, n_eval: view.result.n_eval, csdi: view.result.csdi, baselines: view.result.baselines, hidden: Array.from(view.result.hidden), median: Array.from(view.result.median), low: Array.from(view.result.low), high: Array.from(view.result.high) },
      resultCurrent: view.resultKey === paramsKey(view.params), dataStatus: $('ts-data-status').textContent, imputeStatus: $('ts-impute-status').textContent, weights: view.weights,
    }),
    chartPixels: () => { const c = $('ts-chart'); return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); },
  };
}
