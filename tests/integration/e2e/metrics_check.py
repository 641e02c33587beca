#!/usr/bin/env python3
"""Scrape keyway-agent's Prometheus page and print what it says as one JSON object.

Usage: metrics_check.py URL

The page is parsed with Prometheus' own parser (Debian's python3-prometheus-client), so a
page it cannot read fails here. Output:
  {"peers": {PUBLIC_KEY: {"rx": N, "tx": N, "handshake": N, "up": N,
                          "device_id": "…", "username": "…"}},
   "version": N, "expires": N, "state": "up", "content_type": "…"}
"""
import json
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    ctype = r.headers.get('Content-Type', '')
    text = r.read().decode()

out = {'peers': {}, 'content_type': ctype}
short = {'wireguard_peer_received_bytes_total': 'rx', 'wireguard_peer_sent_bytes_total': 'tx',
         'wireguard_peer_last_handshake_seconds': 'handshake', 'wireguard_peer_up': 'up'}
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        if s.name in short:
            p = out['peers'].setdefault(s.labels['public_key'], {})
            p[short[s.name]] = int(s.value)
            for k in ('device_id', 'username'):
                if k in s.labels:
                    p[k] = s.labels[k]
        elif s.name == 'keyway_agent_config_version':
            out['version'] = int(s.value)
        elif s.name == 'keyway_agent_config_expires_seconds':
            out['expires'] = int(s.value)
        elif s.name == 'keyway_agent_state' and s.value == 1:
            out['state'] = s.labels['state']
print(json.dumps(out))
