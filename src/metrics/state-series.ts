// Scrape-time series of the configured director from the engine snapshot: per real server and per virtual service.
import { pairKey, type Health } from '../model/health';
import type { EngineSnapshotParts } from '../engine/engine-types';
import type { QuorumState } from '../engine/quorum';
import { setFlag } from './convert';
import type { SeriesFactory } from './factory';
import type { SliceYielder } from '../system/slice-yielder';

const HEALTH_STATES: readonly Health[] = ['up', 'down', 'unknown'];
const QUORUM_STATES: readonly QuorumState[] = ['up', 'down', 'pending'];

/**
 * Health, weights and per-virtual counts, rebuilt from the snapshot at every scrape: a real or virtual that left the
 * configuration simply is not written again. Leftovers being drained after a reload are not configured and are
 * left out (their kernel entries still show in the `ldir_ipvs_*` series).
 */
export class StateSeries {
  private readonly up;
  private readonly health;
  private readonly configuredWeight;
  private readonly kernelWeight;
  private readonly slowStartTarget;
  private readonly reportedWeight;
  private readonly weightOverride;
  private readonly realsUp;
  private readonly reals;
  private readonly fallbackActive;
  private readonly quorumState;
  private readonly quorum;

  constructor(series: SeriesFactory) {
    const pair = ['virtual', 'real'] as const;
    this.up = series.rowGauge(
      'ldir_real_server_up',
      'Whether the checks see a real server of a virtual service as up (1) or not (0).',
      pair,
    );
    this.health = series.rowGauge(
      'ldir_real_server_health',
      'Health of a real server of a virtual service as the checks see it: 1 for the current state, 0 for the others.',
      ['virtual', 'real', 'state'],
    );
    this.configuredWeight = series.rowGauge(
      'ldir_real_server_configured_weight',
      'Weight of a real server in the configuration.',
      pair,
    );
    this.slowStartTarget = series.rowGauge(
      'ldir_real_server_slow_start_target_weight',
      'Weight a real server ramps to while its slow start is in progress (ldir_real_server_kernel_weight is the step); absent otherwise.',
      pair,
    );
    this.reportedWeight = series.rowGauge(
      'ldir_real_server_reported_weight',
      'Weight a real server reports through its check (weightheader, external weight=N), within minweight..maxweight; absent when none applies.',
      pair,
    );
    this.kernelWeight = series.rowGauge(
      'ldir_real_server_kernel_weight',
      'Weight of a real server in the kernel table at the last dump; absent when it has no kernel entry.',
      pair,
    );
    this.weightOverride = series.rowGauge(
      'ldir_real_server_weight_override',
      'Runtime weight of a real server set by ldir weight (its weight while up, instead of the configured one); absent when it has none.',
      pair,
    );
    this.realsUp = series.gauge(
      'ldir_virtual_real_servers_up',
      'Real servers of a virtual service that are up and not drained by hand.',
      ['virtual'],
    );
    this.reals = series.gauge('ldir_virtual_real_servers', 'Real servers configured for a virtual service.', [
      'virtual',
    ]);
    this.fallbackActive = series.gauge(
      'ldir_virtual_fallback_active',
      'Whether a virtual service is in fallback mode (below its quorum: by default no real server up) (1) or not (0).',
      ['virtual'],
    );
    this.quorumState = series.gauge(
      'ldir_virtual_quorum_state',
      'Quorum of a virtual service: 1 for the current state (up, down, pending), 0 for the others.',
      ['virtual', 'state'],
    );
    this.quorum = series.gauge(
      'ldir_virtual_quorum_real_servers',
      'Serving real servers a virtual service needs (quorum; 1 when not configured).',
      ['virtual'],
    );
  }

  /**
   * Rewrites every series from `snapshot`; returns the configured (virtual, real) pairs, for pruning event series.
   * With a `yielder`, gives the event loop a turn between slices of reals (a big table: issue 21).
   */
  async refresh(snapshot: EngineSnapshotParts | undefined, yielder?: SliceYielder): Promise<Set<string>> {
    const perReal = [
      this.up,
      this.health,
      this.configuredWeight,
      this.kernelWeight,
      this.slowStartTarget,
      this.reportedWeight,
      this.weightOverride,
    ];
    for (const g of perReal) g.rewrite();
    for (const g of [this.realsUp, this.reals, this.fallbackActive, this.quorumState, this.quorum]) g.reset();
    const pairs = new Set<string>();
    if (snapshot) await this.write(snapshot, pairs, yielder);
    for (const g of perReal) await g.dropStale(yielder);
    return pairs;
  }

  private async write(snapshot: EngineSnapshotParts, pairs: Set<string>, yielder?: SliceYielder): Promise<void> {
    for (const v of snapshot.virtuals) {
      if (v.draining) continue;
      const virtual = v.id;
      this.realsUp.set({ virtual }, v.realsUp);
      this.reals.set({ virtual }, v.realsTotal);
      setFlag(this.fallbackActive, { virtual }, v.fallbackActive);
      for (const state of QUORUM_STATES) setFlag(this.quorumState, { virtual, state }, v.quorum.state === state);
      this.quorum.set({ virtual }, v.quorum.quorum);
      for (const r of v.reals) {
        if (r.draining) continue;
        const labels = { virtual, real: r.realKey };
        pairs.add(pairKey(virtual, r.realKey));
        setFlag(this.up, labels, r.health === 'up');
        for (const state of HEALTH_STATES) setFlag(this.health, { ...labels, state }, r.health === state);
        this.configuredWeight.set(labels, r.configuredWeight);
        if (r.kernelWeight !== null) this.kernelWeight.set(labels, r.kernelWeight);
        if (r.rampTo != null) this.slowStartTarget.set(labels, r.rampTo);
        if (r.checkWeight != null) this.reportedWeight.set(labels, r.checkWeight);
        if (r.weightOverride !== null) this.weightOverride.set(labels, r.weightOverride);
        const pause = yielder?.maybeYield();
        if (pause) await pause;
      }
    }
  }
}
