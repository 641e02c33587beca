import { h, clear, fmtTime, showError, field } from '../dom.js';
import { api, listOf } from '../api.js';

const PAGE = 50;

// Newest first, paged with ?before=<next_before of the previous page>. The actor and action
// filters are exact matches done by the server (?actor=&action=), so every page is one
// request and paging stays right however rare the matches are.
export async function auditView(body, ctx) {
	const actor = h('input', { id: 'audit-actor', autocapitalize: 'none', spellcheck: 'false', value: ctx.params.get('actor') || '', list: 'audit-actors' });
	const action = h('input', { id: 'audit-action', autocapitalize: 'none', spellcheck: 'false', value: ctx.params.get('action') || '', list: 'audit-actions' });
	const actors = h('datalist', { id: 'audit-actors' });
	const actions = h('datalist', { id: 'audit-actions' });
	const apply = h('button', { type: 'submit', class: 'primary' }, 'Filter');
	const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
		field('Actor (exact)', actor), field('Action (exact)', action), actors, actions, h('div', { class: 'actions' }, apply));
	const slot = h('div', { class: 'table-wrap' });
	const prev = h('button', { type: 'button', class: 'secondary', id: 'audit-newer' }, '← Newer');
	const next = h('button', { type: 'button', class: 'secondary', id: 'audit-older' }, 'Older →');
	const pageInfo = h('span', { class: 'count', 'aria-live': 'polite' });
	const pager = h('nav', { class: 'pager', 'aria-label': 'Audit pages' }, prev, pageInfo, next);
	body.append(form, slot, pager);

	const stack = []; // the "before" cursor of each page already seen
	let cursor = null;
	const known = { actor: new Set(), action: new Set() };
	const remember = (kind, list, value) => {
		if (value && !known[kind].has(value)) { known[kind].add(value); list.appendChild(h('option', { value })); }
	};

	const load = async () => {
		clear(slot);
		const a = actor.value.trim();
		const ac = action.value.trim();
		const filtering = !!(a || ac);
		const q = new URLSearchParams({ limit: String(PAGE) });
		if (cursor !== null) q.set('before', String(cursor));
		if (a) q.set('actor', a);
		if (ac) q.set('action', ac);
		let rows, nextCursor;
		try {
			const data = await api('GET', `/audit?${q}`);
			rows = listOf(data, 'audit');
			nextCursor = data && data.next_before != null ? data.next_before : null;
		} catch (e) {
			showError(slot, e);
			prev.disabled = next.disabled = true;
			if (e.status === 403) { form.remove(); pager.remove(); }
			return;
		}
		for (const r of rows) { remember('actor', actors, r.actor); remember('action', actions, r.action); }
		pageInfo.textContent = `Page ${stack.length + 1} · ${rows.length} row${rows.length === 1 ? '' : 's'}` +
			(filtering ? ' matching' : '');
		prev.disabled = stack.length === 0;
		next.disabled = nextCursor === null;
		next.dataset.before = next.disabled ? '' : String(nextCursor);
		if (!rows.length) { slot.appendChild(h('p', { class: 'empty' }, 'No audit rows match.')); return; }
		slot.appendChild(h('table', { class: 'data', id: 'audit-table' },
			h('thead', {}, h('tr', {}, ['Time', 'Actor', 'Action', 'Object', 'Outcome', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, rows.map((r) => h('tr', { dataset: { id: String(r.id), action: r.action || '' } },
				h('td', { 'data-label': 'Time' }, fmtTime(r.at)),
				h('td', { 'data-label': 'Actor' }, r.actor || '—'),
				h('td', { 'data-label': 'Action' }, h('code', {}, r.action || '—')),
				h('td', { 'data-label': 'Object' }, r.object || '—'),
				h('td', { 'data-label': 'Outcome' }, h('span', { class: `outcome ${r.outcome || ''}` }, r.outcome || '—')),
				h('td', { 'data-label': 'Detail' }, r.detail || ''))))));
	};

	form.addEventListener('submit', (ev) => { ev.preventDefault(); stack.length = 0; cursor = null; load(); });
	next.addEventListener('click', () => { stack.push(cursor); cursor = next.dataset.before; load(); });
	prev.addEventListener('click', () => { cursor = stack.pop() ?? null; load(); });
	await load();
}
