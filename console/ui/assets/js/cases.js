// cases.js: the cases list and a case's page: the workflow, approvals k
// of n, each action with its window, countdown and verdict, the
// emergency path; commissioners sign (sign.js, commission.js), operators
// execute. The page refreshes itself every 5 s (data-ready re-set).

import { h, badge, duration, empty, flash, kv, num, select, table, time, put } from './dom.js';
import { get, hasRole, post, query } from './api.js';
import { commissionPanel } from './commission.js';
import { suspectLink } from './suspects.js';

const states = ['draft', 'requested', 'approved', 'active', 'effective', 'ineffective', 'rejected', 'withdrawn', 'expired', 'revoked', 'closed'];
const listFilter = { state: '' };

/** caseLink is the hash route of a case's page. */
export const caseLink = (id) => '#/cases/' + encodeURIComponent(id);

/** renderList draws the cases, newest first, filtered by state. */
export async function renderList(ctx) {
  const chips = h('div.chips#case-states', [['', 'all'], ...states.map((s) => [s, s])].map(([v, l]) => {
    const b = h('button.chip', { type: 'button', dataset: { state: v }, class: 'chip' + (listFilter.state === v ? ' on' : '') }, l);
    b.addEventListener('click', () => {
      listFilter.state = v;
      for (const c of chips.children) c.classList.toggle('on', c.dataset.state === v);
      load();
    });
    return b;
  }));
  const body = h('div.table-wrap');
  put(ctx.main, h('header.page-head', h('h1', 'Cases'), h('span.muted', 'requests to act against attack servers, and what became of them')), chips, body);
  const load = async () => {
    ctx.loading();
    const res = await get('/api/v1/cases' + query({ state: listFilter.state, limit: 200 }));
    if (!ctx.alive()) return;
    const list = res.cases || [];
    const rows = list.map((c) => {
      const tr = h('tr.clickable', { dataset: { case: c.id, state: c.state } },
        h('td', h('a.mono', { href: caseLink(c.id) }, c.id)),
        h('td.mono', c.target),
        h('td', stateBadge(c.state), c.flags && c.flags.emergency ? [' ', badge('emergency', 'emergency')] : null),
        h('td', c.route, ' · ', c.urgency),
        h('td', (c.actions || []).map((a) => a.type).join(', ')),
        h('td', c.requester),
        h('td.num', 'v' + c.version),
        h('td', time(c.created)));
      tr.addEventListener('click', (ev) => { if (!ev.target.closest('a')) location.hash = caseLink(c.id); });
      return tr;
    });
    put(body, table('cases', ['Case', 'Target', 'State', 'Route', 'Actions', 'Requester', h('th.num', 'Version'), 'Opened'], rows),
      rows.length ? h('p.muted', `${list.length} of ${num(res.total)}`) : empty(listFilter.state ? `No ${listFilter.state} cases` : 'No cases yet', 'An analyst opens a case from a suspect\u2019s page.'));
    ctx.ready();
  };
  await load();
}

/** stateBadge shows a case state. */
export function stateBadge(state) {
  return badge(state, 'state-' + state);
}

const flow = ['draft', 'requested', 'approved', 'active', 'effective'];

function stepper(c) {
  const at = flow.indexOf(c.state);
  const off = at < 0;
  return h('ol.stepper', flow.map((s, i) => h('li', { class: off ? 'step' : i < at ? 'step done' : i === at ? 'step now' : 'step' }, s)),
    off ? h('li.step.now.off', c.state) : null);
}

/** renderDetail draws a case and keeps it fresh. */
export async function renderDetail(ctx, id) {
  const rec = await get('/api/v1/cases/' + encodeURIComponent(id));
  if (!ctx.alive()) return;
  const dyn = h('div.case-dyn');
  const side = h('div.case-side');
  put(ctx.main, h('div.case-layout', dyn, side));
  const refresh = async (opts) => {
    const r = await get('/api/v1/cases/' + encodeURIComponent(id), opts);
    if (!ctx.alive()) return;
    ctx.loading();
    drawCase(dyn, r);
    panels.update(r);
    ctx.ready();
  };
  const panels = sidePanels(side, rec, refresh);
  drawCase(dyn, rec);
  panels.update(rec);
  const timer = setInterval(() => refresh({ background: true }).catch(() => {}), 5000);
  const tick = setInterval(() => tickCountdowns(dyn), 1000);
  ctx.onLeave(() => { clearInterval(timer); clearInterval(tick); });
}

function sidePanels(side, rec, refresh) {
  const parts = [];
  if (hasRole('commissioner')) parts.push(commissionPanel(rec, refresh));
  if (hasRole('operator')) parts.push(operatorPanel(rec, refresh));
  if (hasRole('analyst', 'admin')) parts.push(authorPanel(rec, refresh));
  put(side, ...parts.map((p) => p.el));
  if (parts.length === 0) side.append(h('div.panel.muted', 'Your roles may read this case; they may not act on it.'));
  return { update: (r) => parts.forEach((p) => p.update(r)) };
}

function drawCase(root, rec) {
  const c = rec.case;
  const k = rec.policy ? rec.policy.quorum : null;
  const n = rec.policy ? rec.policy.commissioners : null;
  const approvals = (rec.approvals || []).filter((a) => a.version === c.version && a.decision === 'approve');
  const tallyN = rec.tally ? rec.tally.approvals : new Set(approvals.map((a) => a.commissioner)).size;
  put(root, ...[
    h('header.page-head', h('div', h('a.back', { href: '#/cases' }, '‹ Cases'), h('h1', 'Case ', h('span.mono', c.id), ' ', h('span.muted', 'v' + c.version))),
      h('span#case-state', { dataset: { state: c.state }, class: 'badge badge-lg badge-state-' + c.state }, c.state)),
    stepper(c),
    emergencyBanner(c),
    h('section.panel', kv([
      ['Target', h('span.mono', c.target)],
      ['Suspects', (c.suspects || []).map((s) => [h('a.mono', { href: suspectLink(s) }, s), ' '])],
      ['Legal basis', c.legal_basis],
      ['Route', [badge(c.route, 'route-' + c.route), ' urgency ', badge(c.urgency, 'urgency-' + c.urgency)]],
      ['Requester', c.requester],
      ['Opened', time(c.created)],
      ['Evidence hash', h('span.mono.small', c.evidence_hash || '—')],
    ])),
    h('section.panel', h('h2', 'Commission ', h('span.quorum', k ? `${tallyN} of ${k} approvals needed` : `${tallyN} approval${tallyN === 1 ? '' : 's'}`, n ? ` · ${n} commissioners` : '')),
      approvalsList(rec)),
    h('section.panel', h('h2', 'Actions'), actionsList(rec)),
    h('section.panel', h('h2', 'History'), history(c)),
  ].filter(Boolean));
  tickCountdowns(root);
}

function emergencyBanner(c) {
  const f = c.flags || {};
  if (f.emergency) {
    return h('div.banner.banner-warn#emergency-path', h('strong', 'Emergency path: '),
      `activated by ${f.emergency_by || '?'} `, time(f.emergency_at), ' before approval. ',
      f.reviewed ? ['Reviewed by the commission ', time(f.reviewed_at), '.'] : f.review_missed ? 'The review deadline passed: the actions were rolled back.' : ['The commission must review it by ', time(f.review_by), '.']);
  }
  if (c.route === 'urgent' && c.state === 'requested') {
    return h('div.banner.banner-info#emergency-path', h('strong', 'Urgent route: '), 'an operator with the emergency right may act before approval; the commission then reviews.');
  }
  return null;
}

function approvalsList(rec) {
  const list = rec.approvals || [];
  if (list.length === 0) return h('div', h('ul#approvals'), empty('No decision yet', rec.case.state === 'requested' ? 'Waiting for the commissioners\u2019 signatures.' : 'The case has not been before the commission.'));
  return h('ul#approvals.decisions', list.map((a) => h('li', { dataset: { decision: a.decision, commissioner: a.commissioner, version: String(a.version) }, class: a.version === rec.case.version ? '' : 'stale' },
    badge(a.decision === 'approve' ? 'approved' : 'rejected', 'decision-' + a.decision), ' ',
    h('strong', a.commissioner), ' ', h('span.muted', `v${a.version} · key ${a.key_id} · `), time(a.signed_at),
    a.reason ? h('div.decision-reason', a.reason) : null,
    a.version !== rec.case.version ? h('div.muted.small', 'on an earlier version: does not count') : null)));
}

function scopeText(s) {
  if (!s) return '';
  const parts = [];
  if (s.destination) parts.push('to ' + s.destination);
  if (s.protocol) parts.push({ 6: 'TCP', 17: 'UDP', 132: 'SCTP' }[s.protocol] || 'proto ' + s.protocol);
  if (s.ports) parts.push('ports ' + s.ports.map((p) => (p.from === p.to ? p.from : `${p.from}-${p.to}`)).join(','));
  if (s.rate_bps) parts.push('limit ' + num(s.rate_bps) + ' B/s');
  if (s.subdomains) parts.push('with subdomains');
  if (s.recipient) parts.push('to ' + s.recipient);
  if (s.pseudonyms) parts.push(s.pseudonyms.length + ' pseudonyms');
  return parts.join(' · ');
}

function actionsList(rec) {
  const c = rec.case;
  const extra = rec.actions || [];
  return h('ol.actions', (c.actions || []).map((a, i) => {
    const x = extra.find((e) => e.index === i) || {};
    const v = x.verdict || [...(c.verdicts || [])].reverse().find((vd) => vd.action === i);
    return h('li.action', { dataset: { type: a.type, index: String(i), ...(x.state ? { state: x.state } : {}) } },
      h('div.action-head', h('span.action-type', a.type), ' ', h('span.mono', a.target), x.state ? [' ', badge(x.state.replace('_', ' '), 'action-' + x.state)] : null,
        x.since ? h('span.muted', ' since ', time(x.since)) : null),
      scopeText(a.scope) ? h('div.muted', scopeText(a.scope)) : null,
      h('div.window', 'window ', time(a.not_before), ' → ', time(a.not_after), ' ',
        h('span.countdown', { dataset: { from: String(Date.parse(a.not_before)), to: String(Date.parse(a.not_after)) } })),
      h('div.verdict', { dataset: { verdict: v ? v.verdict : '' } }, v ? [badge(v.verdict, 'verdict-' + v.verdict), ' ', time(v.at), v.reason ? h('span.muted', ' — ' + v.reason) : null]
        : h('span.muted', 'no verdict yet')));
  }));
}

function tickCountdowns(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('.countdown')) {
    const from = Number(el.dataset.from), to = Number(el.dataset.to);
    let text, phase;
    if (now < from) [text, phase] = ['starts in ' + duration((from - now) / 1000), 'before'];
    else if (now < to) [text, phase] = ['ends in ' + duration((to - now) / 1000), 'open'];
    else [text, phase] = ['ended ' + duration((now - to) / 1000) + ' ago', 'over'];
    el.textContent = text;
    el.dataset.phase = phase;
    if (phase === 'open' && to > from) {
      const bar = el.nextElementSibling && el.nextElementSibling.classList.contains('window-bar') ? el.nextElementSibling : null;
      const fill = bar ? bar.firstChild : h('span.window-fill');
      if (!bar) el.after(h('span.window-bar', fill));
      fill.style.width = Math.min(100, (100 * (now - from)) / (to - from)) + '%';
    }
  }
}

function history(c) {
  const list = c.history || [];
  if (list.length === 0) return empty('No history', '');
  return h('ol.timeline', list.map((e) => h('li', { dataset: { event: e.event } },
    h('span.tl-time', time(e.at)), h('span.tl-event', e.event), ' ', h('span.muted', `${e.from || '—'} → ${e.to}`), ' by ', h('strong', e.by),
    e.reason ? h('div.tl-reason', e.reason) : null)));
}

// The verify stage's baseline (verify/README.md): it follows a case's
// target from when the case is opened (prewatch, within verify.interval),
// counts its flows from the next whole minute, and needs verify.window
// whole minutes of them before the execution's minute. Executed sooner,
// the verdict is "unmeasurable". No API gives verify.window: the note
// assumes a minute (acd demo's; the default is 5 min), unless the case's
// answer carries verify.window_s.
const assumedWindowS = 60;
const prewatchSlackS = 5; // verify.interval (2 s) and some
const unmeasurableTypes = ['sinkhole', 'reidentify', 'police-request']; // never judged from flows

/** baselineReadyAt is when an execution first has a whole baseline (ms), for a case opened at created. */
export function baselineReadyAt(created, windowS) {
  const start = Date.parse(created);
  if (!Number.isFinite(start)) return NaN;
  const firstMinute = (Math.floor((start + prewatchSlackS * 1000) / 60000) + 1) * 60000;
  return firstMinute + windowS * 1000;
}

/** baselineNote fills el with the hint near button#execute, or hides it once the baseline is whole. */
function baselineNote(el, rec, actionIndex, now = Date.now()) {
  const c = rec.case;
  const windowS = (rec.verify && rec.verify.window_s) || assumedWindowS;
  const a = (c.actions || [])[actionIndex];
  const readyAt = baselineReadyAt(c.created, windowS);
  if (!a || unmeasurableTypes.includes(a.type) || !Number.isFinite(readyAt) || now >= readyAt) {
    el.hidden = true;
    el.removeAttribute('data-ready-at');
    return;
  }
  const watched = Math.max(0, Math.round((now - Date.parse(c.created)) / 1000));
  const win = rec.verify && rec.verify.window_s ? duration(windowS) : 'about a minute';
  el.dataset.readyAt = new Date(readyAt).toISOString();
  put(el, h('strong', 'No baseline yet. '),
    `The verify stage has watched this target for ${duration(watched)}; it needs ${win} of its traffic, counted in whole minutes, before the execution. `,
    `Executing before ${new Date(readyAt).toLocaleTimeString()} (`, time(readyAt), ') leaves no baseline: the verdict will be unmeasurable.');
  el.hidden = false;
}

function operatorPanel(rec, refresh) {
  const idx = select({ id: 'action-index', name: 'action' }, [['0', '0']], '0');
  const reason = h('textarea#operator-reason', { rows: 2, placeholder: 'emergency: why it cannot wait for approval (required)' });
  const exec = h('button.btn.btn-primary#execute', { type: 'button' }, 'Execute');
  const emer = h('button.btn.btn-danger#emergency', { type: 'button' }, 'Emergency: act now');
  const hint = h('p.muted.small');
  const note = h('p#baseline-note.note.note-warn.small', { role: 'note', hidden: true });
  const el = h('section.panel.operator', h('h2', 'Operator'), h('label.field', h('span.field-label', 'Action'), idx), exec, note,
    h('div.emergency-box', h('label.field', h('span.field-label', 'Emergency reason'), reason), emer), hint);
  let cur = rec;
  const run = async (path, body, what) => {
    exec.disabled = emer.disabled = true;
    try {
      await post(`/api/v1/cases/${encodeURIComponent(cur.case.id)}/${path}`, body);
      flash(what, 'ok');
      await refresh();
    } catch (e) {
      flash(e.message);
    } finally {
      update(cur);
    }
  };
  exec.addEventListener('click', () => run('execute', { action: Number(idx.value) }, `Action ${idx.value} executed.`));
  emer.addEventListener('click', () => {
    if (!reason.value.trim()) {
      flash('An emergency needs a reason.');
      reason.focus();
      return;
    }
    run('emergency', { action: Number(idx.value), reason: reason.value.trim() }, `Emergency: action ${idx.value} executed before approval.`);
  });
  const update = (r) => {
    cur = r;
    const c = r.case;
    const opts = (c.actions || []).map((a, i) => [String(i), `${i}: ${a.type} ${a.target}`]);
    const keep = idx.value;
    put(idx, ...opts.map(([v, l]) => h('option', { value: v, selected: v === keep }, l)));
    exec.disabled = !['approved', 'active', 'effective', 'ineffective'].includes(c.state);
    emer.disabled = !(c.state === 'requested' && c.route === 'urgent');
    emer.parentElement.hidden = c.route !== 'urgent';
    hint.textContent = exec.disabled ? `Nothing to execute while the case is ${c.state}.` : 'The gate checks approval, scope and window before anything runs.';
    if (exec.disabled && emer.disabled) note.hidden = true;
    else baselineNote(note, r, Number(idx.value));
  };
  idx.addEventListener('change', () => update(cur));
  return { el, update };
}

function authorPanel(rec, refresh) {
  const reason = h('textarea#author-reason', { rows: 2, placeholder: 'reason (required to withdraw)' });
  const buttons = { request: 'Send to the commission', withdraw: 'Withdraw', close: 'Close' };
  const els = Object.fromEntries(Object.entries(buttons).map(([k, l]) => [k, h('button.btn', { type: 'button', id: 'case-' + k, class: k === 'withdraw' ? 'btn btn-danger' : 'btn' }, l)]));
  let cur = rec;
  for (const [k, b] of Object.entries(els)) {
    b.addEventListener('click', async () => {
      try {
        await post(`/api/v1/cases/${encodeURIComponent(cur.case.id)}/${k}`, reason.value.trim() ? { reason: reason.value.trim() } : {});
        flash(`Case ${k === 'request' ? 'requested' : k === 'withdraw' ? 'withdrawn' : 'closed'}.`, 'ok');
        reason.value = '';
        await refresh();
      } catch (e) {
        flash(e.message);
      }
    });
  }
  const el = h('section.panel.author', h('h2', 'Case'), h('label.field', h('span.field-label', 'Reason'), reason), h('div.btn-row', Object.values(els)));
  const update = (r) => {
    cur = r;
    const s = r.case.state;
    els.request.hidden = s !== 'draft';
    els.withdraw.hidden = !['draft', 'requested', 'approved'].includes(s);
    els.close.hidden = !['rejected', 'withdrawn', 'expired', 'revoked'].includes(s);
    el.hidden = els.request.hidden && els.withdraw.hidden && els.close.hidden;
  };
  return { el, update };
}
