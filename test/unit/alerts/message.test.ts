// Texts of alert mails: ldirectord's subjects and body lines, ldir's digest, and line sanitising.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  composeMail,
  eventSubject,
  fallbackLine,
  oneLine,
  realLine,
  virtualText,
  type AlertEvent,
} from '../../../src/alerts/message';
import type { VirtualService } from '../../../src/model';
import { loadValid } from '../../helpers/config';

const AT = Date.UTC(2026, 0, 1, 12, 0, 0);

async function virtual(text: string): Promise<VirtualService> {
  return (await loadValid(text)).virtualServices[0] as VirtualService;
}

describe('ldirectord lines', () => {
  it('names virtual services as ldirectord: VIP:PORT, [IPv6]:PORT, or the firewall mark', async () => {
    assert.equal(virtualText(await virtual('virtual=192.0.2.1:80\n\treal=10.0.0.2:80 gate\n')), '192.0.2.1:80');
    assert.equal(
      virtualText(await virtual('virtual6=[2001:db8::1]:443\n\treal6=[2001:db8::2]:443 gate\n')),
      '[2001:db8::1]:443',
    );
    assert.equal(virtualText(await virtual('virtual=7\n\treal=10.0.0.2 gate\n')), '7');
  });

  it('quiescent=no deletes and adds; quiescent=yes quiesces and restores; reminders say inaccessible', async () => {
    const plain = await virtual('virtual=192.0.2.1:80\n\treal=10.0.0.2:80 gate 3\n');
    const quiet = await virtual('virtual=192.0.2.1:80\n\treal=10.0.0.2:80 gate 3\n\tquiescent=yes\n');
    assert.equal(realLine('down', plain, '10.0.0.2:80', 0), 'Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.equal(
      realLine('up', plain, '10.0.0.2:80', 3),
      'Added real server: 10.0.0.2:80 (192.0.2.1:80) (Weight set to 3)',
    );
    assert.equal(
      realLine('down', quiet, '10.0.0.2:80', 0),
      'Quiescent real server: 10.0.0.2:80 (192.0.2.1:80) (Weight set to 0)',
    );
    assert.equal(
      realLine('up', quiet, '10.0.0.2:80', 3),
      'Restored real server: 10.0.0.2:80 (192.0.2.1:80) (Weight set to 3)',
    );
    assert.equal(realLine('reminder', quiet, '10.0.0.2:80', 0), 'Inaccessible real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.equal(
      fallbackLine(true, plain, '127.0.0.1:80'),
      'Added fallback server: 127.0.0.1:80 (192.0.2.1:80) (Weight set to 1)',
    );
    assert.equal(fallbackLine(false, plain, '127.0.0.1:80'), 'Deleted fallback server: 127.0.0.1:80 (192.0.2.1:80)');
  });
});

describe('composeMail', () => {
  const down: AlertEvent = {
    kind: 'down',
    at: AT,
    virtualId: 'tcp:192.0.2.1:80',
    real: '10.0.0.2:80',
    line: 'Deleted real server: 10.0.0.2:80 (192.0.2.1:80)',
    reason: 'refused',
    daemonState: 'running',
    serviceName: 'Web',
    comment: 'front end',
  };

  it("one event: ldirectord's subject and body lines, then Reason and Time", () => {
    const m = composeMail([down], { hostname: 'lb1', daemonState: 'running' });
    assert.equal(m.subject, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.equal(
      m.text,
      [
        'ldirectord host: lb1',
        'Log-Message: [Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)',
        'Daemon-Status: running',
        'Service name: Web',
        'Comment: front end',
        'Reason: refused',
        'Time: 2026-01-01T12:00:00.000Z',
        '',
      ].join('\n'),
    );
  });

  it('without servicename and comment: no prefix, no such lines', () => {
    const { serviceName, comment, reason, ...bare } = down;
    const m = composeMail([bare], { hostname: 'lb1', daemonState: 'starting' });
    assert.equal(m.subject, 'Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.doesNotMatch(m.text, /Service name|Comment|Reason/);
    assert.match(
      m.text,
      /^ldirectord host: lb1\nLog-Message: Deleted real server: 10\.0\.0\.2:80 \(192\.0\.2\.1:80\)\nDaemon-Status: running\n/,
    );
  });

  it('several events: first subject plus (+N more), a tally, out-of-service virtuals, one block per event', () => {
    const up: AlertEvent = {
      ...down,
      kind: 'up',
      real: '10.0.0.3:80',
      line: 'Added real server: 10.0.0.3:80 (192.0.2.1:80) (Weight set to 1)',
      reason: 'ok',
    };
    const m = composeMail(
      [down, up, { ...down, real: '10.0.0.4:80', line: 'Deleted real server: 10.0.0.4:80 (192.0.2.1:80)' }],
      {
        hostname: 'lb1',
        daemonState: 'running',
        outOfService: ['[Web] 192.0.2.1:80'],
      },
    );
    assert.equal(m.subject, '[Web] Deleted real server: 10.0.0.2:80 (192.0.2.1:80) (+2 more)');
    const blocks = m.text.split('\n\n');
    assert.equal(blocks.length, 4);
    assert.equal(
      blocks[0],
      'ldirectord host: lb1\nDaemon-Status: running\nEvents: 3 (2 down, 1 up)\nOut of service (no real server up): [Web] 192.0.2.1:80',
    );
    assert.match(blocks[2] ?? '', /^Log-Message: \[Web\] Added real server: 10\.0\.0\.3:80/);
  });

  it('events beyond the per-mail bound are counted, not listed', () => {
    const m = composeMail([down, down], { hostname: 'lb1', daemonState: 'running', omitted: 5 });
    assert.match(m.subject, /\(\+6 more\)$/);
    assert.match(m.text, /Events: 7 \(2 down, 5 not listed\)/);
    assert.match(m.text, /\.\.\. 5 more events not listed\n$/);
  });

  it('line breaks in configured texts and reasons cannot inject headers or body lines', () => {
    const evil: AlertEvent = {
      ...down,
      serviceName: 'Web\r\nBcc: x@example.com',
      reason: 'bad\nDaemon-Status: stopping',
    };
    const m = composeMail([evil], { hostname: 'lb\n1', daemonState: 'running' });
    assert.doesNotMatch(m.subject, /[\r\n]/);
    assert.equal(eventSubject(evil), '[Web Bcc: x@example.com] Deleted real server: 10.0.0.2:80 (192.0.2.1:80)');
    assert.equal(m.text.split('\n').filter((l) => l.startsWith('Daemon-Status:')).length, 1);
    assert.equal(oneLine(' a\u0000b\u007f\tc '), 'a b c');
  });

  it('refuses an empty burst', () => {
    assert.throws(() => composeMail([], { hostname: 'lb1', daemonState: 'running' }), RangeError);
  });
});
