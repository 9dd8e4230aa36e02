/**
 * Regenerates everything derived from a single source: TypeScript from `proto/` (buf + protoc-gen-es,
 * offline, local plugin), `storage.example.yaml` and the key table in `docs/config.md` from the config
 * schema, and the web UI's embedded assets (`scripts/build_ui.ts`). Run with `deno task gen`; tests fail when the
 * committed files drift.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { renderConfigTable, renderDefaultYaml } from "../src/config/example.ts";
import { buildUi, renderUiModule, UI_MODULE } from "./build_ui.ts";

const root = new URL("../", import.meta.url).pathname;

/** Runs `buf generate` with its output rooted at `outputRoot`. */
export function bufGenerate(outputRoot: string): void {
  const r = spawnSync("node", ["node_modules/@bufbuild/buf/bin/buf", "generate", "--output", outputRoot], {
    cwd: root,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`buf generate failed (${r.status}): ${r.stderr || r.error}`);
}

const BEGIN = "<!-- BEGIN GENERATED KEYS -->";
const END = "<!-- END GENERATED KEYS -->";

/** docs/config.md with its generated table replaced. */
export function renderConfigDoc(current: string): string {
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start < 0 || end < 0) throw new Error(`docs/config.md lacks the ${BEGIN} / ${END} markers`);
  return `${current.slice(0, start + BEGIN.length)}\n${renderConfigTable()}${current.slice(end)}`;
}

if (import.meta.main) {
  bufGenerate(root);
  fs.writeFileSync(`${root}storage.example.yaml`, renderDefaultYaml());
  const doc = `${root}docs/config.md`;
  fs.writeFileSync(doc, renderConfigDoc(fs.readFileSync(doc, "utf8")));
  fs.writeFileSync(UI_MODULE, renderUiModule(buildUi()));
  console.log("generated src/gen, storage.example.yaml, docs/config.md, src/ui/assets_gen.ts");
}
