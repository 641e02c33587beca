// Small DOM helpers. Every piece of server data goes in through text nodes or
// attributes, never through innerHTML, so nothing the API returns can run.

export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'class') el.className = v;
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (v === true) el.setAttribute(k, '');
		else el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === undefined || c === null || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

// Times come from the API as unix seconds (or ISO strings); show them in UTC so
// that what an admin reads matches the audit log and the server's logs.
export function fmtTime(t) {
	if (t === undefined || t === null || t === '' || t === 0) return '—';
	const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
	if (isNaN(d.getTime())) return String(t);
	return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function fmtDuration(s) {
	if (s === undefined || s === null) return '—';
	if (s < 1) return `${Math.round(s * 1000)} ms`;
	if (s < 120) return `${Math.round(s * 10) / 10} s`;
	if (s < 7200) return `${Math.round(s / 60)} min`;
	if (s < 172800) return `${Math.round(s / 3600)} h`;
	return `${Math.round(s / 86400)} days`;
}

let statusTimer = null;

// One live region for the whole page: screen readers announce it, and tests read it.
export function announce(text, kind = 'ok') {
	const st = document.getElementById('status');
	clear(st);
	st.className = `status ${kind}`;
	if (text) st.appendChild(h('p', {}, text));
	clearTimeout(statusTimer);
	if (kind === 'ok' && text) statusTimer = setTimeout(() => clear(st), 8000);
}

// An error box inside a view, showing the API's own message and code.
export function errorBox(err) {
	const msg = err && err.message ? err.message : String(err);
	const code = err && err.code ? err.code : null;
	const status = err && err.status ? err.status : null;
	return h('div', { class: 'error', role: 'alert' },
		h('strong', {}, status ? `Error ${status}` : 'Error'),
		': ', msg,
		code ? h('span', { class: 'code' }, ` (${code})`) : null);
}

export function showError(container, err) {
	const old = container.querySelector(':scope > .error');
	if (old) old.remove();
	const box = errorBox(err);
	container.prepend(box);
	return box;
}

// A modal confirmation on <dialog>: focus stays inside it, Escape cancels.
export function confirmAction({ title, body, ok = 'Confirm', danger = true }) {
	const dlg = document.getElementById('confirm');
	document.getElementById('confirm-title').textContent = title;
	const b = clear(document.getElementById('confirm-body'));
	if (body instanceof Node) b.appendChild(body);
	else b.appendChild(h('p', {}, body));
	const okBtn = document.getElementById('confirm-ok');
	okBtn.textContent = ok;
	okBtn.className = danger ? 'danger' : 'primary';
	dlg.returnValue = '';
	return new Promise((resolve) => {
		dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
		dlg.showModal();
		dlg.querySelector('button[value=cancel]').focus();
	});
}

export function field(label, input, hint) {
	const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
	input.id = id;
	const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
	if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
	return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

export function badge(state) {
	return h('span', { class: `badge ${state}` }, state);
}

export async function copyText(text, button) {
	try {
		await navigator.clipboard.writeText(text);
		const old = button.textContent;
		button.textContent = 'Copied';
		setTimeout(() => { button.textContent = old; }, 1500);
	} catch {
		announce('Copy failed: select the text and copy it by hand.', 'warn');
	}
}
