--- reflect — draft, critique, revise until a reviewer approves (or rounds run out).
---
--- The critic must end with "VERDICT: APPROVED" or "VERDICT: REJECTED"; the verdict is
--- read with alc.match_bool (on the verdict line when there is one, else on the whole
--- critique). A critique with no recognisable verdict counts as a rejection, so the
--- loop never stops on an answer nobody approved.
---
--- Usage:
---   return require("reflect").run(ctx)
---
--- ctx.task   (required) the task, a string
--- ctx.rounds (optional) critique rounds at most, integer >= 1 (default 3)
---
--- LLM calls with the defaults: alc.llm only, in this order
---   1            draft                    (max_tokens 800)
---   then per round k = 1..rounds:
---     critique k                          (max_tokens 500)
---     revise k   only if critique k did not approve (max_tokens 800)
--- Approved at round k: 2k calls (approved at once: 2). Never approved: 1 + 2*rounds = 7;
--- the last revision is then returned unreviewed, with approved = false.
---
--- ctx.result = { answer = <final answer>, rounds = <critiques made>, approved = bool,
---                history = { { answer = <reviewed text>, critique = ..., approved = bool }, ... } }

local M = {}

M.meta = {
    name = "reflect",
    version = "0.1.0",
    description = "Reflection loop: draft, critique, revise until approved",
    category = "refinement",
}

-- A fresh table per run, in case alc.tuning merges into the table it is given.
local function defaults()
    return { rounds = 3 }
end

local DRAFT_SYSTEM = "You are a careful, knowledgeable writer. Answer the task accurately "
    .. "and completely, without padding."

local CRITIC_SYSTEM = "You are a demanding reviewer. You check answers for factual errors, "
    .. "missing points and unclear wording, and you approve only an answer you would "
    .. "sign off on exactly as it stands."

local REVISE_SYSTEM = "You are a careful writer revising your answer after a review. Fix "
    .. "every problem the reviewer raised and keep what was already right."

local function trim(s)
    return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function positive_int(value, name)
    if type(value) ~= "number" or value < 1 or value ~= math.floor(value) then
        error(string.format("reflect: %s must be a whole number >= 1, got %s", name, tostring(value)), 3)
    end
    return math.tointeger(value) or value
end

local function draft_prompt(task)
    return "Task: " .. task .. "\n\nWrite your answer to the task."
end

local function critique_prompt(task, answer)
    return table.concat({
        "Task: " .. task,
        "",
        "Answer under review:",
        answer,
        "",
        "Review this answer. List each concrete problem (factual errors, missing points, "
            .. "unclear or misleading wording), most important first. If there is nothing "
            .. "worth fixing, say so in one sentence.",
        "",
        "End with a final line that is exactly one of:",
        "VERDICT: APPROVED",
        "VERDICT: REJECTED",
    }, "\n")
end

local function revise_prompt(task, answer, critique)
    return table.concat({
        "Task: " .. task,
        "",
        "Your previous answer:",
        answer,
        "",
        "Reviewer's critique:",
        critique,
        "",
        "Write the improved answer. Reply with the answer only, not a list of changes.",
    }, "\n")
end

-- true only for an explicit approval; nil (no verdict found) counts as not approved.
local function approves(critique)
    local verdict
    for line in critique:gmatch("[Vv][Ee][Rr][Dd][Ii][Cc][Tt]%s*:%s*([^\n]*)") do
        verdict = line
    end
    local polarity = alc.match_bool(verdict or critique)
    if polarity == nil then
        alc.log("warn", "reflect: critique has no clear verdict; treating it as a rejection")
    end
    return polarity == true
end

function M.run(ctx)
    if type(ctx) ~= "table" then
        error("reflect: run(ctx) needs a ctx table", 2)
    end
    local task = ctx.task
    if task == nil then
        error("reflect: ctx.task is required", 2)
    end
    if type(task) ~= "string" then
        error("reflect: ctx.task must be a string, got " .. type(task), 2)
    end

    local cfg = alc.tuning(defaults(), ctx)
    local rounds = positive_int(cfg.rounds, "ctx.rounds")
    -- Worst case: draft + (critique + revise) per round.
    local total_steps = 1 + 2 * rounds
    local step = 1

    alc.progress(step, total_steps, "draft")
    local answer = trim(alc.llm(draft_prompt(task), { system = DRAFT_SYSTEM, max_tokens = 800 }))
    alc.log("info", "reflect: draft written")

    local history = {}
    local approved = false
    local done_rounds = 0
    for round = 1, rounds do
        step = step + 1
        alc.progress(step, total_steps, "critique " .. round)
        local critique = trim(alc.llm(critique_prompt(task, answer), {
            system = CRITIC_SYSTEM,
            max_tokens = 500,
        }))
        approved = approves(critique)
        done_rounds = round
        history[#history + 1] = { answer = answer, critique = critique, approved = approved }

        if approved then
            alc.log("info", string.format("reflect: approved in round %d", round))
            break
        end
        alc.log("info", string.format("reflect: round %d rejected; revising", round))

        step = step + 1
        alc.progress(step, total_steps, "revise " .. round)
        answer = trim(alc.llm(revise_prompt(task, answer, critique), {
            system = REVISE_SYSTEM,
            max_tokens = 800,
        }))
    end

    if not approved then
        alc.log("warn", string.format("reflect: not approved after %d rounds; returning the last revision", done_rounds))
    end
    alc.progress(total_steps, total_steps, approved and "approved" or "rounds used up")
    alc.stats.record("reflect_rounds", done_rounds)

    ctx.result = { answer = answer, rounds = done_rounds, approved = approved, history = history }
    return ctx
end

return M
