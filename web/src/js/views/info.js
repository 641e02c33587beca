import { api } from '../api.js';
import { keyIdOf } from '../envelope.js';

let cached = null;

// /api/v1/info: the signing key and its key id, as agents pin it.
export async function serverInfo() {
	if (cached) return cached;
	const info = await api('GET', '/info');
	const keyId = info.key_id || (info.signing_key ? await keyIdOf(info.signing_key) : null);
	cached = { ...info, key_id: keyId };
	return cached;
}

// Shell-quote one argument when it needs it, so the copied command is exact.
export function shq(s) {
	return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`;
}
