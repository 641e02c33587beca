import { h, clear, fmtTime, showError, field } from '../dom.js';
import { api, listOf } from '../api.js';

const PAGE = 50;

// Newest first, paged with ?before=<id of the oldest row shown>; the server
// filters by actor and action when it can, and the page filters again.
export async function auditView(body, ctx) {
	const actor = h('input', { id: 'audit-actor', autocapitalize: 'none', spellcheck: 'false', value: ctx.params.get('actor') || '' });
	const action = h('input', { id: 'audit-action', autocapitalize: 'none', spellcheck: 'false', value: ctx.params.get('action') || '', list: 'audit-actions' });
	const actions = h('datalist', { id: 'audit-actions' });
	const apply = h('button', { type: 'submit', class: 'primary' }, 'Filter');
	const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
		field('Actor', actor), field('Action', action), actions, h('div', { class: 'actions' }, apply));
	const slot = h('div', { class: 'table-wrap' });
	const prev = h('button', { type: 'button', class: 'secondary', id: 'audit-newer' }, '← Newer');
	const next = h('button', { type: 'button', class: 'secondary', id: 'audit-older' }, 'Older →');
	const pageInfo = h('span', { class: 'count', 'aria-live': 'polite' });
	const pager = h('nav', { class: 'pager', 'aria-label': 'Audit pages' }, prev, pageInfo, next);
	body.append(form, slot, pager);

	const stack = []; // the "before" cursor of each page already seen
	let cursor = null;
	const known = new Set();

	const load = async () => {
		clear(slot);
		const q = new URLSearchParams({ limit: String(PAGE) });
		if (cursor !== null) q.set('before', String(cursor));
		if (actor.value.trim()) q.set('actor', actor.value.trim());
		if (action.value.trim()) q.set('action', action.value.trim());
		let rows, data;
		try {
			data = await api('GET', `/audit?${q}`);
			rows = listOf(data, 'audit', 'rows', 'entries');
		} catch (e) {
			showError(slot, e);
			prev.disabled = next.disabled = true;
			if (e.status === 403) { form.remove(); pager.remove(); }
			return;
		}
		// The server's cursor when it sends one (null: no older rows), else the oldest id.
		const hasCursor = data && typeof data === 'object' && 'next_before' in data;
		const full = hasCursor ? data.next_before !== null && rows.length >= PAGE : rows.length >= PAGE;
		const a = actor.value.trim().toLowerCase();
		const ac = action.value.trim().toLowerCase();
		const shown = rows.filter((r) => (!a || String(r.actor || '').toLowerCase().includes(a)) && (!ac || String(r.action || '').toLowerCase().includes(ac)));
		for (const r of rows) if (r.action && !known.has(r.action)) { known.add(r.action); actions.appendChild(h('option', { value: r.action })); }
		pageInfo.textContent = `Page ${stack.length + 1} · ${shown.length} row${shown.length === 1 ? '' : 's'}`;
		prev.disabled = stack.length === 0;
		next.disabled = !full;
		next.dataset.before = hasCursor && data.next_before !== null ? String(data.next_before)
			: rows.length ? String(rows[rows.length - 1].id) : '';
		if (!shown.length) { slot.appendChild(h('p', { class: 'empty' }, 'No audit rows match.')); return; }
		slot.appendChild(h('table', { class: 'data', id: 'audit-table' },
			h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Action', 'Object', 'Outcome', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, shown.map((r) => h('tr', { dataset: { id: String(r.id), action: r.action || '' } },
				h('td', { 'data-label': 'Time' }, fmtTime(r.time ?? r.created_at ?? r.at)),
				h('td', { 'data-label': 'Actor' }, r.actor || '—'),
				h('td', { 'data-label': 'Action' }, h('code', {}, r.action || '—')),
				h('td', { 'data-label': 'Object' }, r.object ?? r.target ?? '—'),
				h('td', { 'data-label': 'Outcome' }, h('span', { class: `outcome ${r.outcome || ''}` }, r.outcome || '—')),
				h('td', { 'data-label': 'Detail' }, detail(r)))))));
	};

	form.addEventListener('submit', (ev) => { ev.preventDefault(); stack.length = 0; cursor = null; load(); });
	next.addEventListener('click', () => { stack.push(cursor); cursor = next.dataset.before; load(); });
	prev.addEventListener('click', () => { cursor = stack.pop() ?? null; load(); });
	await load();
}

function detail(r) {
	const d = r.detail ?? r.details ?? r.reason ?? r.message;
	if (d === undefined || d === null || d === '') return '';
	return typeof d === 'object' ? JSON.stringify(d) : String(d);
}
