#!/usr/bin/env python3
"""Park N long-polls on one keywayd (asyncio, one socket each), check the server still
answers at once, then change every device's config (rotate the gateway's key) and time
how long until all N have their 200.
Usage: longpoll.py DEVICE_CONFIG_URL DEVICE_TOKEN GATEWAY_CONFIG_URL GATEWAY_TOKEN N"""
import asyncio
import base64
import json
import os
import sys
import time
import urllib.parse
import urllib.request

cfg_url, dev_tok, gw_url, gw_tok, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
u = urllib.parse.urlparse(cfg_url)


def get(url, tok):
    r = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + tok}))
    return json.loads(r.read())


ver = json.loads(base64.b64decode(get(cfg_url, dev_tok)["payload"]))["version"]


async def waiter(results):
    r, w = await asyncio.open_connection(u.hostname, u.port)
    w.write(("GET %s?after=%d&wait=60 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
             % (u.path, ver, dev_tok)).encode())
    await w.drain()
    line = await r.readline()
    results.append((line.split()[1].decode(), time.time()))
    w.close()


async def main():
    results = []
    tasks = [asyncio.create_task(waiter(results)) for _ in range(n)]
    await asyncio.sleep(3 + n / 2000)
    t0 = time.time()
    urllib.request.urlopen("%s://%s/api/v1/health" % (u.scheme, u.netloc)).read()
    health_ms = (time.time() - t0) * 1000
    t_change = time.time()
    req = urllib.request.Request(gw_url.replace("/config", "/public-key"), method="PUT",
                                 data=json.dumps({"public_key": base64.b64encode(os.urandom(32)).decode()}).encode(),
                                 headers={"Authorization": "Bearer " + gw_tok})
    urllib.request.urlopen(req).read()
    await asyncio.wait_for(asyncio.gather(*tasks), 90)
    ok = sum(1 for c, _ in results if c == "200")
    print("LONGPOLL parked=%d health_ms=%.1f answered_200=%d last_answer_ms=%.0f"
          % (n, health_ms, ok, (max(t for _, t in results) - t_change) * 1000))


asyncio.run(main())
