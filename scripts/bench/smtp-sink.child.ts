/**
 * The sink of the pipeline comparison as a process of its own, so its CPU is counted apart
 * from the bench's and it competes for the cores as a real receiving server would. Driven
 * over IPC by scripts/bench/pipeline.bench.ts:
 *
 *   → {type:'round', expected}   forget the last round; report marks for `expected` messages
 *   ← {type:'ready', port}       listening (once, at start)
 *   ← {type:'mark', at:'from'|'to'|'done', count}
 *                                 the message that opens the steady window (5th percentile),
 *                                 the one that closes it (95th), the last expected one
 *   → {type:'report'}  ← {type:'report', timesMs, idle}   (idle: ConnectionIdle, smtp-sink.ts)
 *
 * It exits when the parent disconnects.
 */
import { startSink } from './smtp-sink';

type Command = { type: 'round'; expected: number } | { type: 'report' };

async function main(): Promise<void> {
  const sink = await startSink();
  let marks = new Map<number, 'from' | 'to' | 'done'>();
  sink.onReceive((count) => {
    const at = marks.get(count);
    if (at) process.send?.({ type: 'mark', at, count });
  });
  process.on('message', (command: Command) => {
    if (command.type === 'round') {
      sink.reset();
      // Same indices as steadyRate(): sorted[floor(n·0.05)] and sorted[floor(n·0.95)].
      marks = new Map([
        [Math.floor(command.expected * 0.05) + 1, 'from'],
        [Math.floor(command.expected * 0.95) + 1, 'to'],
        [command.expected, 'done'],
      ]);
    } else if (command.type === 'report') {
      process.send?.({ type: 'report', timesMs: sink.receiveTimesMs(), idle: sink.connectionIdle() });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port: sink.port });
}

main().catch((error: unknown) => {
  process.stderr.write(`smtp-sink: ${(error as Error).message}\n`);
  process.exit(1);
});
