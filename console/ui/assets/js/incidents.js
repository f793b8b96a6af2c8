// incidents.js: operators' incident reports: the form (reporting
// operators, admin) and the list; analysts release a report to partners.

import { h, badge, empty, field, flash, select, table, time, put } from './dom.js';
import { get, hasRole, post } from './api.js';

const types = ['ddos', 'ransomware', 'intrusion', 'other'];
const tlps = ['clear', 'green', 'amber', 'amber+strict', 'red'];

const lines = (s) => s.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean);

function localToRFC3339(v) {
  if (!v) return undefined;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new Error(`"${v}" is not a time`);
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

function nowLocal(offsetMin = 0) {
  const d = new Date(Date.now() - offsetMin * 60000 - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

/** reportBody builds the POST /api/v1/incidents body from the form. */
export function reportBody(f) {
  const b = {
    organization: f.organization.value.trim(), type: f.type.value, title: f.title.value.trim(),
    start: localToRFC3339(f.start.value), detected: localToRFC3339(f.detected.value), tlp: f.tlp.value,
  };
  if (f.end.value) b.end = localToRFC3339(f.end.value);
  if (f.description.value.trim()) b.description = f.description.value.trim();
  if (f.mitigation.value.trim()) b.mitigation = f.mitigation.value.trim();
  for (const k of ['indicators', 'affected_systems', 'vectors']) {
    const l = lines(f[k].value);
    if (l.length) b[k] = l;
  }
  return b;
}

function reportForm(ctx) {
  const err = h('div.form-error', { role: 'alert', hidden: true });
  const form = h('form#incident-form.panel.form',
    h('h2', 'Report an incident'),
    h('div.form-row',
      field('Organization', h('input', { name: 'organization', required: true })),
      field('Type', select({ name: 'type' }, types, 'ddos')),
      field('TLP', select({ name: 'tlp' }, tlps, 'amber'), 'how far it may be shared')),
    field('Title', h('input', { name: 'title', required: true, placeholder: 'one line' })),
    h('div.form-row',
      field('Start', h('input', { name: 'start', type: 'datetime-local', required: true, value: nowLocal(60) })),
      field('Detected', h('input', { name: 'detected', type: 'datetime-local', required: true, value: nowLocal(30) })),
      field('End', h('input', { name: 'end', type: 'datetime-local' }), 'empty: ongoing')),
    field('Description', h('textarea', { name: 'description', rows: 3 })),
    h('div.form-row',
      field('Indicators', h('textarea', { name: 'indicators', rows: 3, placeholder: 'addresses, prefixes, domains; one a line' })),
      field('Affected systems', h('textarea', { name: 'affected_systems', rows: 3, placeholder: 'one a line' })),
      field('Vectors', h('textarea', { name: 'vectors', rows: 3, placeholder: 'syn-flood, dns-reflection, …' }))),
    field('Mitigation', h('textarea', { name: 'mitigation', rows: 2 })),
    err,
    h('div.form-actions', h('button.btn.btn-primary', { type: 'submit' }, 'File report')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    try {
      const res = await post('/api/v1/incidents', reportBody(form.elements));
      const m = (res.matches || []).length;
      flash(`Report ${res.ack.id} filed` + (m ? `; it matches ${m} suspect${m > 1 ? 's' : ''}.` : '.'), 'ok', true);
      await render(ctx);
      ctx.ready();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  });
  return form;
}

/** render draws the incidents page. */
export async function render(ctx) {
  const res = await get('/api/v1/incidents');
  if (!ctx.alive()) return;
  const list = res.incidents || [];
  const canShare = hasRole('analyst', 'admin');
  const rows = list.map((r) => {
    let share = null;
    if (canShare && r.status !== 'shared') {
      share = h('button.btn.btn-small.share', { type: 'button', dataset: { id: r.id } }, 'Release to partners');
      share.addEventListener('click', async () => {
        share.disabled = true;
        try {
          await post(`/api/v1/incidents/${encodeURIComponent(r.id)}/share`);
          flash(`Report ${r.id} released to the partners (under their agreements and its TLP).`, 'ok', true);
          await render(ctx);
          ctx.ready();
        } catch (e) {
          flash(e.message);
          share.disabled = false;
        }
      });
    }
    return h('tr', { dataset: { id: r.id, status: r.status } },
      h('td.mono', r.id), h('td', time(r.received)), h('td', r.operator, h('div.muted.small', r.organization)),
      h('td', badge(r.type, 'type')), h('td', r.title, (r.indicators || []).length ? h('div.muted.small.mono', r.indicators.slice(0, 4).join(', ') + (r.indicators.length > 4 ? ' …' : '')) : null),
      h('td', badge(r.tlp, 'tlp-' + String(r.tlp).replace('+', '-'))), h('td', badge(r.status, 'status-' + r.status)), h('td', share));
  });
  put(ctx.main,
    h('header.page-head', h('h1', 'Incident reports'), h('span.muted', 'filed by critical-infrastructure operators')),
    hasRole('reporting-operator', 'admin') ? reportForm(ctx) : null,
    h('div.table-wrap', table('incidents', ['Report', 'Received', 'Operator', 'Type', 'Title', 'TLP', 'Status', ''], rows),
      rows.length ? null : empty('No incident reports yet', 'Reporting operators file them here or with the API.')));
}
