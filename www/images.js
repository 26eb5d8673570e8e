// MNIST / Fashion-MNIST lab view: loads a dataset (with progress), shows real images, checks the
// shipped classifier, and hosts the views every generator shares (sample grid, loss curve,
// FID over training, weights download and upload). All model math is in Rust (ImageLab).
import { plotCurve } from './plot.js';
import { TrainingRun, yieldToPage } from './training.js';

const TRAIN_CHUNK = { cpu: 2, webgpu: 1 };
const BATCH = 64;
const FID_SAMPLES = 256;
const FID_REFERENCE = 1000;
const FID_EVERY = 200;
// The sample grid refreshes this often while a model trains in the tab.
const SAMPLE_EVERY = 100;
// Frames of the forward-noising strip (diffusion models), as fractions of the model's T: the
// image fades slowly at first, so the early frames are closer together.
const STRIP_FRACTIONS = [0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1];
// Where the t slider starts, as a fraction of T.
const STRIP_START = 0.25;

function concat(parts, length) {
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) { bytes.set(part, at); at += part.length; }
  return bytes;
}

// Fetches `url` reporting (loaded, total) bytes as they arrive; `lengthFromPrefix` reads the
// total from the file's own header when the server sends no Content-Length.
async function fetchWithProgress(url, onProgress, lengthFromPrefix = () => undefined) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} (run scripts/fetch-data.sh)`);
  let total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const parts = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    if (!total) total = lengthFromPrefix(concat(parts, loaded)) ?? 0;
    onProgress(loaded, total);
  }
  return concat(parts, loaded);
}

// Draws `count` grey images (8-bit or [0, 1] floats) of `side × side` pixels as a grid of `columns`.
function drawGrid(canvas, side, pixels, count, columns, { scale = 1, captions = null } = {}) {
  const size = side * side;
  const rows = Math.max(1, Math.ceil(count / columns));
  const cell = side + 2;
  const image = new ImageData(columns * cell, rows * cell);
  image.data.fill(255);
  for (let k = 0; k < count; k++) {
    const ox = (k % columns) * cell + 1, oy = Math.floor(k / columns) * cell + 1;
    for (let p = 0; p < size; p++) {
      const v = 255 - Math.round(Math.max(0, Math.min(1, pixels[k * size + p] / scale)) * 255);
      const at = 4 * ((oy + Math.floor(p / side)) * image.width + ox + (p % side));
      image.data[at] = image.data[at + 1] = image.data[at + 2] = v;
    }
  }
  const zoom = Math.max(1, Math.floor(canvas.width / image.width));
  canvas.height = image.height * zoom;
  const off = new OffscreenCanvas(image.width, image.height);
  off.getContext('2d').putImageData(image, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(off, 0, 0, image.width * zoom, image.height * zoom);
  if (captions) {
    ctx.font = `${Math.max(9, 4 * zoom)}px system-ui`;
    ctx.fillStyle = '#d9480f';
    captions.slice(0, count).forEach((text, k) => {
      ctx.fillText(text, ((k % columns) * cell + 2) * zoom, (Math.floor(k / columns) * cell + 9) * zoom);
    });
  }
}

export function createImageView(root, wasm, { showError, imageBackend }) {
  const facts = wasm.imageLabFacts();
  const T = facts.diffusion_steps;
  const stripTimes = STRIP_FRACTIONS.map((f) => Math.round(f * T));
  const grid = (canvas, pixels, count, columns, options) => drawGrid(canvas, facts.side, pixels, count, columns, options);
  root.innerHTML = `
    <div class="images">
      <div class="im-block">
        <h3>Dataset</h3>
        <p id="im-data-status" role="status"></p>
        <progress id="im-progress" max="1" value="0" hidden></progress>
        <canvas id="im-real" width="480" height="240" aria-label="real test images"></canvas>
        <div class="controls">
          <button id="im-prev" type="button">◀ images</button>
          <button id="im-next" type="button">images ▶</button>
          <button id="im-check" type="button">Check the classifier on 1 000 test images</button>
        </div>
        <p id="im-classifier-status" role="status"></p>
        <p id="im-source" class="legend"></p>
      </div>
      <div class="im-block">
        <h3>Model <span id="im-model-name"></span></h3>
        <p id="im-model-status" role="status"></p>
        <div class="controls">
          <button id="im-sample" type="button">Sample</button>
          <button id="im-train" type="button">Train</button>
          <button id="im-pause" type="button" disabled>Pause</button>
          <button id="im-reset" type="button" title="fresh random weights">Reset weights</button>
          <button id="im-pretrained" type="button">Shipped weights</button>
          <button id="im-download" type="button">Download weights</button>
          <label class="upload">upload weights (.bpk) <input id="im-upload" type="file" accept=".bpk"></label>
        </div>
        <p id="im-weights-status" role="status"></p>
        <canvas id="im-samples" width="480" height="240" aria-label="samples"></canvas>
        <p id="im-sample-status"></p>
        <div id="im-diffusion" hidden>
          <h3>Forward noising x<sub>t</sub> = √ᾱ<sub>t</sub> x<sub>0</sub> + √(1−ᾱ<sub>t</sub>) ε</h3>
          <canvas id="im-strip" width="480" height="70" aria-label="forward noising strip"></canvas>
          <div class="controls">
            <label>t <input id="im-strip-t" type="range" min="0" max="${T}" step="1" value="${Math.round(STRIP_START * T)}"></label>
            <canvas id="im-strip-one" width="84" height="84" aria-label="x_t at the chosen t"></canvas>
            <button id="im-strip-next" type="button">another image</button>
          </div>
          <p id="im-strip-status"></p>
          <h3>FID against guidance weight and against DDIM steps (shipped weights, measured natively)</h3>
          <canvas id="im-sweep-guidance" width="236" height="150" aria-label="FID against guidance"></canvas>
          <canvas id="im-sweep-steps" width="236" height="150" aria-label="FID against DDIM steps"></canvas>
          <p id="im-sweep-status"></p>
        </div>
        <h3>Loss</h3>
        <canvas id="im-loss" width="480" height="150"></canvas>
        <h3>FID over training (${FID_SAMPLES} samples vs ${FID_REFERENCE} test images; dashed: real training images)</h3>
        <canvas id="im-fid" width="480" height="150"></canvas>
        <p id="im-fid-status"></p>
      </div>
    </div>`;
  const $ = (id) => root.querySelector(`#${id}`);
  const models = Array.from(wasm.imageModels());
  const modelInfo = (name) => models.find((m) => m.name === name);
  const view = {
    lab: null, labs: {}, dataset: null, backend: null, params: null, model: null, schedule: null, page: 0, stripImage: 0,
    losses: [], fid: [], floor: null, training: null, evaluation: null, shipped: false, loading: null,
  };

  async function loadDataset(name) {
    if (view.labs[name]) return view.labs[name];
    $('im-progress').hidden = false;
    $('im-data-status').textContent = `Loading ${name}…`;
    const bytes = await fetchWithProgress(`www/data/${name}.bin`, (loaded, total) => {
      $('im-progress').value = total ? loaded / total : 0;
      view.progress = { loaded, total };
      $('im-data-status').textContent = `Loading ${name}: ${(loaded / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ''} MB`;
    }, (prefix) => wasm.pageFileLength(prefix));
    $('im-data-status').textContent = `Decoding ${name}…`;
    // Decoding blocks the page for a moment: the status above is painted first.
    await yieldToPage();
    const lab = new wasm.ImageLab(bytes);
    $('im-progress').hidden = true;
    view.labs[name] = { lab, classifierBackend: null, evaluationReady: false };
    return view.labs[name];
  }

  function drawReal() {
    const { lab } = view.lab;
    const count = 32;
    const pixels = lab.images('test', view.page * count, count);
    const labels = lab.labels('test', view.page * count, count);
    const classes = lab.info().classes;
    grid($('im-real'), pixels, pixels.length / facts.pixels, 8, { scale: 255, captions: Array.from(labels, (l) => classes[l].slice(0, 7)) });
  }

  async function ensureClassifier() {
    const entry = view.lab;
    if (entry.classifierBackend === view.backend) return;
    const bytes = await fetchWithProgress(`www/models/classifier-${view.dataset}.bpk`, () => {});
    entry.lab.loadClassifier(bytes, view.backend);
    entry.classifierBackend = view.backend;
    entry.evaluationReady = false;
  }

  async function checkClassifier(count = 1000) {
    await ensureClassifier();
    $('im-classifier-status').textContent = `Classifying ${count} test images on ${view.backend}…`;
    const t0 = performance.now();
    const result = await view.lab.lab.classifyTest(0, count);
    const seconds = (performance.now() - t0) / 1000;
    $('im-classifier-status').textContent = `Shipped classifier on ${view.backend}: ${(100 * result.accuracy).toFixed(1)} % of ${result.n} test images right (${seconds.toFixed(1)} s)`;
    return { ...result, backend: view.backend, seconds };
  }

  async function ensureEvaluation() {
    await ensureClassifier();
    const entry = view.lab;
    if (entry.evaluationReady) return;
    $('im-fid-status').textContent = `Computing the classifier's features of ${FID_REFERENCE} test images…`;
    await entry.lab.prepareEvaluation(FID_REFERENCE);
    const points = await entry.lab.referencePoints(FID_SAMPLES, 0);
    entry.reference = points;
    entry.evaluationReady = true;
    view.floor = points.train_vs_test;
    $('im-fid-status').textContent = `Reference FID at ${points.n} images: real training images ${points.train_vs_test.toFixed(2)}, pixel noise ${points.noise.toFixed(1)}, the mean image ${points.mean_image.toFixed(1)}.`;
  }

  // `cls` is the link's text (`all` or a digit): wasm reads it, the page only passes it on.
  function sampleSettings() {
    const p = view.params;
    return { count: Number(p.n), cls: String(p.class), guidance: Number(p.guidance), steps: Number(p.steps), eta: Number(p.eta), seed: Number(p.seed) };
  }

  async function drawSamples() {
    const s = sampleSettings();
    const t0 = performance.now();
    const pixels = await view.lab.lab.sample(s.count, s.cls, s.guidance, s.steps, s.eta, s.seed);
    const ms = performance.now() - t0;
    grid($('im-samples'), pixels, s.count, 8);
    const only = wasm.onlyClass(s.cls);
    $('im-sample-status').textContent = `${s.count} samples${only !== undefined ? ` of class ${view.lab.lab.info().classes[only]}` : ''}, seed ${s.seed}, ${ms.toFixed(0)} ms on ${view.backend}`;
    return pixels;
  }

  // The closed-form forward process of one test image under the link's β schedule.
  function drawStrip() {
    const diffusion = modelInfo(view.model)?.diffusion ?? false;
    $('im-diffusion').hidden = !diffusion;
    if (!diffusion || !view.lab) return;
    const index = view.stripImage % view.lab.lab.info().test;
    const schedule = view.params.schedule;
    const seed = Number(view.params.seed);
    const frames = view.lab.lab.noisingStrip('test', index, schedule, Uint32Array.from(stripTimes), seed);
    grid($('im-strip'), frames, stripTimes.length, stripTimes.length, { captions: stripTimes.map((t) => `t=${t}`) });
    const t = Number($('im-strip-t').value);
    grid($('im-strip-one'), view.lab.lab.noisingStrip('test', index, schedule, Uint32Array.from([t]), seed), 1, 1);
    const [signal, spread] = wasm.ImageLab.noisingCoefficients(schedule, Uint32Array.from([t]));
    $('im-strip-status').textContent = `${schedule} schedule, t = ${t} of ${T}: √ᾱ_t = ${signal.toFixed(3)}, √(1−ᾱ_t) = ${spread.toFixed(3)} (test image ${index}, noise seed ${seed}).`;
  }

  // The sweep `genlab sweep` wrote next to the shipped weights: FID (and class accuracy) of
  // samples against the guidance weight and against the sampler's steps.
  async function drawSweep() {
    const key = `${view.model}-${view.dataset}`;
    if (view.sweepKey === key) return view.sweep;
    view.sweepKey = key;
    view.sweep = null;
    const response = await fetch(`www/models/${key}.sweep.json`);
    if (!response.ok) {
      plotCurve($('im-sweep-guidance'), []);
      plotCurve($('im-sweep-steps'), []);
      $('im-sweep-status').textContent = `No sweep for the shipped ${key} weights yet (\`genlab sweep --model ${view.model} --dataset ${view.dataset}\` writes it).`;
      return null;
    }
    const sweep = await response.json();
    view.sweep = sweep;
    const curve = (points, x) => [{ points: points.map((p) => [p[x], p.fid]), colour: '#d9480f' }];
    plotCurve($('im-sweep-guidance'), curve(sweep.guidance_sweep, 'guidance'), { xLabel: 'w', floor: sweep.floor });
    plotCurve($('im-sweep-steps'), curve(sweep.steps_sweep, 'steps'), { xLabel: 'steps', floor: sweep.floor });
    const fmt = (p) => `${p.fid.toFixed(2)}${p.accuracy != null ? ` (${(100 * p.accuracy).toFixed(1)} %)` : ''}`;
    $('im-sweep-status').textContent = `${sweep.n} samples per point against the ${sweep.dataset} test set; dashed: ${sweep.n} real training images (FID ${sweep.floor.toFixed(2)}). `
      + `Guidance at ${sweep.guidance_sweep[0]?.steps} steps: ${sweep.guidance_sweep.map((p) => `w=${p.guidance}: ${fmt(p)}`).join(', ')}. `
      + `Steps at w=${sweep.steps_sweep[0]?.guidance}: ${sweep.steps_sweep.map((p) => `${p.steps}: ${fmt(p)}`).join(', ')}. FID (class accuracy).`;
    return sweep;
  }

  function describeModel() {
    const state = view.lab.lab.generatorState();
    $('im-model-name').textContent = `${state.name} (${state.parameters.toLocaleString('en')} parameters)`;
    $('im-model-status').textContent = `${state.steps} training steps${view.shipped ? ' (shipped weights)' : ''}; loss: ${state.loss_name}`;
    return state;
  }

  async function loadShipped() {
    const response = await fetch(`www/models/${view.model}-${view.dataset}.bpk`);
    if (!response.ok) {
      view.shipped = false;
      $('im-weights-status').textContent = `No shipped ${view.model} weights for ${view.dataset} yet: train them here or with \`genlab train ${view.model} --dataset ${view.dataset}\`.`;
      return false;
    }
    view.lab.lab.loadGenerator(new Uint8Array(await response.arrayBuffer()));
    view.shipped = true;
    $('im-weights-status').textContent = `Loaded the shipped ${view.model} weights for ${view.dataset}.`;
    return true;
  }

  async function fidPoint() {
    // Another seed than the grid's, so the FID is not of the images on show.
    const report = await evaluateSamples({ seedOffset: 1 });
    const step = view.lab.lab.generatorState().steps;
    view.fid.push([step, report.fid]);
    plotCurve($('im-fid'), [{ points: view.fid, colour: '#d9480f' }], { floor: view.floor });
    $('im-fid-status').textContent = `step ${step}: FID ${report.fid.toFixed(2)}${report.accuracy !== undefined ? `, class accuracy ${(100 * report.accuracy).toFixed(1)} %` : ''} (floor ${view.floor.toFixed(2)})`;
    return report;
  }

  // FID and class accuracy of `count` samples at the link's settings, of every class (no class
  // asked for), each judged against the class it was drawn for.
  async function evaluateSamples({ count = FID_SAMPLES, steps = null, seedOffset = 0 } = {}) {
    await ensureEvaluation();
    const s = sampleSettings();
    const pixels = await view.lab.lab.sample(count, undefined, s.guidance, steps ?? s.steps, s.eta, s.seed + seedOffset);
    const classes = wasm.sampleClasses(count, undefined);
    return view.lab.lab.evaluate(pixels, view.conditional ? classes : undefined);
  }

  const trainingResult = (run) => ({ steps: run.steps, losses: run.losses });

  async function train(steps, { fidEvery = FID_EVERY, sampleEvery = SAMPLE_EVERY, batch = BATCH } = {}) {
    if (view.training) return view.training.done.then(trainingResult);
    const run = new TrainingRun(steps, { pauseButton: $('im-pause'), trainButton: $('im-train') });
    run.losses = [];
    view.training = run;
    const chunk = TRAIN_CHUNK[view.backend] ?? 1;
    try {
      while (await run.next()) {
        const losses = await run.chunk(chunk, (n) => view.lab.lab.trainGenerator(n, batch));
        run.losses.push(...losses);
        const state = view.lab.lab.generatorState();
        const before = state.steps - losses.length;
        for (let i = 0; i < losses.length; i++) view.losses.push([before + 1 + i, losses[i]]);
        $('im-model-status').textContent = `training on ${view.backend}: step ${state.steps} (${run.steps}/${steps} this run), loss ${losses.at(-1).toFixed(2)}, ${run.speed()}`;
        plotCurve($('im-loss'), [{ points: view.losses, colour: '#2f6fde' }]);
        // A chunk may step over a multiple of fidEvery; a crossing counts.
        const crossed = (every) => every && Math.floor(state.steps / every) > Math.floor(before / every);
        if (crossed(fidEvery)) { await drawSamples(); await fidPoint(); } else if (crossed(sampleEvery)) await drawSamples();
        await yieldToPage();
      }
    } finally {
      if (view.training === run) view.training = null;
      run.finish();
    }
    await drawSamples();
    describeModel();
    return trainingResult(run);
  }

  function stopTraining() {
    view.training?.stop();
    view.training = null;
  }

  async function newModel({ shipped = true } = {}) {
    stopTraining();
    view.losses = [];
    view.fid = [];
    view.lab.lab.newGenerator(view.model, view.backend, Number(view.params.seed), view.params.schedule);
    view.conditional = modelInfo(view.model)?.conditional ?? false;
    view.shipped = false;
    if (shipped) await loadShipped();
    describeModel();
    plotCurve($('im-loss'), []);
    plotCurve($('im-fid'), []);
    await drawSamples();
  }

  async function show(hash) {
    const decoded = wasm.decode_hash(hash);
    const params = decoded.params;
    view.params = params;
    const work = (async () => {
      await view.loading;
      const backend = await imageBackend();
      const datasetChanged = view.dataset !== params.dataset || view.backend !== backend;
      const modelChanged = view.model !== params.model || view.schedule !== params.schedule;
      view.backend = backend;
      if (datasetChanged) {
        view.lab = await loadDataset(params.dataset);
        view.dataset = params.dataset;
        view.page = 0;
        const info = view.lab.lab.info();
        $('im-data-status').textContent = `${info.title}: ${info.train.toLocaleString('en')} training and ${info.test.toLocaleString('en')} test images, loaded.`;
        $('im-source').textContent = `Source: ${info.source}. License: ${info.license}.`;
        drawReal();
      }
      view.model = params.model;
      view.schedule = params.schedule;
      drawStrip();
      if (modelInfo(view.model)?.diffusion) drawSweep().catch(showError);
      // The link's decoder only lets through models of the registry, so this one can be built.
      if (datasetChanged || modelChanged) await newModel();
      else await drawSamples();
    })();
    view.loading = work.catch(() => {});
    return work;
  }

  async function upload(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    try {
      view.lab.lab.loadGenerator(bytes);
      view.shipped = false;
      $('im-weights-status').textContent = `Loaded ${file.name}.`;
      describeModel();
      await drawSamples();
      return { ok: true };
    } catch (e) {
      const message = `${file.name} was not loaded: ${e.message ?? e}. The current weights are kept.`;
      $('im-weights-status').textContent = message;
      return { ok: false, message };
    }
  }

  async function download() {
    const bytes = await view.lab.lab.saveGenerator();
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    link.download = `${view.model}-${view.dataset}.bpk`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    return bytes;
  }

  const guard = (f) => () => f().catch(showError);
  $('im-prev').addEventListener('click', () => { view.page = Math.max(0, view.page - 1); drawReal(); });
  $('im-next').addEventListener('click', () => { view.page += 1; drawReal(); });
  $('im-check').addEventListener('click', guard(() => checkClassifier()));
  $('im-sample').addEventListener('click', guard(drawSamples));
  $('im-strip-t').addEventListener('input', () => { try { drawStrip(); } catch (e) { showError(e); } });
  $('im-strip-next').addEventListener('click', () => { view.stripImage += 1; try { drawStrip(); } catch (e) { showError(e); } });
  $('im-train').addEventListener('click', guard(async () => { if (view.training) { stopTraining(); return; } await train(100_000); }));
  $('im-pause').addEventListener('click', () => view.training?.togglePause());
  $('im-reset').addEventListener('click', guard(() => newModel({ shipped: false })));
  $('im-pretrained').addEventListener('click', guard(async () => { await loadShipped(); describeModel(); await drawSamples(); }));
  $('im-download').addEventListener('click', () => { download().catch(showError); });
  $('im-upload').addEventListener('change', (e) => { const file = e.target.files[0]; if (file) upload(file).catch(showError); e.target.value = ''; });

  return {
    show,
    stop: stopTraining,
    ready: () => view.loading,
    checkClassifier,
    train,
    sample: async () => Array.from(await drawSamples()),
    fidPoint,
    evaluateSamples,
    upload: (name, bytes) => upload(new File([bytes], name)),
    download: async () => Array.from(await download()),
    state: () => ({ progress: view.progress, dataset: view.dataset, backend: view.backend, model: view.model, info: view.lab?.lab.info(), generator: view.lab?.lab.generatorState(), shipped: view.shipped, weightsStatus: $('im-weights-status').textContent }),
    realPixels: () => Array.from(view.lab.lab.images('test', view.page * 32, 32)),
    sweep: () => drawSweep(),
    strip: () => ({ hidden: $('im-diffusion').hidden, status: $('im-strip-status').textContent, times: [...stripTimes], max: Number($('im-strip-t').max) }),
  };
}
