// `npm run bench:traffic`: the traffic tier's figures. Boots the kernel-tier VM once per traffic scenario
// (test/kernel/guest/traffic-*.test.js: LVS-NAT lifecycle, LVS-DR director pair, Pacemaker) and prints one line per
// phase (`traffic: lab=... phase=... requests=... failed=... held_broken=...`), then each scenario's table. Exit 1 when
// a scenario fails (its assertions are the tier's: zero failed connections but for a real's failure window).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runInVm, vmUnavailable } from '../test/kernel/vm/run-in-vm';

const GUEST = path.resolve(__dirname, '../test/kernel/guest');

async function main(): Promise<void> {
  const why = vmUnavailable();
  if (why) throw new Error(`the VM cannot run here: ${why}`);
  const files = fs.readdirSync(GUEST).filter((f) => /^traffic-.*\.test\.js$/.test(f)).sort();
  let failed = 0;
  for (const file of files) {
    const lines: string[] = [];
    let pending = '';
    const result = await runInVm(`node --test --test-concurrency=1 --test-reporter=spec dist/test/kernel/guest/${file}`, {
      onOutput: (chunk) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) {
          const text = line.trim();
          if (text.startsWith('traffic:')) console.log(text);
          if (text.startsWith('|')) lines.push(text);
        }
      },
    });
    console.log(`\n${file}: ${result.code === 0 ? 'passed' : `FAILED (exit ${result.code})`}\n${lines.join('\n')}\n`);
    if (result.code !== 0) {
      failed++;
      console.log(result.output.split('\n').slice(-40).join('\n'));
    }
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
