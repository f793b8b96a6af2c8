// suspects.js: the suspects table (filters, paging) and a suspect's page:
// its evidence in pictures, peers, samples, and "Open a case".

import { h, badge, empty, field, kv, num, select, table, time, put } from './dom.js';
import { get, hasRole, query } from './api.js';
import { evidenceCharts } from './evidence.js';
import { caseForm } from './caseform.js';

const roles = ['scanner', 'bruteforce', 'ddos-source', 'ddos-victim', 'reflector', 'c2'];
const sinceChoices = [['', 'any time'], ['900', 'last 15 min'], ['3600', 'last hour'], ['86400', 'last 24 h'], ['604800', 'last 7 days']];
const pageSize = 50;

// The filters survive leaving the page.
const filters = { role: '', source: '', min_score: '', since: '', offset: 0 };

/** suspectLink is the hash route of a suspect's page. */
export const suspectLink = (addr) => '#/suspects/' + encodeURIComponent(addr);

function scoreCell(s) {
  const bar = h('span.score-fill');
  bar.style.width = Math.round(100 * s) + '%';
  if (s >= 0.8) bar.classList.add('high');
  else if (s >= 0.5) bar.classList.add('mid');
  return h('td.num.score', h('span.score-bar', bar), h('span.score-v', s.toFixed(2)));
}

function isPartner(ev) {
  return String(ev.detector || '').startsWith('partner:');
}

function sourceOf(s) {
  const p = s.evidence.some(isPartner), o = s.evidence.some((e) => !isPartner(e));
  return [o ? badge('own', 'own') : null, p ? badge('partner', 'partner') : null];
}

function addressCell(s) {
  return h('td.addr', h('a.mono', { href: suspectLink(s.address) }, s.address),
    s.pseudonym ? [' ', badge('pseudonym', 'pseudonym')] : null);
}

/** renderList draws the filterable suspects table. */
export async function renderList(ctx) {
  const form = h('form.filters#suspect-filters',
    field('Role', select({ id: 'filter-role', name: 'role' }, [['', 'any role'], ...roles], filters.role)),
    field('Source', select({ id: 'filter-source', name: 'source' }, [['', 'own and partner'], ['own', 'own detection'], ['partner', 'partner']], filters.source)),
    field('Min score', h('input#filter-min-score', { name: 'min_score', type: 'number', min: 0, max: 1, step: 0.05, placeholder: '0–1', value: filters.min_score })),
    field('Seen', select({ id: 'filter-since', name: 'since' }, sinceChoices, filters.since)),
    h('button.btn', { type: 'submit' }, 'Apply'));
  const body = h('div.table-wrap');
  const pager = h('div.pager');
  put(ctx.main, h('header.page-head', h('h1', 'Suspects'), h('span.muted', 'addresses detection holds as attack servers, highest score first')), form, body, pager);
  const load = async () => {
    ctx.loading();
    const since = filters.since ? new Date(Date.now() - Number(filters.since) * 1000).toISOString().replace(/\.\d+Z$/, 'Z') : '';
    const res = await get('/api/v1/suspects' + query({ role: filters.role, source: filters.source, min_score: filters.min_score, since, limit: pageSize, offset: filters.offset }));
    if (!ctx.alive()) return;
    drawList(body, pager, res, load);
    ctx.ready();
  };
  const onChange = (ev) => {
    if (ev) ev.preventDefault();
    filters.role = form.elements.role.value;
    filters.source = form.elements.source.value;
    filters.min_score = form.elements.min_score.value;
    filters.since = form.elements.since.value;
    filters.offset = 0;
    load().catch(showError(body, ctx));
  };
  form.addEventListener('submit', onChange);
  for (const id of ['role', 'source', 'since']) form.elements[id].addEventListener('change', onChange);
  form.elements.min_score.addEventListener('change', onChange);
  await load();
}

function showError(body, ctx) {
  return (e) => {
    if (!ctx.alive()) return;
    put(body, empty('The suspects could not be loaded', e.message));
    ctx.ready();
  };
}

function drawList(body, pager, res, load) {
  const list = res.suspects || [];
  if (list.length === 0) {
    const filtered = filters.role || filters.source || filters.min_score || filters.since;
    put(body, filtered
      ? empty('No suspect matches these filters', 'Widen the filters to see more.')
      : empty('No suspects yet', 'Flows are being collected and screened; detectors report suspects as soon as they see an attack.'));
    body.append(table('suspects', [], [], 'hidden-empty'));
    put(pager);
    return;
  }
  const rows = list.map((s) => {
    const tr = h('tr.clickable', { dataset: { address: s.address } },
      addressCell(s),
      h('td', s.roles.map((r) => [badge(r, 'role-' + r), ' '])),
      scoreCell(s.score),
      h('td', [...new Set(s.evidence.map((e) => e.detector))].join(', ')),
      h('td', sourceOf(s)),
      h('td', time(s.first_seen)),
      h('td', time(s.last_seen)));
    tr.addEventListener('click', (ev) => {
      if (ev.target.closest('a')) return;
      location.hash = suspectLink(s.address);
    });
    return tr;
  });
  put(body, table('suspects', ['Address', 'Roles', h('th.num', 'Score'), 'Detectors', 'Source', 'First seen', 'Last seen'], rows));
  const from = filters.offset + 1, to = filters.offset + list.length;
  const prev = h('button.btn.btn-quiet#page-prev', { type: 'button', disabled: filters.offset === 0 }, '‹ Previous');
  const next = h('button.btn.btn-quiet#page-next', { type: 'button', disabled: to >= res.total }, 'Next ›');
  prev.addEventListener('click', () => { filters.offset = Math.max(0, filters.offset - pageSize); load(); });
  next.addEventListener('click', () => { filters.offset += pageSize; load(); });
  put(pager, h('span.muted', `${from}–${to} of ${num(res.total)}`), prev, next);
}

/** renderDetail draws one suspect's page. */
export async function renderDetail(ctx, address) {
  const s = await get('/api/v1/suspects/' + encodeURIComponent(address));
  if (!ctx.alive()) return;
  const head = h('header.page-head',
    h('div', h('a.back', { href: '#/suspects' }, '‹ Suspects'), h('h1.mono', s.address, s.pseudonym ? [' ', badge('pseudonym', 'pseudonym')] : null)),
    h('div.head-badges', s.roles.map((r) => [badge(r, 'role-' + r), ' '])));
  const summary = kv([
    ['Score', h('strong', s.score.toFixed(2))],
    ['First seen', time(s.first_seen)],
    ['Last seen', time(s.last_seen)],
    ['Updated', time(s.updated)],
    s.pseudonym ? ['Key epoch', String(s.key_epoch)] : null,
    ['Evidence', `${s.evidence.length} from ${[...new Set(s.evidence.map((e) => e.detector))].join(', ')}`],
  ]);
  const actions = h('div.page-actions');
  const formSlot = h('div');
  if (hasRole('analyst', 'admin')) {
    const open = h('button.btn.btn-primary#open-case', { type: 'button' }, 'Open a case');
    open.addEventListener('click', () => {
      open.hidden = true;
      put(formSlot, caseForm(s, () => { open.hidden = false; put(formSlot); }));
      formSlot.querySelector('select, input')?.focus();
    });
    actions.append(open);
  }
  const cards = s.evidence.map((e, i) => evidenceCard(e, i));
  put(ctx.main, head, h('section.panel', summary, actions, formSlot), h('h2', 'Evidence'),
    cards.length ? h('section.evidence-list', cards.map((c) => c.el)) : empty('No evidence', 'This suspect carries no evidence.'));
  for (const c of cards) c.draw();
}

function evidenceCard(e, i) {
  const counts = Object.entries(e.counts || {});
  const charts = h('div.chart-row');
  const el = h('article.panel.evidence', { dataset: { detector: e.detector, role: e.role, index: String(i) } },
    h('header.evidence-head', h('h3', e.detector), badge(e.role, 'role-' + e.role), h('span.muted', `score ${e.score.toFixed(2)} · ${num(e.findings)} findings`),
      isPartner(e) ? badge('partner', 'partner') : null),
    h('p.reason', e.reason),
    kv([['Seen', [time(e.first_seen), ' → ', time(e.last_seen)]]]),
    counts.length ? h('div.counts', counts.map(([k, v]) => h('span.count', h('span.count-v', num(v)), h('span.count-k', k)))) : null,
    charts,
    peersTable(e.peers || []),
    samplesTable(e.samples || []));
  return { el, draw: () => evidenceCharts(charts, e) };
}

function peersTable(peers) {
  if (peers.length === 0) return null;
  const rows = peers.slice(0, 50).map((p) => h('tr', h('td.mono', p.pseudonym ? p.address : h('a', { href: suspectLink(p.address), title: 'its suspect page, if it is one' }, p.address)), h('td', p.pseudonym ? badge('pseudonym', 'pseudonym') : ''), h('td', p.role), h('td.num', p.count ? num(p.count) : '')));
  return h('details.peers', { open: peers.length <= 10 }, h('summary', `Peers (${peers.length})`),
    table('', ['Address', '', 'Role', h('th.num', 'Count')], rows, 'compact peers-table'));
}

function samplesTable(samples) {
  if (samples.length === 0) return null;
  const rows = samples.slice(0, 50).map((x) => h('tr', h('td', time(x.start)), h('td.mono', `${x.src}:${x.sport}`), h('td.mono', `${x.dst}:${x.dport}`),
    h('td', String(x.proto)), h('td.num', num(x.packets)), h('td.num', num(x.bytes)), h('td', x.class)));
  return h('details.samples', h('summary', `Flow samples (${samples.length})`),
    table('', ['Start', 'Source', 'Destination', 'Proto', h('th.num', 'Packets'), h('th.num', 'Bytes'), 'Class'], rows, 'compact'));
}
