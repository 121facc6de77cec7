/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function and self
 * time per file, as shares of the sampled time. Inclusive time counts a sample once per function even
 * when the function is on the stack several times (recursion).
 *
 *   BENCH_ONLY=a BENCH_PATHS=runhooks node --expose-gc --cpu-prof --cpu-prof-dir=.tmp/prof --import tsx bench/index.ts
 *   node --import tsx bench/profile-summary.ts .tmp/prof/<file>.cpuprofile [top=30] [filter]
 *
 * `filter` keeps only samples with a frame whose URL contains it (e.g. `/src/` for runhooks' own code
 * and everything it calls), so that set-up and the receiver-side bookkeeping do not dilute the shares.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(frame: CallFrame): string {
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  if (frame.url === "") return name;
  return `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) return path.slice(nm + "node_modules/".length);
  const work = path.indexOf("/main/");
  return work >= 0 ? path.slice(work + "/main/".length) : path;
}

function fileOf(frame: CallFrame): string {
  if (frame.url === "") return `(${frame.functionName || "native"})`;
  return shortUrl(frame.url);
}

export function summarise(profile: CpuProfile, filter?: string): string {
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const stack: CallFrame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node) stack.push(node.callFrame);
    }
    const leaf = stack[0];
    if (!leaf || leaf.functionName === "(idle)" || leaf.functionName === "(program)") return;
    if (filter !== undefined && !stack.some((f) => f.url.includes(filter))) return;
    total += delta;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + delta);
    files.set(fileOf(leaf), (files.get(fileOf(leaf)) ?? 0) + delta);
    for (const key of new Set(stack.map(label))) inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
  });

  const top = Number(process.argv[3] ?? 30);
  const table = (title: string, map: Map<string, number>): string => {
    const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
    return [
      title,
      ...rows.map(
        ([key, us]) =>
          `${((us / total) * 100).toFixed(1).padStart(6)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`,
      ),
    ].join("\n");
  };
  return [
    `busy samples: ${(total / 1000).toFixed(0)} ms${filter === undefined ? "" : ` (stacks through "${filter}")`}`,
    "",
    table("SELF time by function", self),
    "",
    table("SELF time by file", files),
    "",
    table("INCLUSIVE time by function", inclusive),
  ].join("\n");
}

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top] [filter]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
console.log(summarise(profile, process.argv[4]));
