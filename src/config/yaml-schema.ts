// Shape of the YAML form: which directives are lists, how a real server mapping is written.
import type { ForwardMethod, TunnelFlags } from '../model';

/** Top-level key holding the list of virtual services. */
export const VIRTUALS_KEY = 'virtuals';

/** Directives that may be given several times: a YAML list gives one directive per item. */
export const REPEATABLE = new Set(['real', 'real6', 'execute', 'ipvssysctl', 'include']);

/** Directives whose items are `NAME=VALUE`: a YAML mapping `{NAME: VALUE}` gives one directive per key. */
export const NAME_VALUE_MAPPINGS = new Set(['ipvssysctl']);

/** Directives whose value is a comma list in ldirectord.cf: a YAML list is joined with commas. */
export const COMMA_LISTS = new Set(['emailalert', 'emailalertstatus', 'httpstatus']);

/** Directives whose cf value may be double-quoted or bare (the quotes are taken off when present). */
export const OPTIONALLY_QUOTED = new Set([
  'checkcommand',
  'fallbackcommand',
  'monitorfile',
  'alertcommand',
  'smtplogin',
  'smtppasswd',
  'quorumupcommand',
  'quorumdowncommand',
  'ipvstimeouts',
  'receivenot',
  'tlscafile',
  'include',
]);

/** Directives ldirectord requires in double quotes in ldirectord.cf. */
export const QUOTED = new Set([
  'request',
  'receive',
  'login',
  'passwd',
  'database',
  'secret',
  'load',
  'callback',
  'logfile',
]);

/** Keys of a real server written as a YAML mapping. */
export interface YamlRealMapping {
  host: string;
  /** Last address of a range. */
  to?: string;
  port?: number | string;
  forward: ForwardMethod;
  weight?: number;
  request?: string;
  receive?: string;
  lower?: number;
  upper?: number;
  /** This real's GUE port, overriding the virtual's `tunnelport`. */
  tunnelport?: number;
  /** This real's tunnel checksums, overriding the virtual's `tunnelflags`. */
  tunnelflags?: TunnelFlags;
}

/** Every key allowed in a real server mapping. */
export const REAL_MAPPING_KEYS = [
  'host',
  'to',
  'port',
  'forward',
  'weight',
  'request',
  'receive',
  'lower',
  'upper',
  'tunnelport',
  'tunnelflags',
] as const;
