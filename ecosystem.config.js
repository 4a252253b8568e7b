/**
 * `pm2 start ecosystem.config.js` runs the server (compiled: `npm run build` first). The
 * server's orchestrator then starts one worker per active sender account in the same PM2
 * daemon (PM2_HOME is passed down), named `w-<account email>` in namespace outreach-workers,
 * so `pm2 ls` shows the server and its fleet.
 *
 * Stopping (`pm2 stop` / `pm2 restart`): PM2 7 sends SIGINT (its only stop signal, short of
 * `shutdown_with_message`; there is no per-app signal option), then SIGKILL after
 * kill_timeout. The server takes SIGINT like SIGTERM: it stops taking requests, stops every
 * worker with SIGTERM (each finishes its send in flight and releases its claims; up to
 * orchestrator.workerStopTimeoutMs = 60 s), hands its account leases back, closes its pool and
 * only then stops the embedded Postgres, and exits. kill_timeout leaves room for all of that.
 *
 * treekill: false, so that PM2 signals the server alone. By default PM2 signals the whole
 * process tree, and the embedded Postgres is a child of the server: it would shut down at
 * once, under the draining server ("releasing leases failed … ECONNREFUSED").
 *
 * Raise the open-file limit before starting the daemon for a large fleet (about 12 per
 * worker): `ulimit -n 65536 && pm2 kill && pm2 start ecosystem.config.js`.
 */
module.exports = {
  apps: [
    {
      name: 'outreach-server',
      script: 'dist/src/main.js',
      cwd: __dirname,
      exec_mode: 'fork',
      instances: 1,
      autorestart: true,
      max_restarts: 10,
      min_uptime: 10000,
      restart_delay: 2000,
      treekill: false,
      kill_timeout: 90000,
      max_memory_restart: '1G',
      merge_logs: true,
      env: {
        NODE_ENV: 'production',
      },
    },
  ],
};
