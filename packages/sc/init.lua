--- sc — self-consistency: sample several independent solutions, keep the majority answer.
---
--- All samples go out as ONE alc.llm_batch, so they are answered side by side (and a
--- person sees "1 of n" in the Pending pane). Each sample gets a different approach
--- hint so the samples do not all follow the same path, and must end with a line
--- "ANSWER: <x>". The answers are normalised (numbers compared as numbers) and voted.
---
--- Usage:
---   return require("sc").run(ctx)
---
--- ctx.task (required) the question, a string; best for questions with a short answer
--- ctx.n    (optional) number of samples, integer >= 1 (default 5)
---
--- LLM calls with the defaults: 1 alc.llm_batch of 5 items (5 answered queries),
--- items in sample order 1..n (system: careful solver, max_tokens 500 each).
---
--- ctx.result = { answer = <winning answer or nil>, votes = <count>, total = n,
---                samples = { { answer = <extracted or nil>, text = <raw> }, ... } }
--- Samples with no "ANSWER:" line abstain; they still count in `total`.
--- Stats: "agreement" = votes / n.

local M = {}

M.meta = {
    name = "sc",
    version = "0.1.0",
    description = "Self-consistency: n independent samples in one batch, majority vote",
    category = "reasoning",
}

-- A fresh table per run, in case alc.tuning merges into the table it is given.
local function defaults()
    return { n = 5 }
end

local SYSTEM = "You are a careful problem solver. Work the problem out, check your "
    .. "result, and finish with a single line of the form 'ANSWER: <answer>'."

-- Cycled over the samples; different starting points make independent errors likelier
-- than repeated ones, which is what the vote relies on.
local APPROACHES = {
    "Work forwards from the facts you are given.",
    "Work backwards from what the question asks for.",
    "First restate the problem in your own words, then solve it.",
    "Solve it, then check the result with a different method.",
    "Estimate the answer roughly first, then work it out exactly.",
}

local function trim(s)
    return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function positive_int(value, name)
    if type(value) ~= "number" or value < 1 or value ~= math.floor(value) then
        error(string.format("sc: %s must be a whole number >= 1, got %s", name, tostring(value)), 3)
    end
    return math.tointeger(value) or value
end

local function sample_prompt(task, i)
    local approach = APPROACHES[(i - 1) % #APPROACHES + 1]
    return table.concat({
        "Question: " .. task,
        "",
        "Approach: " .. approach,
        "",
        "Show your working briefly. End with a final line exactly in this form:",
        "ANSWER: <your answer>",
        "Put only the answer on that line (a number, word or short phrase).",
    }, "\n")
end

-- Numbers written differently ("$7", "7.0", "1,200 muffins") should vote together.
-- Only answers that are a number with at most a currency sign and one unit word are
-- folded; anything else ("2 or 3") is compared as text.
local function normalise(answer)
    answer = trim(answer):gsub("^%*+", ""):gsub("%*+$", "")
    answer = trim(answer):gsub("^[\"'`]", ""):gsub("[\"'`]$", "")
    answer = trim(answer):gsub("%.$", "")
    answer = trim(answer)
    local bare = answer:gsub(",", "")
    if bare:match("^[%$]?%s*[-+]?%d*%.?%d+%s*%%?%s*%a*$") then
        local value = alc.parse_number(bare)
        if value ~= nil then
            local as_int = math.tointeger(value)
            if as_int then
                return tostring(as_int)
            end
            return string.format("%.10g", value)
        end
    end
    return answer
end

-- The LAST "ANSWER:" wins: a sample may quote the format while working.
local function extract_answer(text)
    local found
    for candidate in text:gmatch("[Aa][Nn][Ss][Ww][Ee][Rr]%**%s*:%**%s*([^\n]*)") do
        found = candidate
    end
    if found == nil then
        return nil
    end
    local answer = normalise(found)
    if answer == "" then
        return nil
    end
    return answer
end

function M.run(ctx)
    if type(ctx) ~= "table" then
        error("sc: run(ctx) needs a ctx table", 2)
    end
    local task = ctx.task
    if task == nil then
        error("sc: ctx.task is required", 2)
    end
    if type(task) ~= "string" then
        error("sc: ctx.task must be a string, got " .. type(task), 2)
    end

    local cfg = alc.tuning(defaults(), ctx)
    local n = positive_int(cfg.n, "ctx.n")

    local items = {}
    for i = 1, n do
        items[i] = { prompt = sample_prompt(task, i), system = SYSTEM, max_tokens = 500 }
    end

    alc.progress(1, 2, string.format("sampling %d solutions", n))
    local texts = alc.llm_batch(items)

    alc.progress(2, 2, "voting")
    local samples, answers = {}, {}
    for i = 1, n do
        local text = texts[i] or ""
        local answer = extract_answer(text)
        samples[i] = { answer = answer, text = text }
        if answer then
            answers[#answers + 1] = answer
        else
            alc.log("warn", string.format("sc: sample %d has no 'ANSWER:' line; it abstains", i))
        end
    end

    local winner, votes = nil, 0
    if #answers > 0 then
        local tally = alc.vote(answers)
        winner, votes = tally.winner, tally.count
        alc.log("info", string.format("sc: %q won with %d of %d votes", tostring(winner), votes, n))
    else
        alc.log("warn", "sc: no sample gave an answer; result has no answer")
    end
    alc.stats.record("agreement", votes / n)

    ctx.result = { answer = winner, votes = votes, total = n, samples = samples }
    return ctx
end

return M
