// Build the console into one directory: index.html, app.css, favicon.svg and
// app.js, the modules under src/js bundled with their npm dependencies.
//   node build.mjs [--outdir DIR] [--node-path DIR]
import { mkdirSync, copyFileSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
	const i = args.indexOf(name);
	return i >= 0 && args[i + 1] ? resolve(args[i + 1]) : def;
};
const outdir = opt('--outdir', join(here, 'dist'));
const nodePath = opt('--node-path', join(here, 'node_modules'));

// esbuild comes from the given node_modules (the build tree's in a VPATH build).
const { build } = createRequire(join(nodePath, 'x.js'))('esbuild');

// The bundled third-party packages, named with their licences at the top of app.js.
const deps = Object.keys(JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).dependencies || {});
const notices = deps.map((d) => {
	const p = JSON.parse(readFileSync(join(nodePath, d, 'package.json'), 'utf8'));
	const author = typeof p.author === 'string' ? p.author : p.author && p.author.name;
	return `${p.name} ${p.version}${author ? ` (c) ${author}` : ''}, ${p.license} licence`;
});

mkdirSync(outdir, { recursive: true });
await build({
	entryPoints: [join(here, 'src/js/app.js')],
	outfile: join(outdir, 'app.js'),
	bundle: true,
	format: 'esm',
	target: ['chrome110', 'firefox115', 'safari16'],
	minify: true,
	legalComments: 'eof',
	banner: { js: `/*! Keyway web console. Bundled: ${notices.join('; ') || 'nothing'}. */` },
	nodePaths: [nodePath],
	logLevel: 'warning',
});
for (const f of ['index.html', 'app.css', 'favicon.svg']) copyFileSync(join(here, 'src', f), join(outdir, f));
console.log(`web console built in ${outdir}`);
