// ldirectord's verdicts on the fixture corpus (test/fixtures/ldirectord/): the recorded ones (expected.json, written
// by test/tools/record-ldirectord-verdicts.sh from Debian's real ldirectord), ldir's own verdict computed in-process
// as `ldir check` would in the recorder's empty network namespace, and the one rule both tiers compare them by.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic } from '../../src/config/diagnostics';
import { loadConfigFile } from '../../src/config/load';
import { canonicalAddress, systemResolver, type Resolver } from '../../src/config/resolver';
import { isIP } from 'node:net';
import { KNOWN_DIFFERENCES } from './known-differences';
import type { LdirectordVerdict, LdirVerdict } from './ldirectord';

/** The fixture corpus. */
export const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'ldirectord');

/** ldirectord's recorded verdicts. */
export const RECORDED_VERDICTS = join(FIXTURES, 'expected.json');

/** The fixture files (`valid-*.cf`, `invalid-*.cf`), sorted. */
export function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.cf'))
    .sort();
}

/** One entry of expected.json, as the recorder writes it. */
interface RecordedEntry {
  readonly exit: number;
  readonly line: number | null;
  readonly message: string | null;
  /** Line of each warning, -1 for a warning without a line. */
  readonly warnings: readonly number[];
}

/** ldirectord's recorded verdict on every fixture, by file name. */
export function recordedVerdicts(file = RECORDED_VERDICTS): Map<string, LdirectordVerdict> {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, RecordedEntry>;
  return new Map(
    Object.entries(raw).map(([name, e]) => [
      name,
      {
        code: e.exit,
        errorLine: e.line ?? undefined,
        message: e.message ?? undefined,
        warningLines: e.warnings.filter((l) => l > 0),
      },
    ]),
  );
}

/**
 * The paths the fixtures rely on, as the recorder leaves them: /tmp/ldir-fixtures exists (log files are written
 * there), its `missing-dir` and `no-such-maintenance-dir` do not.
 */
export function prepareFixturePaths(): void {
  mkdirSync('/tmp/ldir-fixtures', { recursive: true });
  for (const gone of ['missing-dir', 'no-such-maintenance-dir'])
    rmSync(join('/tmp/ldir-fixtures', gone), { recursive: true, force: true });
}

/**
 * Names as a process sees them in the empty network namespace the recorder runs ldirectord in (`unshare --net`):
 * only /etc/hosts answers, and there `localhost` is 127.0.0.1 (with the loopback down, getaddrinfo gives no IPv6
 * answer); every other name fails. Service names come from /etc/services, as ldirectord's getservbyname.
 */
export function isolatedResolver(): Resolver {
  const services = systemResolver();
  return {
    resolveHost: async (host, family) => {
      const bare = host.replace(/^\[(.*)\]$/, '$1');
      const kind = isIP(bare);
      if (kind !== 0) return kind === (family === 'inet' ? 4 : 6) ? canonicalAddress(bare) : undefined;
      return bare === 'localhost' && family === 'inet' ? '127.0.0.1' : undefined;
    },
    resolvePort: (name, protocol) => services.resolvePort(name, protocol),
  };
}

/** ldir's verdict on a fixture, in-process (no network, no child process): `ldir check`'s exit code and lines. */
export async function ldirVerdictOffline(file: string): Promise<LdirVerdict> {
  const r = await loadConfigFile(file, { resolver: isolatedResolver(), hostname: 'director' });
  const own = r.diagnostics.filter((d) => d.pos.file === file);
  return {
    code: r.config ? 0 : 2,
    errorLines: own.filter((d) => d.severity === 'error').map((d) => d.pos.line),
    warningLines: own.filter((d) => d.severity === 'warning').map((d) => d.pos.line),
    stderr: r.diagnostics.map(formatDiagnostic).join('\n'),
  };
}

/**
 * Asserts that ldir agrees with ldirectord on fixture `name`: the same verdict (ldirectord's exit 3 = valid, 2 =
 * invalid; ldir's 0 and 2), ldirectord's error line among ldir's error lines, and each line ldirectord warns about
 * among ldir's warning or error lines; except where KNOWN_DIFFERENCES says ldir differs on purpose, and then it
 * must still differ. Also that the corpus names say the truth (`valid-*` valid for ldirectord, `invalid-*` not).
 */
export function assertAgrees(name: string, theirs: LdirectordVerdict, ours: LdirVerdict): void {
  assert.ok(theirs.code === 2 || theirs.code === 3, `ldirectord exited ${theirs.code}`);
  if (name.startsWith('valid-')) assert.equal(theirs.code, 3, 'valid-* fixtures must be valid for ldirectord');
  if (name.startsWith('invalid-')) assert.equal(theirs.code, 2, 'invalid-* fixtures must be invalid for ldirectord');
  const known = KNOWN_DIFFERENCES[name];
  const expectedCode = theirs.code === 3 ? 0 : 2;
  if (known?.kind === 'verdict') {
    assert.notEqual(ours.code, expectedCode, `${name} is listed as a known difference but ldir now agrees: remove it`);
    return;
  }
  assert.equal(
    ours.code,
    expectedCode,
    `ldirectord exit ${theirs.code} (${theirs.message ?? 'valid'}), ldir:\n${ours.stderr}`,
  );
  if (theirs.errorLine !== undefined) {
    const sameLine = ours.errorLines.includes(theirs.errorLine);
    if (known?.kind === 'line')
      assert.ok(!sameLine, `${name} is listed as a known line difference but ldir now agrees: remove it`);
    else
      assert.ok(
        sameLine,
        `ldirectord: line ${theirs.errorLine}: ${theirs.message}; ldir errors at lines ${ours.errorLines.join(', ')}:\n${ours.stderr}`,
      );
  }
  for (const line of theirs.warningLines.filter((l) => l > 0)) {
    assert.ok(
      ours.warningLines.includes(line) || ours.errorLines.includes(line),
      `ldirectord warns at line ${line}; ldir:\n${ours.stderr}`,
    );
  }
}
