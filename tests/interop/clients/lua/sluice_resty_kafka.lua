-- Copyright 2026 the Sluice authors. Apache-2.0 license.
-- An nginx content handler over lua-resty-kafka (Debian's lua-nginx-kafka 0.07, module path
-- nginx.kafka.*: a pure-Lua producer speaking Metadata v0 and Produce v0-v2 with message format
-- v0/v1, no compression) for tests/interop/lua_resty_kafka_test.ts. One request does one
-- thing, chosen by query arguments, and answers plain text lines (Debian's nginx Lua module
-- comes without cjson):
--   op=sync:  sends n messages one by one with the synchronous producer; a line per message,
--             "<i> ok <next offset>" or "<i> err <error>".
--   op=async: buffers n messages in an asynchronous producer (its own cluster name), sleeping
--             interval_ms between them, then flushes until nothing is left; a line
--             "buffered <accepted> <refused>" and a line per error_handle call,
--             "error <topic> <partition> <messages> <error> <retryable>".
--   op=metadata: one line per partition of topic, "<partition> <leader> <host>:<port>".
-- Common arguments: host, port (the broker; or brokers=host:port,...), topic, n, prefix
-- (values are "<prefix>-<i>"), keyed (1: key "k<i>", else no key, which this client sends as an
-- empty key), size (pad values to this many bytes), acks, v (Produce version), timeout_ms
-- (socket timeout).

local producer = require "nginx.kafka.producer"
local client = require "nginx.kafka.client"

local args = ngx.req.get_uri_args()
local n = tonumber(args.n or 1)
local broker_list = { { host = args.host or "127.0.0.1", port = tonumber(args.port) } }
if args.brokers then -- "host:port,host:port": several bootstrap brokers, tried in order
  broker_list = {}
  for host, port in string.gmatch(args.brokers, "([^,:]+):(%d+)") do
    broker_list[#broker_list + 1] = { host = host, port = tonumber(port) }
  end
end

local function value_of(i)
  local v = (args.prefix or "m") .. "-" .. i
  local size = tonumber(args.size or 0)
  if size > #v then
    v = v .. string.rep("x", size - #v)
  end
  return v
end

local function key_of(i)
  if args.keyed == "1" then
    return "k" .. i
  end
  return nil
end

local function config()
  return {
    api_version = tonumber(args.v or 0),
    required_acks = tonumber(args.acks or 1),
    socket_timeout = tonumber(args.timeout_ms or 3000),
    max_retry = tonumber(args.max_retry or 3),
    retry_backoff = tonumber(args.retry_backoff or 100),
    -- one message per partition at a time: offsets map to messages one to one
    batch_num = tonumber(args.batch_num or 200),
  }
end

if args.op == "sync" then
  local p = producer:new(broker_list, config())
  for i = 0, n - 1 do
    local offset, err = p:send(args.topic, key_of(i), value_of(i))
    if offset then
      ngx.say(i, " ok ", (tostring(offset):gsub("LL$", "")))
    else
      ngx.say(i, " err ", tostring(err))
    end
  end
elseif args.op == "async" then
  local conf = config()
  conf.producer_type = "async"
  conf.flush_time = tonumber(args.flush_ms or 1000)
  local errors = {}
  conf.error_handle = function(topic, partition_id, queue, index, err, retryable)
    errors[#errors + 1] = table.concat(
      { "error", topic, partition_id, index / 2, tostring(err), tostring(retryable) },
      " "
    )
  end
  local p = producer:new(broker_list, conf, args.cluster or ngx.now())
  local accepted, refused = 0, 0
  local interval = tonumber(args.interval_ms or 0) / 1000
  for i = 0, n - 1 do
    local ok = p:send(args.topic, key_of(i), value_of(i))
    if ok then
      accepted = accepted + 1
    else
      refused = refused + 1
    end
    if interval > 0 then
      ngx.sleep(interval)
    end
  end
  local deadline = ngx.now() + tonumber(args.wait_s or 30)
  while (p.ringbuffer:left_num() > 0 or p.flushing) and ngx.now() < deadline do
    if not p.flushing then
      p:flush()
    else
      ngx.sleep(0.05)
    end
  end
  ngx.say("buffered ", accepted, " ", refused)
  ngx.say("left ", p.ringbuffer:left_num())
  for _, line in ipairs(errors) do
    ngx.say(line)
  end
elseif args.op == "metadata" then
  local c = client:new(broker_list)
  local brokers, partitions = c:fetch_metadata(args.topic)
  if not brokers then
    ngx.say("err ", tostring(partitions))
    return
  end
  for id = 0, partitions.num - 1 do
    local leader = partitions[id].leader
    local b = brokers[leader] or {}
    ngx.say(id, " ", leader, " ", tostring(b.host), ":", tostring(b.port))
  end
else
  ngx.status = 400
  ngx.say("unknown op ", tostring(args.op))
end
