// commission.js: a commissioner's panel on a case page. The decision is
// signed here, in the browser: the private key (input#key-file, the PKCS
// #8 PEM from acd user keygen) is read with FileReader and used with
// WebCrypto; only the signed decision is sent (sign.js has the message).

import { h, flash, put } from './dom.js';
import { call, get, session } from './api.js';
import { checkPayload, goTime, importSigningKey, pemToDER, signApproval } from './sign.js';

function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(new Error('unable to read the key file: ' + (r.error ? r.error.message : 'unknown error')));
    r.readAsText(file);
  });
}

function summary(p) {
  return h('dl.kv.sign-summary',
    h('dt', 'Case'), h('dd', h('span.mono', p.case), ` version ${p.version}`),
    h('dt', 'Target'), h('dd.mono', p.target),
    h('dt', 'Legal basis'), h('dd', p.legal_basis),
    h('dt', 'Route'), h('dd', `${p.route} · urgency ${p.urgency} · requested by ${p.requester}`),
    h('dt', 'Evidence'), h('dd.mono.small', p.evidence_hash),
    h('dt', 'Actions'), h('dd', h('ol', (p.actions || []).map((a) => h('li', h('strong', a.type), ' ', h('span.mono', a.target), ` from ${a.not_before} to ${a.not_after}`,
      a.scope && Object.keys(a.scope).length ? h('span.muted', ' scope ' + JSON.stringify(a.scope)) : null)))));
}

/** commissionPanel returns {el, update(record)}. */
export function commissionPanel(rec, refresh) {
  const keyFile = h('input#key-file', { type: 'file', accept: '.pem,.key,application/x-pem-file,text/plain' });
  const keyInfo = h('div.key-info.muted', 'Your key stays in this browser: it is read here and never uploaded.');
  const reason = h('textarea#reason', { rows: 3, placeholder: 'reason (required to reject; recorded and signed)' });
  const approve = h('button.btn.btn-primary#approve', { type: 'button' }, 'Sign and approve');
  const reject = h('button.btn.btn-danger#reject', { type: 'button' }, 'Sign and reject');
  const payloadBox = h('div.sign-payload');
  const raw = h('pre#sign-payload.mono.small');
  const state = h('p.muted.small');
  const el = h('section.panel.commission', h('h2', 'Your decision'),
    h('p.small', 'You sign exactly these bytes (the case payload), together with your decision, name, key id, reason and the time:'),
    payloadBox, h('details', h('summary', 'canonical payload'), raw),
    h('label.field', h('span.field-label', 'Signing key (PKCS #8 PEM from acd user keygen)'), keyFile), keyInfo,
    h('label.field', h('span.field-label', 'Reason'), reason),
    h('div.btn-row', approve, reject), state);
  let cur = rec;
  let shown = '';
  let signer = null;

  keyFile.addEventListener('change', async () => {
    signer = null;
    const f = keyFile.files && keyFile.files[0];
    if (!f) return;
    try {
      signer = await importSigningKey(pemToDER(await readFile(f)));
      put(keyInfo, 'Key ', h('strong.mono#key-id', signer.keyId), ' loaded (in this browser only).');
      keyInfo.classList.remove('error');
    } catch (e) {
      keyInfo.textContent = e.message;
      keyInfo.classList.add('error');
      flash(e.message);
    }
  });

  const decide = async (decision) => {
    if (!signer) {
      flash('Choose your signing key file first.');
      return;
    }
    if (decision === 'reject' && !reason.value.trim()) {
      flash('A rejection needs a reason.');
      reason.focus();
      return;
    }
    approve.disabled = reject.disabled = true;
    try {
      const id = cur.case.id;
      const resp = await get(`/api/v1/cases/${encodeURIComponent(id)}/payload`, { raw: true });
      const text = await resp.text();
      const payload = checkPayload(id, text);
      if (payload.version !== cur.case.version) {
        throw new Error(`the case changed to version ${payload.version} while you read it: check it again before you sign`);
      }
      const a = { case: id, version: payload.version, commissioner: session.name, key_id: signer.keyId, decision, reason: reason.value.trim(), signed_at: goTime(new Date()) };
      const { body } = await signApproval(signer.key, payload, a);
      await call('POST', `/api/v1/cases/${encodeURIComponent(id)}/approvals`, body);
      flash(`Your ${decision === 'approve' ? 'approval' : 'rejection'} of version ${payload.version} is recorded.`, 'ok');
      reason.value = '';
      await refresh();
    } catch (e) {
      flash(e.message);
    } finally {
      update(cur);
    }
  };
  approve.addEventListener('click', () => decide('approve'));
  reject.addEventListener('click', () => decide('reject'));

  const update = (r) => {
    cur = r;
    const c = r.case;
    const mine = (r.approvals || []).find((a) => a.commissioner === (session && session.name) && a.version === c.version);
    const open = c.state === 'requested' || (c.flags && c.flags.emergency && !c.flags.reviewed && !c.flags.review_missed);
    approve.disabled = reject.disabled = !open;
    state.textContent = mine ? `You ${mine.decision === 'approve' ? 'approved' : 'rejected'} version ${c.version}.`
      : open ? '' : `No decision is asked while the case is ${c.state}.`;
    if (c.requester === (session && session.name)) state.textContent = 'You requested this case: you cannot decide on it.';
    let text = '';
    try {
      text = typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload);
    } catch (e) { /* no payload */ }
    if (text && text !== shown) {
      shown = text;
      try {
        const p = JSON.parse(text);
        put(payloadBox, summary(p));
        raw.textContent = JSON.stringify(p, null, 2);
      } catch (e) {
        put(payloadBox, h('p.muted', 'no payload yet'));
      }
    }
  };
  return { el, update };
}
