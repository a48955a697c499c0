// The layer rule of docs/architecture.md ("Layers: which folder may import which"), checked on the import graph of
// src/**/*.ts: a file imports its own folder or lower floors only, exceptions as listed, every folder listed; and the
// composition root: only src/app/ builds the daemon and its concrete parts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join, posix } from 'node:path';
import { describe, test } from 'node:test';

const ROOT = join(__dirname, '..', '..', '..');
const SRC = join(ROOT, 'src');

/** The layer block of the document: the floor of each unit (a folder, or a root file by name) and the exceptions. */
interface Layers {
  readonly floorOf: ReadonlyMap<string, number>;
  /** `from` unit → a file path under src/ it may import although it is on a higher floor. */
  readonly exceptions: ReadonlyArray<{ readonly from: string; readonly to: string }>;
}

/** Reads the block between `<!-- layers:begin -->` and `<!-- layers:end -->`. */
function parseLayers(markdown: string): Layers {
  const block = /<!-- layers:begin -->([\s\S]*?)<!-- layers:end -->/.exec(markdown)?.[1];
  assert.ok(block !== undefined, 'docs/architecture.md has no layers block');
  const floorOf = new Map<string, number>();
  const exceptions: Array<{ from: string; to: string }> = [];
  for (const raw of block.split('\n')) {
    const line = raw.trim();
    const floor = /^floor (\d+): (.+)$/.exec(line);
    const exception = /^exception: (\S+) -> (\S+)$/.exec(line);
    if (floor) {
      for (const unit of (floor[2] as string).split(',').map((u) => u.trim())) {
        assert.ok(!floorOf.has(unit), `${unit} is listed twice`);
        floorOf.set(unit, Number(floor[1]));
      }
    } else if (exception) {
      exceptions.push({ from: exception[1] as string, to: exception[2] as string });
    } else {
      assert.ok(line === '' || line === '```', `unreadable line in the layers block: ${line}`);
    }
  }
  return { floorOf, exceptions };
}

/** The unit of a path under src/ (`engine/plan.ts` → `engine`, `errors.ts` → `errors.ts`). */
function unitOf(path: string): string {
  const slash = path.indexOf('/');
  return slash < 0 ? path : path.slice(0, slash);
}

/** Relative module specifiers of a source text: `from '…'`, `import '…'`, `import('…')`. */
function relativeImports(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.[^']*)'/gm))
    specs.push(m[1] as string);
  return specs;
}

/**
 * Relative module specifiers a source text imports values from: every import but `import type` and those whose
 * every name is marked `type` (both are erased), and every `import('…')`.
 */
function valueImports(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*import\s+(type\s+)?([^'";]*?)\s*from\s+'(\.[^']*)'/gm)) {
    const names = /^\{([\s\S]*)\}$/.exec((m[2] as string).trim())?.[1];
    const typeOnly =
      m[1] !== undefined ||
      (names
        ?.split(',')
        .map((n) => n.trim())
        .filter((n) => n !== '')
        .every((n) => n.startsWith('type ')) ??
        false);
    if (!typeOnly) specs.push(m[3] as string);
  }
  for (const m of text.matchAll(/\bimport\s*\(\s*'(\.[^']*)'/g)) specs.push(m[1] as string);
  return specs;
}

/** The file under src/ an import resolves to (`x.ts`, or `x/index.ts` for a folder), given which files exist. */
function resolveImport(from: string, spec: string, exists: (path: string) => boolean): string {
  const base = posix.normalize(posix.join(posix.dirname(from), spec));
  if (exists(`${base}.ts`)) return `${base}.ts`;
  if (exists(`${base}/index.ts`)) return `${base}/index.ts`;
  return base;
}

/** Every import of `files` (path under src/ → text) that breaks `layers`, as `file → target (why)`. */
function violations(
  files: ReadonlyMap<string, string>,
  layers: Layers,
): { broken: string[]; usedExceptions: Set<number> } {
  const broken: string[] = [];
  const usedExceptions = new Set<number>();
  const exists = (p: string): boolean => files.has(p);
  for (const [file, text] of files) {
    const from = unitOf(file);
    const fromFloor = layers.floorOf.get(from);
    for (const spec of relativeImports(text)) {
      const target = resolveImport(file, spec, exists);
      const to = unitOf(target);
      if (to === from) continue;
      const toFloor = layers.floorOf.get(to);
      if (fromFloor === undefined || toFloor === undefined) {
        broken.push(`${file} → ${target} (${fromFloor === undefined ? from : to} is on no floor)`);
        continue;
      }
      if (toFloor < fromFloor) continue;
      const exception = layers.exceptions.findIndex((e) => e.from === from && e.to === target);
      if (exception >= 0) {
        usedExceptions.add(exception);
        continue;
      }
      broken.push(`${file} → ${target} (floor ${fromFloor} imports floor ${toFloor})`);
    }
  }
  return { broken, usedExceptions };
}

/** Every .ts file under src/, by its path under src/. */
function sourceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string, prefix: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      if (entry.isDirectory()) walk(join(dir, entry.name), rel);
      else if (entry.name.endsWith('.ts')) files.set(rel, fs.readFileSync(join(dir, entry.name), 'utf8'));
    }
  };
  walk(SRC, '');
  return files;
}

describe('layers of docs/architecture.md', () => {
  const layers = parseLayers(fs.readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));
  const files = sourceFiles();

  test('no import in src/ goes up a floor or sideways, but the listed exceptions', () => {
    const { broken } = violations(files, layers);
    assert.deepEqual(broken, [], `imports against the layers of docs/architecture.md:\n${broken.join('\n')}`);
  });

  test('every folder and root file of src/ is on a floor, and every floor entry exists', () => {
    const units = new Set([...files.keys()].map(unitOf));
    assert.deepEqual([...units].filter((u) => !layers.floorOf.has(u)).sort(), [], 'missing from the layers block');
    assert.deepEqual([...layers.floorOf.keys()].filter((u) => !units.has(u)).sort(), [], 'listed but not in src/');
  });

  test('every exception is still used (a stale one is removed from the document)', () => {
    const { usedExceptions } = violations(files, layers);
    const stale = layers.exceptions.filter((_, i) => !usedExceptions.has(i)).map((e) => `${e.from} -> ${e.to}`);
    assert.deepEqual(stale, []);
  });

  test('the check finds an import up a floor, one sideways, and one to a folder on no floor', () => {
    const fake = new Map([
      ['engine/a.ts', "import { x } from '../daemon/b';\nimport type { Y } from '../model';\nimport { z } from './c';"],
      ['engine/c.ts', ''],
      ['daemon/b.ts', "const m = await import('../alerts/d');"],
      ['alerts/d.ts', "import {\n  w,\n} from '../logging/e';\nimport '../nowhere/f';"],
      ['logging/e.ts', ''],
      ['model/index.ts', ''],
      ['nowhere/f.ts', ''],
    ]);
    const { broken } = violations(fake, {
      floorOf: new Map([
        ['model', 1],
        ['engine', 7],
        ['alerts', 8],
        ['logging', 8],
        ['daemon', 10],
      ]),
      exceptions: [],
    });
    assert.deepEqual(broken, [
      'engine/a.ts → daemon/b.ts (floor 7 imports floor 10)',
      'alerts/d.ts → logging/e.ts (floor 8 imports floor 8)',
      'alerts/d.ts → nowhere/f.ts (nowhere is on no floor)',
    ]);
  });
});

/**
 * The daemon's concrete parts (kernel backends and their choice, but their pure codecs and formats, the native probe engine, the checkers, the engine,
 * the scheduler, the announcer and its BIRD driver and guard, the loader thread, /proc/sys, alerts, metrics, the
 * control socket, the file watcher): built by the composition root only (src/app/), injected into the daemon.
 */
const CONCRETE_PARTS = [
  'ipvs/select.ts',
  'ipvs/memory.ts',
  'ipvs/netlink/backend.ts',
  'ipvs/netlink/socket.ts',
  'ipvs/netlink/transport.ts',
  'ipvs/ipvsadm/backend.ts',
  'ipvs/ipvsadm/exec.ts',
  'checks/tcp-prober.ts',
  'checks/registry.ts',
  'checks/dispatch.ts',
  'checks/scheduler.ts',
  'engine/engine.ts',
  'announce/announcer.ts',
  'announce/bird-driver.ts',
  'announce/guard-client.ts',
  'config/load-off-thread.ts',
  'system/sysctl-store.ts',
  'alerts/index.ts',
  'metrics/index.ts',
  'daemon/control-server.ts',
  'daemon/config-watcher.ts',
];

/** Value imports of `files` that break the composition root's rule, as `file → target`. */
function outsideTheRoot(files: ReadonlyMap<string, string>): string[] {
  const broken: string[] = [];
  const exists = (p: string): boolean => files.has(p);
  for (const [file, text] of files) {
    if (file.startsWith('app/')) continue;
    for (const spec of valueImports(text)) {
      const target = resolveImport(file, spec, exists);
      const concrete = file.startsWith('daemon/') && CONCRETE_PARTS.includes(target);
      if (concrete || target === 'daemon/daemon.ts') broken.push(`${file} → ${target}`);
    }
  }
  return broken;
}

describe('the composition root (src/app/)', () => {
  test('only src/app/ builds the Daemon, and no file of src/daemon/ builds a concrete part (types only)', () => {
    const broken = outsideTheRoot(sourceFiles());
    assert.deepEqual(broken, [], `value imports that belong to the composition root (src/app/):\n${broken.join('\n')}`);
  });

  test('the check finds a daemon file that builds a part, and a file outside the root that builds the Daemon', () => {
    const fake = new Map([
      [
        'daemon/daemon.ts',
        "import { Engine } from '../engine/engine';\nimport type { CheckScheduler } from '../checks/scheduler';\n" +
          "import { type ControlServer } from './control-server';\nimport { selectBackend, type X } from '../ipvs/select';",
      ],
      [
        'daemon/other.ts',
        "import { NetlinkSocket } from '../ipvs/netlink/socket';\nimport { jobsFromConfig } from '../checks/jobs';\nimport { formatOps } from '../ipvs/ipvsadm/format';",
      ],
      ['cli/run.ts', "import { Daemon } from '../daemon/daemon';\nimport { selectBackend } from '../ipvs/select';"],
      ['app/compose.ts', "import { Daemon } from '../daemon/daemon';\nimport { Engine } from '../engine/engine';"],
      ['engine/engine.ts', ''],
      ['checks/scheduler.ts', ''],
      ['daemon/control-server.ts', ''],
      ['ipvs/select.ts', ''],
      ['ipvs/netlink/socket.ts', ''],
      ['checks/jobs.ts', ''],
      ['ipvs/ipvsadm/format.ts', ''],
    ]);
    assert.deepEqual(outsideTheRoot(fake), [
      'daemon/daemon.ts → engine/engine.ts',
      'daemon/daemon.ts → ipvs/select.ts',
      'daemon/other.ts → ipvs/netlink/socket.ts',
      'cli/run.ts → daemon/daemon.ts',
    ]);
  });
});
