// A reload preview's steps: every kind in the order a reload takes them, their lines for people, their wire form.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { previewStepSchema } from '../../../src/daemon/protocol-schema';
import { opLine, previewSteps } from '../../../src/daemon/reload-preview';
import type { EnginePreview } from '../../../src/engine/engine-types';
import type { IpvsOp, ServiceKey } from '../../../src/ipvs/types';
import { loadValid } from '../../helpers/config';
import { EngineHarness } from '../../helpers/engine';
import { addrService, dest } from '../../helpers/ipvs-tables';

const KEY: ServiceKey = { family: 'inet', protocol: 'tcp', address: '192.0.2.1', port: 80 };
const MAIL_KEY: ServiceKey = { family: 'inet', protocol: 'tcp', address: '192.0.2.2', port: 25 };

const NOTHING: EnginePreview = {
  drainsCancelled: [],
  drainsBegun: [],
  drainTimeoutMs: 30_000,
  retiredCommands: [],
  retiredQuorumCommands: [],
  drainsEnded: [],
  ops: [],
  fallback: [],
  syncDaemons: [],
  awaitingCheck: [],
};

const record = (op: IpvsOp, over: Partial<EnginePreview['ops'][number]> = {}): EnginePreview['ops'][number] => ({
  op,
  text: '',
  virtualId: 'tcp:192.0.2.1:80',
  failed: false,
  retry: false,
  drift: false,
  ...over,
});

describe('reload preview steps', () => {
  test('nothing to change: no step', () => {
    assert.deepEqual(previewSteps({ sysctls: [], ipvsTimeouts: [], engine: NOTHING, execute: [] }), []);
  });

  test('every kind, in the order a reload takes them, each line readable and each step valid on the wire', () => {
    const steps = previewSteps({
      sysctls: [
        {
          key: 'net.ipv4.ip_forward',
          old: '0',
          new: '1',
          status: 'would-change',
          why: 'IPv4 masq forwarding (tcp:192.0.2.1:80)',
        },
        {
          key: 'net.ipv4.conf.all.send_redirects',
          old: '0',
          new: '0',
          status: 'unchanged',
          why: 'IPv4 masq forwarding (tcp:192.0.2.1:80)',
        },
        {
          key: 'net.ipv4.vs.conntrack',
          new: '1',
          status: 'failed',
          why: 'ipvssysctl at /etc/ha.d/x.cf:3',
          reason: 'no such sysctl',
          errno: 'ENOENT',
        },
      ],
      ipvsTimeouts: [
        { timeout: 'tcp', old: 900, new: 7200, status: 'would-change', why: 'ipvstimeouts at /etc/ha.d/x.cf:4' },
        { timeout: 'tcpfin', old: 120, new: 120, status: 'unchanged', why: 'ipvstimeouts at /etc/ha.d/x.cf:4' },
        {
          timeout: 'udp',
          old: 60,
          new: 300,
          status: 'would-restore',
          why: 'found before ldir set 60, ipvstimeoutsrestore=yes',
        },
      ],
      engine: {
        drainsCancelled: [
          { kind: 'destination', service: KEY, destination: { address: '10.0.0.7', port: 80, family: 'inet' } },
        ],
        drainsBegun: [
          { kind: 'service', service: MAIL_KEY },
          { kind: 'destination', service: KEY, destination: { address: '10.0.0.2', port: 80, family: 'inet' } },
        ],
        drainTimeoutMs: 45_000,
        retiredCommands: [
          {
            virtualId: 'tcp:192.0.2.3:80',
            action: 'stop',
            argv: ['/usr/local/bin/sorry', 'stop', '192.0.2.3:80', 'tcp'],
          },
        ],
        retiredQuorumCommands: [
          {
            virtualId: 'tcp:192.0.2.3:80',
            action: 'down',
            argv: ['/usr/local/bin/vip', '192.0.2.3:80', 'tcp', '0', '2'],
          },
        ],
        drainsEnded: [
          {
            target: {
              kind: 'destination',
              service: KEY,
              destination: { address: '10.0.0.8', port: 80, family: 'inet' },
            },
            why: 'timeout',
          },
        ],
        ops: [
          record({ op: 'edit-service', service: addrService('192.0.2.1', 80, { scheduler: 'rr' }) }),
          record(
            { op: 'add-destination', service: KEY, destination: dest('10.0.0.3', 80, { weight: 0 }) },
            { role: 'real', realKey: '10.0.0.3:80', reason: 'unknown-quiescent' },
          ),
          record(
            { op: 'edit-destination', service: KEY, destination: dest('10.0.0.1', 80, { weight: 7 }) },
            { role: 'real', realKey: '10.0.0.1:80', reason: 'up', drift: true },
          ),
          record(
            { op: 'edit-destination', service: KEY, destination: dest('10.0.0.2', 80, { weight: 0 }) },
            { role: 'draining' },
          ),
          record(
            { op: 'delete-destination', service: KEY, destination: { address: '10.0.0.8', port: 80, family: 'inet' } },
            { role: 'stale' },
          ),
          record(
            { op: 'add-destination', service: KEY, destination: dest('10.0.0.9', 80, { forward: 'local' }) },
            { role: 'fallback' },
          ),
          record({
            op: 'delete-service',
            service: { family: 'inet', protocol: 'tcp', address: '192.0.2.3', port: 80 },
          }),
        ],
        fallback: [
          {
            virtualId: 'tcp:192.0.2.1:80',
            active: true,
            edge: true,
            command: {
              virtualId: 'tcp:192.0.2.1:80',
              action: 'start',
              argv: ['/usr/local/bin/sorry', 'start', '192.0.2.1:80', 'tcp'],
            },
            quorum: { state: 'down', serving: 1, quorum: 3, hysteresis: 1 },
            quorumCommand: {
              virtualId: 'tcp:192.0.2.1:80',
              action: 'down',
              argv: ['/usr/local/bin/vip', '192.0.2.1:80', 'tcp', '1', '3'],
            },
          },
        ],
        syncDaemons: [
          { op: 'stop-daemon', state: 'backup' },
          { op: 'start-daemon', daemon: { state: 'master', interface: 'eth1', syncId: 7 }, restart: false },
        ],
        awaitingCheck: [
          {
            virtualId: 'tcp:192.0.2.1:80',
            realKey: '10.0.0.3:80',
            destinationId: '10.0.0.3:80',
            configuredWeight: 4,
            reason: 'unknown-quiescent',
            desiredWeight: 0,
          },
          {
            virtualId: 'tcp:192.0.2.1:80',
            realKey: '10.0.0.4:80',
            destinationId: '10.0.0.4:80',
            configuredWeight: 2,
            reason: 'unknown-waiting',
          },
          {
            virtualId: 'tcp:192.0.2.1:80',
            realKey: '10.0.0.7:80',
            destinationId: '10.0.0.7:80',
            configuredWeight: 5,
            reason: 'unknown-adopted',
            desiredWeight: 0,
          },
        ],
      },
      execute: [
        ['old.cf', 'stop'],
        ['kept.cf', 'try-reload'],
        ['new.cf', 'start'],
      ],
    });
    assert.deepEqual(
      steps.map((s) => s.text),
      [
        'sysctl net.ipv4.ip_forward 0 -> 1  # IPv4 masq forwarding (tcp:192.0.2.1:80)',
        'sysctl net.ipv4.vs.conntrack cannot be set to 1: no such sysctl  # ipvssysctl at /etc/ha.d/x.cf:3',
        'ipvs timeout tcp 900 -> 7200  # ipvstimeouts at /etc/ha.d/x.cf:4',
        'ipvs timeout udp 60 -> 300 (would be restored: found before ldir set 60, ipvstimeoutsrestore=yes)',
        'stop draining tcp:192.0.2.1:80 10.0.0.7:80  # back in the configuration',
        'drain tcp:192.0.2.2:25 (timeout 45s)',
        'drain tcp:192.0.2.1:80 10.0.0.2:80 (timeout 45s)',
        'run /usr/local/bin/sorry stop 192.0.2.3:80 tcp  # fallbackcommand stop of tcp:192.0.2.3:80',
        'run /usr/local/bin/vip 192.0.2.3:80 tcp 0 2  # quorumdowncommand of tcp:192.0.2.3:80',
        'end the drain of tcp:192.0.2.1:80 10.0.0.8:80 (timeout)',
        'ipvsadm -E -t 192.0.2.1:80 -s rr',
        'ipvsadm -a -t 192.0.2.1:80 -r 10.0.0.3:80 -m -w 0 -x 0 -y 0  # real 10.0.0.3:80 (unknown-quiescent)',
        'ipvsadm -e -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 7 -x 0 -y 0  # real 10.0.0.1:80 (up), repairs a change made outside ldir',
        'ipvsadm -e -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 0 -x 0 -y 0  # draining',
        'ipvsadm -d -t 192.0.2.1:80 -r 10.0.0.8:80  # not in the configuration',
        'add-destination tcp:192.0.2.1:80 10.0.0.9:80 weight 1  # fallback server',
        'ipvsadm -D -t 192.0.2.3:80',
        'quorum lost tcp:192.0.2.1:80  # 1 real servers serving, quorum 3-1',
        'fallback in tcp:192.0.2.1:80  # below the quorum',
        'run /usr/local/bin/sorry start 192.0.2.1:80 tcp  # fallbackcommand start of tcp:192.0.2.1:80',
        'run /usr/local/bin/vip 192.0.2.1:80 tcp 1 3  # quorumdowncommand of tcp:192.0.2.1:80',
        'stop the backup sync daemon',
        'start the master sync daemon on eth1 (sync id 7, group 224.0.0.81:8848, ttl 1)',
        'first check tcp:192.0.2.1:80 10.0.0.3:80: weight 0 until it answers, weight 4 once up',
        'first check tcp:192.0.2.1:80 10.0.0.4:80: not in the table until it answers, weight 2 once up',
        'first check tcp:192.0.2.1:80 10.0.0.7:80: kernel weight 0 kept until it answers, weight 5 once up',
        'execute old.cf stop',
        'execute kept.cf try-reload  # reload, or start when it is not running',
        'execute new.cf start',
      ],
    );
    assert.deepEqual(
      steps.map((s) => s.kind),
      [
        'sysctl',
        'sysctl',
        'ipvs-timeout',
        'ipvs-timeout',
        'drain-cancel',
        'drain-begin',
        'drain-begin',
        'fallback-command',
        'quorum-command',
        'drain-end',
        'ipvs',
        'ipvs',
        'ipvs',
        'ipvs',
        'ipvs',
        'ipvs',
        'ipvs',
        'quorum',
        'fallback',
        'fallback-command',
        'quorum-command',
        'sync-daemon',
        'sync-daemon',
        'first-check',
        'first-check',
        'first-check',
        'execute',
        'execute',
        'execute',
      ],
    );
    for (const [i, step] of steps.entries()) {
      const wire = JSON.parse(JSON.stringify(step)) as unknown;
      assert.deepEqual(
        previewStepSchema(wire, `$.steps[${i}]`),
        wire,
        `step ${i} (${step.kind}) is valid on the wire as it is`,
      );
    }
    assert.deepEqual(steps[2], {
      kind: 'ipvs-timeout',
      timeout: 'tcp',
      old: 900,
      new: 7200,
      status: 'would-change',
      why: 'ipvstimeouts at /etc/ha.d/x.cf:4',
      reason: null,
      text: 'ipvs timeout tcp 900 -> 7200  # ipvstimeouts at /etc/ha.d/x.cf:4',
    });
    assert.deepEqual(steps[5], {
      kind: 'drain-begin',
      virtual: 'tcp:192.0.2.2:25',
      real: null,
      timeoutSeconds: 45,
      text: 'drain tcp:192.0.2.2:25 (timeout 45s)',
    });
    assert.deepEqual(steps[24], {
      kind: 'first-check',
      virtual: 'tcp:192.0.2.1:80',
      real: '10.0.0.4:80',
      weightUntilChecked: null,
      weight: 2,
      text: 'first check tcp:192.0.2.1:80 10.0.0.4:80: not in the table until it answers, weight 2 once up',
    });
  });

  test('opLine: ipvsadm command lines, and the engine words where ipvsadm cannot say it', () => {
    assert.equal(
      opLine({ op: 'add-service', service: addrService('2001:db8::1', 443, { persistent: 300 }) }),
      'ipvsadm -A -t [2001:db8::1]:443 -s wrr -p 300',
    );
    assert.equal(
      opLine({
        op: 'delete-destination',
        service: { family: 'inet', fwmark: 7 },
        destination: { address: '10.0.0.1', port: 0, family: 'inet' },
      }),
      'ipvsadm -d -f 7 -r 10.0.0.1:0',
    );
    assert.equal(
      opLine({ op: 'add-destination', service: KEY, destination: dest('10.0.0.1', 8080, { forward: 'route' }) }),
      'add-destination tcp:192.0.2.1:80 10.0.0.1:8080 weight 1',
    );
  });

  test('from a real engine preview: a weight change and a removed real, as the operator reads them', async () => {
    const config = (reals: string[]): ReturnType<typeof loadValid> =>
      loadValid(['virtual=192.0.2.1:80', ...reals.map((r) => `\treal=${r}`), ''].join('\n'));
    const h = new EngineHarness();
    await h.apply(await config(['10.0.0.1:80 masq 3', '10.0.0.2:80 masq 2']));
    await h.health('tcp:192.0.2.1:80', { '10.0.0.1:80': 'up', '10.0.0.2:80': 'up' });
    h.setConns('tcp:192.0.2.1:80', '10.0.0.2:80', 4);
    const engine = await h.engine.previewConfig(await config(['10.0.0.1:80 masq 6', '10.0.0.5:80 masq 1']));
    assert.deepEqual(
      previewSteps({ sysctls: [], ipvsTimeouts: [], engine, execute: [] }).map((s) => s.text),
      [
        'drain tcp:192.0.2.1:80 10.0.0.2:80 (timeout 30s)',
        'ipvsadm -e -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 6 -x 0 -y 0  # real 10.0.0.1:80 (up)',
        'ipvsadm -e -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 0 -x 0 -y 0  # draining',
        'first check tcp:192.0.2.1:80 10.0.0.5:80: not in the table until it answers, weight 1 once up',
      ],
    );
  });
});
