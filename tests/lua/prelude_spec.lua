-- Specs for the prelude's functions that never call an LLM: collections, vote,
-- parsing, JSON extraction, fingerprint, budget_check, state.update, tuning.
-- Runs under mlua-lspec (lust) after a Layer 0 (stub or real) and the prelude are
-- loaded; `stub` is the stub Layer 0's control table, `expected_fingerprints` holds
-- {input, hex} pairs computed independently in Rust.
local describe, it, expect, before = lust.describe, lust.it, lust.expect, lust.before

describe("alc:prelude (pure)", function()
    before(function()
        stub.reset()
    end)

    describe("map / reduce / filter", function()
        it("map calls fn(item, i) in order", function()
            local seen = {}
            local out = alc.map({ "a", "b", "c" }, function(item, i)
                seen[#seen + 1] = i
                return item .. i
            end)
            expect(out).to.equal({ "a1", "b2", "c3" })
            expect(seen).to.equal({ 1, 2, 3 })
        end)

        it("map of an empty array is empty", function()
            expect(alc.map({}, function() error("not called") end)).to.equal({})
        end)

        it("map names itself when items is not a table", function()
            expect(function() alc.map(nil, tostring) end).to.fail.with("alc%.map: items must be a table")
        end)

        it("reduce folds from init with fn(acc, item, i)", function()
            local indices = {}
            local sum = alc.reduce({ 1, 2, 3 }, function(acc, x, i)
                indices[#indices + 1] = i
                return acc + x
            end, 10)
            expect(sum).to.equal(16)
            expect(indices).to.equal({ 1, 2, 3 })
        end)

        it("reduce without init starts from items[1] at index 2", function()
            local indices = {}
            local joined = alc.reduce({ "x", "y", "z" }, function(acc, s, i)
                indices[#indices + 1] = i
                return acc .. s
            end)
            expect(joined).to.equal("xyz")
            expect(indices).to.equal({ 2, 3 })
        end)

        it("reduce without init: one item is returned as is, none gives nil", function()
            local never = function() error("fn must not be called") end
            expect(alc.reduce({ 42 }, never)).to.equal(42)
            expect(alc.reduce({}, never)).to_not.exist()
        end)

        it("filter keeps items whose fn(item, i) is truthy", function()
            local out = alc.filter({ "a", "b", "c", "d" }, function(_, i) return i % 2 == 0 end)
            expect(out).to.equal({ "b", "d" })
        end)
    end)

    describe("vote", function()
        it("picks the majority of trimmed exact strings", function()
            local v = alc.vote({ " yes", "no", "yes \n", "yes", "Yes" })
            expect(v).to.equal({ winner = "yes", count = 3, total = 5 })
        end)

        it("breaks ties in favour of the first answer seen", function()
            expect(alc.vote({ "b", "a", "a", "b" }).winner).to.equal("b")
            expect(alc.vote({ "a", "b" })).to.equal({ winner = "a", count = 1, total = 2 })
        end)

        it("of no answers has no winner", function()
            expect(alc.vote({})).to.equal({ count = 0, total = 0 })
        end)

        it("counts non-string answers by their tostring", function()
            expect(alc.vote({ 1, "1", 2 })).to.equal({ winner = "1", count = 2, total = 3 })
        end)
    end)

    describe("parse_score", function()
        it("takes the first integer", function()
            expect(alc.parse_score("Score: 7/10, maybe 9")).to.equal(7)
            expect(math.type(alc.parse_score("7.9 points"))).to.equal("integer")
        end)

        it("clamps to 1..10", function()
            expect(alc.parse_score("0")).to.equal(1)
            expect(alc.parse_score("I give it 42")).to.equal(10)
            -- unsigned, as algocline reads it: the digits after the sign
            expect(alc.parse_score("rating: -3")).to.equal(3)
            expect(alc.parse_score("99999999999999999999999")).to.equal(10)
        end)

        it("falls back to the default (5 unless given)", function()
            expect(alc.parse_score("no digits here")).to.equal(5)
            expect(alc.parse_score("no digits here", 3)).to.equal(3)
            expect(alc.parse_score(nil)).to.equal(5)
            expect(alc.parse_score({ 8 }, 2)).to.equal(2)
        end)

        it("accepts a number", function()
            expect(alc.parse_score(8)).to.equal(8)
            expect(alc.parse_score(12.5)).to.equal(10)
        end)
    end)

    describe("parse_number", function()
        it("finds the first integer", function()
            local n = alc.parse_number("Found 3 subtasks in 2 files")
            expect(n).to.equal(3)
            expect(math.type(n)).to.equal("integer")
        end)

        it("keeps sign and decimals", function()
            expect(alc.parse_number("it is -2.5 degrees")).to.equal(-2.5)
            expect(alc.parse_number("delta +4 today")).to.equal(4)
            -- algocline's pattern "%-?%d+%.?%d*" needs a digit first: ".5" gives 5.
            expect(alc.parse_number("about .5 of it")).to.equal(5)
            expect(alc.parse_number("Score: 7.25/10")).to.equal(7.25)
        end)

        it("converts the capture of a pattern", function()
            expect(alc.parse_number("v2: 17 subtasks", "(%d+)%s+subtasks")).to.equal(17)
            expect(alc.parse_number("confidence=0.75;", "confidence=([%d%.]+)")).to.equal(0.75)
        end)

        it("gives nil when there is no number", function()
            expect(alc.parse_number("none at all")).to_not.exist()
            expect(alc.parse_number("7 apples", "(%d+) pears")).to_not.exist()
            expect(alc.parse_number("name: bob", "name: (%a+)")).to_not.exist()
            expect(alc.parse_number(nil)).to_not.exist()
            expect(alc.parse_number({})).to_not.exist()
        end)
    end)

    describe("json_extract", function()
        it("decodes the text as is", function()
            expect(alc.json_extract('{"a": 1, "b": [true, "x"]}')).to.equal({ a = 1, b = { true, "x" } })
            expect(alc.json_extract(" [1, 2, 3] ")).to.equal({ 1, 2, 3 })
        end)

        it("reads a ```json fence, preferring it to other fences", function()
            local raw = 'Sure!\n```text\n[1, 2]\n```\nand\n```JSON\n{"ok": true}\n```\nDone.'
            expect(alc.json_extract(raw)).to.equal({ ok = true })
        end)

        it("reads a bare ``` fence", function()
            expect(alc.json_extract('Here:\n```\n[{"n": 1}]\n```')).to.equal({ { n = 1 } })
        end)

        it("finds the first balanced object in prose, braces in strings included", function()
            local raw = 'Result: {"a": "x}y", "b": [1, {"c": "]"}]} and then {"z": 0}'
            expect(alc.json_extract(raw)).to.equal({ a = "x}y", b = { 1, { c = "]" } } })
        end)

        it("tracks escaped quotes while balancing", function()
            local raw = 'Note {"q": "say \\"}\\" now", "n": 2} end'
            expect(alc.json_extract(raw)).to.equal({ q = 'say "}" now', n = 2 })
        end)

        it("skips balanced spans that are not JSON", function()
            expect(alc.json_extract('set {x} first, then {"a": 1}')).to.equal({ a = 1 })
            expect(alc.json_extract('an array: [1, 2] here')).to.equal({ 1, 2 })
            expect(alc.json_extract('broken { "a": [1, 2 } but ["ok"]')).to.equal({ "ok" })
        end)

        it("gives nil when nothing is JSON", function()
            expect(alc.json_extract("no json here")).to_not.exist()
            expect(alc.json_extract('{"a": 1')).to_not.exist()
            expect(alc.json_extract("")).to_not.exist()
            expect(alc.json_extract(nil)).to_not.exist()
        end)

        it("does not count a bare JSON scalar as an extraction", function()
            expect(alc.json_extract("42")).to_not.exist()
            expect(alc.json_extract('"text"')).to_not.exist()
        end)
    end)

    describe("fingerprint", function()
        it("matches the DJB2 values computed in Rust", function()
            expect(#expected_fingerprints > 0).to.be.truthy()
            for _, pair in ipairs(expected_fingerprints) do
                local input, hex = pair[1], pair[2]
                if alc.fingerprint(input) ~= hex then
                    error(string.format("fingerprint(%q) = %s, Rust says %s", input, alc.fingerprint(input), hex))
                end
            end
        end)

        it("normalises case and whitespace before hashing", function()
            local fp = alc.fingerprint("  Fix the Login Bug  ")
            expect(fp).to.equal(alc.fingerprint("fix\tthe   login\n\nbug"))
            expect(fp).to_not.equal(alc.fingerprint("fix the login bugs"))
        end)

        it("is 8 lowercase hex digits", function()
            expect(alc.fingerprint("anything at all")).to.match("^[0-9a-f]+$")
            expect(#alc.fingerprint("anything at all")).to.equal(8)
            expect(alc.fingerprint("")).to.equal("00001505")
        end)

        it("rejects what is not text", function()
            expect(function() alc.fingerprint({}) end).to.fail.with("alc%.fingerprint")
        end)
    end)

    describe("budget_check", function()
        it("is true when there is no budget", function()
            stub.budget = nil
            expect(alc.budget_check()).to.equal(true)
        end)

        it("is true while every limit has capacity", function()
            stub.budget = { llm_calls = 3, elapsed_ms = 1000, tokens = 50 }
            expect(alc.budget_check()).to.equal(true)
            stub.budget = { llm_calls = 1 }
            expect(alc.budget_check()).to.equal(true)
        end)

        it("is false as soon as one limit is spent", function()
            stub.budget = { llm_calls = 0, elapsed_ms = 1000 }
            expect(alc.budget_check()).to.equal(false)
            stub.budget = { llm_calls = 5, tokens = 0 }
            expect(alc.budget_check()).to.equal(false)
            stub.budget = { elapsed_ms = 0 }
            expect(alc.budget_check()).to.equal(false)
        end)
    end)

    describe("state.update", function()
        it("applies fn to the default when the key is missing", function()
            local new = alc.state.update("count", function(n) return n + 1 end, 10)
            expect(new).to.equal(11)
            expect(alc.state.get("count")).to.equal(11)
        end)

        it("applies fn to the stored value", function()
            alc.state.set("list", { "a" })
            local new = alc.state.update("list", function(l)
                l[#l + 1] = "b"
                return l
            end)
            expect(new).to.equal({ "a", "b" })
            expect(alc.state.get("list")).to.equal({ "a", "b" })
        end)

        it("deletes the key when fn returns nil", function()
            alc.state.set("gone", 1)
            expect(alc.state.update("gone", function() return nil end)).to_not.exist()
            expect(alc.state.has("gone")).to.equal(false)
        end)

        it("runs fn again on the newer value when another writer got in between", function()
            alc.state.set("n", 1)
            local seen = {}
            local new = alc.state.update("n", function(n)
                seen[#seen + 1] = n
                -- Another writer changes the key while fn runs, the first time only.
                if #seen == 1 then alc.state.set("n", 10) end
                return n + 1
            end)
            expect(seen).to.equal({ 1, 10 })
            expect(new).to.equal(11)
            expect(alc.state.get("n")).to.equal(11)
        end)

        it("hides its compare-and-swap steps from strategies", function()
            expect(rawget(alc.state, "_read")).to_not.exist()
            expect(rawget(alc.state, "_swap")).to_not.exist()
        end)
    end)

    describe("tuning", function()
        local defaults = {
            _schema = { threshold = { type = "number" } },
            threshold = 0.5,
            rounds = 3,
            models = { "a", "b" },
            weights = { alpha = 1.0, beta = 1.0, inner = { x = 1, y = 2, _schema = "drop" } },
            extras = {},
        }

        it("is a deep copy of the defaults without _schema", function()
            local cfg = alc.tuning(defaults, nil)
            expect(cfg._schema).to_not.exist()
            expect(cfg.weights.inner._schema).to_not.exist()
            cfg.weights.alpha = 99
            cfg.models[1] = "z"
            expect(defaults.weights.alpha).to.equal(1.0)
            expect(defaults.models[1]).to.equal("a")
            expect(defaults._schema).to.exist()
        end)

        it("replaces scalars and ignores ctx keys the defaults do not know", function()
            local cfg = alc.tuning(defaults, { threshold = 0.9, task = "t", budget = { max_llm_calls = 1 } })
            expect(cfg.threshold).to.equal(0.9)
            expect(cfg.rounds).to.equal(3)
            expect(cfg.task).to_not.exist()
            expect(cfg.budget).to_not.exist()
        end)

        it("merges nested maps key by key", function()
            local cfg = alc.tuning(defaults, { weights = { alpha = 2.0, inner = { y = 5 }, gamma = 1 } })
            expect(cfg.weights).to.equal({ alpha = 2.0, beta = 1.0, inner = { x = 1, y = 5 } })
        end)

        it("replaces arrays wholesale", function()
            local cfg = alc.tuning(defaults, { models = { "c" } })
            expect(cfg.models).to.equal({ "c" })
        end)

        it("lets an empty default table take the override wholesale", function()
            local cfg = alc.tuning(defaults, { extras = { k = "v" } })
            expect(cfg.extras).to.equal({ k = "v" })
        end)

        it("reads ctx[prefix] when a prefix is given", function()
            local cfg = alc.tuning(defaults, { threshold = 0.1, mine = { threshold = 0.7 } }, { prefix = "mine" })
            expect(cfg.threshold).to.equal(0.7)
        end)

        it("falls back to the flat ctx when ctx[prefix] is absent", function()
            local cfg = alc.tuning(defaults, { rounds = 9 }, { prefix = "mine" })
            expect(cfg.rounds).to.equal(9)
        end)

        it("warns and keeps defaults when ctx[prefix] is not a table", function()
            local cfg = alc.tuning(defaults, { rounds = 9, mine = "oops" }, { prefix = "mine" })
            expect(cfg.rounds).to.equal(3)
            expect(stub.logs[1].level).to.equal("warn")
            expect(stub.logs[1].msg).to.match("ctx%.mine")
        end)

        it("ignores JSON null overrides", function()
            local from_json = alc.json_decode('{"threshold": null, "rounds": 4}')
            local cfg = alc.tuning(defaults, from_json)
            expect(cfg.threshold).to.equal(0.5)
            expect(cfg.rounds).to.equal(4)
        end)
    end)
end)
