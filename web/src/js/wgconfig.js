// A wg-quick config for the official WireGuard apps, from the signed payload.

function clean(v) {
	// One line per value: a hostile string must not add config lines.
	return String(v).replace(/[\r\n]/g, '');
}

export function wgQuickConfig(payload, privateKey) {
	const iface = payload.interface || {};
	const lines = ['[Interface]', `PrivateKey = ${clean(privateKey)}`];
	const addrs = iface.addresses || (iface.address ? [iface.address] : []);
	if (addrs.length) lines.push(`Address = ${addrs.map(clean).join(', ')}`);
	if (iface.dns && iface.dns.length) lines.push(`DNS = ${[].concat(iface.dns).map(clean).join(', ')}`);
	if (iface.mtu) lines.push(`MTU = ${Number(iface.mtu)}`);
	for (const p of payload.peers || []) {
		lines.push('', '[Peer]', `PublicKey = ${clean(p.public_key)}`);
		if (p.allowed_ips && p.allowed_ips.length) lines.push(`AllowedIPs = ${p.allowed_ips.map(clean).join(', ')}`);
		if (p.endpoint) lines.push(`Endpoint = ${clean(p.endpoint)}`);
		if (p.persistent_keepalive) lines.push(`PersistentKeepalive = ${Number(p.persistent_keepalive)}`);
	}
	return lines.join('\n') + '\n';
}
