// `npm run bench -- --cpu-prof DIR` preloads this into Part A's plugin child (NODE_OPTIONS=--require):
// a CPU profile of the plugin from the bench's SIGUSR2 (the start of the warm-up) to its exit,
// written as DIR/plugin-PID.cpuprofile (open it in Chrome DevTools, or read its top frames).
// --cpu-prof itself is refused in NODE_OPTIONS, and would cover the ramp, not the measured load.
'use strict';
const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const inspector = require('node:inspector');
  const fs = require('node:fs');
  const path = require('node:path');
  const session = new inspector.Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    if (started) return;
    started = true;
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 1000 });
    session.post('Profiler.start');
  });
  process.on('exit', () => {
    if (!started) return;
    // A same-thread inspector session answers synchronously, so this writes before the exit.
    session.post('Profiler.stop', (err, r) => {
      if (!err) fs.writeFileSync(path.join(dir, `plugin-${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  });
}
