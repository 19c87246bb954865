-- Demo: draft, critique, revise. The critic ends with APPROVED or REJECTED and
-- alc.match_bool reads the verdict; the loop stops at the first approval. With the
-- canned answers the first draft is rejected, the revision approved (4 alc.llm calls).
--   alc-workbench demo/review.lua --answers demo/review.answers.jsonl
local task = ctx.task
if task == nil or task == "" then
  task = "Explain what a hash table is to a new programmer, in three sentences."
end

local max_rounds = 3
local WRITER = "You are a clear, accurate technical writer."
local CRITIC = "You are a demanding reviewer. Approve only what you would publish as is."

alc.progress(1, 1 + 2 * max_rounds, "draft")
local answer = alc.llm("Task: " .. task .. "\n\nWrite your answer.",
  { system = WRITER, max_tokens = 400 })

local history = {}
local approved = false
for round = 1, max_rounds do
  alc.progress(2 * round, 1 + 2 * max_rounds, "critique " .. round)
  local critique = alc.llm("Task: " .. task .. "\n\nAnswer under review:\n" .. answer
    .. "\n\nList any factual errors, gaps or unclear wording. End with a final line "
    .. "'VERDICT: APPROVED' or 'VERDICT: REJECTED'.",
    { system = CRITIC, max_tokens = 400 })
  approved = alc.match_bool(critique) == true
  history[round] = { answer = answer, critique = critique, approved = approved }
  if approved then
    alc.log("info", "approved in round " .. round)
    break
  end
  alc.log("warn", "round " .. round .. " rejected; revising")

  alc.progress(2 * round + 1, 1 + 2 * max_rounds, "revise " .. round)
  answer = alc.llm("Task: " .. task .. "\n\nYour previous answer:\n" .. answer
    .. "\n\nReviewer's critique:\n" .. critique
    .. "\n\nWrite the improved answer. Reply with the answer only.",
    { system = WRITER, max_tokens = 400 })
end

return { answer = answer, approved = approved, rounds = #history, history = history }
