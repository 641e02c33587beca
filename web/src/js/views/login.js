import { h, field, showError, announce } from '../dom.js';
import { api } from '../api.js';
import { setSession, getSession } from '../session.js';

export async function loginView(body, { params }) {
	if (getSession()) { location.hash = '#/'; return; }
	const user = h('input', { name: 'username', id: 'login-username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
	const pass = h('input', { name: 'password', id: 'login-password', type: 'password', autocomplete: 'current-password', required: true });
	const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
	const form = h('form', { class: 'card narrow', id: 'login-form' },
		h('p', {}, 'Log in with your company directory account.'),
		field('User name', user),
		field('Password', pass),
		h('div', { class: 'actions' }, submit));
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		submit.disabled = true;
		try {
			const r = await api('POST', '/login', { username: user.value.trim(), password: pass.value }, { anonymous: true });
			pass.value = '';
			if (!r || !r.csrf_token) throw new Error('The server did not send a CSRF token with the session.');
			setSession({ username: r.username || user.value.trim(), role: r.role, csrf_token: r.csrf_token, expires_at: r.expires_at });
			announce(`Logged in as ${user.value.trim()}.`);
			const next = params.get('next');
			location.hash = next && next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/';
		} catch (e) {
			pass.value = '';
			showError(form, e);
			pass.focus();
		} finally {
			submit.disabled = false;
		}
	});
	body.appendChild(form);
	user.focus();
}
