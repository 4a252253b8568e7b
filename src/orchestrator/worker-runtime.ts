/**
 * How every send worker process is run, by the orchestrator (through PM2) and by the benches
 * that measure it, so what is measured is what is deployed. Each setting trades nothing a
 * worker needs for memory that 1,200 of them would otherwise hold. (Forcing full GCs when a
 * worker goes idle, tried with --expose-gc, saved nothing once V8's memory reducer had run a
 * few seconds later, and cost each start ~90 ms of CPU.)
 *
 * - `--max-semi-space-size=4`: V8's young generation grows to 2 × 16 MB under allocation
 *   bursts and keeps the pages. 4 MB is the trade measured: 1 MB saved 0.1 MB per idle worker
 *   (fleet of 1,200: 11.83 vs 11.96 GB) but a sending worker then spent a fifth of its CPU in
 *   GC (pipeline mean ~1,490 vs ~1,740 emails/s).
 * - `--no-compilation-cache`: the entry compiles the worker bundle as a vm.Script (to use and
 *   write V8's code cache, workers/send-worker.ts), and V8's in-process compilation cache would
 *   keep that script's compiled functions alive (measured: +2.3 MB per idle worker). A worker
 *   compiles nothing else that the cache would help with.
 * - `MALLOC_TRIM_THRESHOLD_`: glibc keeps freed heap (most of it from compiling the code at
 *   start) unless the free top exceeds 128 KB; a lower threshold hands it back to the kernel.
 * - `MALLOC_ARENA_MAX=1`: glibc gives each thread that allocates (V8's helper threads, libuv's
 *   pool) an arena of its own, and keeps their pages; one arena for all is enough for a
 *   process that does its work on one thread (measured: −0.37 MB private memory per idle
 *   worker; 2 arenas saved nothing).
 */
export const WORKER_NODE_ARGS: readonly string[] = ['--max-semi-space-size=4', '--no-compilation-cache'];

export const WORKER_RUNTIME_ENV: Readonly<Record<string, string>> = { MALLOC_TRIM_THRESHOLD_: '65536', MALLOC_ARENA_MAX: '1' };
