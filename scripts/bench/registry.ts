/** Every benchmark `npm run bench` runs, in order. Add a module here to add figures. */
import * as csvImport from './csv-import.bench';
import * as fleet from './fleet.bench';
import * as pipeline from './pipeline.bench';
import * as pixel from './pixel.bench';
import * as workerMemory from './worker-memory.bench';

export interface BenchContext {
  /** --workers N, for benchmarks that size a fleet. */
  workers?: number;
  log(line: string): void;
}

export interface Benchmark {
  name: string;
  run(context: BenchContext): Promise<Record<string, number>>;
}

export const benchmarks: Benchmark[] = [csvImport, pixel, pipeline, workerMemory, fleet];
