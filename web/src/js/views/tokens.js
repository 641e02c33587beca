import { h, clear, fmtTime, announce, showError, field, copyText, badge } from '../dom.js';
import { api } from '../api.js';
import { onSubmit, fetchList, deleteButton } from './common.js';
import { serverInfo, shq } from './info.js';

function tokenState(t) {
	if (t.state) return t.state;
	if (t.revoked_at) return 'revoked';
	if (t.expires_at && t.expires_at * 1000 < Date.now()) return 'expired';
	if (t.uses_left === 0) return 'used';
	return 'active';
}

export async function tokensView(body, ctx) {
	const username = h('input', { id: 'tok-user', required: true, autocapitalize: 'none', spellcheck: 'false' });
	const role = h('select', { id: 'tok-role' }, h('option', { value: 'device' }, 'device (laptop, phone)'), h('option', { value: 'gateway' }, 'gateway'));
	const expiry = h('select', { id: 'tok-expiry' },
		h('option', { value: '3600' }, '1 hour'), h('option', { value: '86400', selected: true }, '1 day'),
		h('option', { value: '604800' }, '7 days'), h('option', { value: '2592000' }, '30 days'));
	const site = h('input', { id: 'tok-site', autocapitalize: 'none', spellcheck: 'false', placeholder: 'default' });
	const uses = h('input', { id: 'tok-uses', type: 'number', min: '1', max: '1000', value: '1', required: true, inputmode: 'numeric' });
	const submit = h('button', { type: 'submit', class: 'primary' }, 'Create token');
	const created = h('div', { id: 'token-created' });
	const form = h('form', { class: 'card', id: 'token-form', 'aria-labelledby': 'tok-h' },
		h('h2', { id: 'tok-h' }, 'New enrollment token'),
		h('div', { class: 'grid' },
			field('User name', username, 'The directory user the device will belong to.'),
			field('Role', role),
			field('Expires after', expiry),
			field('Uses', uses, 'How many devices may enroll with it.'),
			field('Site (gateways)', site, 'The site a gateway enrolled with this token serves; empty: default.')),
		h('div', { class: 'actions' }, submit));
	const listSlot = h('section', { class: 'card', 'aria-labelledby': 'tok-list-h' });
	body.append(form, created, listSlot);

	onSubmit(form, submit, async () => {
		const n = Number(uses.value);
		const b = { username: username.value.trim(), role: role.value, expires_in: Number(expiry.value), uses: n };
		if (role.value === 'gateway' && site.value.trim()) b.site = site.value.trim();
		const r = await api('POST', '/enrollment-tokens', b);
		await showCreated(created, r, role.value);
		announce('Enrollment token created. It is shown only once.');
		await drawList();
	});

	const drawList = async () => {
		clear(listSlot);
		listSlot.appendChild(h('h2', { id: 'tok-list-h' }, 'Tokens'));
		const tokens = await fetchList(listSlot, '/enrollment-tokens', 'tokens', 'enrollment_tokens');
		if (!tokens) return;
		if (!tokens.length) { listSlot.appendChild(h('p', { class: 'empty' }, 'No enrollment tokens.')); return; }
		listSlot.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'tokens-table' },
			h('thead', {}, h('tr', {}, ['ID', 'User', 'Role', 'State', 'Uses left', 'Created', 'Expires', 'By', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, tokens.map((t) => h('tr', { dataset: { id: String(t.id), state: tokenState(t) } },
				h('td', { 'data-label': 'ID' }, String(t.id)),
				h('td', { 'data-label': 'User' }, t.username || '—'),
				h('td', { 'data-label': 'Role' }, t.role === 'gateway' ? `gateway (site ${t.site || 'default'})` : t.role || 'device'),
				h('td', { 'data-label': 'State' }, badge(tokenState(t))),
				h('td', { 'data-label': 'Uses left' }, `${t.uses_left ?? t.remaining_uses ?? t.uses ?? '—'}${t.uses_total ? ` of ${t.uses_total}` : ''}`),
				h('td', { 'data-label': 'Created' }, fmtTime(t.created_at)),
				h('td', { 'data-label': 'Expires' }, fmtTime(t.expires_at)),
				h('td', { 'data-label': 'By' }, t.created_by || '—'),
				h('td', { 'data-label': 'Actions' }, tokenState(t) !== 'active' ? '—' : deleteButton({
					label: `Revoke token ${t.id}`, title: `Revoke token ${t.id}?`, ok: 'Revoke',
					body: 'Nobody can enroll with it any more. Devices already enrolled keep working.',
					path: `/enrollment-tokens/${encodeURIComponent(t.id)}`, done: `Token ${t.id} revoked.`, slot: listSlot, redraw: drawList,
				}))))))));
	};
	await drawList();
	username.focus();
}

async function showCreated(slot, r, role) {
	clear(slot);
	let info = null;
	try { info = await serverInfo(); } catch (e) { showError(slot, e); }
	const server = location.origin;
	const cmd = ['keyway-agent', 'enroll', '--server', shq(server), '--pin', shq(info && info.signing_key ? info.signing_key : 'SIGNING_PUBLIC_KEY'), '--token', shq(r.token)].join(' ');
	const pre = h('pre', { class: 'command', id: 'enroll-command', tabindex: '0', 'aria-label': 'Enroll command' }, cmd);
	const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy command');
	copy.addEventListener('click', () => copyText(cmd, copy));
	slot.appendChild(h('section', { class: 'card once', role: 'region', 'aria-labelledby': 'once-h' },
		h('h2', { id: 'once-h' }, 'Token created — shown only this once'),
		h('p', {}, `Run this on the ${role === 'gateway' ? 'gateway' : 'device'} to enroll it (expires ${fmtTime(r.expires_at)}):`),
		pre,
		h('div', { class: 'actions' }, copy),
		h('p', { class: 'hint' }, `--pin is the controller's full signing public key (key id ${info && info.key_id ? info.key_id : '?'}, for display only): the agent only accepts configs and suspensions signed with that key.`),
		h('details', {}, h('summary', {}, 'The token alone'), h('code', { id: 'token-secret', class: 'key' }, r.token))));
	pre.focus();
}
