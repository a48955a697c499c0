// BIRD 2's include file and control socket protocol: rendering and reading back the prefix sets, reply parsing, and
// `configure` against a server speaking the protocol (greeting, command, reply).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { birdCommand, birdConfigure, parseBirdReply } from '../../../src/announce/bird-control';
import { birdDriver } from '../../../src/announce/bird-driver';
import { parseBirdInclude, renderBirdInclude } from '../../../src/announce/bird-include';
import { ErrorCodes } from '../../../src/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-bird-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fake BIRD control socket: greets, records each command, answers with `reply(command)`. */
async function fakeBird(
  name: string,
  reply: (command: string) => string,
  greeting = '0001 BIRD 2.0.12 ready.\n',
): Promise<{ path: string; commands: string[]; close(): void }> {
  const p = path.join(tmp, name);
  const commands: string[] = [];
  const server = net.createServer((s) => {
    s.write(greeting);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const c = buf.slice(0, nl);
      commands.push(c);
      s.write(reply(c));
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(p, r));
  return { path: p, commands, close: () => server.close() };
}

describe('BIRD include file', () => {
  test('two sets, IPv4 and IPv6, sorted; empty sets as []; read back the same', () => {
    const text = renderBirdInclude(['2001:db8::1/128', '192.0.2.11/32', '192.0.2.10/32']);
    assert.match(text, /^define LDIR_ANNOUNCED_V4 = \[ 192\.0\.2\.10\/32, 192\.0\.2\.11\/32 \];$/m);
    assert.match(text, /^define LDIR_ANNOUNCED_V6 = \[ 2001:db8::1\/128 \];$/m);
    assert.deepEqual(parseBirdInclude(text), ['192.0.2.10/32', '192.0.2.11/32', '2001:db8::1/128']);
    const empty = renderBirdInclude([]);
    assert.match(empty, /^define LDIR_ANNOUNCED_V4 = \[\];$/m);
    assert.deepEqual(parseBirdInclude(empty), []);
    assert.deepEqual(parseBirdInclude('# something else\n'), []);
  });
});

describe('BIRD control socket', () => {
  test('reply lines: continuation, end, spontaneous messages', () => {
    assert.deepEqual(parseBirdReply('0002-Reading configuration from /etc/bird.conf\n'), {
      lines: [{ code: 2, text: 'Reading configuration from /etc/bird.conf' }],
      done: false,
    });
    const r = parseBirdReply('+0016 async\n0002-Reading\n more\n0003 Reconfigured\n');
    assert.equal(r.done, true);
    assert.deepEqual(
      r.lines.map((l) => [l.code, l.text]),
      [
        [2, 'Reading'],
        [2, 'more'],
        [3, 'Reconfigured'],
      ],
    );
  });

  test('configure: sent after the greeting, 0003 taken', async () => {
    const bird = await fakeBird('ok.ctl', () => '0002-Reading configuration from bird.conf\n0003 Reconfigured\n');
    try {
      assert.equal(await birdConfigure(bird.path), 'Reading configuration from bird.conf; Reconfigured');
      assert.deepEqual(bird.commands, ['configure']);
    } finally {
      bird.close();
    }
  });

  test("configure: an error reply rejects with BIRD's text", async () => {
    const bird = await fakeBird(
      'bad.ctl',
      () => '0002-Reading configuration from bird.conf\n8002 bird.conf:3:1 syntax error\n',
    );
    try {
      await assert.rejects(
        birdConfigure(bird.path),
        (e: Error & { code?: string }) => e.code === ErrorCodes.ANNOUNCE && /syntax error/.test(e.message),
      );
    } finally {
      bird.close();
    }
  });

  test('no socket, a wrong greeting, no answer: rejected with LDIR_ERR_ANNOUNCE', async () => {
    await assert.rejects(
      birdCommand(path.join(tmp, 'none.ctl'), 'configure'),
      (e: Error & { code?: string }) => e.code === ErrorCodes.ANNOUNCE && /ENOENT/.test(e.message),
    );
    const odd = await fakeBird('odd.ctl', () => '', '9999 not bird\n');
    const mute = await fakeBird('mute.ctl', () => '');
    try {
      await assert.rejects(birdCommand(odd.path, 'configure'), /unexpected greeting/);
      await assert.rejects(birdCommand(mute.path, 'configure', 200), /no answer to "configure" within 200 ms/);
    } finally {
      odd.close();
      mute.close();
    }
  });

  test('the driver writes the file, then configures; reads back what the file announces', async () => {
    const file = path.join(tmp, 'inc.conf');
    const calls: string[] = [];
    const driver = birdDriver({
      socket: '/run/x.ctl',
      file,
      configure: async (s) => {
        calls.push(`configure ${s} ${fs.readFileSync(file, 'utf8').includes('192.0.2.10/32')}`);
      },
    });
    assert.deepEqual(await driver.announced(), []);
    await driver.apply(['192.0.2.10/32']);
    assert.deepEqual(calls, ['configure /run/x.ctl true']);
    assert.deepEqual(await driver.announced(), ['192.0.2.10/32']);
    assert.equal(driver.describe, `bird socket=/run/x.ctl file=${file}`);
  });
});
