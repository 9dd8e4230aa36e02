/**
 * `config check FILE` and `config print-default`.
 *
 * @module
 */
import fs from "node:fs";
import { planMemory } from "../config/memory_budget.ts";
import process from "node:process";
import { ConfigError, loadConfigText } from "../config/load.ts";
import { renderDefaultYaml } from "../config/example.ts";
import type { Command } from "./args.ts";

/** The `config` command. */
export const configCommand: Command = {
  summary: "check a configuration file, or print the documented defaults",
  usage: `stalker-storage config check FILE
stalker-storage config print-default

check          validates FILE and reports every problem at once, each with its key (exit 1 on problems)
print-default  prints the default configuration as commented YAML
`,
  positionals: true,
  run({ positionals, io }) {
    const [sub, file] = positionals;
    if (sub === "print-default") {
      io.out(renderDefaultYaml());
      return Promise.resolve(0);
    }
    if (sub === "check") {
      if (!file) {
        io.err("config check: missing FILE\n");
        return Promise.resolve(2);
      }
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (err) {
        io.err(`config check: cannot read ${file}: ${(err as Error).message}\n`);
        return Promise.resolve(1);
      }
      try {
        const config = loadConfigText(text, { envToken: process.env.STALKER_STORAGE_TOKEN });
        const { problems } = planMemory(config);
        if (problems.length > 0) {
          io.err(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}\n`).join("")}`);
          return Promise.resolve(1);
        }
        io.out(`${file}: OK\n`);
        return Promise.resolve(0);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        io.err(`${file}: ${err.problems.length} problem(s)\n${err.problems.map((p) => `  - ${p}\n`).join("")}`);
        return Promise.resolve(1);
      }
    }
    io.err(`config: expected "check FILE" or "print-default"\n`);
    return Promise.resolve(2);
  },
};
