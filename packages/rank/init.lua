--- rank — score candidate answers 1..10 with a grader and rank them.
---
--- Candidates come from ctx.candidates, or are generated first (one alc.llm_batch, each
--- item with a different angle). Grading uses alc.parallel (one batch, one grader per
--- candidate, graded independently so no candidate's score depends on its neighbours)
--- and alc.parse_score on the "SCORE:" line. Ties keep the original order.
---
--- Usage:
---   return require("rank").run(ctx)
---
--- ctx.task       (required) the task, a string
--- ctx.candidates (optional) array of candidate answers (strings) to rank
--- ctx.n          (optional) candidates to generate when none are given (default 3)
---
--- LLM calls with the defaults (no candidates): 2 alc.llm_batch calls, 6 queries —
---   batch 1: generate candidates 1..3   (max_tokens 600)
---   batch 2: grade candidates 1..3      (max_tokens 200)
--- With ctx.candidates: only batch 2, one item per candidate.
---
--- ctx.result = { answer = <best candidate>, best_score = <1..10>,
---                ranking = { { rank, score, candidate, reason, index }, ... } }
--- Stats: "best_score".

local M = {}

M.meta = {
    name = "rank",
    version = "0.1.0",
    description = "Rank: generate or take candidates, grade each 1-10, sort",
    category = "selection",
}

-- A fresh table per run, in case alc.tuning merges into the table it is given.
local function defaults()
    return { n = 3 }
end

local WRITER_SYSTEM = "You are a knowledgeable, careful writer. Answer the task well "
    .. "in the way you are asked to."

local GRADER_SYSTEM = "You are a strict grader. You judge one answer at a time on "
    .. "correctness, completeness and clarity, and you use the whole 1-10 scale."

local ANGLES = {
    "Answer as directly and briefly as you can.",
    "Answer with a concrete example that makes the point clear.",
    "Answer with the underlying reasoning spelled out.",
    "Answer for a reader who knows nothing about the subject.",
    "Answer for an expert, precisely and without simplifying.",
}

local function trim(s)
    return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function positive_int(value, name)
    if type(value) ~= "number" or value < 1 or value ~= math.floor(value) then
        error(string.format("rank: %s must be a whole number >= 1, got %s", name, tostring(value)), 3)
    end
    return math.tointeger(value) or value
end

local function generate(task, n)
    local items = {}
    for i = 1, n do
        items[i] = {
            prompt = table.concat({
                "Task: " .. task,
                "",
                ANGLES[(i - 1) % #ANGLES + 1],
                "Reply with the answer only.",
            }, "\n"),
            system = WRITER_SYSTEM,
            max_tokens = 600,
        }
    end
    local texts = alc.llm_batch(items)
    local candidates = {}
    for i = 1, n do
        candidates[i] = trim(texts[i] or "")
    end
    return candidates
end

local function grade_prompt(task, candidate)
    return table.concat({
        "Task: " .. task,
        "",
        "Candidate answer:",
        candidate,
        "",
        "Grade how well this candidate answers the task, from 1 (wrong or useless) to "
            .. "10 (correct, complete and clear). Reply with the score on the first line "
            .. "as 'SCORE: <1-10>', then one sentence explaining it.",
    }, "\n")
end

-- parse_score takes the first integer, so read it after "SCORE:" when the grader
-- wrote one; the explanation may contain other numbers.
local function read_grade(text)
    local after = text:match("[Ss][Cc][Oo][Rr][Ee]%s*:%s*([^\n]*)")
    local score = alc.parse_score(after or text)
    local reason = text:gsub("[^\n]*[Ss][Cc][Oo][Rr][Ee]%s*:[^\n]*\n?", "", 1)
    return score, trim(reason)
end

function M.run(ctx)
    if type(ctx) ~= "table" then
        error("rank: run(ctx) needs a ctx table", 2)
    end
    local task = ctx.task
    if task == nil then
        error("rank: ctx.task is required", 2)
    end
    if type(task) ~= "string" then
        error("rank: ctx.task must be a string, got " .. type(task), 2)
    end

    local cfg = alc.tuning(defaults(), ctx)
    local candidates = ctx.candidates
    local generated = candidates == nil
    if generated then
        local n = positive_int(cfg.n, "ctx.n")
        alc.progress(1, 2, string.format("writing %d candidates", n))
        candidates = generate(task, n)
    else
        if type(candidates) ~= "table" or #candidates == 0 then
            error("rank: ctx.candidates must be a non-empty array of strings", 2)
        end
        for i, c in ipairs(candidates) do
            if type(c) ~= "string" then
                error(string.format("rank: ctx.candidates[%d] must be a string, got %s", i, type(c)), 2)
            end
        end
    end

    alc.progress(2, 2, string.format("grading %d candidates", #candidates))
    local grades = alc.parallel(candidates, function(candidate)
        return grade_prompt(task, candidate)
    end, {
        system = GRADER_SYSTEM,
        max_tokens = 200,
        post_fn = function(resp)
            local score, reason = read_grade(resp)
            return { score = score, reason = reason }
        end,
    })

    local ranking = {}
    for i, candidate in ipairs(candidates) do
        ranking[i] = { index = i, candidate = candidate, score = grades[i].score, reason = grades[i].reason }
    end
    table.sort(ranking, function(a, b)
        if a.score ~= b.score then
            return a.score > b.score
        end
        return a.index < b.index
    end)
    for r, entry in ipairs(ranking) do
        entry.rank = r
        alc.log("info", string.format("rank: #%d candidate %d scored %d", r, entry.index, entry.score))
    end

    local best = ranking[1]
    alc.stats.record("best_score", best.score)
    ctx.result = {
        answer = best.candidate,
        best_score = best.score,
        generated = generated,
        ranking = ranking,
    }
    return ctx
end

return M
