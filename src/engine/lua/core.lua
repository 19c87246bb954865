-- alc:core — wraps the Rust primitives (Layer 0) so their errors reach strategies as
-- plain strings (`err:match("^budget_exceeded")` works under pcall), and makes a call
-- to any name outside the alc API fail with a message naming it.
local raw, math_module = ...

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

local alc = namespace("alc")
alc.state = namespace("alc.state")
alc.stats = namespace("alc.stats")
for name, f in pairs(raw) do
  local ns, key = name:match("^(%w+)%.(%w+)$")
  if ns then
    rawset(alc[ns], key, lift(f))
  else
    rawset(alc, name, lift(f))
  end
end
rawset(alc, "math", math_module)
return alc
