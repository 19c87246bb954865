--- panel — run several strategies on the same task and let a judge pick the best answer.
---
--- The strategies run through alc.fork, each on its own child VM and concurrently, so
--- their queries arrive interleaved (answer files for a panel need "match" rules, not
--- ordered answers). A failed child is left out; the judge sees the rest, labelled by
--- strategy name, and must end with "WINNER: <name>", read with alc.match_enum.
---
--- Usage:
---   return require("panel").run(ctx)
---
--- ctx.task       (required) the task, a string
--- ctx.strategies (optional) package names, distinct (default { "cot", "reflect" })
--- Every other ctx field (depth, rounds, n, ...) except budget is passed to each child.
---
--- LLM calls with the defaults: the children's calls (cot: 4 alc.llm; reflect: 2..7
--- alc.llm), interleaved in no fixed order; then 1 alc.llm for the judge
--- (max_tokens 600). With fewer than two successful children there is no judge call.
---
--- ctx.result = { answer = <winning answer>, winner = <strategy name>,
---                judgement = <judge text or nil>,
---                candidates = { { strategy, ok, answer | error }, ... } }

local M = {}

M.meta = {
    name = "panel",
    version = "0.1.0",
    description = "Panel: fork several strategies, a judge picks the best answer",
    category = "ensemble",
}

-- A fresh table per run, in case alc.tuning merges into the table it is given.
local function defaults()
    return { strategies = { "cot", "reflect" } }
end

local JUDGE_SYSTEM = "You are an impartial judge of answers. You prefer the answer that "
    .. "is correct first, then complete, then clear, and you ignore length and style "
    .. "for their own sake."

-- Keys that describe this panel run and must not leak into the children. The budget
-- stays with the session: the children's queries are this session's queries and are
-- counted there already.
local NOT_FOR_CHILDREN = { result = true, strategies = true, budget = true }

local function trim(s)
    return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A child returns its ctx (answer in ctx.result) or a result table; either way the
-- readable answer is `.answer` when there is one.
local function answer_of(child_result)
    local r = child_result
    if type(r) == "table" and r.result ~= nil then
        r = r.result
    end
    if type(r) == "table" then
        if type(r.answer) == "string" then
            return r.answer
        elseif r.answer ~= nil then
            return alc.json_encode(r.answer)
        end
        return alc.json_encode(r)
    end
    if r == nil then
        return nil
    end
    return tostring(r)
end

local function check_strategies(list)
    if type(list) ~= "table" or #list == 0 then
        error("panel: ctx.strategies must be a non-empty array of package names", 3)
    end
    local seen = {}
    for i, name in ipairs(list) do
        if type(name) ~= "string" or not name:match("^[%w_]+$") then
            error(string.format("panel: ctx.strategies[%d] is not a package name: %s", i, tostring(name)), 3)
        end
        if seen[name] then
            -- names are the judge's labels, so they must tell the candidates apart
            error("panel: ctx.strategies lists '" .. name .. "' twice", 3)
        end
        seen[name] = true
    end
end

local function judge_prompt(task, candidates)
    local parts = {
        "Task: " .. task,
        "",
        "Candidate answers, each produced by a different reasoning strategy:",
    }
    local labels = {}
    for _, c in ipairs(candidates) do
        parts[#parts + 1] = ""
        parts[#parts + 1] = "[" .. c.strategy .. "]"
        parts[#parts + 1] = c.answer
        labels[#labels + 1] = c.strategy
    end
    parts[#parts + 1] = ""
    parts[#parts + 1] = "Decide which candidate answers the task best: correct first, then "
        .. "complete, then clear. Explain your choice in two or three sentences, then end "
        .. "with a final line exactly in this form:"
    parts[#parts + 1] = "WINNER: <label>"
    parts[#parts + 1] = "where <label> is one of: " .. table.concat(labels, ", ")
    return table.concat(parts, "\n"), labels
end

function M.run(ctx)
    if type(ctx) ~= "table" then
        error("panel: run(ctx) needs a ctx table", 2)
    end
    local task = ctx.task
    if task == nil then
        error("panel: ctx.task is required", 2)
    end
    if type(task) ~= "string" then
        error("panel: ctx.task must be a string, got " .. type(task), 2)
    end

    local cfg = alc.tuning(defaults(), ctx)
    check_strategies(cfg.strategies)

    local child_ctx = {}
    for k, v in pairs(ctx) do
        if not NOT_FOR_CHILDREN[k] then
            child_ctx[k] = v
        end
    end

    alc.progress(1, 2, "running " .. table.concat(cfg.strategies, ", "))
    local runs = alc.fork(cfg.strategies, child_ctx, { on_error = "skip" })

    local candidates, usable = {}, {}
    for i, run in ipairs(runs) do
        local name = run.strategy or cfg.strategies[i]
        if run.ok then
            local answer = answer_of(run.result)
            candidates[#candidates + 1] = { strategy = name, ok = true, answer = answer }
            if answer ~= nil and trim(answer) ~= "" then
                usable[#usable + 1] = { strategy = name, answer = answer }
            else
                alc.log("warn", "panel: " .. name .. " finished without an answer")
            end
        else
            candidates[#candidates + 1] = { strategy = name, ok = false, error = tostring(run.error) }
            alc.log("warn", "panel: " .. name .. " failed: " .. tostring(run.error))
        end
    end

    if #usable == 0 then
        error("panel: no strategy produced an answer", 2)
    end

    alc.progress(2, 2, "judging")
    local winner, judgement = usable[1], nil
    if #usable == 1 then
        alc.log("info", "panel: only " .. winner.strategy .. " answered; no judge needed")
    else
        local prompt, labels = judge_prompt(task, usable)
        judgement = trim(alc.llm(prompt, { system = JUDGE_SYSTEM, max_tokens = 600 }))
        local verdict
        for line in judgement:gmatch("[Ww][Ii][Nn][Nn][Ee][Rr]%s*:%s*([^\n]*)") do
            verdict = line
        end
        local label = alc.match_enum(verdict or judgement, labels)
        if label == nil then
            alc.log("warn", "panel: judge named no candidate; keeping " .. winner.strategy)
        else
            for _, c in ipairs(usable) do
                if c.strategy == label then
                    winner = c
                end
            end
        end
        alc.log("info", "panel: judge picked " .. winner.strategy)
    end
    alc.stats.record("panel_winner", winner.strategy)

    ctx.result = {
        answer = winner.answer,
        winner = winner.strategy,
        judgement = judgement,
        candidates = candidates,
    }
    return ctx
end

return M
