// sharing.js: the partners, their agreements, last syncs and objects in
// and out by TLP (GET /api/v1/sharing, else GET /api/v1/partners), and
// "sync now" for operators. "Last sync" is the latest of the poller's
// last successful sync since start (last_poll) and the last sync the
// store recorded (last_sync), labelled with which it is.

import { h, badge, empty, flash, num, table, time, put } from './dom.js';
import { ApiError, get, hasRole, post } from './api.js';

const tlps = ['clear', 'green', 'amber', 'amber+strict', 'red', 'none'];

const sum = (m) => Object.values(m || {}).reduce((a, b) => a + Number(b || 0), 0);

function tlpCells(byTLP) {
  const m = byTLP || {};
  const present = tlps.filter((t) => m[t]);
  if (present.length === 0) return h('span.muted', '—');
  return present.map((t) => [badge(`${t} ${num(m[t])}`, 'tlp-' + t.replace('+', '-')), ' ']);
}

/** lastSync picks the latest of the poller's last sync and the store's: {at, kind: poll|sync|never}. */
export function lastSync(p) {
  const poll = Date.parse(p.last_poll || ''), sync = Date.parse(p.last_sync || '');
  if (Number.isFinite(poll) && !(poll < sync)) return { at: p.last_poll, kind: 'poll' };
  if (Number.isFinite(sync)) return { at: p.last_sync, kind: 'sync' };
  return { at: '', kind: 'never' };
}

const syncLabels = { poll: 'polled', sync: 'synced (recorded)' };

function syncCell(p) {
  const last = lastSync(p);
  const polls = p.polls || {};
  const counts = Object.entries(polls).filter(([, n]) => n > 0).sort().map(([k, n]) => `${num(n)} ${k}`);
  return h('td.last-sync', { dataset: { kind: last.kind } },
    last.kind === 'never' ? h('span.muted', 'never') : [time(last.at), ' ', h('span.muted.small.sync-kind', syncLabels[last.kind])],
    counts.length ? h('div.muted.small', 'polls since start: ', counts.join(' · ')) : null,
    p.last_error ? h('div.error-text.small.sync-error', 'last error: ', p.last_error) : null);
}

function agreementCell(a) {
  if (!a) return h('span.muted', '—');
  const out = a.outgoing || {}, inc = a.incoming || {};
  return h('div.agreement',
    h('div', h('span.muted', 'out: '), `max TLP ${out.max_tlp || '—'}`, out.min_confidence ? ` · confidence ≥ ${out.min_confidence}` : '', out.delay ? ` · delay ${out.delay}` : '',
      out.types && out.types.length ? ` · ${out.types.join(', ')}` : ''),
    h('div', h('span.muted', 'in: '), inc.trust !== undefined ? `trust ${inc.trust}` : '', inc.max_age ? ` · max age ${inc.max_age}` : '',
      inc.types && inc.types.length ? ` · ${inc.types.join(', ')}` : ''));
}

/** render draws the sharing page. */
export async function render(ctx) {
  let res;
  let legacy = false;
  try {
    res = await get('/api/v1/sharing');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    legacy = true;
    res = await get('/api/v1/partners');
  }
  if (!ctx.alive()) return;
  const partners = res.partners || [];
  const canSync = hasRole('operator', 'admin');
  const rows = partners.map((p) => {
    const sync = canSync ? h('button.btn.btn-small.sync', { type: 'button', dataset: { partner: p.name } }, 'Sync now') : null;
    if (sync) {
      sync.addEventListener('click', async () => {
        sync.disabled = true;
        try {
          await post(`/api/v1/partners/${encodeURIComponent(p.name)}/sync`);
          flash(`Synced with ${p.name}.`, 'ok', true);
          await render(ctx);
          ctx.ready();
        } catch (e) {
          flash(e.message);
          sync.disabled = false;
        }
      });
    }
    const out = p.objects_out || {}, inc = p.objects_in || {};
    return h('tr', { dataset: { partner: p.name } },
      h('td', h('strong', p.name), p.url ? h('div.muted.small.mono', p.url) : null),
      h('td', agreementCell(p.agreement)),
      syncCell(p),
      h('td.out-tlp', tlpCells(out.by_tlp), out.total !== undefined ? h('div.muted.small', `${num(out.total)} in all · ${num(out.published || 0)} published · ${num(out.refused || 0)} refused`) : null),
      h('td.in-tlp', tlpCells(inc.by_tlp), inc.by_tlp ? h('div.muted.small', `${num(sum(inc.by_tlp))} distinct taken`) : null),
      h('td', inc.received !== undefined ? [h('div', `${num(inc.accepted)} accepted · ${num(inc.refused)} refused`), h('div.muted.small', `${num(inc.received)} received · ${num(inc.suspects_added || 0)} suspects added`)] : h('span.muted', '—')),
      h('td', sync));
  });
  const t = res.totals;
  put(ctx.main,
    h('header.page-head', h('h1', 'Sharing'), h('span.muted', 'STIX 2.1 over TAXII 2.1 with allied partners, under agreements'),
      res.running === false ? badge('sharing not running', 'warn') : null),
    t ? h('section.tiles', [
      ['partners', 'Partners', num(t.partners)],
      ['objects_out', 'Objects out', num((t.objects_out || {}).total)],
      ['objects_in', 'Objects accepted', num((t.objects_in || {}).accepted)],
      ['suspects_added', 'Suspects from partners', num((t.objects_in || {}).suspects_added)],
    ].map(([m, l, v]) => h('div.tile', { dataset: { metric: m } }, h('div.tile-label', l), h('div.tile-value', h('span.v', v))))) : null,
    h('div.table-wrap', table('partners', ['Partner', 'Agreement', 'Last sync', 'Out by TLP', 'In by TLP', 'In', ''], rows),
      rows.length ? null : empty('No partners yet', 'Partners are added with acd partner add; their agreements say what is shared.')),
    legacy ? h('p.muted.small', 'This server has no /api/v1/sharing: showing /api/v1/partners.') : null);
}
