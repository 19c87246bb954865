-- alc:sandbox — the Lua half of ALC_API.md's "What a strategy may touch". Runs once
-- per VM (root and fork children), after the prelude and the package resolvers.
-- Rust hands in the pieces that must not live in Lua (the exit request, the captured
-- streams, os.getenv); this file rewires the standard names around them. The `debug`
-- library is absent (mlua's safe mode), so the originals kept as upvalues here stay
-- out of a strategy's reach.
local opts = ...
local allow_exec = opts.allow_exec
local stdout, stderr = opts.stdout, opts.stderr
local request_exit, cancel_sentinel = opts.request_exit, opts.cancel_sentinel

local raw_load, raw_loadfile, raw_open, raw_type, raw_close, raw_lines =
  load, loadfile, io.open, io.type, io.close, io.lines
local error, select, type = error, select, type

local function refused(what, why)
  return what .. " is disabled in the sandbox (" .. why .. ")"
end

-- Processes -----------------------------------------------------------------------
if not allow_exec then
  local how = "start the workbench with --allow-exec to allow it"
  io.popen = function()
    error(refused("io.popen", how), 2)
  end
  os.execute = function(cmd)
    -- Without a command, os.execute asks whether a shell is available: say no.
    if cmd == nil then
      return false
    end
    error(refused("os.execute", how), 2)
  end
else
  os.execute = opts.execute
end

-- os.exit ends the session, never the process. The Rust side records the request
-- and sets the session's cancel flag, so every pcall re-raises the sentinel.
os.exit = function(code)
  request_exit(code)
  error(cancel_sentinel, 0)
end

os.getenv = opts.getenv

-- Binary chunks ---------------------------------------------------------------------
local BINARY = opts.binary_refused

local function is_binary_refusal(msg)
  return type(msg) == "string" and msg:find("attempt to load a binary chunk", 1, true) ~= nil
end

local function check_mode(mode)
  if mode ~= nil and type(mode) == "string" and not mode:find("t", 1, true) then
    error(BINARY, 3)
  end
end

-- What load/loadfile return: the function, or nil and the message; a binary chunk is
-- an error that blames the strategy's line (level 3: past this helper and the loader;
-- callers keep the call out of tail position so that frame is there).
local function text_chunk(f, msg)
  if f == nil then
    if is_binary_refusal(msg) then
      error(BINARY, 3)
    end
    return nil, msg
  end
  return f
end

load = function(chunk, chunkname, mode, ...)
  check_mode(mode)
  local f, msg
  if select("#", ...) > 0 then
    f, msg = text_chunk(raw_load(chunk, chunkname, "t", ...))
  else
    f, msg = text_chunk(raw_load(chunk, chunkname, "t"))
  end
  if f == nil then
    return nil, msg
  end
  return f
end

loadfile = function(filename, mode, ...)
  check_mode(mode)
  local f, msg
  if select("#", ...) > 0 then
    f, msg = text_chunk(raw_loadfile(filename, "t", ...))
  else
    f, msg = text_chunk(raw_loadfile(filename, "t"))
  end
  if f == nil then
    return nil, msg
  end
  return f
end

dofile = function(filename)
  local f, msg = raw_loadfile(filename, "t")
  if f == nil then
    error(is_binary_refusal(msg) and BINARY or msg, is_binary_refusal(msg) and 2 or 0)
  end
  return f()
end

package.loadlib = function()
  error(refused("package.loadlib", "native code is unverified and can crash the workbench"), 2)
end

-- require ---------------------------------------------------------------------------
local searchers = package.searchers
-- The stock Lua-file searcher (third, after the resolvers and preload) would load a
-- binary file from package.path: replace it with a text-only one. C searchers are
-- already stubs (mlua's safe mode).
searchers[3] = function(name)
  local path, err = package.searchpath(name, package.path)
  if not path then
    return err
  end
  local f, msg = raw_loadfile(path, "t")
  if f == nil then
    if is_binary_refusal(msg) then
      msg = BINARY
    end
    error(("error loading module '%s' from file '%s':\n\t%s"):format(name, path, msg), 3)
  end
  return f, path
end

local function bad_module_name(name)
  if name:sub(1, 1) == "/" or name:sub(1, 1) == "\\" or name:match("^%a:[/\\]") then
    return "is an absolute path"
  elseif name:sub(1, 1) == "." then
    return "starts with '.'"
  elseif name:find("..", 1, true) then
    return "contains '..'"
  end
  return nil
end

-- First searcher: refuse path-like names before any resolver sees them. Level 3 is
-- the strategy line that called require (1 = this searcher, 2 = require).
table.insert(searchers, 1, function(name)
  local why = bad_module_name(name)
  if why then
    error(("require(%q) is refused in the sandbox: the name %s (modules are named "
      .. "like \"pkg\" or \"pkg.sub\", and resolved through the package paths)"):format(name, why), 3)
  end
  return nil
end)

-- Output ----------------------------------------------------------------------------
-- io.write, io.stdout:write and io.stderr:write become log events (stderr at warn).
-- io.output() may still be pointed at a real file, which is then written normally.
local function is_captured(f)
  return f == stdout or f == stderr
end

local current = stdout
io.stdout, io.stderr = stdout, stderr

-- Opening the workbench's own output or terminal for writing would go around the
-- capture: refused. Reading files, and writing any other file, is untouched.
local is_own_output = opts.is_own_output
local function check_writable(filename, mode, level)
  if type(filename) == "string" and type(mode) == "string" and mode:find("[wa+]")
      and is_own_output(filename) then
    error(refused(("writing to %q"):format(filename),
      "that is the workbench's own output or terminal; io.write and print become log events"),
      level + 1)
  end
end

-- Input ---------------------------------------------------------------------------
-- The workbench's stdin is the person's keyboard (the workbench's keys, or `run`
-- asking on the terminal): a strategy reading it would steal their keystrokes and
-- block in C where a cancel cannot reach. io.read, io.lines() and io.stdin are
-- refused while the default input is stdin; io.input(FILE) and reading files work.
local STDIN_WHY = "it is the workbench's own input, the person's keys; pass data in ctx or read a file"
local function refuse_stdin(level)
  error(refused("reading stdin", STDIN_WHY), level + 1)
end
local stdin = setmetatable({}, {
  __index = function()
    return function()
      refuse_stdin(2)
    end
  end,
  __tostring = function()
    return "file (stdin, refused)"
  end,
})
local current_input = stdin
io.stdin = stdin

local function check_readable(filename, mode, level)
  if type(filename) == "string" and (mode == nil or (type(mode) == "string" and mode:find("r")))
      and is_own_output(filename) then
    error(refused(("reading %q"):format(filename),
      "that is the workbench's own input or terminal; pass data in ctx or read a file"), level + 1)
  end
end

io.input = function(file)
  if file == nil then
    return current_input
  end
  if type(file) == "string" then
    check_readable(file, "r", 2)
    local f, msg = raw_open(file, "r")
    if not f then
      error(msg, 2)
    end
    current_input = f
  elseif file == stdin or raw_type(file) == "file" then
    current_input = file
  else
    error("bad argument #1 to 'input' (file expected, got " .. type(file) .. ")", 2)
  end
  return current_input
end

io.read = function(...)
  if current_input == stdin then
    refuse_stdin(2)
  end
  return current_input:read(...)
end

io.lines = function(filename, ...)
  if filename == nil then
    if current_input == stdin then
      refuse_stdin(2)
    end
    return current_input:lines(...)
  end
  check_readable(filename, "r", 2)
  return raw_lines(filename, ...)
end

io.open = function(filename, mode)
  check_writable(filename, mode, 2)
  check_readable(filename, mode, 2)
  return raw_open(filename, mode)
end

io.output = function(file)
  if file == nil then
    return current
  end
  if type(file) == "string" then
    check_writable(file, "w", 2)
    local f, msg = raw_open(file, "w")
    if not f then
      error(msg, 2)
    end
    current = f
  elseif is_captured(file) or raw_type(file) == "file" then
    current = file
  else
    error("bad argument #1 to 'output' (file expected, got " .. type(file) .. ")", 2)
  end
  return current
end

io.write = function(...)
  return current:write(...)
end

io.close = function(file)
  if file == nil then
    return current:close()
  end
  if is_captured(file) then
    return file:close()
  end
  return raw_close(file)
end

io.type = function(obj)
  if is_captured(obj) or obj == stdin then
    return "file"
  end
  return raw_type(obj)
end
