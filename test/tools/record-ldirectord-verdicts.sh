#!/usr/bin/env bash
# Regenerate test/fixtures/ldirectord/expected.json by running the REAL ldirectord
# (Debian package, /usr/sbin/ldirectord) on every fixture with the "status" action.
#
# For each fixture the command run is exactly:
#   mkdir -p /tmp/ldir-fixtures && cd /tmp && \
#     unshare --net /usr/sbin/ldirectord <fixture> status
# "unshare --net" puts ldirectord in an empty network namespace so that name
# resolution of the deliberately unresolvable host names never leaves the machine.
# Needs root (unshare --net), perl ldirectord and node.
#
# Output: an object keyed by fixture file name (keys sorted):
#   { "exit": <exit code>, "line": <error line or null>,
#     "message": <error text after "at line N: " (final newline removed) or null>,
#     "warnings": [<line numbers of Warning lines, -1 when the warning has no line>] }
#
# Exits non-zero if a valid-* fixture does not exit 3, an invalid-* fixture does
# not exit 2, or a fixture breaks the corpus rules (first line '#', no CR).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixdir="$(cd "$here/../fixtures/ldirectord" && pwd)"
ldirectord="${LDIRECTORD:-/usr/sbin/ldirectord}"
out="$fixdir/expected.json"

[ -x "$ldirectord" ] || { echo "ldirectord not found at $ldirectord" >&2; exit 1; }

# Paths that some fixtures rely on NOT existing.
mkdir -p /tmp/ldir-fixtures
rm -rf /tmp/ldir-fixtures/missing-dir /tmp/ldir-fixtures/no-such-maintenance-dir

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

bad=0
for path in "$fixdir"/*.cf; do
	name="$(basename "$path")"
	if [ "$(head -c1 "$path")" != "#" ]; then
		echo "corpus rule: $name does not start with a '#' comment line" >&2; bad=1
	fi
	if grep -q $'\r' "$path"; then
		echo "corpus rule: $name contains CR characters" >&2; bad=1
	fi
	set +e
	( mkdir -p /tmp/ldir-fixtures && cd /tmp && unshare --net "$ldirectord" "$path" status ) \
		> "$work/$name.stdout" 2> "$work/$name.stderr" < /dev/null
	echo $? > "$work/$name.rc"
	set -e
done

node - "$work" "$out" <<'JS' || bad=1
const fs = require('fs');
const path = require('path');
const [work, out] = process.argv.slice(2);
const names = fs.readdirSync(work).filter(f => f.endsWith('.cf.rc')).map(f => f.slice(0, -3)).sort();
const result = {};
let bad = false;
for (const name of names) {
  const exit = Number(fs.readFileSync(path.join(work, name + '.rc'), 'utf8').trim());
  const err = fs.readFileSync(path.join(work, name + '.stderr'), 'utf8');
  const warnings = [];
  const wre = /^Warning \[\d+\](?: reading file .*? at line (\d+))?: /gm;
  let m;
  while ((m = wre.exec(err)) !== null) warnings.push(m[1] === undefined ? -1 : Number(m[1]));
  let line = null;
  let message = null;
  const ere = /^Error \[\d+\](?: reading file .*? at line (\d+))?: /m;
  const e = ere.exec(err);
  if (e) {
    line = e[1] === undefined ? null : Number(e[1]);
    // The message runs to the end of stderr: some messages embed the raw
    // config line including its newline ("Unknown command ...").
    message = err.slice(e.index + e[0].length).replace(/\n$/, '');
  }
  result[name] = { exit, line, message, warnings };
  const want = name.startsWith('valid-') ? 3 : name.startsWith('invalid-') ? 2 : null;
  if (want === null) { console.error(`corpus rule: ${name} is neither valid-* nor invalid-*`); bad = true; }
  else if (exit !== want) { console.error(`verdict mismatch: ${name} exited ${exit}, expected ${want}`); bad = true; }
  if (exit === 2 && !e) { console.error(`no Error line captured for ${name}`); bad = true; }
}
fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}: ${names.length} fixtures`);
process.exit(bad ? 1 : 0);
JS

exit $bad
