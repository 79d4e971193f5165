// English messages. The Russian catalogue (ru.ts) has the same keys and the same parameters: the compiler checks it
// against this one's type, and test/i18n/catalogue.test.ts checks that every text is filled in.
import type { Lang } from './lang.js';
import { plural } from './plural.js';

type Action = 'create' | 'update' | 'delete' | 'keep' | 'skip';
type Entity = 'lead' | 'deal' | 'contact' | 'company';
type Noun = 'status' | 'stage';
type Items = 'leads' | 'deals';
type LabelKind = 'EDIT_FORM_LABEL' | 'LIST_COLUMN_LABEL' | 'LIST_FILTER_LABEL';

const n = (count: number, one: string, other: string) => plural('en', count, { one: `# ${one}`, other: `# ${other}` });
const q = (s: string) => `"${s}"`;
const items = (count: number, what: Items) => (what === 'leads' ? n(count, 'lead', 'leads') : n(count, 'deal', 'deals'));
const semantics: Record<string, string> = { process: 'in-progress', success: 'success', failure: 'failure' };

export const en = {
  quote: q,
  or: ' or ',
  languageName: { ru: 'Russian', en: 'English' } as Record<Lang, string>,

  title: {
    pipeline: (name: string) => `pipeline ${q(name)}`,
    portalPipeline: (name: string, id: number) => `pipeline ${q(name)} (id ${id})`,
    status: (code: string, name: string) => `status ${code} ${q(name)}`,
    stage: (code: string, name: string) => `stage ${code} ${q(name)}`,
    stageCode: (code: string) => `stage ${code}`,
    field: (entity: Entity, code: string, label?: string) => `${entity} field ${code}${label ? ` ${q(label)}` : ''}`,
    card: (entity: Entity, pipeline?: string) => (pipeline ? `${entity} card of ${q(pipeline)}` : `${entity} card`),
    robot: (code: string, name: string) => `robot ${code} ${q(name)}`,
    trigger: (code: string, name: string) => `trigger ${code} ${q(name)}`,
    event: (event: string) => `event ${event} → the automation service`,
    eventAt: (event: string, handler: string) => `event ${event} → ${handler}`,
    businessProcess: (name: string) => `business process ${q(name)}`,
  },

  detail: {
    none: '(none)',
    multiple: '(multiple)',
    sort: (sort: number) => `sort ${sort}`,
    nameChange: (from: string, to: string) => `name ${q(from)} → ${q(to)}`,
    sortChange: (from: number, to: number) => `sort ${from} → ${to}`,
    colourChange: (from: string, to: string) => `colour ${from} → ${to}`,
    rowsChange: (from: number, to: number) => `rows ${from} → ${to}`,
    labelChange: (kind: LabelKind, lang: Lang, from: string, to: string) =>
      `${{ EDIT_FORM_LABEL: 'form label', LIST_COLUMN_LABEL: 'column label', LIST_FILTER_LABEL: 'filter label' }[kind]} (${lang}) ${q(from)} → ${q(to)}`,
    optionAdded: (value: string) => `adds the option ${q(value)}`,
    optionChange: (from: string, to: string, sort?: number) => `option ${q(from)} → ${q(to)}${sort !== undefined ? ` (sort ${sort})` : ''}`,
    editKept: (change: string) => `changed by a person after Autosalon set it; kept as it is (--keep-edits) instead of: ${change}`,
    pipelineAdopted: 'a pipeline of this name was already on the portal: adopted, not created by Autosalon',
    portalOwn: 'not in the template: the portal\'s own, left as it is',
    newPipelineCard: 'the new pipeline\'s card: the standard sections, then the Autosalon sections',
    pipelineNotInInstall: (code: string) => `the pipeline ${code} is not part of this install`,
    semanticsMismatch: (noun: Noun, current: string, wanted: string, statusId: string) =>
      `on the portal it is ${semantics[current] === 'in-progress' ? 'an' : 'a'} ${semantics[current] ?? current} ${noun}, the template wants ${semantics[wanted] ?? wanted}; `
      + `Bitrix24 cannot change the semantics of an existing ${noun}: rename or remove ${statusId} in the CRM settings, then run again`,
    systemMissing: (noun: Noun, id: string) => `the system ${noun} ${id} is missing on the portal, and Bitrix24 does not let anyone create system ${noun === 'status' ? 'statuses' : 'stages'}`,
    cannotCreateAt: (sort: number, reason: string) => `cannot be created at sort ${sort}: ${reason}`,
    successExists: (noun: Noun) => `the portal already has a success ${noun}`,
    processBeforeSuccess: (noun: Noun, sort: number) => `an in-progress ${noun} must come before the success ${noun} (sort ${sort})`,
    failureAfterSuccess: (noun: Noun, sort: number) => `a failure ${noun} must come after the success ${noun} (sort ${sort})`,
    newStage: (kind: string, sort: number) => `${semantics[kind] ?? kind}, sort ${sort}`,
    supportStageKept: (after: string) => `a support stage (added with add-stage after ${q(after)}): kept where it is`,
    notCounted: (what: Items) => `its ${what} were not counted`,
    holdsItems: (count: number, what: Items) => `not in the template, but it holds ${items(count, what)}: kept (move them and run again to remove it)`,
    systemEntryKept: 'a system entry of the portal: kept',
    unusedDefault: (noun: Noun, what: Items) => `${noun === 'status' ? 'a standard status' : 'a standard stage of the pipeline'} the template does not use, with no ${what}`,
    newPipelineOwnStage: (sort: number) => `one of the stages Bitrix24 gives every new pipeline: renamed, sort ${sort}`,
    newPipelineUnusedDefault: 'a standard stage Bitrix24 gives every new pipeline, which the template does not use',
    newField: (type: string, multiline: boolean) => `${type}${multiline ? ', several lines' : ''}`,
    fieldTypeMismatch: (current: string, wanted: string) =>
      `on the portal it is ${current}, the template wants ${wanted}; Bitrix24 cannot change a field's type: rename or remove the portal's field, then run again`,
    cardNeverConfigured: (sections: string) => `never set up: the standard sections, then ${sections}`,
    cardRemovesSection: (title: string) => `removes the old section ${q(title)}`,
    cardRefreshesSection: (title: string) => `refreshes section ${q(title)}`,
    cardAddsSection: (title: string) => `adds section ${q(title)}`,
    cardNotShown: (answer: string) => `the portal did not show the card: ${answer}`,
    cardNotRead: 'the card was not read',
    needsApp: 'only the installed Autosalon application can set this up: Bitrix24 refuses it to an incoming webhook',
    notOffered: (answer: string) => `the portal does not offer it (${answer}): its plan may lack business processes and automation rules`,
    handler: (url: string) => `handler ${url}`,
    staleHandler: 'an older address of the automation service',
    bpRobotSkipped: (robot: string, why: string) => `it runs the robot ${robot}, which is skipped: ${why}`,
    bpRobotMissing: (robot: string) => `it runs the robot ${robot}, which is not registered`,
    bpNoClientId: 'the application\'s client_id is unknown (B24_APP_CLIENT_ID): the process cannot name its robot',
    bpUploaded: 'uploaded as a .bpt file; started by hand or by the robot',
    bpNewVersion: 'a new version of the .bpt file',
    bpNoGenerator: (code: string) => `no generator for the business process ${q(code)}`,
    publicUrlUnknown: 'the automation service\'s public URL is unknown: pass --public-url or set AUTOSALON_PUBLIC_URL',
    publicUrlNotUrl: (url: string) => `the public URL ${q(url)} is not a URL`,
    publicUrlNoDot: (host: string) => `Bitrix24 refuses handler URLs whose host has no dot (${q(host)}): use a public name or an IP address`,
  },

  plan: {
    legend: 'Legend',
    actionWord: { create: 'create', update: 'change', delete: 'delete', keep: 'unchanged', skip: 'skipped' } as Record<Action, string>,
    planLabel: 'Plan',
    tierLine: (tier: string, source: string, language: string) => `Tier ${tier} (${source}); names in ${language}`,
    groupLeads: 'Lead statuses',
    groupPipeline: (name: string, code: string) => `Pipeline ${q(name)} (${code})`,
    groupFields: 'Fields',
    groupCards: 'Cards',
    groupApp: 'Application objects (robots, trigger, events, business process)',
    groupPipelines: 'Pipelines',
    groupPortal: 'The portal\'s own elements, not in the template (kept as they are)',
    onceCreated: 'once Bitrix24 has created the pipeline:',
    unchanged: (count: number) => `${count} unchanged`,
    counts: (create: number, update: number, del: number, keep: number, skip: number, portalKept: number) =>
      `${create} to create, ${update} to update, ${del} to delete, ${keep} unchanged, ${skip} skipped; ${portalKept} of the portal's own elements kept`,
    changes: (create: number, update: number, del: number) => `${create} to create, ${update} to update, ${del} to delete`,
    done: (create: number, update: number, del: number) => `${create} created, ${update} updated, ${del} deleted`,
  },

  tierSource: {
    tier: '--tier',
    plan: (code: string) => `--plan ${code}`,
    planAndTier: (code: string) => `--tier, agreeing with --plan ${code}`,
    appInfo: (code: string) => `the portal's plan ${code}, from app.info`,
    license: (license: string) => `the portal's plan ${license}, from app.info`,
    lastInstall: 'as installed last time',
    lastInstallOther: (code: string, tier: string) => `as installed last time; the portal's plan ${code} now means ${tier}: --tier ${tier} installs that`,
  },

  progress: {
    reading: 'Reading the portal…',
    readingAgain: (round: number) => `Reading the portal again (round ${round})…`,
    resumed: (found: number, creates: number) =>
      `Resuming an interrupted run: ${found} of the ${creates} objects its last batch was creating are on the portal; recorded, not created again.`,
    backup: (count: number, file: string) => `Backup of ${n(count, 'object', 'objects')} before changing them: ${file}`,
    batch: (round: number, batch: number, batches: number, steps: number) => `Round ${round}, batch ${batch}/${batches}: ${n(steps, 'change', 'changes')}…`,
    batchDone: (ok: number, failed: number) => `  ${ok} done${failed ? `, ${failed} failed` : ''}`,
    lost: (batch: number) => `  the answer to batch ${batch} was lost: reading the portal again to see what it did`,
    wait: (seconds: number, reason: string) => `Waiting ${seconds} s: ${reason}`,
    operatingLimit: 'the portal\'s limit on a method\'s working time (OPERATION_TIME_LIMIT) refused some changes; they are sent again after the wait',
    applying: (done: number, total: number, batch: number, batches: number) => `Applying: ${done} of ${total} changes (batch ${batch} of ${batches})`,
    stopping: 'Stopping after the batch in flight, so nothing is half-done… (Ctrl-C again stops at once; the next run finishes it)',
    stoppedAtOnce: 'Stopped at once. The batch in flight is recorded in the journal: run the same command again, it looks up what was done.',
  },

  summary: {
    cancelled: 'Cancelled: nothing was changed.',
    dryRun: (requests: number) => `Dry run: nothing was changed (${n(requests, 'request', 'requests')} to read the portal).`,
    done: (requests: number, rounds: number, doneText: string, unchanged: number) =>
      `Done in ${n(requests, 'request', 'requests')}, ${n(rounds, 'round', 'rounds')}: ${doneText}, ${unchanged} unchanged.`,
    interrupted: (changes: number) =>
      `Interrupted (Ctrl-C): ${n(changes, 'change was', 'changes were')} made and recorded. Nothing is lost: run the same command again to finish.`,
    countsDiffer: (planned: string, done: string) => `The plan said ${planned}; done: ${done}. Why:`,
    notNeeded: (count: number, titles: string) => `${n(count, 'planned change was', 'planned changes were')} not needed when the portal was read again (a new pipeline's stage already as wanted): ${titles}`,
    added: (count: number, titles: string) => `${n(count, 'change was', 'changes were')} found only when the portal was read again: ${titles}`,
    failedPlanned: (count: number) => `${n(count, 'change', 'changes')} failed (below)`,
    notMade: (count: number) => `${n(count, 'change was', 'changes were')} not made: the run was interrupted`,
    andMore: (shown: string, more: number) => `${shown} and ${more} more`,
    resumed: 'An interrupted run was resumed: what it had created was found and recorded.',
    skipped: (count: number) => `${n(count, 'object was', 'objects were')} skipped (listed with the reason in the plan above).`,
    kept: (count: number) => `Kept ${n(count, 'element', 'elements')} of the portal that the template does not know.`,
    failed: (count: number) => `Failed (${count}):`,
    matches: 'The portal now matches the template.',
    doesNotMatch: 'The portal does not match the template yet: see what was skipped or failed above (autosalon verify lists every difference).',
    backup: (file: string) => `Backup: ${file}`,
    state: (dir: string) => `State: ${dir}`,
    roundsExhausted: (count: number, rounds: number) => `still ${n(count, 'change', 'changes')} to make after ${n(rounds, 'round', 'rounds')}: run the same command again`,
    refusedStep: (title: string, code: string, description: string) =>
      `${title}: Bitrix24 refused it${description ? `: ${q(description)}` : ''}${code ? ` (${code})` : ''}`,
  },

  verify: {
    header: (portal: string, tier: string, source: string, language: string, publicUrl?: string) =>
      `${portal}: tier ${tier} (${source}), names in ${language}${publicUrl ? `, automation service ${publicUrl}` : ''}`,
    ok: 'OK: the portal matches the template.',
    drift: (count: number) => `Differences from the template (${count}):`,
    missing: 'missing',
    differs: 'differs',
    extra: 'extra',
    cannotFix: 'cannot fix',
    note: 'note',
    advice: (command: string) => `To fix what can be fixed: ${command}`,
    notVerified: (count: number, list: string) => `Not checked (${count}): ${list} — only the installed application can read them.`,
    kept: (count: number) => `The portal's own elements, not in the template: ${count} (left as they are).`,
    needsAppToRead: 'only the installed application can read it',
  },

  savedPlan: {
    unreadable: (file: string, reason: string) => `cannot read the plan ${file} (${reason})`,
    notJson: (file: string, reason: string) => `${file} is not a saved plan: it is not valid JSON (${reason})`,
    notAPlan: (file: string, issue: string) => `${file} is not a plan made by autosalon install --out (${issue})`,
    stepGone: (title: string) => `no longer needed: ${title}`,
    stepChanged: (title: string, was: Action, now: Action, detail: string) =>
      `${title}: planned "${en.plan.actionWord[was]}", now "${en.plan.actionWord[now]}"${detail ? ` — ${detail}` : ''}`,
    stepNew: (action: Action, title: string, detail: string) => `new: ${en.plan.actionWord[action]} ${title}${detail ? ` — ${detail}` : ''}`,
    templateChanged: (dir: string) => `the template at ${dir} is not the one the plan was made with: make a new plan with autosalon install --out FILE (or give the plan's template with --template)`,
    otherPortal: (planFor: string, target: string) => `this plan was made for ${planFor}, not for ${target}: nothing was changed`,
    applying: (createdAt: string, origin: string, counts: string) => `Applying the plan of ${createdAt} to ${origin}: ${counts}.`,
    changed: (count: number, lines: string, more: number) =>
      `the portal changed since the plan was made (${n(count, 'difference', 'differences')}); nothing was changed. Make a new plan with autosalon install --out FILE and review it:\n  ${lines}${more ? `\n  … and ${more} more` : ''}`,
  },

  portal: {
    unreachable: (origin: string, cause: string) => `cannot reach the portal at ${origin}: ${cause}`,
    timeout: (origin: string, ms: number) =>
      `the portal at ${origin} accepted the request but did not answer within ${ms} ms (--timeout-ms); nothing is lost: run the same command again later, it looks up what was done`,
    notConnected: {
      ECONNREFUSED: 'nothing answers at that address and port (connection refused); check the portal address',
      ENOTFOUND: 'its host name does not resolve (ENOTFOUND); check the portal address',
      EAI_AGAIN: 'its host name could not be resolved now (EAI_AGAIN); check the network and the portal address',
      EHOSTUNREACH: 'the network cannot reach that host (EHOSTUNREACH)',
      ENETUNREACH: 'the network is unreachable (ENETUNREACH)',
    } as Record<'ECONNREFUSED' | 'ENOTFOUND' | 'EAI_AGAIN' | 'EHOSTUNREACH' | 'ENETUNREACH', string>,
    untrustedTls: (detail: string) =>
      `its TLS certificate is not trusted (${detail}); a portal with its own certificate authority, such as the Autosalon emulator, needs NODE_EXTRA_CA_CERTS=<its ca.pem> in the environment`,
  },

  target: {
    needsDomain: 'the application\'s tokens need the portal address: add --domain your.bitrix24.ru (or B24_DOMAIN)',
    webhookNotUrl: 'the webhook is not a URL: it looks like https://your.bitrix24.ru/rest/1/SECRET/',
    webhookNotHttps: 'the webhook must start with https:// (Bitrix24 takes webhooks over HTTPS only): it looks like https://your.bitrix24.ru/rest/1/SECRET/',
    webhookShape: (origin: string) => `the webhook URL of ${origin} does not look like an incoming webhook: expected ${origin}/rest/<user id>/<secret>/`,
    bothInEnvironment: 'both B24_WEBHOOK_URL and the application\'s tokens (B24_ACCESS_TOKEN / B24_REFRESH_TOKEN) are set: unset one of them, or say which with --webhook',
    noPortal: 'no portal to talk to: pass --webhook https://your.bitrix24.ru/rest/1/SECRET/ or set B24_WEBHOOK_URL in .env '
      + '(for the installed application: the tokens with --tokens-stdin, B24_ACCESS_TOKEN / B24_REFRESH_TOKEN and --domain, or --member-id)',
    describeWebhook: (origin: string) => `${origin} (incoming webhook)`,
    describeApp: (origin: string) => `${origin} (the installed application)`,
    noServiceDb: (file: string) => `--member-id alone takes the tokens the automation service stored, but there is no service database at ${file} (AUTOSALON_DB): give the tokens instead (--tokens-stdin, or B24_ACCESS_TOKEN and --domain)`,
    serviceDbUnreadable: (file: string, reason: string) => `cannot open the automation service's database ${file} (${reason}): give the tokens instead (--tokens-stdin, or B24_ACCESS_TOKEN and --domain)`,
    noStoredTokens: (file: string, memberId: string) => `the automation service (${file}) has no tokens for member_id ${memberId}: install the application on that portal first, or give the tokens`,
    tokensRenewed: 'The access token had expired and was renewed: the refresh token you passed is no longer valid. '
      + 'Take new tokens from the application (or run with --member-id and the automation service\'s database, which keeps them current).',
  },

  state: {
    notJson: (what: 'ledger' | 'journal' | 'backup', path: string, reason: string) =>
      `the ${{ ledger: 'ledger (the record of what Autosalon installed)', journal: 'journal', backup: 'backup' }[what]} ${path} is not valid JSON (${reason}); restore it from a copy or move it away`,
    locked: (what: string, pid: number, since: string, file: string) =>
      `another ${what} is working on this portal (pid ${pid}, since ${since}); wait for it to finish (if no such run is going on — the process id was reused — delete ${file})`,
    lockedElsewhere: (what: string, host: string, file: string) => `another ${what} on ${host} holds ${file}; if it is not running any more, delete that file`,
    lockFailed: (file: string) => `could not take the lock ${file}`,
    ledgerDamaged: (file: string, issue: string) =>
      `the ledger (the record of what Autosalon installed) ${file} is damaged (${issue}); restore it from a copy, or move it away to let the installer find objects by name again`,
    journalDamaged: (file: string) => `the journal ${file} is damaged; move it away and run again (objects are found by name)`,
  },

  uninstall: {
    planTitle: 'Uninstall plan:',
    nothing: 'Nothing to uninstall: the install record has nothing of Autosalon on this portal.',
    inStage: (count: number, stage: string) => `${count} in ${q(stage)}`,
    pipelineKept: (deals: number, where: string) =>
      `holds ${items(deals, 'deals')}${where ? ` (${where})` : ''}: kept whole with its stages; move the deals to another pipeline, then run uninstall again`,
    pipelineRemoved: 'created by Autosalon, no deals: removed with its stages',
    changedSince: 'changed again since the install: left as it is',
    backToPipeline: (name: string, sort: number) => `back to ${q(name)}, sort ${sort}`,
    holdsItems: (count: number, what: Items) =>
      `holds ${items(count, what)}: kept; move them to another ${what === 'leads' ? 'status' : 'stage'} first, then run uninstall again`,
    notCounted: (what: Items) => `its ${what} could not be counted: kept`,
    createdByAutosalon: 'created by Autosalon',
    backTo: (what: string) => `back to ${what}`,
    partsChangedSince: (parts: string) => `${parts} changed since the install: left as it is`,
    partName: 'name',
    partSort: 'sort',
    partColour: 'colour',
    putBack: 'deleted by the install: put back',
    fieldErased: 'created by Autosalon: its values in every record are erased',
    fieldValues: (count: number) => (count ? `created by Autosalon: its values are erased (${n(count, 'record holds', 'records hold')} one)` : 'created by Autosalon: no record holds a value'),
    labelsChangedSince: 'its labels changed since the install: left as they are',
    labelsBack: 'labels and sort back to what they were',
    cardReset: 'back to the portal\'s standard card',
    cardSectionsRemoved: 'the Autosalon sections removed, the others kept',
    onlyTheApp: 'only the application can remove it: uninstall the Autosalon application in Bitrix24, which removes its robots, triggers and event bindings',
    registeredByAutosalon: 'registered by Autosalon',
    supportKept: 'a support stage added for this portal: kept',
    noLedger: (origin: string, dir: string) =>
      `nothing is recorded for ${origin} in ${dir}: uninstall removes only what an install from this state directory recorded. `
      + 'If the install ran elsewhere, point --state-dir (or AUTOSALON_STATE_DIR) at its state; nothing was changed',
    exported: (values: number, file: string) => `Saved ${n(values, 'value', 'values')} of the fields to delete to ${file}.`,
    batch: (i: number, steps: number) => `batch ${i}: ${n(steps, 'change', 'changes')}…`,
    answerLost: 'the portal\'s answer was lost: run uninstall again to finish (it only removes what is still there)',
    valuesIn: (count: number, entity: Entity) => `${count} in ${entity === 'company' ? 'companies' : `${entity}s`}`,
    done: (requests: number, removed: number, restored: number, blocked: number, failed: number) =>
      `Done in ${n(requests, 'request', 'requests')}: ${removed} removed, ${restored} put back${blocked ? `, ${blocked} kept because ${blocked === 1 ? 'it holds' : 'they hold'} leads or deals` : ''}${failed ? `, ${failed} failed` : ''}.`,
    notFinished: 'Uninstall is not finished: see above; once the leads or deals are moved, run it again.',
  },

  addStage: {
    nameEmpty: 'the stage needs a name: --name "…"',
    nameTooLong: (length: number, max: number) => `the name is ${length} characters long; Bitrix24 keeps at most ${max}: choose a shorter one`,
    nameMarkup: 'the name contains markup (a tag such as <b> or an entity such as &amp;): Bitrix24 shows stage names as plain text, so write it without',
    nameControl: 'the name contains a line break or another control character: write it on one line',
    afterFinal: (name: string) =>
      `${q(name)} is a final stage: a stage after it can only be a failure stage. Add --semantics failure if that is what you want, or choose an in-progress stage for --after`,
    failureAfterSuccess: (success: string) => `a failure stage goes after the success stage: put it after ${q(success)} or a failure stage`,
    theSuccessStage: 'the success stage',
    noRoom: (a: string, aSort: number, b: string, bSort: number) => `there is no free place between ${q(a)} (sort ${aSort}) and ${q(b)} (sort ${bSort}): put the stage after another one`,
    unknownPipeline: (code: string, list: string) => `unknown pipeline "${code}": use ${list}`,
    pipelineMissing: (code: string) => `the pipeline ${code} is not on this portal: run autosalon install first`,
    badColour: (colour: string) => `a colour looks like #RRGGBB (got "${colour}")`,
    noStages: (pipeline: string) => `the portal shows no stages for ${pipeline}: run autosalon install first`,
    noSuchStage: (after: string, pipeline: string, list: string) => `no stage "${after}" in ${pipeline}; its stages are: ${list}`,
    exists: (pipeline: string, name: string, id: string) => `${pipeline} already has a stage ${q(name)} (${id}); nothing was added`,
    lostNotAdded: 'the portal did not answer and the stage is not there: nothing was added, run the same command again',
    notSupportStage: (stage: string, pipeline: string, list: string) =>
      `"${stage}" is not a support stage of ${pipeline}: remove-stage removes only stages added with add-stage (${list}); the template's own stages come and go with install and uninstall`,
    noneAdded: 'none was added there',
    holdsItems: (name: string, count: number, what: Items) =>
      `${q(name)} holds ${items(count, what)}: move them to another ${what === 'leads' ? 'status' : 'stage'} first; nothing was removed`,
  },

  export: {
    fileHeader: (origin: string) => `Exported by autosalon export${origin ? ` from ${origin}` : ''}; check it with: autosalon template validate <dir>`,
    badStageCode: (where: string, id: string) => `${where}: the stage ${id} has a code a template cannot hold (A-Z, 0-9 and _ only): left out`,
    badFieldName: (entity: Entity, name: string, max: number) => `${entity} field ${name}: a template field is named UF_CRM_… with A-Z, 0-9 and _, at most ${max} characters: left out`,
    badFieldType: (entity: Entity, name: string, type: string) => `${entity} field ${name}: its type ${type} is not one a template can create: left out`,
    noItems: (entity: Entity, name: string) => `${entity} field ${name}: a list field without options: left out`,
    fieldDiffers: (code: string, entities: string, entity: Entity) => `field ${code}: on ${entity} it differs from the one on ${entities}; only the first is exported`,
    sectionFieldsDropped: (title: string, fields: string) => `card section ${q(title)}: ${fields} left out (a template's own section shows only its fields)`,
    baseDiffers: (entity: Entity, pipeline: string) => `the standard sections of the ${entity} card${pipeline ? ` of ${pipeline}` : ''} differ from the first card's; the first card's are exported`,
    ruleLeftOut: (id: string, why: string) => `automation rule ${id} left out: ${why}`,
    appLeftOut: (why: string) => `the application objects left out: ${why}`,
    pipelinesMissing: (codes: string) => `its pipelines (${codes}) are not on the portal`,
  },

  fleet: {
    unreadable: (file: string, reason: string) => `cannot read the portals file ${file} (${reason})`,
    notYaml: (file: string, reason: string) => `the portals file ${file} is not valid YAML or JSON (${reason})`,
    badEntry: (file: string, path: string, reason: string) => `the portals file ${file}: ${path}: ${reason}`,
    empty: (file: string) => `the portals file ${file} lists no portals`,
    oneTarget: (where: string) => `${where}: give exactly one of webhook, webhookEnv or memberId`,
    envMissing: (where: string, name: string) => `${where}: the environment variable ${name} is not set`,
    needsConsent: 'the plan changes what was on the portal before Autosalon (or a person\'s edits): nothing was changed; run with --yes to apply it',
    colPortal: 'portal',
    colTier: 'tier',
    colCreated: 'created',
    colUpdated: 'updated',
    colKept: 'kept',
    colSkipped: 'skipped',
    colRequests: 'requests',
    colTime: 'time',
    colResult: 'result',
    result: { 'done': 'done', 'dry-run': 'planned', 'changes-left': 'not finished', 'needs-consent': 'needs --yes', 'failed': 'failed' } as Record<'done' | 'dry-run' | 'changes-left' | 'needs-consent' | 'failed', string>,
    total: (done: number, total: number) => `${done} of ${n(total, 'portal', 'portals')} done.`,
  },

  template: {
    errors: (dir: string, count: number) => `template ${dir} has ${n(count, 'error', 'errors')}:`,
  },

  show: {
    summary: (code: string, version: string, statuses: number, pipelines: number, stages: number, fields: number, cards: number, rules: number, tiers: string) =>
      `${code} ${version}: ${statuses} lead statuses, ${pipelines} pipelines with ${stages} stages, ${fields} fields, ${cards} cards, ${rules} automation rules, tiers ${tiers}`,
    title: (name: string, version: string, tiers: string, lang: string) => `${name} ${version} — ${tiers}, labels ${lang}`,
    tier: (tier: string) => `tier ${tier}`,
    allTiers: (tiers: string) => `all tiers (${tiers})`,
    leadStatuses: 'Lead statuses',
    removedWhereUnused: (codes: string) => `removed where unused: ${codes}`,
    pipeline: 'Pipeline',
    fields: 'Fields',
    cards: 'Cards',
    multiline: 'multi-line',
    multiple: 'multiple',
    shownIn: (pipelines: string) => `shown in ${pipelines}`,
    section: (title: string, fields: number) => `"${title}" [${fields} fields]`,
    appObjects: (tier: string) => `Application objects [${tier}] (need an installed application; skipped with a webhook)`,
    robot: 'robot',
    trigger: 'trigger',
    businessProcess: 'business process',
    events: 'events',
    noAutomation: 'Automation: none in this tier',
    notify: (to: string, message: string) => `notify ${to}: "${message}"`,
    task: (title: string, to: string, deadline: string) => `task "${title}" for ${to}, due in ${deadline}`,
    todo: (title: string, to: string, deadline: string) => `to-do "${title}" for ${to}, due in ${deadline}`,
    required: (fields: string) => `required: ${fields}`,
    checkFormat: (fields: string) => `check the format of ${fields}`,
    moveTo: (stage: string) => `move to ${stage}`,
    convert: (field: string, fallback: string) => `convert: contact, company, deal in the pipeline chosen by ${field} (default ${fallback})`,
    refusal: (field: string) => `refusal process: re-call on the 1st/15th of next month, written to ${field}`,
    onCreate: 'on create',
    onEnter: 'on enter',
    onChange: (fields: string) => `on change of ${fields}`,
    ifStillIn: (stages: string) => ` if still in ${stages}`,
    ifNot: (semantics: string) => ` if not ${semantics}`,
    ifFieldIn: (field: string, values: string) => ` if ${field} in ${values}`,
  },

  settings: {
    badTimeZone: (value: string) => `timeZone must be an IANA time zone such as Europe/Moscow or Asia/Vladivostok (got "${value}")`,
    badRecallHour: (value: string) => `recallHour takes an hour from 0 to 23 (got "${value}")`,
    badUserIds: (key: string, value: string) => `${key} takes user IDs separated by commas, such as 1,7,12 (got "${value}")`,
    hintTooLong: 'recallHint must be at most 1000 characters',
    unknownRule: (id: string, rules: string) => `unknown rule "${id}": the rules are ${rules}`,
    ruleOnOff: (key: string, value: string) => `${key} takes on or off (got "${value}")`,
    unknownSetting: (key: string, settable: string) => `unknown setting "${key}"; settable: ${settable}`,
    notKeyValue: (text: string, settable: string) => `"${text}" is not key=value; settable: ${settable}`,
    malformed: (what: string) => `the settings are not what the service takes (${what})`,
  },
  cli: {
    warning: 'warning',
    debugHint: '(set AUTOSALON_DEBUG=1 to see the stack trace)',
    yesNo: '[y/N]',
    isYes: (answer: string) => /^y(es)?$/i.test(answer),
    needsYes: (what: string, flags: string) => `${what}; nothing was changed. Add ${flags} to go on without being asked.`,
    unknownLanguage: (value: string, list: string) => `unknown language "${value}": use ${list}`,
    badInteger: (flag: string, min: number, max: number, value: string) => `${flag} must be a whole number from ${min} to ${max} (got "${value}")`,
    badPort: (flag: string, value: string) => `${flag} must be a port number 0–65535 (got "${value}")`,
    badDate: (value: string) => `--date must be a date such as 2027-02-01 (got "${value}")`,
    badSemantics: (value: string) => `--semantics is process or failure (got "${value}")`,
    tokensNotParsed: '--tokens-stdin reads the application\'s tokens from standard input: a JSON object with access_token and refresh_token (as Bitrix24 sends them) or lines ACCESS_TOKEN=… REFRESH_TOKEN=…',
    askingAgain: (method: string, attempt: number) => `  no answer from the portal to ${method}: asking again (attempt ${attempt})`,
    portalBusy: (code: string, method: string, attempt: number, ms?: number) =>
      code === 'QUERY_LIMIT_EXCEEDED'
        ? `  the portal is busy (too many requests): waiting ${((ms ?? 0) / 1000).toFixed(1)} s, as its request limit drains (attempt ${attempt})`
        : `  the portal answered ${code} to ${method}: waiting (attempt ${attempt})`,
    noAnswer: (reason: string) => `no answer from the portal (${reason}); nothing is lost: run the same command again, it looks up what was done`,
    portalRefused: (method: string, code: string, description: string, hint: string) =>
      `the portal refused${description ? `: ${q(description)}` : ''} (${code || 'no code'}, ${method})${hint ? `: ${hint}` : ''}`,
    hint: {
      invalidClient: 'check B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET (the application\'s client_id and client_secret), or, if the application was deleted from the portal, install it again',
      invalidGrant: 'the refresh token is used up or expired; take new tokens from the application, or use --member-id with the automation service\'s database',
      tokenUnknown: 'the access token is unknown or revoked; take new tokens from the application',
      webhookWrong: 'check the webhook URL (its user id and secret)',
      appScope: 'the application lacks a permission this needs (crm, bizproc, user, department, im, task): add it in the application\'s settings and install it again',
      webhookScope: 'the webhook lacks a permission this needs (crm for the installer): tick it in the incoming webhook\'s settings',
      restNeedsSubscription: 'REST works only on paid plans and trials: on the free plan, start a trial (or a paid plan) first',
      appRights: 'the application lacks rights here; it must be installed by a portal administrator',
      webhookRights: 'the webhook\'s user lacks rights; create the incoming webhook as a portal administrator',
    },
    consent: {
      foreign: (count: number, updates: number, deletes: number) =>
        `The plan changes ${n(count, 'object', 'objects')} that ${count === 1 ? 'was' : 'were'} on the portal before Autosalon (${updates} to update, ${deletes} to delete)`,
      edited: (count: number) => `${n(count, 'object was', 'objects were')} changed by a person after Autosalon set ${count === 1 ? 'it' : 'them'}; the plan puts ${count === 1 ? 'it' : 'them'} back (old → new):`,
      question: (counts: string) => `Apply the plan (${counts})?`,
      yesOrKeepEdits: '--yes (or --keep-edits, to leave the person\'s edits as they are)',
      fields: (count: number, records: number, where: string, exporting: boolean) =>
        `Uninstalling deletes ${n(count, 'field', 'fields')} with ${count === 1 ? 'its' : 'their'} values: ${records ? `${n(records, 'value is', 'values are')} filled in (${where})` : 'no record holds a value'}.`
        + `${records && !exporting ? ' To keep a copy first, run again with --export-values FILE (a CSV file).' : ''}`,
      deleteFields: (count: number) => `Delete ${n(count, 'field', 'fields')} with ${count === 1 ? 'its' : 'their'} values?`,
    },
    detailedNeedsDryRun: '--detailed-exitcode goes with --dry-run (or --out): it tells whether there is anything to change',
    planSaved: (file: string) => `The plan is saved to ${file}; nothing was changed. Apply exactly it with: autosalon apply ${file}`,
    fleetFlags: '--portals installs the portals listed in the file: give each portal\'s webhook or member id there, not on the command line (and --out and --detailed-exitcode are for one portal)',
    fleetDone: (name: string, result: string, seconds: string) => `  ${name}: ${result} (${seconds} s)`,
    webhookPlaceholder: '--webhook <the same webhook URL>',
    exportDirNotEmpty: (dir: string) => `${dir} is not empty: choose a new directory for the template, or add --force to write into it`,
    exported: (dir: string, summary: string, requests: number) => `Exported to ${dir} in ${n(requests, 'request', 'requests')}: ${summary}. Check it with: autosalon template validate ${dir}`,
    stageAdded: (kind: string, name: string, id: string, pipeline: string, after: string) =>
      `Added the stage ${q(name)} (${id}; ${kind}) to ${pipeline} after ${q(after)}. Later installs and verifications keep it.`,
    stageWouldAdd: (kind: string, name: string, id: string, pipeline: string, after: string) =>
      `Dry run: the stage ${q(name)} would be added to ${pipeline} after ${q(after)} as ${id} (${kind}); nothing was changed.`,
    stageRemoved: (name: string, id: string, pipeline: string) => `Removed the support stage ${q(name)} (${id}) from ${pipeline}.`,
    stageWouldRemove: (name: string, id: string, pipeline: string) => `Dry run: the support stage ${q(name)} (${id}) of ${pipeline} holds nothing and would be removed; nothing was changed.`,
    stageAlreadyGone: (name: string, id: string) => `The support stage ${q(name)} (${id}) was no longer on the portal: it is forgotten.`,
    noServiceDb: (file: string) => `no service database at ${file}: it is kept by "autosalon serve"; point --db or AUTOSALON_DB at its file`,
    portals: {
      none: 'No portal has installed the application yet.',
      header: ['Portal', 'member_id', 'Plan', 'Tier', 'State', 'Queue (due/queued/failed)', 'Settings'] as string[],
      failing: (state: string) => `${state}, failing`,
      recallAt: (hour: string) => `re-call ${hour}:00`,
      leadManagers: (ids: string) => `lead managers ${ids}`,
      supervisor: (id: number) => `supervisor fallback ${id}`,
      rulesOff: (count: number) => `${n(count, 'rule', 'rules')} off`,
    },
    settings: {
      title: (domain: string, memberId: string) => `Settings of ${domain} (member_id ${memberId}):`,
      recallHour: (hour: string) => `${Number(hour)} (re-calls are due at ${hour}:00 local time)`,
      nobody: '— (nobody besides the responsible user)',
      onlyHead: '— (only the head of the responsible user\'s department)',
      templateHint: (hint: string) => `— (the template's: ${hint})`,
      everyRuleRuns: '— (every rule runs)',
      rulesOff: 'rules off',
      noPortal: (memberId: string) => `no installed portal with member_id ${memberId}: see autosalon portals`,
    },
    serve: {
      noApp: 'set B24_APP_CLIENT_ID and B24_APP_CLIENT_SECRET (the client_id and client_secret of the Bitrix24 application) in .env or the environment',
      started: (url: string, publicUrl: string, db: string) => `Autosalon service on ${url} (Bitrix24 calls ${publicUrl}); database ${db}`,
      handlers: (publicUrl: string) => `  install handler ${publicUrl}/install, events ${publicUrl}/events, robots ${publicUrl}/robots/…`,
      unusableUrl: (problem: string) => `${problem}; robots and event bindings will be skipped until AUTOSALON_PUBLIC_URL (or --public-url) is an address Bitrix24 can reach`,
      localUrl: (url: string) => `AUTOSALON_PUBLIC_URL (or --public-url) is not set, so robots and events are bound to ${url}, which only a portal on this machine reaches`,
    },
    emulator: {
      badLimits: (value: string) => `--limits takes on or off (got "${value}")`,
      portTaken: (port: string) => `port ${port} is taken: choose another with --port, or --port 0 for a free one`,
      started: (portals: string[], limits: string, state?: string) =>
        `Bitrix24 emulator: ${portals.length === 1 ? portals[0] : `${portals.length} portals, ${portals.join(', ')}`}; limits ${limits}${state ? `, state ${state}` : ', in memory'}`,
      oneControlApi: (url: string) => `One control API for all of them: ${url}?portal=<member_id or number>.`,
      shell: (url: string, ca: string) => `The portal's web page: ${url} (its applications in the left menu; ?user=N acts as user N; the browser must accept the emulator's certificate, or trust ${ca}).`,
      trust: (ca: string) => `Trust its CA with NODE_EXTRA_CA_CERTS=${ca}. Ctrl-C stops it.`,
    },
    start: {
      installingInto: 'B24_WEBHOOK_URL is set: installing into that portal.',
      noTier: 'B24_WEBHOOK_URL is set, so npm start installs into that portal, and the portal did not say its plan: '
        + 'say which tier with npm start -- --tier base|crm_plus (or -- --plan CODE, e.g. -- --plan pro)',
      keepRunning: '\nThe emulator and the service keep running: CRM changes in the emulator run the automation. Ctrl-C stops both (their state is kept).',
    },
    commander: {
      error: 'error',
      unknownOption: (option: string) => `unknown option '${option}'`,
      unknownCommand: (command: string) => `unknown command '${command}'`,
      requiredOption: (option: string) => `required option '${option}' not specified`,
      argumentMissing: (option: string) => `option '${option}' argument missing`,
      missingArgument: (argument: string) => `missing required argument '${argument}'`,
      tooManyArguments: (expected: string, got: string) => `too many arguments: expected ${expected}, got ${got}`,
      didYouMean: (suggestion: string) => `(Did you mean ${suggestion}?)`,
    },
    help: {
      usage: 'Usage:',
      options: 'Options:',
      commands: 'Commands:',
      arguments: 'Arguments:',
      defaultValue: (value: string) => `(default: ${value})`,
      afterError: '(run with --help for usage)',
      installAfter: `
Exit codes: 0 when the portal matches the template afterwards; 1 otherwise (the summary says what is left), and on an error;
130 when stopped with Ctrl-C (what was done is recorded: run the same command again to finish).
With --dry-run (or --out) and --detailed-exitcode: 0 nothing to change, 2 changes to make, 1 an error.
Many portals: --portals FILE (YAML or JSON: a list of {name, webhook | webhookEnv | memberId, tier, plan, lang}),
at most --concurrency at a time, one table at the end (--json: one object).`,
      applyAfter: `
Applies exactly the plan saved by autosalon install --out FILE; if the portal (or the install record, or the template)
changed since, it changes nothing and lists what differs. Exit codes: 0 done, 1 an error or not finished.`,
      verifyAfter: `
Exit codes: 0 the portal matches the template; 1 it differs, or an error.
With --detailed-exitcode: 0 matches, 2 differs, 1 an error (the portal could not be read, a wrong option).`,
      uninstallAfter: `
Exit codes: 0 done; 1 when something is left (a failure, or a stage or pipeline kept because it holds leads or deals:
move them, then run again), or on an error.`,
      exportAfter: `
Writes the portal's lead statuses, pipelines and stages, user fields and card sections as a template directory
(template.yaml, leads.yaml, pipelines/*.yaml, fields.yaml, cards.yaml, automation.yaml, app.yaml). What the portal
cannot show — the other language's names, tiers, automation — is taken from --template (default: the shipped one)
for the objects that are still as it has them.`,
    },
    cmd: {
      program: 'Install and run the Autosalon CRM in a Bitrix24 portal',
      install: 'install the Autosalon CRM into a portal: show the plan, ask, apply in batches, summarise',
      apply: 'apply a plan saved with install --out, exactly as it was shown',
      verify: 'compare the portal with the template: exit 0 when it matches, 1 with the differences listed',
      uninstall: 'remove what Autosalon created and put back what it changed (from the install record and the backups)',
      export: 'write a portal\'s statuses, pipelines, fields and card sections as a template directory',
      addStage: 'add a support stage to a pipeline (or a lead status), kept by later installs and verifications',
      removeStage: 'remove a support stage added with add-stage, when it holds no deals or leads',
      serve: 'run the automation service: Bitrix24 install, event and robot handlers, the rules, the re-call schedule',
      recalls: 'the re-call list of refused deals for a date: deal, client, reason, responsible',
      portals: 'every portal that installed the application: plan, tier, install state and last problem, queue, settings',
      settings: 'show or change one portal\'s automation settings: time zone, re-call hour and hint, lead managers, supervisor fallback, rules on or off',
      emulator: 'run the local Bitrix24 portal emulator (HTTPS on 127.0.0.1); prints one JSON line with its URLs',
      template: 'check and read the CRM template',
      templateValidate: 'validate a template directory; exit 0 with a summary, or 1 with every error',
      templateShow: 'print the template as a tree: pipelines, stages, fields, cards, rules per stage',
      start: 'without B24_WEBHOOK_URL: the embedded emulator and the automation service, the application installed into the emulator and the template installed by it; with it: install into that portal',
    },
    option: {
      version: 'print the version',
      help: 'show help for the command',
      helpCommand: 'show help for a command',
      webhook: 'incoming webhook of an administrator (default: B24_WEBHOOK_URL from the environment or .env)',
      accessToken: 'the installed application\'s access token (visible in ps: prefer --tokens-stdin or B24_ACCESS_TOKEN)',
      refreshToken: 'the installed application\'s refresh token, to renew an expired access token (prefer --tokens-stdin or B24_REFRESH_TOKEN)',
      tokensStdin: 'read the application\'s tokens from standard input (JSON with access_token, refresh_token, domain, member_id, or KEY=VALUE lines)',
      domain: 'with the application\'s tokens: the portal address, e.g. your.bitrix24.ru (default: B24_DOMAIN)',
      memberId: 'the portal\'s member_id, which keys its local state; alone, it takes the tokens the automation service stored (AUTOSALON_DB)',
      publicUrl: 'with the application: the automation service\'s public address (default: AUTOSALON_PUBLIC_URL)',
      template: 'the template directory (default: the shipped Autosalon template)',
      stateDir: 'local state: install record, journal, backups (default: AUTOSALON_STATE_DIR or .autosalon)',
      timeoutMs: 'give up on a request the portal has not answered in this many milliseconds (default 30000)',
      tier: 'what to install: base | crm_plus (default: from the portal\'s plan)',
      tierVerify: 'the tier to check against (default: the last install\'s)',
      plan: 'the portal\'s plan code (e.g. pro, std, basic), mapped to a tier; an unknown code is an error',
      langInstall: 'language of the messages and of the names written to the portal: ru | en (names default to the last install\'s, else ru)',
      langVerify: 'language of the messages and of the names to check: ru | en (names default to the last install\'s)',
      langExport: 'language of the messages, and the language the portal\'s names are in: ru | en',
      langMessages: 'language of the messages: ru | en (default: from the locale, LANG)',
      dryRun: 'show the plan and change nothing',
      dryRunUninstall: 'show what would be done and change nothing',
      dryRunStage: 'say what would be done and change nothing',
      out: 'save the plan to this file and change nothing; apply it later with autosalon apply FILE',
      detailedExitcode: 'with --dry-run or --out: exit 0 when there is nothing to change, 2 when there is, 1 on an error',
      detailedExitcodeVerify: 'exit 0 when the portal matches, 2 when it differs, 1 on an error',
      yes: 'apply without asking',
      yesUninstall: 'do it without asking (deleting fields erases their values)',
      keepEdits: 'leave objects a person changed after Autosalon set them as they are, instead of asking to change them back',
      json: 'print one JSON object on stdout',
      portals: 'install every portal listed in this YAML or JSON file (see below)',
      concurrency: 'with --portals: how many portals at a time',
      planFile: 'the plan file written by autosalon install --out',
      exportValues: 'before deleting fields, save every value they hold to this CSV file',
      exportOut: 'the template directory to write (new or empty)',
      force: 'write into a directory that is not empty',
      pipeline: 'repair | shop | wash | leads',
      stageName: 'the stage name, as users see it',
      stageToRemove: 'the support stage\'s name or code',
      after: 'the stage it goes after (its name or code)',
      semantics: 'process | failure (after a final stage only failure; default: process after an in-progress stage)',
      color: 'the stage colour',
      servePort: 'port to listen on (0 = any free port; default AUTOSALON_PORT or 3000)',
      db: 'the service database (default AUTOSALON_DB or <state dir>/service.sqlite)',
      servePublicUrl: 'the address Bitrix24 calls (default AUTOSALON_PUBLIC_URL)',
      date: 'the day (default: today in AUTOSALON_TIME_ZONE)',
      portal: 'the portal (see autosalon portals)',
      settingsSet: 'change settings: timeZone=Asia/Vladivostok, recallHour=9, leadManagerIds=1,7, supervisorUserId=5, recallHint=text, rule.<id>=on|off (an empty value clears)',
      emulatorPort: 'portal 1\'s port (0 picks a free one; the other portals always get free ports)',
      emulatorPortals: 'how many portals, each with its own address, member_id, data and limits',
      emulatorState: 'keep the portals in this JSON file so they survive restarts (default: in memory)',
      emulatorPlan: 'tariff plan (LICENSE_TYPE) of every portal, e.g. pro, ent250, basic, project',
      latency: 'delay added to every REST response',
      limits: 'request-rate and operating-time limits',
      emulatorLang: 'portal language (names of default stages)',
      timeZone: 'portal time zone (IANA)',
      templateDir: 'template directory',
      showTier: 'show only what this tier installs (base | crm_plus)',
      showLang: 'label language (ru | en)',
      startPort: 'port of the embedded emulator',
      startPlan: 'the portal\'s plan code (embedded emulator default: pro, the full tier)',
      startTier: 'a real portal: what to install, base | crm_plus',
      once: 'stop the embedded emulator and the service after the install instead of keeping them running',
    },
  },

  errors: {
    unknownPlan: (code: string, known: string) => `unknown plan code "${code}": the template knows ${known} (a * stands for every code that begins so); or give --tier instead`,
    unknownTier: (tier: string, tiers: string) => `unknown tier "${tier}": use ${tiers}`,
    planTierDisagree: (plan: string, planTier: string, tier: string) =>
      `--plan ${plan} means tier ${planTier}, but --tier says ${tier}: give one of them (or both, agreeing)`,
    noTier: (tiers: string) => `the portal did not say its plan (app.info): say which tier to install with --tier ${tiers}, or give the plan code with --plan CODE (for example --plan pro)`,
    verifyNoTier: (tiers: string) => `nothing says which tier this portal should have (no install is recorded here and the portal did not say its plan): pass --tier ${tiers} or --plan CODE`,
    keptRefusing: (code: string) => `the portal kept refusing requests (${code}); nothing is lost: run the same command again later`,
  },
};

export type Messages = typeof en;
