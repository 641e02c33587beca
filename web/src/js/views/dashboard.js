import { h, clear, fmtTime, fmtDuration, confirmAction, announce, showError, errorBox, badge } from '../dom.js';
import { api } from '../api.js';
import { loadDevices, deviceState, normaliseLdapStatus, deviceName } from './common.js';

export async function dashboardView(body, ctx) {
	if (!ctx.admin) return employeeDashboard(body, ctx);
	const pendingSlot = h('div', { id: 'pending-slot' });
	const tiles = h('div', { class: 'tiles', id: 'tiles' });
	const ldapSlot = h('section', { class: 'card', id: 'ldap-status', 'aria-labelledby': 'ldap-h' });
	body.append(pendingSlot, tiles, ldapSlot);

	const [devs, st] = await Promise.allSettled([loadDevices(), api('GET', '/ldap/status')]);
	if (devs.status === 'fulfilled') {
		const list = devs.value;
		const count = (pred) => list.filter(pred).length;
		const tile = (label, n, href, cls) => h('a', { class: `tile ${cls || ''}`, href },
			h('span', { class: 'n' }, String(n)), h('span', { class: 'l' }, label));
		tiles.append(
			tile('Active devices', count((d) => d.role !== 'gateway' && deviceState(d) === 'active'), '#/devices?state=active', 'active'),
			tile('Suspended devices', count((d) => d.role !== 'gateway' && deviceState(d) === 'suspended'), '#/devices?state=suspended', 'suspended'),
			tile('Revoked devices', count((d) => d.role !== 'gateway' && deviceState(d) === 'revoked'), '#/devices?state=revoked', 'revoked'),
			tile('Gateways', count((d) => d.role === 'gateway' && deviceState(d) === 'active'), '#/devices?role=gateway', 'gateway'));
	} else {
		tiles.appendChild(errorBox(devs.reason));
	}
	renderLdap(ldapSlot, pendingSlot, st, ctx);
}

function renderLdap(slot, pendingSlot, st, ctx) {
	clear(slot);
	clear(pendingSlot);
	slot.appendChild(h('h2', { id: 'ldap-h' }, 'Directory sync (LDAP)'));
	if (st.status === 'rejected') {
		slot.appendChild(errorBox(st.reason));
		return;
	}
	const s = normaliseLdapStatus(st.value);
	if (!s) { slot.appendChild(h('p', {}, 'No sync status.')); return; }
	if (!s.enabled) { slot.appendChild(h('p', {}, 'This server has no [ldap] section: directory login and sync are off.')); return; }
	const dl = h('dl', { class: 'kv' });
	const row = (k, v) => dl.append(h('dt', {}, k), h('dd', {}, v));
	row('Last run', s.time ? fmtTime(s.time) : 'never');
	if (s.duration !== undefined) row('Duration', fmtDuration(s.duration));
	if (s.outcome !== undefined) row('Outcome', h('span', { class: `outcome ${String(s.outcome)}` }, String(s.outcome)));
	for (const [k, v] of Object.entries(s.counts)) row(k[0].toUpperCase() + k.slice(1), String(v));
	row('Last error', s.error ? h('span', { class: 'err-text' }, typeof s.error === 'string' ? s.error : JSON.stringify(s.error),
		s.errorAt ? ` (${fmtTime(s.errorAt)})` : '') : 'none');
	if (Object.keys(s.extra).length) row('Runs', Object.entries(s.extra).map(([k, v]) => `${v} ${k}`).join(', '));
	slot.appendChild(dl);
	const syncBtn = h('button', { type: 'button', class: 'secondary', id: 'sync-now' }, 'Sync now');
	syncBtn.addEventListener('click', async () => {
		syncBtn.disabled = true;
		try {
			const r = await api('POST', '/ldap/sync', {});
			announce(`Sync done: ${summary(r)}.`, r && r.outcome && r.outcome !== 'ok' ? 'warn' : 'ok');
			ctx.rerender();
		} catch (e) {
			showError(slot, e);
		} finally {
			syncBtn.disabled = false;
		}
	});
	slot.appendChild(h('div', { class: 'actions' }, syncBtn));
	if (s.pending) renderPending(pendingSlot, s.pending, ctx);
}

function summary(r) {
	if (!r || typeof r !== 'object') return 'ok';
	const counts = ['checked', 'suspended', 'restored', 'revoked', 'errors']
		.filter((k) => typeof r[k] === 'number').map((k) => `${r[k]} ${k}`).join(', ') || 'ok';
	return r.outcome && r.outcome !== 'ok' ? `${r.outcome}: ${counts}${r.message ? ` — ${r.message}` : ''}` : counts;
}

const PENDING_LABELS = {
	would_cut: 'Users who would lose access',
	would_suspend: 'Users who would be suspended',
	would_revoke: 'Users who would be revoked',
	limit: 'Mass-change limit (users)',
	since: 'Held since',
	reason: 'Why it was held',
};

// A held mass change: what it would do, and one button to let it through.
function renderPending(slot, p, ctx) {
	const details = h('div', { class: 'pending-details' });
	if (typeof p === 'object') {
		const dl = h('dl', { class: 'kv' });
		const lists = [];
		for (const [k, v] of Object.entries(p)) {
			const label = PENDING_LABELS[k] || k.replace(/_/g, ' ');
			if (Array.isArray(v)) lists.push([label, v]);
			else if (v && typeof v === 'object') dl.append(h('dt', {}, label), h('dd', {}, JSON.stringify(v)));
			else dl.append(h('dt', {}, label), h('dd', {}, /(_at|time|since)$/.test(k) && typeof v === 'number' ? fmtTime(v) : String(v)));
		}
		details.appendChild(dl);
		for (const [label, arr] of lists) {
			details.appendChild(h('h3', {}, `${label} (${arr.length})`));
			const shown = arr.slice(0, 50);
			details.appendChild(h('ul', { class: 'compact' }, shown.map((x) => h('li', {}, typeof x === 'object' ? Object.values(x).join(' — ') : String(x)))));
			if (arr.length > shown.length) details.appendChild(h('p', {}, `…and ${arr.length - shown.length} more.`));
		}
	}
	const btn = h('button', { type: 'button', class: 'danger', id: 'confirm-mass-change' }, 'Confirm and apply this change');
	const box = h('section', { class: 'held-change', role: 'region', 'aria-labelledby': 'held-h' },
		h('h2', { id: 'held-h' }, 'A directory change is held for your confirmation'),
		h('p', {}, 'The last LDAP sync would suspend or revoke more users than the mass-change limit allows, so it changed nothing. ' +
			'Check that the directory really says this (and not a broken filter or a renamed OU) before you apply it.'),
		details,
		h('div', { class: 'actions' }, btn));
	btn.addEventListener('click', async () => {
		const ok = await confirmAction({ title: 'Apply the held directory change?', body: 'The devices of every user listed will be suspended or revoked now.', ok: 'Apply the change' });
		if (!ok) return;
		btn.disabled = true;
		try {
			const r = await api('POST', '/ldap/sync', { confirm_mass_change: true });
			announce(`Confirmed sync: ${summary(r)}.`, r && r.outcome && r.outcome !== 'ok' ? 'warn' : 'ok');
			ctx.rerender();
		} catch (e) {
			showError(box, e);
			btn.disabled = false;
		}
	});
	slot.appendChild(box);
}

async function employeeDashboard(body, ctx) {
	const list = await loadDevices();
	const active = list.filter((d) => deviceState(d) === 'active');
	body.appendChild(h('p', {}, `Hello ${ctx.session.username}. You have ${active.length} active device${active.length === 1 ? '' : 's'}.`));
	if (list.length) {
		body.appendChild(h('ul', { class: 'compact' }, list.map((d) => h('li', {}, deviceName(d), ' ', badge(deviceState(d)), ` ${d.address || ''}`))));
	}
	body.appendChild(h('p', {},
		h('a', { href: '#/devices', class: 'button secondary' }, 'Manage my devices'), ' ',
		h('a', { href: '#/add-device', class: 'button primary' }, 'Add a phone')));
	body.appendChild(h('p', { class: 'hint' }, 'Lost a laptop or phone? Revoke it on the devices page: it loses VPN access at once.'));
}
