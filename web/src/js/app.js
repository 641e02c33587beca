// Keyway console: a hash router over a handful of views, the REST API v1 as the
// only back end.
import { h, clear, announce, errorBox } from './dom.js';
import { api, setUnauthorizedHandler } from './api.js';
import { getSession, clearSession, isAdmin } from './session.js';
import { loginView } from './views/login.js';
import { dashboardView } from './views/dashboard.js';
import { devicesView } from './views/devices.js';
import { usersView } from './views/users.js';
import { tokensView } from './views/tokens.js';
import { addDeviceView } from './views/add-device.js';
import { auditView } from './views/audit.js';
import { sitesView } from './views/sites.js';
import { policiesView } from './views/policies.js';
import { accessView } from './views/access.js';

const routes = {
	'': { view: dashboardView, title: 'Dashboard', name: 'dashboard' },
	devices: { view: devicesView, title: 'Devices', name: 'devices' },
	users: { view: usersView, title: 'Users', name: 'users', admin: true },
	tokens: { view: tokensView, title: 'Enrollment tokens', name: 'tokens', admin: true },
	'add-device': { view: addDeviceView, title: 'Add a phone or device', name: 'add-device' },
	audit: { view: auditView, title: 'Audit log', name: 'audit', admin: true },
	sites: { view: sitesView, title: 'Sites and gateways', name: 'sites', admin: true },
	policies: { view: policiesView, title: 'Access policies', name: 'policies', admin: true },
	access: { view: accessView, title: 'Effective access', name: 'access' },
	login: { view: loginView, title: 'Log in', name: 'login', anonymous: true },
};

function parseHash() {
	const raw = location.hash.replace(/^#\/?/, '');
	const [path, query] = raw.split('?');
	return { path: path.replace(/\/$/, ''), params: new URLSearchParams(query || '') };
}

function updateChrome(routeName) {
	const s = getSession();
	const nav = document.getElementById('nav');
	const who = document.getElementById('who');
	nav.hidden = !s;
	who.hidden = !s;
	if (s) {
		document.getElementById('who-name').textContent = `${s.username} (${s.role === 'admin' ? 'admin' : 'employee'})`;
		for (const li of nav.querySelectorAll('[data-admin]')) li.hidden = s.role !== 'admin';
	}
	for (const a of nav.querySelectorAll('a[data-route]')) {
		if (a.dataset.route === routeName) a.setAttribute('aria-current', 'page');
		else a.removeAttribute('aria-current');
	}
}

let renderSeq = 0;

async function render() {
	const seq = ++renderSeq;
	const { path, params } = parseHash();
	let route = routes[path];
	const main = document.getElementById('main');
	if (!route) route = { view: notFound, title: 'Not found', name: '' };
	if (!route.anonymous && !getSession()) {
		const next = location.hash && location.hash !== '#/login' ? location.hash : '';
		location.replace(`#/login${next ? `?next=${encodeURIComponent(next)}` : ''}`);
		return;
	}
	updateChrome(route.name);
	document.title = `${route.title} · Keyway`;
	clear(main);
	const heading = h('h1', { tabindex: '-1' }, route.title);
	main.appendChild(heading);
	const body = h('div', { class: 'view' });
	main.appendChild(body);
	// An employee opening an admin page still asks the API: the server decides, and
	// its 403 message is what the page shows.
	try {
		await route.view(body, { params, admin: isAdmin(), session: getSession(), rerender: render });
	} catch (e) {
		if (seq === renderSeq) body.prepend(errorBox(e));
	}
	if (seq === renderSeq && document.activeElement === document.body) heading.focus();
}

function notFound(body) {
	body.appendChild(h('p', {}, 'There is no such page. ', h('a', { href: '#/' }, 'Back to the dashboard.')));
}

async function logout() {
	try {
		await api('POST', '/logout', {});
	} catch (e) {
		if (e.status !== 401) announce(`Log out: ${e.message}`, 'warn');
	}
	clearSession();
	location.hash = '#/login';
}

function start() {
	setUnauthorizedHandler((err) => {
		announce(`Your session has ended: ${err.message} Please log in again.`, 'warn');
		if (!location.hash.startsWith('#/login')) location.hash = '#/login';
	});
	document.getElementById('logout').addEventListener('click', logout);
	window.addEventListener('hashchange', render);
	render();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
