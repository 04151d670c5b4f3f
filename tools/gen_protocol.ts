// Copyright 2026 the Sluice authors. Apache-2.0 license.

/**
 * Generates the Kafka protocol codecs in `protocol/messages/` (one file per API plus
 * `headers.ts`) and `protocol/apis.ts` from Apache Kafka's JSON message specs.
 *
 * ```sh
 * deno run --allow-read --allow-write tools/gen_protocol.ts           # write
 * deno run --allow-read tools/gen_protocol.ts --check                 # verify, exit 1 on drift
 * deno run --allow-read tools/gen_protocol.ts --spec DIR --out DIR    # other locations
 * ```
 *
 * The output is emitted already `deno fmt`-clean (lines ≤ 100 columns), so `--check` needs only
 * read permission.
 *
 * @module
 */

import {
  type FieldSpec,
  type FieldType,
  inRange,
  loadSpecs,
  type MessageSpec,
  snakeCase,
  type StructSpec,
  type VersionRange,
} from "./spec.ts";

/** Default spec directory: the repository's copy of Kafka's specs, `tools/kafka-protocol/messages/`. */
export const DEFAULT_SPEC_DIR: URL = new URL("./kafka-protocol/messages/", import.meta.url);
/** Default output directory: the repository's `protocol/`. */
export const DEFAULT_OUT_DIR: URL = new URL("../protocol/", import.meta.url);

const GENERATOR = "tools/gen_protocol.ts";
const MAX_LINE = 100;
const LONG_LINES: string[] = [];

const RESERVED = new Set(
  ("break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await r v w m n i t tag end nTags tw a undefined")
    .split(" "),
);

// ---------------------------------------------------------------------------------------------
// Output helper

class Out {
  lines: string[] = [];
  #indent = 0;
  line(s = ""): void {
    const text = s === "" ? "" : "  ".repeat(this.#indent) + s;
    if (text.length > MAX_LINE) LONG_LINES.push(text);
    this.lines.push(text);
  }
  open(s: string): void {
    this.line(s);
    this.#indent++;
  }
  close(s = "}"): void {
    this.#indent--;
    this.line(s);
  }
  /** Emits `s` if it fits, else the multi-line form from `parts`. */
  fit(s: string, alt: () => void): void {
    if ("  ".repeat(this.#indent).length + s.length <= MAX_LINE) this.line(s);
    else alt();
  }
  /** Emits `head(args...)tail`, one argument per line if it does not fit. */
  call(head: string, args: string[], tail: string, bare = false): void {
    if (bare) {
      this.fit(`${head} ${args.join(", ")}${tail}`, () => {
        throw new Error(`generated expression too long: ${head} ${args.join(", ")}`);
      });
      return;
    }
    this.fit(`${head}(${args.join(", ")})${tail}`, () => {
      this.open(`${head}(`);
      for (const a of args) this.line(`${a},`);
      this.close(`)${tail}`);
    });
  }
  get indent(): number {
    return this.#indent;
  }
  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

function doc(out: Out, text: string): void {
  const clean = text.replace(/\*\//g, "*\\/").replace(/\s+/g, " ").trim();
  const width = MAX_LINE - out.indent * 2 - 3;
  const lines: string[] = [];
  // Each JSDoc tag starts a paragraph; code fences keep their own lines.
  const paras = clean.split(/ (?=@(?:param|returns|throws|example) )/);
  for (const para of paras) {
    if (para.startsWith("@example")) {
      const m = /^@example (.*?)```ts (.*) ```$/.exec(para);
      if (m) {
        lines.push(`@example ${m[1].trim()}`.trim(), "```ts");
        for (const stmt of m[2].split(" | ")) lines.push(stmt);
        lines.push("```");
        continue;
      }
    }
    let cur = "";
    for (const w of para.split(" ")) {
      if (cur && cur.length + 1 + w.length > width) {
        lines.push(cur);
        cur = w;
      } else {
        cur = cur ? cur + " " + w : w;
      }
    }
    if (cur) lines.push(cur);
  }
  if (lines.length === 1 && lines[0].length + 7 <= MAX_LINE - out.indent * 2) {
    out.line(`/** ${lines[0]} */`);
    return;
  }
  out.line("/**");
  for (const l of lines) out.line(` * ${l}`);
  out.line(" */");
}

function fmtRange(r: VersionRange | null): string {
  if (!r) return "none";
  if (r.hi === Infinity) return `${r.lo}+`;
  if (r.lo === r.hi) return `${r.lo}`;
  return `${r.lo}-${r.hi}`;
}

// ---------------------------------------------------------------------------------------------
// Per-file generation context

interface Ctx {
  msg: MessageSpec;
  /** TS type name per struct. */
  typeName: Map<StructSpec, string>;
  /** Private function base name per struct. */
  fnName: Map<StructSpec, string>;
  /** Version range in which each struct can occur. */
  range: Map<StructSpec, VersionRange>;
  /** Structs needing an `isDefault` helper. */
  needDefault: Set<StructSpec>;
  /** Imports used from primitives. */
  imports: Set<string>;
  /** Primitive array helpers needed (reader/writer method suffixes). */
  arrayHelpers: Map<string, string>;
}

function intersect(a: VersionRange, b: VersionRange): VersionRange | null {
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

/** A condition `v` must satisfy to be in `r`, given that `v` is already in `ctx`. */
function cond(r: VersionRange | null, ctx: VersionRange, vn = "v"): string {
  if (!r) return "false";
  const i = intersect(r, ctx);
  if (!i) return "false";
  const parts: string[] = [];
  if (i.lo > ctx.lo) parts.push(`${vn} >= ${i.lo}`);
  if (i.hi < ctx.hi) parts.push(`${vn} <= ${i.hi}`);
  return parts.length === 0 ? "true" : parts.join(" && ");
}

function isFlexible(msg: MessageSpec, f: FieldSpec | null, v: number): boolean {
  if (f && f.flexibleOverride !== undefined) return inRange(f.flexibleOverride, v);
  return inRange(msg.flexible, v);
}

/** Splits `range` into maximal runs with equal key. */
function segments<K>(range: VersionRange, key: (v: number) => K): { r: VersionRange; k: K }[] {
  const out: { r: VersionRange; k: K }[] = [];
  const last = range.hi === Infinity ? range.lo + 1000 : range.hi;
  let start = range.lo;
  let k = key(start);
  for (let v = range.lo + 1; v <= last + 1; v++) {
    const kv = v <= last ? key(v) : undefined;
    if (v > last || JSON.stringify(kv) !== JSON.stringify(k)) {
      out.push({ r: { lo: start, hi: v - 1 === last ? range.hi : v - 1 }, k });
      start = v;
      k = kv as K;
    }
  }
  return out;
}

function localName(f: FieldSpec): string {
  return RESERVED.has(f.camel) || /^(read|write|create|is)[A-Z]/.test(f.camel)
    ? f.camel + "_"
    : f.camel;
}

function tsType(ctx: Ctx, t: FieldType): string {
  switch (t.kind) {
    case "primitive":
      switch (t.name) {
        case "bool":
          return "boolean";
        case "string":
        case "uuid":
          return "string";
        case "bytes":
          return "Uint8Array";
        case "records":
          return "Uint8Array | null";
        default:
          return "number";
      }
      break;
    case "struct":
      return ctx.typeName.get(t.struct)!;
    case "array": {
      const e = tsType(ctx, t.element);
      return `${e}[]`;
    }
  }
}

function fieldType(ctx: Ctx, f: FieldSpec): string {
  const base = tsType(ctx, f.type);
  if (f.type.kind === "primitive" && f.type.name === "records") return base;
  return f.nullable ? `${base} | null` : base;
}

function parseIntDefault(d: string | number | boolean | undefined): number {
  if (d === undefined || d === "") return 0;
  if (typeof d === "number") return d;
  const s = String(d).trim();
  const neg = s.startsWith("-");
  const body = neg ? s.slice(1) : s;
  const n = /^0x/i.test(body) ? parseInt(body.slice(2), 16) : Number(body);
  if (!Number.isFinite(n)) throw new Error(`invalid integer default ${JSON.stringify(d)}`);
  return neg ? -n : n;
}

/** The default value expression for a field. */
function defaultExpr(ctx: Ctx, f: FieldSpec): string {
  const d = f.defaultValue;
  const t = f.type;
  if (t.kind === "array") return d === "null" ? "null" : "[]";
  if (t.kind === "struct") {
    return d === "null" ? "null" : `create${ctx.typeName.get(t.struct)}()`;
  }
  switch (t.name) {
    case "bool":
      return String(d === true || d === "true");
    case "string":
      if (d === "null") return "null";
      return JSON.stringify(d === undefined ? "" : String(d));
    case "bytes":
      return d === "null" ? "null" : "new Uint8Array(0)";
    case "records":
      return "null";
    case "uuid":
      ctx.imports.add("ZERO_UUID");
      return "ZERO_UUID";
    case "float64":
      return String(d === undefined ? 0 : Number(d));
    default:
      return String(parseIntDefault(d));
  }
}

/** Expression that is true when `val` differs from the field's default. */
function nonDefaultExpr(ctx: Ctx, f: FieldSpec, val: string): string {
  const t = f.type;
  const d = defaultExpr(ctx, f);
  if (d === "null") return `${val} !== null`;
  if (t.kind === "array") {
    return f.nullable ? `(${val} === null || ${val}.length !== 0)` : `${val}.length !== 0`;
  }
  if (t.kind === "struct") {
    ctx.needDefault.add(t.struct);
    return `!isDefault${ctx.fnName.get(t.struct)}(${val})`;
  }
  if (t.name === "bytes") {
    return f.nullable ? `(${val} === null || ${val}.length !== 0)` : `${val}.length !== 0`;
  }
  if (t.name === "float64") return `!Object.is(${val}, ${d})`;
  return `${val} !== ${d}`;
}

const READ_METHOD: Record<string, string> = {
  bool: "Bool",
  int8: "Int8",
  int16: "Int16",
  uint16: "Uint16",
  int32: "Int32",
  uint32: "Uint32",
  int64: "Int64",
  float64: "Float64",
  uuid: "Uuid",
};

/** Reader/Writer method suffix for a primitive in a given encoding. */
function primMethod(name: string, flex: boolean, nullable: boolean): string {
  if (READ_METHOD[name]) return READ_METHOD[name];
  if (name === "records") return flex ? "CompactRecords" : "Records";
  const base = name === "string" ? "String" : "Bytes";
  return (flex ? "Compact" : "") + (nullable ? "Nullable" : "") + base;
}

// ---------------------------------------------------------------------------------------------
// Field read/write emission

interface Enc {
  flex: boolean;
  nullable: boolean;
}

function encSegments(ctx: Ctx, f: FieldSpec, present: VersionRange): { r: VersionRange; k: Enc }[] {
  const t = f.type;
  const fixed = t.kind === "primitive" && READ_METHOD[t.name] !== undefined;
  return segments(present, (v) => ({
    flex: fixed || t.kind === "struct" ? false : isFlexible(ctx.msg, f, v),
    nullable: fixed ? false : inRange(f.nullable, v),
  }));
}

/** Emits statements assigning the decoded value of `f` (encoding `e`) to `target`. */
function emitReadValue(
  ctx: Ctx,
  out: Out,
  owner: string,
  f: FieldSpec,
  e: Enc,
  target: string,
): void {
  const t = f.type;
  if (t.kind === "primitive") {
    out.line(`${target} = r.read${primMethod(t.name, e.flex, e.nullable)}();`);
    return;
  }
  if (t.kind === "struct") {
    const fn = `read${ctx.fnName.get(t.struct)}(r, v)`;
    if (e.nullable) {
      out.line(`${target} = r.readInt8() < 0 ? null : ${fn};`);
    } else {
      out.line(`${target} = ${fn};`);
    }
    return;
  }
  // array
  out.line(`const n = r.${e.flex ? "readCompactArrayLength" : "readArrayLength"}();`);
  const helper = arrayReadHelper(ctx, t.element, e.flex);
  if (e.nullable) {
    out.line(`${target} = n < 0 ? null : ${helper}(r, v, n);`);
  } else {
    ctx.imports.add("nonNullable");
    out.open(`if (n < 0) {`);
    out.call("throw nonNullable", [`"${owner}.${f.camel}"`, "v"], ";");
    out.close();
    out.line(`${target} = ${helper}(r, v, n);`);
  }
}

function arrayReadHelper(ctx: Ctx, el: FieldType, flex: boolean): string {
  if (el.kind === "struct") return `read${ctx.fnName.get(el.struct)}Array`;
  if (el.kind !== "primitive") throw new Error("nested arrays are not supported");
  const m = primMethod(el.name, flex, false);
  const name = `read${m}Array`;
  ctx.arrayHelpers.set(name, m);
  return name;
}

function arrayWriteHelper(ctx: Ctx, el: FieldType, flex: boolean): string {
  if (el.kind === "struct") return `write${ctx.fnName.get(el.struct)}Array`;
  if (el.kind !== "primitive") throw new Error("nested arrays are not supported");
  const m = primMethod(el.name, flex, false);
  const name = `write${m}Array`;
  ctx.arrayHelpers.set(name, m);
  return name;
}

/** Emits statements writing `val` (field `f`, encoding `e`) with writer `wn`. */
function emitWriteValue(
  ctx: Ctx,
  out: Out,
  owner: string,
  f: FieldSpec,
  e: Enc,
  val: string,
  wn: string,
): void {
  const t = f.type;
  if (t.kind === "primitive") {
    let arg = val;
    if (f.nullable && !e.nullable && (t.name === "string" || t.name === "bytes")) {
      arg = `${val} as ${t.name === "string" ? "string" : "Uint8Array"}`;
    }
    out.line(`${wn}.write${primMethod(t.name, e.flex, e.nullable)}(${arg});`);
    return;
  }
  if (t.kind === "struct") {
    const fn = `write${ctx.fnName.get(t.struct)}`;
    if (e.nullable) {
      out.open(`if (${val} === null) {`);
      out.line(`${wn}.writeInt8(-1);`);
      out.close(`} else {`);
      out.open("");
      out.lines.pop();
      out.line(`${wn}.writeInt8(1);`);
      out.line(`${fn}(${wn}, ${val}, v);`);
      out.close();
    } else {
      ctx.imports.add("nonNullable");
      out.open(`if (typeof ${val} !== "object" || ${val} === null) {`);
      out.call("throw nonNullable", [`"${owner}.${f.camel}"`, "v"], ";");
      out.close();
      out.line(`${fn}(${wn}, ${val}, v);`);
    }
    return;
  }
  const len = e.flex ? "writeCompactArrayLength" : "writeArrayLength";
  const helper = arrayWriteHelper(ctx, t.element, e.flex);
  if (e.nullable) {
    out.open(`if (${val} === null) {`);
    out.line(`${wn}.${len}(-1);`);
    out.close(`} else {`);
    out.open("");
    out.lines.pop();
    out.line(`${wn}.${len}(${val}.length);`);
    out.line(`${helper}(${wn}, ${val}, v);`);
    out.close();
  } else {
    ctx.imports.add("nonNullable");
    out.open(`if (!Array.isArray(${val})) {`);
    out.call("throw nonNullable", [`"${owner}.${f.camel}"`, "v"], ";");
    out.close();
    out.line(`${wn}.${len}(${val}.length);`);
    out.line(`${helper}(${wn}, ${val}, v);`);
  }
}

/** Emits `if (c1) {..} else if (c2) {..}` over segments, or the body alone when unconditional. */
function emitSegments<K>(
  out: Out,
  segs: { r: VersionRange; k: K }[],
  ctxRange: VersionRange,
  body: (k: K) => void,
  orElse?: () => void,
): void {
  const conds = segs.map((s) => cond(s.r, ctxRange)).filter((c) => c !== "false");
  const live = segs.filter((s) => cond(s.r, ctxRange) !== "false");
  if (live.length === 1 && conds[0] === "true") {
    body(live[0].k);
    return;
  }
  const covers = live.length > 0 && live[0].r.lo <= ctxRange.lo &&
    live[live.length - 1].r.hi >= ctxRange.hi;
  live.forEach((s, i) => {
    if (i === 0) out.open(`if (${conds[i]}) {`);
    else if (covers && !orElse && i === live.length - 1) {
      out.close(`} else {`);
      out.open("");
      out.lines.pop();
    } else {
      out.close(`} else if (${conds[i]}) {`);
      out.open("");
      out.lines.pop();
    }
    body(s.k);
  });
  if (orElse) {
    if (live.length === 0) {
      out.open(`{`);
      orElse();
      out.close();
      return;
    }
    out.close(`} else {`);
    out.open("");
    out.lines.pop();
    orElse();
  }
  if (live.length > 0) out.close();
}

// ---------------------------------------------------------------------------------------------
// Struct emission

function structRange(ctx: Ctx, s: StructSpec): VersionRange {
  return ctx.range.get(s)!;
}

function emitInterface(ctx: Ctx, out: Out, s: StructSpec, title: string): void {
  doc(out, title);
  if (s.fields.length === 0) {
    out.line("// deno-lint-ignore no-empty-interface");
    out.line(`export interface ${ctx.typeName.get(s)} {}`);
    out.line();
    return;
  }
  out.open(`export interface ${ctx.typeName.get(s)} {`);
  for (const f of s.fields) {
    const notes = [`versions ${fmtRange(f.versions)}`];
    if (f.nullable) notes.push(`nullable ${fmtRange(f.nullable)}`);
    if (f.tagged) notes.push(`tagged ${fmtRange(f.tagged)}, tag ${f.tag}`);
    if (f.ignorable) notes.push("ignorable");
    const about = f.about ? f.about.replace(/\s*$/, "") : f.name;
    doc(out, `${about}${/[.!?]$/.test(about) ? "" : "."} (${notes.join(", ")})`);
    out.line(`${f.camel}: ${fieldType(ctx, f)};`);
  }
  out.close();
  out.line();
}

/** Renames `v`/`m` parameters to `_v`/`_m` in the function starting at line `start` if unused. */
function markUnused(out: Out, start: number): void {
  const sigEnd = out.lines.findIndex((l, i) => i >= start && l.endsWith("{"));
  const body = out.lines.slice(sigEnd + 1).join("\n");
  for (const p of ["v", "m"]) {
    if (new RegExp(`\\b${p}\\b`).test(body)) continue;
    for (let i = start; i <= sigEnd; i++) {
      out.lines[i] = out.lines[i].replace(new RegExp(`\\b${p}: `), `_${p}: `);
    }
  }
  const one = out.lines[start];
  const m = /^(\s*)(.*?)\((.*)\): (.*) \{$/.exec(one);
  if (sigEnd === start && one.length > MAX_LINE && m) {
    const [, ind, head, params, ret] = m;
    out.lines.splice(
      start,
      1,
      `${ind}${head}(`,
      ...params.split(", ").map((p) => `${ind}  ${p},`),
      `${ind}): ${ret} {`,
    );
  }
}

function emitSig(out: Out, head: string, params: string[], ret: string): void {
  const one = `${head}(${params.join(", ")}): ${ret} {`;
  out.fit(one, () => {
    out.open(`${head}(`);
    for (const p of params) out.line(`${p},`);
    out.close(`): ${ret} {`);
  });
  out.open("");
  out.lines.pop();
}

function emitCreate(ctx: Ctx, out: Out, s: StructSpec, exported: boolean): void {
  const tn = ctx.typeName.get(s)!;
  if (exported) {
    doc(
      out,
      `Creates a {@linkcode ${tn}} with every field at its default, then applies \`init\`. ` +
        `@param init Fields to set. @returns The new value.`,
    );
  }
  emitSig(out, `${exported ? "export " : ""}function create${tn}`, [`init?: Partial<${tn}>`], tn);
  if (s.fields.length === 0) {
    out.line("return { ...init };");
  } else {
    out.open("return {");
    for (const f of s.fields) out.line(`${f.camel}: ${defaultExpr(ctx, f)},`);
    out.line("...init,");
    out.close("};");
  }
  out.close();
  out.line();
}

function emitIsDefault(ctx: Ctx, out: Out, s: StructSpec): void {
  const tn = ctx.typeName.get(s)!;
  const fn = ctx.fnName.get(s)!;
  emitSig(out, `function isDefault${fn}`, [`m: ${tn} | null | undefined`], "boolean");
  out.open("if (m === null || m === undefined) {");
  out.line("return true;");
  out.close();
  const parts = s.fields.map((f) => nonDefaultExpr(ctx, f, `m.${f.camel}`));
  const lines = parts.map((p) => {
    const simple = /^([\w.]+) !== ([^&|()]+)$/.exec(p);
    return simple ? `${simple[1]} === ${simple[2]}` : `!${p.startsWith("(") ? p : `(${p})`}`;
  });
  out.fit(`return ${lines.join(" && ")};`, () => {
    out.open("return (");
    lines.forEach((l, i) => out.line(i === 0 ? l : `&& ${l}`));
    out.close(");");
  });
  out.close();
  out.line();
}

function emitRead(ctx: Ctx, out: Out, s: StructSpec): void {
  const tn = ctx.typeName.get(s)!;
  const fn = ctx.fnName.get(s)!;
  const range = structRange(ctx, s);
  const owner = tn;
  ctx.imports.add("Reader");
  const start = out.lines.length;
  emitSig(out, `function read${fn}`, ["r: Reader", "v: number"], tn);
  const regular = s.fields.filter((f) => !f.tagged);
  const tagged = s.fields.filter((f) => f.tagged);
  const decls: string[] = [];
  for (const f of regular) {
    const name = localName(f);
    const present = intersect(f.versions, range);
    const segs = present ? encSegments(ctx, f, present) : [];
    if (segs.length === 1 && cond(present, range) === "true") {
      // Unconditional, single encoding.
      if (f.type.kind === "array" || (f.type.kind === "struct" && segs[0].k.nullable)) {
        out.line(`let ${name}: ${fieldType(ctx, f)};`);
        out.open(`{`);
        emitReadValue(ctx, out, owner, f, segs[0].k, name);
        out.close();
      } else {
        const e = segs[0].k;
        if (f.type.kind === "primitive") {
          out.line(`const ${name} = r.read${primMethod(f.type.name, e.flex, e.nullable)}();`);
        } else {
          out.line(`const ${name} = read${ctx.fnName.get(f.type.struct)}(r, v);`);
        }
      }
    } else if (present && cond(present, range) === "true") {
      out.line(`let ${name}: ${fieldType(ctx, f)};`);
      emitSegments(out, segs, range, (e) => emitReadValue(ctx, out, owner, f, e, name));
    } else {
      out.line(`let ${name}: ${fieldType(ctx, f)} = ${defaultExpr(ctx, f)};`);
      if (present) {
        emitSegments(out, segs, range, (e) => emitReadValue(ctx, out, owner, f, e, name));
      }
    }
    decls.push(name);
  }
  for (const f of tagged) {
    const d = defaultExpr(ctx, f);
    if (d.startsWith("create")) out.line(`let ${localName(f)} = ${d};`);
    else out.line(`let ${localName(f)}: ${fieldType(ctx, f)} = ${d};`);
  }
  const flexRange = ctx.msg.flexible ? intersect(ctx.msg.flexible, range) : null;
  if (flexRange) {
    const fc = cond(flexRange, range);
    if (fc !== "true") out.open(`if (${fc}) {`);
    if (tagged.length === 0) {
      out.line(`r.skipTaggedFields();`);
    } else {
      out.line(`const nTags = r.readUnsignedVarint();`);
      out.open(`for (let t = 0; t < nTags; t++) {`);
      out.line(`const tag = r.readUnsignedVarint();`);
      out.line(`const end = r.readTaggedFieldEnd();`);
      out.open(`switch (tag) {`);
      for (const f of [...tagged].sort((a, b) => a.tag! - b.tag!)) {
        out.open(`case ${f.tag}: {`);
        const tr = intersect(intersect(f.tagged!, f.versions) ?? f.tagged!, flexRange);
        const tc = cond(tr, flexRange);
        if (tc !== "true") out.open(`if (${tc}) {`);
        emitReadValue(ctx, out, owner, f, {
          flex: true,
          nullable: tr ? inRange(f.nullable, tr.lo) : false,
        }, localName(f));
        out.call("r.checkTaggedFieldEnd", ["end", `"${owner}.${f.camel}"`], ";");
        if (tc !== "true") {
          out.close(`} else {`);
          out.open("");
          out.lines.pop();
          out.line(`r.pos = end;`);
          out.close();
        }
        out.line(`break;`);
        out.close();
      }
      out.open(`default:`);
      out.line(`r.pos = end;`);
      out.close("}");
      out.lines.pop();
      out.close("}");
      out.close();
    }
    if (fc !== "true") out.close();
  }
  if (s.fields.length === 0) {
    out.line("return {};");
  } else {
    out.open("return {");
    for (const f of s.fields) {
      const name = localName(f);
      out.line(name === f.camel ? `${name},` : `${f.camel}: ${name},`);
    }
    out.close("};");
  }
  out.close();
  markUnused(out, start);
  out.line();
}

function emitWrite(ctx: Ctx, out: Out, s: StructSpec): void {
  const tn = ctx.typeName.get(s)!;
  const fn = ctx.fnName.get(s)!;
  const range = structRange(ctx, s);
  const owner = tn;
  ctx.imports.add("Writer");
  const start = out.lines.length;
  emitSig(out, `function write${fn}`, ["w: Writer", `m: ${tn}`, "v: number"], "void");
  const regular = s.fields.filter((f) => !f.tagged);
  const tagged = s.fields.filter((f) => f.tagged);
  for (const f of regular) {
    const present = intersect(f.versions, range);
    const segs = present ? encSegments(ctx, f, present) : [];
    const absentCheck = f.ignorable ? undefined : () => {
      ctx.imports.add("unsupportedField");
      out.open(`if (${nonDefaultExpr(ctx, f, `m.${f.camel}`)}) {`);
      out.call("throw unsupportedField", [`"${owner}.${f.camel}"`, "v"], ";");
      out.close();
    };
    const covers = present && cond(present, range) === "true";
    emitSegments(
      out,
      segs,
      range,
      (e) => emitWriteValue(ctx, out, owner, f, e, `m.${f.camel}`, "w"),
      covers ? undefined : absentCheck,
    );
  }
  const flexRange = ctx.msg.flexible ? intersect(ctx.msg.flexible, range) : null;
  if (flexRange) {
    const fc = cond(flexRange, range);
    if (fc !== "true") out.open(`if (${fc}) {`);
    if (tagged.length === 0) {
      out.line(`w.writeUnsignedVarint(0);`);
    } else {
      const sorted = [...tagged].sort((a, b) => a.tag! - b.tag!);
      const conds = sorted.map((f) => {
        const tr = intersect(intersect(f.tagged!, f.versions) ?? f.tagged!, flexRange);
        const tc = cond(tr, flexRange);
        const nd = nonDefaultExpr(ctx, f, `m.${f.camel}`);
        return { f, tr, c: tc === "true" ? nd : `${tc} && ${nd}` };
      });
      for (const { f, c } of conds) out.call(`const has${f.tag} =`, [c], ";", true);
      out.line(`let nTags = 0;`);
      for (const { f } of conds) {
        out.open(`if (has${f.tag}) {`);
        out.line(`nTags++;`);
        out.close();
      }
      out.line(`w.writeUnsignedVarint(nTags);`);
      ctx.imports.add("Writer:value");
      for (const { f, tr } of conds) {
        out.open(`if (has${f.tag}) {`);
        out.line(`const tw = new Writer(64);`);
        emitWriteValue(
          ctx,
          out,
          owner,
          f,
          {
            flex: true,
            nullable: tr ? inRange(f.nullable, tr.lo) : false,
          },
          `m.${f.camel}`,
          "tw",
        );
        out.line(`w.writeTaggedField(${f.tag}, tw);`);
        out.close();
      }
      // Non-ignorable tagged fields set outside their versions.
      for (const { f, tr } of conds) {
        if (f.ignorable || !tr) continue;
        const tc = cond(tr, flexRange);
        if (tc === "true") continue;
        ctx.imports.add("unsupportedField");
        out.open(`if (!(${tc}) && ${nonDefaultExpr(ctx, f, `m.${f.camel}`)}) {`);
        out.call("throw unsupportedField", [`"${owner}.${f.camel}"`, "v"], ";");
        out.close();
      }
    }
    if (fc !== "true") out.close();
  }
  out.close();
  markUnused(out, start);
  out.line();
}

function emitArrayFns(ctx: Ctx, out: Out, s: StructSpec): void {
  const tn = ctx.typeName.get(s)!;
  const fn = ctx.fnName.get(s)!;
  emitSig(out, `function read${fn}Array`, ["r: Reader", "v: number", "n: number"], `${tn}[]`);
  // sized before it is read (`presized`): a push into [] reserves 17 slots, which a request's
  // one-element arrays (one topic, one partition) paid per request (issue #17)
  ctx.imports.add("presized");
  out.line(`const a: ${tn}[] = presized(n);`);
  out.open(`for (let i = 0; i < n; i++) {`);
  out.line(`a[i] = read${fn}(r, v);`);
  out.close();
  out.line(`return a;`);
  out.close();
  out.line();
  emitSig(out, `function write${fn}Array`, ["w: Writer", `a: ${tn}[]`, "v: number"], "void");
  out.open(`for (let i = 0; i < a.length; i++) {`);
  out.line(`write${fn}(w, a[i], v);`);
  out.close();
  out.close();
  out.line();
}

const PRIM_TS: Record<string, string> = {
  Bool: "boolean",
  Uuid: "string",
  String: "string",
  CompactString: "string",
  Bytes: "Uint8Array",
  CompactBytes: "Uint8Array",
};

function emitPrimArrayFns(ctx: Ctx, out: Out): void {
  for (const [name, m] of [...ctx.arrayHelpers].sort((a, b) => a[0].localeCompare(b[0]))) {
    const ts = PRIM_TS[m] ?? "number";
    if (name.startsWith("read")) {
      ctx.imports.add("Reader");
      emitSig(out, `function ${name}`, ["r: Reader", "_v: number", "n: number"], `${ts}[]`);
      ctx.imports.add("presized");
      out.line(`const a: ${ts}[] = presized(n);`);
      out.open(`for (let i = 0; i < n; i++) {`);
      out.line(`a[i] = r.read${m}();`);
      out.close();
      out.line(`return a;`);
    } else {
      ctx.imports.add("Writer");
      emitSig(out, `function ${name}`, ["w: Writer", `a: ${ts}[]`, "_v: number"], "void");
      out.open(`for (let i = 0; i < a.length; i++) {`);
      out.line(`w.write${m}(a[i]);`);
      out.close();
    }
    out.close();
    out.line();
  }
}

// ---------------------------------------------------------------------------------------------
// Files

interface Api {
  name: string; // e.g. "Produce"
  file: string; // e.g. "produce"
  key: number;
  request: MessageSpec;
  response: MessageSpec;
}

function rootStruct(msg: MessageSpec): StructSpec {
  return { name: msg.name, fields: msg.fields };
}

function allStructs(root: StructSpec): StructSpec[] {
  const seen: StructSpec[] = [];
  const visit = (s: StructSpec) => {
    if (seen.includes(s)) return;
    seen.push(s);
    for (const f of s.fields) {
      let t = f.type;
      while (t.kind === "array") t = t.element;
      if (t.kind === "struct") visit(t.struct);
    }
  };
  visit(root);
  return seen;
}

function computeRanges(msg: MessageSpec, root: StructSpec, range: Map<StructSpec, VersionRange>) {
  const visit = (s: StructSpec, r: VersionRange) => {
    const prev = range.get(s);
    const merged = prev ? { lo: Math.min(prev.lo, r.lo), hi: Math.max(prev.hi, r.hi) } : r;
    if (prev && prev.lo === merged.lo && prev.hi === merged.hi) return;
    range.set(s, merged);
    for (const f of s.fields) {
      let t = f.type;
      while (t.kind === "array") t = t.element;
      if (t.kind !== "struct") continue;
      const fr = intersect(f.versions, merged);
      if (fr) visit(t.struct, fr);
    }
  };
  visit(root, msg.valid);
}

function header(files: string[], hash: string): string[] {
  return [
    `// Code generated by ${GENERATOR}. DO NOT EDIT.`,
    "// Run `deno task gen:protocol` to regenerate. Copyright 2026 the Sluice authors. Apache-2.0.",
    ...(`// From Apache Kafka 3.9 message specs: ${files.join(", ")}`.length <= MAX_LINE
      ? [`// From Apache Kafka 3.9 message specs: ${files.join(", ")}`]
      : ["// From Apache Kafka 3.9 message specs:", ...files.map((f) => `//   ${f}`)]),
    `// Spec SHA-256: ${hash}`,
    "// Derived from Apache Kafka's message specifications (Apache License 2.0, Copyright The",
    "// Apache Software Foundation); see tools/kafka-protocol/LICENSE and NOTICE.",
    "",
  ];
}

function importBlock(names: string[], from: string): string[] {
  const sorted = [...names].sort((a, b) => {
    const x = a.replace(/^type /, "").toLowerCase();
    const y = b.replace(/^type /, "").toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const one = `import { ${sorted.join(", ")} } from "${from}";`;
  if (one.length <= MAX_LINE) return [one];
  return ["import {", ...sorted.map((n) => `  ${n},`), `} from "${from}";`];
}

function primitiveImports(ctx: Ctx): string[] {
  const names: string[] = [];
  const used = ctx.imports;
  if (used.has("MessageCodec")) names.push("type MessageCodec");
  if (used.has("nonNullable")) names.push("nonNullable");
  if (used.has("Reader")) names.push("type Reader");
  if (used.has("presized")) names.push("presized");
  if (used.has("unsupportedField")) names.push("unsupportedField");
  if (used.has("unsupportedVersion")) names.push("unsupportedVersion");
  if (used.has("Writer:value")) names.push("Writer");
  else if (used.has("Writer")) names.push("type Writer");
  if (used.has("ZERO_UUID")) names.push("ZERO_UUID");
  return names;
}

/** `DescribeUserScramCredentialsResponse` + `DescribeUserScramCredentialsResult` →
 * `DescribeUserScramCredentialsResponseResult` (the API name is not repeated). */
function structTypeName(msg: MessageSpec, s: StructSpec): string {
  const api = msg.name.replace(/(Request|Response|Header)$/, "");
  const rest = s.name.startsWith(api) && s.name.length > api.length &&
      /^[A-Z]/.test(s.name.slice(api.length))
    ? s.name.slice(api.length)
    : s.name;
  return msg.name + rest;
}

function newCtx(
  msg: MessageSpec,
  root: StructSpec,
  fnPrefix: string,
  clash: Set<string> = new Set(),
): Ctx {
  const ctx: Ctx = {
    msg,
    typeName: new Map(),
    fnName: new Map(),
    range: new Map(),
    needDefault: new Set(),
    imports: new Set(),
    arrayHelpers: new Map(),
  };
  computeRanges(msg, root, ctx.range);
  for (const s of allStructs(root)) {
    ctx.typeName.set(s, s === root ? msg.name : structTypeName(msg, s));
    ctx.fnName.set(s, s === root ? msg.name : (clash.has(s.name) ? fnPrefix : "") + s.name);
  }
  return ctx;
}

/** Emits one message (request, response or header) into `out`; returns the used imports. */
function emitMessage(out: Out, ctx: Ctx, root: StructSpec): void {
  const msg = ctx.msg;
  const structs = allStructs(root);
  const flexMin = msg.flexible ? msg.flexible.lo : Infinity;
  const kind = msg.type === "header" ? "header" : msg.type;
  const keyNote = msg.apiKey >= 0 ? `API key ${msg.apiKey}, ` : "";
  for (const s of structs) {
    const title = s === root
      ? `Kafka ${msg.name} (${kind}; ${keyNote}versions ${fmtRange(msg.valid)}, flexible ` +
        `${fmtRange(msg.flexible)}). Fields absent in a version hold their defaults.` +
        (kind === "data"
          ? " On the wire (JoinGroup protocol metadata, SyncGroup assignment) Kafka's consumer " +
            "writes an int16 version before the encoded struct."
          : "")
      : `${s.name} of {@linkcode ${msg.name}}.`;
    emitInterface(ctx, out, s, title);
  }
  for (const s of structs) emitCreate(ctx, out, s, true);
  // Pre-compute isDefault needs by emitting read/write into a scratch buffer first.
  const body = new Out();
  for (const s of structs) {
    emitRead(ctx, body, s);
    emitWrite(ctx, body, s);
    const isArrayElem = structs.some((p) =>
      p.fields.some((f) =>
        f.type.kind === "array" && f.type.element.kind === "struct" &&
        f.type.element.struct === s
      )
    );
    if (isArrayElem) emitArrayFns(ctx, body, s);
  }
  // isDefault helpers may need more helpers (nested structs).
  const defaults = new Out();
  const done = new Set<StructSpec>();
  let again = true;
  while (again) {
    again = false;
    for (const s of [...ctx.needDefault]) {
      if (done.has(s)) continue;
      done.add(s);
      again = true;
      const scratch = new Out();
      emitIsDefault(ctx, scratch, s);
    }
  }
  for (const s of structs) if (done.has(s)) emitIsDefault(ctx, defaults, s);
  out.lines.push(...body.lines, ...defaults.lines);
  const name = msg.name;
  const max = msg.valid.hi;
  const min = msg.valid.lo;
  ctx.imports.add("MessageCodec");
  ctx.imports.add("unsupportedVersion");
  doc(
    out,
    `Codec for {@linkcode ${name}} (${keyNote}versions ${min}-${max}, flexible ` +
      `${fmtRange(msg.flexible)}).`,
  );
  out.fit(`export const ${name}: MessageCodec<${name}> = {`, () => {
    out.line(`export const ${name}: MessageCodec<`);
    out.line(`  ${name}`);
    out.line(`> = {`);
  });
  out.open("");
  out.lines.pop();
  out.line(`name: "${name}",`);
  out.line(`apiKey: ${msg.apiKey},`);
  out.line(`minVersion: ${min},`);
  out.line(`maxVersion: ${max},`);
  out.line(`flexibleMinVersion: ${flexMin === Infinity ? "Infinity" : flexMin},`);
  out.open(`read(r: Reader, version: number): ${name} {`);
  out.open(`if (!(version >= ${min} && version <= ${max})) {`);
  out.line(`throw unsupportedVersion("${name}", version, ${min}, ${max});`);
  out.close();
  out.line(`return read${name}(r, version);`);
  out.close("},");
  out.open(`write(w: Writer, m: ${name}, version: number): void {`);
  out.open(`if (!(version >= ${min} && version <= ${max})) {`);
  out.line(`throw unsupportedVersion("${name}", version, ${min}, ${max});`);
  out.close();
  out.line(`write${name}(w, m, version);`);
  out.close("},");
  out.line(`create: create${name},`);
  out.close("};");
}

async function sha256(parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function assemble(head: string[], ctxs: Ctx[], body: Out, extraImports: string[] = []): string {
  const used = new Set<string>();
  const helpers = new Map<string, string>();
  for (const c of ctxs) {
    for (const i of c.imports) used.add(i);
    for (const [k, v] of c.arrayHelpers) helpers.set(k, v);
  }
  const merged: Ctx = { ...ctxs[0], imports: used, arrayHelpers: helpers };
  const prim = new Out();
  emitPrimArrayFns(merged, prim);
  const lines = [
    ...head,
    ...importBlock(primitiveImports(merged), "../primitives.ts"),
    ...extraImports,
    "",
    ...body.lines,
    ...(prim.lines.length ? ["", ...prim.lines.slice(0, -1)] : []),
  ];
  // Collapse blank-line runs and trailing blanks.
  const outLines: string[] = [];
  for (const l of lines) {
    if (l === "" && (outLines.length === 0 || outLines[outLines.length - 1] === "")) continue;
    outLines.push(l);
  }
  while (outLines[outLines.length - 1] === "") outLines.pop();
  return outLines.join("\n") + "\n";
}

/** The result of a generation run: output path (relative to `protocol/`) → file contents. */
export type GeneratedFiles = Map<string, string>;

/**
 * Generates every output file from the specs in `specDir`.
 *
 * @param specDir Directory holding Kafka's `*.json` message specs.
 * @returns Output files keyed by path relative to `protocol/` (e.g. `messages/produce.ts`).
 * @throws {Error} If a spec is malformed or a generated line would exceed 100 columns.
 */
export async function generate(specDir: string | URL = DEFAULT_SPEC_DIR): Promise<GeneratedFiles> {
  const specs = await loadSpecs(specDir);
  const byName = new Map(specs.map((s) => [s.spec.name, s]));
  const files: GeneratedFiles = new Map();
  const apis: Api[] = [];
  for (const { spec } of specs) {
    if (spec.type !== "request") continue;
    const base = spec.name.replace(/Request$/, "");
    const res = byName.get(base + "Response");
    if (!res) throw new Error(`spec ${spec.file}: no matching ${base}Response.json`);
    apis.push({
      name: base,
      file: snakeCase(base),
      key: spec.apiKey,
      request: spec,
      response: res.spec,
    });
  }
  apis.sort((a, b) => a.key - b.key);

  for (const api of apis) {
    const req = byName.get(api.request.name)!;
    const res = byName.get(api.response.name)!;
    const hash = await sha256([req.bytes, res.bytes]);
    const body = new Out();
    const ctxs: Ctx[] = [];
    const reqRoot = rootStruct(api.request);
    const resRoot = rootStruct(api.response);
    const reqNames = new Set(allStructs(reqRoot).map((s) => s.name));
    const resNames = new Set(allStructs(resRoot).map((s) => s.name));
    const clash = new Set([...reqNames].filter((n) => resNames.has(n)));
    for (const [msg, root] of [[api.request, reqRoot], [api.response, resRoot]] as const) {
      const ctx = newCtx(msg, root, msg.type === "request" ? "Req" : "Res", clash);
      emitMessage(body, ctx, root);
      body.line();
      ctxs.push(ctx);
    }
    const head = header([req.spec.file, res.spec.file], hash);
    files.set(`messages/${api.file}.ts`, assemble(head, ctxs, body));
  }

  // Consumer group protocol payloads (JoinGroup metadata / SyncGroup assignment bytes).
  {
    const sub = byName.get("ConsumerProtocolSubscription")!;
    const asg = byName.get("ConsumerProtocolAssignment")!;
    const hash = await sha256([sub.bytes, asg.bytes]);
    const subRoot = rootStruct(sub.spec);
    const asgRoot = rootStruct(asg.spec);
    const subNames = new Set(allStructs(subRoot).map((s) => s.name));
    const clash = new Set(allStructs(asgRoot).map((s) => s.name).filter((n) => subNames.has(n)));
    const body = new Out();
    const ctxs: Ctx[] = [];
    for (const [msg, root] of [[sub.spec, subRoot], [asg.spec, asgRoot]] as const) {
      const ctx = newCtx(msg, root, msg.name.replace(/^ConsumerProtocol/, ""), clash);
      emitMessage(body, ctx, root);
      body.line();
      ctxs.push(ctx);
    }
    files.set(
      "messages/consumer_protocol.ts",
      assemble(header([sub.spec.file, asg.spec.file], hash), ctxs, body),
    );
  }

  // Headers.
  {
    const reqH = byName.get("RequestHeader")!;
    const resH = byName.get("ResponseHeader")!;
    const hash = await sha256([reqH.bytes, resH.bytes]);
    const body = new Out();
    const ctxs: Ctx[] = [];
    for (const msg of [reqH.spec, resH.spec]) {
      const root = rootStruct(msg);
      const ctx = newCtx(msg, root, "");
      emitMessage(body, ctx, root);
      body.line();
      ctxs.push(ctx);
    }
    emitHeaderVersions(body, apis);
    files.set(
      "messages/headers.ts",
      assemble(header([reqH.spec.file, resH.spec.file], hash), ctxs, body),
    );
  }

  files.set("apis.ts", await emitApis(apis, specs.map((s) => s.bytes)));
  files.set("api_keys.ts", await emitApiKeys(apis, specs.map((s) => s.bytes)));
  {
    const out = new Out();
    out.lines.push(...header(
      ["all *Request.json and *Response.json"],
      await sha256(
        specs.map((s) => s.bytes),
      ),
    ));
    out.lines.pop();
    out.line();
    out.line("/**");
    out.line(" * Every generated Kafka message codec, one module per API, plus the headers.");
    out.line(" *");
    out.line(" * @module");
    out.line(" */");
    out.line();
    const mods = [...apis.map((a) => a.file), "headers", "consumer_protocol"].sort();
    for (const f of mods) out.line(`export * from "./${f}.ts";`);
    files.set("messages/mod.ts", out.text());
  }
  if (LONG_LINES.length > 0) {
    const n = LONG_LINES.length;
    const sample = LONG_LINES.slice(0, 30).join("\n");
    LONG_LINES.length = 0;
    throw new Error(`${n} generated lines exceed ${MAX_LINE} columns:\n${sample}`);
  }
  return files;
}

function emitHeaderVersions(out: Out, apis: Api[]): void {
  const maxKey = Math.max(...apis.map((a) => a.key));
  const flex: number[] = new Array(maxKey + 1).fill(-1);
  for (const a of apis) flex[a.key] = a.request.flexible ? a.request.flexible.lo : -1;
  out.line("// First flexible version per API key (-1: never flexible or no such API).");
  const names = new Map(apis.map((a) => [a.key, a.name]));
  out.open("const FLEXIBLE_MIN: readonly number[] = [");
  flex.forEach((f, key) => out.line(`${f}, // ${key} ${names.get(key) ?? "(unused)"}`));
  out.close("];");
  out.line();
  doc(
    out,
    "The request header version for an API version: 2 for flexible versions, else 1; " +
      "ControlledShutdown v0 uses header v0. Unknown API keys get 1. " +
      "@param apiKey The request's API key. @param apiVersion The request's API version. " +
      "@returns 0, 1 or 2.",
  );
  out.open("export function requestHeaderVersion(apiKey: number, apiVersion: number): number {");
  out.open("if (apiKey === 7 && apiVersion === 0) {");
  out.line("return 0;");
  out.close();
  out.line("const f = FLEXIBLE_MIN[apiKey] ?? -1;");
  out.line("return f >= 0 && apiVersion >= f ? 2 : 1;");
  out.close();
  out.line();
  doc(
    out,
    "The response header version for an API version: 1 for flexible versions, else 0; " +
      "ApiVersions responses always use header v0 (so clients can parse them before knowing " +
      "the broker's versions). @param apiKey The API key. @param apiVersion The API version. " +
      "@returns 0 or 1.",
  );
  out.open("export function responseHeaderVersion(apiKey: number, apiVersion: number): number {");
  out.open("if (apiKey === 18) {");
  out.line("return 0;");
  out.close();
  out.line("const f = FLEXIBLE_MIN[apiKey] ?? -1;");
  out.line("return f >= 0 && apiVersion >= f ? 1 : 0;");
  out.close();
}

/**
 * `api_keys.ts`: the API keys by name and nothing else, so a module that needs a key (the
 * broker's handler table, which loads each handler at its API's first request) imports no codec.
 */
async function emitApiKeys(apis: Api[], allBytes: Uint8Array[]): Promise<string> {
  const hash = await sha256(allBytes);
  const out = new Out();
  for (const l of header(["all *Request.json and *Response.json"], hash)) out.lines.push(l);
  out.lines.pop();
  out.line("");
  out.line("/**");
  out.line(" * Kafka API keys by name, without the codecs (`apis.ts` has those).");
  out.line(" *");
  out.line(" * @module");
  out.line(" */");
  out.line();
  doc(out, "API keys by name, e.g. `ApiKey.Produce === 0`.");
  out.open("export const ApiKey = {");
  for (const a of apis) out.line(`${a.name}: ${a.key},`);
  out.close("} as const;");
  out.line();
  doc(out, "A known API key (a value of {@linkcode ApiKey}).");
  out.line("export type ApiKey = typeof ApiKey[keyof typeof ApiKey];");
  return out.text();
}

async function emitApis(apis: Api[], allBytes: Uint8Array[]): Promise<string> {
  const hash = await sha256(allBytes);
  const out = new Out();
  for (const l of header(["all *Request.json and *Response.json"], hash)) out.lines.push(l);
  out.lines.pop();
  out.line("");
  out.line(`import type { MessageCodec } from "./primitives.ts";`);
  for (const a of apis) {
    const imp = `import { ${a.request.name}, ${a.response.name} } from "./messages/${a.file}.ts";`;
    if (imp.length <= MAX_LINE) {
      out.line(imp);
    } else {
      out.line(`import {`);
      out.line(`  ${a.request.name},`);
      out.line(`  ${a.response.name},`);
      out.line(`} from "./messages/${a.file}.ts";`);
    }
  }
  out.line();
  doc(out, "One Kafka API: its key, name, codecs and supported version range.");
  out.open("export interface ApiInfo {");
  doc(out, "The API key.");
  out.line("readonly key: number;");
  doc(out, "The API name, e.g. `Produce`.");
  out.line("readonly name: string;");
  doc(out, "The request codec.");
  out.line("readonly request: MessageCodec<unknown>;");
  doc(out, "The response codec.");
  out.line("readonly response: MessageCodec<unknown>;");
  doc(out, "Lowest supported version.");
  out.line("readonly minVersion: number;");
  doc(out, "Highest supported version.");
  out.line("readonly maxVersion: number;");
  doc(out, "First flexible version (`Infinity` if never flexible).");
  out.line("readonly flexibleMinVersion: number;");
  doc(
    out,
    "Whether `maxVersion` is still unstable in Kafka 3.9 (brokers do not advertise it by " +
      "default).",
  );
  out.line("readonly latestVersionUnstable: boolean;");
  out.close();
  out.line();
  out.line(`export { ApiKey } from "./api_keys.ts";`);
  out.line();
  doc(out, "Every API generated from Kafka 3.9's specs, in key order.");
  out.open("export const APIS: readonly ApiInfo[] = [");
  for (const a of apis) {
    const flex = a.request.flexible ? String(a.request.flexible.lo) : "Infinity";
    out.open("{");
    out.line(`key: ${a.key},`);
    out.line(`name: "${a.name}",`);
    out.line(`request: ${a.request.name},`);
    out.line(`response: ${a.response.name},`);
    out.line(`minVersion: ${a.request.valid.lo},`);
    out.line(`maxVersion: ${a.request.valid.hi},`);
    out.line(`flexibleMinVersion: ${flex},`);
    out.line(`latestVersionUnstable: ${a.request.latestVersionUnstable},`);
    out.close("},");
  }
  out.close("];");
  out.line();
  out.line("const BY_KEY = new Map<number, ApiInfo>(APIS.map((a) => [a.key, a]));");
  out.line();
  doc(
    out,
    "Looks up an API by key. @param key The API key. @returns The API, or `undefined` if " +
      'unknown. @example ```ts import { apiByKey } from "./apis.ts"; | ' +
      'console.log(apiByKey(0)?.name); // "Produce" ```',
  );
  out.open("export function apiByKey(key: number): ApiInfo | undefined {");
  out.line("return BY_KEY.get(key);");
  out.close();
  return out.text();
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(args: string[]): { check: boolean; spec: string | URL; out: string | URL } {
  let check = false;
  let spec: string | URL = DEFAULT_SPEC_DIR;
  let out: string | URL = DEFAULT_OUT_DIR;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--check") check = true;
    else if (a === "--spec") spec = args[++i];
    else if (a === "--out") out = args[++i];
    else throw new Error(`unknown argument: ${a}`);
    if (spec === undefined || out === undefined) throw new Error(`missing value for ${a}`);
  }
  return { check, spec, out };
}

function join(dir: string | URL, rel: string): string | URL {
  if (typeof dir === "string") return dir.replace(/\/?$/, "/") + rel;
  return new URL(rel, dir.href.replace(/\/?$/, "/"));
}

async function readOrNull(path: string | URL): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Compares generated files with those under `outDir`.
 *
 * @param files The generated files.
 * @param outDir The `protocol/` directory to compare against.
 * @returns Relative paths that differ, are missing, or are stale generated files.
 */
export async function checkFiles(files: GeneratedFiles, outDir: string | URL): Promise<string[]> {
  const bad: string[] = [];
  for (const [rel, text] of files) {
    const cur = await readOrNull(join(outDir, rel));
    if (cur === null) bad.push(`${rel} (missing)`);
    else if (cur !== text) bad.push(`${rel} (differs)`);
  }
  try {
    for await (const e of Deno.readDir(join(outDir, "messages"))) {
      const rel = `messages/${e.name}`;
      if (e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts") && !files.has(rel)) {
        bad.push(`${rel} (not generated; stale?)`);
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return bad.sort();
}

/**
 * CLI entry point.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export async function main(args: string[]): Promise<number> {
  const opts = parseArgs(args);
  const files = await generate(opts.spec);
  if (opts.check) {
    const bad = await checkFiles(files, opts.out);
    if (bad.length > 0) {
      console.error(`gen_protocol --check: ${bad.length} file(s) out of date:`);
      for (const b of bad) console.error(`  ${b}`);
      console.error("run `deno task gen:protocol` to regenerate");
      return 1;
    }
    console.log(`gen_protocol --check: ${files.size} files up to date`);
    return 0;
  }
  await Deno.mkdir(join(opts.out, "messages"), { recursive: true });
  let changed = 0;
  for (const [rel, text] of files) {
    const path = join(opts.out, rel);
    if ((await readOrNull(path)) === text) continue;
    await Deno.writeTextFile(path, text);
    changed++;
  }
  console.log(`gen_protocol: ${files.size} files, ${changed} written`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`gen_protocol: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
