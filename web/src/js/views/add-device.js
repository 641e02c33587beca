import { h, clear, announce, showError, field, copyText, fmtTime } from '../dom.js';
import { api } from '../api.js';
import { wgKeyPair } from '../wgkeys.js';
import { wgQuickConfig } from '../wgconfig.js';
import { decodePayload, verifyEnvelope } from '../envelope.js';
import { qrSvg } from '../qr.js';
import { serverInfo } from './info.js';

const PROMISE = 'Your browser makes the key pair. Only the public key is sent to the Keyway server; ' +
	'the private key exists only on this page, inside the configuration and QR code below, and never reaches the server.';

export async function addDeviceView(body, ctx) {
	const { admin, session } = ctx;
	body.appendChild(h('p', { class: 'note', id: 'private-key-note' }, PROMISE));
	body.appendChild(h('p', {}, 'For a phone or a computer with the official WireGuard app instead of keyway-agent: ' +
		'scan the QR code with the app, or import the configuration file.'));

	const hostname = h('input', { id: 'add-hostname', required: true, value: 'phone', maxlength: '64', autocapitalize: 'none', spellcheck: 'false' });
	const forUser = h('input', { id: 'add-user', value: admin ? '' : session.username, autocapitalize: 'none', spellcheck: 'false' });
	const password = h('input', { id: 'add-password', type: 'password', autocomplete: 'current-password' });
	const token = h('input', { id: 'add-token', autocomplete: 'off', spellcheck: 'false' });
	const methodName = 'add-method';
	const radio = (value, label, checked) => h('label', { class: 'radio' },
		h('input', { type: 'radio', name: methodName, value, checked }), ` ${label}`);
	const methods = h('fieldset', { class: 'methods' },
		h('legend', {}, 'How to authorise this device'),
		admin ? radio('admin', 'Create a single-use token for a user (admin)', true) : radio('password', 'Confirm with my directory password', true),
		radio('token', 'I have an enrollment token', false));
	const adminFields = h('div', { class: 'method-fields', dataset: { method: 'admin' } }, field('For user', forUser, 'The directory user the phone belongs to.'));
	const pwFields = h('div', { class: 'method-fields', dataset: { method: 'password' } }, field('Your password', password, `Enrolls the device as ${session.username}.`));
	const tokFields = h('div', { class: 'method-fields', dataset: { method: 'token' }, hidden: true }, field('Enrollment token', token));
	const submit = h('button', { type: 'submit', class: 'primary' }, 'Generate keys and enroll');
	const form = h('form', { class: 'card', id: 'add-form' },
		field('Device name', hostname, 'Shown in the devices list, e.g. "alice-phone".'),
		methods, admin ? adminFields : pwFields, tokFields,
		h('div', { class: 'actions' }, submit));
	const result = h('div', { id: 'add-result' });
	body.append(form, result);

	const method = () => form.querySelector(`input[name=${methodName}]:checked`).value;
	methods.addEventListener('change', () => {
		for (const el of form.querySelectorAll('.method-fields')) el.hidden = el.dataset.method !== method();
	});

	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		submit.disabled = true;
		clear(result);
		let keys = null;
		try {
			if (!crypto.subtle) throw new Error('This page needs a secure context (HTTPS or localhost) for WebCrypto.');
			try {
				keys = await wgKeyPair();
			} catch (e) {
				throw new Error(`This browser cannot make X25519 keys (${e.message}); use a current browser or keyway-agent.`);
			}
			const req = { public_key: keys.publicKey, hostname: hostname.value.trim() };
			const m = method();
			if (m === 'admin') {
				const t = await api('POST', '/enrollment-tokens', { username: forUser.value.trim(), role: 'device', expires_in: 600, uses: 1 });
				req.token = t.token;
			} else if (m === 'token') {
				req.token = token.value.trim();
			} else {
				req.username = session.username;
				req.password = password.value;
			}
			// The credential is in the body: a 401 here is a wrong password or token, not the end of the session.
			const r = await api('POST', '/enroll', req, { anonymous: true });
			password.value = '';
			token.value = '';
			await showResult(result, r, keys, hostname.value.trim());
			announce(`Enrolled ${hostname.value.trim()} as device ${r.device_id}.`);
		} catch (e) {
			password.value = '';
			showError(form, e);
		} finally {
			if (keys) keys.privateKey = '';
			submit.disabled = false;
		}
	});
	hostname.focus();
}

async function showResult(slot, r, keys, name) {
	const payload = decodePayload(r.config);
	const conf = wgQuickConfig(payload, keys.privateKey);
	let verified = null;
	try {
		const info = await serverInfo();
		if (info.signing_key) verified = await verifyEnvelope(r.config, info.signing_key);
	} catch { verified = null; }
	const pre = h('pre', { class: 'config', id: 'wg-config', tabindex: '0', 'aria-label': 'WireGuard configuration' }, conf);
	const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy configuration');
	copy.addEventListener('click', () => copyText(conf, copy));
	const dl = h('a', { class: 'button secondary', download: `${name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'keyway'}.conf` }, 'Download .conf');
	dl.href = URL.createObjectURL(new Blob([conf], { type: 'text/plain' }));
	const forget = h('button', { type: 'button', class: 'danger' }, 'Done — forget the private key');
	const section = h('section', { class: 'card once', 'aria-labelledby': 'res-h' },
		h('h2', { id: 'res-h' }, `${name} is enrolled`),
		h('dl', { class: 'kv' },
			h('dt', {}, 'Device'), h('dd', { id: 'res-device-id' }, String(r.device_id)),
			h('dt', {}, 'Address'), h('dd', {}, r.address || (payload.interface && payload.interface.addresses || []).join(', ')),
			h('dt', {}, 'Public key (sent to the server)'), h('dd', {}, h('code', { class: 'key', id: 'res-public-key' }, keys.publicKey)),
			h('dt', {}, 'Config signature'), h('dd', { id: 'res-signature' }, verified === true ? 'verified with the controller\'s signing key' : verified === false ? 'DOES NOT VERIFY — do not use this configuration' : 'not checked (no Ed25519 in this browser)'),
			h('dt', {}, 'Signed config expires'), h('dd', {}, fmtTime(payload.expires_at))),
		(payload.peers || []).length ? null : h('p', { class: 'error', role: 'alert' },
			'No gateway is enrolled yet, so this configuration has no peer: the phone cannot reach anything until you add it again after a gateway is enrolled.'),
		h('div', { class: 'qr-wrap' }, qrSvg(conf, 'QR code of the WireGuard configuration')),
		h('p', { class: 'note' }, 'Scan it in the WireGuard app: "+" → "Scan from QR code". The private key is in this code and the text below, ' +
			'and nowhere else: it never reached the server. Close this page once the phone has it. ' +
			'The app keeps this configuration as it is: if the gateways change, remove the phone here and add it again.'),
		pre,
		h('div', { class: 'actions' }, copy, dl, forget));
	forget.addEventListener('click', () => {
		URL.revokeObjectURL(dl.href);
		clear(slot);
		announce('The private key is gone from this page.');
	});
	slot.appendChild(section);
	section.querySelector('h2').setAttribute('tabindex', '-1');
	section.querySelector('h2').focus();
}
