import { h, clear, fmtTime, showError, field } from '../dom.js';
import { api, listOf } from '../api.js';

const PAGE = 50;
const SCAN_MAX = 5000;

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

	// One page: PAGE matching rows, newest first, older than the cursor. Without filters one
	// request does it; with filters the page reads on (200 rows a request, at most
	// SCAN_MAX rows) until it has PAGE matches, so paging stays right even when the
	// server does not filter by itself.
	const load = async () => {
		clear(slot);
		const a = actor.value.trim().toLowerCase();
		const ac = action.value.trim().toLowerCase();
		const filtering = !!(a || ac);
		const match = (r) => (!a || String(r.actor || '').toLowerCase().includes(a)) && (!ac || String(r.action || '').toLowerCase().includes(ac));
		const shown = [];
		let before = cursor, more = true, scanned = 0, nextCursor = null;
		try {
			while (shown.length < PAGE && more && scanned < SCAN_MAX) {
				const q = new URLSearchParams({ limit: String(filtering ? 200 : PAGE) });
				if (before !== null) q.set('before', String(before));
				if (a) q.set('actor', actor.value.trim());
				if (ac) q.set('action', action.value.trim());
				const data = await api('GET', `/audit?${q}`);
				const rows = listOf(data, 'audit', 'rows', 'entries');
				scanned += rows.length;
				for (const r of rows) if (r.action && !known.has(r.action)) { known.add(r.action); actions.appendChild(h('option', { value: r.action })); }
				const hasCursor = data && typeof data === 'object' && 'next_before' in data;
				more = hasCursor ? data.next_before !== null && rows.length > 0 : rows.length >= Number(q.get('limit'));
				let i = 0;
				for (; i < rows.length && shown.length < PAGE; i++) if (match(rows[i])) shown.push(rows[i]);
				if (shown.length === PAGE) {
					// Full: the next page starts after the last row shown, unless nothing is left.
					nextCursor = i < rows.length || more ? shown[shown.length - 1].id : null;
					break;
				}
				before = hasCursor && data.next_before !== null ? data.next_before : rows.length ? rows[rows.length - 1].id : before;
				nextCursor = more ? before : null;
			}
		} catch (e) {
			showError(slot, e);
			prev.disabled = next.disabled = true;
			if (e.status === 403) { form.remove(); pager.remove(); }
			return;
		}
		pageInfo.textContent = `Page ${stack.length + 1} · ${shown.length} row${shown.length === 1 ? '' : 's'}` +
			(filtering ? ` matching (${scanned} read)` : '');
		prev.disabled = stack.length === 0;
		next.disabled = nextCursor === null || nextCursor === undefined;
		next.dataset.before = next.disabled ? '' : String(nextCursor);
		if (!shown.length) { slot.appendChild(h('p', { class: 'empty' }, 'No audit rows match.')); return; }
		slot.appendChild(h('table', { class: 'data', id: 'audit-table' },
			h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Action', 'Object', 'Outcome', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, shown.map((r) => h('tr', { dataset: { id: String(r.id), action: r.action || '' } },
				h('td', { 'data-label': 'Time' }, fmtTime(r.time ?? r.at ?? r.created_at)),
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
