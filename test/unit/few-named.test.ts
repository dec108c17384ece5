import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { fewNamed } from "../../agent/src/core/few-named";
import { flipLines } from "../../bench/flip-cycles";

describe("a flip's account with many databases", () => {
    it("names up to four databases, and past that the first three and the count of the rest", () => {
        const dbs = (n: number) => Array.from({ length: n }, (_, i) => `/data/t${i}/events.db at transaction ${i + 1}`);
        assert.equal(fewNamed(dbs(1)), "/data/t0/events.db at transaction 1");
        assert.equal(fewNamed(dbs(4)), dbs(4).join(", "));
        assert.equal(fewNamed(dbs(203)), `${dbs(3).join(", ")}, and 200 more databases`);
        assert.equal(fewNamed(dbs(5), "; "), `${dbs(3).join("; ")}; and 2 more databases`);
    });

    it("is read back from a pulumi up's output by the bench, each line once", () => {
        const output = [
            " ++ command:remote:Command primary-serving creating replacement (0s) [diff: ~stdin,triggers]; flip: writes stopped; shipped /a at transaction 3 in 12 ms",
            " ++ command:remote:Command primary-serving creating replacement (0s) [diff: ~stdin,triggers]; flip: writes stopped; shipped /a at transaction 3 in 12 ms",
            "    flip: fingerprints of 1 databases taken in 3 ms; asking the standby to take over",
            "    wirebot-failover: switchover: writes stopped and shipped (/a at transaction 3 in 12 ms), the standby's replicas matched in 40 ms",
            '      ~ stdin: "pulumi up -s standby   # failback: confirms the standby let go)" => "pulumi up -s standby   # confirms the switchover on the standby"',
            '        failback: confirms the standby let go)"',
            "Resources: 1 replaced",
        ].join("\n");
        assert.equal(flipLines(output), "flip: writes stopped; shipped /a at transaction 3 in 12 ms\nflip: fingerprints of 1 databases taken in 3 ms; asking the standby to take over\nswitchover: writes stopped and shipped (/a at transaction 3 in 12 ms), the standby's replicas matched in 40 ms");
    });
});
