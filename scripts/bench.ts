// npm run bench: every benchmark of the product, in one run, against servers on 127.0.0.1.
// `npm run bench -- processes fairness` runs only the sections named (install, fleet, cli, events, fairness, service,
// processes).
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

const SECTIONS = ['install', 'fleet', 'cli', 'events', 'fairness', 'service', 'processes'] as const;
const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !(SECTIONS as readonly string[]).includes(a));
if (unknown.length) {
  console.error(`unknown bench section ${unknown.join(', ')}: the sections are ${SECTIONS.join(', ')}`);
  process.exit(2);
}
const wanted = (section: (typeof SECTIONS)[number]) => asked.length === 0 || asked.includes(section);

const targets: { ok: boolean }[] = [];
if (wanted('install')) {
  const install = await benchInstall({ certDir });
  console.log(renderInstallBench(install));
  console.log('');
  targets.push(...installTargets(install));
}
if (wanted('fleet')) {
  console.log(renderFleetBench(await benchFleet({ certDir })));
  console.log('');
}
if (wanted('cli')) {
  const cli = await benchCli({ certDir });
  console.log(renderCliBench(cli));
  console.log('');
  targets.push(...cliTargets(cli));
}
if (wanted('events')) {
  const events = await benchEvents();
  console.log(renderEventsBench(events));
  console.log('');
  targets.push({ ok: nothingLost(events) });
}
if (wanted('fairness')) {
  // The default worker (several portals at once), and one portal at a time: round-robin alone.
  const fairness = [await benchFairness({ certDir }), await benchFairness({ certDir, concurrency: 1 })];
  console.log(renderFairnessBench(fairness));
  console.log('');
  targets.push(...fairness.flatMap(fairnessTargets));
}
if (wanted('service')) {
  // The service at the portals' REST budgets: batched runs one after another (they are measured in seconds, so they
  // get the machine to themselves); the unbatched ones, which wait minutes on the budgets and not on the machine,
  // together. BENCH_UNBATCHED=0 skips those (about 13 minutes).
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
      targets.push({ ok: false });
    }
  }
  console.log(renderServiceBench(service));
  console.log('');
  targets.push(...serviceTargets(service));
}
if (wanted('processes')) {
  // Several service processes on PostgreSQL (its server started for the run, as the tests start theirs).
  const processes = await benchProcesses({ certDir });
  console.log(renderProcessesBench(processes));
  targets.push(...processesTargets(processes));
}
// A missed target fails the run, so a script or CI step sees it.
if (targets.some((t) => !t.ok)) process.exitCode = 1;
