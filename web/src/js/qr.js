// QR code drawn as SVG elements (no inline style, no data: URL) from the
// qrcode-generator package of the npm registry, bundled at build time.
import qrcode from 'qrcode-generator';

const SVG = 'http://www.w3.org/2000/svg';

export function qrSvg(text, label) {
	const qr = qrcode(0, 'M');
	qr.addData(text, 'Byte');
	qr.make();
	const n = qr.getModuleCount();
	const quiet = 4;
	const size = n + 2 * quiet;
	const svg = document.createElementNS(SVG, 'svg');
	svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
	svg.setAttribute('role', 'img');
	svg.setAttribute('aria-label', label);
	svg.setAttribute('shape-rendering', 'crispEdges');
	svg.setAttribute('class', 'qr');
	const bg = document.createElementNS(SVG, 'rect');
	bg.setAttribute('width', size);
	bg.setAttribute('height', size);
	bg.setAttribute('fill', '#fff');
	svg.appendChild(bg);
	let d = '';
	for (let r = 0; r < n; r++)
		for (let c = 0; c < n; c++)
			if (qr.isDark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
	const path = document.createElementNS(SVG, 'path');
	path.setAttribute('d', d);
	path.setAttribute('fill', '#000');
	svg.appendChild(path);
	return svg;
}
