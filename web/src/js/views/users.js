import { h, clear, confirmAction, announce, showError, field, fmtTime } from '../dom.js';
import { api, listOf } from '../api.js';
import { loadDevices, deviceState } from './common.js';

// Everyone holding a device, with the live directory state GET /users reports when the
// server has an LDAP directory: "directory": {found, in_vpn_group, disabled, reason,
// checked_at} per user, or "directory_error" when the directory could not be asked.
export async function usersView(body, ctx) {
	const data = await api('GET', '/users');
	const users = listOf(data, 'users');
	const dirError = data && typeof data.directory_error === 'string' ? data.directory_error : null;
	const hasDirectory = !!dirError || users.some((u) => u.directory);
	// Revoked counts, and which names only hold gateways, come from the devices.
	const devices = await loadDevices();
	const byUser = new Map();
	const gatewayOnly = new Set();
	for (const d of devices) {
		if (!d.username) continue;
		if (d.role === 'gateway') { if (!byUser.has(d.username)) gatewayOnly.add(d.username); continue; }
		gatewayOnly.delete(d.username);
		const u = byUser.get(d.username) || { username: d.username, active: 0, suspended: 0, revoked: 0 };
		u[deviceState(d)] = (u[deviceState(d)] || 0) + 1;
		byUser.set(d.username, u);
	}
	for (const u of users) {
		if (gatewayOnly.has(u.username)) continue;
		byUser.set(u.username, Object.assign(byUser.get(u.username) || { revoked: 0 }, u));
	}
	const all = [...byUser.values()].sort((a, b) => a.username.localeCompare(b.username));
	const search = h('input', { type: 'search', id: 'user-search' });
	const count = h('p', { class: 'count', 'aria-live': 'polite' });
	const slot = h('div', { class: 'table-wrap' });
	const filterForm = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter users' }, field('Search users', search));
	filterForm.addEventListener('submit', (e) => e.preventDefault());
	body.append(filterForm, count);
	if (dirError)
		body.append(h('p', { class: 'error', role: 'alert', id: 'directory-error' }, `Directory state unavailable: ${dirError}`));
	else if (!hasDirectory)
		body.append(h('p', { class: 'hint' }, 'No LDAP directory is configured: there is no directory state to show.'));
	else {
		const at = users.map((u) => u.directory && u.directory.checked_at).find((t) => typeof t === 'number');
		if (at) body.append(h('p', { class: 'hint' }, `Directory state as the directory answered at ${fmtTime(at)}.`));
	}
	body.append(slot);

	const unknown = () => h('span', { class: 'sub' }, dirError ? 'unknown' : '—');
	const inGroupCell = (d) => {
		if (!d) return unknown();
		if (!d.found) return h('span', { class: 'badge revoked' }, d.reason === 'ambiguous' ? 'several entries' : 'not in directory');
		return d.in_vpn_group ? h('span', { class: 'badge active' }, 'yes') : h('span', { class: 'badge suspended' }, 'not in VPN group');
	};
	const disabledCell = (d) => {
		if (!d) return unknown();
		if (!d.found) return '—';
		if (!d.disabled) return 'no';
		const why = typeof d.reason === 'string' && d.reason.startsWith('disabled:') ? d.reason.slice(9) : d.reason;
		return [h('span', { class: 'badge revoked' }, 'disabled/locked'), why ? h('span', { class: 'sub' }, ` (${why})`) : null];
	};

	const draw = () => {
		const q = search.value.trim().toLowerCase();
		const shown = all.filter((u) => !q || u.username.toLowerCase().includes(q));
		count.textContent = `${shown.length} user${shown.length === 1 ? '' : 's'}`;
		clear(slot);
		if (!shown.length) { slot.appendChild(h('p', { class: 'empty' }, 'No users hold a device.')); return; }
		slot.appendChild(h('table', { class: 'data', id: 'users-table' },
			h('thead', {}, h('tr', {}, ['User', ...(hasDirectory ? ['In VPN group', 'Disabled / locked'] : []), 'Active', 'Suspended', 'Revoked', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, shown.map((u) => h('tr', { dataset: { user: u.username } },
				h('td', { 'data-label': 'User' }, h('a', { href: `#/devices?user=${encodeURIComponent(u.username)}` }, u.username),
					u.suspended_since ? h('span', { class: 'sub' }, ` suspended since ${fmtTime(u.suspended_since)}`) : null),
				hasDirectory ? h('td', { 'data-label': 'In VPN group', class: 'dir-group' }, inGroupCell(u.directory)) : null,
				hasDirectory ? h('td', { 'data-label': 'Disabled / locked', class: 'dir-disabled' }, disabledCell(u.directory)) : null,
				h('td', { 'data-label': 'Active' }, String(u.active || 0)),
				h('td', { 'data-label': 'Suspended' }, String(u.suspended || 0)),
				h('td', { 'data-label': 'Revoked' }, String(u.revoked || 0)),
				h('td', { 'data-label': 'Actions' }, (u.active || u.suspended)
					? h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke all devices of ${u.username}`, onclick: () => revokeAll(u) }, 'Revoke all')
					: '—'))))));
	};

	const revokeAll = async (u) => {
		const n = (u.active || 0) + (u.suspended || 0);
		if (!await confirmAction({ title: `Revoke every device of ${u.username}?`, body: `${n} device${n === 1 ? '' : 's'} lose VPN access at once and for good.`, ok: 'Revoke all' })) return;
		try {
			const r = await api('POST', `/users/${encodeURIComponent(u.username)}/revoke`, {});
			announce(`Revoked the devices of ${u.username}${r && typeof r.revoked === 'number' ? ` (${r.revoked})` : ''}.`);
			ctx.rerender();
		} catch (e) {
			showError(body, e);
		}
	};
	search.addEventListener('input', draw);
	draw();
}
