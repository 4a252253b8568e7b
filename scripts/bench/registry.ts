/** Every benchmark `npm run bench` runs, in order. Add a module here to add figures. */
import * as bouncePause from './bounce-pause.bench';
import * as consoleFleet from './console-fleet.bench';
import * as csvImport from './csv-import.bench';
import * as fleet from './fleet.bench';
import * as history from './history.bench';
import * as inboundClassify from './inbound-classify.bench';
import * as inboundPoll from './inbound-poll.bench';
import * as metricsScrape from './metrics-scrape.bench';
import * as pacedFleet from './paced-fleet.bench';
import * as pipeline from './pipeline.bench';
import * as pixel from './pixel.bench';
import * as workerKill from './worker-kill.bench';
import * as workerMemory from './worker-memory.bench';

export interface BenchContext {
  /** --workers N, for benchmarks that size a fleet (or the worker processes of the pipeline). */
  workers?: number;
  /** --rounds N: interleaved rounds of the pipeline comparison. */
  rounds?: number;
  /** --emails N: emails per round of the pipeline comparison. */
  emails?: number;
  log(line: string): void;
}

export interface Benchmark {
  name: string;
  run(context: BenchContext): Promise<Record<string, number>>;
}

export const benchmarks: Benchmark[] = [csvImport, pixel, pipeline, workerKill, workerMemory, fleet, inboundClassify, inboundPoll, metricsScrape, bouncePause, consoleFleet, pacedFleet, history];
