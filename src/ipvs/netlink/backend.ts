// IpvsBackend over generic netlink: batched writes with a bounded window, dumps for reads.
import { ErrorCodes, LdirError } from '../../errors';
import type {
  IpvsBackend,
  IpvsInfo,
  ListOptions,
  IpvsOp,
  IpvsOpResult,
  IpvsSyncDaemon,
  IpvsTimeouts,
  ObservedService,
  ServiceKey,
} from '../types';
import type { Attr } from './attributes';
import { IPVS_CMD, IPVS_GENL_NAME, IPVS_GENL_VERSION, NLM_F } from './constants';
import { resolveFamily } from './family';
import {
  daemonAttrs,
  daemonStateAttrs,
  decodeDaemon,
  decodeDestination,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  destinationIdentityAttrs,
  destinationSpecAttrs,
  observedService,
  serviceIdentityAttrs,
  serviceSpecAttrs,
  timeoutAttrs,
  withDestination,
  withService,
} from './ipvs-codec';
import { collect, encodeGenl, type GenlReply } from './message';
import type { NetlinkTransport } from './transport';
import { opResult } from '../op-result';

/** Default number of requests sent per batch (each ACK needs receive-buffer space). */
export const DEFAULT_WINDOW = 100;

/** Options of {@link NetlinkBackend.open}. */
export interface NetlinkBackendOptions {
  /** Requests per batch, at most 1000. */
  readonly window?: number;
  readonly timeoutMs?: number;
}

/** Encodes one operation as its IPVS command and attributes. */
export function opMessage(op: IpvsOp): { cmd: number; attrs: Attr[] } {
  switch (op.op) {
    case 'add-service':
      return { cmd: IPVS_CMD.NEW_SERVICE, attrs: withService(serviceSpecAttrs(op.service)) };
    case 'edit-service':
      return { cmd: IPVS_CMD.SET_SERVICE, attrs: withService(serviceSpecAttrs(op.service)) };
    case 'delete-service':
      return { cmd: IPVS_CMD.DEL_SERVICE, attrs: withService(serviceIdentityAttrs(op.service)) };
    case 'add-destination':
      return {
        cmd: IPVS_CMD.NEW_DEST,
        attrs: withDestination(serviceIdentityAttrs(op.service), destinationSpecAttrs(op.destination)),
      };
    case 'edit-destination':
      return {
        cmd: IPVS_CMD.SET_DEST,
        attrs: withDestination(serviceIdentityAttrs(op.service), destinationSpecAttrs(op.destination)),
      };
    case 'delete-destination':
      return {
        cmd: IPVS_CMD.DEL_DEST,
        attrs: withDestination(serviceIdentityAttrs(op.service), destinationIdentityAttrs(op.destination)),
      };
  }
}

/** The netlink backend. */
export class NetlinkBackend implements IpvsBackend {
  readonly kind = 'netlink' as const;
  private seq = 1;

  private constructor(
    private readonly transport: NetlinkTransport,
    private readonly family: number,
    private readonly window: number,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves the IPVS family on `transport` (throws IPVS_UNAVAILABLE when the kernel has no IPVS). */
  static async open(transport: NetlinkTransport, options: NetlinkBackendOptions = {}): Promise<NetlinkBackend> {
    const family = await resolveFamily(transport, IPVS_GENL_NAME, 1);
    const window = Math.min(Math.max(1, options.window ?? DEFAULT_WINDOW), 1000);
    return new NetlinkBackend(transport, family, window, options.timeoutMs ?? 10_000);
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  private message(cmd: number, attrs: readonly Attr[], flags: number, seq: number): Buffer {
    return encodeGenl({ family: this.family, cmd, version: IPVS_GENL_VERSION, flags, seq, attrs });
  }

  /** One request that must succeed; returns its data replies. */
  private async request(cmd: number, attrs: readonly Attr[] = []): Promise<GenlReply[]> {
    const seq = this.nextSeq();
    const tx = collect(
      await this.transport.transact([this.message(cmd, attrs, NLM_F.REQUEST | NLM_F.ACK, seq)], {
        seqs: [seq],
        timeoutMs: this.timeoutMs,
      }),
    );
    const ack = tx.acks.get(seq);
    if (ack?.errno !== undefined) {
      throw new LdirError(
        ErrorCodes.IPVS_REQUEST_FAILED,
        `IPVS command ${cmd} failed: ${ack.errno}${ack.extMessage ? ` (${ack.extMessage})` : ''}`,
        { details: { errno: ack.errno } },
      );
    }
    return tx.data.get(seq) ?? [];
  }

  /** One dump; its replies. */
  private async dump(cmd: number, attrs: readonly Attr[] = []): Promise<GenlReply[]> {
    const seq = this.nextSeq();
    const tx = collect(
      await this.transport.transact([this.message(cmd, attrs, NLM_F.REQUEST | NLM_F.DUMP, seq)], {
        seqs: [],
        dumpSeqs: [seq],
        timeoutMs: this.timeoutMs,
      }),
    );
    const ack = tx.acks.get(seq);
    if (ack?.errno !== undefined) {
      throw new LdirError(ErrorCodes.IPVS_REQUEST_FAILED, `IPVS dump ${cmd} failed: ${ack.errno}`, {
        details: { errno: ack.errno },
      });
    }
    return tx.data.get(seq) ?? [];
  }

  async list(options: ListOptions = {}): Promise<readonly ObservedService[]> {
    const stats = options.stats ?? true;
    const services = (await this.dump(IPVS_CMD.GET_SERVICE)).map((r) => decodeService(r.attrs, stats));
    const out: ObservedService[] = [];
    for (const svc of services) {
      const dests = await this.dump(IPVS_CMD.GET_DEST, withService(serviceIdentityAttrs(svc.service)));
      out.push(
        observedService(
          svc,
          dests.map((r) => decodeDestination(r.attrs, svc.service.family, stats)),
        ),
      );
    }
    return out;
  }

  async apply(ops: readonly IpvsOp[]): Promise<readonly IpvsOpResult[]> {
    const results: IpvsOpResult[] = [];
    for (let start = 0; start < ops.length; start += this.window) {
      const batch = ops.slice(start, start + this.window);
      const seqs = batch.map(() => this.nextSeq());
      const messages = batch.map((op, i) => {
        const m = opMessage(op);
        return this.message(m.cmd, m.attrs, NLM_F.REQUEST | NLM_F.ACK, seqs[i] as number);
      });
      const tx = collect(await this.transport.transact(messages, { seqs, timeoutMs: this.timeoutMs }));
      batch.forEach((op, i) => {
        const ack = tx.acks.get(seqs[i] as number);
        if (!ack) results.push({ status: 'failed', errno: 'ETIMEDOUT', message: 'no answer from the kernel' });
        else results.push(opResult(op, ack.errno, ack.extMessage));
      });
    }
    return results;
  }

  async info(): Promise<IpvsInfo> {
    const [reply] = await this.request(IPVS_CMD.GET_INFO);
    if (!reply) throw new LdirError(ErrorCodes.IPVS_PROTOCOL, 'GET_INFO returned nothing');
    return decodeInfo(reply.attrs);
  }

  async getTimeouts(): Promise<IpvsTimeouts> {
    const [reply] = await this.request(IPVS_CMD.GET_CONFIG);
    if (!reply) throw new LdirError(ErrorCodes.IPVS_PROTOCOL, 'GET_CONFIG returned nothing');
    return decodeTimeouts(reply.attrs);
  }

  async setTimeouts(timeouts: IpvsTimeouts): Promise<void> {
    await this.request(IPVS_CMD.SET_CONFIG, timeoutAttrs(timeouts));
  }

  async zero(service?: ServiceKey): Promise<void> {
    await this.request(IPVS_CMD.ZERO, service ? withService(serviceIdentityAttrs(service)) : []);
  }

  async flush(): Promise<void> {
    await this.request(IPVS_CMD.FLUSH);
  }

  async listSyncDaemons(): Promise<readonly IpvsSyncDaemon[]> {
    return (await this.dump(IPVS_CMD.GET_DAEMON)).map((r) => decodeDaemon(r.attrs));
  }

  async startSyncDaemon(daemon: IpvsSyncDaemon): Promise<void> {
    await this.request(IPVS_CMD.NEW_DAEMON, daemonAttrs(daemon));
  }

  async stopSyncDaemon(state: 'master' | 'backup'): Promise<void> {
    await this.request(IPVS_CMD.DEL_DAEMON, daemonStateAttrs(state));
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
