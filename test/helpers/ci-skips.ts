// The skips CI accepts: the few things a CI machine (Debian, root, no Docker daemon, no IPVS in its own kernel)
// cannot have at all, each named with its reason. Any other skip under CI=true fails the run (the failure-summary
// reporter, test/tools/failure-summary.ts), and a test whose prerequisite is missing fails with one line naming it
// (test/helpers/prerequisites.ts). No node:test import here: the reporter loads this file in the runner's process.

/** Where a test runs: on the machine itself, or inside the kernel-tier VM (`LDIR_IN_VM=1`). */
export type TestPlace = 'host' | 'vm';

/** One skip CI accepts. */
export interface AllowedSkip {
  /** Short name, printed with every skip it covers. */
  readonly id: string;
  /** Why the CI machine cannot have what the test needs (printed with every skip it covers). */
  readonly reason: string;
  /** Where the allowance holds: a skip it covers elsewhere still fails the run. */
  readonly place: TestPlace;
  /** Recognises the skip messages it covers (the message as passed to `t.skip` or a `skip` option). */
  readonly message: RegExp;
}

/** The allow-list: every skip CI accepts, and nothing else. test/README.md lists the same entries. */
export const CI_ALLOWED_SKIPS: readonly AllowedSkip[] = [
  {
    id: 'guest-file-on-host',
    reason:
      'a kernel-tier guest file loaded by node --test on the host; test/kernel/host-runs-guest-tests.test.ts runs it inside the VM, where it may not skip',
    place: 'host',
    message: /^runs inside the kernel-tier VM only \(test\/kernel\/host-runs-guest-tests\)$/,
  },
  {
    id: 'docker-engine',
    reason:
      'the CI machine has a docker client but no dockerd, so no Docker engine to build and run the image (docker.io is not installed over another Docker)',
    place: 'host',
    message: /^no Docker engine \(.*\), and a docker client without dockerd here to start one$/,
  },
];

/** True when `env` says CI (`CI` set to anything but `false` or `0`). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/** Where this process runs. */
export function testPlace(env: NodeJS.ProcessEnv = process.env): TestPlace {
  return env['LDIR_IN_VM'] === '1' ? 'vm' : 'host';
}

/** The allowance that covers a skip with this message here, or undefined when CI does not accept it. */
export function allowanceFor(
  message: string,
  place: TestPlace = testPlace(),
  list: readonly AllowedSkip[] = CI_ALLOWED_SKIPS,
): AllowedSkip | undefined {
  return list.find((a) => a.place === place && a.message.test(message));
}
