-- Demo: self-consistency. Five independent solutions go out as ONE alc.llm_batch
-- (the Pending pane shows "1 of 5" ... "5 of 5"); each ends with "ANSWER: <x>", and
-- alc.vote keeps the majority. One sample slips, the vote outvotes it.
--   alc-workbench demo/vote.lua --answers demo/vote.answers.jsonl
local task = ctx.task
if task == nil or task == "" then
  task = "A bakery bakes 3 trays of 12 muffins. It sells 25 muffins in the morning "
    .. "and gives 4 to a food bank. How many muffins are left?"
end

local n = 5
local prompt = "Question: " .. task .. "\n\nShow your working briefly, then end with "
  .. "a final line of the form:\nANSWER: <number>"

local items = {}
for i = 1, n do
  items[i] = { prompt = prompt, system = "You are a careful problem solver.", max_tokens = 300 }
end

alc.progress(1, 2, "sampling")
local replies = alc.llm_batch(items)

alc.progress(2, 2, "voting")
local answers = {}
for i, reply in ipairs(replies) do
  -- the number on the last "ANSWER:" line, or nil when the sample forgot the format
  local line
  for found in reply:gmatch("ANSWER:%s*([^\n]*)") do
    line = found
  end
  local value = line and alc.parse_number(line)
  if value then
    answers[#answers + 1] = tostring(math.tointeger(value) or value)
  else
    alc.log("warn", "sample " .. i .. " gave no answer")
  end
end

local tally = alc.vote(answers)
alc.log("info", string.format("%s wins with %d of %d votes", tally.winner, tally.count, n))
alc.stats.record("agreement", tally.count / n)

return { answer = tally.winner, votes = tally.count, total = n, samples = answers }
