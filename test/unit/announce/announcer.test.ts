// The announcer at run time, on a fake clock with a fake driver: hold-downs wake it, a refusal is retried, stop
// withdraws, a restart's release does not, a new target withdraws from the old one, status and change events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Announcer, ANNOUNCE_RESYNC_MS, ANNOUNCE_RETRY_MS, type AnnounceChange } from '../../../src/announce/announcer';
import type { RouteDriver } from '../../../src/announce/route-driver';
import type { ServeState } from '../../../src/announce/decide-announce';
import type { GuardLink } from '../../../src/announce/guard-client';
import { silentLogger } from '../../../src/log';
import type { AnnounceSettings } from '../../../src/model';
import { FakeClock, flushPromises } from '../../helpers/fake-clock';
import { loadValid } from '../../helpers/config';

const A = '192.0.2.10/32';
const B = '192.0.2.11/32';

/** A driver recording what it is asked to announce; `refuse` makes the next applies fail. */
class FakeDriver implements RouteDriver {
  readonly describe: string;
  applied: string[][] = [];
  refuse = 0;
  constructor(
    readonly settings: AnnounceSettings,
    public held: string[] = [],
  ) {
    this.describe = `fake ${settings.socket}`;
  }
  async announced(): Promise<string[]> {
    return [...this.held];
  }
  async apply(prefixes: readonly string[]): Promise<void> {
    if (this.refuse > 0) {
      this.refuse--;
      throw new Error('BIRD refused "configure": syntax error');
    }
    this.applied.push([...prefixes]);
    this.held = [...prefixes];
  }
}

const cf = (extra = '', socket = '/run/b.ctl'): string =>
  `announce=bird\nannouncesocket=${socket}\n${extra}` +
  'virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\nvirtual=192.0.2.11:80\n\treal=10.0.0.2:80 gate\n';

function setup(initial: string[] = []): {
  clock: FakeClock;
  announcer: Announcer;
  drivers: FakeDriver[];
  changes: AnnounceChange[];
  links: Array<{ sent: unknown[]; closed: boolean }>;
} {
  const clock = new FakeClock();
  const drivers: FakeDriver[] = [];
  const changes: AnnounceChange[] = [];
  const links: Array<{ sent: unknown[]; closed: boolean }> = [];
  const announcer = new Announcer({
    clock,
    logger: silentLogger(),
    driverFor: (s) => {
      const d = new FakeDriver(s, drivers.length === 0 ? initial : []);
      drivers.push(d);
      return d;
    },
    guard: async () => {
      const link = { sent: [] as unknown[], closed: false };
      links.push(link);
      const g: GuardLink = {
        get closed() {
          return link.closed;
        },
        send: (t) => link.sent.push(t),
        close: () => {
          link.closed = true;
        },
      };
      return g;
    },
    onChange: (c) => changes.push(c),
  });
  return { clock, announcer, drivers, changes, links };
}

const states =
  (a: ServeState, b: ServeState) =>
  (id: string): ServeState =>
    id.includes('192.0.2.10') ? a : b;

describe('Announcer', () => {
  test('announces what can serve after announcedelay, woken by its own timer; events and status follow', async () => {
    const { clock, announcer, drivers, changes, links } = setup();
    await announcer.configure(await loadValid(cf('announcedelay=3\n')));
    assert.deepEqual(
      links.map((l) => l.sent),
      [[{ driver: 'bird', socket: '/run/b.ctl', file: '/etc/bird/ldir-announce.conf' }]],
    );
    announcer.update(states('up', 'down'));
    await flushPromises();
    assert.deepEqual(drivers[0]?.applied, []);
    const pending = announcer.status()?.virtuals.find((v) => v.prefix === A);
    assert.deepEqual([pending?.state, pending?.reason, pending?.dueInS], ['pending-announce', 'announce-delay', 3]);
    await clock.advance(3_100);
    assert.deepEqual(drivers[0]?.applied, [[A]]);
    assert.deepEqual(
      changes.map((c) => [c.prefix, c.announced, c.virtualIds]),
      [[A, true, ['tcp:192.0.2.10:80']]],
    );
    const s = announcer.status();
    assert.deepEqual([s?.announced, s?.guard, s?.lastError], [[A], 'connected', null]);
    assert.deepEqual(
      s?.virtuals.map((v) => [v.prefix, v.state, v.prefixAnnounced]),
      [
        [A, 'announced', true],
        [B, 'withdrawn', false],
      ],
    );
  });

  test('a refused announcement is retried every second until taken, the error shown meanwhile', async () => {
    const { clock, announcer, drivers } = setup();
    await announcer.configure(await loadValid(cf()));
    const driver = drivers[0] as FakeDriver;
    driver.refuse = 2;
    announcer.update(states('up', 'up'));
    await flushPromises();
    assert.match(announcer.status()?.lastError ?? '', /syntax error/);
    assert.deepEqual(announcer.status()?.announced, []);
    await clock.advance(ANNOUNCE_RETRY_MS);
    assert.deepEqual(driver.applied, []);
    await clock.advance(ANNOUNCE_RETRY_MS);
    assert.deepEqual(driver.applied, [[A, B]]);
    assert.equal(announcer.status()?.lastError, null);
  });

  test('a routing daemon that lost or gained statements (restarted, edited) is repaired at the next read back', async () => {
    const { clock, announcer, drivers, changes } = setup();
    await announcer.configure(await loadValid(cf()));
    const driver = drivers[0] as FakeDriver;
    announcer.update(states('up', 'down'));
    await announcer.idle();
    assert.deepEqual(driver.applied, [[A]]);
    driver.held = []; // FRR restarted: the statements made through vtysh are gone
    await clock.advance(ANNOUNCE_RESYNC_MS - 1);
    assert.deepEqual(driver.applied, [[A]], 'not read back before its time');
    await clock.advance(1);
    await announcer.idle();
    assert.deepEqual(driver.applied, [[A], [A]], 'announced again');
    assert.deepEqual(announcer.status()?.announced, [A]);
    assert.deepEqual(
      changes.map((c) => [c.prefix, c.announced]),
      [
        [A, true],
        [A, true],
      ],
    );
    driver.held = [A, B]; // a hand edit announced B, whose virtual cannot serve
    await clock.advance(ANNOUNCE_RESYNC_MS);
    await announcer.idle();
    assert.deepEqual(driver.applied.at(-1), [A], 'B withdrawn');
    await clock.advance(ANNOUNCE_RESYNC_MS);
    assert.equal(driver.applied.length, 3, 'nothing to repair: nothing applied');
    await announcer.withdrawAll();
    const after = driver.applied.length;
    driver.held = [A];
    await clock.advance(ANNOUNCE_RESYNC_MS * 3);
    assert.equal(driver.applied.length, after, 'stopped: no more read backs');
  });

  test('a read back while the last announcement failed takes nothing as announced (BIRD absent, its include file written)', async () => {
    const { clock, announcer, drivers } = setup();
    await announcer.configure(await loadValid(cf()));
    const driver = drivers[0] as FakeDriver;
    // BIRD's driver writes the include file, then "configure" fails: the file (what a read back sees) lists A.
    driver.refuse = 1_000;
    const apply = driver.apply.bind(driver);
    driver.apply = async (prefixes) => {
      driver.held = [...prefixes];
      await apply(prefixes);
    };
    announcer.update(states('up', 'down'));
    await announcer.idle();
    await clock.advance(ANNOUNCE_RESYNC_MS * 2);
    await announcer.idle();
    assert.deepEqual(announcer.status()?.announced, [], 'nothing announced while the routing daemon refuses');
    assert.match(announcer.status()?.lastError ?? '', /refused/);
    driver.refuse = 0;
    await clock.advance(ANNOUNCE_RETRY_MS);
    await announcer.idle();
    assert.deepEqual(announcer.status()?.announced, [A], 'announced once the routing daemon takes it');
  });

  test('withdrawAll at stop withdraws and lets the guard go; release (restart) withdraws nothing', async () => {
    const stop = setup();
    await stop.announcer.configure(await loadValid(cf()));
    stop.announcer.update(states('up', 'up'));
    await stop.announcer.idle();
    await stop.announcer.withdrawAll();
    assert.deepEqual(stop.drivers[0]?.applied, [[A, B], []]);
    assert.equal(stop.links[0]?.closed, true);
    assert.deepEqual(
      stop.changes.filter((c) => !c.announced).map((c) => c.prefix),
      [A, B],
    );

    const restart = setup();
    await restart.announcer.configure(await loadValid(cf()));
    restart.announcer.update(states('up', 'up'));
    await restart.announcer.idle();
    await restart.announcer.release();
    assert.deepEqual(restart.drivers[0]?.applied, [[A, B]]);
    assert.equal(restart.links[0]?.closed, true);
    restart.announcer.update(states('down', 'down'));
    await flushPromises();
    assert.deepEqual(restart.drivers[0]?.applied, [[A, B]], 'nothing is written after release');
  });

  test('hold (a hand-over): nothing is decided or announced, hold-downs stop; resume goes on; reread takes the set as left', async () => {
    const { clock, announcer, drivers } = setup();
    await announcer.configure(await loadValid(cf('announcedelay=2\n')));
    announcer.update(states('up', 'down'));
    await announcer.hold();
    await clock.advance(5_000);
    announcer.update(states('up', 'up'));
    await flushPromises();
    assert.deepEqual(drivers[0]?.applied, [], 'held: the announcedelay falling due announces nothing');
    announcer.resume();
    await announcer.idle();
    assert.deepEqual(drivers[0]?.applied, [[A]], 'resumed: A has served for its delay, B just came up');
    (drivers[0] as FakeDriver).held = [A, B]; // another daemon (the predecessor) announced B meanwhile
    await announcer.reread();
    assert.deepEqual(announcer.status()?.announced, [A, B]);
    assert.deepEqual(
      announcer.status()?.virtuals.map((v) => v.state),
      ['announced', 'announced'],
    );
  });

  test('a successor starts from what the routing daemon holds: undecided virtuals are not withdrawn', async () => {
    const { announcer, drivers } = setup([A, B]);
    await announcer.configure(await loadValid(cf('announcedelay=60\n')));
    announcer.update(() => 'pending');
    announcer.update(states('up', 'up'));
    await flushPromises();
    assert.deepEqual(drivers[0]?.applied, []);
    assert.deepEqual(announcer.status()?.announced, [A, B]);
  });

  test('what BIRD announces is read once the guard is joined (a guard withdrawing for a dead daemon has done so)', async () => {
    const clock = new FakeClock();
    let driver: FakeDriver | undefined;
    const announcer = new Announcer({
      clock,
      logger: silentLogger(),
      driverFor: (s) => (driver = new FakeDriver(s, [A, B])),
      guard: async () => {
        if (driver) driver.held = []; // the old guard's withdrawal lands while this daemon starts its own
        return { closed: false, send: () => undefined, close: () => undefined };
      },
    });
    await announcer.configure(await loadValid(cf()));
    assert.deepEqual(announcer.status()?.announced, []);
    announcer.update(states('up', 'up'));
    await announcer.idle();
    assert.deepEqual(driver?.applied, [[A, B]], 'announced again once decided, not taken for already announced');
  });

  test('a reload that changes the socket withdraws from the old target first; one without announce turns it off', async () => {
    const { announcer, drivers, links } = setup();
    await announcer.configure(await loadValid(cf()));
    announcer.update(states('up', 'down'));
    await announcer.idle();
    await announcer.configure(await loadValid(cf('', '/run/other.ctl')));
    await announcer.idle();
    assert.deepEqual(drivers[0]?.applied, [[A], []]);
    assert.deepEqual(drivers[1]?.applied, [[A]]);
    assert.deepEqual(links[0]?.sent.at(-1), {
      driver: 'bird',
      socket: '/run/other.ctl',
      file: '/etc/bird/ldir-announce.conf',
    });
    await announcer.configure(await loadValid('virtual=192.0.2.10:80\n\treal=10.0.0.1:80 gate\n'));
    assert.deepEqual(drivers[1]?.applied, [[A], []]);
    assert.equal(announcer.status(), undefined);
    assert.equal(links[0]?.closed, true);
  });
});
