// The only back end is the REST API v1. Every error the server sends is
// {"error":{"code","message"}}; it reaches the user as that message.
import { getSession, clearSession } from './session.js';

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export async function api(method, path, body, { anonymous = false } = {}) {
	const headers = { Accept: 'application/json' };
	const s = getSession();
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && method !== 'HEAD' && s) headers['X-CSRF-Token'] = s.csrf_token;
	let res;
	try {
		res = await fetch(`/api/v1${path}`, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
			credentials: 'same-origin',
			cache: 'no-store',
		});
	} catch (e) {
		throw new ApiError(0, 'network_error', `Cannot reach the Keyway server (${e.message}).`);
	}
	if (res.status === 204 || res.status === 304) return null;
	const text = await res.text();
	let data = null;
	if (text) {
		try { data = JSON.parse(text); } catch { data = null; }
	}
	if (!res.ok) {
		const e = data && data.error ? data.error : null;
		let message = e && e.message ? e.message : `${res.status} ${res.statusText || 'error'} (no error message from the server)`;
		const ra = res.headers.get('Retry-After');
		if (res.status === 429 && ra) message += ` Try again in ${ra} s.`;
		const err = new ApiError(res.status, e && e.code ? e.code : `http_${res.status}`, message);
		if (res.status === 401 && !anonymous) {
			clearSession();
			onUnauthorized(err);
		}
		throw err;
	}
	if (data === null && text) throw new ApiError(res.status, 'bad_response', 'The server sent a reply that is not JSON.');
	return data;
}

// Lists may come bare or wrapped ({"devices":[…]}, {"items":[…]}): accept both.
export function listOf(data, ...keys) {
	if (Array.isArray(data)) return data;
	if (!data || typeof data !== 'object') return [];
	for (const k of [...keys, 'items', 'data', 'results']) if (Array.isArray(data[k])) return data[k];
	const arr = Object.values(data).find(Array.isArray);
	return arr || [];
}
