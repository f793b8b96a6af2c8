// dom.js: building the DOM safely and formatting values. Everything the
// console shows goes through h() or textContent: data comes from
// attackers' flows and is never parsed as HTML.

/**
 * h makes an element: h('a.link#id', {href: '#/x', dataset: {k: 'v'}}, 'text', child, ...).
 * Attributes are set with setAttribute (no style=, no on*: CSP and review);
 * "on" takes {click: fn}; children are nodes, strings, numbers or arrays.
 * Absent values are never written as text: null, undefined and false
 * children, attributes and dataset entries are skipped (a missing field
 * leaves the cell empty instead of showing "null"), and only a plain
 * object is taken as the attributes (a first child 0 is a child).
 */
export function h(tag, attrs, ...children) {
  const m = /^([a-z0-9-]+)((?:[.#][A-Za-z0-9_-]+)*)$/.exec(tag);
  if (!m) throw new Error('h: bad tag ' + tag);
  const el = document.createElement(m[1]);
  for (const part of m[2].match(/[.#][A-Za-z0-9_-]+/g) || []) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (!isAttrs(attrs)) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (absent(v)) continue;
    if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) if (!absent(dv)) el.dataset[dk] = String(dv);
    } else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'class') el.className = v;
    else if (k === 'style' || k.startsWith('on')) throw new Error('h: attribute ' + k + ' is not allowed');
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** put replaces el's children (nodes, strings, numbers, arrays; null, undefined and false skipped). */
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** absent says whether v stands for nothing: null, undefined or false. */
const absent = (v) => v === null || v === undefined || v === false;

/** isAttrs says whether h's second argument is attributes: a plain object (null and undefined: none). */
function isAttrs(a) {
  if (a === null || a === undefined) return true;
  if (typeof a !== 'object' || a instanceof Node || Array.isArray(a)) return false;
  const proto = Object.getPrototypeOf(a);
  return proto === Object.prototype || proto === null;
}

function append(el, children) {
  for (const c of children) {
    if (absent(c)) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** $ is querySelector. */
export const $ = (sel, root = document) => root.querySelector(sel);

/** badge makes a small label; kind picks its colour class. */
export function badge(text, kind) {
  return h('span.badge', { class: 'badge badge-' + String(kind || text).replace(/[^a-z0-9-]/gi, '-') }, text);
}

const units = [
  ['year', 365 * 86400], ['month', 30 * 86400], ['day', 86400], ['h', 3600], ['min', 60], ['s', 1],
];

/** ago says how long ago (or in how long) t was, roughly: "3 min ago", "in 2 h". */
export function ago(t, now = Date.now()) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms) || ms <= 0) return '—';
  const d = Math.round((now - ms) / 1000);
  const a = Math.abs(d);
  if (a < 5) return 'just now';
  for (const [name, s] of units) {
    if (a >= s) {
      const n = Math.floor(a / s);
      const word = name.length > 3 ? name + (n > 1 ? 's' : '') : name;
      return d > 0 ? `${n} ${word} ago` : `in ${n} ${word}`;
    }
  }
  return 'just now';
}

/** absTime is a time as the title of a relative time shows it. */
export function absTime(t) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms) || ms <= 0) return '';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace('Z', ' UTC');
}

/** time makes a <time> showing a relative time with the absolute one as its title. */
export function time(t) {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms) || ms <= 0) return h('span.muted', '—');
  return h('time.rel', { datetime: new Date(ms).toISOString(), title: absTime(ms), dataset: { t: String(ms) } }, ago(ms));
}

/** refreshTimes updates every relative time under root. */
export function refreshTimes(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time.rel[data-t]')) el.textContent = ago(Number(el.dataset.t), now);
}

/** duration writes seconds as "2 d 3 h", "4 h 05 min", "3 min 20 s". */
export function duration(sec) {
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400), hh = Math.floor((sec % 86400) / 3600);
  const mm = Math.floor((sec % 3600) / 60), ss = sec % 60;
  if (d > 0) return `${d} d ${hh} h`;
  if (hh > 0) return `${hh} h ${String(mm).padStart(2, '0')} min`;
  if (mm > 0) return `${mm} min ${String(ss).padStart(2, '0')} s`;
  return `${ss} s`;
}

/** secs writes a duration in seconds readably: "2.84 s", "4 min 05 s". */
export function secs(s) {
  return s < 60 ? s.toFixed(s < 10 ? 2 : 1) + ' s' : duration(s);
}

/** num writes a number compactly: 1234 → "1,234", 1.5e6 → "1.5 M". */
export function num(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(Number(x))) return '—';
  x = Number(x);
  const a = Math.abs(x);
  const scaled = (d, unit) => (a / d >= 100 ? (x / d).toFixed(0) : (x / d).toFixed(digits)) + ' ' + unit;
  if (a >= 1e9) return scaled(1e9, 'G');
  if (a >= 1e6) return scaled(1e6, 'M');
  if (a >= 1e4) return scaled(1e3, 'k');
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return x.toFixed(a < 10 ? 2 : digits);
}

/** pct writes a share 0..1 as a percentage. */
export function pct(x) {
  if (x === null || x === undefined || !Number.isFinite(Number(x))) return '—';
  return (Number(x) * 100).toFixed(Number(x) < 0.1 ? 1 : 0) + ' %';
}

/** flash shows a message in #flash; kind is "error" or "ok". keep: survives the next navigation. */
export function flash(msg, kind = 'error', keep = false) {
  const el = document.getElementById('flash');
  if (!el) return;
  el.dataset.kind = kind;
  el.dataset.keep = keep ? '1' : '';
  el.replaceChildren(h('span', msg), h('button.close', { type: 'button', 'aria-label': 'dismiss', on: { click: () => clearFlash(true) } }, '×'));
  el.hidden = false;
}

/** clearFlash empties #flash, unless it is kept for one navigation (force clears it anyway). */
export function clearFlash(force = false) {
  const el = document.getElementById('flash');
  if (!el) return;
  if (!force && el.dataset.keep === '1') {
    el.dataset.keep = '';
    return;
  }
  el.hidden = true;
  el.removeAttribute('data-kind');
  el.replaceChildren();
}

/** empty makes an empty state: a title and a line of explanation. */
export function empty(title, text) {
  return h('div.empty', h('div.empty-title', title), text ? h('div.empty-text', text) : null);
}

/** table makes a table with a header row; rows are <tr> elements. */
export function table(id, headers, rows, cls = '') {
  return h('table', { id, class: 'grid ' + cls },
    h('thead', h('tr', headers.map((x) => (typeof x === 'string' ? h('th', x) : x)))),
    h('tbody', rows));
}

/** field makes a labelled form field. */
export function field(label, input, hint) {
  return h('label.field', h('span.field-label', label), input, hint ? h('span.field-hint', hint) : null);
}

/** select makes a <select>; options are [value, label] pairs or strings. */
export function select(attrs, options, value) {
  return h('select', attrs, options.map((o) => {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: String(v) === String(value ?? '') }, l);
  }));
}

/** kv makes a definition list from [label, value] pairs. */
export function kv(pairs) {
  return h('dl.kv', pairs.filter((p) => p).map(([k, v]) => [h('dt', k), h('dd', v)]));
}
