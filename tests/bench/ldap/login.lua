-- wrk script: POST /api/v1/login for generated users user00001..userN in turn (each login is
-- a directory search + bind and a new session row). N comes from KWL_BENCH_USERS.
local n = tonumber(os.getenv("KWL_BENCH_USERS") or "10000")
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("id", counter)
end

function init(args)
	i = id * 997
end

function request()
	i = i + 1
	local body = string.format('{"username":"user%05d","password":"Passw0rd!"}', (i % n) + 1)
	return wrk.format("POST", "/api/v1/login", { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
	local bad = summary.errors.status
	io.write(string.format("non2xx=%d\n", bad))
end
