-- wrk script: GET one device's config with its device token; counts non-200 answers.
local token = os.getenv("KW_DEVICE_TOKEN")
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	ok = 0
	bad = 0
	if token and token ~= "" then
		wrk.headers["Authorization"] = "Bearer " .. token
	end
end

function response(status, headers, body)
	if status == 200 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
	local o, b = 0, 0
	for _, t in ipairs(threads) do
		o = o + t:get("ok")
		b = b + t:get("bad")
	end
	io.write(string.format("FETCH ok=%d bad=%d rate=%.0f p50_ms=%.3f p99_ms=%.3f\n", o, b,
		o / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
