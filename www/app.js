// Page glue: hosts controls, canvases and plots. All model math and state parsing is in Rust.
import init, * as wasm from '../pkg/genlab.js';
import { createLangevinView } from './langevin.js';
import { createImageView } from './images.js';
import { createSeriesView } from './series.js';
import { plotCurve } from './plot.js';
import { TrainingRun, yieldToPage } from './training.js';

const $ = (id) => document.getElementById(id);
const DEMO_TITLES = { langevin: 'Langevin particles', mnist: 'MNIST generation', csdi: 'CSDI imputation' };
// Each demo's view, built the first time its tab opens.
const LIVE_VIEWS = { langevin: createLangevinView, mnist: createImageView, csdi: createSeriesView };
const liveViews = {};
const STEPS_PER_CHUNK = { cpu: 5, webgpu: 2 };

const page = {
  view: null,              // what decode_hash returned for the current link
  lastHashPerDemo: {},     // so switching tabs back keeps what the user set
  backend: { requested: null, webgpu: false, adapter: null, fallback: false, reason: '' },
  decisions: {},           // workload -> calibration decision
  workloads: null,         // demo -> {name, summary} of the workload it calibrates with
  training: null,          // the backend check's TrainingRun while it trains
  errors: [],
};

// ---- errors: Rust panics (through the panic hook) and JS errors go to the error panel ----
function showError(message) {
  page.errors.push(String(message));
  const item = document.createElement('li');
  item.textContent = String(message);
  $('error-list').append(item);
  $('errors').hidden = false;
}
globalThis.genlabReportPanic = showError;
window.addEventListener('error', (e) => showError(`JavaScript error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`Unhandled error: ${e.reason?.message ?? e.reason}`));

function showNotices(notices) {
  const list = $('notice-list');
  list.replaceChildren(...notices.map((text) => Object.assign(document.createElement('li'), { textContent: text })));
  $('notices').hidden = notices.length === 0;
}

// ---- URL state ----
function applyView(view, { notices = view.notices } = {}) {
  page.view = view;
  page.lastHashPerDemo[view.demo] = view.hash;
  if (location.hash.slice(1) !== view.hash) history.replaceState(null, '', `#${view.hash}`);
  if (notices.length) showNotices(notices);
  renderDemo();
}

// One or several parameters at once (a control, a painting and `density=painted`): wasm applies
// them to the link with whatever an edit brings along (another dataset's guidance weight).
function setParams(pairs) {
  const next = wasm.editHash(page.view.hash, Object.keys(pairs), Object.values(pairs).map(String));
  applyView(next);
  return next;
}

function renderDemo() {
  const { demo, params, choices } = page.view;
  for (const tab of document.querySelectorAll('#tabs button')) {
    tab.setAttribute('aria-selected', String(tab.dataset.demo === demo));
  }
  $('demo-title').textContent = DEMO_TITLES[demo];
  for (const other of Object.values(liveViews)) other.stop();
  const live = $('demo-live');
  if (live.dataset.demo !== demo) {
    liveViews[demo] = LIVE_VIEWS[demo](live, wasm, { showError, backendFor: particleBackend, setParams, imageBackend, seriesBackend });
    live.dataset.demo = demo;
  }
  liveViews[demo].show(page.view.hash).catch(showError);
  $('backend-choice').value = page.view.backend;
  const form = $('params');
  form.replaceChildren();
  for (const [key, value] of Object.entries(params)) {
    const label = document.createElement('label');
    label.textContent = key;
    let input;
    if (choices[key]) {
      input = document.createElement('select');
      for (const option of choices[key]) input.append(new Option(option, option));
    } else {
      input = document.createElement('input');
      input.type = 'text';
    }
    input.name = key;
    input.value = String(value);
    input.addEventListener('change', () => setParams({ [key]: input.value }));
    label.append(input);
    form.append(label);
  }
}

function switchDemo(demo) {
  const hash = page.lastHashPerDemo[demo] ?? `demo=${demo}&backend=${page.view.backend}`;
  applyView(wasm.decode_hash(hash));
}

// ---- backends ----
let backendsStarted;
const backendsReady = new Promise((resolve) => { backendsStarted = resolve; });

async function startBackends(requested) {
  const b = page.backend;
  b.requested = requested;
  if (requested === 'cpu') {
    b.reason = 'CPU forced by the backend control; WebGPU was not started.';
  } else if (!navigator.gpu) {
    b.reason = 'This browser has no WebGPU (navigator.gpu is missing): running on the CPU (burn Flex in wasm).';
  } else {
    try {
      const rustName = await wasm.init_webgpu();
      const probe = await navigator.gpu.requestAdapter();
      const info = probe?.info ?? {};
      b.adapter = rustName || info.description || [info.vendor, info.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
      b.webgpu = true;
    } catch (e) {
      b.reason = `WebGPU could not start (${e.message ?? e}): running on the CPU (burn Flex in wasm).`;
    }
  }
  b.fallback = requested === 'webgpu' && !b.webgpu || (requested === 'auto' && !b.webgpu && !!b.reason);
  if (requested === 'auto' && b.webgpu) b.reason = 'auto: each workload runs where its calibration is faster.';
  if (requested === 'webgpu' && b.webgpu) b.reason = 'WebGPU forced by the backend control.';
  renderStatus();
  backendsStarted();
}

function renderStatus(active) {
  const b = page.backend;
  const running = active ?? (b.requested === 'auto' ? `auto (${b.webgpu ? 'webgpu or cpu per workload' : 'cpu'})` : (b.webgpu && b.requested === 'webgpu' ? 'webgpu' : 'cpu'));
  $('status-backend').textContent = running;
  $('status-adapter').textContent = b.adapter ?? 'none (CPU)';
  $('status-fallback').textContent = b.fallback ? 'yes' : 'no';
  $('backend-reason').textContent = b.reason;
}

function describeDecision(d) {
  const figures = d.timings.map((t) => `${t.backend}: ${t.steps_per_s.toFixed(1)} steps/s, first step ${t.first_step_ms.toFixed(0)} ms`).join('; ');
  return `auto → ${d.chosen} for ${d.workload}: ${d.reason} (${figures})`;
}

async function calibrate(workload, { force = false } = {}) {
  const key = `genlab.decision.${workload}.${page.backend.adapter}`;
  if (!force && !page.decisions[workload]) {
    try { page.decisions[workload] = JSON.parse(localStorage.getItem(key)); } catch { /* a stale entry is recalibrated */ }
  }
  if (force || !page.decisions[workload]) {
    $('decision').textContent = `Calibrating ${workload} on ${page.backend.webgpu ? 'cpu and webgpu' : 'cpu'}…`;
    page.decisions[workload] = await wasm.calibrate(workload, Number(page.view.params.seed ?? 0), 1.0);
    localStorage.setItem(key, JSON.stringify(page.decisions[workload]));
  }
  $('decision').textContent = describeDecision(page.decisions[workload]);
  return page.decisions[workload];
}

async function backendFor(workload) {
  const b = page.backend;
  if (b.requested === 'cpu' || !b.webgpu) return 'cpu';
  if (b.requested === 'webgpu') return 'webgpu';
  return (await calibrate(workload)).chosen;
}

// The Langevin particles decide per run: the WGSL shader against the CPU loop, on this run's
// density, sampler and particle count (a million particles and ten thousand may differ).
async function particleBackend(hash) {
  await backendsReady;
  const b = page.backend;
  if (b.requested === 'cpu' || !b.webgpu) return { backend: 'cpu', decision: b.requested === 'cpu' ? 'cpu forced' : 'cpu (no WebGPU)' };
  if (b.requested === 'webgpu') return { backend: 'webgpu', decision: 'webgpu forced' };
  const p = wasm.decode_hash(hash).params;
  const key = `genlab.decision.particles.${b.adapter}.${p.density}.${p.sampler}.${p.score}.${p.particles}`;
  let decision = null;
  try { decision = JSON.parse(localStorage.getItem(key)); } catch { /* recalibrate */ }
  if (!decision) {
    decision = await wasm.calibrateParticles(hash, 0.5);
    localStorage.setItem(key, JSON.stringify(decision));
  }
  page.decisions[decision.workload] = decision;
  return { backend: decision.chosen, decision: describeDecision(decision) };
}

// Image models and CSDI decide once per page, each on the workload wasm names for its demo.
async function demoBackend(demo) {
  await backendsReady;
  return backendFor(page.workloads[demo].name);
}
const imageBackend = () => demoBackend('mnist');
const seriesBackend = () => demoBackend('csdi');

// The backend check trains the network Langevin's learned score uses.
const checkWorkload = () => page.workloads.langevin.name;

// ---- training loop of the backend check: small chunks, yielding to the browser ----
async function train(steps = 30, workload = checkWorkload()) {
  if (page.training) return page.training.done;
  const backend = await backendFor(workload);
  const session = new wasm.TrainSession(workload, backend, Number(page.view.params.seed ?? 0));
  const run = new TrainingRun(steps, { pauseButton: $('pause') });
  run.backend = session.backend;
  run.losses = [];
  page.training = run;
  renderStatus(page.backend.requested === 'auto' ? `auto → ${run.backend} (${workload})` : run.backend);
  const chunk = STEPS_PER_CHUNK[run.backend];
  try {
    while (await run.next()) {
      const losses = await run.chunk(chunk, (n) => session.steps(n));
      run.losses.push(...losses);
      $('train-status').textContent = `${run.backend}: step ${run.steps}/${steps}, loss ${losses.at(-1).toFixed(4)}, ${run.speed()}, first step ${run.chunks[0].ms.toFixed(0)} ms`;
      plotCurve($('loss-plot'), [{ points: run.losses.map((l, i) => [i + 1, l]), colour: '#2f6fde' }]);
      await yieldToPage();
    }
  } finally {
    page.training = null;
    session.free();
    run.finish();
  }
  return run;
}

// ---- start-up ----
async function main() {
  await init();
  page.workloads = wasm.calibrationWorkloads();
  $('check-summary').textContent = page.workloads.langevin.summary;
  const view = wasm.decode_hash(location.hash);
  applyView(view);
  for (const tab of document.querySelectorAll('#tabs button')) tab.addEventListener('click', () => switchDemo(tab.dataset.demo));
  $('dismiss-notices').addEventListener('click', () => showNotices([]));
  $('backend-choice').addEventListener('change', (e) => {
    // burn's wgpu runtime starts once per page, so a backend change reloads into the new link.
    setParams({ backend: e.target.value });
    location.reload();
  });
  window.addEventListener('hashchange', () => {
    const next = wasm.decode_hash(location.hash);
    if (next.backend !== page.backend.requested) { location.reload(); return; }
    applyView(next);
  });
  $('calibrate').addEventListener('click', () => calibrate(checkWorkload(), { force: true }).catch(showError));
  $('train').addEventListener('click', () => train().catch(showError));
  $('pause').addEventListener('click', () => page.training?.togglePause());
  await startBackends(view.backend);
  document.body.dataset.ready = 'true';
}

// The tests and the curious drive the page through this handle.
window.genlab = {
  view: () => page.view,
  backend: () => ({ ...page.backend }),
  decisions: () => ({ ...page.decisions }),
  errors: () => [...page.errors],
  live: (demo) => liveViews[demo],
  train,
  calibrate,
  debugPanic: (message) => wasm.debug_panic(message),
};

main().catch((e) => showError(`The page failed to start: ${e.message ?? e}`));
