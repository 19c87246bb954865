--- cot — chain of thought: a few cumulative reasoning steps, then a final answer.
---
--- Each step is its own alc.llm call that sees the task and every step so far, so a
--- person answering by hand (or a model) builds the reasoning one visible piece at a
--- time; the last call turns the whole chain into the answer.
---
--- Usage:
---   return require("cot").run(ctx)
---
--- ctx.task  (required) the question or task, a string
--- ctx.depth (optional) reasoning steps before the answer, integer >= 1 (default 3)
---
--- LLM calls with the defaults: 4 alc.llm calls, in this order
---   1..depth  "Write step i of depth ..."   (system: careful reasoner, max_tokens 400)
---   depth+1   "Now give the final answer ..." (max_tokens 600)
---
--- ctx.result = { answer = <final text>, chain = { <step 1>, ..., <step depth> } }

local M = {}

M.meta = {
    name = "cot",
    version = "0.1.0",
    description = "Chain of thought: cumulative reasoning steps, then a final answer",
    category = "reasoning",
}

-- A fresh table per run, in case alc.tuning merges into the table it is given.
local function defaults()
    return { depth = 3 }
end

local STEP_SYSTEM = "You are a careful reasoner. You work through a problem one step "
    .. "at a time, state each step plainly, and never jump ahead to the conclusion."

local ANSWER_SYSTEM = "You are a careful reasoner writing the final answer. Be accurate, "
    .. "direct and concise, and stay consistent with the reasoning you were given."

local function trim(s)
    return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A positive whole number, whether JSON gave us an integer or a float like 3.0.
local function positive_int(value, name)
    if type(value) ~= "number" or value < 1 or value ~= math.floor(value) then
        error(string.format("cot: %s must be a whole number >= 1, got %s", name, tostring(value)), 3)
    end
    return math.tointeger(value) or value
end

local function format_chain(chain)
    local lines = {}
    for i, step in ipairs(chain) do
        lines[#lines + 1] = string.format("Step %d: %s", i, step)
    end
    return table.concat(lines, "\n")
end

local function step_prompt(task, chain, i, depth)
    local parts = { "Task: " .. task, "" }
    if #chain > 0 then
        parts[#parts + 1] = "Reasoning so far:"
        parts[#parts + 1] = format_chain(chain)
        parts[#parts + 1] = ""
    end
    if i == 1 then
        parts[#parts + 1] = string.format(
            "Write step 1 of %d of your reasoning: the first thing that must be "
                .. "established to answer the task. Keep it to one or two sentences "
                .. "and do not give the final answer yet.",
            depth
        )
    else
        parts[#parts + 1] = string.format(
            "Write step %d of %d of your reasoning: the next step, building on the "
                .. "steps above. Keep it to one or two sentences and do not give the "
                .. "final answer yet.",
            i,
            depth
        )
    end
    return table.concat(parts, "\n")
end

local function answer_prompt(task, chain)
    return table.concat({
        "Task: " .. task,
        "",
        "Reasoning:",
        format_chain(chain),
        "",
        "Now give the final answer to the task, based on this reasoning. Start with "
            .. "the answer itself, then explain it in at most three sentences.",
    }, "\n")
end

function M.run(ctx)
    if type(ctx) ~= "table" then
        error("cot: run(ctx) needs a ctx table", 2)
    end
    local task = ctx.task
    if task == nil then
        error("cot: ctx.task is required", 2)
    end
    if type(task) ~= "string" then
        error("cot: ctx.task must be a string, got " .. type(task), 2)
    end

    local cfg = alc.tuning(defaults(), ctx)
    local depth = positive_int(cfg.depth, "ctx.depth")
    local total = depth + 1

    local chain = {}
    for i = 1, depth do
        alc.progress(i, total, "step " .. i)
        local step = alc.llm(step_prompt(task, chain, i, depth), {
            system = STEP_SYSTEM,
            max_tokens = 400,
        })
        chain[#chain + 1] = trim(step)
        alc.log("info", string.format("cot: step %d/%d done (%d chars)", i, depth, #chain[i]))
    end

    alc.progress(total, total, "final answer")
    local answer = trim(alc.llm(answer_prompt(task, chain), {
        system = ANSWER_SYSTEM,
        max_tokens = 600,
    }))
    alc.log("info", "cot: final answer ready")

    ctx.result = { answer = answer, chain = chain }
    return ctx
end

return M
