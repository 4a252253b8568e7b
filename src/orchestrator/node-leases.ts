/**
 * This node's heartbeat and account leases.
 *
 * Every tick (a third of the lease period): beat, renew the leases held, then even out —
 * take unowned or expired leases up to a fair share (ceil(accounts / live nodes)), or give
 * back the excess (after its workers stopped) when more nodes are alive.
 *
 * Safety: each held lease has a local deadline = (time the renewal was sent) + lease. The
 * database expiry is never earlier, so when renewals fail (database unreachable) this node
 * stops the account's worker by its local deadline (a timer of its own), before any other node can take the
 * lease. An account is therefore never driven by two nodes for longer than the time its
 * worker takes to stop. Ticks go on through an outage; once the database answers again, the
 * leases no other node took are renewed and their accounts reconciled (onAcquired).
 */
import os from 'node:os';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { acquireLeases, countLeasableAccounts, releaseLeases, renewLeases, type AcquiredLease } from './account-lease.repository';
import { beatNode, deleteNode, listLiveNodes } from './node.repository';

export interface NodeLeaseHooks {
  /** Leases lost (not renewed in time, or taken): stop these accounts' workers now. */
  onLost(accountIds: string[]): Promise<void>;
  onAcquired(leases: AcquiredLease[]): Promise<void>;
  /** Pick up to `count` accounts to give away and stop their workers; returns the ids. */
  shed(count: number): Promise<string[]>;
}

export class NodeLeases {
  private readonly deadlines = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Fires at the earliest local deadline, whatever the database calls of a tick are doing. */
  private expiryTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  readonly hostname = os.hostname();

  constructor(
    private readonly db: Db,
    private readonly nodeId: string,
    private readonly leaseMs: number,
    private readonly hooks: NodeLeaseHooks,
    private readonly logger: Logger,
  ) {}

  get tickIntervalMs(): number {
    return Math.max(100, Math.floor(this.leaseMs / 3));
  }

  async start(): Promise<void> {
    // Two machines with one node id would renew the same leases and both drive the same
    // accounts: refuse to join while a live node of another host has this id (a copied DATA_DIR).
    const holder = (await listLiveNodes(this.db, this.leaseMs)).find((n) => n.id === this.nodeId);
    if (holder && holder.hostname !== this.hostname) {
      throw new Error(
        `node id "${this.nodeId}" is in use by a live node on host ${holder.hostname} (pid ${holder.pid}); every node needs its own: delete this node's DATA_DIR/node-id (a copy of the other node's) or set NODE_ID`,
      );
    }
    await beatNode(this.db, { id: this.nodeId, hostname: this.hostname, pid: process.pid }, true);
    await this.tick();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.tick().finally(() => this.schedule());
    }, this.tickIntervalMs);
  }

  isOwned(accountId: string, nowMs = Date.now()): boolean {
    const deadline = this.deadlines.get(accountId);
    return deadline !== undefined && deadline > nowMs;
  }

  ownedIds(nowMs = Date.now()): string[] {
    return [...this.deadlines].filter(([, deadline]) => deadline > nowMs).map(([id]) => id);
  }

  /** One round; concurrent calls share the round in progress. */
  tick(): Promise<void> {
    this.ticking ??= this.runTick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    const sentAt = Date.now();
    try {
      await beatNode(this.db, { id: this.nodeId, hostname: this.hostname, pid: process.pid });
      const renewed = new Set(await renewLeases(this.db, this.nodeId, this.leaseMs));
      const lost = [...this.deadlines.keys()].filter((id) => !renewed.has(id));
      // Still ours in the database though we stopped driving them (their local deadline passed
      // while the database was unreachable, or held by this node's previous run): no other
      // node took them, so they are ours again and want a reconcile to get their workers back.
      const regained = [...renewed].filter((id) => !this.deadlines.has(id));
      for (const id of lost) this.deadlines.delete(id);
      for (const id of renewed) this.deadlines.set(id, sentAt + this.leaseMs);
      if (lost.length > 0) {
        this.logger.warn('account leases lost to another node', { accounts: lost.length });
        await this.hooks.onLost(lost);
      }
      if (regained.length > 0 && !this.stopped) {
        this.logger.info('account leases held again', { accounts: regained.length });
        await this.hooks.onAcquired(regained.map((accountId) => ({ accountId, previousNodeId: null })));
      }
      if (this.stopped) return;

      const liveNodes = Math.max(1, (await listLiveNodes(this.db, this.leaseMs)).length);
      const share = Math.ceil((await countLeasableAccounts(this.db)) / liveNodes);
      const held = this.deadlines.size;
      if (held < share) {
        const acquired = await acquireLeases(this.db, this.nodeId, this.leaseMs, share - held);
        for (const lease of acquired) this.deadlines.set(lease.accountId, sentAt + this.leaseMs);
        if (acquired.length > 0) {
          this.logger.info('account leases acquired', { accounts: acquired.length, share, liveNodes });
          await this.hooks.onAcquired(acquired);
        }
      } else if (held > share) {
        const shed = await this.hooks.shed(held - share);
        for (const id of shed) this.deadlines.delete(id);
        await releaseLeases(this.db, this.nodeId, shed);
        if (shed.length > 0) this.logger.info('account leases handed back to even out', { accounts: shed.length, share, liveNodes });
      }
    } catch (error) {
      this.logger.error('lease renewal failed', { error: (error as Error).message });
    } finally {
      await this.expireLocally();
      this.armExpiry();
    }
  }

  /**
   * The deadlines are kept by a timer of their own: a tick whose database calls hang (an
   * unreachable host waits for the connect timeout) must not delay stopping a worker past its
   * lease.
   */
  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.stopped || this.deadlines.size === 0) return;
    const nextMs = Math.min(...this.deadlines.values());
    this.expiryTimer = setTimeout(
      () => void this.expireLocally().finally(() => this.armExpiry()),
      Math.max(0, nextMs - Date.now()),
    );
  }

  /** Leases whose local deadline passed without renewal: stop driving them. Never throws. */
  private async expireLocally(): Promise<void> {
    const now = Date.now();
    const expired = [...this.deadlines].filter(([, deadline]) => deadline <= now).map(([id]) => id);
    if (expired.length === 0) return;
    for (const id of expired) this.deadlines.delete(id);
    this.logger.warn('account leases expired without renewal; stopping their workers', { accounts: expired.length });
    await this.hooks.onLost(expired).catch((error: unknown) => this.logger.error('stopping the workers of expired leases failed', { error: (error as Error).message }));
  }

  /** Stops ticking. With `release`, hands every lease back and removes the node row. */
  async stop(release: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.expiryTimer);
    await this.ticking?.catch(() => undefined);
    if (!release) return;
    this.deadlines.clear();
    await releaseLeases(this.db, this.nodeId);
    await deleteNode(this.db, this.nodeId);
  }
}
