import { h, clear, fmtTime, confirmAction, announce, showError, field, badge } from '../dom.js';
import { api } from '../api.js';
import { loadDevices, deviceState, deviceName } from './common.js';

export async function devicesView(body, ctx) {
	const { params, admin } = ctx;
	const search = h('input', { type: 'search', id: 'dev-search', placeholder: 'host name, address, key…', value: params.get('q') || '' });
	const user = h('input', { id: 'dev-user', value: params.get('user') || '', autocapitalize: 'none', spellcheck: 'false' });
	const role = h('select', { id: 'dev-role' },
		h('option', { value: '' }, 'any'), h('option', { value: 'device' }, 'device'), h('option', { value: 'gateway' }, 'gateway'));
	const state = h('select', { id: 'dev-state' },
		h('option', { value: '' }, 'any'), h('option', { value: 'active' }, 'active'),
		h('option', { value: 'suspended' }, 'suspended'), h('option', { value: 'revoked' }, 'revoked'));
	role.value = params.get('role') || '';
	state.value = params.get('state') || '';
	const filters = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter devices' },
		field('Search', search),
		admin ? field('User', user) : null,
		field('Role', role),
		field('State', state));
	filters.addEventListener('submit', (e) => e.preventDefault());
	const count = h('p', { class: 'count', 'aria-live': 'polite', id: 'dev-count' });
	const tableSlot = h('div', { class: 'table-wrap' });
	body.append(filters, count, tableSlot);
	if (!admin) body.prepend(h('p', {}, 'Your devices. Revoke one you have lost: it loses VPN access at once.'));

	let devices = await loadDevices();

	const draw = () => {
		const q = search.value.trim().toLowerCase();
		const u = user.value.trim().toLowerCase();
		const shown = devices.filter((d) =>
			(!q || [d.hostname, d.address, d.public_key, d.username, String(d.id)].some((x) => x && String(x).toLowerCase().includes(q))) &&
			(!u || (d.username || '').toLowerCase() === u) &&
			(!role.value || (d.role || 'device') === role.value) &&
			(!state.value || deviceState(d) === state.value));
		count.textContent = `${shown.length} of ${devices.length} device${devices.length === 1 ? '' : 's'}`;
		clear(tableSlot);
		if (!shown.length) { tableSlot.appendChild(h('p', { class: 'empty' }, 'No devices match.')); return; }
		tableSlot.appendChild(h('table', { class: 'data', id: 'devices-table' },
			h('caption', { class: 'sr-only' }, 'Devices'),
			h('thead', {}, h('tr', {},
				['Device', 'User', 'Role', 'State', 'Address', 'Public key', 'Created', 'Revoked', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, shown.map((d) => row(d)))));
	};

	const act = async (d, verb) => {
		const name = deviceName(d);
		const texts = {
			revoke: [`Revoke ${name}?`, `${name} (${d.address || 'no address'}) of ${d.username || 'nobody'} loses VPN access at once and for good. It would have to enroll again.`, 'Revoke'],
			suspend: [`Suspend ${name}?`, `${name} leaves every gateway now. It can be restored later with the same key and address.`, 'Suspend'],
			restore: [`Restore ${name}?`, `${name} gets VPN access back with its key and address.`, 'Restore'],
		}[verb];
		if (!await confirmAction({ title: texts[0], body: texts[1], ok: texts[2], danger: verb !== 'restore' })) return;
		try {
			if (verb === 'revoke') await api('DELETE', `/devices/${encodeURIComponent(d.id)}`);
			else await api('POST', `/devices/${encodeURIComponent(d.id)}/${verb}`, {});
			announce(`${name}: ${verb === 'revoke' ? 'revoked' : verb === 'suspend' ? 'suspended' : 'restored'}.`);
			devices = await loadDevices();
			draw();
		} catch (e) {
			showError(body, e);
		}
	};

	const row = (d) => {
		const st = deviceState(d);
		const actions = [];
		if (st !== 'revoked') {
			if (admin && st === 'active') actions.push(h('button', { type: 'button', class: 'small secondary', onclick: () => act(d, 'suspend'), 'aria-label': `Suspend ${deviceName(d)}` }, 'Suspend'));
			if (admin && st === 'suspended') actions.push(h('button', { type: 'button', class: 'small secondary', onclick: () => act(d, 'restore'), 'aria-label': `Restore ${deviceName(d)}` }, 'Restore'));
			actions.push(h('button', { type: 'button', class: 'small danger', onclick: () => act(d, 'revoke'), 'aria-label': `Revoke ${deviceName(d)}` }, 'Revoke'));
		}
		return h('tr', { dataset: { id: String(d.id), state: st } },
			h('td', { 'data-label': 'Device' }, h('strong', {}, deviceName(d)), h('span', { class: 'sub' }, ` #${d.id}`)),
			h('td', { 'data-label': 'User' }, d.username || '—'),
			h('td', { 'data-label': 'Role' }, d.role || 'device'),
			h('td', { 'data-label': 'State' }, badge(st), st !== 'active' && (d.state_reason || d.suspend_reason) ? h('span', { class: 'sub' }, ` ${d.state_reason || d.suspend_reason}`) : null),
			h('td', { 'data-label': 'Address' }, h('code', {}, d.address || '—')),
			h('td', { 'data-label': 'Public key' }, h('code', { class: 'key' }, d.public_key || '—')),
			h('td', { 'data-label': 'Created' }, fmtTime(d.created_at)),
			h('td', { 'data-label': 'Revoked' }, fmtTime(d.revoked_at)),
			h('td', { 'data-label': 'Actions', class: 'actions-cell' }, actions.length ? actions : '—'));
	};

	for (const el of [search, user]) el.addEventListener('input', draw);
	for (const el of [role, state]) el.addEventListener('change', draw);
	draw();
}
