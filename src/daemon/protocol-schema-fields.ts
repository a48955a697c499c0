// Field validators several parts of the control protocol share.
import { int, literal, str } from './validate';

/** A TCP/UDP/SCTP port: 0..65535. */
export const PORT = int({ min: 0, max: 65535 });
/** A weight (configured, kernel or runtime): an integer >= 0. */
export const WEIGHT = int({ min: 0 });
/** The name of an IPVS connection timeout (as `ipvsadm --set` orders them). */
export const TIMEOUT_NAME = literal('tcp', 'tcpfin', 'udp');
/** Free text of a message: at most 64 KiB. */
export const TEXT = str({ max: 65536 });
