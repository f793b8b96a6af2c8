// api.js: calls to /api/v1 and /console with the session cookie. The
// CSRF token (from the login answer or GET /console/session) is kept in
// memory only and sent as X-CSRF-Token on unsafe requests; a 401 sends
// the browser to #/login.

/** session is the logged-in user: {name, roles, csrf_token, expires}, or null. */
export let session = null;

/** ApiError is a failed call: status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** setSession replaces the session (null: logged out). */
export function setSession(s) {
  session = s;
}

/** hasRole says whether the user holds one of the roles. */
export function hasRole(...roles) {
  return !!session && roles.some((r) => session.roles.includes(r));
}

const unsafe = (m) => !['GET', 'HEAD'].includes(m);

/**
 * call sends a request and returns the decoded JSON answer (null for 204);
 * opts.raw returns the Response instead; opts.background marks a page's
 * own refresh (X-Acd-Background: 1), which the server does not count as
 * the user's activity (an open tab must not outlive the idle timeout).
 * Non-2xx answers throw ApiError.
 */
export async function call(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (opts.background) headers['X-Acd-Background'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (unsafe(method) && session) headers['X-CSRF-Token'] = session.csrf_token;
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'the server cannot be reached (' + e.message + ')');
  }
  if (!resp.ok) {
    let msg = resp.status + ' ' + resp.statusText;
    try {
      const j = await resp.json();
      if (j && j.error) msg = j.error;
    } catch (e) { /* not JSON */ }
    if (resp.status === 401 && !opts.noRedirect) {
      session = null;
      if (!location.hash.startsWith('#/login')) {
        sessionStorage.setItem('acd.after-login', location.hash);
        location.hash = '#/login';
      }
    }
    throw new ApiError(resp.status, msg);
  }
  if (opts.raw) return resp;
  if (resp.status === 204) return null;
  return resp.json();
}

/** get is call('GET', ...). */
export const get = (path, opts) => call('GET', path, undefined, opts);

/** post is call('POST', ...). */
export const post = (path, body, opts) => call('POST', path, body === undefined ? {} : body, opts);

/** query builds "?a=1&b=2" from the non-empty values of obj. */
export function query(obj) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}
