import { parseLineProtocol } from "/work/wt-eco/src/ingest/influx.ts";
import { DEFAULT_MAPPING, IdentityMapper } from "/work/wt-eco/src/ingest/mapping.ts";
const lines: string[] = [];
const t = Math.floor(Date.now() / 1000) - 60;
for (let d = 0; d < 250; d++) {
  for (let i = 1; i <= 10; i++) {
    lines.push(
      `interface,agent_host=10.0.${d}.1,ifIndex=${i},ifName=Gi0/${i} ifHCInOctets=${
        d * 1000 + i
      }i,ifHCOutOctets=${d}i,ifInErrors=0i,ifOperStatus=1i ${t}`,
    );
  }
}
const body = new TextEncoder().encode(lines.join("\n"));
const m = new IdentityMapper(DEFAULT_MAPPING);
for (let k = 0; k < 20; k++) {
  const t0 = performance.now();
  const b = parseLineProtocol(body, m, { database: "snmp", precision: "s", nowMs: Date.now(), oldestMs: 0 });
  const ms = performance.now() - t0;
  if (k % 5 === 4) console.log(k, (ms * 1e6 / b.length).toFixed(0), "ns/sample");
}
