-- Demo: chain of thought. Three reasoning steps, each building on the ones before,
-- then a final answer: four alc.llm calls in all.
--   alc-workbench demo/cot.lua --answers demo/cot.answers.jsonl
local task = ctx.task
if task == nil or task == "" then
  task = "Why is the sky blue?"
end

local SYSTEM = "You are a careful reasoner. Take one step at a time and state it plainly."
local depth = 3
local chain = {}

local function chain_text()
  local lines = {}
  for j, step in ipairs(chain) do
    lines[j] = string.format("Step %d: %s", j, step)
  end
  return table.concat(lines, "\n")
end

for i = 1, depth do
  alc.progress(i, depth + 1, "step " .. i)
  local prompt = "Task: " .. task .. "\n\n"
  if #chain > 0 then
    prompt = prompt .. "Reasoning so far:\n" .. chain_text() .. "\n\n"
  end
  prompt = prompt .. string.format("Write step %d of %d of your reasoning. One or two "
    .. "sentences; do not give the final answer yet.", i, depth)
  chain[i] = alc.llm(prompt, { system = SYSTEM, max_tokens = 400 })
  alc.log("info", string.format("step %d done (%d chars)", i, #chain[i]))
end

alc.progress(depth + 1, depth + 1, "final answer")
local answer = alc.llm("Task: " .. task .. "\n\nReasoning:\n" .. chain_text()
  .. "\n\nNow give the final answer in at most four sentences.",
  { system = SYSTEM, max_tokens = 600 })

return { task = task, answer = answer, chain = chain }
