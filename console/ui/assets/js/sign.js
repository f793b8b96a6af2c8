// sign.js: a commissioner's decision on a case, signed in the browser.
// Pure functions (no DOM): the Go test runs this module under node when
// it is installed, and the browser test proves it against the server.
//
// The message is exactly what Go's cases.Message builds (cases/approval.go):
// the JCS (RFC 8785) canonical JSON of
//
//   {"approval": {"case", "commissioner", "decision", "key_id", "reason",
//                 "signed_at", "version"},
//    "payload": <the case payload, as GET /api/v1/cases/{id}/payload gives it>,
//    "purpose": "acd case approval v1"}
//
// Mapping to Go, field by field:
//   case, commissioner, decision, key_id  strings, as sent
//   reason                                a string, always present ("" when none)
//   version                               a number (Go float64(a.Version))
//   signed_at                             Go fmtTime: UTC RFC 3339 with the
//                                         fraction's trailing zeros dropped; we
//                                         sign whole seconds, "2026-03-14T08:00:00Z",
//                                         which Go parses and prints identically
//   payload                               re-canonicalized: it must already be
//                                         canonical (we refuse it otherwise, as the
//                                         CLI does), so the bytes are the server's
// JCS here: object keys sorted by UTF-16 code units (JS's default sort),
// strings and numbers as JSON.stringify writes them (ECMAScript, which RFC
// 8785 adopts), no whitespace; lone surrogates, NaN and infinities refused
// (Go's jcs refuses them too).
//
// The POSTed approval is cases.Approval's JSON: the fields above plus
// "signature", the Ed25519 signature in standard base64 (Go's []byte).

/** PURPOSE is cases.Purpose. */
export const PURPOSE = 'acd case approval v1';

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** jcs returns the RFC 8785 canonical JSON text of v. */
export function jcs(v) {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new Error('jcs: NaN and infinity have no JSON form');
      return JSON.stringify(v);
    case 'string':
      if (loneSurrogate.test(v)) throw new Error('jcs: a string holds a lone surrogate');
      return JSON.stringify(v);
    case 'object':
      if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
      return '{' + Object.keys(v).sort().map((k) => jcs(k) + ':' + jcs(v[k])).join(',') + '}';
    default:
      throw new Error('jcs: a ' + typeof v + ' has no JSON form');
  }
}

/** goTime formats a Date as the approval's signed_at (whole seconds, UTC). */
export function goTime(d) {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * checkPayload parses the payload text and checks that it is canonical and
 * names case id; it returns the parsed payload.
 */
export function checkPayload(id, text) {
  let p;
  try {
    p = JSON.parse(text);
  } catch (e) {
    throw new Error(`the payload of case ${id} is not JSON: refusing to sign it`);
  }
  if (jcs(p) !== text) throw new Error(`the payload of case ${id} is not canonical JSON: refusing to sign it`);
  if (p === null || typeof p !== 'object' || p.case !== id || !Number.isInteger(p.version) || p.version < 1) {
    throw new Error(`the payload does not name case ${id}: refusing to sign it`);
  }
  return p;
}

/** approvalMessage returns the text cases.Message signs. */
export function approvalMessage(payload, a) {
  const head = {
    case: a.case, version: a.version, commissioner: a.commissioner, key_id: a.key_id,
    decision: a.decision, reason: a.reason || '', signed_at: a.signed_at,
  };
  return jcs({ approval: head, payload, purpose: PURPOSE });
}

function b64decode(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function b64encode(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin);
}

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** pemToDER reads the one "PRIVATE KEY" block of a PEM text (acd user keygen). */
export function pemToDER(pem) {
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error('not a PEM "PRIVATE KEY" (the file acd user keygen wrote)');
  return b64decode(m[1].replace(/\s+/g, ''));
}

/**
 * importSigningKey imports a PKCS #8 Ed25519 private key and returns
 * {key, publicKey (32 bytes), keyId}: keyId is cases.KeyID, the first 8
 * bytes of the public key's SHA-256 in hex.
 */
export async function importSigningKey(der) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) throw new Error('this page has no WebCrypto (it needs a secure context: https or localhost)');
  let key;
  try {
    key = await subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
  } catch (e) {
    if (e && e.name === 'NotSupportedError') {
      throw new Error('this browser cannot sign with Ed25519 (Chromium 137+, Firefox 129+ or Safari 17+ can); use "acd case approve" instead');
    }
    throw new Error('not an Ed25519 private key in PKCS #8: ' + (e && e.message ? e.message : e));
  }
  // The key is imported extractable only to read its public half; the
  // key kept for signing is imported again, not extractable, so that no
  // later script can export the private half from it.
  const jwk = await subtle.exportKey('jwk', key);
  const publicKey = b64decode(jwk.x.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (jwk.x.length % 4)) % 4));
  if (publicKey.length !== 32) throw new Error('the key has no 32-byte Ed25519 public half');
  const signing = await subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  const sum = await subtle.digest('SHA-256', publicKey);
  return { key: signing, publicKey, keyId: hex(sum).slice(0, 16) };
}

/**
 * signApproval signs decision a (case, version, commissioner, key_id,
 * decision, reason, signed_at) over the payload and returns the body of
 * POST /api/v1/cases/{id}/approvals, and the message signed.
 */
export async function signApproval(key, payload, a) {
  const message = approvalMessage(payload, a);
  const sig = await globalThis.crypto.subtle.sign({ name: 'Ed25519' }, key, new TextEncoder().encode(message));
  const body = {
    case: a.case, version: a.version, commissioner: a.commissioner, key_id: a.key_id,
    decision: a.decision, signed_at: a.signed_at, signature: b64encode(sig),
  };
  if (a.reason) body.reason = a.reason;
  return { body, message };
}
