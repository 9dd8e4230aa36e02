/**
 * stalker-storage: the single-binary edge time-series collector. See README.md.
 *
 * @module
 */
import process from "node:process";
import { main } from "./src/cli/main.ts";

const code = await main(process.argv.slice(2));
process.exit(code);
