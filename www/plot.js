// Line plots shared by the views: curves of (x, y) points, an optional dashed floor.
export function plotCurve(canvas, series, { xLabel = 'step', floor = null } = {}) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const points = series.flatMap((s) => s.points).filter(([, v]) => Number.isFinite(v));
  if (!points.length) return;
  const xs = points.map(([x]) => x), ys = points.map(([, y]) => y);
  if (floor !== null) ys.push(floor);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys)];
  const px = (x) => 44 + ((x - x0) / (x1 - x0 || 1)) * (width - 54);
  const py = (y) => height - 18 - ((y - y0) / (y1 - y0 || 1)) * (height - 30);
  ctx.fillStyle = '#5a6275';
  ctx.font = '11px system-ui';
  ctx.fillText(y1.toPrecision(3), 2, py(y1) + 8);
  ctx.fillText(y0.toPrecision(3), 2, py(y0));
  ctx.fillText(xLabel, width - 34, height - 4);
  if (floor !== null) {
    ctx.strokeStyle = '#2b8a3e';
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(px(x0), py(floor)); ctx.lineTo(px(x1), py(floor)); ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
    if (s.points.length === 1) { const [x, y] = s.points[0]; ctx.fillStyle = s.colour; ctx.fillRect(px(x) - 2, py(y) - 2, 5, 5); }
  }
}
