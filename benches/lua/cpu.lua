-- CPU-bound Lua for `cargo bench --bench lua_cpu`: arithmetic in a loop, then sorts.
local function never_called()
  return 0 -- the "debugger armed" case puts its breakpoint here
end

local n = 0
for i = 1, 3000000 do
  n = (n + i * 7) % 1000003
end
local t = {}
local x = 12345
for i = 1, 200000 do
  x = (x * 1103515245 + 12345) % 2147483648
  t[i] = x
end
table.sort(t)
table.sort(t, function(a, b) return a > b end)
return n + t[1] + (never_called and 0 or 1)
