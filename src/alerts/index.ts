// Public surface of the alerts module: the alerter, its contracts, and the default transports and command runner.
export { createAlerter } from './alerter';
export { spawnHookRunner } from './commands';
export { composeMail, fallbackLine, realLine, virtualText, type AlertEvent, type AlertKind } from './message';
export { nodemailerTransports, parseSmtp, transportLabel, transportSettings, type SmtpTimeouts } from './transports';
export type * from './types';
export type { RecipientRefusal, SendReport } from './delivery';
