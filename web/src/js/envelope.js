// The signed config envelope: {"payload": b64(JSON bytes), "signature": b64,
// "key_id": first 16 hex of SHA-256(signing public key)}.
import { b64ToBytes, bytesToHex } from './b64.js';

export function decodePayload(env) {
	if (!env || typeof env.payload !== 'string') throw new Error('The enrollment answer holds no signed config.');
	const bytes = b64ToBytes(env.payload);
	return JSON.parse(new TextDecoder().decode(bytes));
}

export async function keyIdOf(signingKeyB64) {
	const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', b64ToBytes(signingKeyB64)));
	return bytesToHex(digest).slice(0, 16);
}

// true / false when checked, null when this browser has no Ed25519.
export async function verifyEnvelope(env, signingKeyB64) {
	try {
		const key = await crypto.subtle.importKey('raw', b64ToBytes(signingKeyB64), { name: 'Ed25519' }, false, ['verify']);
		return await crypto.subtle.verify({ name: 'Ed25519' }, key, b64ToBytes(env.signature), b64ToBytes(env.payload));
	} catch (e) {
		if (e && e.name === 'NotSupportedError') return null;
		return false;
	}
}
