/**
 * The PromQL subset as a syntax tree, built from the tree `@prometheus-io/lezer-promql` (the grammar of
 * the Prometheus UI) produces. Everything outside the subset is refused with a {@link PromError} naming
 * the construct: never a wrong answer.
 *
 * @module
 */
import type { SyntaxNode } from "@lezer/common";
import { parser } from "@prometheus-io/lezer-promql";
import { DURATION_UNITS } from "../config/units.ts";

/** An error with the Prometheus API's `errorType` and HTTP status. */
export class PromError extends Error {
  constructor(
    readonly errorType: "bad_data" | "execution" | "unavailable" | "timeout" | "internal",
    message: string,
    readonly status = errorType === "bad_data" ? 400 : errorType === "execution" ? 422 : 503,
  ) {
    super(message);
    this.name = "PromError";
  }
}

/** A label matcher. */
export interface Matcher {
  name: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
  /** For `=~` and `!~`: the value anchored at both ends, as Prometheus does. */
  re?: RegExp;
}

/** Functions over a range vector. */
export const RANGE_FUNCTIONS = [
  "rate",
  "irate",
  "increase",
  "delta",
  "deriv",
  "avg_over_time",
  "min_over_time",
  "max_over_time",
  "sum_over_time",
  "count_over_time",
  "last_over_time",
  "quantile_over_time",
] as const;
/** A function over a range vector. */
export type RangeFunction = typeof RANGE_FUNCTIONS[number];

/** Aggregation operators. */
export const AGGREGATIONS = ["sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile"] as const;
/** An aggregation operator. */
export type Aggregation = typeof AGGREGATIONS[number];

/** Binary operators. */
export type BinaryOp = "+" | "-" | "*" | "/" | "%" | "^" | "==" | "!=" | ">" | "<" | ">=" | "<=";

/** An expression of the subset. */
export type Expr =
  | { type: "number"; value: number }
  | { type: "selector"; matchers: Matcher[]; offsetMs: number; text: string }
  | { type: "matrix"; selector: Extract<Expr, { type: "selector" }>; rangeMs: number }
  | { type: "call"; func: RangeFunction; param?: Expr; arg: Extract<Expr, { type: "matrix" }> }
  | { type: "aggregate"; op: Aggregation; by?: string[]; without?: string[]; param?: Expr; expr: Expr }
  | { type: "binary"; op: BinaryOp; bool: boolean; lhs: Expr; rhs: Expr }
  | { type: "neg"; expr: Expr };

/** A vector selector. */
export type Selector = Extract<Expr, { type: "selector" }>;

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = {
  Add: "+",
  Sub: "-",
  Mul: "*",
  Div: "/",
  Mod: "%",
  Pow: "^",
  EqlSingle: "==",
  Eql: "==",
  Neq: "!=",
  Gtr: ">",
  Lss: "<",
  Gte: ">=",
  Lte: "<=",
};

/**
 * Parses a PromQL expression of the subset.
 *
 * @example
 * ```ts
 * import { parsePromQL } from "./ast.ts";
 * const e = parsePromQL('sum by (target) (rate(ifHCInOctets{namespace="prod"}[5m]))');
 * if (e.type !== "aggregate" || e.by?.[0] !== "target") throw new Error();
 * ```
 */
export function parsePromQL(text: string): Expr {
  if (text.trim() === "") throw new PromError("bad_data", "The query is empty");
  const tree = parser.parse(text);
  const cursor = tree.cursor();
  do {
    if (cursor.type.isError) {
      const near = text.slice(cursor.from, cursor.from + 20);
      throw new PromError(
        "bad_data",
        `parse error at char ${cursor.from + 1}: ${
          near === "" ? "unexpected end of input" : `unexpected "${near}"`
        } in ${JSON.stringify(text)}`,
      );
    }
  } while (cursor.next());
  const top = tree.topNode.firstChild;
  if (!top) throw new PromError("bad_data", "The query is empty");
  const expr = new Builder(text).expr(top);
  if (expr.type === "matrix") {
    throw new PromError(
      "bad_data",
      `A range vector is not supported as a query's result (in "${text}"): wrap it in a function such as rate() or max_over_time()`,
    );
  }
  return expr;
}

/** Parsed queries kept by {@link parsePromQLCached} (dashboards send the same texts at every refresh). */
export const PARSE_CACHE_ENTRIES = 512;
/**
 * Longer texts are parsed every time, not kept: the cache then holds at most 512 × 4 KiB of text and its
 * trees, whatever clients send (a dashboard's queries are a few hundred bytes).
 */
export const PARSE_CACHE_MAX_TEXT = 4_096;
const parsed = new Map<string, Expr>();

/**
 * {@link parsePromQL} through a cache of the last {@link PARSE_CACHE_ENTRIES} texts: parsing with the
 * lezer grammar costs milliseconds, a dashboard refresh sends the same queries again, and the tree is
 * never changed by its evaluation. Errors are not cached (each bad query is parsed and refused again),
 * nor texts longer than {@link PARSE_CACHE_MAX_TEXT}.
 *
 * @example
 * ```ts
 * import { parsePromQLCached } from "./ast.ts";
 * if (parsePromQLCached("rate(x[5m])") !== parsePromQLCached("rate(x[5m])")) throw new Error("not cached");
 * const long = `rate(x[5m])${" ".repeat(5_000)}`;
 * if (parsePromQLCached(long) === parsePromQLCached(long)) throw new Error("a long text is not kept");
 * ```
 */
export function parsePromQLCached(text: string): Expr {
  if (text.length > PARSE_CACHE_MAX_TEXT) return parsePromQL(text);
  let e = parsed.get(text);
  if (e) {
    parsed.delete(text); // most recently used last
  } else {
    e = parsePromQL(text);
    if (parsed.size >= PARSE_CACHE_ENTRIES) parsed.delete(parsed.keys().next().value!);
  }
  parsed.set(text, e);
  return e;
}

class Builder {
  constructor(private readonly text: string) {}

  private src(n: SyntaxNode): string {
    return this.text.slice(n.from, n.to);
  }

  private unsupported(what: string, n: SyntaxNode): never {
    throw new PromError(
      "bad_data",
      `${what} is not supported (in "${this.src(n)}"); the supported PromQL subset is listed in docs/prometheus_api.md`,
    );
  }

  expr(n: SyntaxNode): Expr {
    switch (n.name) {
      case "ParenExpr":
        return this.expr(this.children(n)[0]);
      case "NumberDurationLiteral":
        return { type: "number", value: parseNumber(this.src(n)) };
      case "VectorSelector":
        return this.selector(n, 0);
      case "MatrixSelector":
        return this.matrix(n, 0);
      case "OffsetExpr":
        return this.offset(n);
      case "FunctionCall":
        return this.call(n);
      case "AggregateExpr":
        return this.aggregate(n);
      case "BinaryExpr":
        return this.binary(n);
      case "UnaryExpr": {
        const [op, inner] = this.children(n);
        const e = this.expr(inner);
        if (e.type === "matrix") this.unsupported("A unary operator on a range vector", n);
        return this.src(op) === "-" ? { type: "neg", expr: e } : e;
      }
      case "StringLiteral":
        return this.unsupported("A string literal", n);
      case "SubqueryExpr":
        return this.unsupported("A subquery", n);
      case "StepInvariantExpr":
        return this.unsupported("The @ modifier", n);
      default:
        return this.unsupported(`The construct ${n.name}`, n);
    }
  }

  private children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  private selector(n: SyntaxNode, offsetMs: number): Selector {
    const matchers: Matcher[] = [];
    for (const c of this.children(n)) {
      if (c.name === "Identifier") matchers.push(matcher("__name__", "=", this.src(c)));
      else if (c.name === "LabelMatchers") {
        for (const m of this.children(c)) matchers.push(this.labelMatcher(m));
      } else this.unsupported(`The construct ${c.name}`, c);
    }
    if (!matchers.some((m) => !matches(m, ""))) {
      throw new PromError(
        "bad_data",
        `vector selector must contain at least one non-empty matcher (in "${this.src(n)}")`,
      );
    }
    return { type: "selector", matchers, offsetMs, text: this.src(n) };
  }

  private labelMatcher(n: SyntaxNode): Matcher {
    const parts = this.children(n);
    if (n.name === "QuotedLabelName") return matcher("__name__", "=", unquote(this.src(parts[0])));
    if (n.name !== "UnquotedLabelMatcher" && n.name !== "QuotedLabelMatcher") {
      this.unsupported(`The label matcher ${n.name}`, n);
    }
    const name = n.name === "QuotedLabelMatcher" ? unquote(this.src(parts[0])) : this.src(parts[0]);
    const op = this.src(parts[1]) as Matcher["op"];
    return matcher(name, op, unquote(this.src(parts[2])));
  }

  private matrix(n: SyntaxNode, offsetMs: number): Extract<Expr, { type: "matrix" }> {
    const [sel, dur] = this.children(n);
    if (sel.name !== "VectorSelector") this.unsupported("A range over an expression", n);
    const rangeMs = this.duration(dur);
    if (!(rangeMs > 0)) throw new PromError("bad_data", `The range of "${this.src(n)}" must be positive`);
    return { type: "matrix", selector: this.selector(sel, offsetMs), rangeMs };
  }

  private duration(n: SyntaxNode): number {
    const inner = this.children(n);
    if (inner.length !== 1 || !inner[0].name.startsWith("NumberDurationLiteral")) {
      this.unsupported("A duration expression", n);
    }
    return parseDurationMs(this.src(inner[0]));
  }

  private offset(n: SyntaxNode): Expr {
    const parts = this.children(n);
    const base = parts[0];
    const durNode = parts[parts.length - 1];
    const offsetMs = this.offsetDuration(durNode);
    if (base.name === "VectorSelector") return this.selector(base, offsetMs);
    if (base.name === "MatrixSelector") return this.matrix(base, offsetMs);
    if (base.name === "UnaryExpr") {
      // the grammar reads `-x offset 5m` as (-x) offset 5m; Prometheus reads it as -(x offset 5m)
      const [op, inner] = this.children(base);
      if (inner.name === "VectorSelector") {
        const s = this.selector(inner, offsetMs);
        return this.src(op) === "-" ? { type: "neg", expr: s } : s;
      }
    }
    return this.unsupported("offset on an expression other than a selector", n);
  }

  private offsetDuration(n: SyntaxNode): number {
    const parts = this.children(n);
    if (parts.length === 2 && parts[0].name === "UnaryOp") {
      const v = this.offsetDuration(parts[1]);
      return this.src(parts[0]) === "-" ? -v : v;
    }
    if (parts.length !== 1 || !parts[0].name.startsWith("NumberDurationLiteral")) {
      this.unsupported("A duration expression", n);
    }
    return parseDurationMs(this.src(parts[0]));
  }

  private call(n: SyntaxNode): Expr {
    const [ident, body] = this.children(n);
    const func = this.src(ident);
    if (!(RANGE_FUNCTIONS as readonly string[]).includes(func)) this.unsupported(`The function ${func}()`, n);
    const args = this.children(body).map((a) => this.expr(a));
    const wanted = func === "quantile_over_time" ? 2 : 1;
    if (args.length !== wanted) {
      throw new PromError(
        "bad_data",
        `${func}() takes ${wanted} argument${wanted > 1 ? "s" : ""}, got ${args.length} (in "${this.src(n)}")`,
      );
    }
    const arg = args[wanted - 1];
    if (arg.type !== "matrix") {
      throw new PromError(
        "bad_data",
        `${func}() expects a range vector such as x[5m] as its ${wanted > 1 ? "second " : ""}argument (in "${
          this.src(n)
        }")`,
      );
    }
    const call: Expr = { type: "call", func: func as RangeFunction, arg };
    if (wanted === 2) call.param = this.scalarParam(args[0], func, n);
    return call;
  }

  private scalarParam(e: Expr, what: string, n: SyntaxNode): Expr {
    if (!isScalarExpr(e)) {
      throw new PromError("bad_data", `The parameter of ${what} must be a number (in "${this.src(n)}")`);
    }
    return e;
  }

  private aggregate(n: SyntaxNode): Expr {
    let op = "";
    let by: string[] | undefined;
    let without: string[] | undefined;
    let args: Expr[] = [];
    for (const c of this.children(n)) {
      if (c.name === "AggregateOp") op = this.src(c);
      else if (c.name === "AggregateModifier") {
        const [kind, labels] = this.children(c);
        const names = labels ? this.children(labels).map((l) => this.labelName(l)) : [];
        if (kind.name === "By") by = names;
        else without = names;
      } else if (c.name === "FunctionCallBody") args = this.children(c).map((a) => this.expr(a));
    }
    if (!(AGGREGATIONS as readonly string[]).includes(op)) this.unsupported(`The aggregation ${op}()`, n);
    const takesParam = op === "topk" || op === "bottomk" || op === "quantile";
    const wanted = takesParam ? 2 : 1;
    if (args.length !== wanted) {
      throw new PromError("bad_data", `${op}() takes ${wanted} argument(s), got ${args.length} (in "${this.src(n)}")`);
    }
    const expr = args[wanted - 1];
    if (expr.type === "matrix") {
      throw new PromError("bad_data", `${op}() expects an instant vector, got a range vector (in "${this.src(n)}")`);
    }
    const out: Expr = { type: "aggregate", op: op as Aggregation, expr };
    if (by) out.by = by;
    if (without) out.without = without;
    if (takesParam) out.param = this.scalarParam(args[0], `${op}()`, n);
    return out;
  }

  private labelName(n: SyntaxNode): string {
    const s = this.src(n);
    return s.startsWith('"') || s.startsWith("'") || s.startsWith("`") ? unquote(s) : s;
  }

  private binary(n: SyntaxNode): Expr {
    const parts = this.children(n);
    const lhsNode = parts[0];
    const rhsNode = parts[parts.length - 1];
    const opNode = parts[1];
    const op = BINARY_OPS[opNode.name];
    if (!op) this.unsupported(`The operator ${this.src(opNode)}`, n);
    let bool = false;
    for (const m of parts.slice(2, -1)) {
      if (m.name === "BoolModifier") bool = true;
      else this.unsupported(`The modifier ${this.src(m)}`, n);
    }
    const lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode);
    if (lhs.type === "matrix" || rhs.type === "matrix") this.unsupported("A binary operator on a range vector", n);
    if (!isScalarExpr(lhs) && !isScalarExpr(rhs)) {
      this.unsupported("A binary operation between two vectors", n);
    }
    const comparison = ["==", "!=", ">", "<", ">=", "<="].includes(op);
    if (comparison && !bool && isScalarExpr(lhs) && isScalarExpr(rhs)) {
      throw new PromError("bad_data", `comparisons between scalars must use the bool modifier (in "${this.src(n)}")`);
    }
    if (bool && !comparison) {
      throw new PromError("bad_data", `bool modifier can only be used on comparison operators (in "${this.src(n)}")`);
    }
    return { type: "binary", op, bool, lhs, rhs };
  }
}

/** Whether an expression evaluates to a scalar. */
export function isScalarExpr(e: Expr): boolean {
  if (e.type === "number") return true;
  if (e.type === "neg") return isScalarExpr(e.expr);
  if (e.type === "binary") return isScalarExpr(e.lhs) && isScalarExpr(e.rhs);
  return false;
}

function matcher(name: string, op: Matcher["op"], value: string): Matcher {
  const m: Matcher = { name, op, value };
  if (op === "=~" || op === "!~") m.re = anchoredRegex(value);
  return m;
}

/** Whether a label value satisfies a matcher. */
export function matches(m: Matcher, value: string): boolean {
  switch (m.op) {
    case "=":
      return value === m.value;
    case "!=":
      return value !== m.value;
    case "=~":
      return m.re!.test(value);
    case "!~":
      return !m.re!.test(value);
  }
}

/**
 * A regular expression matching whole label values, as Prometheus's `^(?s:re)$` (RE2): `.` matches a
 * newline too. Constructs RE2 lacks (lookarounds, backreferences) are refused rather than given another
 * meaning.
 */
function anchoredRegex(re: string): RegExp {
  if (/\(\?<?[=!]|\\[1-9]|\\k</.test(re)) {
    throw new PromError("bad_data", `invalid regular expression "${re}": lookarounds and backreferences are not RE2`);
  }
  try {
    return new RegExp(`^(?:${re})$`, "su");
  } catch (err) {
    throw new PromError("bad_data", `invalid regular expression "${re}": ${(err as Error).message}`);
  }
}

/** A PromQL number literal (decimal, hex, Inf, NaN, or a duration in seconds). */
export function parseNumber(text: string): number {
  const t = text.toLowerCase();
  if (t === "inf" || t === "+inf") return Infinity;
  if (t === "-inf") return -Infinity;
  if (t === "nan") return NaN;
  const n = Number(text);
  if (text.trim() !== "" && !Number.isNaN(n)) return n;
  return parseDurationMs(text) / 1000;
}

/** The configuration's duration units, and Prometheus's year of 365 days. */
const UNIT_MS: Readonly<Record<string, number>> = { ...DURATION_UNITS, y: 31_536_000_000 };

/**
 * A Prometheus duration (`5m`, `1h30m`, `500ms`, `1w`) or plain seconds (`300`, `1.5`) in ms.
 *
 * @example
 * ```ts
 * import { parseDurationMs } from "./ast.ts";
 * if (parseDurationMs("1h30m") !== 5_400_000 || parseDurationMs("1.5") !== 1_500) throw new Error();
 * ```
 */
export function parseDurationMs(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const re = /(\d+)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    end = re.lastIndex;
  }
  if (end === 0 || end !== t.length) {
    throw new PromError("bad_data", `"${text}" is not a duration: use e.g. 30s, 5m, 1h30m, 1d or seconds`);
  }
  return total;
}

/** The text of a PromQL string literal (`"..."`, `'...'` with Go escapes, or `` `raw` ``). */
export function unquote(lit: string): string {
  const q = lit[0];
  const body = lit.slice(1, -1);
  if (q === "`") return body;
  return body.replace(
    /\\(?:([abfnrtv\\'"])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|([0-7]{3}))/g,
    (_, c, x, u, U, o) => {
      if (c) {
        return ({ a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" } as Record<string, string>)[c] ?? c;
      }
      const code = parseInt(x ?? u ?? U ?? o, x || u || U ? 16 : 8);
      return String.fromCodePoint(code);
    },
  );
}
