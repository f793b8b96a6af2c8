// caseform.js: "Open a case" from a suspect: form#case-form. It creates
// the case (POST /api/v1/cases: a draft resting on the suspect, whose
// evidence the server freezes), then by default requests it (POST
// .../request, the justification as its reason: the case goes to the
// commission), and opens #/cases/<id>.

import { h, field, flash, select } from './dom.js';
import { post } from './api.js';

const types = ['block', 'flowspec', 'rtbh', 'sinkhole', 'abuse-report', 'reidentify', 'police-request'];
const durations = [['3600', '1 hour'], ['21600', '6 hours'], ['86400', '24 hours'], ['259200', '3 days'], ['604800', '7 days']];

/** defaultType is the measure that fits a suspect's roles. */
function defaultType(s) {
  if (s.roles.includes('reflector') && s.roles.length === 1) return 'abuse-report';
  if (s.roles.includes('ddos-victim') && s.roles.length === 1) return 'rtbh';
  return 'block';
}

function parsePorts(text) {
  const out = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) throw new Error(`ports: "${part}" is not a port or a range like 1000-2000`);
    const from = Number(m[1]), to = Number(m[2] || m[1]);
    if (from < 1 || to > 65535 || to < from) throw new Error(`ports: "${part}" is out of range`);
    out.push({ from, to });
  }
  return out;
}

const rfc3339 = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** body builds the POST /api/v1/cases body from the form. */
export function caseBody(f, suspect, now = Date.now()) {
  const type = f.action.value;
  const scope = {};
  if (type === 'block' || type === 'flowspec') {
    if (f.protocol.value) scope.protocol = Number(f.protocol.value);
    const ports = parsePorts(f.ports.value);
    if (ports.length) {
      if (!scope.protocol) throw new Error('ports: choose TCP or UDP to narrow by port');
      scope.ports = ports;
    }
  }
  if ((type === 'abuse-report' || type === 'police-request') && f.recipient.value.trim()) scope.recipient = f.recipient.value.trim();
  const start = Math.floor(now / 1000) * 1000;
  const action = { type, target: f.action_target.value.trim(), not_before: rfc3339(start), not_after: rfc3339(start + Number(f.duration.value) * 1000) };
  if (Object.keys(scope).length) action.scope = scope;
  return {
    target: f.target.value.trim(),
    suspects: [suspect.address],
    legal_basis: f.legal_basis.value.trim(),
    route: f.route.value,
    urgency: f.urgency.value,
    actions: [action],
  };
}

/** caseForm makes the form for suspect s; onCancel hides it. */
export function caseForm(s, onCancel) {
  const typeSel = select({ name: 'action', id: 'case-action' }, types, defaultType(s));
  const narrow = h('div.form-row.narrow',
    field('Protocol', select({ name: 'protocol' }, [['', 'any'], ['6', 'TCP'], ['17', 'UDP']], '')),
    field('Ports', h('input', { name: 'ports', placeholder: 'e.g. 22 or 1000-2000' }), 'optional'));
  const recipient = h('div.form-row.recipient', field('Recipient', h('input', { name: 'recipient', placeholder: 'abuse contact e-mail or police channel' }), 'abuse-report: empty = the network\u2019s registered contact'));
  const sync = () => {
    const t = typeSel.value;
    narrow.hidden = !(t === 'block' || t === 'flowspec');
    recipient.hidden = !(t === 'abuse-report' || t === 'police-request');
  };
  typeSel.addEventListener('change', sync);
  const err = h('div.form-error', { role: 'alert', hidden: true });
  const form = h('form#case-form.panel.form',
    h('h2', 'Open a case'),
    h('p.muted', 'The suspect\u2019s evidence is frozen with the case. Commissioners decide on exactly what you write here.'),
    h('div.form-row',
      field('Target', h('input', { name: 'target', value: s.address, required: true, class: 'mono' }), 'the attack server: address, prefix or domain'),
      field('Legal basis', h('input', { name: 'legal_basis', required: true, placeholder: 'e.g. ACD Act art. 12(1)', list: 'legal-bases' }))),
    h('datalist#legal-bases', h('option', { value: 'ACD Act art. 12(1)' }), h('option', { value: 'ACD Act art. 12(2) (urgent)' })),
    h('div.form-row',
      field('Route', select({ name: 'route' }, [['ordinary', 'ordinary: approval first'], ['urgent', 'urgent: emergency path allowed']], 'ordinary')),
      field('Urgency', select({ name: 'urgency' }, ['low', 'normal', 'high', 'critical'], s.score >= 0.8 ? 'high' : 'normal'))),
    h('fieldset.action-set', h('legend', 'Action'),
      h('div.form-row',
        field('Type', typeSel),
        field('Action target', h('input', { name: 'action_target', value: s.address, required: true, class: 'mono' })),
        field('Duration', select({ name: 'duration' }, durations, '86400'), 'window from now')),
      narrow, recipient),
    field('Justification', h('textarea', { name: 'justification', rows: 3, placeholder: 'why this measure, why now (sent with the request to the commission)' })),
    h('label.check', h('input', { type: 'checkbox', name: 'submit_request', checked: true }), ' Send to the commission now (otherwise the case stays a draft)'),
    err,
    h('div.form-actions',
      h('button.btn.btn-primary', { type: 'submit' }, 'Open case'),
      h('button.btn.btn-quiet', { type: 'button', on: { click: onCancel } }, 'Cancel')));
  sync();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const f = form.elements;
      const created = await post('/api/v1/cases', caseBody(f, s));
      if (f.submit_request.checked) {
        const reason = f.justification.value.trim();
        await post(`/api/v1/cases/${encodeURIComponent(created.id)}/request`, reason ? { reason } : {});
      }
      flash(`Case ${created.id} opened` + (f.submit_request.checked ? ' and sent to the commission.' : ' as a draft.'), 'ok', true);
      location.hash = '#/cases/' + encodeURIComponent(created.id);
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      flash(e.message);
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}
