/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof`): self time by function
 * and by package or source folder, so a hot spot can be named without a flame-graph viewer.
 *   npx tsx scripts/bench/profile-summary.ts bench/profiles/CPU.*.cpuprofile [top]   (one summary per file)
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

// Files, and optionally a number (how many rows per table, default 25): one summary per file
// (the daemon's main thread and its QR worker write a profile each).
const args = process.argv.slice(2);
const files = args.filter((a) => !/^\d+$/.test(a));
const top = Number(args.find((a) => /^\d+$/.test(a)) ?? 25);
if (files.length === 0) throw new Error('usage: profile-summary.ts FILE.cpuprofile... [top]');

for (const file of files) {
  if (files.length > 1) console.log(`\n== ${file}`);
  summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
}

function summarise(profile: Profile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id) as Node;
    const f = `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
    fn.set(f, (fn.get(f) ?? 0) + us);
    const a = where(n.callFrame.url);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const show = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (total ${(totalUs / 1000).toFixed(0)} ms sampled)`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  };
  show('self time by package / folder', area);
  show('self time by function', fn);
}

function where(url: string): string {
  if (url === '') return '(native/idle)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  const dist = /\/dist\/(.+)\/[^/]+$/.exec(url);
  if (dist) return `src/${dist[1]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^.*\//, '');
}
