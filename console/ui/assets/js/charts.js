// charts.js: uPlot charts (assets/vendor/uplot, loaded as the global
// uPlot). Each chart lives in a .chart element with data-chart=<kind>;
// it is sized to its element and follows its width.

import { h, num, put } from './dom.js';

export const palette = ['#2f6fb0', '#d9822b', '#3a9d5d', '#b23b3b', '#7b5ea7', '#2a9d9d', '#a0762b', '#5a6b7d'];

/** chartBox makes the .chart element of one chart, titled. */
export function chartBox(kind, title, note) {
  return h('figure.chart-box', h('figcaption', h('span.chart-title', title), note ? h('span.chart-note', note) : null),
    h('div.chart', { dataset: { chart: kind } }));
}

function axisValues(u, vals) {
  return vals.map((v) => num(v));
}

/**
 * plot draws a chart into el (a .chart, already in the page):
 * data is uPlot's [[x...], [y...], ...]; series are {label, color, kind: line|points|bars|area}.
 * opts.time: x is Unix seconds (default true); opts.xLabel/yLabel name the axes.
 * It returns the uPlot (null without uPlot or data), kept as el.plot.
 */
export function plot(el, data, series, opts = {}) {
  if (typeof uPlot === 'undefined') {
    put(el, h('div.empty-text', 'charts are unavailable (uPlot did not load)'));
    return null;
  }
  if (!data[0] || data[0].length < (opts.minPoints || 1)) {
    put(el, h('div.chart-empty', opts.empty || 'no data yet'));
    return null;
  }
  const time = opts.time !== false;
  const width = Math.max(240, el.clientWidth || el.parentElement?.clientWidth || 480);
  const uSeries = [{ label: opts.xLabel || (time ? 'time' : 'x'), value: time ? undefined : (u, v) => (v == null ? '—' : num(v)) }];
  series.forEach((s, i) => {
    const color = s.color || palette[i % palette.length];
    const one = { label: s.label, stroke: color, width: 1.5, value: (u, v) => (v == null ? '—' : num(v)) };
    if (s.kind === 'points') {
      one.paths = () => null;
      one.points = { show: true, size: 7, stroke: color, fill: color + '99' };
    } else if (s.kind === 'bars') {
      one.paths = uPlot.paths.bars({ size: [0.85, 60], align: 0 });
      one.fill = color + 'aa';
      one.points = { show: false };
    } else {
      one.points = { show: false };
      if (s.kind === 'area') one.fill = color + '22';
    }
    uSeries.push(one);
  });
  const grid = { stroke: '#e6e9ee', width: 1 };
  const options = {
    width,
    height: opts.height || 180,
    series: uSeries,
    scales: { x: opts.span ? { time, range: (u, min, max) => [Math.min(min, max - opts.span), max] } : { time }, y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [
      { stroke: '#5a6470', grid, ticks: grid, label: opts.xLabel, labelSize: opts.xLabel ? 18 : 0, values: time ? undefined : axisValues },
      { stroke: '#5a6470', grid, ticks: grid, size: 64, label: opts.yLabel, labelSize: opts.yLabel ? 18 : 0, values: axisValues },
    ],
    legend: { show: series.length > 1 || !!opts.legend },
    cursor: { drag: { x: true, y: false } },
  };
  put(el);
  if (el.resizer) el.resizer.disconnect(); // one observer per element, however often it is redrawn
  el.resizer = null;
  const u = new uPlot(options, data, el);
  el.plot = u;
  if (typeof ResizeObserver !== 'undefined') {
    el.resizer = new ResizeObserver(() => {
      const w = Math.max(240, el.clientWidth);
      if (Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height });
    });
    el.resizer.observe(el);
  }
  return u;
}

/** update replaces a chart's data, drawing it first if needed. */
export function update(el, data, series, opts) {
  if (el.plot && data[0] && data[0].length >= (opts && opts.minPoints || 1) && el.plot.series.length === series.length + 1) {
    el.plot.setData(data);
    return el.plot;
  }
  if (el.resizer) el.resizer.disconnect();
  el.resizer = null;
  if (el.plot) el.plot.destroy();
  el.plot = null;
  return plot(el, data, series, opts);
}

/** histogram counts values into n equal bins: [[bin centres], [counts]]. */
export function histogram(values, n = 20) {
  if (values.length === 0) return [[], []];
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const w = (hi - lo) / n;
  const centres = Array.from({ length: n }, (_, i) => lo + w * (i + 0.5));
  const counts = new Array(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / w))]++;
  return [centres, counts];
}
