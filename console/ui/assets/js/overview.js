// overview.js: the live picture. The page starts from GET
// /api/v1/overview?history=1 (the snapshot and the server's last half
// hour, one point per 10 s), so its charts are drawn at once; then
// snapshots come from the SSE stream GET /api/v1/overview/stream (event
// "overview"), or, when the stream is not available, from polling GET
// /api/v1/overview. #overview-live carries data-connected="1" while the
// stream is open.

import { h, $, badge, empty, num, pct, table, time, put } from './dom.js';
import { get, ApiError } from './api.js';
import { chartBox, update } from './charts.js';

const spanS = 30 * 60; // seconds the charts show, as the server's history
const keepMax = 1200; // points kept at most (30 min of live events at one per 2 s is 900)
let points = []; // what the charts show: the server's history, then the snapshots since, oldest first
let gapS = 35; // consecutive points further apart than this are drawn with a gap (3 history steps and some)

const tiles = [
  ['records_per_s', 'Ingest', (o) => num(o.records_per_s), 'records/s', (o) => `${num(o.records_total)} records in all`],
  ['drops_per_s', 'Drops', (o) => num(o.drops_per_s), 'records/s', (o) => `${num(o.drops_total)} dropped in all`],
  ['decode_errors_per_s', 'Decode errors', (o) => num(o.decode_errors_per_s), 'per s', (o) => `${num(o.decode_errors_total)} in all`],
  ['screened_out_share', 'Screened out', (o) => pct(o.screened_out_share), '', () => 'domestic-only traffic dropped'],
  ['findings_per_min', 'Findings', (o) => num(sum(o.findings_per_min)), 'per min', (o) => detectorsLine(o.findings_per_min)],
  ['suspects', 'Suspects', (o) => num(o.suspects), '', () => 'held by detection now'],
  ['actions_active', 'Active actions', (o) => num(o.actions_active), '', () => 'in effect on equipment'],
  ['cases_open', 'Open cases', (o) => num(openCases(o.cases_by_state)), '', (o) => `${num(sum(o.cases_by_state))} cases in all`],
];

const openStates = ['draft', 'requested', 'approved', 'active', 'effective', 'ineffective'];

function sum(m) {
  return Object.values(m || {}).reduce((a, b) => a + Number(b || 0), 0);
}

function openCases(m) {
  return openStates.reduce((a, s) => a + Number((m || {})[s] || 0), 0);
}

function detectorsLine(m) {
  const parts = Object.entries(m || {}).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${num(v)}`);
  return parts.length ? parts.join(' · ') : 'none in the last interval';
}

/** render draws the overview and keeps it live until the page is left. */
export async function render(ctx) {
  let first;
  try {
    first = await get('/api/v1/overview?history=1');
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      put(ctx.main, h('h1', 'Overview'), empty('No overview on this server yet', 'This acd has no /api/v1/overview endpoint; the suspects and cases pages work.'));
      return;
    }
    throw e;
  }
  const live = h('span#overview-live.live', h('span.dot'), h('span.live-text', 'connecting…'));
  const tileEls = tiles.map(([metric, label, , unit]) => h('div.tile', { dataset: { metric } },
    h('div.tile-label', label), h('div.tile-value', h('span.v', '—'), unit ? h('span.unit', unit) : null), h('div.tile-sub')));
  const charts = {
    ingest: chartBox('ingest', 'Ingest rate', 'records/s, all exporters'),
    errors: chartBox('errors', 'Drops and decode errors', 'per second'),
    findings: chartBox('findings', 'Findings', 'per minute, by detector'),
  };
  const ingestWrap = h('div.panel', h('h2', 'Exporters'), h('div.ingest-table'));
  const casesWrap = h('div.panel', h('h2', 'Cases by state'), h('div.cases-bars'));
  const screenWrap = h('div.panel', h('h2', 'Screening'), h('div.screen-table'));
  const stamp = h('span.muted.stamp');
  put(ctx.main,
    h('header.page-head', h('h1', 'Overview'), live, stamp),
    h('section.tiles', tileEls),
    h('section.chart-row', Object.values(charts)),
    h('section.panel-row', ingestWrap, casesWrap, screenWrap));
  const draw = (o) => {
    if (!ctx.alive()) return;
    addPoint(o);
    tiles.forEach(([, , value, , sub], i) => {
      tileEls[i].querySelector('.v').textContent = value(o);
      tileEls[i].querySelector('.tile-sub').textContent = sub(o);
      tileEls[i].querySelector('.tile-sub').title = sub(o);
    });
    put(stamp, 'updated ', time(o.time));
    drawCharts(charts);
    drawIngest(ingestWrap.querySelector('.ingest-table'), o);
    drawCases(casesWrap.querySelector('.cases-bars'), o);
    drawScreen(screenWrap.querySelector('.screen-table'), o);
    ctx.ready();
  };
  const { history: past, history_step_s: step, ...snap } = first;
  points = Array.isArray(past) ? past.slice() : [];
  if (step > 0) gapS = 3.5 * step;
  draw(snap);
  follow(ctx, live, draw);
}

/** addPoint appends a snapshot to the charts' points: the same snapshot again replaces it, an older one is skipped. */
function addPoint(o) {
  const t = Date.parse(o.time);
  const last = points.length ? Date.parse(points[points.length - 1].time) : -Infinity;
  if (!Number.isFinite(t) || t < last) return;
  if (t === last) points.pop();
  points.push(o);
  const from = t - spanS * 1000;
  let drop = Math.max(0, points.length - keepMax);
  while (drop < points.length - 1 && Date.parse(points[drop].time) < from) drop++;
  if (drop > 0) points.splice(0, drop);
}

/** rows puts the points on the time axis, with an empty row where the server saw nothing (a gap in the lines). */
export function rows(pts, gap) {
  const out = [];
  let prev = null;
  for (const o of pts) {
    const x = Date.parse(o.time) / 1000;
    if (prev !== null && x - prev > gap) out.push({ x: (x + prev) / 2, o: null });
    out.push({ x, o });
    prev = x;
  }
  return out;
}

/** follow opens the stream and falls back to polling when it cannot. */
function follow(ctx, live, draw) {
  let timer = null;
  const text = live.querySelector('.live-text');
  const poll = () => {
    if (timer) return;
    text.textContent = 'polling every 5 s';
    timer = setInterval(async () => {
      try {
        draw(await get('/api/v1/overview', { background: true }));
      } catch (e) { /* the next poll tries again; 401 went to the login page */ }
    }, 5000);
  };
  if (typeof EventSource === 'undefined') {
    poll();
    ctx.onLeave(() => clearInterval(timer));
    return;
  }
  const es = new EventSource('/api/v1/overview/stream');
  es.addEventListener('overview', (e) => {
    try {
      draw(JSON.parse(e.data));
    } catch (err) { /* a malformed event is skipped */ }
  });
  es.onopen = () => {
    live.dataset.connected = '1';
    text.textContent = 'live';
    if (timer) clearInterval(timer);
    timer = null;
  };
  es.onerror = () => {
    live.removeAttribute('data-connected');
    if (es.readyState === EventSource.CLOSED) poll();
    else text.textContent = 'reconnecting…';
  };
  ctx.onLeave(() => {
    es.close();
    if (timer) clearInterval(timer);
  });
}

function drawCharts(charts) {
  const rs = rows(points, gapS);
  const xs = rs.map((r) => r.x);
  const ys = (f) => rs.map((r) => (r.o ? f(r.o) || 0 : null));
  update(charts.ingest.querySelector('.chart'), [xs, ys((o) => o.records_per_s)],
    [{ label: 'records/s', kind: 'area' }], { height: 160, span: 120, minPoints: 2, empty: 'collecting…' });
  update(charts.errors.querySelector('.chart'), [xs, ys((o) => o.drops_per_s), ys((o) => o.decode_errors_per_s)],
    [{ label: 'drops/s', color: '#b23b3b' }, { label: 'decode errors/s', color: '#d9822b' }], { height: 160, span: 120, minPoints: 2, empty: 'collecting…' });
  const detectors = [...new Set(points.flatMap((o) => Object.keys(o.findings_per_min || {})))].sort();
  const data = [xs, ...detectors.map((d) => ys((o) => (o.findings_per_min || {})[d]))];
  update(charts.findings.querySelector('.chart'), detectors.length ? data : [[]],
    detectors.map((d) => ({ label: d })), { height: 160, span: 120, minPoints: 2, empty: detectors.length ? 'collecting…' : 'no detector has reported yet' });
}

function drawIngest(el, o) {
  const rows = (o.ingest || []).map((r) => h('tr', { dataset: { exporter: r.exporter, format: r.format } },
    h('td.mono', r.exporter), h('td', badge(r.format, 'format')), h('td.num', num(r.records_per_s)),
    h('td.num', num(r.packets_per_s)), h('td.num', num(r.records_total))));
  put(el, rows.length ? table('ingest', ['Exporter', 'Format', h('th.num', 'records/s'), h('th.num', 'packets/s'), h('th.num', 'records')], rows, 'compact')
    : empty('No flows received yet', 'Exporters appear here as soon as the collector decodes their first record.'));
}

function drawCases(el, o) {
  const m = o.cases_by_state || {};
  const entries = Object.entries(m).filter(([, v]) => v > 0);
  if (entries.length === 0) {
    put(el, empty('No cases yet', 'An analyst opens a case from a suspect\u2019s page.'));
    return;
  }
  const max = Math.max(...entries.map(([, v]) => v));
  put(el, ...entries.map(([state, v]) => {
    const bar = h('span.bar-fill', { class: 'bar-fill state-' + state });
    bar.style.width = Math.max(4, (100 * v) / max) + '%';
    return h('a.bar-row', { href: '#/cases', dataset: { state } }, h('span.bar-label', badge(state, 'state-' + state)), h('span.bar', bar), h('span.bar-value', num(v)));
  }));
  const v = o.verdicts;
  if (v && Object.keys(v).length) {
    el.append(h('div.verdict-line', 'Verdicts: ', Object.entries(v).map(([k, n]) => [badge(k + ' ' + num(n), 'verdict-' + k), ' '])));
  }
}

function drawScreen(el, o) {
  const m = o.screened || {};
  const rows = Object.entries(m).sort().map(([cls, v]) => h('tr', h('td', badge(cls, 'class')), h('td.num', num(v))));
  put(el, rows.length ? table('screened', ['Class', h('th.num', 'records/s')], rows, 'compact')
    : empty('Nothing screened yet', 'Screening sorts records into inbound, outbound, transit and domestic.'));
  el.append(h('p.muted', 'Screened out (domestic only): ', h('strong', pct(o.screened_out_share))));
}
