// davinci-pa CQL -> ELM driver around the official translator (@cqframework/cql, cql-to-elm).
//
// Usage: node cql2elm.mjs <node_modules dir>   (request on stdin, results on stdout)
//
// Request (one JSON object on stdin):
//   {
//     "options":      ["EnableAnnotations", "EnableLocators"],   // CqlCompilerOptions names
//     "libraryDirs":  ["/abs/dir", ...],      // every *.cql in them can satisfy an `include`
//     "sources":      [{"key": "...", "text": "library X ..."}, ...]   // libraries to translate
//   }
// Every entry of "sources" is translated in this one process, in order, sharing one
// LibraryManager so included libraries (FHIRHelpers) are compiled once. Sources may include
// each other: they are indexed by their `library Name version '...'` header like the files
// of libraryDirs.
//
// Output: one JSON line per source (NDJSON), in request order:
//   {"key", "library": {"id", "version"} | null, "elm": "<translator JSON text>" | null,
//    "errors": [...], "warnings": [...], "messages": [...], "ms": <translation time>}
// with each diagnostic {"severity", "kind": "syntax"|"semantic"|"include"|"internal",
// "message", "library"?, "startLine"?, "startChar"?, "endLine"?, "endChar"?}.
// The ELM is returned exactly as the translator wrote it; post-processing and formatting
// happen in Python (davinci_pa/cql/compile.py).
//
// Models: System comes from the translator itself (SystemModelInfoProvider); FHIR 4.0.1 and
// 4.0.0 (the version all Da Vinci CDS-Library content declares) from the model infos shipped
// in cql-exec-fhir. UCUM units are validated with @lhncbc/ucum-lhc.

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

import { readStdin, writeJsonLine } from "./stdio.mjs";

const modulesDir = process.argv[2];
if (!modulesDir) {
  process.stderr.write("usage: node cql2elm.mjs <node_modules dir>\n");
  process.exit(2);
}
const requireFromModules = createRequire(path.join(path.resolve(modulesDir), "..", "package.json"));
// kotlinx-io (inside @cqframework/cql) calls a global `require` for Node built-ins.
globalThis.require = requireFromModules;
// stdout carries only results (written to fd 1 directly); library chatter such as
// kotlin-logging's println goes to stderr.
for (const level of ["log", "info", "debug", "warn"]) console[level] = console.error;
process.stdout.write = process.stderr.write.bind(process.stderr);

async function importModule(specifier) {
  return import(pathToFileURL(requireFromModules.resolve(specifier)).href);
}

const cql = await importModule("@cqframework/cql/cql");
const cqlToElm = await importModule("@cqframework/cql/cql-to-elm");
const ucum = requireFromModules("@lhncbc/ucum-lhc");
const FHIR_MODEL_INFOS = path.join(
  path.dirname(requireFromModules.resolve("cql-exec-fhir/package.json")),
  "lib",
  "modelInfos",
);
const FHIR_VERSIONS = ["4.0.1", "4.0.0"]; // the first is the default for `using FHIR`

const LIBRARY_HEADER =
  /^\s*library\s+(?:"((?:[^"\\]|\\.)+)"|([A-Za-z_][A-Za-z0-9_]*))(?:\s+version\s+'((?:[^'\\]|\\.)*)')?/m;

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, "");
}

function libraryHeader(text) {
  const match = LIBRARY_HEADER.exec(stripComments(text));
  if (!match) return null;
  return { id: match[1] ?? match[2], version: match[3] ?? null };
}

class LibraryIndex {
  constructor() {
    this.byName = new Map();
  }

  add(text, origin) {
    const header = libraryHeader(text);
    if (!header) return;
    const entries = this.byName.get(header.id) ?? [];
    entries.push({ version: header.version, text, origin });
    this.byName.set(header.id, entries);
  }

  addDirectory(dir) {
    for (const name of fs.readdirSync(dir).sort()) {
      if (name.endsWith(".cql")) {
        const file = path.join(dir, name);
        this.add(fs.readFileSync(file, "utf8"), file);
      }
    }
  }

  find(id, version) {
    const entries = this.byName.get(id) ?? [];
    if (version == null) return entries[0] ?? null;
    return entries.find((entry) => entry.version === version) ?? null;
  }
}

function ucumService() {
  const utils = ucum.UcumLhcUtils.getInstance();
  const unsupported = (what) => () => {
    throw new Error(`UCUM ${what} is not available at translation time`);
  };
  return cqlToElm.createUcumService(
    (value, from, to) => {
      const result = utils.convertUnitTo(from, Number(value), to);
      if (result.status !== "succeeded") throw new Error((result.msg ?? []).join("; "));
      return String(result.toVal);
    },
    (unit) => {
      const result = utils.validateUnitString(unit);
      return result.status === "valid" ? null : (result.msg ?? []).join("; ") || `invalid unit ${unit}`;
    },
    unsupported("multiply"),
    unsupported("divide"),
  );
}

function fhirModelInfo(version) {
  const wanted = version ?? FHIR_VERSIONS[0];
  if (!FHIR_VERSIONS.includes(wanted)) return null;
  const file = path.join(FHIR_MODEL_INFOS, `fhir-modelinfo-${wanted}.xml`);
  return cqlToElm.stringAsSource(fs.readFileSync(file, "utf8"));
}

function modelManager() {
  const manager = new cqlToElm.ModelManager();
  manager.modelInfoLoader.registerModelInfoProvider(new cql.SystemModelInfoProvider());
  manager.modelInfoLoader.registerModelInfoProvider(
    cqlToElm.createModelInfoProvider((id, _system, version) =>
      id === "FHIR" ? fhirModelInfo(version) : null,
    ),
  );
  return manager;
}

function compilerOptions(names) {
  const options = new cqlToElm.CqlCompilerOptions();
  options.setOptions(names.map((name) => cqlToElm.CqlCompilerOptions.Options.valueOf(name)));
  return options;
}

function libraryManager(request, index) {
  const manager = new cqlToElm.LibraryManager(
    modelManager(),
    compilerOptions(request.options ?? []),
    null,
    ucumService(),
  );
  manager.librarySourceLoader.registerProvider(
    cqlToElm.createLibrarySourceProvider((id, _system, version) => {
      const entry = index.find(id, version ?? null);
      return entry ? cqlToElm.stringAsSource(entry.text) : null;
    }),
  );
  return manager;
}

const KINDS = {
  CqlSyntaxException: "syntax",
  CqlSemanticException: "semantic",
  CqlIncludeException: "include",
};

// Diagnostics with positions come from the CqlToElmError annotations the translator writes
// into the ELM (its exception objects expose positions only through minified fields).
function annotationDiagnostics(elmText) {
  const grouped = { error: [], warning: [], info: [] };
  const annotations = JSON.parse(elmText).library?.annotation ?? [];
  for (const note of annotations) {
    if (note.type !== "CqlToElmError") continue;
    const record = { severity: note.errorSeverity, kind: note.errorType, message: note.message };
    if (note.libraryId) {
      record.library = note.libraryVersion ? `${note.libraryId}|${note.libraryVersion}` : note.libraryId;
    }
    for (const field of ["startLine", "startChar", "endLine", "endChar"]) {
      if (typeof note[field] === "number") record[field] = note[field];
    }
    (grouped[note.errorSeverity] ?? grouped.error).push(record);
  }
  return grouped;
}

function exceptionDiagnostics(list) {
  if (!list) return [];
  return Array.from(list.asJsReadonlyArrayView(), (exception) => ({
    severity: exception.severity?.name?.toLowerCase() ?? "error",
    kind: KINDS[exception.constructor?.name] ?? "semantic",
    message: String(exception.message),
  }));
}

function translate(source, manager) {
  const started = performance.now();
  const header = libraryHeader(source.text);
  let result;
  try {
    const translator = cqlToElm.CqlTranslator.fromText(source.text, manager);
    const elm = translator.toJson();
    const fromElm = annotationDiagnostics(elm);
    const errors = exceptionDiagnostics(translator.errors);
    result = {
      elm,
      // An error the translator raised but did not annotate still counts.
      errors: fromElm.error.length >= errors.length ? fromElm.error : errors,
      warnings: fromElm.warning,
      messages: fromElm.info,
    };
  } catch (error) {
    const message = String(error?.stack ?? error);
    result = { elm: null, errors: [{ severity: "error", kind: "internal", message }] };
    result.warnings = [];
    result.messages = [];
  }
  return { key: source.key, library: header, ...result, ms: Math.round(performance.now() - started) };
}

const request = JSON.parse(readStdin());
const index = new LibraryIndex();
for (const dir of request.libraryDirs ?? []) index.addDirectory(dir);
for (const source of request.sources) index.add(source.text, source.key);
const manager = libraryManager(request, index);
for (const source of request.sources) {
  writeJsonLine(translate(source, manager));
}
