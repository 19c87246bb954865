--- alc:prelude — Layer 1 of the `alc` contract (shared/ALC_API.md), Lua 5.4.
---
--- Loaded once per session VM, as the chunk "=alc:prelude", after Layer 0 (the Rust
--- primitives) has filled the global table `alc` and the global `ctx` is set. It only
--- adds functions to `alc` (and `alc.state.update`); it keeps its state (the response
--- cache) in upvalues of this chunk, so the state is per session and never shared.
---
--- Rules this file follows:
--- * `alc` raises on unknown names (its metatable __index), so every probe for a name
---   that may be absent uses rawget, and every definition uses rawset.
--- * Layer 0 functions are looked up on `alc` at CALL time, not captured at load time,
---   so a strategy (or a test) that replaces `alc.llm` with a mock is honoured by
---   cache / llm_safe / llm_json / ground / specify.
--- * Argument errors name the function ("alc.map: items must be a table, got nil")
---   and point at the caller (error level 3 through `expect_type`).
---
--- Choices where ALC_API.md is silent (kept compatible with algocline where it
--- matters for "strategies run unchanged"):
--- * map/filter walk `items` with ipairs (stop at the first nil); reduce uses #items.
--- * vote: answers are tostring'd then trimmed; empty input gives
---   {winner = nil, count = 0, total = 0}.
--- * parallel: an empty `items` is an error (as in algocline). Table prompts are
---   shallow-copied, never mutated.
--- * cache: key = fingerprint(prompt .. "\0" .. (system or "") .. "\0" ..
---   (max_tokens or 1024)); since fingerprint normalises, prompts that differ only in
---   case or whitespace share an entry. `cache_skip` neither reads, writes nor counts.
---   A hit logs at debug level (no query appears in the trace, the log says why).
---   cache_key / cache_skip are not forwarded to alc.llm. Errors are not cached.
---   cache_clear() empties the cache AND resets hits/misses.
--- * llm_safe swallows every error, budget_exceeded included (that is its purpose);
---   strategies loop on alc.budget_check(), not on llm_safe failing.
--- * json_extract returns only tables (objects/arrays): a bare JSON scalar ("42")
---   is not an extraction, so llm_json's first result is always table-or-nil.
---   Fences: ```json blocks are tried first, then any ``` block. Balanced scan: from
---   each `{` / `[` in order, strings and escapes are tracked; a balanced span that
---   does not decode moves the scan to the next opener (worst case O(n^2)).
--- * llm_json's repair call keeps the caller's opts but replaces `system` with a
---   JSON-only instruction; it logs a warning before repairing and when it fails.
--- * parse_score: the first run of digits, unsigned as in algocline ("-3" gives 3);
---   numbers are accepted (tostring'd); any other non-string gives the default.
--- * parse_number: "%-?%d+%.?%d*" as in algocline (so ".5" gives 5, "-2.5" gives
---   -2.5, "+3" gives 3); no exponents, no thousands separators. With `pattern`, tonumber of the first capture (nil if it is not
---   numeric). Integers come back as Lua integers.
--- * fingerprint: ASCII lowercase (string.lower, C locale), Lua %s whitespace
---   (space \t \n \v \f \r) collapsed to one space, trimmed; DJB2 modulo 2^32 as
---   "%08x". Accepts strings and numbers.
--- * budget_check: false as soon as any numeric field of budget_remaining() is <= 0
---   (JSON null arrives as userdata and is ignored like nil).
--- * state.update: a nil result from fn deletes the key instead of storing nil. It is
---   atomic (compare-and-swap): under concurrent writers fn may run more than once.
--- * tuning: result is a deep copy of defaults. Only keys that exist in defaults are
---   taken from the overrides, at every level (so ctx.task / ctx.budget never leak
---   into a config). A nested table in defaults whose [1] is nil (a map) is merged
---   when the override is a map (or empty); arrays, scalars and type changes replace
---   (deep-copied). An EMPTY table in defaults is open: a table override replaces it
---   wholesale. `_schema` is dropped at every level of defaults. JSON null overrides
---   (userdata) are ignored. With opts.prefix, overrides come from ctx[prefix]; when
---   that is absent the flat ctx is used (algocline's fallback), when it is not a
---   table a warning is logged and defaults are returned.
--- * pipe: works on a SHALLOW COPY of ctx (the caller's ctx is not modified) and
---   returns that copy. Per stage i: (i > 1) the previous result is handed off as
---   ctx.task — tables via alc.json_encode, other non-nil values via tostring, nil
---   leaves ctx.task alone; ctx.result is NOT cleared (a stage may read the
---   structured previous result there). opts.on_stage(i, name, ctx) is called AFTER
---   each stage (as in algocline), once the hand-off is done. A stage's return value
---   ret gives its result:
---   ret == nil or ret == ctx -> ctx.result; a table with ret.result ~= nil ->
---   ret.result; anything else -> ret itself. That result is stored in ctx.result and
---   appended to ctx.pipe_history as {strategy = name, result = result}; function
---   stages are named "(inline-<i>)". Unknown packages / missing run() raise.

local alc = rawget(_G, "alc")
if type(alc) ~= "table" then
    error("alc:prelude: Layer 0 must define the global table `alc` before the prelude loads")
end

local function define(name, fn)
    rawset(alc, name, fn)
end

local function expect_type(fname, argname, value, expected)
    if type(value) ~= expected then
        error(string.format("alc.%s: %s must be a %s, got %s", fname, argname, expected, type(value)), 3)
    end
end

local function shallow_copy(t)
    local out = {}
    for k, v in pairs(t or {}) do out[k] = v end
    return out
end

--- Deep copy of plain data; `drop_schema` removes `_schema` keys at every level.
local function deep_copy(value, drop_schema, seen)
    if type(value) ~= "table" then return value end
    seen = seen or {}
    if seen[value] then return seen[value] end
    local out = {}
    seen[value] = out
    for k, v in pairs(value) do
        if not (drop_schema and k == "_schema") then
            out[k] = deep_copy(v, drop_schema, seen)
        end
    end
    return out
end

--- Trim without the quadratic "%s+$" backtracking on long whitespace runs.
local function trim(s)
    local first = s:find("%S")
    if not first then return "" end
    return s:sub(first, s:match(".*()%S"))
end

------------------------------------------------------------------ collections

define("map", function(items, fn)
    expect_type("map", "items", items, "table")
    expect_type("map", "fn", fn, "function")
    local out = {}
    for i, item in ipairs(items) do out[i] = fn(item, i) end
    return out
end)

define("reduce", function(items, fn, init)
    expect_type("reduce", "items", items, "table")
    expect_type("reduce", "fn", fn, "function")
    local acc, first = init, 1
    if acc == nil then acc, first = items[1], 2 end
    for i = first, #items do acc = fn(acc, items[i], i) end
    return acc
end)

define("filter", function(items, fn)
    expect_type("filter", "items", items, "table")
    expect_type("filter", "fn", fn, "function")
    local out = {}
    for i, item in ipairs(items) do
        if fn(item, i) then out[#out + 1] = item end
    end
    return out
end)

define("vote", function(answers)
    expect_type("vote", "answers", answers, "table")
    local counts, first_seen = {}, {}
    for _, answer in ipairs(answers) do
        local key = trim(tostring(answer))
        if counts[key] == nil then
            counts[key] = 0
            first_seen[#first_seen + 1] = key
        end
        counts[key] = counts[key] + 1
    end
    -- Strictly greater keeps the first-seen answer on ties.
    local winner, best = nil, 0
    for _, key in ipairs(first_seen) do
        if counts[key] > best then
            winner, best = key, counts[key]
        end
    end
    return { winner = winner, count = best, total = #answers }
end)

------------------------------------------------------------------ text helpers

local function fingerprint(s)
    if type(s) == "number" then
        s = tostring(s)
    elseif type(s) ~= "string" then
        error("alc.fingerprint: s must be a string, got " .. type(s), 2)
    end
    local normal = trim((s:lower():gsub("%s+", " ")))
    local hash = 5381
    for i = 1, #normal do
        hash = (hash * 33 + normal:byte(i)) & 0xFFFFFFFF
    end
    return string.format("%08x", hash)
end
define("fingerprint", fingerprint)

define("parse_score", function(s, default)
    if default == nil then default = 5 end
    if type(s) == "number" then s = tostring(s) end
    -- The first run of digits, unsigned, as algocline reads it ("-3" scores 3).
    local digits = type(s) == "string" and s:match("%d+")
    if not digits then return default end
    -- tonumber gives a float when the digits overflow an integer; clamping fixes that.
    local n = math.min(math.max(tonumber(digits), 1), 10)
    return math.tointeger(n) or n
end)

define("parse_number", function(text, pattern)
    if type(text) == "number" then text = tostring(text) end
    if type(text) ~= "string" then return nil end
    local found = text:match(pattern or "%-?%d+%.?%d*")
    if found == nil then return nil end
    return tonumber(found)
end)

------------------------------------------------------------------ JSON extraction

local function decode_table(text)
    local ok, value = pcall(alc.json_decode, text)
    if ok and type(value) == "table" then return value end
    return nil
end

--- The ``` blocks of `raw`, in order: { lang = lowercased info string, body = text }.
local function fenced_blocks(raw)
    local blocks, pos = {}, 1
    while true do
        local _, open_end = raw:find("```", pos, true)
        if not open_end then break end
        local close_start = raw:find("```", open_end + 1, true)
        if not close_start then break end
        local line_end = raw:find("\n", open_end + 1, true)
        if line_end and line_end < close_start then
            blocks[#blocks + 1] = {
                lang = trim(raw:sub(open_end + 1, line_end - 1)):lower(),
                body = raw:sub(line_end + 1, close_start - 1),
            }
        else
            blocks[#blocks + 1] = { lang = "", body = raw:sub(open_end + 1, close_start - 1) }
        end
        pos = close_start + 3
    end
    return blocks
end

local OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET = 123, 125, 91, 93
local QUOTE, BACKSLASH = 34, 92
local CLOSER_OF = { [OPEN_BRACE] = CLOSE_BRACE, [OPEN_BRACKET] = CLOSE_BRACKET }

--- Index of the bracket closing the opener at `start`, honouring JSON strings;
--- nil when it is never closed or a closer of the wrong kind comes first.
local function balanced_end(raw, start)
    local expected = { CLOSER_OF[raw:byte(start)] }
    local in_string = false
    local i = start + 1
    while true do
        i = raw:find(in_string and '["\\]' or '[%[%]{}"]', i)
        if not i then return nil end
        local c = raw:byte(i)
        if in_string then
            if c == BACKSLASH then
                i = i + 1 -- skip the escaped character
            else
                in_string = false
            end
        elseif c == QUOTE then
            in_string = true
        elseif c == OPEN_BRACE or c == OPEN_BRACKET then
            expected[#expected + 1] = CLOSER_OF[c]
        else
            if c ~= expected[#expected] then return nil end
            expected[#expected] = nil
            if #expected == 0 then return i end
        end
        i = i + 1
    end
end

local function json_extract(raw)
    if type(raw) ~= "string" then return nil end
    local value = decode_table(raw)
    if value then return value end
    local blocks = fenced_blocks(raw)
    for pass = 1, 2 do
        for _, block in ipairs(blocks) do
            if pass == 2 or block.lang == "json" then
                value = decode_table(trim(block.body))
                if value then return value end
            end
        end
    end
    local pos = 1
    while true do
        local start = raw:find("[{%[]", pos)
        if not start then return nil end
        local stop = balanced_end(raw, start)
        value = stop and decode_table(raw:sub(start, stop))
        if value then return value end
        pos = start + 1
    end
end
define("json_extract", json_extract)

------------------------------------------------------------------ LLM wrappers

local DEFAULT_MAX_TOKENS = 1024 -- Layer 0's default; nil and 1024 share a cache key
local CACHE_MAX_ENTRIES = 256

-- The cache: key -> answer, plus a FIFO queue of keys (head..tail) for eviction.
local cache_answers, cache_queue = {}, {}
local cache_head, cache_tail, cache_entries = 1, 0, 0
local cache_hits, cache_misses = 0, 0

define("cache", function(prompt, opts)
    expect_type("cache", "prompt", prompt, "string")
    opts = opts or {}
    local llm_opts = shallow_copy(opts)
    llm_opts.cache_key, llm_opts.cache_skip = nil, nil
    if opts.cache_skip then
        return alc.llm(prompt, llm_opts)
    end
    local key = opts.cache_key
    if key == nil then
        key = fingerprint(
            prompt .. "\0" .. (opts.system or "") .. "\0" .. tostring(opts.max_tokens or DEFAULT_MAX_TOKENS)
        )
    end
    local cached = cache_answers[key]
    if cached ~= nil then
        cache_hits = cache_hits + 1
        alc.log("debug", "alc.cache: hit " .. tostring(key))
        return cached
    end
    cache_misses = cache_misses + 1
    local answer = alc.llm(prompt, llm_opts)
    cache_answers[key] = answer
    cache_tail = cache_tail + 1
    cache_queue[cache_tail] = key
    cache_entries = cache_entries + 1
    while cache_entries > CACHE_MAX_ENTRIES do
        cache_answers[cache_queue[cache_head]] = nil
        cache_queue[cache_head] = nil
        cache_head = cache_head + 1
        cache_entries = cache_entries - 1
    end
    return answer
end)

define("cache_info", function()
    return { entries = cache_entries, hits = cache_hits, misses = cache_misses, max_entries = CACHE_MAX_ENTRIES }
end)

define("cache_clear", function()
    cache_answers, cache_queue = {}, {}
    cache_head, cache_tail, cache_entries = 1, 0, 0
    cache_hits, cache_misses = 0, 0
end)

define("llm_safe", function(prompt, opts, default)
    local ok, answer = pcall(alc.llm, prompt, opts)
    if ok then return answer end
    alc.log("warn", "alc.llm_safe: " .. tostring(answer))
    return default
end)

local REPAIR_SYSTEM = "Output ONLY valid JSON. No markdown fences, no explanation."

define("llm_json", function(prompt, opts)
    local raw = alc.llm(prompt, opts)
    local parsed = json_extract(raw)
    if parsed ~= nil then return parsed, raw end
    alc.log("warn", "alc.llm_json: answer was not JSON; asking once for a repair")
    local repair_opts = shallow_copy(opts)
    repair_opts.system = REPAIR_SYSTEM
    local repair_prompt = "The previous response was not valid JSON.\n\n"
        .. "Previous output:\n" .. tostring(raw) .. "\n\n"
        .. "Fix the JSON and return ONLY valid JSON.\n\n"
        .. "Original request:\n" .. tostring(prompt)
    raw = alc.llm(repair_prompt, repair_opts)
    parsed = json_extract(raw)
    if parsed == nil then
        alc.log("warn", "alc.llm_json: the repaired answer is still not JSON")
    end
    return parsed, raw
end)

define("ground", function(claim, opts)
    local flagged = shallow_copy(opts)
    flagged.grounded = true
    return alc.llm(claim, flagged)
end)

define("specify", function(prompt, opts)
    local flagged = shallow_copy(opts)
    flagged.underspecified = true
    return alc.llm(prompt, flagged)
end)

define("parallel", function(items, prompt_fn, opts)
    expect_type("parallel", "items", items, "table")
    expect_type("parallel", "prompt_fn", prompt_fn, "function")
    if #items == 0 then
        error("alc.parallel: items must be a non-empty array", 2)
    end
    opts = opts or {}
    local batch = {}
    for i, item in ipairs(items) do
        local p = prompt_fn(item, i)
        if type(p) == "string" then
            batch[i] = { prompt = p, system = opts.system, max_tokens = opts.max_tokens }
        elseif type(p) == "table" and type(p.prompt) == "string" then
            batch[i] = shallow_copy(p)
        else
            error(string.format(
                "alc.parallel: prompt_fn must return a string or a table with a string .prompt (item %d gave %s)",
                i, type(p) == "table" and "a table without .prompt" or type(p)), 2)
        end
    end
    if #batch == 0 then return {} end
    local answers = alc.llm_batch(batch)
    if opts.post_fn == nil then return answers end
    local results = {}
    for i = 1, #batch do
        results[i] = opts.post_fn(answers[i], items[i], i)
    end
    return results
end)

------------------------------------------------------------------ budget, state, config

define("budget_check", function()
    local remaining = alc.budget_remaining()
    if type(remaining) ~= "table" then return true end
    for _, capacity in pairs(remaining) do
        if type(capacity) == "number" and capacity <= 0 then return false end
    end
    return true
end)

-- update is atomic without holding the state lock while fn runs (fn is strategy code:
-- it may call alc.llm and wait for a person indefinitely, or call alc.state itself):
-- read the value and its version, run fn unlocked, then write only if the value is
-- still that version; otherwise run fn again on the newer value. So fn may run more
-- than once under contention and should only compute the new value from the old.
local UPDATE_ATTEMPTS = 1000
local state = rawget(alc, "state")
if type(state) == "table" then
    local read_versioned, swap = rawget(state, "_read"), rawget(state, "_swap")
    rawset(state, "_read", nil)
    rawset(state, "_swap", nil)
    rawset(state, "update", function(key, fn, default)
        if type(fn) ~= "function" then
            error("alc.state.update: fn must be a function, got " .. type(fn), 2)
        end
        for _ = 1, UPDATE_ATTEMPTS do
            local current, version = read_versioned(key)
            if current == nil then current = default end
            local updated = fn(current)
            if swap(key, version, updated) then
                return updated
            end
        end
        error(string.format(
            "alc.state.update: key %q changed under concurrent writers on each of %d attempts",
            tostring(key), UPDATE_ATTEMPTS), 2)
    end)
end

--- "map" (merge into it), "array" (replace it) or "empty" (open: replace it).
local function table_kind(t)
    if next(t) == nil then return "empty" end
    return rawget(t, 1) == nil and "map" or "array"
end

local function merge_known(into, overrides)
    for key, current in pairs(into) do
        local override = overrides[key]
        if override ~= nil and type(override) ~= "userdata" then
            if type(current) == "table" and type(override) == "table"
                and table_kind(current) == "map" and table_kind(override) ~= "array" then
                merge_known(current, override)
            else
                into[key] = deep_copy(override)
            end
        end
    end
end

define("tuning", function(defaults, ctx, opts)
    expect_type("tuning", "defaults", defaults, "table")
    opts = opts or {}
    local overrides = ctx or {}
    if type(overrides) ~= "table" then
        error("alc.tuning: ctx must be a table or nil, got " .. type(overrides), 2)
    end
    if opts.prefix ~= nil then
        local scoped = overrides[opts.prefix]
        if type(scoped) == "table" then
            overrides = scoped
        elseif scoped ~= nil then
            alc.log("warn", "alc.tuning: ctx." .. tostring(opts.prefix) .. " is not a table; using defaults")
            overrides = {}
        end
    end
    local result = deep_copy(defaults, true)
    merge_known(result, overrides)
    return result
end)

------------------------------------------------------------------ pipe

local function hand_off(pipe_ctx)
    local previous = pipe_ctx.result
    if type(previous) == "table" then
        pipe_ctx.task = alc.json_encode(previous)
    elseif previous ~= nil then
        pipe_ctx.task = tostring(previous)
    end
end

local function resolve_stage(stage, i)
    if type(stage) == "function" then return "(inline-" .. i .. ")", stage end
    if type(stage) ~= "string" then
        error(string.format("alc.pipe: stage %d must be a package name or a function, got %s", i, type(stage)), 3)
    end
    local ok, pkg = pcall(require, stage)
    if not ok then
        error(string.format("alc.pipe: stage %d: cannot load package '%s': %s", i, stage, tostring(pkg)), 3)
    end
    if type(pkg) ~= "table" or type(pkg.run) ~= "function" then
        error(string.format("alc.pipe: stage %d: package '%s' has no run(ctx)", i, stage), 3)
    end
    return stage, pkg.run
end

define("pipe", function(stages, ctx, opts)
    expect_type("pipe", "stages", stages, "table")
    expect_type("pipe", "ctx", ctx, "table")
    if #stages == 0 then
        error("alc.pipe: stages must be a non-empty array", 2)
    end
    opts = opts or {}
    local pipe_ctx = shallow_copy(ctx)
    local history = {}
    pipe_ctx.pipe_history = history
    for i, stage in ipairs(stages) do
        local name, run = resolve_stage(stage, i)
        local ret = run(pipe_ctx)
        local result
        if ret == nil or ret == pipe_ctx then
            result = pipe_ctx.result
        elseif type(ret) == "table" and ret.result ~= nil then
            result = ret.result
        else
            result = ret
        end
        pipe_ctx.result = result
        history[#history + 1] = { strategy = name, result = result }
        if i < #stages then hand_off(pipe_ctx) end
        -- After the stage, as algocline does: the callback sees its result and the
        -- task handed to the next stage.
        if opts.on_stage then opts.on_stage(i, name, pipe_ctx) end
    end
    return pipe_ctx
end)
