// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Topic regular expressions of KIP-848 subscriptions (ConsumerGroupHeartbeat v1
 * `SubscribedTopicRegex`), in the syntax Kafka 4.0's coordinator compiles them with: RE2J's
 * (Google's RE2 for Java, the syntax of Go's `regexp`), matched against whole topic names
 * (`Matcher.matches()`).
 *
 * JavaScript's `RegExp` is a backtracking engine with another syntax: a member's regex could
 * stall the broker (`(a+)+b` on a 249-character topic name), and it accepts what RE2 refuses
 * (backreferences, lookarounds) and refuses what RE2 accepts (`\Q...\E`, `(?i)` inside a pattern,
 * `[[:alpha:]]`, `\pL`, a lone `{`). So this module parses RE2's syntax itself and matches with a
 * Thompson NFA, in time linear in the name's length, as RE2 does. Supported: literals, `.`,
 * classes (ranges, negation, `\d \s \w` and their negations, POSIX `[:alpha:]` classes, `\pN`
 * and `\p{Name}` Unicode classes), `^ $ \A \z \b \B`, groups (capturing, `(?:...)`,
 * `(?P<name>...)`, `(?<name>...)`), flags `i m s U` (`(?i)`, `(?i:...)`, `(?-i)`), alternation,
 * `* + ? {n} {n,} {n,m}` (counts up to 1000) and their lazy forms, escapes (`\Q...\E`, `\x41`,
 * `\x{41}`, octal `\101`, `\a \f \t \n \r \v`, escaped punctuation). Refused as RE2 refuses
 * them: backreferences, lookarounds, possessive and nested repetition, unknown escapes, bad
 * ranges, unbalanced parentheses and brackets, groups nested more than 1000 deep, patterns of more
 * than 10000 NFA states.
 *
 * @example
 * ```ts
 * import { compileTopicRegex } from "./topic_regex.ts";
 *
 * const re = compileTopicRegex("(^orders-.*)");
 * console.log(re.matches("orders-eu"), re.matches("my-orders-eu")); // true false
 * ```
 *
 * @module
 */

/**
 * A regular expression RE2 would refuse. `description` is RE2's code for what is wrong (what
 * RE2J's `PatternSyntaxException.getDescription()` gives, e.g. "missing closing )"); the message
 * adds the part of the pattern at fault, as RE2J's does.
 */
export class TopicRegexError extends Error {
  /** RE2's description of what is wrong. */
  readonly description: string;

  /**
   * @param detail What is wrong and where (`missing closing ): \`(a\``).
   * @param pattern The regular expression.
   */
  constructor(detail: string, readonly pattern: string) {
    super(`error parsing regexp: ${detail}`);
    this.name = "TopicRegexError";
    const at = detail.indexOf(": `");
    this.description = at === -1 ? detail : detail.slice(0, at);
  }
}

/** A compiled topic regex. */
export interface TopicRegex {
  /** The regular expression as given. */
  readonly source: string;
  /** Whether the whole name matches (RE2J's `Matcher.matches()`). */
  matches(name: string): boolean;
}

/** Most states of a compiled regex (RE2's "expression too large" guard). */
const MAX_STATES = 10_000;
/** Deepest nesting of groups (RE2's limit). */
const MAX_DEPTH = 1000;
/** Largest repeat count (RE2's limit). */
const MAX_REPEAT = 1000;

type CharTest = (cp: number) => boolean;
type AssertKind = "beginText" | "endText" | "beginLine" | "endLine" | "word" | "notWord";
type Node =
  | { t: "char"; test: CharTest }
  | { t: "assert"; kind: AssertKind }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "repeat"; node: Node; min: number; max: number };

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
}

const isWordCp = (cp: number) =>
  (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95;

/** RE2's Perl classes (ASCII). */
const PERL: Record<string, CharTest> = {
  d: (c) => c >= 48 && c <= 57,
  s: (c) => c === 9 || c === 10 || c === 12 || c === 13 || c === 32,
  w: isWordCp,
};

/** RE2's POSIX classes (ASCII). */
const POSIX: Record<string, CharTest> = {
  alnum: (c) => isWordCp(c) && c !== 95,
  alpha: (c) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122),
  ascii: (c) => c <= 0x7f,
  blank: (c) => c === 9 || c === 32,
  cntrl: (c) => c <= 0x1f || c === 0x7f,
  digit: (c) => c >= 48 && c <= 57,
  graph: (c) => c >= 0x21 && c <= 0x7e,
  lower: (c) => c >= 97 && c <= 122,
  print: (c) => c >= 0x20 && c <= 0x7e,
  punct: (c) =>
    (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) ||
    (c >= 0x7b && c <= 0x7e),
  space: (c) => (c >= 9 && c <= 13) || c === 32,
  upper: (c) => c >= 65 && c <= 90,
  word: isWordCp,
  xdigit: (c) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102),
};

const CONTROL: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };

/** A Unicode class `\p{Name}` (a general category or a script), or `undefined` if unknown. */
function unicodeClass(name: string): CharTest | undefined {
  if (name === "Any") return () => true;
  if (!/^[A-Za-z_]+$/.test(name)) return undefined;
  for (const form of [`\\p{${name}}`, `\\p{Script=${name}}`]) {
    try {
      const re = new RegExp(`^${form}$`, "u");
      return (cp) => re.test(String.fromCodePoint(cp));
    } catch {
      // not this form
    }
  }
  return undefined;
}

/** Case-insensitive form of a test (simple case folding of the code point). */
function folded(test: CharTest): CharTest {
  return (cp) => {
    if (test(cp)) return true;
    const s = String.fromCodePoint(cp);
    const lo = s.toLowerCase().codePointAt(0)!;
    const up = s.toUpperCase().codePointAt(0)!;
    return (lo !== cp && test(lo)) || (up !== cp && test(up));
  };
}

class Parser {
  readonly #src: number[];
  readonly #pattern: string;
  #pos = 0;
  #flags: Flags = { i: false, m: false, s: false };

  constructor(pattern: string) {
    this.#pattern = pattern;
    this.#src = [...pattern].map((c) => c.codePointAt(0)!);
  }

  #fail(description: string): never {
    throw new TopicRegexError(description, this.#pattern);
  }

  #peek(offset = 0): string | undefined {
    const cp = this.#src[this.#pos + offset];
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  #rest(from: number): string {
    return this.#slice(from, this.#src.length);
  }

  #slice(from: number, to: number): string {
    return this.#src.slice(from, to).map((c) => String.fromCodePoint(c)).join("");
  }

  parse(): Node {
    const node = this.#alternation(0);
    if (this.#pos < this.#src.length) this.#fail(`unexpected ): \`${this.#pattern}\``);
    return node;
  }

  #literal(cp: number): Node {
    const test: CharTest = (c) => c === cp;
    return { t: "char", test: this.#flags.i ? folded(test) : test };
  }

  #alternation(depth: number): Node {
    const items = [this.#concat(depth)];
    while (this.#peek() === "|") {
      this.#pos++;
      items.push(this.#concat(depth));
    }
    return items.length === 1 ? items[0] : { t: "alt", items };
  }

  #concat(depth: number): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.#peek();
      if (c === undefined || c === "|" || c === ")") break;
      const atom = this.#atom(depth);
      if (atom === null) continue; // a flag group `(?i)`
      items.push(this.#repeats(atom));
    }
    return items.length === 1 ? items[0] : { t: "cat", items };
  }

  /** A repetition count `{n}`, `{n,}`, `{n,m}` at the position, or `null` (a literal `{`). */
  #count(): [number, number] | null {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#rest(this.#pos));
    if (m === null) return null;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max !== -1 && max < min)) {
      this.#fail(`invalid repeat count: \`${m[0]}\``);
    }
    this.#pos += m[0].length;
    return [min, max];
  }

  #repeats(atom: Node): Node {
    let node = atom;
    let previousOp = -1;
    for (;;) {
      const c = this.#peek();
      const opStart = this.#pos;
      let min: number;
      let max: number;
      if (c === "*") [min, max, this.#pos] = [0, -1, this.#pos + 1];
      else if (c === "+") [min, max, this.#pos] = [1, -1, this.#pos + 1];
      else if (c === "?") [min, max, this.#pos] = [0, 1, this.#pos + 1];
      else if (c === "{") {
        const count = this.#count();
        if (count === null) return node;
        [min, max] = count;
      } else return node;
      if (this.#peek() === "?") this.#pos++; // lazy: the same set of matches
      if (previousOp !== -1) {
        this.#fail(`invalid nested repetition operator: \`${this.#slice(previousOp, this.#pos)}\``);
      }
      node = { t: "repeat", node, min, max };
      previousOp = opStart;
    }
  }

  /** One atom; `null` for a flag group that only changed the flags. */
  #atom(depth: number): Node | null {
    const c = this.#peek()!;
    const f = this.#flags;
    switch (c) {
      case "*":
      case "+":
      case "?":
        this.#fail(`missing argument to repetition operator: \`${c}\``);
        break;
      case "{":
        if (/^\{\d+(,\d*)?\}/.test(this.#rest(this.#pos))) {
          this.#fail(`missing argument to repetition operator: \`${this.#rest(this.#pos)}\``);
        }
        this.#pos++;
        return this.#literal(0x7b);
      case ".":
        this.#pos++;
        return { t: "char", test: f.s ? () => true : (cp) => cp !== 10 };
      case "^":
        this.#pos++;
        return { t: "assert", kind: f.m ? "beginLine" : "beginText" };
      case "$":
        this.#pos++;
        return { t: "assert", kind: f.m ? "endLine" : "endText" };
      case "[":
        return this.#charClass();
      case "\\":
        return this.#escape();
      case "(":
        return this.#group(depth);
      default:
        this.#pos++;
        return this.#literal(c.codePointAt(0)!);
    }
  }

  #group(depth: number): Node | null {
    const start = this.#pos;
    if (depth >= MAX_DEPTH) this.#fail("expression nests too deeply");
    this.#pos++;
    const saved = { ...this.#flags };
    if (this.#peek() === "?") {
      const rest = this.#rest(this.#pos);
      const named = /^\?P?<([A-Za-z0-9_]+)>/.exec(rest);
      if (named !== null) {
        this.#pos += named[0].length;
      } else {
        const flags = /^\?([imsU]*-[imsU]+|[imsU]+)?([:)])/.exec(rest);
        if (flags === null || (flags[1] === undefined && flags[2] === ")")) {
          if (/^\?P?<[^!=]/.test(rest)) this.#fail(`invalid named capture: \`(${rest}\``);
          const shown = /^\?(P[=>]|<[!=]|[^)]?)/.exec(rest)![0];
          this.#fail(`invalid or unsupported Perl syntax: \`(${shown}\``);
        }
        let on = true;
        for (const ch of flags[1] ?? "") {
          if (ch === "-") on = false;
          else if (ch !== "U") this.#flags[ch as keyof Flags] = on; // U: greediness only
        }
        this.#pos += flags[0].length;
        if (flags[2] === ")") return null; // (?i): the rest of the group
      }
    }
    const inner = this.#alternation(depth + 1);
    if (this.#peek() !== ")") this.#fail(`missing closing ): \`${this.#rest(start)}\``);
    this.#pos++;
    this.#flags = saved;
    return inner;
  }

  /** An escape outside a class (or inside one when `inClass`): a node, or a test in a class. */
  #escape(): Node {
    const test = this.#classEscape(false);
    if (typeof test !== "function") return test;
    return { t: "char", test: this.#flags.i ? folded(test) : test };
  }

  #classEscape(inClass: true): CharTest | number;
  #classEscape(inClass: false): CharTest | Node;
  #classEscape(inClass: boolean): CharTest | Node | number {
    this.#pos++;
    const c = this.#peek();
    if (c === undefined) this.#fail("trailing backslash at end of expression: ``");
    const cp = c.codePointAt(0)!;
    this.#pos++;
    if (!inClass) {
      const anchor: Record<string, AssertKind> = {
        A: "beginText",
        z: "endText",
        b: "word",
        B: "notWord",
      };
      if (anchor[c] !== undefined) return { t: "assert", kind: anchor[c] };
      if (c === "Q") {
        const rest = this.#rest(this.#pos);
        const end = rest.indexOf("\\E");
        const text = end === -1 ? rest : rest.slice(0, end);
        this.#pos += [...text].length + (end === -1 ? 0 : 2);
        return { t: "cat", items: [...text].map((ch) => this.#literal(ch.codePointAt(0)!)) };
      }
    }
    if (PERL[c.toLowerCase()] !== undefined && "dswDSW".includes(c)) {
      const t = PERL[c.toLowerCase()];
      return c === c.toLowerCase() ? t : (x) => !t(x);
    }
    if (c === "p" || c === "P") {
      let name: string;
      if (this.#peek() === "{") {
        const m = /^\{([^}]*)\}/.exec(this.#rest(this.#pos));
        if (m === null) {
          this.#fail(`invalid character class range: \`\\${c}${this.#rest(this.#pos)}\``);
        }
        name = m[1];
        this.#pos += m[0].length;
      } else {
        name = this.#peek() ?? "";
        this.#pos++;
      }
      let negate = c === "P";
      if (name.startsWith("^")) [name, negate] = [name.slice(1), !negate];
      const t = unicodeClass(name);
      if (t === undefined) this.#fail(`invalid character class range: \`\\${c}{${name}}\``);
      return negate ? (x) => !t(x) : t;
    }
    if (c === "x") {
      const m = /^(\{([0-9A-Fa-f]+)\}|[0-9A-Fa-f]{2})/.exec(this.#rest(this.#pos));
      if (m === null) {
        this.#fail(`invalid escape sequence: \`\\x${this.#rest(this.#pos).slice(0, 2)}\``);
      }
      const v = parseInt(m[2] ?? m[1], 16);
      if (v > 0x10ffff) this.#fail(`invalid escape sequence: \`\\x${m[0]}\``);
      this.#pos += m[0].length;
      return this.#char(v, inClass);
    }
    if (c >= "0" && c <= "7") {
      // octal: \0, \0N, \0NN, or \NN, \NNN (a lone \1-\7 would be a backreference)
      const m = /^[0-7]{0,2}/.exec(this.#rest(this.#pos))![0];
      if (c !== "0" && m.length === 0) this.#fail(`invalid escape sequence: \`\\${c}\``);
      this.#pos += m.length;
      return this.#char(parseInt(c + m, 8), inClass);
    }
    if (CONTROL[c] !== undefined) return this.#char(CONTROL[c], inClass);
    if (cp < 0x80 && !isWordCp(cp)) return this.#char(cp, inClass);
    this.#fail(`invalid escape sequence: \`\\${c}\``);
  }

  #char(cp: number, inClass: boolean): number | Node {
    return inClass ? cp : this.#literal(cp);
  }

  #charClass(): Node {
    const start = this.#pos;
    this.#pos++;
    const missing = () => this.#fail(`missing closing ]: \`${this.#rest(start)}\``);
    let negate = false;
    if (this.#peek() === "^") {
      negate = true;
      this.#pos++;
    }
    const tests: CharTest[] = [];
    let first = true;
    for (;;) {
      const c = this.#peek();
      if (c === undefined) missing();
      if (c === "]" && !first) break;
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.#rest(this.#pos));
      if (posix !== null) {
        const t = POSIX[posix[2]];
        if (t === undefined) this.#fail(`invalid character class range: \`${posix[0]}\``);
        tests.push(posix[1] === "^" ? (x) => !t(x) : t);
        this.#pos += posix[0].length;
        continue;
      }
      const itemStart = this.#pos;
      const lo = this.#classChar();
      if (typeof lo === "function") {
        tests.push(lo);
        continue;
      }
      if (this.#peek() === "-" && this.#peek(1) !== undefined && this.#peek(1) !== "]") {
        this.#pos++;
        const hi = this.#classChar();
        if (typeof hi === "function" || hi < lo) {
          this.#fail(`invalid character class range: \`${this.#slice(itemStart, this.#pos)}\``);
        }
        tests.push((x) => x >= lo && x <= hi);
      } else {
        tests.push((x) => x === lo);
      }
    }
    this.#pos++;
    let test: CharTest = (x) => tests.some((t) => t(x));
    if (this.#flags.i) test = folded(test);
    if (negate) {
      const inner = test;
      test = (x) => !inner(x);
    }
    return { t: "char", test };
  }

  #classChar(): number | CharTest {
    const c = this.#peek()!;
    if (c === "\\") {
      if (this.#peek(1) === "Q" || this.#peek(1) === "E") {
        this.#fail(`invalid escape sequence: \`\\${this.#peek(1)}\``);
      }
      return this.#classEscape(true);
    }
    this.#pos++;
    return c.codePointAt(0)!;
  }
}

interface Nfa {
  /** Per state: 0 char, 1 split, 2 assert, 3 match. */
  kind: number[];
  out: number[];
  out2: number[];
  test: (CharTest | null)[];
  assert: (AssertKind | null)[];
  start: number;
}

function build(root: Node, pattern: string): Nfa {
  const nfa: Nfa = { kind: [], out: [], out2: [], test: [], assert: [], start: 0 };
  const add = (
    kind: number,
    out: number,
    out2 = -1,
    test: CharTest | null = null,
    a: AssertKind | null = null,
  ) => {
    if (nfa.kind.length >= MAX_STATES) throw new TopicRegexError(`expression too large`, pattern);
    nfa.kind.push(kind);
    nfa.out.push(out);
    nfa.out2.push(out2);
    nfa.test.push(test);
    nfa.assert.push(a);
    return nfa.kind.length - 1;
  };
  const compile = (n: Node, next: number): number => {
    switch (n.t) {
      case "char":
        return add(0, next, -1, n.test);
      case "assert":
        return add(2, next, -1, null, n.kind);
      case "cat": {
        let cur = next;
        for (let i = n.items.length - 1; i >= 0; i--) cur = compile(n.items[i], cur);
        return cur;
      }
      case "alt": {
        let cur = compile(n.items[n.items.length - 1], next);
        for (let i = n.items.length - 2; i >= 0; i--) cur = add(1, compile(n.items[i], next), cur);
        return cur;
      }
      case "repeat": {
        let cur = next;
        if (n.max === -1) {
          const loop = add(1, -1, cur);
          nfa.out[loop] = compile(n.node, loop);
          cur = loop;
        } else {
          for (let i = n.min; i < n.max; i++) cur = add(1, compile(n.node, cur), next);
        }
        for (let i = 0; i < n.min; i++) cur = compile(n.node, cur);
        return cur;
      }
    }
  };
  const match = add(3, -1);
  nfa.start = compile(root, match);
  return nfa;
}

/**
 * Compiles a topic regex in RE2's syntax.
 *
 * @param pattern The regular expression (e.g. librdkafka's `(^orders.*)`).
 * @returns The compiled regex; it matches whole topic names.
 * @throws {TopicRegexError} If RE2 would refuse it (its description says why).
 */
export function compileTopicRegex(pattern: string): TopicRegex {
  const nfa = build(new Parser(pattern).parse(), pattern);
  const n = nfa.kind.length;
  return {
    source: pattern,
    matches(name: string): boolean {
      const cps = [...name].map((c) => c.codePointAt(0)!);
      let cur = new Int32Array(n);
      let curLen = 0;
      let next = new Int32Array(n);
      let nextLen = 0;
      const seen = new Int32Array(n).fill(-1);
      const stack = new Int32Array(n * 2 + 2);
      const closure = (from: number, pos: number, into: Int32Array, len: number): number => {
        let sp = 0;
        stack[sp++] = from;
        while (sp > 0) {
          const s = stack[--sp];
          if (s < 0 || seen[s] === pos) continue;
          seen[s] = pos;
          switch (nfa.kind[s]) {
            case 1:
              stack[sp++] = nfa.out2[s];
              stack[sp++] = nfa.out[s];
              break;
            case 2:
              if (holds(nfa.assert[s]!, cps, pos)) stack[sp++] = nfa.out[s];
              break;
            default:
              into[len++] = s;
          }
        }
        return len;
      };
      curLen = closure(nfa.start, 0, cur, 0);
      for (let i = 0; i < cps.length && curLen > 0; i++) {
        nextLen = 0;
        for (let k = 0; k < curLen; k++) {
          const s = cur[k];
          if (nfa.kind[s] === 0 && nfa.test[s]!(cps[i])) {
            nextLen = closure(nfa.out[s], i + 1, next, nextLen);
          }
        }
        [cur, next] = [next, cur];
        curLen = nextLen;
      }
      for (let k = 0; k < curLen; k++) if (nfa.kind[cur[k]] === 3) return true;
      return false;
    },
  };
}

function holds(kind: AssertKind, cps: number[], pos: number): boolean {
  switch (kind) {
    case "beginText":
      return pos === 0;
    case "endText":
      return pos === cps.length;
    case "beginLine":
      return pos === 0 || cps[pos - 1] === 10;
    case "endLine":
      return pos === cps.length || cps[pos] === 10;
    case "word":
    case "notWord": {
      const before = pos > 0 && isWordCp(cps[pos - 1]);
      const after = pos < cps.length && isWordCp(cps[pos]);
      return (before !== after) === (kind === "word");
    }
  }
}
