// npm run bench: every benchmark of the product, in one run, against servers on 127.0.0.1.
import { join } from 'node:path';
import { relaunchTrustingCa } from '../src/install/embedded.js';
import { defaultStateDir } from '../src/install/state.js';
import { benchEvents, nothingLost, renderEventsBench } from './bench/events.js';
import { benchFairness, fairnessTargets, renderFairnessBench } from './bench/fairness.js';
import { benchCli, benchFleet, cliTargets, renderCliBench, renderFleetBench } from './bench/fleet.js';
import { benchInstall, installTargets, renderInstallBench } from './bench/install.js';

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
// A missed target fails the run, so a script or CI step sees it.
if ([...installTargets(install), ...cliTargets(cli), ...fairness.flatMap(fairnessTargets)].some((t) => !t.ok) || !nothingLost(events)) process.exitCode = 1;
