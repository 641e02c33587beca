// Pieces shared by several views.
import { api, listOf } from '../api.js';
import { h, confirmAction, announce, showError } from '../dom.js';
import { getSession, isAdmin } from '../session.js';

// Admins see every device; an employee asks for their own (the server enforces it).
export async function loadDevices(filterUser) {
	const s = getSession();
	let q = '';
	if (!isAdmin()) q = `?username=${encodeURIComponent(s.username)}`;
	else if (filterUser) q = `?username=${encodeURIComponent(filterUser)}`;
	return listOf(await api('GET', `/devices${q}`), 'devices');
}

export function deviceState(d) {
	if (d.state) return d.state;
	if (d.revoked_at) return 'revoked';
	return 'active';
}

export function deviceName(d) {
	return d.hostname || `device ${d.id}`;
}

export function shortKey(k) {
	return k ? `${k.slice(0, 10)}…` : '—';
}

// The LDAP status as one normalised object, whatever field names the server uses.
export function normaliseLdapStatus(st) {
	if (!st || typeof st !== 'object') return null;
	const last = st.last_run && typeof st.last_run === 'object' ? st.last_run : {};
	const pick = (o, ...ks) => { for (const k of ks) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return undefined; };
	let duration = pick(last, 'duration', 'duration_s', 'duration_seconds');
	const ms = pick(last, 'duration_ms');
	if (duration === undefined && ms !== undefined) duration = ms / 1000;
	const counts = {};
	const src = last.counts && typeof last.counts === 'object' ? last.counts : last;
	const extra = {};
	for (const k of ['runs', 'failures', 'held']) if (typeof st[k] === 'number') extra[k] = st[k];
	for (const k of ['checked', 'suspended', 'restored', 'revoked', 'errors']) if (typeof src[k] === 'number') counts[k] = src[k];
	let pending = pick(st, 'pending_confirmation', 'pending', 'mass_change', 'pending_mass_change');
	if (pending === false || pending === null || typeof pending === 'number') pending = undefined;
	return {
		enabled: st.enabled !== false && st.configured !== false,
		extra,
		errorAt: pick(st, 'last_error_at'),
		time: pick(last, 'time', 'finished_at', 'started_at', 'at', 'last_run_at'),
		duration,
		outcome: pick(last, 'outcome', 'result', 'status'),
		counts,
		error: pick(st, 'last_error', 'error') ?? pick(last, 'error', 'last_error'),
		pending,
		raw: st,
	};
}

// Runs save() when the form is submitted, its submit button disabled meanwhile; an error is shown in the form.
export function onSubmit(form, submit, save) {
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		submit.disabled = true;
		try {
			await save();
		} catch (e) {
			showError(form, e);
		} finally {
			submit.disabled = false;
		}
	});
}

// The array GET path answers (under one of keys), or null once the error is shown in slot.
export async function fetchList(slot, path, ...keys) {
	try {
		return listOf(await api('GET', path), ...keys);
	} catch (e) {
		showError(slot, e);
		return null;
	}
}

// A small danger button labelled ok that asks first (title, body), then DELETEs path, announces done and
// awaits redraw(); an error is shown in slot.
export function deleteButton({ label, title, body, ok = 'Delete', path, done, slot, redraw }) {
	return h('button', {
		type: 'button', class: 'small danger', 'aria-label': label,
		onclick: async () => {
			if (!await confirmAction({ title, body, ok })) return;
			try {
				await api('DELETE', path);
				announce(done);
				await redraw();
			} catch (e) { showError(slot, e); }
		},
	}, ok);
}

// A create-or-edit card form (id) for a noun ('site') holding fields in a grid, with its heading (id
// prefix-form-h), submit button (prefix-submit) and "Cancel edit" button; mode(null) shows it as new,
// mode(name) as editing that item.
export function editForm(id, prefix, noun, ...fields) {
	const title = h('h2', { id: `${prefix}-form-h` }, `New ${noun}`);
	const submit = h('button', { type: 'submit', class: 'primary', id: `${prefix}-submit` }, `Create ${noun}`);
	const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel edit');
	const form = h('form', { class: 'card', id, 'aria-labelledby': `${prefix}-form-h` }, title,
		h('div', { class: 'grid' }, ...fields),
		h('div', { class: 'actions' }, submit, cancel));
	const mode = (editName) => {
		title.textContent = editName === null ? `New ${noun}` : `Edit ${noun} ${editName}`;
		submit.textContent = editName === null ? `Create ${noun}` : `Save ${noun}`;
		cancel.hidden = editName === null;
	};
	return { form, submit, cancel, mode };
}
