// The machinery of snippets.test.ts: extract the docs' TypeScript blocks, make modules of them,
// type-check them in one program, and run them in child processes. The conventions are described at the
// top of snippets.test.ts.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";

/** One ```ts block of a markdown file. */
export interface Block {
  /** The markdown file, relative to the repository, e.g. `docs/admin.md`. */
  file: string;
  /** 1-based among the file's TypeScript blocks. */
  index: number;
  /** Line of the opening fence, 1-based. */
  fence: number;
  lines: string[];
  continues: boolean;
  noRun?: string;
  skip?: string;
}

/** Where a line of a generated module comes from. */
export interface Origin {
  block: Block;
  /** The markdown line, 1-based. */
  line: number;
}

/** A block, or a block and the blocks that continue it, as one module. */
export interface SnippetModule {
  file: string;
  blocks: Block[];
  /** Path in the snippet tree, e.g. `docs-admin/block-3.ts`. */
  path: string;
  /** Also the path of its requests on the receiver. */
  key: string;
  source: string;
  /** Per line of `source`: its markdown origin, or undefined for the prelude. */
  origins: (Origin | undefined)[];
  /** The context names its prelude imports. */
  contextNames: string[];
  /** Registers tests (it, describe, testStore…): run by vitest rather than by node. */
  testStyle: boolean;
  noRun?: string;
}

/** An opening fence and its info string's language (```ts, ```ts title="x", an indented ```json…). */
const FENCE = /^\s*```(\S*)/;
const CLOSING_FENCE = /^\s*```\s*$/;
const MARKER = /^<!--\s*snippet:\s*(continues|no-run|skip)\b\s*(.*?)\s*-->$/;
/** A block whose first line is `// name.ts` is written as that file, so other blocks can import it. */
const FILE_NAME = /^\/\/\s*([\w.-]+)\.ts\s*$/;
const TEST_CALLS = new Set([
  "it",
  "test",
  "describe",
  "beforeAll",
  "afterAll",
  "beforeEach",
  "afterEach",
  "testStore",
  "testFormatter",
]);

/** README.md and docs/*.md (docs/api/ is generated HTML). */
export function markdownFiles(root: string): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

export function extractBlocks(root: string, file: string): Block[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? "");
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !CLOSING_FENCE.test(lines[end] ?? "")) end++;
    const language = open[1];
    if (language === "ts" || language === "typescript") {
      const block: Block = {
        file,
        index: blocks.length + 1,
        fence: i + 1,
        lines: lines.slice(i + 1, end),
        continues: false,
      };
      readMarkers(lines, i, block);
      blocks.push(block);
    }
    i = end;
  }
  return blocks;
}

/** The `<!-- snippet: … -->` lines just above a fence (blank lines between are fine). */
function readMarkers(lines: string[], fence: number, block: Block): void {
  for (let j = fence - 1; j >= 0; j--) {
    const text = (lines[j] ?? "").trim();
    if (text === "") continue;
    if (!text.startsWith("<!-- snippet:")) return;
    const marker = MARKER.exec(text);
    if (!marker) throw new Error(`${block.file}:${j + 1}: unknown snippet marker ${text}`);
    const [, kind, reason = ""] = marker;
    if (kind === "continues") block.continues = true;
    else if (reason === "") throw new Error(`${block.file}:${j + 1}: "${kind}" needs a reason`);
    else if (kind === "no-run") block.noRun = reason;
    else block.skip = reason;
  }
}

export function blockLabel(block: Block): string {
  return `${block.file}:${block.fence} (block ${block.index})`;
}

export function moduleLabel(module: SnippetModule): string {
  const first = module.blocks[0]!;
  const last = module.blocks.at(-1)!;
  if (first === last) return blockLabel(first);
  return `${first.file}:${first.fence}-${last.fence} (blocks ${first.index}-${last.index})`;
}

/** Groups a file's blocks into modules: a `continues` block joins the module before it. */
export function composeModules(blocks: Block[], contextNames: ReadonlySet<string>): SnippetModule[] {
  const chains: Block[][] = [];
  for (const block of blocks) {
    if (block.skip !== undefined) continue;
    const previous = chains.at(-1);
    if (block.continues) {
      if (!previous) throw new Error(`${blockLabel(block)}: "continues" but no block before it`);
      previous.push(block);
    } else chains.push([block]);
  }
  return chains.map((chain) => composeModule(chain, contextNames));
}

function composeModule(chain: Block[], contextNames: ReadonlySet<string>): SnippetModule {
  const first = chain[0]!;
  const body = chain.flatMap((block) => block.lines);
  const origins: (Origin | undefined)[] = chain.flatMap((block) =>
    block.lines.map((_, n) => ({ block, line: block.fence + 1 + n })),
  );
  const sourceFile = ts.createSourceFile("block.ts", body.join("\n"), ts.ScriptTarget.Latest, true);
  const declared = topLevelNames(sourceFile);
  const used = new Set<string>();
  let testStyle = false;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && isValueReference(node)) used.add(node.text);
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && TEST_CALLS.has(node.expression.text))
      testStyle = true;
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  const names = [...contextNames].filter((name) => used.has(name) && !declared.has(name)).sort();

  const named = FILE_NAME.exec(first.lines[0] ?? "");
  const base = named ? named[1]! : `block-${first.index}`;
  const lines = [...body];
  if (names.length > 0) {
    lines.unshift(`import { ${names.join(", ")} } from "../_context.js";`);
    origins.unshift(undefined);
  }
  const noRun = chain.find((block) => block.noRun !== undefined)?.noRun;
  return {
    file: first.file,
    blocks: chain,
    path: `${slugOf(first.file)}/${base}.ts`,
    key: `${slugOf(first.file)}-${base}`.replace(/\./g, "-"),
    source: lines.join("\n") + "\n",
    origins,
    contextNames: names,
    testStyle,
    ...(noRun === undefined ? {} : { noRun }),
  };
}

/** The directory of a markdown file's modules in the snippet tree: `docs/admin.md` → `docs-admin`. */
export function slugOf(file: string): string {
  return file.replace(/\.md$/, "").replace(/[/.]/g, "-").toLowerCase();
}

/** Names a module declares at its top level (imports included). */
function topLevelNames(sourceFile: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      else if (bindings) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/** An identifier that names a value or type in scope, not a property or a declaration's own name. */
function isValueReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (
    (ts.isPropertyAssignment(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isGetAccessor(parent) ||
      ts.isSetAccessor(parent)) &&
    parent.name === node
  )
    return false;
  if ((ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) && parent.propertyName === node)
    return false;
  if (ts.isBindingElement(parent) && parent.propertyName === node) return false;
  return true;
}

/** The value names a context module exports (types are left to the blocks' own imports). */
export function exportedValueNames(source: string): Set<string> {
  const sourceFile = ts.createSourceFile("context.ts", source, ts.ScriptTarget.Latest, true);
  const names = new Set<string>();
  const exported = (node: ts.Node): boolean =>
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of sourceFile.statements) {
    if (ts.isExportDeclaration(statement) && !statement.isTypeOnly && statement.exportClause) {
      if (ts.isNamedExports(statement.exportClause))
        for (const element of statement.exportClause.elements)
          if (!element.isTypeOnly) names.add(element.name.text);
    } else if (!exported(statement)) {
      continue;
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        const bind = (name: ts.BindingName): void => {
          if (ts.isIdentifier(name)) names.add(name.text);
          else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
        };
        bind(declaration.name);
      }
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/** RFC 2606 example domains and elided URLs (`…`) are placeholders; a real-looking URL is not. */
export function isPlaceholderUrl(text: string): boolean {
  if (!/^https?:\/\//.test(text)) return false;
  if (text.includes("…")) return true;
  try {
    return /(^|\.)example\.(com|org|net)$/.test(new URL(text).hostname);
  } catch {
    return false;
  }
}

/**
 * The module as it runs: placeholder URLs point at the receiver (keeping their path), and then every
 * `createNotifier()` of the module allows loopback (`network: { allowPrivate: true }`). Lines are kept.
 */
export function forRun(module: SnippetModule, receiverBase: string): { source: string; changes: string[] } {
  const sourceFile = ts.createSourceFile(module.path, module.source, ts.ScriptTarget.Latest, true);
  const edits: { at: number; end: number; text: string }[] = [];
  const changes: string[] = [];
  const calls: ts.CallExpression[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) &&
      isPlaceholderUrl(node.text)
    ) {
      const path = new URL(node.text).pathname.replace(/%E2%80%A6/gi, "placeholder");
      const replacement = `${receiverBase}${path}`;
      edits.push({ at: node.getStart(sourceFile), end: node.getEnd(), text: JSON.stringify(replacement) });
      changes.push(`${node.text} → the receiver`);
    }
    if (
      ts.isCallExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "createNotifier"
    )
      calls.push(node);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  if (edits.length > 0) {
    for (const call of calls) {
      const [options] = call.arguments;
      if (options === undefined) {
        const at = call.arguments.pos;
        edits.push({ at, end: at, text: "{ network: { allowPrivate: true } }" });
      } else if (ts.isObjectLiteralExpression(options)) {
        const at = options.getStart(sourceFile) + 1;
        edits.push({ at, end: at, text: " network: { allowPrivate: true }," });
      } else {
        throw new Error(
          `${moduleLabel(module)}: cannot add allowPrivate to createNotifier(${options.getText()})`,
        );
      }
      changes.push("createNotifier() allows loopback");
    }
  }
  let source = module.source;
  for (const edit of edits.sort((a, b) => b.at - a.at))
    source = source.slice(0, edit.at) + edit.text + source.slice(edit.end);
  return { source, changes };
}

/** Writes a file, making its directory. */
export function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** The repository's compiler options, with the package's name left to node_modules (the build). */
export function compilerOptions(root: string): ts.CompilerOptions {
  const config = ts.readConfigFile(join(root, "tsconfig.json"), (path) => ts.sys.readFile(path));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const raw = (config.config as { compilerOptions: object }).compilerOptions;
  const { options, errors } = ts.convertCompilerOptionsFromJson(raw, root);
  if (errors.length > 0)
    throw new Error(errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, "\n")).join("\n"));
  const { paths: _paths, ...rest } = options;
  return { ...rest, noEmit: true, types: ["node"] };
}

/** One program over all the files; its diagnostics. */
export function typeCheck(files: string[], options: ts.CompilerOptions): readonly ts.Diagnostic[] {
  return ts.getPreEmitDiagnostics(ts.createProgram(files, options));
}

export function formatDiagnostic(diagnostic: ts.Diagnostic): string {
  return `TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n  ")}`;
}

/** ES module JavaScript of a TypeScript module, line for line as far as TypeScript keeps lines. */
export function transpile(source: string, fileName: string): string {
  return ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
    },
  }).outputText;
}

/** What keeps a text from parsing as TypeScript. */
export function syntaxErrors(source: string): string[] {
  const { diagnostics = [] } = ts.transpileModule(source, { reportDiagnostics: true, fileName: "block.ts" });
  return diagnostics.map(formatDiagnostic);
}

export interface ProcessResult {
  code: number | null;
  timedOut: boolean;
  output: string;
  ms: number;
}

/** Runs a command; kills it (and says so) after `timeoutMs`. */
export function run(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ProcessResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env });
    let output = "";
    const append = (chunk: Buffer) => {
      if (output.length < 20_000) output += chunk.toString("utf8");
    };
    child.stdout.on("data", append);
    child.stderr.on("data", append);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, output, ms: Date.now() - started });
    });
  });
}

/** Runs `tasks` at most `limit` at a time. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** The child process's entry: imports the block's module, then disposes of the context. */
export const RUN_ENTRY = `import { pathToFileURL } from "node:url";
const context = await import("./_context.js");
let failed = false;
try {
  await import(pathToFileURL(process.argv[2]).href);
} catch (error) {
  console.error("the block threw:", error);
  failed = true;
}
const problems = await context.disposeContext();
for (const problem of problems) console.error(problem);
// After a throw, what the block left open (a server, a receiver) would only keep the process waiting.
if (failed) process.exit(1);
if (problems.length > 0) process.exitCode = 1;
`;

/** Type stubs of the third-party servers the admin docs mount on (not installed here). */
export const THIRD_PARTY_STUBS = `declare module "express" {
  import type { IncomingMessage, ServerResponse } from "node:http";
  type Handler = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
  interface Application {
    use(path: string, ...handlers: Handler[]): Application;
    use(...handlers: Handler[]): Application;
  }
  interface Express {
    (): Application;
    json(): Handler;
  }
  const express: Express;
  export default express;
}

declare module "hono" {
  interface Context {
    req: { raw: Request };
  }
  export class Hono {
    all(path: string, handler: (c: Context) => Response | Promise<Response>): this;
  }
}
`;
