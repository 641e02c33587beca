// WireGuard keys made in the browser with WebCrypto X25519. The private key is
// exported only to write it into the wg-quick config shown on this page; it is
// never sent anywhere.
import { bytesToB64, b64urlToBytes } from './b64.js';

export async function wgKeyPair() {
	const kp = await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']);
	const pub = new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey));
	const jwk = await crypto.subtle.exportKey('jwk', kp.privateKey);
	const priv = b64urlToBytes(jwk.d);
	if (pub.length !== 32 || priv.length !== 32) throw new Error('X25519 key of unexpected length');
	// WireGuard stores the private key clamped (RFC 7748); clamping does not change
	// the public key, and wg(8) shows the same form.
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	const out = { publicKey: bytesToB64(pub), privateKey: bytesToB64(priv) };
	priv.fill(0);
	jwk.d = '';
	return out;
}
