-- alc:core — wraps the Rust primitives (Layer 0) so their errors reach strategies as
-- plain strings (`err:match("^budget_exceeded")` works under pcall), and makes a call
-- to any name outside the alc API fail with a message naming it.
local raw, math_module, is_cancelled, cancel_sentinel = ...

local function lift(f)
  return function(...)
    local r = table.pack(f(...))
    if r[1] then
      return table.unpack(r, 2, r.n)
    end
    error(r[2], r[3])
  end
end

-- A stand-in for a name that is not part of the API: probing it is harmless, calling
-- it (or anything under it) raises an error with the full dotted name.
local function missing(path)
  return setmetatable({}, {
    __index = function(_, k)
      return missing(path .. "." .. tostring(k))
    end,
    __call = function()
      error(path .. " is not available: it is not part of the alc API implemented by alc-workbench", 2)
    end,
    __tostring = function()
      return "missing " .. path
    end,
  })
end

local function namespace(path)
  return setmetatable({}, {
    __index = function(_, k)
      return missing(path .. "." .. tostring(k))
    end,
  })
end

-- Once the session is cancelled, no Lua code may swallow that: every way of catching
-- an error re-raises it. (The debug hook raises the first one; a strategy that wraps
-- its loop in pcall would otherwise spin forever.)
local raw_pcall, raw_xpcall, raw_resume = pcall, xpcall, coroutine.resume
local function recheck(...)
  if is_cancelled() then
    error(cancel_sentinel, 0)
  end
  return ...
end
pcall = function(...)
  return recheck(raw_pcall(...))
end
-- A message handler runs with hooks off when the error came from the cancel hook
-- (Lua disables hooks while one runs), so a looping handler could never be
-- interrupted: once cancelled, the strategy's handler is skipped.
xpcall = function(f, handler, ...)
  if type(handler) ~= "function" then
    return recheck(raw_xpcall(f, handler, ...))
  end
  return recheck(raw_xpcall(f, function(e)
    if is_cancelled() then
      return e
    end
    return handler(e)
  end, ...))
end
coroutine.resume = function(...)
  return recheck(raw_resume(...))
end

local alc = namespace("alc")
alc.state = namespace("alc.state")
alc.stats = namespace("alc.stats")
for name, f in pairs(raw) do
  local ns, key = name:match("^([%w_]+)%.([%w_]+)$")
  if ns then
    rawset(alc[ns], key, lift(f))
  else
    rawset(alc, name, lift(f))
  end
end
rawset(alc, "math", math_module)
return alc
