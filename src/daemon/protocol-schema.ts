// Validators of the control protocol's messages: strict for requests, tolerant of extra members in responses.
// The parts live in protocol-schema-*.ts; this file holds the answers by request type and the envelope.
import type {
  DrainResult,
  PingResult,
  ReloadPreviewResult,
  ReloadResult,
  RequestType,
  RestartResult,
  ResultMap,
  RoleResult,
  StopResult,
  WeightResult,
  WireDiagnostic,
  WireError,
} from './protocol';
import { WEIGHT } from './protocol-schema-fields';
import { previewStepSchema } from './protocol-schema-preview';
import { idSchema } from './protocol-schema-request';
import {
  healthStatusSchema,
  stateSyncStatusSchema,
  statusReportSchema,
  watchdogStatusSchema,
} from './protocol-schema-status';
import {
  arrayOf,
  bool,
  int,
  isoTime,
  literal,
  nonNegative,
  nullable,
  object,
  optional,
  SchemaError,
  str,
  type Check,
} from './validate';

export { ipvsOpSchema } from './protocol-schema-ipvs-op';
export { previewStepSchema } from './protocol-schema-preview';
export { idSchema, requestSchemas, requestTypeSchema } from './protocol-schema-request';
export {
  healthStatusSchema,
  realStatusSchema,
  stateSyncStatusSchema,
  statusReportSchema,
  virtualStatusSchema,
  watchdogStatusSchema,
} from './protocol-schema-status';

/** A configuration diagnostic on the wire. */
export const wireDiagnosticSchema: Check<WireDiagnostic> = object(
  {
    file: str({ max: 4096 }),
    line: int({ min: 0 }),
    column: optional(int({ min: 0 })),
    severity: literal('error', 'warning'),
    code: str({ max: 64 }),
    message: str({ max: 65536 }),
  },
  false,
);

/** The error member of a failed response. */
export const wireErrorSchema: Check<WireError> = object(
  {
    code: str({ min: 1, max: 64 }),
    message: str({ max: 65536 }),
    diagnostics: optional(arrayOf(wireDiagnosticSchema)),
  },
  false,
);

const pingResult: Check<PingResult> = object(
  {
    pid: int({ min: 1 }),
    configFile: str({ max: 4096 }),
    startedAt: isoTime,
    uptimeSeconds: nonNegative,
    lastSyncOk: nullable(bool),
    role: optional(literal('none', 'master', 'backup')),
    watchdog: optional(watchdogStatusSchema),
    health: optional(healthStatusSchema),
    configFiles: optional(arrayOf(object({ path: str({ max: 4096 }), digest: optional(str({ max: 64 })) }, false))),
  },
  false,
);

const roleResult: Check<RoleResult> = object(
  {
    role: literal('master', 'backup'),
    previous: literal('none', 'master', 'backup'),
    changed: bool,
    stateSync: stateSyncStatusSchema,
  },
  false,
);

const reloadResult: Check<ReloadResult> = object(
  { file: str({ max: 4096 }), diagnostics: arrayOf(wireDiagnosticSchema) },
  false,
);

const drainResult: Check<DrainResult> = object(
  {
    virtual: str({ min: 1, max: 256 }),
    real: str({ min: 1, max: 256 }),
    changed: bool,
    saveError: optional(str({ max: 65536 })),
  },
  false,
);

const weightResult: Check<WeightResult> = object(
  {
    virtual: str({ min: 1, max: 256 }),
    real: str({ min: 1, max: 256 }),
    configuredWeight: WEIGHT,
    weight: nullable(WEIGHT),
    previous: nullable(WEIGHT),
    changed: bool,
    saveError: optional(str({ max: 65536 })),
  },
  false,
);

const stopResult: Check<StopResult> = (value, path) => {
  if (!object({ stopped: bool }, false)(value, path).stopped) throw new SchemaError(`${path}.stopped`, 'expected true');
  return { stopped: true };
};

const restartResult: Check<RestartResult> = object(
  { pid: int({ min: 1 }), previousPid: int({ min: 1 }), durationMs: nonNegative },
  false,
);

const reloadPreviewResult: Check<ReloadPreviewResult> = object(
  {
    file: str({ max: 4096 }),
    diagnostics: arrayOf(wireDiagnosticSchema),
    steps: arrayOf(previewStepSchema),
  },
  false,
);

/** Result validators by request type. */
export const resultSchemas: { readonly [T in RequestType]: Check<ResultMap[T]> } = {
  status: statusReportSchema,
  reload: reloadResult,
  'reload-preview': reloadPreviewResult,
  drain: drainResult,
  undrain: drainResult,
  weight: weightResult,
  stop: stopResult,
  ping: pingResult,
  role: roleResult,
  restart: restartResult,
};

/** The members every response has. */
export const responseEnvelopeSchema = object({ v: int(), id: nullable(idSchema), ok: bool }, false);
