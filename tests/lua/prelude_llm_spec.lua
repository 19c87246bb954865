-- Specs for the prelude's functions that call Layer 0's LLM primitives: parallel,
-- cache, llm_safe, llm_json, ground/specify, pipe. Runs under mlua-lspec (lust)
-- after the stub Layer 0 and the prelude are loaded. Answers are scripted through
-- `stub.answers` (strings, or {error = "..."} to raise) or `stub.responder`; calls are
-- read back from `stub.calls` ({prompt, opts}), `stub.batches` and `stub.logs`.
local describe, it, expect, before = lust.describe, lust.it, lust.expect, lust.before

local function echo(prompt) return "answer to " .. prompt end

describe("alc:prelude (llm)", function()
    before(function()
        stub.reset()
        alc.cache_clear()
    end)

    describe("parallel", function()
        it("sends one batch, in order, with opts on string prompts", function()
            stub.responder = echo
            local out = alc.parallel({ "x", "y", "z" }, function(item, i) return item .. i end,
                { system = "sys", max_tokens = 50 })
            expect(out).to.equal({ "answer to x1", "answer to y2", "answer to z3" })
            expect(#stub.batches).to.equal(1)
            expect(#stub.calls).to.equal(0)
            expect(stub.batches[1][2]).to.equal({ prompt = "y2", system = "sys", max_tokens = 50 })
        end)

        it("uses table prompts' own fields and leaves them unmodified", function()
            stub.responder = echo
            local own = { prompt = "p", max_tokens = 7, grounded = true }
            alc.parallel({ 1, 2 }, function(_, i)
                if i == 1 then return own end
                return "plain"
            end, { system = "shared", max_tokens = 99 })
            local batch = stub.batches[1]
            expect(batch[1]).to.equal({ prompt = "p", max_tokens = 7, grounded = true })
            expect(batch[2]).to.equal({ prompt = "plain", system = "shared", max_tokens = 99 })
            expect(own.system).to_not.exist()
        end)

        it("maps answers through post_fn(resp, item, i)", function()
            stub.answers = { "7", "not a score" }
            local out = alc.parallel({ "a", "b" }, function(item) return "rate " .. item end, {
                post_fn = function(resp, item, i) return item .. i .. "=" .. alc.parse_score(resp) end,
            })
            expect(out).to.equal({ "a1=7", "b2=5" })
        end)

        it("rejects an empty items array without calling llm_batch", function()
            local ok, err = pcall(alc.parallel, {}, function() return "p" end)
            expect(ok).to.equal(false)
            expect(err:match("non%-empty") ~= nil).to.equal(true)
            expect(#stub.batches).to.equal(0)
        end)

        it("rejects a prompt_fn result without a prompt", function()
            expect(function() alc.parallel({ 1 }, function() return { system = "s" } end) end)
                .to.fail.with("alc%.parallel: .*item 1")
        end)
    end)

    describe("cache", function()
        it("asks once and then hits", function()
            stub.responder = echo
            expect(alc.cache("q")).to.equal("answer to q")
            expect(alc.cache("q")).to.equal("answer to q")
            expect(#stub.calls).to.equal(1)
            expect(alc.cache_info()).to.equal({ entries = 1, hits = 1, misses = 1, max_entries = 256 })
        end)

        it("keys on system and max_tokens (nil max_tokens is 1024)", function()
            stub.responder = echo
            alc.cache("q", { system = "a" })
            alc.cache("q", { system = "b" })
            alc.cache("q", { system = "b", max_tokens = 10 })
            alc.cache("q", { system = "b", max_tokens = 1024 })
            expect(#stub.calls).to.equal(3)
            expect(alc.cache_info().hits).to.equal(1)
        end)

        it("uses opts.cache_key instead of the fingerprint, and does not forward it", function()
            stub.responder = echo
            expect(alc.cache("first", { cache_key = "k" })).to.equal("answer to first")
            expect(alc.cache("second", { cache_key = "k" })).to.equal("answer to first")
            expect(#stub.calls).to.equal(1)
            expect(stub.calls[1].opts.cache_key).to_not.exist()
        end)

        it("bypasses the cache with cache_skip", function()
            stub.responder = echo
            alc.cache("q")
            alc.cache("q", { cache_skip = true })
            alc.cache("q", { cache_skip = true })
            expect(#stub.calls).to.equal(3)
            expect(stub.calls[2].opts.cache_skip).to_not.exist()
            expect(alc.cache_info()).to.equal({ entries = 1, hits = 0, misses = 1, max_entries = 256 })
        end)

        it("evicts the oldest entry at 257", function()
            stub.responder = echo
            for i = 1, 257 do alc.cache("prompt " .. i) end
            expect(alc.cache_info()).to.equal({ entries = 256, hits = 0, misses = 257, max_entries = 256 })
            alc.cache("prompt 2")
            alc.cache("prompt 257")
            expect(#stub.calls).to.equal(257)
            alc.cache("prompt 1")
            expect(#stub.calls).to.equal(258)
            expect(alc.cache_info()).to.equal({ entries = 256, hits = 2, misses = 258, max_entries = 256 })
            alc.cache("prompt 2")
            expect(#stub.calls).to.equal(259)
        end)

        it("does not cache errors", function()
            stub.answers = { { error = "provider down" }, "fine" }
            expect(function() alc.cache("q") end).to.fail.with("provider down")
            expect(alc.cache("q")).to.equal("fine")
            expect(alc.cache_info().entries).to.equal(1)
        end)

        it("cache_clear empties entries and counters", function()
            stub.responder = echo
            alc.cache("q")
            alc.cache("q")
            alc.cache_clear()
            expect(alc.cache_info()).to.equal({ entries = 0, hits = 0, misses = 0, max_entries = 256 })
            alc.cache("q")
            expect(#stub.calls).to.equal(2)
        end)
    end)

    describe("llm_safe", function()
        it("returns the answer when the call succeeds", function()
            stub.answers = { "ok" }
            expect(alc.llm_safe("p", { max_tokens = 5 }, "fallback")).to.equal("ok")
            expect(stub.calls[1].opts.max_tokens).to.equal(5)
            expect(#stub.logs).to.equal(0)
        end)

        it("returns the default and logs a warning when the call fails", function()
            stub.answers = { { error = "budget_exceeded: llm_calls 10/10" } }
            expect(alc.llm_safe("p", nil, "fallback")).to.equal("fallback")
            expect(#stub.logs).to.equal(1)
            expect(stub.logs[1].level).to.equal("warn")
            expect(stub.logs[1].msg).to.match("budget_exceeded: llm_calls 10/10")
        end)
    end)

    describe("llm_json", function()
        it("returns the table and the raw answer when the first answer is JSON", function()
            stub.answers = { 'Here you go: ```json\n{"name": "x"}\n```' }
            local t, raw = alc.llm_json("give json", { system = "s" })
            expect(t).to.equal({ name = "x" })
            expect(raw).to.equal('Here you go: ```json\n{"name": "x"}\n```')
            expect(#stub.calls).to.equal(1)
        end)

        it("repairs once, showing the broken output and the request", function()
            stub.answers = { "{name: x,", '{"name": "x"}' }
            local t, raw = alc.llm_json("give json", { system = "s", max_tokens = 64 })
            expect(t).to.equal({ name = "x" })
            expect(raw).to.equal('{"name": "x"}')
            expect(#stub.calls).to.equal(2)
            local repair = stub.calls[2]
            expect(repair.prompt).to.match("{name: x,")
            expect(repair.prompt).to.match("give json")
            expect(repair.opts.max_tokens).to.equal(64)
            expect(repair.opts.system).to_not.equal("s")
        end)

        it("gives nil and the last raw answer when the repair fails too", function()
            stub.answers = { "nope", "still nope" }
            local t, raw = alc.llm_json("give json")
            expect(t).to_not.exist()
            expect(raw).to.equal("still nope")
            expect(#stub.calls).to.equal(2)
            expect(stub.logs[#stub.logs].level).to.equal("warn")
        end)
    end)

    describe("ground / specify", function()
        it("ground sets grounded = true on a copy of opts", function()
            stub.answers = { "grounded answer" }
            local opts = { system = "expert" }
            expect(alc.ground("claim", opts)).to.equal("grounded answer")
            expect(stub.calls[1].opts).to.equal({ system = "expert", grounded = true })
            expect(opts).to.equal({ system = "expert" })
        end)

        it("specify sets underspecified = true, opts optional", function()
            stub.answers = { "a", "b" }
            alc.specify("which module?")
            expect(stub.calls[1].opts).to.equal({ underspecified = true })
            local opts = { max_tokens = 3 }
            alc.specify("which format?", opts)
            expect(stub.calls[2].opts).to.equal({ max_tokens = 3, underspecified = true })
            expect(opts.underspecified).to_not.exist()
        end)
    end)

    describe("pipe", function()
        it("hands each result to the next stage as ctx.task and records history", function()
            local tasks = {}
            local out = alc.pipe({
                function(c) tasks[1] = c.task; c.result = "draft"; return c end,
                function(c) tasks[2] = c.task; return { result = "final" } end,
            }, { task = "start" })
            expect(tasks).to.equal({ "start", "draft" })
            expect(out.result).to.equal("final")
            expect(out.pipe_history).to.equal({
                { strategy = "(inline-1)", result = "draft" },
                { strategy = "(inline-2)", result = "final" },
            })
        end)

        it("JSON-encodes table results for the next task", function()
            local seen
            local out = alc.pipe({
                function() return { items = { 1, 2 }, ok = true } end,
                function(c) seen = c.task; return "done" end,
            }, { task = "t" })
            expect(type(seen)).to.equal("string")
            expect(alc.json_decode(seen)).to.equal({ items = { 1, 2 }, ok = true })
            expect(out.pipe_history[1].result).to.equal({ items = { 1, 2 }, ok = true })
            expect(out.result).to.equal("done")
        end)

        it("runs packages by name through require(name).run(ctx)", function()
            package.preload["spec_upper"] = function()
                return { meta = { name = "spec_upper" }, run = function(c)
                    c.result = string.upper(c.task)
                    return c
                end }
            end
            local out = alc.pipe({ "spec_upper", function(c) return c.task .. "!" end }, { task = "hi" })
            expect(out.result).to.equal("HI!")
            expect(out.pipe_history[1].strategy).to.equal("spec_upper")
            expect(out.pipe_history[2].strategy).to.equal("(inline-2)")
        end)

        it("calls on_stage(i, name, ctx) after each stage, with the next task set", function()
            local events = {}
            alc.pipe({
                function() return 5 end,
                function() events[#events + 1] = "ran 2" end,
            }, { task = "t" }, {
                on_stage = function(i, name, c) events[#events + 1] = i .. ":" .. name .. ":" .. tostring(c.task) end,
            })
            expect(events).to.equal({ "1:(inline-1):5", "ran 2", "2:(inline-2):5" })
        end)

        it("keeps the previous result when a stage returns nothing", function()
            local out = alc.pipe({
                function() return "kept" end,
                function() end,
            }, {})
            expect(out.result).to.equal("kept")
            expect(out.pipe_history[2].result).to.equal("kept")
        end)

        it("leaves the caller's ctx alone", function()
            local caller = { task = "original" }
            local out = alc.pipe({ function() return "x" end, function() return "y" end }, caller)
            expect(caller).to.equal({ task = "original" })
            expect(out).to_not.equal(caller)
            expect(out.task).to.equal("x")
        end)

        it("names the problem for bad stages", function()
            expect(function() alc.pipe({ 42 }, {}) end).to.fail.with("alc%.pipe: stage 1")
            expect(function() alc.pipe({ "no_such_pkg_xyz" }, {}) end).to.fail.with("no_such_pkg_xyz")
            expect(function() alc.pipe({}, {}) end).to.fail.with("non%-empty")
            expect(function() alc.pipe({ function() end }, nil) end).to.fail.with("ctx must be a table")
        end)
    end)
end)
