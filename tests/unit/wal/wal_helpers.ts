/** Helpers for WAL tests: a writer on MemFs with a tiny series index, and replay into arrays. */
import { SampleBatch } from "../../../src/model/batch.ts";
import { counter, gauge, type Sample, text } from "../../../src/model/sample.ts";
import { FakeClock } from "../../../src/platform/clock.ts";
import { silentLogger } from "../../../src/platform/log.ts";
import { MemFs } from "../../../src/platform/mem_fs.ts";
import { SeriesIndex } from "../../../src/head/series.ts";
import { type ReplayReport, replayWal } from "../../../src/wal/reader.ts";
import { WalWriter, type WalWriterOptions } from "../../../src/wal/writer.ts";

export const DIR = "/data/wal";

/** A writer plus the series index it names series from, and the fake clock its periodic sync runs on. */
export async function openWriter(
  fs = new MemFs(),
  opts: Partial<WalWriterOptions> = {},
  segment = 1,
): Promise<{ fs: MemFs; wal: WalWriter; index: SeriesIndex; clock: FakeClock }> {
  const index = new SeriesIndex();
  const clock = new FakeClock(1_795_392_000_000);
  const wal = await WalWriter.create(fs, {
    dir: DIR,
    syncMode: "fsync",
    syncIntervalMs: 50,
    maxSegmentBytes: 1 << 20,
    names: (id) => index.names(id),
    log: silentLogger,
    clock,
    ...opts,
  }, segment);
  return { fs, wal, index, clock };
}

/** Lets the I/O a timer started (on the memory file system: promise callbacks) run to its end. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A resolved batch of samples. */
export function batchOf(index: SeriesIndex, samples: Sample[]): SampleBatch {
  const b = SampleBatch.of(samples);
  index.resolveBatch(b);
  return b;
}

/** n varied samples starting at time t0 for series s0... */
export function samples(n: number, t0 = 1_795_392_000_000, tag = "r"): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const ts = t0 + i * 1000;
    if (i % 3 === 0) out.push(gauge("prod", `${tag}${i % 7}`, "cpu.load", ts, i + 0.25));
    else if (i % 3 === 1) out.push(counter("prod", `${tag}${i % 7}`, "ifHCInOctets.Gi0-1", ts, BigInt(i) * 1000n));
    else out.push(text("lab", `${tag}${i % 7}`, "sysDescr", ts, `text ${i}`));
  }
  return out;
}

/** Replays the WAL into a list of sample objects. */
export async function replayAll(fs: MemFs, from = 1): Promise<{ samples: Sample[]; report: ReplayReport }> {
  const index = new SeriesIndex();
  const out: Sample[] = [];
  const report = await replayWal(fs, DIR, from, {
    resolve: (ns, t, p) => index.resolve(ns, t, p),
    apply: (b) => {
      for (let i = 0; i < b.length; i++) {
        const [ns, t, p] = index.names(b.seriesId[i]);
        b.namespace[i] = ns;
        b.target[i] = t;
        b.poller[i] = p;
        out.push(b.sample(i));
      }
    },
  });
  return { samples: out, report };
}
