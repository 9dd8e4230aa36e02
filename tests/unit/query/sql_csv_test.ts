import test from "node:test";
import assert from "node:assert/strict";
import { toCsv } from "../../../src/sql/csv.ts";
import type { SqlValue } from "../../../src/sql/types.ts";

const columns = [{ name: "v", type: "VARCHAR" }];
/** The CSV of one value: what follows the header line, without the line end. */
const csvOf = (value: SqlValue) => toCsv({ columns, rows: [[value]] }).slice("v\n".length, -1);

test("toCsv: a header line, one line per row, each ended by \\n", () => {
  const csv = toCsv({
    columns: [{ name: "target", type: "VARCHAR" }, { name: "n", type: "BIGINT" }, { name: "ok", type: "BOOLEAN" }],
    rows: [["a", 1, true], ["b", "18446744073709551615", false]],
  });
  assert.equal(csv, "target,n,ok\na,1,true\nb,18446744073709551615,false\n");
});

test("toCsv: fields are quoted only when they must be (RFC 4180)", () => {
  const cases: [SqlValue, string][] = [
    ["plain", "plain"],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["two\nlines", '"two\nlines"'],
    [" edge", '" edge"'],
    ["", '""'],
    [null, ""],
    [1.5, "1.5"],
    ["NaN", "NaN"],
    [[1, 2], '"[1,2]"'],
    [{ a: "x" }, '"{""a"":""x""}"'],
  ];
  for (const [value, expected] of cases) assert.equal(csvOf(value), expected, JSON.stringify(value));
});

test("toCsv: a result without rows is just the header", () => {
  assert.equal(toCsv({ columns: [{ name: "a,b", type: "INTEGER" }], rows: [] }), '"a,b"\n');
});
