-- Agent bookkeeping of append (issue 13): per-session counters the client derives from the
-- messages and passes after them, so Lua never decodes a body. ARGV from `at` on:
--   tokens in (user and tool messages), tokens out (assistant), tool errors (tool results
--   flagged as errors), t, then t pairs: tool name, calls (from the assistant tool_calls)
-- Meta keeps `tin`, `tout`, `tool_errors` and `tool:<name>`; the slot's stats count
-- `tokens_in`, `tokens_out`, `tool_calls` and `tool_errors`. Nothing is written for a zero.

local function read_books(at)
  if #ARGV <= at + 1 then return {tin = 0, tout = 0, terr = 0, tools = {}, calls = 0, next = at + 1} end
  local b = {tin = int_arg(ARGV[at + 1], 'tokens in'), tout = int_arg(ARGV[at + 2], 'tokens out'),
    terr = int_arg(ARGV[at + 3], 'tool errors'), tools = {}, calls = 0}
  local t = int_arg(ARGV[at + 4], 'tool name count')
  for i = 1, t do
    local name, calls = ARGV[at + 3 + 2 * i], int_arg(ARGV[at + 4 + 2 * i], 'tool calls')
    if name == nil or name == '' then fail('RS_INVALID', 'tool name is empty') end
    b.tools[#b.tools + 1], b.tools[#b.tools + 2] = name, calls
    b.calls = b.calls + calls
  end
  b.next = at + 5 + 2 * t
  return b
end

-- Adds the token counters to the HSET of meta; `tin`, `tout`: meta's values before.
local function books_fields(fields, b, tin, tout)
  if b.tin > 0 then
    fields[#fields + 1], fields[#fields + 2] = 'tin', int_str((tonumber(tin) or 0) + b.tin)
  end
  if b.tout > 0 then
    fields[#fields + 1], fields[#fields + 2] = 'tout', int_str((tonumber(tout) or 0) + b.tout)
  end
end

-- The counters HSET cannot add: one HINCRBY per tool name, tool errors, and the slot's stats.
local function count_books(meta, b)
  for i = 1, #b.tools, 2 do
    redis.call('HINCRBY', meta, 'tool:' .. b.tools[i], int_str(b.tools[i + 1]))
  end
  if b.terr > 0 then redis.call('HINCRBY', meta, 'tool_errors', int_str(b.terr)) end
  count_stat('tokens_in', b.tin)
  count_stat('tokens_out', b.tout)
  count_stat('tool_calls', b.calls)
  count_stat('tool_errors', b.terr)
end
