import { h, clear, announce, showError, field } from '../dom.js';
import { api, listOf } from '../api.js';
import { onSubmit, fetchList, deleteButton, editForm } from './common.js';

// Access policies: who (directory groups, or user names) reaches what (networks,
// protocol, ports) on which site.
const lines = (text) => text.split(/[\n,]+/).map((s) => s.trim()).filter(Boolean);

// "10.1.0.10/32 tcp 22,443" per line -> destinations; the API checks each one.
function parseDestinations(text) {
	return text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
		const [cidr, protocol, ports] = l.split(/\s+/);
		const d = { cidr, protocol: protocol || 'any' };
		if (ports) d.ports = ports;
		return d;
	});
}

const destText = (d) => [d.cidr, d.protocol, d.ports].filter(Boolean).join(' ');

export async function policiesView(body) {
	const name = h('input', { id: 'pol-name', required: true, spellcheck: 'false' });
	const site = h('select', { id: 'pol-site', required: true });
	const groups = h('textarea', { id: 'pol-groups', rows: '2', spellcheck: 'false', placeholder: 'engineering' });
	const users = h('textarea', { id: 'pol-users', rows: '2', spellcheck: 'false' });
	const dests = h('textarea', { id: 'pol-dests', rows: '3', spellcheck: 'false', placeholder: '10.1.0.10/32 tcp 22,443' });
	let editing = null;
	const { form, submit, cancel, mode } = editForm('policy-form', 'pol', 'policy',
		field('Name', name),
		field('Site', site),
		field('Directory groups', groups, 'One per line: a group name (next to the VPN group) or a full DN. Members count at the next directory sync.'),
		field('Users', users, 'One user name per line (works without a directory).'),
		field('Destinations', dests, 'One per line: network, protocol (tcp, udp, icmp, any), ports (tcp/udp), e.g. "10.1.0.10/32 tcp 22,443".'));
	const listSlot = h('section', { class: 'card', 'aria-labelledby': 'pol-list-h' });
	body.append(form, listSlot);

	try {
		for (const s of listOf(await api('GET', '/sites'), 'sites')) site.appendChild(h('option', { value: s.name }, s.name));
	} catch (e) { showError(form, e); }

	const resetForm = () => {
		editing = null;
		form.reset();
		mode(null);
	};
	cancel.addEventListener('click', resetForm);
	const edit = (p) => {
		editing = p;
		name.value = p.name;
		site.value = p.site;
		groups.value = p.groups.join('\n');
		users.value = p.users.join('\n');
		dests.value = p.destinations.map(destText).join('\n');
		mode(p.name);
		name.focus();
	};
	onSubmit(form, submit, async () => {
		const b = { name: name.value.trim(), site: site.value, groups: lines(groups.value), users: lines(users.value), destinations: parseDestinations(dests.value) };
		if (editing) await api('PUT', `/policies/${encodeURIComponent(editing.id)}`, b);
		else await api('POST', '/policies', b);
		announce(`Policy ${b.name} ${editing ? 'saved' : 'created'}.`);
		resetForm();
		await draw();
	});

	const draw = async () => {
		clear(listSlot);
		listSlot.appendChild(h('h2', { id: 'pol-list-h' }, 'Policies'));
		const pols = await fetchList(listSlot, '/policies', 'policies');
		if (!pols) return;
		if (!pols.length) { listSlot.appendChild(h('p', { class: 'empty' }, 'No policies: sites that allow everything need none.')); return; }
		listSlot.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'policies-table' },
			h('thead', {}, h('tr', {}, ['Name', 'Site', 'Who', 'Destinations', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
			h('tbody', {}, pols.map((p) => h('tr', { dataset: { id: String(p.id), name: p.name } },
				h('td', { 'data-label': 'Name' }, p.name),
				h('td', { 'data-label': 'Site' }, p.site),
				h('td', { 'data-label': 'Who' }, [...p.groups.map((g) => `group ${g}`), ...p.users.map((u) => `user ${u}`)].join(', ')),
				h('td', { 'data-label': 'Destinations' }, p.destinations.length ? p.destinations.map(destText).join('; ') : '—'),
				h('td', { 'data-label': 'Actions' },
					h('button', { type: 'button', class: 'small secondary', 'aria-label': `Edit policy ${p.name}`, onclick: () => edit(p) }, 'Edit'), ' ',
					deleteButton({
						label: `Delete policy ${p.name}`, title: `Delete policy ${p.name}?`, body: 'Whoever it grants loses that access at once.',
						path: `/policies/${encodeURIComponent(p.id)}`, done: `Policy ${p.name} deleted.`, slot: listSlot, redraw: draw,
					}))))))));
	};
	await draw();
}
