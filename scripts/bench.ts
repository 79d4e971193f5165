// npm run bench: every benchmark of the product, in one run, against servers on 127.0.0.1.
import { join } from 'node:path';
import { relaunchTrustingCa } from '../src/install/embedded.js';
import { defaultStateDir } from '../src/install/state.js';
import { benchEvents, nothingLost, renderEventsBench } from './bench/events.js';
import { benchFairness, fairnessTargets, renderFairnessBench } from './bench/fairness.js';
import { benchCli, benchFleet, cliTargets, renderCliBench, renderFleetBench } from './bench/fleet.js';
import { benchInstall, installTargets, renderInstallBench } from './bench/install.js';
import { benchProcesses, processesTargets, renderProcessesBench } from './bench/processes.js';
import { benchService, renderServiceBench, serviceTargets, type ServiceBenchResult } from './bench/service.js';

// The emulator's CA must be trusted from process start: the first run makes it and relaunches itself.
const certDir = join(defaultStateDir(), 'bench-ca');
const code = await relaunchTrustingCa(certDir);
if (code !== undefined) process.exit(code);

const install = await benchInstall({ certDir });
console.log(renderInstallBench(install));
console.log('');
const fleet = await benchFleet({ certDir });
console.log(renderFleetBench(fleet));
console.log('');
const cli = await benchCli({ certDir });
console.log(renderCliBench(cli));
console.log('');
const events = await benchEvents();
console.log(renderEventsBench(events));
console.log('');
// The default worker (several portals at once), and one portal at a time: round-robin alone.
const fairness = [await benchFairness({ certDir }), await benchFairness({ certDir, concurrency: 1 })];
console.log(renderFairnessBench(fairness));
console.log('');
// The service at the portals' REST budgets: batched runs one after another (they are measured in seconds, so they get
// the machine to themselves); the unbatched ones, which wait minutes on the budgets and not on the machine, together.
// BENCH_UNBATCHED=0 skips those (about 13 minutes).
const service: ServiceBenchResult[] = [];
for (const [scenario, portals, sweepSeconds] of [['deals', 1, 0], ['deals', 1, 60], ['leads+stages', 1, 0], ['deals', 3, 0], ['leads+stages', 3, 0]] as const) {
  service.push(await benchService({ certDir, scenario, portals, batching: true, sweepSeconds }));
}
if (process.env.BENCH_UNBATCHED !== '0') {
  console.log('(the service with batching off next: four runs at once, about 13 minutes)');
  const unbatched = [['deals', 1], ['leads+stages', 1], ['deals', 3], ['leads+stages', 3]] as const;
  try {
    service.push(...await Promise.all(unbatched.map(([scenario, portals]) => benchService({ certDir, scenario, portals, batching: false }))));
  } catch (error) {
    // The batched figures are still worth printing.
    console.log(`the runs with batching off failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
console.log(renderServiceBench(service));
console.log('');
// Several service processes on PostgreSQL (its server started for the run, as the tests start theirs).
const processes = await benchProcesses({ certDir });
console.log(renderProcessesBench(processes));
// A missed target fails the run, so a script or CI step sees it.
const targets = [...installTargets(install), ...cliTargets(cli), ...fairness.flatMap(fairnessTargets), ...serviceTargets(service), ...processesTargets(processes)];
if (targets.some((t) => !t.ok) || !nothingLost(events)) {
  process.exitCode = 1;
}
