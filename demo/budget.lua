-- Demo: running out of budget. A brainstorm that asks for one idea per alc.llm call,
-- up to six. Run it with a call budget smaller than that:
--   alc-workbench demo/budget.lua --answers demo/budget.answers.jsonl --budget-calls 3
-- The engine reads ctx.budget once, when the session starts (from --budget-calls or
-- the ctx JSON), so setting ctx.budget inside this script would change nothing.
-- Once the budget is spent, alc.llm raises an error starting "budget_exceeded:";
-- the loop catches it with pcall, logs a warning and returns the ideas it has.
-- Without a budget it simply collects all six ideas.
local task = ctx.task
if task == nil or task == "" then
  task = "Name ideas for a neighbourhood café that also repairs bicycles."
end

local max_ideas = 6
local ideas = {}
local stopped_by = "done"

for i = 1, max_ideas do
  local left = alc.budget_remaining()
  if left and left.llm_calls then
    alc.log("info", string.format("asking for idea %d; %d calls left", i, left.llm_calls))
  end
  alc.progress(i, max_ideas, "idea " .. i)

  local prompt = "Task: " .. task .. "\n\nIdeas so far:\n"
    .. (#ideas > 0 and ("- " .. table.concat(ideas, "\n- ")) or "(none yet)")
    .. "\n\nGive ONE new name, different from those above, and a few words on why it works."
  local ok, reply = pcall(alc.llm, prompt, { system = "You are a playful brand namer.", max_tokens = 80 })
  if not ok then
    if tostring(reply):find("budget_exceeded", 1, true) then
      alc.log("warn", "budget spent after " .. #ideas .. " ideas; returning what we have")
      stopped_by = "budget"
      break
    end
    error(reply, 0) -- any other failure is a real error
  end
  ideas[#ideas + 1] = reply
end

return { ideas = ideas, count = #ideas, stopped_by = stopped_by }
