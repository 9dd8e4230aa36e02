import test from "node:test";
import assert from "node:assert/strict";
import { parseLineProtocol } from "../../../src/ingest/influx.ts";
import { DEFAULT_MAPPING, IdentityMapper } from "../../../src/ingest/mapping.ts";
import { InputError } from "../../../src/model/errors.ts";
import type { Sample } from "../../../src/model/sample.ts";

const NOW = Date.UTC(2026, 10, 25, 12);
const NOW_S = NOW / 1000;

function parse(text: string, options: { precision?: string; database?: string } = {}): Sample[] {
  const b = parseLineProtocol(new TextEncoder().encode(text), new IdentityMapper(DEFAULT_MAPPING), {
    nowMs: NOW,
    oldestMs: Date.UTC(2000, 0, 1),
    ...options,
  });
  return Array.from({ length: b.length }, (_, i) => b.sample(i));
}

function refused(text: string, pattern: RegExp, options: { precision?: string } = {}): void {
  assert.throws(() => parse(text, options), (err) => err instanceof InputError && pattern.test(err.message));
}

test("a Telegraf inputs.snmp interface line: namespace from db, target from agent_host, every other tag kept", () => {
  const s = parse(
    `interface,agent_host=10.0.0.1,host=poller1,ifDescr=GigabitEthernet0/1,ifIndex=1,ifName=Gi0/1 ` +
      `ifHCInOctets=123456789i,ifHCOutOctets=987u,ifOperStatus=1i,ifSpeed=1000,ifAlias="uplink \\"core\\"" ${NOW_S}\n`,
    { precision: "s", database: "snmp" },
  );
  assert.equal(s.length, 5);
  for (const x of s) {
    assert.equal(x.namespace, "snmp");
    assert.equal(x.target, "10.0.0.1");
    assert.equal(x.timestampMs, NOW);
  }
  const labels = '{host="poller1",ifDescr="GigabitEthernet0/1",ifIndex="1",ifName="Gi0/1"}';
  assert.deepEqual(s.map((x) => [x.poller, x.kind]), [
    ["interface_ifHCInOctets" + labels, "counter"],
    ["interface_ifHCOutOctets" + labels, "counter"],
    ["interface_ifOperStatus" + labels, "gauge"],
    ["interface_ifSpeed" + labels, "gauge"],
    ["interface_ifAlias" + labels, "text"],
  ]);
  assert.equal(s[0].counter, 123456789n);
  assert.equal(s[1].counter, 987n);
  assert.equal(s[2].value, 1);
  assert.equal(s[4].text, 'uplink "core"');
});

test("namespace tag beats db; no target tag gives target_default; field 'value' names the measurement", () => {
  const s = parse(`cpu,namespace=lab,core=0 value=0.5 ${NOW}000000`, { database: "telegraf" });
  assert.deepEqual([s[0].namespace, s[0].target, s[0].poller, s[0].value], ["lab", "unknown", 'cpu{core="0"}', 0.5]);
  const d = parse(`cpu usage=1 ${NOW}000000`);
  assert.deepEqual([d[0].namespace, d[0].poller], ["default", "cpu_usage"]);
});

test("precisions ns (default), us, ms, s, m, h; nanoseconds are floored to ms without loss", () => {
  assert.equal(parse(`m f=1 ${NOW}999999`)[0].timestampMs, NOW);
  assert.equal(parse(`m f=1 ${NOW}999`, { precision: "us" })[0].timestampMs, NOW);
  assert.equal(parse(`m f=1 ${NOW}`, { precision: "ms" })[0].timestampMs, NOW);
  assert.equal(parse(`m f=1 ${NOW_S}`, { precision: "s" })[0].timestampMs, NOW);
  assert.equal(parse(`m f=1 ${NOW / 60_000}`, { precision: "m" })[0].timestampMs, NOW);
  assert.equal(parse(`m f=1 ${NOW / 3_600_000}`, { precision: "h" })[0].timestampMs, NOW);
  // no timestamp: the server's clock
  assert.equal(parse(`m f=1`)[0].timestampMs, NOW);
  assert.equal(parse(`m f=1   \n`)[0].timestampMs, NOW);
});

test("a timestamp in the wrong precision is refused with a hint", () => {
  refused(`m f=1 ${NOW_S}`, /line 1: timestamp \d+ with precision=ns .*before|older|precision=s/);
  refused(`m f=1 ${NOW}000000`, /ahead of the server clock; it looks like precision=ns/, { precision: "s" });
  refused(`m f=1 -5`, /older than accepted/);
});

test("the protocol's escaping rules (InfluxDB docs examples)", () => {
  const s = parse(
    [
      `my\\ Measurement fieldKey="string value"`,
      `myMeasurement,tag\\ Key1=tag\\ Value1,tag\\ Key2=tag\\ Value2 fieldKey=100`,
      `myMeasurement fieldKey="\\"string\\" within a string"`,
      `myMeasurement,tagKey=🍭 fieldKey="Launch 🚀" ${NOW}000000`,
      `my\\,Measurement,tag\\=key=a\\,b field\\ key\\,x\\=y=1i`,
      `m path="C:\\\\Windows\\\\",other="back\\slash"`,
      `m,t=a\\b f=1`,
    ].join("\n"),
  );
  assert.deepEqual(s.map((x) => x.poller), [
    "my Measurement_fieldKey",
    'myMeasurement_fieldKey{"tag Key1"="tag Value1","tag Key2"="tag Value2"}',
    "myMeasurement_fieldKey",
    'myMeasurement_fieldKey{tagKey="🍭"}',
    'my,Measurement_field key,x=y{"tag=key"="a,b"}',
    "m_path",
    "m_other",
    'm_f{t="a\\\\b"}',
  ]);
  assert.equal(s[2].text, '"string" within a string');
  assert.equal(s[3].text, "Launch 🚀");
  assert.equal(s[5].text, "C:\\Windows\\");
  assert.equal(s[6].text, "back\\slash");
});

test("comments, blank lines, leading spaces, CRLF and strings spanning lines", () => {
  const s = parse(`# a comment\r\n\r\n   \n  m a=1i,b=t,c=FALSE,d=-1.5e3,e="two\nlines"\r\n# end`);
  assert.deepEqual(s.map((x) => [x.poller, x.kind, x.kind === "text" ? x.text : x.value]), [
    ["m_a", "gauge", 1],
    ["m_b", "gauge", 1],
    ["m_c", "gauge", 0],
    ["m_d", "gauge", -1500],
    ["m_e", "text", "two\nlines"],
  ]);
  assert.equal(parse("").length, 0);
  assert.equal(parse("# only\n\n").length, 0);
});

test("integer and unsigned ranges; counters above 2^53 stay exact", () => {
  const s = parse(`m ifHCInOctets=18446744073709551615u,g=9223372036854775807i,n=-9223372036854775808i`);
  assert.equal(s[0].kind, "counter");
  assert.equal(s[0].counter, 18446744073709551615n);
  assert.equal(s[1].kind, "gauge");
  assert.equal(s[2].value, -9223372036854775808);
  refused(`m f=18446744073709551616u`, /out of range/);
  refused(`m f=9223372036854775808i`, /out of range/);
  refused(`m f=-1u`, /invalid unsigned/);
});

test("counter patterns: IF-MIB names and _total are counters when whole and >= 0, else gauges", () => {
  const s = parse(`net ifInErrors=5i,ifOutDiscards=7,bytes_total=3.5,ifInOctets=-1i,requests_total=4`);
  assert.deepEqual(s.map((x) => x.kind), ["counter", "counter", "gauge", "gauge", "counter"]);
});

test("invalid lines refuse the body with the line number and text", () => {
  refused(`m f=1\nm`, /^line 2: a line needs a field set.*: 'm'$/);
  refused(`m f=1\nm f`, /^line 2: a field key needs = and a value/);
  refused(`m f=`, /field value is missing/);
  refused(`m f="open`, /no closing quote/);
  refused(`m f=abc`, /invalid field value "abc"/);
  refused(`m f=NaN`, /invalid field value "NaN"/);
  refused(`m f=1e999`, /out of range/);
  refused(`m f=1 123x`, /invalid timestamp/);
  refused(`m f=1 ${NOW}000000 extra`, /unexpected text after the timestamp/);
  refused(`,t=1 f=1`, /measurement is empty/);
  refused(`m,t f=1`, /tag "t" needs key=value/);
  refused(`m,t= f=1`, /tag "t" has an empty value/);
  refused(`m,t=1,t=2 f=1`, /label "t" is given twice/);
  refused(`m =1`, /field key is empty/);
  refused(`m f=1,`, /field key needs = and a value/);
  refused(`m f=1\rm g=2`, /carriage return/);
  refused(`m,host=${"x".repeat(300)} f=1`, /target is longer than 256/);
  assert.throws(
    () =>
      parseLineProtocol(
        new Uint8Array([0x6d, 0x20, 0x66, 0x3d, 0x22, 0xff, 0x22]),
        new IdentityMapper(DEFAULT_MAPPING),
        {
          nowMs: NOW,
          oldestMs: 0,
        },
      ),
    /not valid UTF-8/,
  );
});

test("an unknown precision is refused", () => {
  refused(`m f=1`, /unknown precision/, { precision: "d" });
});
