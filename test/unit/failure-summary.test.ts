import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailureCollector, errorSummary } from "../tools/failure-summary";

test("a failed test is listed with its file, name and the runner's inner error; a parent that only failed through it is not", () => {
  const collector = new FailureCollector();
  const inner = new Error("expected 3 reals, saw 2\nmore detail");
  const wrapped = Object.assign(new Error("test failed", { cause: inner }), { code: "ERR_TEST_FAILURE", failureType: "testCodeFailure" });
  const parent = Object.assign(new Error("1 subtest failed"), { code: "ERR_TEST_FAILURE", failureType: "subtestsFailed" });
  collector.add({ type: "test:fail", data: { name: "reals come back", file: "/x/a.test.js", details: { error: wrapped } } });
  collector.add({ type: "test:fail", data: { name: "suite", file: "/x/a.test.js", details: { error: parent } } });
  collector.add({ type: "test:pass", data: { name: "fine", file: "/x/a.test.js" } });
  collector.add({ type: "test:pass", data: { name: "needs docker", file: "/x/b.test.js", skip: "no Docker engine" } });
  assert.equal(collector.failures.length, 1);
  assert.equal(
    collector.render(),
    [
      "# FAILED tests (1):",
      "#   /x/a.test.js :: reals come back -- Error: expected 3 reals, saw 2",
      "#       more detail",
      "# skipped tests (1):",
      "#   /x/b.test.js :: needs docker -- no Docker engine",
      "",
    ].join("\n"),
  );
});

test("nothing failed or skipped: the summary prints nothing", () => {
  const collector = new FailureCollector();
  collector.add({ type: "test:pass", data: { name: "fine", file: "/x/a.test.js" } });
  assert.equal(collector.render(), "");
});

test("long errors are cut to a few lines", () => {
  const text = errorSummary(new Error(Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n")));
  assert.equal(text.split("\n").length, 6);
});

/** The parent runner marks its children; a nested `node --test` would otherwise refuse to run files. */
function withoutTestContext(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env["NODE_TEST_CONTEXT"];
  return env;
}

test("run as a node --test reporter, the summary comes after the TAP totals and names the failing test", () => {
  const dir = mkdtempSync(join(tmpdir(), "ldir-summary-"));
  try {
    const file = join(dir, "sample.test.js");
    writeFileSync(
      file,
      [
        "const { test } = require('node:test');",
        "const assert = require('node:assert/strict');",
        "test('passes', () => {});",
        "test('breaks on purpose', () => { assert.equal(1, 2); });",
        "test('not here', { skip: 'no engine' }, () => {});",
      ].join("\n"),
    );
    const reporter = join(__dirname, "..", "tools", "failure-summary-reporter.js");
    const run = spawnSync(
      process.execPath,
      ["--test", "--test-reporter=tap", "--test-reporter-destination=stdout", `--test-reporter=${reporter}`, "--test-reporter-destination=stdout", file],
      { encoding: "utf8", timeout: 60_000, env: withoutTestContext() },
    );
    assert.equal(run.status, 1, run.stderr);
    const out = run.stdout;
    const totals = out.lastIndexOf("# fail 1");
    const summary = out.indexOf("# FAILED tests (1):");
    assert.ok(totals >= 0 && summary > totals, `summary after the totals:\n${out}`);
    assert.match(out.slice(summary), /sample\.test\.js :: breaks on purpose -- AssertionError/);
    assert.match(out.slice(summary), /# skipped tests \(1\):\n# {3}.*sample\.test\.js :: not here -- no engine/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
