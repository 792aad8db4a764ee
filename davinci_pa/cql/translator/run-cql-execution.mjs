// davinci-pa reference evaluation: run ELM with cql-execution + cql-exec-fhir (FHIR 4.0.1).
//
// Usage: node run-cql-execution.mjs <node_modules dir>   (request on stdin, answer on stdout)
//
// Request (JSON):
//   {
//     "elmDirs":    ["/abs/dir", ...],   // every ELM *.json in them goes into the Repository
//     "library":    "Name", "version": "1.0.0" | null,
//     "bundle":     { FHIR Bundle with one Patient } | null,   // null: no patient context
//     "parameters": { "name": <value in the eval JSON encoding> },
//     "valueSets":  { "<url>": [{"code", "system", "version"?}, ...] },
//     "now":        "2020-05-01T00:00:00.000+00:00" | null,      // evaluation DateTime
//     "repeat":     0                    // extra warm evaluations to time
//   }
// or, to evaluate several cases with one load of the library, the same request where
// "bundle"/"parameters"/"now"/"repeat" move into "cases": [{...}, ...].
// Parameters are decoded with the ParameterDef's declared type (FHIR types are wrapped with
// cql-exec-fhir's FHIRWrapper; System types from their JSON encoding). Every value set any
// loaded library declares is registered (empty unless "valueSets" expands it), since
// cql-execution refuses unknown value sets.
//
// Answer (JSON): {"results": {define: value, ...}, "timing": {"runs", "ms": [...],
// "msWithLoad": [...]}} (evaluation alone, and with loading the Bundle), or
// {"error": {"message", "stack"}} when evaluation raised; with "cases", {"cases": [one such
// answer per case]}. Values use the encoding of
// `davinci-pa cql eval` (davinci_pa/cql/encode.py): null; booleans; numbers; strings;
// Date/DateTime/Time as ISO 8601 at their precision (DateTime offset only with a time);
// Quantity {"value","unit"}; Ratio {"numerator","denominator"}; Code {"code","system",
// "version"?,"display"?}; Concept {"codes","display"?}; Interval {"low","high","lowClosed",
// "highClosed"}; List -> array; Tuple -> object; FHIR resource/element -> its JSON (a FHIR
// primitive -> its value); ValueSet {"id","version"?}; an imprecise (uncertain) number
// {"low","high"}. Functions are not evaluated. Patient-context and unfiltered defines are
// merged into one object. Message() with severity 'Error' raises, as CQL 1.5 requires.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

import { readStdin, writeJsonLine } from "./stdio.mjs";

const modulesDir = process.argv[2];
if (!modulesDir) {
  process.stderr.write("usage: node run-cql-execution.mjs <node_modules dir>\n");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modulesDir), "..", "package.json"));
// stdout carries only the answer; anything the engines print goes to stderr.
for (const level of ["log", "info", "debug", "warn"]) console[level] = console.error;
const cql = require("cql-execution");
const cqlfhir = require("cql-exec-fhir");

const SYSTEM = "{urn:hl7-org:elm-types:r1}";
const FHIR = "{http://hl7.org/fhir}";

function loadRepository(dirs) {
  const libraries = {};
  for (const dir of dirs) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (!name.endsWith(".json")) continue;
      const json = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"));
      const id = json?.library?.identifier;
      if (id?.id) libraries[`${id.id}|${id.version ?? ""}`] = json;
    }
  }
  return libraries;
}

function codeService(libraries, expansions) {
  const valueSets = {};
  for (const elm of Object.values(libraries)) {
    for (const def of elm.library.valueSets?.def ?? []) {
      valueSets[def.id] ??= {};
      valueSets[def.id][def.version ?? ""] = expansions?.[def.id] ?? [];
    }
  }
  for (const [url, codes] of Object.entries(expansions ?? {})) {
    valueSets[url] ??= { "": codes };
  }
  return new cql.CodeService(valueSets);
}

// ---- decoding parameters (eval JSON encoding -> cql-execution values) ----

function parseDateTime(text) {
  return cql.DateTime.parse(text.replace(/Z$/, "+00:00"));
}

function decodeSystem(value, name) {
  switch (name) {
    case "DateTime":
      return parseDateTime(value);
    case "Date":
      return cql.Date.parse(value);
    case "Time":
      return cql.DateTime.parse(`0000-01-01T${value}`).getTime();
    case "Quantity":
      return new cql.Quantity(value.value, value.unit ?? "1");
    case "Ratio":
      return new cql.Ratio(decodeSystem(value.numerator, "Quantity"), decodeSystem(value.denominator, "Quantity"));
    case "Code":
      return new cql.Code(value.code, value.system, value.version, value.display);
    case "Concept":
      return new cql.Concept((value.codes ?? []).map((c) => decodeSystem(c, "Code")), value.display);
    default:
      return value;
  }
}

const fhirWrapper = cqlfhir.FHIRWrapper.FHIRv401();

function decode(value, spec) {
  if (value == null || spec == null) return value ?? null;
  switch (spec.type) {
    case "NamedTypeSpecifier":
      if (spec.name.startsWith(SYSTEM)) return decodeSystem(value, spec.name.slice(SYSTEM.length));
      if (spec.name.startsWith(FHIR)) {
        const type = spec.name.slice(FHIR.length);
        return value.resourceType ? fhirWrapper.wrap(value) : fhirWrapper.wrap(value, type);
      }
      return value;
    case "IntervalTypeSpecifier":
      return new cql.Interval(
        decode(value.low, spec.pointType),
        decode(value.high, spec.pointType),
        value.lowClosed ?? true,
        value.highClosed ?? true,
      );
    case "ListTypeSpecifier":
      return value.map((item) => decode(item, spec.elementType));
    case "TupleTypeSpecifier": {
      const types = Object.fromEntries((spec.element ?? []).map((e) => [e.name, e.elementType ?? e.type]));
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v, types[k])]));
    }
    default:
      return value;
  }
}

// An unset parameter without a default must be passed as null: cql-execution would
// otherwise hand back its ParameterDef object as the value.
function decodeParameters(elm, parameters) {
  const decoded = {};
  for (const def of elm.library.parameters?.def ?? []) {
    if (parameters?.[def.name] !== undefined) {
      decoded[def.name] = decode(parameters[def.name], def.parameterTypeSpecifier);
    } else if (def.default == null) {
      decoded[def.name] = null;
    }
  }
  return decoded;
}

// ---- encoding results (cql-execution values -> eval JSON encoding) ----

const pad = (n, width = 2) => String(n).padStart(width, "0");

function isoDate(v) {
  let text = pad(v.year, 4);
  if (v.month != null) text += `-${pad(v.month)}`;
  if (v.day != null) text += `-${pad(v.day)}`;
  return text;
}

function isoTime(v) {
  let text = pad(v.hour);
  if (v.minute != null) text += `:${pad(v.minute)}`;
  if (v.second != null) text += `:${pad(v.second)}`;
  if (v.millisecond != null) text += `.${pad(v.millisecond, 3)}`;
  return text;
}

function isoOffset(hours) {
  const minutes = Math.round(hours * 60);
  const sign = minutes < 0 ? "-" : "+";
  return `${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

function encodeDateTime(v) {
  if (typeof v.isTime === "function" && v.isTime()) return isoTime(v);
  let text = isoDate(v);
  if (v.hour != null) {
    text += `T${isoTime(v)}`;
    if (v.timezoneOffset != null) text += isoOffset(v.timezoneOffset);
  }
  return text;
}

function encodeCode(c) {
  const out = { code: c.code, system: c.system };
  if (c.version != null) out.version = c.version;
  if (c.display != null) out.display = c.display;
  return out;
}

function isFhirPrimitive(typeInfo) {
  const name = typeInfo?.name ?? "";
  if (name && name[0] === name[0].toLowerCase()) return true;
  const elements = typeInfo?.elements ?? [];
  return elements.length === 1 && elements[0].name === "value" && typeInfo.baseTypeSpecifier?.fqn === "FHIR.Element";
}

function encodeStructured(v) {
  if (v.isDateTime || v.isDate) return v.isDateTime ? encodeDateTime(v) : isoDate(v);
  if (v.isQuantity) return { value: v.value, unit: v.unit };
  if (v.isRatio) return { numerator: encode(v.numerator), denominator: encode(v.denominator) };
  if (v.isCode) return encodeCode(v);
  if (v.isConcept) {
    const out = { codes: (v.codes ?? []).map(encodeCode) };
    if (v.display != null) out.display = v.display;
    return out;
  }
  if (v.isInterval) {
    return { low: encode(v.low), high: encode(v.high), lowClosed: v.lowClosed, highClosed: v.highClosed };
  }
  if (v.isUncertainty) return v.isPoint() ? encode(v.low) : { low: encode(v.low), high: encode(v.high) };
  if (v.isValueSet || v.constructor?.name === "CQLValueSet") {
    const id = v.oid ?? v.id;
    return v.version != null ? { id, version: v.version } : { id };
  }
  if (v._typeInfo !== undefined && "_json" in v) {
    return isFhirPrimitive(v._typeInfo) ? v._json?.value ?? null : v._json;
  }
  if (v.constructor === Object) {
    return Object.fromEntries(
      Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, encode(x)]),
    );
  }
  throw new Error(`cannot encode a ${v.constructor?.name ?? typeof v} result`);
}

function encode(v) {
  if (v == null) return null;
  if (typeof v === "boolean" || typeof v === "number" || typeof v === "string") return v;
  if (Array.isArray(v)) return v.map(encode);
  return encodeStructured(v);
}

// ---- evaluation ----

// CQL 1.5 Message(): severity 'Error' stops evaluation with the message; cql-execution only
// notifies its listener, so this listener raises.
const messages = {
  onMessage(_source, code, severity, message) {
    if (severity === "Error") throw new Error(`${code}: ${message}`);
    process.stderr.write(`cql Message ${severity} ${code}: ${message}\n`);
  },
};

function patientSource(request) {
  const source = cqlfhir.PatientSource.FHIRv401();
  if (request.bundle) source.loadBundles([request.bundle]);
  return source;
}

async function evaluate(library, service, parameters, now, source) {
  const executor = new cql.Executor(library, service, parameters, messages);
  const results = await executor.exec(source, now);
  const patient = Object.values(results.patientResults)[0] ?? {};
  return { ...results.unfilteredResults, ...patient };
}

function functionNames(elm) {
  return new Set(
    (elm.library.statements?.def ?? []).filter((d) => d.type === "FunctionDef").map((d) => d.name),
  );
}

async function evaluateCase(request, library, elm, service, skip) {
  const parameters = decodeParameters(elm, request.parameters);
  const now = request.now ? parseDateTime(request.now) : undefined;
  const raw = await evaluate(library, service, parameters, now, patientSource(request));
  const results = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!skip.has(name)) results[name] = encode(value);
  }
  // Timed runs: "ms" is the evaluation alone (a fresh PatientSource is loaded before the
  // clock starts), "msWithLoad" adds loading the Bundle into that PatientSource.
  const ms = [];
  const msWithLoad = [];
  for (let i = 0; i < (request.repeat ?? 0); i++) {
    const started = performance.now();
    const source = patientSource(request);
    const loaded = performance.now();
    await evaluate(library, service, parameters, now, source);
    const done = performance.now();
    ms.push(done - loaded);
    msWithLoad.push(done - started);
  }
  return { results, timing: { runs: ms.length, ms, msWithLoad } };
}

async function main() {
  const request = JSON.parse(readStdin());
  const libraries = loadRepository(request.elmDirs ?? []);
  const library = new cql.Repository(libraries).resolve(request.library, request.version ?? undefined);
  if (!library) throw new Error(`library ${request.library} is not among the loaded ELM`);
  const elm = Object.values(libraries).find(
    (l) => l.library.identifier.id === request.library &&
      (request.version == null || l.library.identifier.version === request.version),
  );
  const service = codeService(libraries, request.valueSets);
  const skip = functionNames(elm);
  if (!Array.isArray(request.cases)) return evaluateCase(request, library, elm, service, skip);
  const cases = [];
  for (const one of request.cases) {
    try {
      cases.push(await evaluateCase(one, library, elm, service, skip));
    } catch (error) {
      cases.push({ error: { message: String(error?.message ?? error), stack: String(error?.stack ?? "") } });
    }
  }
  return { cases };
}

let answer;
try {
  answer = await main();
} catch (error) {
  answer = { error: { message: String(error?.message ?? error), stack: String(error?.stack ?? "") } };
}
writeJsonLine(answer);
