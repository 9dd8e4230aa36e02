import test from "node:test";
import assert from "node:assert/strict";
import { decimalValue, isoTimestamp, numberValue, valueConverter } from "../../../src/sql/values.ts";

test("numberValue: safe integers are numbers, larger ones exact strings, non-finite floats names", () => {
  const cases: [unknown, unknown][] = [
    [42, 42],
    [-5n, -5],
    [9007199254740991n, 9007199254740991],
    [-9007199254740991n, -9007199254740991],
    [9007199254740992n, "9007199254740992"],
    [18446744073709551615n, "18446744073709551615"],
    [1.5, 1.5],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
  ];
  for (const [input, expected] of cases) assert.equal(numberValue(input), expected, String(input));
});

test("decimalValue: scale 0 follows the integer rule; up to 15 significant digits a number, else exact text", () => {
  const cases: [string, number, unknown][] = [
    ["12345", 2, 123.45],
    ["-15", 1, -1.5],
    ["125", 1, 12.5],
    ["5", 3, 0.005],
    ["-5", 3, -0.005],
    ["7", 4, 0.0007],
    ["999999999999999", 2, 9999999999999.99],
    ["1000000000000000000", 1, 100000000000000000],
    ["1234567890123456", 1, "123456789012345.6"],
    ["12345678901234567890123", 3, "12345678901234567890.123"],
    ["-12345678901234567890123", 3, "-12345678901234567890.123"],
    ["170141183460469231731687303715884105727", 0, "170141183460469231731687303715884105727"],
    ["1024", 0, 1024],
  ];
  for (const [unscaled, scale, expected] of cases) {
    assert.equal(decimalValue(unscaled, scale), expected, `${unscaled} scale ${scale}`);
  }
});

test("isoTimestamp: milliseconds always, microseconds only when present, infinities by name", () => {
  assert.equal(isoTimestamp(Date.UTC(2026, 10, 25, 12)), "2026-11-25T12:00:00.000Z");
  assert.equal(isoTimestamp(1795608000123), "2026-11-25T12:00:00.123Z");
  assert.equal(isoTimestamp(1795608000123.456), "2026-11-25T12:00:00.123456Z");
  assert.equal(isoTimestamp(-0.001), "1969-12-31T23:59:59.999999Z");
  assert.equal(isoTimestamp(9.2e15), "infinity");
  assert.equal(isoTimestamp(-9.2e15), "-infinity");
});

test("valueConverter: nested LIST, STRUCT and MAP values convert their members by type", () => {
  const int64 = { typeId: 2 };
  const decimal = { typeId: 7, scale: 2 };
  const timestamp = { typeId: 10, unit: 2 };
  const list = valueConverter({ typeId: 12, children: [{ name: "item", type: int64 }] });
  assert.deepEqual(list([1n, null, 2n ** 60n]), [1, null, "1152921504606846976"]);

  const struct = valueConverter({
    typeId: 13,
    children: [{ name: "d", type: decimal }, { name: "t", type: timestamp }],
  });
  assert.deepEqual(struct({ d: "125", t: 1795608000000 }), { d: 1.25, t: "2026-11-25T12:00:00.000Z" });

  const entries = { typeId: 13, children: [{ name: "key", type: int64 }, { name: "value", type: { typeId: 5 } }] };
  const map = valueConverter({ typeId: 17, children: [{ name: "entries", type: entries }] });
  assert.deepEqual(map([[1n, "a"], [2n, null]]), { "1": "a", "2": null });
});

test("valueConverter: null stays null, BLOB is base64, TIME is HH:MM:SS.sss", () => {
  assert.equal(valueConverter({ typeId: 2 })(null), null);
  assert.equal(valueConverter({ typeId: 4 })(new Uint8Array([97, 98])), "YWI=");
  assert.equal(valueConverter({ typeId: 9, unit: 2 })(45296789000n), "12:34:56.789");
  assert.equal(valueConverter({ typeId: 9, unit: 2 })(45296789001n), "12:34:56.789001");
});
