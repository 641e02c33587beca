import { h, clear, fmtTime, announce, field, badge } from '../dom.js';
import { api } from '../api.js';
import { onSubmit, fetchList, deleteButton, editForm } from './common.js';

// Sites: the networks behind a set of gateways, each gateway's health (online, last seen,
// active or standby) and the site's default (allow everything, or only what policies grant).
const splitList = (text) => text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

function gatewayRows(s) {
	if (!s.gateways || !s.gateways.length) return h('p', { class: 'empty' }, 'No gateway in this site yet: create a gateway enrollment token naming it.');
	return h('div', { class: 'table-wrap' }, h('table', { class: 'data gateways', dataset: { site: s.name } },
		h('thead', {}, h('tr', {}, ['Gateway', 'Address', 'Endpoint', 'Health', 'Role', 'Last seen'].map((c) => h('th', { scope: 'col' }, c)))),
		h('tbody', {}, s.gateways.map((g) => h('tr', { dataset: { id: String(g.id), role: g.role, online: String(!!g.online) } },
			h('td', { 'data-label': 'Gateway' }, `${g.hostname || '—'} (#${g.id})`),
			h('td', { 'data-label': 'Address' }, g.address),
			h('td', { 'data-label': 'Endpoint' }, g.endpoint || '—'),
			h('td', { 'data-label': 'Health' }, g.state !== 'active' ? badge(g.state) : h('span', { class: `badge ${g.online ? 'active' : 'revoked'}` }, g.online ? 'online' : 'offline')),
			h('td', { 'data-label': 'Role' }, g.role === 'active' ? h('strong', {}, 'active') : g.role),
			h('td', { 'data-label': 'Last seen' }, fmtTime(g.last_seen)))))));
}

export async function sitesView(body) {
	const name = h('input', { id: 'site-name', required: true, autocapitalize: 'none', spellcheck: 'false', pattern: '[A-Za-z0-9._-]{1,64}' });
	const routes = h('textarea', { id: 'site-routes', rows: '3', spellcheck: 'false', placeholder: '10.1.0.0/24' });
	const def = h('select', { id: 'site-default' }, h('option', { value: 'allow' }, 'allow everything'), h('option', { value: 'deny' }, 'only what policies grant'));
	let editing = null;
	const { form, submit, cancel, mode } = editForm('site-form', 'site', 'site',
		field('Name', name, 'Letters, digits, "-", "_" or "."; gateway tokens name it.'),
		field('Routes', routes, 'The networks behind the site\'s gateways, one per line. They may not overlap another site\'s.'),
		field('Default', def, 'Under "only what policies grant", a device reaches nothing of the site that no policy gives its user.'));
	const listSlot = h('div', { id: 'sites-list' });
	body.append(form, listSlot);

	const resetForm = () => {
		editing = null;
		form.reset();
		name.disabled = false;
		mode(null);
	};
	cancel.addEventListener('click', resetForm);
	const edit = (s) => {
		editing = s;
		name.value = s.name;
		name.disabled = s.name === 'default';
		routes.value = s.routes.join('\n');
		def.value = s.default;
		mode(s.name);
		name.focus();
	};
	onSubmit(form, submit, async () => {
		const b = { routes: splitList(routes.value), default: def.value };
		if (editing) {
			if (!name.disabled) b.name = name.value.trim();
			// the default site keeps following [network] routes until its routes are changed here
			if (editing.routes_from_config && b.routes.join(',') === editing.routes.join(',')) delete b.routes;
			await api('PUT', `/sites/${encodeURIComponent(editing.id)}`, b);
			announce(`Site ${name.value.trim()} saved.`);
		} else {
			b.name = name.value.trim();
			await api('POST', '/sites', b);
			announce(`Site ${b.name} created.`);
		}
		resetForm();
		await draw();
	});

	const draw = async () => {
		clear(listSlot);
		const sites = await fetchList(listSlot, '/sites', 'sites');
		if (!sites) return;
		for (const s of sites) {
			listSlot.appendChild(h('section', { class: 'card site', dataset: { site: s.name, id: String(s.id) }, 'aria-labelledby': `site-${s.id}-h` },
				h('h2', { id: `site-${s.id}-h` }, `Site ${s.name}`),
				h('p', {}, 'Routes: ', s.routes.length ? s.routes.join(', ') : 'none',
					s.routes_from_config ? h('span', { class: 'sub' }, ' (from [network] routes of the config file)') : null),
				h('p', {}, 'Default: ', h('span', { class: `badge ${s.default === 'allow' ? 'active' : 'suspended'}`, dataset: { default: s.default } }, s.default === 'allow' ? 'allow everything' : 'only what policies grant')),
				gatewayRows(s),
				h('div', { class: 'actions' },
					h('button', { type: 'button', class: 'small secondary', 'aria-label': `Edit site ${s.name}`, onclick: () => edit(s) }, 'Edit'),
					s.name === 'default' ? null : deleteButton({
						label: `Delete site ${s.name}`, title: `Delete site ${s.name}?`,
						body: 'Its routes leave every device\'s config. A site with gateways or policies cannot be deleted.',
						path: `/sites/${encodeURIComponent(s.id)}`, done: `Site ${s.name} deleted.`, slot: listSlot, redraw: draw,
					}))));
		}
	};
	await draw();
}
