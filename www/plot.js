// The one plotting helper of the views. `series` holds curves `{points: [[x, y]], colour}`,
// dots `{points, colour, dots: true, hollow?}` and bands `{band: [[x, low, high]], colour}`; a
// series with `axis: 'right'` gets its own scale on the right (two quantities of different sizes
// on one canvas). Non-finite values leave gaps. Returns `xAt(px)`, the x under a canvas pixel,
// for views that turn a pointer into data.
export function plotCurve(canvas, series, { xLabel = 'step', floor = null, title = null, spans = [], xRange = null, fromZero = true } = {}) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const twoAxes = series.some((s) => s.axis === 'right');
  const left = 44, right = twoAxes ? 44 : 10, top = title ? 18 : 12, bottom = 18;
  const samples = (s) => (s.band ? s.band.flatMap(([x, lo, hi]) => [[x, lo], [x, hi]]) : s.points);
  const finite = (s) => samples(s).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = series.flatMap((s) => finite(s).map(([x]) => x));
  if (!xs.length && !xRange) {
    if (title) drawTitle();
    return { xAt: () => NaN };
  }
  const [x0, x1] = xRange ?? [Math.min(...xs), Math.max(...xs)];
  const px = (x) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right);
  const scale = (axis) => {
    const ys = series.filter((s) => (s.axis ?? 'left') === axis).flatMap((s) => finite(s).map(([, y]) => y));
    if (axis === 'left' && floor !== null) ys.push(floor);
    if (!ys.length) return null;
    const [y0, y1] = [fromZero ? Math.min(0, ...ys) : Math.min(...ys), Math.max(...ys)];
    return { y0, y1, py: (y) => height - bottom - ((y - y0) / (y1 - y0 || 1)) * (height - top - bottom) };
  };
  const axes = { left: scale('left'), right: scale('right') };

  for (const [first, last, colour] of spans) {
    ctx.fillStyle = colour;
    ctx.fillRect(px(first) - 3, top, px(last) - px(first) + 6, height - top - bottom);
  }
  ctx.font = '11px system-ui';
  if (title) drawTitle();
  for (const [side, axis] of Object.entries(axes)) {
    if (!axis) continue;
    ctx.fillStyle = side === 'right' ? series.find((s) => s.axis === 'right').colour : '#5a6275';
    const x = side === 'left' ? 2 : width - right + 4;
    ctx.fillText(axis.y1.toPrecision(3), x, axis.py(axis.y1) + 8);
    ctx.fillText(axis.y0.toPrecision(3), x, axis.py(axis.y0));
  }
  ctx.fillStyle = '#5a6275';
  if (xLabel) ctx.fillText(xLabel, width - right - 24, height - 4);
  if (floor !== null && axes.left) {
    const y = axes.left.py(floor);
    ctx.strokeStyle = '#2b8a3e';
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(px(x0), y); ctx.lineTo(px(x1), y); ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of series) {
    const { py } = axes[s.axis ?? 'left'] ?? {};
    if (!py) continue;
    if (s.band) drawBand(s, py);
    else if (s.dots) drawDots(s, py);
    else drawLine(s, py);
  }
  return { xAt: (x) => x0 + ((x - left) / (width - left - right)) * (x1 - x0) };

  function drawTitle() {
    ctx.fillStyle = '#5a6275';
    ctx.font = '11px system-ui';
    ctx.fillText(title, left, 12);
  }

  // Runs of consecutive finite points, so a missing value breaks a line or a band.
  function runs(points, ok) {
    const out = [[]];
    for (const p of points) {
      if (ok(p)) out.at(-1).push(p);
      else if (out.at(-1).length) out.push([]);
    }
    return out.filter((run) => run.length);
  }

  function drawLine(s, py) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = s.width ?? 2;
    for (const run of runs(s.points, ([x, y]) => Number.isFinite(x) && Number.isFinite(y))) {
      ctx.beginPath();
      run.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
      ctx.stroke();
      if (run.length === 1) { const [x, y] = run[0]; ctx.fillStyle = s.colour; ctx.fillRect(px(x) - 2, py(y) - 2, 5, 5); }
    }
  }

  function drawBand(s, py) {
    ctx.fillStyle = s.colour;
    for (const run of runs(s.band, ([x, lo, hi]) => [x, lo, hi].every(Number.isFinite))) {
      ctx.beginPath();
      run.forEach(([x, , hi], i) => (i ? ctx.lineTo(px(x), py(hi)) : ctx.moveTo(px(x), py(hi))));
      for (let i = run.length - 1; i >= 0; i--) ctx.lineTo(px(run[i][0]), py(run[i][1]));
      ctx.closePath();
      ctx.fill();
    }
  }

  function drawDots(s, py) {
    ctx.fillStyle = ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.5;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      ctx.beginPath();
      ctx.arc(px(x), py(y), s.hollow ? 3.5 : 2.5, 0, 2 * Math.PI);
      if (s.hollow) ctx.stroke(); else ctx.fill();
    }
  }
}
