// evidence.js: an evidence's series in pictures. Each chart is a .chart
// with data-chart=<kind>:
//   beacon-timeline   the beacon's connection times (points; y: bytes)
//   beacon-intervals  histogram of the inter-arrival times (the regularity)
//   scan              probes per interval (the fan-out over time)
//   ddos, reflection  the flood's rate over time
//   bruteforce        attempts per interval
//   series            any other detector's series

import { duration, num, secs } from './dom.js';
import { chartBox, histogram, plot } from './charts.js';

/** evidenceCharts draws e's charts into row (already in the page). */
export function evidenceCharts(row, e) {
  const s = e.series;
  if (!s || !Array.isArray(s.t) || s.t.length === 0) return;
  const xs = s.t.map((t) => t / 1000);
  const vs = s.v || [];
  const add = (kind, title, note) => {
    const box = chartBox(kind, title, note);
    row.append(box);
    return box.querySelector('.chart');
  };
  switch (e.detector) {
    case 'beacon': {
      plot(add('beacon-timeline', 'Connections over time', `${xs.length} connections · ${s.name}`), [xs, vs], [{ label: s.name || 'bytes', kind: 'points' }]);
      const gaps = [];
      for (let i = 1; i < xs.length; i++) gaps.push(xs[i] - xs[i - 1]);
      if (gaps.length > 1) {
        const sorted = [...gaps].sort((a, b) => a - b);
        const median = sorted[Math.floor(sorted.length / 2)];
        const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
        const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
        const note = `median ${secs(median)} · jitter ${mean > 0 ? ((100 * sd) / mean).toFixed(1) : '0'} %`;
        plot(add('beacon-intervals', 'Inter-arrival times', note), histogram(gaps, Math.min(24, Math.max(6, 2 * Math.ceil(Math.sqrt(gaps.length))))),
          [{ label: 'connections', kind: 'bars' }], { time: false, xLabel: 'seconds between connections' });
      }
      break;
    }
    case 'scan':
      plot(add('scan', 'Probes per interval', intervalNote(s)), [xs, vs], [{ label: s.name || 'probes', kind: 'bars' }]);
      break;
    case 'ddos':
      plot(add('ddos', 'Flood rate', `${s.name} · peak ${num(Math.max(...vs))}`), [xs, vs], [{ label: s.name || 'pps', kind: 'area', color: '#b23b3b' }]);
      break;
    case 'reflection':
      plot(add('reflection', 'Reflected traffic', `${s.name} · peak ${num(Math.max(...vs))}`), [xs, vs], [{ label: s.name || 'bps', kind: 'area', color: '#d9822b' }]);
      break;
    case 'bruteforce':
      plot(add('bruteforce', 'Attempts', intervalNote(s)), [xs, vs], [{ label: s.name || 'attempts', kind: 'bars', color: '#7b5ea7' }]);
      break;
    default:
      plot(add('series', s.name || 'Series', intervalNote(s)), [xs, vs], [{ label: s.name || 'value' }]);
  }
}

function intervalNote(s) {
  return s.stride_ms ? `${s.name} · every ${duration(s.stride_ms / 1000)}` : s.name;
}

