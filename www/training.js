// One training run in a view's tab: the steps go in timed chunks, a Pause/Resume button, a Train
// button that reads Stop while it runs (when the view has one that stops), and steps/s with the
// ETA. The views keep what differs (what a chunk does, what is drawn after it).
export class TrainingRun {
  constructor(target, { pauseButton, trainButton = null }) {
    this.target = target;
    this.steps = 0;
    this.paused = false;
    this.stopped = false;
    this.chunks = [];
    this.pauseButton = pauseButton;
    this.trainButton = trainButton;
    this.trainLabel = trainButton?.textContent;
    this.wake = null;
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
    pauseButton.disabled = false;
    pauseButton.textContent = 'Pause';
    if (trainButton) trainButton.textContent = 'Stop';
  }

  // Steps left, and neither stopped nor finished. Waits here while paused, so a loop
  // `while (await run.next())` pauses between chunks and a stop during a pause ends it.
  async next() {
    if (this.paused && !this.stopped) await new Promise((resolve) => { this.wake = resolve; });
    return !this.stopped && this.steps < this.target;
  }

  togglePause() {
    this.paused = !this.paused;
    this.pauseButton.textContent = this.paused ? 'Resume' : 'Pause';
    if (!this.paused) this.wakeUp();
  }

  stop() {
    this.stopped = true;
    this.wakeUp();
  }

  wakeUp() {
    this.wake?.();
    this.wake = null;
  }

  // Runs one chunk of at most `size` steps (`work(n)` trains n and returns its losses), timed.
  async chunk(size, work) {
    const n = Math.min(size, this.target - this.steps);
    const started = performance.now();
    const losses = await work(n);
    this.chunks.push({ n, ms: performance.now() - started });
    this.steps += n;
    return losses;
  }

  // Steps/s over the chunks after the first (shader compilation and warm-up), NaN before.
  rate() {
    const recent = this.chunks.slice(1);
    const ms = recent.reduce((sum, c) => sum + c.ms, 0);
    return ms > 0 ? recent.reduce((sum, c) => sum + c.n, 0) / (ms / 1000) : NaN;
  }

  // `1.23 steps/s, ETA 45 s`, or dots while the rate is unknown.
  speed() {
    const rate = this.rate();
    if (!Number.isFinite(rate)) return '… steps/s, ETA … s';
    return `${rate.toFixed(2)} steps/s, ETA ${Math.round((this.target - this.steps) / rate)} s`;
  }

  // Resets the buttons; `done` resolves with this run.
  finish() {
    this.pauseButton.disabled = true;
    this.pauseButton.textContent = 'Pause';
    if (this.trainButton) this.trainButton.textContent = this.trainLabel;
    this.resolveDone(this);
  }
}

// The one way views give the browser a turn between chunks of work: a macrotask, since awaiting
// a resolved promise (what a CPU-backend call returns) lets neither a repaint nor input through.
export function yieldToPage() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
