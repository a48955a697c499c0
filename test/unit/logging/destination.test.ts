// Log destination choice (ldirectord's order), syslog facility names and the pino level → severity mapping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, isLdirError } from '../../../src/errors';
import { describeLogDestination, resolveLogDestination, sameLogDestination } from '../../../src/logging/destination';
import {
  parseSyslogFacility,
  SYSLOG_FACILITIES,
  syslogPriority,
  syslogSeverityOf,
} from '../../../src/logging/syslog-codes';

test('-d beats supervised beats logfile; a leading / is a file, anything else a facility', () => {
  assert.deepEqual(resolveLogDestination({ logfile: '/var/log/ldirectord.log' }), {
    kind: 'file',
    path: '/var/log/ldirectord.log',
  });
  assert.deepEqual(resolveLogDestination({ logfile: 'local0' }), {
    kind: 'syslog',
    facility: 16,
    facilityName: 'local0',
  });
  assert.deepEqual(resolveLogDestination({ logfile: 'LOG_DAEMON' }), {
    kind: 'syslog',
    facility: 3,
    facilityName: 'daemon',
  });
  assert.deepEqual(resolveLogDestination({ logfile: 'local0', supervised: true }), { kind: 'stdout' });
  assert.deepEqual(resolveLogDestination({ logfile: '/x', supervised: true, debug: true }), { kind: 'stderr' });
  assert.deepEqual(resolveLogDestination({ logfile: '/x', debug: true }), { kind: 'stderr' });
});

test('an unknown facility is LDIR_ERR_CONFIG_INVALID naming the value and the valid names, even with -d', () => {
  for (const input of [
    { logfile: 'locl0' },
    { logfile: 'kern' },
    { logfile: '' },
    { logfile: 'var/log/x.log', debug: true },
  ]) {
    assert.throws(
      () => resolveLogDestination(input),
      (err: unknown) => {
        assert.ok(isLdirError(err, ErrorCodes.CONFIG_INVALID));
        assert.match(
          err.message,
          /^logfile: ".*" is neither an absolute path nor a syslog facility \(one of user, .*local7\)$/,
        );
        assert.equal(err.details['directive'], 'logfile');
        assert.equal(err.details['value'], input.logfile);
        return true;
      },
    );
  }
});

test('facility names as Sys::Syslog takes them; kern refused', () => {
  assert.equal(parseSyslogFacility('local7'), 23);
  assert.equal(parseSyslogFacility('LOCAL7'), 23);
  assert.equal(parseSyslogFacility('log_local7'), 23);
  assert.equal(parseSyslogFacility(' daemon '), 3);
  assert.equal(parseSyslogFacility('security'), 4);
  assert.equal(parseSyslogFacility('authpriv'), 10);
  assert.equal(parseSyslogFacility('kern'), undefined);
  assert.equal(parseSyslogFacility('toString'), undefined);
  assert.equal(Object.keys(SYSLOG_FACILITIES).length, 20);
});

test('pino levels map to syslog severities; PRI = facility * 8 + severity', () => {
  assert.deepEqual([10, 20, 30, 40, 50, 60].map(syslogSeverityOf), [7, 7, 6, 4, 3, 2]);
  assert.equal(syslogSeverityOf(45), 4);
  assert.equal(syslogPriority(16, 6), 134);
  assert.equal(syslogPriority(3, 4), 28);
});

test('descriptions and equality of destinations', () => {
  assert.equal(describeLogDestination({ kind: 'file', path: '/a' }), 'file /a');
  assert.equal(describeLogDestination({ kind: 'syslog', facility: 16, facilityName: 'local0' }), 'syslog local0');
  assert.equal(describeLogDestination({ kind: 'stdout' }), 'stdout');
  assert.ok(
    sameLogDestination(resolveLogDestination({ logfile: 'LOCAL0' }), resolveLogDestination({ logfile: 'local0' })),
  );
  assert.ok(!sameLogDestination({ kind: 'file', path: '/a' }, { kind: 'file', path: '/b' }));
});
