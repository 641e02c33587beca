#!/usr/bin/env python3
"""A man in the middle between keyway-agent and keywayd, for the end-to-end tests.

Usage: tamper_proxy.py LISTEN_ADDR LISTEN_PORT UPSTREAM_URL MODE_FILE [SIGNING_KEY_FILE]

Forwards every request to UPSTREAM_URL. Long-polls are shortened to wait=1 so a mode
change takes effect within a second. What it does to config answers is read from
MODE_FILE at each request:
  pass     forward unchanged (default)
  flip     answer with the current config with one byte of the payload flipped
  foreign  answer with the current payload, version + 1, signed by another Ed25519 key
  forged   as foreign, but claiming the controller's key_id
  older    answer with the first config envelope ever relayed (an older version)
Suspension and revocation answers (what a controller sends instead of a config):
  deny403     403 device_suspended, unsigned
  deny401     401 device_revoked, unsigned
  deny404     404 not_found, unsigned
  denyforged  403 device_suspended with a signed_state signed by another key but
              claiming the controller's key_id
  denyold     403 with a signed_state signed by the controller's key (SIGNING_KEY_FILE,
              keywayd's base64 seed) whose version is the current config's, not above
  suspend     403 with a signed_state signed by the controller's key, version + 1: a
              real, verified suspension
  replay      200 with the current config envelope again (still valid, version not above
              a suspension's)
A gateway's access policy (the line in MODE_FILE is "access BUMP JSON"):
  access      while the agent asks for a version below the current one + BUMP, answer with
              the current config as version + BUMP, every peer carrying "access": JSON,
              signed by the controller's key (SIGNING_KEY_FILE); once the agent holds it,
              forward as in pass mode (a new BUMP brings a new version)
Each tampered answer is counted in MODE_FILE.count (one line per answer).
"""
import base64
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request

LISTEN, PORT, UPSTREAM, MODE_FILE = sys.argv[1], int(sys.argv[2]), sys.argv[3].rstrip('/'), sys.argv[4]
SIGNING_KEY_FILE = sys.argv[5] if len(sys.argv) > 5 else None
DENY = ('deny403', 'deny401', 'deny404', 'denyforged', 'denyold', 'suspend')
FIRST = {}
LOCK = threading.Lock()
KEYDIR = tempfile.mkdtemp(prefix='kwa-proxy-')
FOREIGN_KEY = os.path.join(KEYDIR, 'foreign.pem')
subprocess.run(['openssl', 'genpkey', '-algorithm', 'ed25519', '-out', FOREIGN_KEY], check=True,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def mode():
    try:
        with open(MODE_FILE) as f:
            return f.read().strip() or 'pass'
    except FileNotFoundError:
        return 'pass'


def count():
    with LOCK, open(MODE_FILE + '.count', 'a') as f:
        f.write(mode() + '\n')


def foreign_sign(payload: bytes) -> (str, str):
    path = os.path.join(KEYDIR, 'payload')
    with open(path, 'wb') as f:
        f.write(payload)
    sig = subprocess.run(['openssl', 'pkeyutl', '-sign', '-inkey', FOREIGN_KEY, '-rawin', '-in', path],
                         check=True, capture_output=True).stdout
    der = subprocess.run(['openssl', 'pkey', '-in', FOREIGN_KEY, '-pubout', '-outform', 'DER'],
                         check=True, capture_output=True).stdout
    import hashlib
    key_id = hashlib.sha256(der[-32:]).hexdigest()[:16]
    return base64.b64encode(sig).decode(), key_id


def record_first(device, envelope):
    with LOCK:
        FIRST.setdefault(device, envelope)


def controller_sign(payload: bytes) -> dict:
    """The envelope keywayd makes (common/envelope.h), with keywayd's own key."""
    import hashlib
    import nacl.signing
    with open(SIGNING_KEY_FILE) as f:
        sk = nacl.signing.SigningKey(base64.b64decode(f.read().strip()))
    sig = sk.sign(payload).signature
    return {'payload': base64.b64encode(payload).decode(), 'signature': base64.b64encode(sig).decode(),
            'key_id': hashlib.sha256(bytes(sk.verify_key)).hexdigest()[:16]}


def denial(m, env):
    """The (status, body) of a suspension/revocation answer in mode m; env is the current config."""
    cur = json.loads(base64.b64decode(env['payload']))
    errors = {'deny401': (401, 'device_revoked'), 'deny404': (404, 'not_found')}
    status, code = errors.get(m, (403, 'device_suspended'))
    body = {'error': {'code': code, 'message': 'from the tamper proxy'}}
    state = {'device_id': cur['device_id'], 'state': 'suspended',
             'version': cur['version'] + (0 if m == 'denyold' else 1)}
    raw = json.dumps(state).encode()
    if m == 'denyforged':
        sig, _ = foreign_sign(raw)
        body['error']['signed_state'] = {'payload': base64.b64encode(raw).decode(), 'signature': sig,
                                'key_id': env['key_id']}
    elif m in ('denyold', 'suspend'):
        body['error']['signed_state'] = controller_sign(raw)
    return status, json.dumps(body).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def upstream(self, path, body=None):
        req = urllib.request.Request(UPSTREAM + path, data=body, method=self.command)
        for h in ('Authorization', 'Content-Type', 'Accept'):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            with urllib.request.urlopen(req, timeout=70) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def answer(self, status, data):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        body = None
        if self.headers.get('Content-Length'):
            body = self.rfile.read(int(self.headers['Content-Length']))
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        parts = url.path.strip('/').split('/')
        is_config = len(parts) == 5 and parts[:3] == ['api', 'v1', 'devices'] and parts[4] == 'config'
        m = mode()
        if is_config and m.startswith('access ') and self.command == 'GET':
            env = self.with_access(url.path, int(q.get('after', ['0'])[0]), m)
            if env is not None:
                count()
                return self.answer(200, json.dumps(env).encode())
            m = 'pass'
        if is_config and m != 'pass' and self.command == 'GET':
            status, data = self.upstream(url.path + '?after=0')
            if status != 200:
                return self.answer(status, data)
            env = json.loads(data)
            if m in DENY:
                count()
                return self.answer(*denial(m, env))
            if m == 'replay':
                pass
            elif m == 'older' and parts[3] in FIRST:
                env = FIRST[parts[3]]
            elif m == 'flip':
                raw = bytearray(base64.b64decode(env['payload']))
                raw[len(raw) // 2] ^= 0x01
                env['payload'] = base64.b64encode(bytes(raw)).decode()
            elif m in ('foreign', 'forged'):
                payload = json.loads(base64.b64decode(env['payload']))
                payload['version'] += 1
                raw = json.dumps(payload).encode()
                sig, key_id = foreign_sign(raw)
                env = {'payload': base64.b64encode(raw).decode(), 'signature': sig,
                       'key_id': key_id if m == 'foreign' else env['key_id']}
            count()
            return self.answer(200, json.dumps(env).encode())
        path = url.path
        if is_config:
            q['wait'] = ['1']
            path += '?' + urllib.parse.urlencode({k: v[0] for k, v in q.items()})
        elif url.query:
            path += '?' + url.query
        status, data = self.upstream(path, body)
        try:
            if status in (200, 201) and is_config:
                record_first(parts[3], json.loads(data))
            elif status in (200, 201) and url.path == '/api/v1/enroll':
                j = json.loads(data)
                record_first(str(j['device_id']), j['config'])
        except (ValueError, KeyError):
            pass
        self.answer(status, data)

    def with_access(self, path, after, m):
        """The envelope of mode "access BUMP JSON", or None when the agent holds it already."""
        _, bump, access = m.split(' ', 2)
        status, data = self.upstream(path + '?after=0')
        if status != 200:
            return None
        payload = json.loads(base64.b64decode(json.loads(data)['payload']))
        payload['version'] += int(bump)
        if after >= payload['version']:
            return None
        for peer in payload['peers']:
            peer['access'] = json.loads(access)
        return controller_sign(json.dumps(payload).encode())

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


Server((LISTEN, PORT), Handler).serve_forever()
