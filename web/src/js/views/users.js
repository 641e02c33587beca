import { h, clear, confirmAction, announce, showError, badge, field, fmtTime } from '../dom.js';
import { api, listOf } from '../api.js';
import { loadDevices, deviceState, normaliseLdapStatus } from './common.js';

const REASONS = {
	not_in_vpn_group: ['not in VPN group', 'suspended'],
	deleted: ['gone from the directory', 'revoked'],
	suspended_too_long: ['suspended too long', 'revoked'],
};

// Everyone holding a device. The directory state comes from GET /users when the
// server has it; otherwise the list is built from the devices alone.
export async function usersView(body, ctx) {
	let users = null;
	try {
		users = listOf(await api('GET', '/users'), 'users');
	} catch (e) {
		if (e.status !== 404 && e.status !== 405) throw e;
	}
	const devices = await loadDevices();
	// The last good sync checked every holder: an active device created before it means the
	// directory then had its owner in the VPN group and enabled.
	let lastOk = null;
	try {
		const st = normaliseLdapStatus(await api('GET', '/ldap/status'));
		if (st && st.enabled && st.outcome === 'ok' && typeof st.time === 'number') lastOk = st.time;
	} catch { lastOk = null; }
	const byUser = new Map();
	const gatewayOnly = new Set();
	for (const d of devices) {
		if (!d.username) continue;
		if (d.role === 'gateway') { if (!byUser.has(d.username)) gatewayOnly.add(d.username); continue; }
		gatewayOnly.delete(d.username);
		const u = byUser.get(d.username) || { username: d.username, active: 0, suspended: 0, revoked: 0, reasons: new Set() };
		u[deviceState(d)] = (u[deviceState(d)] || 0) + 1;
		if (deviceState(d) === 'active') u.newestActive = Math.max(u.newestActive || 0, d.created_at || 0);
		// Why the sync suspended or revoked a device says what the directory said of its owner.
		if (deviceState(d) !== 'active' && d.state_reason) u.reasons.add(d.state_reason);
		byUser.set(d.username, u);
	}
	if (users) {
		for (const u of users) {
			const name = u.username || u.uid || u.name;
			if (gatewayOnly.has(name)) continue;
			const merged = Object.assign(byUser.get(name) || { username: name, active: 0, suspended: 0, revoked: 0 }, u, { username: name });
			byUser.set(name, merged);
		}
	}
	const all = [...byUser.values()].sort((a, b) => a.username.localeCompare(b.username));
	const search = h('input', { type: 'search', id: 'user-search' });
	const count = h('p', { class: 'count', 'aria-live': 'polite' });
	const slot = h('div', { class: 'table-wrap' });
	const filterForm = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter users' }, field('Search users', search));
	filterForm.addEventListener('submit', (e) => e.preventDefault());
	body.append(filterForm, count, slot);
	if (!users) body.append(h('p', { class: 'hint' }, 'The server does not report directory state; users are listed from their devices.'));

	const dirState = (u) => {
		const out = [];
		const inGroup = u.in_vpn_group ?? u.vpn_group ?? u.in_group;
		if (inGroup === true) out.push(badge('in VPN group'));
		if (inGroup === false) out.push(h('span', { class: 'badge suspended' }, 'not in VPN group'));
		if (u.disabled || u.locked) out.push(h('span', { class: 'badge revoked' }, u.locked ? 'locked' : 'disabled'));
		if (u.exists === false || u.in_directory === false) out.push(h('span', { class: 'badge revoked' }, 'gone from directory'));
		if (u.directory_state || u.state) out.push(h('span', { class: 'sub' }, ` ${u.directory_state || u.state}`));
		for (const full of u.reasons || []) {
			const r = full.replace(/^ldap:/, ''); // the sync's reasons: "ldap:not_in_vpn_group", "ldap:disabled:ppolicy"…
			const known = REASONS[r] || (r.startsWith('disabled:') ? [`disabled or locked (${r.slice(9)})`, 'revoked'] : null);
			if (known) out.push(h('span', { class: `badge ${known[1]}` }, known[0]), ' ');
		}
		if (u.suspended_since) out.push(h('span', { class: 'sub' }, ` suspended since ${fmtTime(u.suspended_since)}`));
		if (u.reason || u.state_reason) out.push(h('span', { class: 'sub' }, ` (${u.reason || u.state_reason})`));
		if (!out.length && u.active && lastOk !== null && (u.newestActive || 0) <= lastOk)
			out.push(h('span', { class: 'badge active' }, 'in VPN group, enabled'), h('span', { class: 'sub' }, ` at the sync of ${fmtTime(lastOk)}`));
		else if (!out.length && u.active) out.push(h('span', { class: 'sub' }, 'not checked by a sync yet'));
		return out.length ? out : '—';
	};

	const draw = () => {
		const q = search.value.trim().toLowerCase();
		const shown = all.filter((u) => !q || u.username.toLowerCase().includes(q) || String(u.display_name || u.cn || '').toLowerCase().includes(q));
		count.textContent = `${shown.length} user${shown.length === 1 ? '' : 's'}`;
		clear(slot);
		if (!shown.length) { slot.appendChild(h('p', { class: 'empty' }, 'No users hold a device.')); return; }
		slot.appendChild(h('table', { class: 'data', id: 'users-table' },
			h('thead', {}, h('tr', {}, ['User', 'Directory', 'Active', 'Suspended', 'Revoked', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, shown.map((u) => h('tr', { dataset: { user: u.username } },
				h('td', { 'data-label': 'User' }, h('a', { href: `#/devices?user=${encodeURIComponent(u.username)}` }, u.username),
					u.display_name || u.cn ? h('span', { class: 'sub' }, ` ${u.display_name || u.cn}`) : null),
				h('td', { 'data-label': 'Directory' }, dirState(u)),
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
