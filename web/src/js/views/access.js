import { h, clear, showError, field, badge } from '../dom.js';
import { api } from '../api.js';

// A user's effective access, per site, as the configs keywayd signs now decide it.
const destText = (d) => [d.cidr, d.protocol, d.ports].filter(Boolean).join(' ');

export async function accessView(body, ctx) {
	const user = h('input', { id: 'access-user', required: true, autocapitalize: 'none', spellcheck: 'false', value: ctx.params.get('user') || (ctx.admin ? '' : ctx.session.username) });
	const submit = h('button', { type: 'submit', class: 'primary' }, 'Show access');
	const form = h('form', { class: 'filters', id: 'access-form', role: 'search', 'aria-label': 'Whose access' }, field('User name', user), submit);
	const slot = h('div', { id: 'access-result', 'aria-live': 'polite' });
	body.append(form, slot);

	const show = async (name) => {
		clear(slot);
		let a;
		try {
			a = await api('GET', `/users/${encodeURIComponent(name)}/access`);
		} catch (e) {
			showError(slot, e);
			return;
		}
		slot.appendChild(h('p', {}, 'Directory groups recorded at the last sync: ', a.groups.length ? a.groups.join(', ') : 'none'));
		slot.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'access-table' },
			h('thead', {}, h('tr', {}, ['Site', 'Default', 'Policies', 'May reach', 'Routed to the site'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, a.sites.map((s) => h('tr', { dataset: { site: s.site } },
				h('td', { 'data-label': 'Site' }, s.site, s.reachable ? null : h('span', { class: 'sub' }, ' (no gateway)')),
				h('td', { 'data-label': 'Default' }, badge(s.default)),
				h('td', { 'data-label': 'Policies' }, s.policies.length ? s.policies.join(', ') : '—'),
				h('td', { 'data-label': 'May reach' }, s.default === 'allow' ? 'everything' : s.destinations.length ? s.destinations.map(destText).join('; ') : 'nothing'),
				h('td', { 'data-label': 'Routed to the site' }, s.allowed_ips.length ? s.allowed_ips.join(', ') : '—')))))));
	};
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const name = user.value.trim();
		if (name) location.hash = `#/access?user=${encodeURIComponent(name)}`;
	});
	if (user.value) await show(user.value);
	else user.focus();
}
