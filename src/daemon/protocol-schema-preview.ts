// Validators of the steps of a reload preview, one per kind of step.
import type { PreviewStep } from './protocol';
import { TEXT, TIMEOUT_NAME, WEIGHT } from './protocol-schema-fields';
import { ipvsOpSchema, syncDaemonSchema } from './protocol-schema-ipvs-op';
import { arrayOf, bool, int, literal, nonNegative, nullable, object, str, type Check } from './validate';

const VIRTUAL = str({ min: 1, max: 256 });
const REAL = nullable(str({ min: 1, max: 256 }));

/** Validators of each kind of preview step. */
const previewSteps: { readonly [K in PreviewStep['kind']]: Check<Extract<PreviewStep, { kind: K }>> } = {
  sysctl: object(
    {
      kind: literal('sysctl'),
      key: str({ min: 1, max: 512 }),
      old: nullable(TEXT),
      new: TEXT,
      why: TEXT,
      status: literal('would-change', 'failed'),
      reason: nullable(TEXT),
      text: TEXT,
    },
    false,
  ),
  'ipvs-timeout': object(
    {
      kind: literal('ipvs-timeout'),
      timeout: TIMEOUT_NAME,
      old: nullable(int({ min: 0, max: 0xffffffff })),
      new: int({ min: 0, max: 0xffffffff }),
      status: literal('would-change', 'would-restore', 'left', 'failed'),
      why: TEXT,
      reason: nullable(TEXT),
      text: TEXT,
    },
    false,
  ),
  'drain-cancel': object({ kind: literal('drain-cancel'), virtual: VIRTUAL, real: REAL, text: TEXT }, false),
  'drain-begin': object(
    { kind: literal('drain-begin'), virtual: VIRTUAL, real: REAL, timeoutSeconds: nonNegative, text: TEXT },
    false,
  ),
  'fallback-command': object(
    {
      kind: literal('fallback-command'),
      virtual: VIRTUAL,
      action: literal('start', 'stop'),
      argv: arrayOf(TEXT, 1024),
      text: TEXT,
    },
    false,
  ),
  'drain-end': object(
    { kind: literal('drain-end'), virtual: VIRTUAL, real: REAL, why: literal('idle', 'timeout', 'gone'), text: TEXT },
    false,
  ),
  ipvs: object(
    {
      kind: literal('ipvs'),
      op: ipvsOpSchema,
      role: nullable(literal('real', 'fallback', 'draining', 'stale')),
      real: REAL,
      reason: nullable(str({ min: 1, max: 64 })),
      repair: bool,
      text: TEXT,
    },
    false,
  ),
  fallback: object({ kind: literal('fallback'), virtual: VIRTUAL, active: bool, text: TEXT }, false),
  quorum: object(
    {
      kind: literal('quorum'),
      virtual: VIRTUAL,
      state: literal('up', 'down'),
      serving: int({ min: 0 }),
      quorum: int({ min: 1 }),
      hysteresis: int({ min: 0 }),
      text: TEXT,
    },
    false,
  ),
  'quorum-command': object(
    {
      kind: literal('quorum-command'),
      virtual: VIRTUAL,
      action: literal('up', 'down'),
      argv: arrayOf(TEXT, 1024),
      text: TEXT,
    },
    false,
  ),
  'sync-daemon': object(
    {
      kind: literal('sync-daemon'),
      action: literal('start', 'stop'),
      state: literal('master', 'backup'),
      daemon: nullable(syncDaemonSchema),
      text: TEXT,
    },
    false,
  ),
  'first-check': object(
    {
      kind: literal('first-check'),
      virtual: VIRTUAL,
      real: str({ min: 1, max: 256 }),
      weightUntilChecked: nullable(WEIGHT),
      weight: WEIGHT,
      text: TEXT,
    },
    false,
  ),
  execute: object(
    {
      kind: literal('execute'),
      name: str({ min: 1, max: 4096 }),
      action: literal('start', 'stop', 'try-reload'),
      text: TEXT,
    },
    false,
  ),
};

/** One preview step, by its kind. */
export const previewStepSchema: Check<PreviewStep> = (value, path) => {
  const { kind } = object({ kind: literal(...(Object.keys(previewSteps) as PreviewStep['kind'][])) }, false)(
    value,
    path,
  );
  return previewSteps[kind](value, path);
};
