-- wrk script: POST /api/v1/enroll with a fresh random WireGuard public key each time.
-- The enrollment token comes from the environment (KW_ENROLL_TOKEN).
local token = os.getenv("KW_ENROLL_TOKEN")
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local threads = {}
local counter = 0

local function b64(bytes)
	local out = {}
	for i = 1, #bytes, 3 do
		local a, b, c = bytes[i], bytes[i + 1] or 0, bytes[i + 2] or 0
		local n = a * 65536 + b * 256 + c
		local c1 = math.floor(n / 262144) % 64
		local c2 = math.floor(n / 4096) % 64
		local c3 = math.floor(n / 64) % 64
		local c4 = n % 64
		out[#out + 1] = b64chars:sub(c1 + 1, c1 + 1) .. b64chars:sub(c2 + 1, c2 + 1)
		out[#out + 1] = (bytes[i + 1] and b64chars:sub(c3 + 1, c3 + 1) or "=")
		out[#out + 1] = (bytes[i + 2] and b64chars:sub(c4 + 1, c4 + 1) or "=")
	end
	return table.concat(out)
end

function setup(thread)
	counter = counter + 1
	thread:set("id", counter)
	table.insert(threads, thread)
end

function init(args)
	math.randomseed(os.time() * 1000 + id * 7919 + math.floor(os.clock() * 1e6))
	created = 0
	other = 0
	seq = 0
end

function request()
	local bytes = {}
	seq = seq + 1
	-- thread id and a sequence number in the first bytes: never two equal keys
	bytes[1] = id
	bytes[2] = math.floor(seq / 65536) % 256
	bytes[3] = math.floor(seq / 256) % 256
	bytes[4] = seq % 256
	for i = 5, 32 do bytes[i] = math.random(0, 255) end
	local body = '{"token":"' .. token .. '","public_key":"' .. b64(bytes) .. '","hostname":"bench"}'
	return wrk.format("POST", "/api/v1/enroll", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
	if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
	local c, o = 0, 0
	for _, t in ipairs(threads) do
		c = c + t:get("created")
		o = o + t:get("other")
	end
	io.write(string.format("ENROLL created=%d other=%d seconds=%.2f rate=%.0f p99_ms=%.2f\n", c, o,
		summary.duration / 1e6, c / (summary.duration / 1e6), latency:percentile(99) / 1000))
end
