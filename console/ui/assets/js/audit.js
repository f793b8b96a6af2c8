// audit.js: the audit log: chain status (GET /api/v1/audit/verify),
// search (actor, action, object, from/to, q), entries with paging by
// after_seq, and the oversight report's download.

import { h, empty, field, num, table, time, put } from './dom.js';
import { get, query } from './api.js';

const pageSize = 100;

function day(offset) {
  return new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
}

function chainStatus(v) {
  const n = v.verified_through ?? (v.ok ? v.last_seq : 0);
  const ok = !!v.ok;
  return h('div#chain-status', { dataset: { verified: String(ok) }, class: ok ? 'chain ok' : 'chain broken' },
    h('span.chain-mark', ok ? '✓' : '✗'), ' ', h('strong', `verified up to entry ${n}`),
    h('span.muted', ` · ${num(v.entries)} entries · ${v.valid_checkpoints}/${v.checkpoints} checkpoints valid · signed through ${v.signed_through}` +
      (v.unverified_tail ? ` · ${v.unverified_tail} after the last checkpoint` : '')),
    !ok && v.problems && v.problems.length ? h('ul.problems', v.problems.slice(0, 20).map((p) => h('li', JSON.stringify(p)))) : null);
}

/** render draws the audit page. */
export async function render(ctx) {
  let verify = null;
  let verifyErr = '';
  try {
    verify = await get('/api/v1/audit/verify');
  } catch (e) {
    verifyErr = e.message;
  }
  if (!ctx.alive()) return;
  const exportLink = h('a#oversight-export.btn', { download: `oversight-${day(-30)}-${day(1)}.json` }, 'Export oversight report');
  const from = h('input', { name: 'report_from', type: 'date', value: day(-30) });
  const to = h('input', { name: 'report_to', type: 'date', value: day(1) });
  const setLink = () => {
    exportLink.href = '/api/v1/reports/oversight' + query({ from: from.value, to: to.value });
    exportLink.setAttribute('download', `oversight-${from.value}-${to.value}.json`);
  };
  from.addEventListener('change', setLink);
  to.addEventListener('change', setLink);
  setLink();
  const form = h('form#audit-search.filters',
    field('Actor', h('input', { name: 'actor', placeholder: 'user:ana' })),
    field('Action', h('input', { name: 'action', placeholder: 'case.* or exact' })),
    field('Object', h('input', { name: 'object', placeholder: 'case:c-1' })),
    field('From', h('input', { name: 'from', type: 'date' })),
    field('To', h('input', { name: 'to', type: 'date' })),
    field('Text', h('input', { name: 'q', placeholder: 'anywhere in the entry' })),
    field('After seq', h('input', { name: 'after_seq', type: 'number', min: 0, placeholder: 'newest' })),
    h('button.btn', { type: 'submit' }, 'Search'));
  const body = h('div.table-wrap');
  const pager = h('div.pager');
  put(ctx.main,
    h('header.page-head', h('h1', 'Audit'), h('span.muted', 'the hash-chained log of everything acd did, and who did it')),
    verify ? chainStatus(verify) : h('div#chain-status.chain.broken', { dataset: { verified: 'false' } }, 'The chain could not be verified: ' + verifyErr),
    h('section.panel.export', h('h2', 'Oversight report'), h('div.form-row', field('From', from), field('To', to), exportLink)),
    form, body, pager);
  const params = () => {
    const f = form.elements;
    return { actor: f.actor.value.trim(), action: f.action.value.trim(), object: f.object.value.trim(), from: f.from.value, to: f.to.value, q: f.q.value.trim(), after_seq: f.after_seq.value };
  };
  const load = async (p) => {
    ctx.loading();
    const res = await get('/api/v1/audit' + query({ ...p, limit: pageSize }));
    if (!ctx.alive()) return;
    const list = res.entries || [];
    const shown = p.after_seq ? list : [...list].reverse(); // newest first unless paging forward
    const rows = shown.map((e) => h('tr', { dataset: { seq: String(e.seq), action: e.action } },
      h('td.num.mono', String(e.seq)), h('td', time(e.time)), h('td', e.actor), h('td.mono', e.action), h('td.mono', e.object || ''),
      h('td.details.mono.small', { title: e.data === undefined ? '' : JSON.stringify(e.data) }, e.data === undefined ? '' : JSON.stringify(e.data).slice(0, 300))));
    put(body, table('audit', [h('th.num', 'Seq'), 'Time', 'Actor', 'Action', 'Object', 'Details'], rows),
      rows.length ? null : empty('No entry matches', 'Widen the search.'));
    put(pager);
    if (res.more && list.length) {
      if (p.after_seq) {
        const next = h('button.btn.btn-quiet#audit-next', { type: 'button' }, 'Newer ›');
        next.addEventListener('click', () => {
          form.elements.after_seq.value = String(list[list.length - 1].seq);
          load(params()).catch(() => {});
        });
        pager.append(h('span.muted', `entries ${list[0].seq}–${list[list.length - 1].seq}`), next);
      } else {
        pager.append(h('span.muted', `the newest ${list.length}; older entries match too: search from a seq ("After seq") to page through them`));
      }
    }
    ctx.ready();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load(params()).catch((e) => { put(body, empty('The search failed', e.message)); ctx.ready(); });
  });
  await load({});
}
