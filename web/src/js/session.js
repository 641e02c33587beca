// What the page remembers about the login. The session secret itself lives in
// the HttpOnly cookie; the page only keeps the CSRF token (needed on every
// state-changing request), the user name and the role, per tab.

const KEY = 'keyway.session';

export function getSession() {
	try {
		const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
		if (!s || !s.csrf_token) return null;
		if (s.expires_at && s.expires_at * 1000 < Date.now()) { clearSession(); return null; }
		return s;
	} catch {
		return null;
	}
}

export function setSession(s) {
	sessionStorage.setItem(KEY, JSON.stringify({
		username: s.username,
		role: s.role,
		csrf_token: s.csrf_token,
		expires_at: typeof s.expires_at === 'number' ? s.expires_at : null,
	}));
}

export function clearSession() {
	sessionStorage.removeItem(KEY);
}

export function isAdmin() {
	const s = getSession();
	return !!s && s.role === 'admin';
}
