// app.js: the console's shell. It checks the session, draws the nav for
// the user's roles and routes the hash (#/page/arg) to the page modules.
// Every page renders into main#page, which carries data-page and, once
// the page's data is drawn, data-ready="1" (README.md: the DOM contract).

import { $, h, badge, clearFlash, flash, refreshTimes, put } from './dom.js';
import { call, get, setSession, session, ApiError } from './api.js';
import * as overview from './overview.js';
import * as suspects from './suspects.js';
import * as cases from './cases.js';
import * as sharing from './sharing.js';
import * as incidents from './incidents.js';
import * as audit from './audit.js';

const readers = ['analyst', 'commissioner', 'operator', 'auditor', 'admin'];

/** pages: the nav entries, the roles that may use each (console/api's route roles) and their renderers. */
const pages = [
  { name: 'overview', label: 'Overview', roles: readers, render: overview.render },
  { name: 'suspects', label: 'Suspects', roles: readers, render: (ctx, arg) => (arg ? suspects.renderDetail(ctx, arg) : suspects.renderList(ctx)) },
  { name: 'cases', label: 'Cases', roles: readers, render: (ctx, arg) => (arg ? cases.renderDetail(ctx, arg) : cases.renderList(ctx)) },
  { name: 'sharing', label: 'Sharing', roles: readers, render: sharing.render },
  { name: 'incidents', label: 'Incidents', roles: [...readers, 'reporting-operator'], render: incidents.render },
  { name: 'audit', label: 'Audit', roles: ['auditor', 'admin'], render: audit.render },
];

const allowed = () => pages.filter((p) => session && p.roles.some((r) => session.roles.includes(r)));

let generation = 0;
let leaving = [];

/** context returns the handle a page renders with. */
function context(main, gen) {
  return {
    main,
    alive: () => gen === generation,
    ready() {
      if (gen === generation) main.dataset.ready = '1';
    },
    loading() {
      if (gen === generation) main.removeAttribute('data-ready');
    },
    onLeave(fn) {
      leaving.push(fn);
    },
  };
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '').split('?')[0];
  const i = raw.indexOf('/');
  const name = i < 0 ? raw : raw.slice(0, i);
  let arg = i < 0 ? '' : raw.slice(i + 1);
  try {
    arg = decodeURIComponent(arg);
  } catch (e) { /* keep it as written */ }
  return { name, arg };
}

async function route() {
  const gen = ++generation;
  for (const fn of leaving.splice(0)) {
    try { fn(); } catch (e) { /* a page's cleanup failing does not stop the next */ }
  }
  clearFlash();
  const main = $('#page');
  const { name, arg } = parseHash();
  if (!session && name !== 'login') {
    await loadSession();
    if (gen !== generation) return;
  }
  if (!session || name === 'login') {
    if (session && name === 'login') {
      location.hash = home();
      return;
    }
    return renderLogin(main, gen);
  }
  const page = allowed().find((p) => p.name === name);
  if (!page) {
    location.replace(home());
    return;
  }
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.nav === name);
  main.removeAttribute('data-ready');
  main.dataset.page = arg ? name.replace(/s$/, '') : name;
  put(main, h('div.loading', 'Loading…'));
  document.title = page.label + ' · acd';
  const ctx = context(main, gen);
  try {
    await page.render(ctx, arg);
  } catch (e) {
    if (gen !== generation) return;
    if (!(e instanceof ApiError && e.status === 401)) {
      flash(e.message || String(e));
      if (main.querySelector('.loading')) put(main, h('div.empty', h('div.empty-title', 'This page could not be loaded'), h('div.empty-text', e.message || String(e))));
    }
  }
  ctx.ready();
}

function home() {
  const first = allowed()[0];
  return first ? '#/' + first.name : '#/login';
}

async function loadSession() {
  try {
    setSession(await get('/console/session', { noRedirect: true }));
  } catch (e) {
    setSession(null);
  }
  drawChrome();
}

function drawChrome() {
  document.body.dataset.auth = session ? '1' : '0';
  const nav = $('#nav');
  const who = $('#whoami');
  if (!session) {
    put(nav);
    put(who);
    return;
  }
  put(nav, ...allowed().map((p) => h('a', { href: '#/' + p.name, dataset: { nav: p.name } }, h('span.nav-icon', { class: 'nav-icon icon-' + p.name }), p.label)));
  put(who, h('div.who-name', session.name), h('div.who-roles', session.roles.map((r) => badge(r, 'role'))));
  if (allowed().length === 0) {
    nav.append(h('p.muted.nav-none', 'No console pages for these roles (partners exchange over TAXII).'));
  }
}

function renderLogin(main, gen) {
  document.title = 'Log in · acd';
  main.dataset.page = 'login';
  main.removeAttribute('data-ready');
  const err = h('div#login-error', { role: 'alert', hidden: true });
  const form = h('form#login', { autocomplete: 'on' },
    h('h1', 'acd console'),
    h('p.muted', 'Log in with your acd user (acd user add).'),
    h('label.field', h('span.field-label', 'User name'), h('input', { name: 'name', autocomplete: 'username', required: true, autofocus: true })),
    h('label.field', h('span.field-label', 'Password'), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    err,
    h('button.btn.btn-primary', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    try {
      const info = await call('POST', '/console/login', { name: form.elements.name.value, password: form.elements.password.value }, { noRedirect: true });
      setSession(info);
      drawChrome();
      const back = sessionStorage.getItem('acd.after-login');
      sessionStorage.removeItem('acd.after-login');
      location.hash = back && back !== '#/login' ? back : home();
    } catch (e) {
      err.textContent = e.status === 401 ? 'Invalid user name or password.' : e.message;
      err.hidden = false;
      form.elements.password.value = '';
      form.elements.password.focus();
    } finally {
      btn.disabled = false;
    }
  });
  put(main, h('div.login-wrap', form));
  if (gen === generation) main.dataset.ready = '1';
}

async function logout() {
  try {
    await call('POST', '/console/logout', undefined, { noRedirect: true });
  } catch (e) { /* the session is gone either way */ }
  setSession(null);
  drawChrome();
  location.hash = '#/login';
}

$('#logout').addEventListener('click', logout);
window.addEventListener('hashchange', route);
setInterval(() => refreshTimes(), 10000);
loadSession().then(() => {
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    location.replace(session ? home() : '#/login'); // hashchange routes
    return;
  }
  route();
});
