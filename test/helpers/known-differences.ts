// Fixtures of test/fixtures/ldirectord where ldir deliberately differs from ldirectord (each in docs/compatibility.md).

/**
 * Fixtures where ldir deliberately differs from ldirectord, each listed in docs/compatibility.md.
 * `verdict`: ldir gives another verdict; `line`: same verdict, another error line.
 */
export const KNOWN_DIFFERENCES: Readonly<Record<string, { kind: 'verdict' | 'line'; why: string }>> = {
  'valid-fwmark-leading-zero.cf': {
    kind: 'verdict',
    why: 'fwmarks 100 and 0100 are the same kernel service: ldir refuses the duplicate',
  },
  'valid-persistent-zero-weights.cf': {
    kind: 'verdict',
    why: 'persistent=0: ipvsadm refuses -p 0 at run time, ldir refuses it in the file (strict validation)',
  },
  'valid-multicast-virtual-unspecified-real.cf': {
    kind: 'verdict',
    why: 'a multicast virtual and a real 0.0.0.0 can never work (the kernel refuses the destination): ldir refuses them in the file',
  },
  'valid-netmask-without-persistent.cf': {
    kind: 'verdict',
    why: 'netmask without persistent is dropped by ldirectord: ldir refuses the option it would not apply',
  },
  'valid-ops-on-tcp.cf': {
    kind: 'verdict',
    why: 'ops=yes on TCP is dropped by ldirectord: ldir refuses the option it would not apply',
  },
  'valid-schedflags-not-a-flag.cf': {
    kind: 'verdict',
    why: 'ipvsadm refuses the unknown flag at run time: ldir refuses it in the file',
  },
  'valid-threshold-order-swapped.cf': {
    kind: 'verdict',
    why: 'u:100 is skipped, leaving l:10 above u:0, which the kernel refuses (ERANGE): ldir refuses it in the file',
  },
};
