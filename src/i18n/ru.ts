// Русские сообщения: те же ключи и параметры, что в en.ts (тип Messages это проверяет при сборке).
import type { Lang } from './lang.js';
import type { Messages } from './en.js';
import { plural } from './plural.js';

type Action = 'create' | 'update' | 'delete' | 'keep' | 'skip';
type Entity = 'lead' | 'deal' | 'contact' | 'company';
type Noun = 'status' | 'stage';
type Items = 'leads' | 'deals';
type LabelKind = 'EDIT_FORM_LABEL' | 'LIST_COLUMN_LABEL' | 'LIST_FILTER_LABEL';

const n = (count: number, one: string, few: string, many: string) => plural('ru', count, { one: `# ${one}`, few: `# ${few}`, many: `# ${many}`, other: `# ${few}` });
const q = (s: string) => `«${s}»`;
const items = (count: number, what: Items) => (what === 'leads' ? n(count, 'лид', 'лида', 'лидов') : n(count, 'сделка', 'сделки', 'сделок'));
const itemsGen = (what: Items) => (what === 'leads' ? 'лидов' : 'сделок');
const semantics: Record<string, string> = { process: 'рабочая', success: 'успешная', failure: 'провальная' };
const semanticsStatus: Record<string, string> = { process: 'рабочий', success: 'успешный', failure: 'провальный' };
const nounWord = (noun: Noun) => (noun === 'status' ? 'статус' : 'стадия');
const kindOf = (noun: Noun, kind: string) => (noun === 'status' ? semanticsStatus[kind] : semantics[kind]) ?? kind;
const entityGen: Record<Entity, string> = { lead: 'лида', deal: 'сделки', contact: 'контакта', company: 'компании' };

export const ru: Messages = {
  quote: q,
  or: ' или ',
  languageName: { ru: 'русском', en: 'английском' } as Record<Lang, string>,

  title: {
    pipeline: (name) => `воронка ${q(name)}`,
    portalPipeline: (name, id) => `воронка ${q(name)} (id ${id})`,
    status: (code, name) => `статус ${code} ${q(name)}`,
    stage: (code, name) => `стадия ${code} ${q(name)}`,
    stageCode: (code) => `стадия ${code}`,
    field: (entity, code, label) => `поле ${entityGen[entity]} ${code}${label ? ` ${q(label)}` : ''}`,
    card: (entity, pipeline) => (pipeline ? `карточка сделки воронки ${q(pipeline)}` : `карточка ${entityGen[entity]}`),
    robot: (code, name) => `робот ${code} ${q(name)}`,
    trigger: (code, name) => `триггер ${code} ${q(name)}`,
    event: (event) => `событие ${event} → сервис автоматизации`,
    eventAt: (event, handler) => `событие ${event} → ${handler}`,
    businessProcess: (name) => `бизнес-процесс ${q(name)}`,
  },

  detail: {
    none: '(нет)',
    multiple: '(множественное)',
    sort: (sort) => `сортировка ${sort}`,
    nameChange: (from, to) => `название ${q(from)} → ${q(to)}`,
    sortChange: (from, to) => `сортировка ${from} → ${to}`,
    colourChange: (from, to) => `цвет ${from} → ${to}`,
    rowsChange: (from, to) => `строк ${from} → ${to}`,
    labelChange: (kind: LabelKind, lang, from, to) =>
      `${{ EDIT_FORM_LABEL: 'подпись в форме', LIST_COLUMN_LABEL: 'заголовок в списке', LIST_FILTER_LABEL: 'подпись в фильтре' }[kind]} (${lang}) ${q(from)} → ${q(to)}`,
    optionAdded: (value) => `добавляется вариант ${q(value)}`,
    optionChange: (from, to, sort) => `вариант ${q(from)} → ${q(to)}${sort !== undefined ? ` (сортировка ${sort})` : ''}`,
    editKept: (change) => `изменено человеком после установки Автосалона; оставлено как есть (--keep-edits) вместо: ${change}`,
    pipelineAdopted: 'воронка с таким названием уже была на портале: взята под управление, создана не Автосалоном',
    portalOwn: 'нет в шаблоне: собственный элемент портала, остаётся как есть',
    newPipelineCard: 'карточка новой воронки: стандартные разделы, затем разделы Автосалона',
    pipelineNotInInstall: (code) => `воронка ${code} не входит в эту установку`,
    semanticsMismatch: (noun, current, wanted, statusId) =>
      `на портале это ${kindOf(noun, current)} ${nounWord(noun)}, а в шаблоне — ${kindOf(noun, wanted)}; Битрикс24 не меняет этого у существующей стадии: `
      + `переименуйте или удалите ${statusId} в настройках CRM и запустите снова`,
    systemMissing: (noun, id) => `на портале нет системн${noun === 'status' ? 'ого статуса' : 'ой стадии'} ${id}, а создать ${noun === 'status' ? 'системный статус' : 'системную стадию'} Битрикс24 не даёт`,
    cannotCreateAt: (sort, reason) => `нельзя создать с сортировкой ${sort}: ${reason}`,
    successExists: (noun) => (noun === 'status' ? 'на портале уже есть успешный статус' : 'на портале уже есть успешная стадия'),
    processBeforeSuccess: (noun, sort) => (noun === 'status'
      ? `рабочий статус должен стоять перед успешным (сортировка ${sort})`
      : `рабочая стадия должна стоять перед успешной (сортировка ${sort})`),
    failureAfterSuccess: (noun, sort) => (noun === 'status'
      ? `провальный статус должен стоять после успешного (сортировка ${sort})`
      : `провальная стадия должна стоять после успешной (сортировка ${sort})`),
    newStage: (kind, sort) => `${semantics[kind] ?? kind}, сортировка ${sort}`,
    supportStageKept: (after) => `стадия поддержки (добавлена командой add-stage после ${q(after)}): остаётся на месте`,
    notCounted: (what) => `не посчитано, сколько в ней ${itemsGen(what)}`,
    holdsItems: (count, what) => `нет в шаблоне, но в ней ${items(count, what)}: оставлена (перенесите их и запустите снова, чтобы удалить)`,
    systemEntryKept: 'системный элемент портала: оставлен',
    unusedDefault: (noun, what) => `${noun === 'status' ? 'стандартный статус, который' : 'стандартная стадия воронки, которую'} шаблон не использует; ${itemsGen(what)} в ней нет`,
    newPipelineOwnStage: (sort) => `одна из стадий, которые Битрикс24 создаёт в каждой новой воронке: переименовывается, сортировка ${sort}`,
    newPipelineUnusedDefault: 'стандартная стадия, которую Битрикс24 создаёт в каждой новой воронке, а шаблон не использует',
    newField: (type, multiline) => `${type}${multiline ? ', несколько строк' : ''}`,
    fieldTypeMismatch: (current, wanted) =>
      `на портале это поле типа ${current}, а шаблону нужен ${wanted}; Битрикс24 не меняет тип поля: переименуйте или удалите поле портала и запустите снова`,
    cardNeverConfigured: (sections) => `ещё не настраивалась: стандартные разделы, затем ${sections}`,
    cardRemovesSection: (title) => `убирается старый раздел ${q(title)}`,
    cardRefreshesSection: (title) => `обновляется раздел ${q(title)}`,
    cardAddsSection: (title) => `добавляется раздел ${q(title)}`,
    cardNotShown: (answer) => `портал не показал карточку: ${answer}`,
    cardNotRead: 'карточка не прочитана',
    needsApp: 'это может настроить только установленное приложение Автосалон: входящему вебхуку Битрикс24 это не разрешает',
    notOffered: (answer) => `портал этого не предлагает (${answer}): возможно, в его тарифе нет бизнес-процессов и роботов`,
    handler: (url) => `обработчик ${url}`,
    staleHandler: 'старый адрес сервиса автоматизации',
    bpRobotSkipped: (robot, why) => `он запускает робота ${robot}, который пропущен: ${why}`,
    bpRobotMissing: (robot) => `он запускает робота ${robot}, который не зарегистрирован`,
    bpNoClientId: 'неизвестен client_id приложения (B24_APP_CLIENT_ID): процессу не назвать своего робота',
    bpUploaded: 'загружается файлом .bpt; запускается вручную или роботом',
    bpNewVersion: 'новая версия файла .bpt',
    bpNoGenerator: (code) => `нет генератора для бизнес-процесса ${q(code)}`,
    publicUrlUnknown: 'неизвестен публичный адрес сервиса автоматизации: укажите --public-url или AUTOSALON_PUBLIC_URL',
    publicUrlNotUrl: (url) => `публичный адрес ${q(url)} — не URL`,
    publicUrlNoDot: (host) => `Битрикс24 не принимает адреса обработчиков, в имени хоста которых нет точки (${q(host)}): укажите публичное имя или IP-адрес`,
  },

  plan: {
    legend: 'Обозначения',
    actionWord: { create: 'создать', update: 'изменить', delete: 'удалить', keep: 'без изменений', skip: 'пропущено' } as Record<Action, string>,
    planLabel: 'План',
    tierLine: (tier, source, language) => `Уровень ${tier} (${source}); названия на ${language}`,
    groupLeads: 'Статусы лидов',
    groupPipeline: (name, code) => `Воронка ${q(name)} (${code})`,
    groupFields: 'Поля',
    groupCards: 'Карточки',
    groupApp: 'Объекты приложения (роботы, триггер, события, бизнес-процесс)',
    groupPipelines: 'Воронки',
    groupPortal: 'Собственные элементы портала, которых нет в шаблоне (остаются как есть)',
    onceCreated: 'когда Битрикс24 создаст воронку:',
    unchanged: (count) => `без изменений: ${count}`,
    counts: (create, update, del, keep, skip, portalKept) =>
      `создать ${create}, изменить ${update}, удалить ${del}, без изменений ${keep}, пропущено ${skip}; собственных элементов портала оставлено ${portalKept}`,
    changes: (create, update, del) => `создать ${create}, изменить ${update}, удалить ${del}`,
    done: (create, update, del) => `создано ${create}, изменено ${update}, удалено ${del}`,
  },

  tierSource: {
    tier: '--tier',
    plan: (code) => `--plan ${code}`,
    planAndTier: (code) => `--tier, совпадает с --plan ${code}`,
    appInfo: (code) => `тариф портала ${code}, по app.info`,
    license: (license) => `тариф портала ${license}, по app.info`,
    lastInstall: 'как при прошлой установке',
    lastInstallOther: (code, tier) => `как при прошлой установке; тариф портала ${code} теперь означает ${tier}: --tier ${tier} установит его`,
  },

  progress: {
    reading: 'Читаю портал…',
    readingAgain: (round) => `Снова читаю портал (круг ${round})…`,
    resumed: (found, creates) =>
      `Продолжаю прерванный запуск: из ${n(creates, 'объекта', 'объектов', 'объектов')}, которые создавал его последний пакет, на портале ${found}; они записаны и повторно не создаются.`,
    backup: (count, file) => `Резервная копия (${n(count, 'объект', 'объекта', 'объектов')}) перед изменением: ${file}`,
    batch: (round, batch, batches, steps) => `Круг ${round}, пакет ${batch}/${batches}: ${n(steps, 'изменение', 'изменения', 'изменений')}…`,
    batchDone: (ok, failed) => `  готово: ${ok}${failed ? `, с ошибкой: ${failed}` : ''}`,
    lost: (batch) => `  ответ на пакет ${batch} потерян: читаю портал снова, чтобы увидеть, что сделано`,
    wait: (seconds, reason) => `Жду ${seconds} с: ${reason}`,
    operatingLimit: 'портал отклонил часть изменений из-за ограничения на время работы метода (OPERATION_TIME_LIMIT); после ожидания они будут отправлены снова',
    applying: (done, total, batch, batches) => `Применяю: ${done} из ${total} изменений (пакет ${batch} из ${batches})`,
    stopping: 'Останавливаюсь после текущего пакета, чтобы ничего не осталось наполовину… (повторное Ctrl-C — остановка сразу; следующий запуск доделает)',
    stoppedAtOnce: 'Остановлено сразу. Отправленный пакет записан в журнал: запустите ту же команду снова — она проверит, что было сделано.',
  },

  summary: {
    cancelled: 'Отменено: ничего не изменено.',
    dryRun: (requests) => `Пробный запуск: ничего не изменено (${n(requests, 'запрос', 'запроса', 'запросов')} на чтение портала).`,
    done: (requests, rounds, doneText, unchanged) =>
      `Готово за ${n(requests, 'запрос', 'запроса', 'запросов')}, ${n(rounds, 'круг', 'круга', 'кругов')}: ${doneText}, без изменений ${unchanged}.`,
    interrupted: (changes) =>
      `Прервано (Ctrl-C): сделано и записано изменений: ${changes}. Ничего не потеряно: запустите ту же команду снова, чтобы закончить.`,
    countsDiffer: (planned, done) => `В плане было: ${planned}; сделано: ${done}. Почему:`,
    notNeeded: (count, titles) => `${n(count, 'запланированное изменение не понадобилось', 'запланированных изменения не понадобились', 'запланированных изменений не понадобились')} при повторном чтении портала (стадия новой воронки уже была как нужно): ${titles}`,
    added: (count, titles) => `${n(count, 'изменение обнаружилось', 'изменения обнаружились', 'изменений обнаружились')} только при повторном чтении портала: ${titles}`,
    failedPlanned: (count) => `${n(count, 'изменение', 'изменения', 'изменений')} с ошибкой (ниже)`,
    notMade: (count) => `${n(count, 'изменение не сделано', 'изменения не сделаны', 'изменений не сделаны')}: запуск прерван`,
    andMore: (shown, more) => `${shown} и ещё ${more}`,
    resumed: 'Прерванный запуск продолжен: созданное им найдено и записано.',
    skipped: (count) => `Пропущено объектов: ${count} (они и причины — в плане выше).`,
    kept: (count) => `Оставлено собственных элементов портала, которых нет в шаблоне: ${count}.`,
    failed: (count) => `С ошибкой (${count}):`,
    matches: 'Теперь портал соответствует шаблону.',
    matchesButEdits: (edits) => `Теперь портал соответствует шаблону, кроме ${n(edits, 'правки', 'правок', 'правок')} людей, оставленных по вашей просьбе (--keep-edits; verify их покажет).`,
    doesNotMatch: 'Портал пока не соответствует шаблону: см. пропущенное и ошибки выше (autosalon verify покажет все различия).',
    backup: (file) => `Резервная копия: ${file}`,
    state: (dir) => `Состояние: ${dir}`,
    roundsExhausted: (count, rounds) => `после ${n(rounds, 'круга', 'кругов', 'кругов')} осталось ${n(count, 'изменение', 'изменения', 'изменений')}: запустите ту же команду снова`,
    refusedStep: (title, code, description) =>
      `${title}: Битрикс24 отказал${description ? `: ${q(description)}` : ''}${code ? ` (${code})` : ''}`,
  },

  verify: {
    header: (portal, tier, source, language, publicUrl) =>
      `${portal}: уровень ${tier} (${source}), названия на ${language}${publicUrl ? `, сервис автоматизации ${publicUrl}` : ''}`,
    ok: 'OK: портал соответствует шаблону.',
    drift: (count) => `Отличия от шаблона (${count}):`,
    missing: 'нет',
    differs: 'отличается',
    extra: 'лишнее',
    cannotFix: 'не исправить',
    note: 'заметка',
    advice: (command) => `Чтобы исправить то, что можно: ${command}`,
    notVerified: (count, list) => `Не проверено (${count}): ${list} — их может прочитать только установленное приложение.`,
    kept: (count) => `Собственных элементов портала, которых нет в шаблоне: ${count} (остаются как есть).`,
    needsAppToRead: 'прочитать это может только установленное приложение',
  },

  savedPlan: {
    unreadable: (file, reason) => `не удаётся прочитать план ${file} (${reason})`,
    notJson: (file, reason) => `${file} — не сохранённый план: это не JSON (${reason})`,
    notAPlan: (file, issue) => `${file} — не план, сохранённый командой autosalon install --out (${issue})`,
    stepGone: (title) => `больше не нужно: ${title}`,
    stepChanged: (title, was: Action, now: Action, detail) => `${title}: в плане «${ru.plan.actionWord[was]}», теперь «${ru.plan.actionWord[now]}»${detail ? ` — ${detail}` : ''}`,
    stepNew: (action: Action, title, detail) => `новое: ${ru.plan.actionWord[action]} ${title}${detail ? ` — ${detail}` : ''}`,
    templateChanged: (dir) => `шаблон в ${dir} не тот, по которому составлен план: составьте новый план командой autosalon install --out ФАЙЛ (или укажите шаблон плана через --template)`,
    otherPortal: (planFor, target) => `этот план составлен для ${planFor}, а не для ${target}: ничего не изменено`,
    applying: (createdAt, origin, counts) => `Применяю план от ${createdAt} к ${origin}: ${counts}.`,
    changed: (count, lines, more) =>
      `портал изменился после того, как был составлен план (${n(count, 'отличие', 'отличия', 'отличий')}); ничего не изменено. Составьте новый план командой autosalon install --out ФАЙЛ и проверьте его:\n  ${lines}${more ? `\n  … и ещё ${more}` : ''}`,
  },

  portal: {
    unreachable: (origin, cause) => `не удаётся связаться с порталом ${origin}: ${cause}`,
    timeout: (origin, ms) =>
      `портал ${origin} принял запрос, но не ответил за ${ms} мс (--timeout-ms); ничего не потеряно: запустите ту же команду позже — она проверит, что было сделано`,
    notConnected: {
      ECONNREFUSED: 'по этому адресу и порту никто не отвечает (соединение отклонено); проверьте адрес портала',
      ENOTFOUND: 'имя хоста не находится (ENOTFOUND); проверьте адрес портала',
      EAI_AGAIN: 'имя хоста сейчас не удаётся определить (EAI_AGAIN); проверьте сеть и адрес портала',
      EHOSTUNREACH: 'сеть не может достучаться до этого хоста (EHOSTUNREACH)',
      ENETUNREACH: 'сеть недоступна (ENETUNREACH)',
    },
    untrustedTls: (detail) =>
      `его TLS-сертификату нет доверия (${detail}); порталу с собственным центром сертификации, например эмулятору Автосалона, нужен NODE_EXTRA_CA_CERTS=<его ca.pem> в окружении`,
  },

  target: {
    needsDomain: 'к токенам приложения нужен адрес портала: добавьте --domain ваш.bitrix24.ru (или B24_DOMAIN)',
    webhookNotUrl: 'вебхук — не URL: он выглядит так: https://ваш.bitrix24.ru/rest/1/СЕКРЕТ/',
    webhookNotHttps: 'вебхук должен начинаться с https:// (Битрикс24 принимает вебхуки только по HTTPS): он выглядит так: https://ваш.bitrix24.ru/rest/1/СЕКРЕТ/',
    webhookShape: (origin) => `адрес ${origin} не похож на входящий вебхук: ожидается ${origin}/rest/<id пользователя>/<секрет>/`,
    bothInEnvironment: 'заданы и B24_WEBHOOK_URL, и токены приложения (B24_ACCESS_TOKEN / B24_REFRESH_TOKEN): уберите что-то одно или укажите вебхук через --webhook',
    noPortal: 'не указан портал: передайте --webhook https://ваш.bitrix24.ru/rest/1/СЕКРЕТ/ или задайте B24_WEBHOOK_URL в .env '
      + '(для установленного приложения: токены через --tokens-stdin, B24_ACCESS_TOKEN / B24_REFRESH_TOKEN и --domain, или --member-id)',
    describeWebhook: (origin) => `${origin} (входящий вебхук)`,
    describeApp: (origin) => `${origin} (установленное приложение)`,
    noServiceDb: (file) => `--member-id без токенов берёт токены, сохранённые сервисом автоматизации, но базы сервиса ${file} нет (AUTOSALON_DB): передайте токены (--tokens-stdin или B24_ACCESS_TOKEN и --domain)`,
    installElsewhere: (memberId) => `другой процесс сейчас устанавливает шаблон в портал ${memberId} (сервис автоматизации или другая команда autosalon): дождитесь окончания и запустите снова`,
    serviceDbUnreadable: (file, reason) => `не удаётся открыть базу сервиса автоматизации ${file} (${reason}): передайте токены (--tokens-stdin или B24_ACCESS_TOKEN и --domain)`,
    noStoredTokens: (file, memberId) => `у сервиса автоматизации (${file}) нет токенов для member_id ${memberId}: сначала установите приложение на этот портал или передайте токены`,
    tokensRenewed: 'Срок токена доступа истёк, он обновлён: переданный refresh-токен больше не действует. '
      + 'Возьмите новые токены в приложении (или запускайте с --member-id и базой сервиса автоматизации — она держит токены актуальными).',
  },

  state: {
    notJson: (what, path, reason) =>
      `${{ ledger: 'запись об установке (ledger)', journal: 'журнал', backup: 'резервная копия' }[what]} ${path} — не корректный JSON (${reason}); восстановите файл из копии или уберите его`,
    locked: (what, pid, since, file) =>
      `с этим порталом уже работает другой запуск (${what}, процесс ${pid}, с ${since}); дождитесь его окончания (если такого запуска нет — номер процесса занят другим, — удалите ${file})`,
    lockedElsewhere: (what, host, file) => `другой запуск (${what}) на ${host} держит ${file}; если он уже не работает, удалите этот файл`,
    lockFailed: (file) => `не удалось занять блокировку ${file}`,
    ledgerDamaged: (file, issue) =>
      `запись об установке (ledger) ${file} повреждена (${issue}); восстановите её из копии или уберите, чтобы установщик снова находил объекты по названиям`,
    journalDamaged: (file) => `журнал ${file} повреждён; уберите его и запустите снова (объекты найдутся по названиям)`,
  },

  uninstall: {
    planTitle: 'План удаления:',
    nothing: 'Удалять нечего: в записи об установке нет объектов Автосалона на этом портале.',
    inStage: (count, stage) => `${count} в ${q(stage)}`,
    pipelineKept: (deals, where) =>
      `в ней ${items(deals, 'deals')}${where ? ` (${where})` : ''}: воронка остаётся целиком, со стадиями; перенесите сделки в другую воронку и запустите удаление снова`,
    pipelineRemoved: 'создана Автосалоном, сделок нет: удаляется вместе со стадиями',
    changedSince: 'после установки изменена снова: остаётся как есть',
    backToPipeline: (name, sort) => `возвращается ${q(name)}, сортировка ${sort}`,
    holdsItems: (count, what) =>
      `в ${what === 'leads' ? 'нём' : 'ней'} ${items(count, what)}: оставлен${what === 'leads' ? '' : 'а'}; сначала перенесите их в ${what === 'leads' ? 'другой статус' : 'другую стадию'}, затем запустите удаление снова`,
    notCounted: (what) => `не удалось посчитать ${itemsGen(what)}: оставлено`,
    createdByAutosalon: 'создано Автосалоном',
    backTo: (what) => `возвращается: ${what}`,
    partsChangedSince: (parts) => `после установки изменено (${parts}): остаётся как есть`,
    partName: 'название',
    partSort: 'сортировка',
    partColour: 'цвет',
    putBack: 'было удалено установкой: возвращается',
    fieldErased: 'создано Автосалоном: его значения во всех записях будут стёрты',
    fieldValues: (count) => (count ? `создано Автосалоном: значения будут стёрты (заполнено в ${n(count, 'записи', 'записях', 'записях')})` : 'создано Автосалоном: ни в одной записи не заполнено'),
    labelsChangedSince: 'после установки подписи изменены: остаются как есть',
    labelsBack: 'подписи и сортировка возвращаются к прежним',
    cardReset: 'возвращается стандартная карточка портала',
    cardSectionsRemoved: 'разделы Автосалона убираются, остальные остаются',
    onlyTheApp: 'удалить это может только приложение: удалите приложение Автосалон в Битрикс24 — вместе с ним уйдут его роботы, триггеры и подписки на события',
    registeredByAutosalon: 'зарегистрировано Автосалоном',
    supportKept: 'стадия поддержки, добавленная для этого портала: остаётся',
    noLedger: (origin, dir) =>
      `для ${origin} в ${dir} ничего не записано: удаление убирает только то, что записала установка из этой папки состояния. `
      + 'Если установка шла в другом месте, укажите её папку через --state-dir (или AUTOSALON_STATE_DIR); ничего не изменено',
    exported: (values, file) => `Значения удаляемых полей (${values}) сохранены в ${file}.`,
    batch: (i, steps) => `пакет ${i}: ${n(steps, 'изменение', 'изменения', 'изменений')}…`,
    answerLost: 'ответ портала потерян: запустите удаление снова, чтобы закончить (оно убирает только то, что ещё осталось)',
    valuesIn: (count, entity) => `${count} в ${({ lead: 'лидах', deal: 'сделках', contact: 'контактах', company: 'компаниях' } as Record<Entity, string>)[entity]}`,
    done: (requests, removed, restored, blocked, failed) =>
      `Готово за ${n(requests, 'запрос', 'запроса', 'запросов')}: удалено ${removed}, возвращено ${restored}${blocked ? `, оставлено из-за лидов или сделок ${blocked}` : ''}${failed ? `, с ошибкой ${failed}` : ''}.`,
    notFinished: 'Удаление не закончено: см. выше; когда лиды или сделки будут перенесены, запустите его снова.',
  },

  addStage: {
    nameEmpty: 'у стадии должно быть название: --name "…"',
    nameTooLong: (length, max) => `в названии ${length} символов, а Битрикс24 хранит не больше ${max}: выберите название короче`,
    nameMarkup: 'в названии есть разметка (тег вроде <b> или сущность вроде &amp;): Битрикс24 показывает названия стадий как обычный текст, напишите без неё',
    nameControl: 'в названии есть перевод строки или другой управляющий символ: напишите его в одну строку',
    afterFinal: (name) =>
      `${q(name)} — завершающая стадия: после неё может стоять только провальная. Добавьте --semantics failure, если нужна она, или укажите в --after рабочую стадию`,
    failureAfterSuccess: (success) => `провальная стадия ставится после успешной: укажите ${q(success)} или провальную стадию`,
    theSuccessStage: 'успешную стадию',
    noRoom: (a, aSort, b, bSort) => `между ${q(a)} (сортировка ${aSort}) и ${q(b)} (сортировка ${bSort}) нет свободного места: поставьте стадию после другой`,
    unknownPipeline: (code, list) => `неизвестная воронка «${code}»: укажите ${list}`,
    pipelineMissing: (code) => `воронки ${code} на этом портале нет: сначала выполните autosalon install`,
    badColour: (colour) => `цвет записывается как #RRGGBB (получено «${colour}»)`,
    noStages: (pipeline) => `портал не показывает стадий для ${pipeline}: сначала выполните autosalon install`,
    noSuchStage: (after, pipeline, list) => `в ${pipeline} нет стадии «${after}»; её стадии: ${list}`,
    exists: (pipeline, name, id) => `в ${pipeline} уже есть стадия ${q(name)} (${id}); ничего не добавлено`,
    lostNotAdded: 'портал не ответил, и стадии нет: ничего не добавлено, запустите ту же команду снова',
    stageNameEmpty: (pipeline, list) => `укажите, какую вспомогательную стадию ${pipeline} удалить: --stage НАЗВАНИЕ (вспомогательные стадии: ${list})`,
    notSupportStage: (stage, pipeline, list) =>
      `«${stage}» — не стадия поддержки в ${pipeline}: remove-stage удаляет только стадии, добавленные через add-stage (${list}); стадии шаблона появляются и уходят с install и uninstall`,
    noneAdded: 'там их не добавляли',
    holdsItems: (name, count, what) =>
      `в ${q(name)} ${items(count, what)}: сначала перенесите их в ${what === 'leads' ? 'другой статус' : 'другую стадию'}; ничего не удалено`,
  },

  export: {
    fileHeader: (origin) => `Выгружено командой autosalon export${origin ? ` из ${origin}` : ''}; проверка: autosalon template validate <папка>`,
    badStageCode: (where, id) => `${where}: у стадии ${id} код, который шаблон не может хранить (только A-Z, 0-9 и _): пропущена`,
    badFieldName: (entity, name, max) => `поле ${entityGen[entity]} ${name}: поле шаблона называется UF_CRM_… из A-Z, 0-9 и _, не длиннее ${max} символов: пропущено`,
    badFieldType: (entity, name, type) => `поле ${entityGen[entity]} ${name}: тип ${type} шаблон создать не может: пропущено`,
    noItems: (entity, name) => `поле ${entityGen[entity]} ${name}: список без вариантов: пропущено`,
    fieldDiffers: (code, entities, entity) => `поле ${code}: у ${entityGen[entity]} оно не такое, как у ${entities}; выгружено только первое`,
    sectionFieldsDropped: (title, fields) => `раздел карточки ${q(title)}: пропущены ${fields} (в собственном разделе шаблона только его поля)`,
    baseDiffers: (entity, pipeline) => `стандартные разделы карточки ${entityGen[entity]}${pipeline ? ` в воронке ${pipeline}` : ''} отличаются от первой карточки; выгружены разделы первой`,
    ruleLeftOut: (id, why) => `правило автоматизации ${id} пропущено: ${why}`,
    appLeftOut: (why) => `объекты приложения пропущены: ${why}`,
    pipelinesMissing: (codes) => `его воронок (${codes}) на портале нет`,
  },

  fleet: {
    unreadable: (file, reason) => `не удаётся прочитать файл порталов ${file} (${reason})`,
    notYaml: (file, reason) => `файл порталов ${file} — не корректный YAML или JSON (${reason})`,
    badEntry: (file, path, reason) => `файл порталов ${file}: ${path}: ${reason}`,
    empty: (file) => `в файле порталов ${file} нет ни одного портала`,
    oneTarget: (where) => `${where}: укажите ровно одно из webhook, webhookEnv или memberId`,
    envMissing: (where, name) => `${where}: переменная окружения ${name} не задана`,
    needsConsent: 'план меняет то, что было на портале до Автосалона (или правки человека): ничего не изменено; запустите с --yes, чтобы применить',
    colPortal: 'портал',
    colTier: 'уровень',
    colCreated: 'создано',
    colUpdated: 'изменено',
    colUnchanged: 'без изменений',
    colSkipped: 'пропущено',
    colRequests: 'запросов',
    colTime: 'время',
    colResult: 'итог',
    result: { 'done': 'готово', 'dry-run': 'план составлен', 'changes-left': 'не закончено', 'needs-consent': 'нужен --yes', 'failed': 'ошибка' },
    listedTwice: (file, first, second, portal) => `${file}: ${first} и ${second} — один и тот же портал (${portal}); укажите каждый портал один раз`,
    total: (done, total) => `Готово: ${done} из ${n(total, 'портала', 'порталов', 'порталов')}.`,
    totalPlanned: (planned, total) => `Пробный прогон: спланировано ${planned} из ${n(total, 'портала', 'порталов', 'порталов')}; ничего не изменено.`,
  },

  template: {
    errors: (dir, count) => `в шаблоне ${dir} ${n(count, 'ошибка', 'ошибки', 'ошибок')}:`,
  },

  show: {
    summary: (code, version, statuses, pipelines, stages, fields, cards, rules, tiers) =>
      `${code} ${version}: статусов лидов ${statuses}, воронок ${pipelines} со стадиями (${stages}), полей ${fields}, карточек ${cards}, правил автоматизации ${rules}, уровни ${tiers}`,
    title: (name, version, tiers, lang) => `${name} ${version} — ${tiers}, подписи ${lang}`,
    tier: (tier) => `уровень ${tier}`,
    allTiers: (tiers) => `все уровни (${tiers})`,
    leadStatuses: 'Статусы лидов',
    removedWhereUnused: (codes) => `удаляются, где не используются: ${codes}`,
    pipeline: 'Воронка',
    fields: 'Поля',
    cards: 'Карточки',
    multiline: 'несколько строк',
    multiple: 'множественное',
    shownIn: (pipelines) => `показывается в ${pipelines}`,
    section: (title, fields) => `${q(title)} [полей: ${fields}]`,
    appObjects: (tier) => `Объекты приложения [${tier}] (нужно установленное приложение; с вебхуком пропускаются)`,
    robot: 'робот',
    trigger: 'триггер',
    businessProcess: 'бизнес-процесс',
    events: 'события',
    noAutomation: 'Автоматизация: на этом уровне нет',
    notify: (to, message) => `уведомить ${to}: ${q(message)}`,
    task: (title, to, deadline) => `задача ${q(title)} для ${to}, срок ${deadline}`,
    todo: (title, to, deadline) => `дело ${q(title)} для ${to}, срок ${deadline}`,
    required: (fields) => `обязательно: ${fields}`,
    checkFormat: (fields) => `проверить формат ${fields}`,
    moveTo: (stage) => `перевести в ${stage}`,
    convert: (field, fallback) => `конвертация: контакт, компания, сделка в воронке по полю ${field} (по умолчанию ${fallback})`,
    refusal: (field) => `процесс отказа: повторный звонок 1-го или 15-го следующего месяца, пишется в ${field}`,
    onCreate: 'при создании',
    onEnter: 'при входе',
    onChange: (fields) => `при изменении ${fields}`,
    ifStillIn: (stages) => ` если всё ещё в ${stages}`,
    ifNot: (semantics) => ` если не ${semantics}`,
    ifFieldIn: (field, values) => ` если ${field} в ${values}`,
  },

  settings: {
    badTimeZone: (value) => `timeZone — часовой пояс IANA, например Europe/Moscow или Asia/Vladivostok (получено «${value}»)`,
    badRecallHour: (value) => `recallHour — час от 0 до 23 (получено «${value}»)`,
    badUserIds: (key, value) => `${key} — ID пользователей через запятую, например 1,7,12 (получено «${value}»)`,
    hintTooLong: 'recallHint — не длиннее 1000 символов',
    unknownRule: (id, rules) => `неизвестное правило «${id}»: правила — ${rules}`,
    ruleOnOff: (key, value) => `${key} принимает on или off (получено «${value}»)`,
    unknownSetting: (key, settable) => `неизвестная настройка «${key}»; можно менять: ${settable}`,
    notKeyValue: (text, settable) => `«${text}» — не ключ=значение; можно менять: ${settable}`,
    malformed: (what) => `настройки не в том виде, который принимает сервис (${what})`,
  },
  cli: {
    warning: 'предупреждение',
    debugHint: '(чтобы увидеть трассировку стека, задайте AUTOSALON_DEBUG=1)',
    yesNo: '[д/Н]',
    isYes: (answer) => /^(д|да|y|yes)$/i.test(answer),
    needsYes: (what, flags) => `${what.replace(/\.$/, '')}; ничего не изменено. Добавьте ${flags}, чтобы продолжить без вопроса.`,
    unknownLanguage: (value, list) => `неизвестный язык «${value}»: укажите ${list}`,
    badInteger: (flag, min, max, value) => `${flag} — целое число от ${min} до ${max} (получено «${value}»)`,
    badPort: (flag, value) => `${flag} — номер порта от 0 до 65535 (получено «${value}»)`,
    badDate: (value) => `--date — дата вида 2027-02-01 (получено «${value}»)`,
    badSemantics: (value) => `--semantics — process или failure (получено «${value}»)`,
    tokensNotParsed: '--tokens-stdin читает токены приложения со стандартного ввода: JSON с access_token и refresh_token (как их присылает Битрикс24) или строки ACCESS_TOKEN=… REFRESH_TOKEN=…',
    askingAgain: (method, attempt) => `  портал не ответил на ${method}: спрашиваю снова (попытка ${attempt})`,
    portalBusy: (code, method, attempt, ms) =>
      code === 'QUERY_LIMIT_EXCEEDED'
        ? `  портал занят (слишком много запросов): жду ${((ms ?? 0) / 1000).toFixed(1)} с, пока освобождается его лимит запросов (попытка ${attempt})`
        : `  портал ответил ${code} на ${method}: жду (попытка ${attempt})`,
    noAnswer: (reason) => `портал не ответил (${reason}); ничего не потеряно: запустите ту же команду снова — она проверит, что было сделано`,
    portalRefused: (method, code, description, hint) =>
      `портал отказал${description ? `: ${q(description)}` : ''} (${code || 'без кода'}, ${method})${hint ? `: ${hint}` : ''}`,
    hint: {
      invalidClient: 'проверьте B24_APP_CLIENT_ID и B24_APP_CLIENT_SECRET (client_id и client_secret приложения) или, если приложение удалили с портала, установите его снова',
      invalidGrant: 'refresh-токен израсходован или просрочен; возьмите новые токены в приложении или используйте --member-id с базой сервиса автоматизации',
      tokenUnknown: 'токен доступа неизвестен или отозван; возьмите новые токены в приложении',
      webhookWrong: 'проверьте адрес вебхука (id пользователя и секрет)',
      appScope: 'приложению не хватает разрешения (crm, bizproc, user, department, im, task): добавьте его в настройках приложения и установите приложение снова',
      webhookScope: 'вебхуку не хватает разрешения (для установщика — crm): отметьте его в настройках входящего вебхука',
      restNeedsSubscription: 'REST работает только на платных тарифах и в пробном периоде: на бесплатном тарифе сначала включите пробный период (или платный тариф)',
      appRights: 'у приложения нет прав на это; его должен установить администратор портала',
      webhookRights: 'у пользователя вебхука нет прав; создайте входящий вебхук от имени администратора портала',
    },
    consent: {
      foreign: (count, updates, deletes) =>
        `План меняет ${n(count, 'объект', 'объекта', 'объектов')}, которые были на портале до Автосалона (изменить ${updates}, удалить ${deletes})`,
      edited: (count) => `${n(count, 'объект изменён', 'объекта изменены', 'объектов изменены')} человеком после установки Автосалона; план возвращает их (было → станет):`,
      question: (counts) => `Применить план (${counts})?`,
      yesOrKeepEdits: '--yes (или --keep-edits, чтобы оставить правки человека как есть)',
      fields: (count, records, where, exporting) =>
        `Удаление стирает ${n(count, 'поле', 'поля', 'полей')} вместе со значениями: ${records ? `заполнено значений: ${records} (${where})` : 'ни в одной записи они не заполнены'}.`
        + `${records && !exporting ? ' Чтобы сначала сохранить копию, запустите снова с --export-values ФАЙЛ (CSV).' : ''}`,
      deleteFields: (count) => `Удалить ${n(count, 'поле', 'поля', 'полей')} вместе со значениями?`,
    },
    detailedNeedsDryRun: '--detailed-exitcode указывается вместе с --dry-run (или --out): он сообщает, есть ли что менять',
    planSaved: (file, command) => `План сохранён в ${file}; ничего не изменено. Применить в точности его: ${command}`,
    fleetFlags: '--portals устанавливает порталы из файла: вебхук или member id каждого портала указывается там, а не в командной строке (а --out и --detailed-exitcode — для одного портала)',
    fleetDone: (name, result, seconds) => `  ${name}: ${result} (${seconds} с)`,
    webhookPlaceholder: '--webhook <тот же адрес вебхука>',
    exportDirNotEmpty: (dir) => `${dir} не пуста: выберите для шаблона новую папку или добавьте --force, чтобы писать в неё`,
    exported: (dir, summary, requests) => `Выгружено в ${dir} за ${n(requests, 'запрос', 'запроса', 'запросов')}: ${summary}. Проверка: autosalon template validate ${dir}`,
    stageAdded: (kind, name, id, pipeline, after) =>
      `Стадия ${q(name)} (${id}; ${kind}) добавлена в ${pipeline} после ${q(after)}. Последующие установки и проверки её сохраняют.`,
    stageWouldAdd: (kind, name, id, pipeline, after) =>
      `Пробный запуск: стадия ${q(name)} была бы добавлена в ${pipeline} после ${q(after)} как ${id} (${kind}); ничего не изменено.`,
    stageRemoved: (name, id, pipeline) => `Стадия поддержки ${q(name)} (${id}) удалена из ${pipeline}.`,
    stageWouldRemove: (name, id, pipeline) => `Пробный запуск: стадия поддержки ${q(name)} (${id}) в ${pipeline} пуста и была бы удалена; ничего не изменено.`,
    stageAlreadyGone: (name, id) => `Стадии поддержки ${q(name)} (${id}) на портале уже нет: запись о ней убрана.`,
    noServiceDb: (file) => `базы сервиса ${file} нет: её ведёт «autosalon serve»; укажите её файл через --db или AUTOSALON_DB`,
    portals: {
      none: 'Приложение пока не установлено ни на один портал.',
      header: ['Портал', 'member_id', 'Тариф', 'Уровень', 'Состояние', 'Очередь (к выполнению/в очереди/с ошибкой)', 'Настройки'],
      failing: (state) => `${state}, есть проблема`,
      recallAt: (hour) => `повторный звонок в ${hour}:00`,
      leadManagers: (ids) => `менеджеры по лидам ${ids}`,
      supervisor: (id) => `руководитель по умолчанию ${id}`,
      rulesOff: (count) => `выключено правил: ${count}`,
    },
    settings: {
      title: (domain, memberId) => `Настройки портала ${domain} (member_id ${memberId}):`,
      recallHour: (hour) => `${Number(hour)} (повторные звонки назначаются на ${hour}:00 по местному времени)`,
      nobody: '— (никто, кроме ответственного)',
      onlyHead: '— (только руководитель отдела ответственного)',
      templateHint: (hint) => `— (из шаблона: ${hint})`,
      everyRuleRuns: '— (работают все правила)',
      rulesOff: 'выключенные правила',
      noPortal: (memberId) => `нет установленного портала с member_id ${memberId}: смотрите autosalon portals`,
    },
    db: {
      fromNotSqlite: (value) => `--from принимает sqlite:ФАЙЛ — базу встроенной установки (получено "${value}")`,
      notAFile: (path) => `${path} — это папка: --from принимает файл базы, например sqlite:${path.replace(/\/$/, '')}/service.sqlite`,
      toMissing: 'укажите, куда копировать: --to postgres://… или AUTOSALON_DATABASE_URL (из окружения пароль не попадёт в историю команд)',
      toNotPostgres: (value) => `--to принимает адрес PostgreSQL вида postgres://user:password@db.example.com:5432/autosalon (получено "${value}")`,
      noFile: (file) => `нет базы ${file}: --from называет файл SQLite, который ведёт "autosalon serve" (или npm start), по умолчанию sqlite:.autosalon/service.sqlite`,
      migrated: (where, names) => `${where}: ${plural('ru', names.length, { one: 'выполнена # миграция', few: 'выполнены # миграции', many: 'выполнено # миграций', other: 'выполнено # миграции' })}: ${names.join(', ')}.`,
      upToDate: (where, count) => `${where} в актуальном состоянии (${plural('ru', count, { one: 'выполнена # миграция', few: 'выполнены # миграции', many: 'выполнено # миграций', other: 'выполнено # миграции' })}; делать нечего).`,
      copyHeader: ['Строки', 'В источнике', 'В приёмнике'],
      copyTables: {
        portals: 'порталы', jobsQueued: 'ждущие задания (выполнявшиеся ждут снова)', jobsDone: 'выполненные задания', jobsFailed: 'задания с ошибкой (недоставленные)',
        dedupeKeys: 'ключи однократности заданий', observations: 'наблюдения за элементами', actions: 'ключи идемпотентности', episodes: 'эпизоды повторных звонков', requirements: 'дела с просьбой заполнить поля',
      },
      replaces: (dryRun, domains) => (domains.length === 1
        ? `${dryRun ? 'Будет заменён' : 'Заменён'} портал приёмника, который есть и в файле, — его настройки и токены ${dryRun ? 'станут' : 'стали'} такими, как в файле: ${domains[0]}.`
        : `${dryRun ? 'Будут заменены' : 'Заменены'} порталы приёмника, которые есть и в файле (${domains.length}), — их настройки и токены ${dryRun ? 'станут' : 'стали'} такими, как в файле: ${domains.join(', ')}.`),
      dryRun: (target, newSchema) => `Пробный прогон: в ${target} ничего не записано${newSchema ? ' (сначала была бы создана её схема)' : ''}; выше — что было бы скопировано и что там есть сейчас.`,
      copied: (source, target) => `${source} скопирована в ${target}; число строк каждого вида совпадает.`,
      notVerified: (target) => `Копия в ${target} не совпадает с источником по числам выше: разберитесь, прежде чем запускать на ней сервис.`,
      tokensCopied: 'Токены скопированы зашифрованными: дайте каждому процессу сервиса ключ, которым они зашифрованы (AUTOSALON_SECRET_KEY; встроенная установка хранит его в secret.key в своей папке состояния).',
      tokensReencrypted: 'Токены перешифрованы ключом токенов приёмника (AUTOSALON_SECRET_KEY).',
      tokensReencryptedGiven: 'Токены перешифрованы ключом из AUTOSALON_SECRET_KEY: дайте этот ключ каждому процессу сервиса.',
    },
    serve: {
      noApp: 'задайте B24_APP_CLIENT_ID и B24_APP_CLIENT_SECRET (client_id и client_secret приложения Битрикс24) в .env или в окружении',
      started: (url, publicUrl, db) => `Сервис Автосалона на ${url} (Битрикс24 обращается к ${publicUrl}); база ${db}`,
      handlers: (publicUrl) => `  обработчик установки ${publicUrl}/install, события ${publicUrl}/events, роботы ${publicUrl}/robots/…`,
      unusableUrl: (problem) => `${problem}; роботы и подписки на события будут пропускаться, пока AUTOSALON_PUBLIC_URL (или --public-url) не станет адресом, доступным Битрикс24`,
      localUrl: (url) => `AUTOSALON_PUBLIC_URL (или --public-url) не задан, поэтому роботы и события привязываются к ${url}, который доступен только порталу на этой машине`,
    },
    emulator: {
      badLimits: (value) => `--limits принимает on или off (получено «${value}»)`,
      portTaken: (port) => `порт ${port} занят: выберите другой через --port или укажите --port 0 для свободного`,
      started: (portals, limits, state) =>
        `Эмулятор Битрикс24: ${portals.length === 1 ? portals[0] : `порталов: ${portals.length}, ${portals.join(', ')}`}; ограничения ${limits}${state ? `, состояние ${state}` : ', в памяти'}`,
      oneControlApi: (url) => `Один управляющий API для всех: ${url}?portal=<member_id или номер>.`,
      shell: (url, ca) => `Веб-страница портала: ${url} (приложения — в меню слева; ?user=N — войти как пользователь N; браузер должен принять сертификат эмулятора или доверять ${ca}).`,
      trust: (ca) => `Доверьтесь его центру сертификации: NODE_EXTRA_CA_CERTS=${ca}. Остановка — Ctrl-C.`,
    },
    start: {
      installingInto: 'Задан B24_WEBHOOK_URL: устанавливаю в этот портал.',
      noTier: 'Задан B24_WEBHOOK_URL, поэтому npm start устанавливает в этот портал, а портал не сообщил свой тариф: '
        + 'укажите уровень: npm start -- --tier base|crm_plus (или -- --plan КОД, например -- --plan pro)',
      keepRunning: '\nЭмулятор и сервис продолжают работать: изменения CRM в эмуляторе запускают автоматизацию. Ctrl-C останавливает оба (их состояние сохраняется).',
      target: (origin) => `эмулятор портала ${origin}, как установленное приложение`,
      tierSource: (plan) => `тариф эмулятора портала ${plan}, как его сообщает портал`,
      installing: (url) => `Эмулятор портала устанавливает приложение (событие установки уходит на ${url}/install); затем сервис настраивает портал…`,
      notAccepted: (why) => `сервис не принял установку приложения (${why})`,
      addresses: (portalUrl, ca, origin, stateFile, controlUrl, oauthUrl, serviceUrl, db) => [
        'Эмулятор портала:',
        `  портал      ${portalUrl}  (откройте в браузере: приложение «Автосалон» в левом меню; ?user=3 — войти пользователем,`,
        `              который не администратор; браузер должен принять сертификат эмулятора или доверять ${ca})`,
        `  REST        ${origin}/rest/  (входящий вебхук пользователя 1; его секрет в ${stateFile})`,
        `  управление  ${controlUrl}  (GET ${controlUrl}/stats)`,
        `  OAuth       ${oauthUrl}`,
        `  CA          ${ca}  (NODE_EXTRA_CA_CERTS для клиентов)`,
        `  состояние   ${stateFile}`,
        'Сервис автоматизации:',
        `  установка   ${serviceUrl}/install    события ${serviceUrl}/events    роботы ${serviceUrl}/robots/…    страница приложения ${serviceUrl}/app`,
        `  состояние   ${serviceUrl}/health`,
        `  база        ${db}  (повторные звонки: npx autosalon recalls --db ${db})`,
      ].join('\n'),
    },
    commander: {
      error: 'ошибка',
      unknownOption: (option) => `неизвестный параметр «${option}»`,
      unknownCommand: (command) => `неизвестная команда «${command}»`,
      requiredOption: (option) => `не указан обязательный параметр «${option}»`,
      argumentMissing: (option) => `у параметра «${option}» нет значения`,
      missingArgument: (argument) => `не указан обязательный аргумент «${argument}»`,
      tooManyArguments: (expected, got) => `слишком много аргументов: ожидается ${expected}, получено ${got}`,
      didYouMean: (suggestion) => `(Возможно, имелось в виду ${suggestion}?)`,
    },
    help: {
      usage: 'Использование:',
      options: 'Параметры:',
      commands: 'Команды:',
      arguments: 'Аргументы:',
      defaultValue: (value) => `(по умолчанию: ${value})`,
      afterError: '(справка: --help)',
      installAfter: `
Коды выхода: 0 — после установки портал соответствует шаблону; 1 — иначе (в итоге сказано, что осталось) и при ошибке;
130 — остановлено Ctrl-C (сделанное записано: запустите ту же команду снова, чтобы закончить).
С --dry-run (или --out) и --detailed-exitcode: 0 — менять нечего, 2 — есть что менять, 1 — ошибка.
Много порталов: --portals ФАЙЛ (YAML или JSON: список {name, webhook | webhookEnv | memberId, tier, plan, lang}),
не больше --concurrency одновременно, в конце одна таблица (--json — один объект).`,
      applyAfter: `
Применяет в точности план, сохранённый командой autosalon install --out ФАЙЛ; если портал (или запись об установке, или шаблон)
с тех пор изменился, ничего не меняет и перечисляет отличия. Коды выхода: 0 — готово, 1 — ошибка или не закончено.`,
      verifyAfter: `
Коды выхода: 0 — портал соответствует шаблону; 1 — есть отличия или ошибка.
С --detailed-exitcode: 0 — соответствует, 2 — есть отличия, 1 — ошибка (портал не прочитан, неверный параметр).`,
      uninstallAfter: `
Коды выхода: 0 — готово; 1 — что-то осталось (ошибка или стадия либо воронка, оставленная из-за лидов или сделок:
перенесите их и запустите снова) или произошла ошибка.`,
      exportAfter: `
Записывает статусы лидов, воронки со стадиями, пользовательские поля и разделы карточек портала как папку шаблона
(template.yaml, leads.yaml, pipelines/*.yaml, fields.yaml, cards.yaml, automation.yaml, app.yaml). То, чего портал
не показывает, — названия на другом языке, уровни, автоматизацию — берётся из --template (по умолчанию из поставляемого
шаблона) для объектов, которые остались такими, как в нём.`,
    },
    cmd: {
      program: 'Установка и работа CRM «Автосалон» в портале Битрикс24',
      install: 'установить CRM «Автосалон» в портал: показать план, спросить, применить пакетами, подвести итог',
      apply: 'применить план, сохранённый через install --out, в точности как он был показан',
      verify: 'сравнить портал с шаблоном: код 0 — совпадает, 1 — со списком отличий',
      uninstall: 'убрать созданное Автосалоном и вернуть изменённое (по записи об установке и резервным копиям)',
      export: 'записать статусы, воронки, поля и разделы карточек портала как папку шаблона',
      addStage: 'добавить стадию поддержки в воронку (или статус лида); последующие установки и проверки её сохраняют',
      removeStage: 'удалить стадию поддержки, добавленную через add-stage, если в ней нет сделок или лидов',
      serve: 'запустить сервис автоматизации: обработчики установки, событий и роботов Битрикс24, правила, расписание повторных звонков',
      recalls: 'список повторных звонков по отказанным сделкам на дату: сделка, клиент, причина, ответственный',
      portals: 'все порталы, установившие приложение: тариф, уровень, состояние установки и последняя проблема, очередь, настройки',
      settings: 'показать или изменить настройки автоматизации одного портала: часовой пояс, час и подсказка повторного звонка, менеджеры по лидам, руководитель по умолчанию, включение правил',
      emulator: 'запустить локальный эмулятор портала Битрикс24 (HTTPS на 127.0.0.1); печатает одну строку JSON с его адресами',
      template: 'проверить и прочитать шаблон CRM',
      templateValidate: 'проверить папку шаблона: код 0 с итогом или 1 со всеми ошибками',
      templateShow: 'показать шаблон деревом: воронки, стадии, поля, карточки, правила по стадиям',
      db: 'база сервиса: её схема и перенос встроенной установки в PostgreSQL',
      dbMigrate: 'привести базу сервиса к текущей версии (база PostgreSQL из AUTOSALON_DATABASE_URL, иначе файл SQLite); сервис делает это и сам при запуске',
      dbCopy: 'скопировать базу SQLite встроенной установки (порталы, токены, настройки, расписание, повторные звонки) в PostgreSQL и сверить число строк',
      start: 'без B24_WEBHOOK_URL — встроенный эмулятор и сервис автоматизации, приложение установлено в эмулятор, а им — шаблон; с ним — установка в этот портал',
    },
    option: {
      version: 'показать версию',
      help: 'справка по команде',
      helpCommand: 'справка по команде',
      webhook: 'входящий вебхук администратора (по умолчанию B24_WEBHOOK_URL из окружения или .env)',
      accessToken: 'токен доступа установленного приложения (виден в ps: лучше --tokens-stdin или B24_ACCESS_TOKEN)',
      refreshToken: 'refresh-токен установленного приложения для обновления просроченного токена доступа (лучше --tokens-stdin или B24_REFRESH_TOKEN)',
      tokensStdin: 'прочитать токены приложения со стандартного ввода (JSON с access_token, refresh_token, domain, member_id или строки КЛЮЧ=ЗНАЧЕНИЕ)',
      domain: 'с токенами приложения: адрес портала, например ваш.bitrix24.ru (по умолчанию B24_DOMAIN)',
      memberId: 'member_id портала, по которому хранится его локальное состояние; без токенов — берёт токены, сохранённые сервисом автоматизации (AUTOSALON_DB)',
      publicUrl: 'для приложения: публичный адрес сервиса автоматизации (по умолчанию AUTOSALON_PUBLIC_URL)',
      template: 'папка шаблона (по умолчанию поставляемый шаблон Автосалона)',
      stateDir: 'локальное состояние: запись об установке, журнал, резервные копии (по умолчанию AUTOSALON_STATE_DIR или .autosalon)',
      timeoutMs: 'сколько миллисекунд ждать ответа портала на запрос (по умолчанию 30000)',
      tier: 'что устанавливать: base | crm_plus (по умолчанию — по тарифу портала)',
      tierVerify: 'уровень для сравнения (по умолчанию — как при прошлой установке)',
      plan: 'код тарифа портала (например pro, std, basic), по нему определяется уровень; неизвестный код — ошибка',
      langInstall: 'язык сообщений и названий, записываемых в портал: ru | en (названия по умолчанию — как при прошлой установке, иначе ru)',
      langVerify: 'язык сообщений и проверяемых названий: ru | en (названия по умолчанию — как при прошлой установке)',
      langExport: 'язык сообщений и язык, на котором названия в портале: ru | en',
      langMessages: 'язык сообщений: ru | en (по умолчанию — по локали, LANG)',
      dryRun: 'показать план и ничего не менять',
      dryRunUninstall: 'показать, что будет сделано, и ничего не менять',
      dryRunStage: 'сказать, что будет сделано, и ничего не менять',
      out: 'сохранить план в этот файл и ничего не менять; применить его потом: autosalon apply ФАЙЛ',
      detailedExitcode: 'с --dry-run или --out: код 0 — менять нечего, 2 — есть что менять, 1 — ошибка',
      detailedExitcodeVerify: 'код 0 — портал соответствует, 2 — отличается, 1 — ошибка',
      yes: 'применить без вопроса',
      yesUninstall: 'выполнить без вопроса (удаление полей стирает их значения)',
      keepEdits: 'оставить как есть объекты, изменённые человеком после установки Автосалона, вместо вопроса о возврате',
      json: 'вывести один объект JSON в stdout',
      portals: 'установить все порталы из этого файла YAML или JSON (см. ниже)',
      concurrency: 'с --portals: сколько порталов одновременно',
      planFile: 'файл плана, записанный autosalon install --out',
      exportValues: 'перед удалением полей сохранить все их значения в этот CSV-файл',
      exportOut: 'папка шаблона для записи (новая или пустая)',
      force: 'писать в непустую папку',
      pipeline: 'repair | shop | wash | leads',
      stageName: 'название стадии, как его видят пользователи',
      stageToRemove: 'название или код стадии поддержки',
      after: 'стадия, после которой ставится новая (название или код)',
      semantics: 'process | failure (после завершающей стадии — только failure; по умолчанию process после рабочей)',
      color: 'цвет стадии',
      servePort: 'порт (0 — любой свободный; по умолчанию AUTOSALON_PORT или 3000)',
      db: 'файл SQLite сервиса (по умолчанию — база PostgreSQL из AUTOSALON_DATABASE_URL, если он задан, иначе AUTOSALON_DB или <папка состояния>/service.sqlite)',
      copyFrom: 'sqlite:ФАЙЛ — база, которую копировать',
      copyTo: 'postgres://… — база, в которую копировать (её схема создаётся, если её нет; по умолчанию AUTOSALON_DATABASE_URL — так пароль не попадает в командную строку)',
      copyDryRun: 'посчитать и проверить, ничего не записывая',
      copyForce: 'копировать в базу, где уже есть состояние сервиса',
      servePublicUrl: 'адрес, по которому обращается Битрикс24 (по умолчанию AUTOSALON_PUBLIC_URL)',
      date: 'день (по умолчанию сегодня в AUTOSALON_TIME_ZONE)',
      portal: 'портал (смотрите autosalon portals)',
      settingsSet: 'изменить настройки: timeZone=Asia/Vladivostok, recallHour=9, leadManagerIds=1,7, supervisorUserId=5, recallHint=текст, rule.<id>=on|off (пустое значение сбрасывает)',
      emulatorPort: 'порт портала 1 (0 — любой свободный; остальные порталы всегда получают свободные порты)',
      emulatorPortals: 'сколько порталов, у каждого свой адрес, member_id, данные и ограничения',
      emulatorState: 'хранить порталы в этом JSON-файле, чтобы они переживали перезапуски (по умолчанию в памяти)',
      emulatorPlan: 'тариф (LICENSE_TYPE) каждого портала, например pro, ent250, basic, project',
      latency: 'задержка, добавляемая к каждому ответу REST',
      limits: 'ограничения частоты запросов и времени работы методов',
      emulatorLang: 'язык портала (названия стандартных стадий)',
      timeZone: 'часовой пояс портала (IANA)',
      templateDir: 'папка шаблона',
      showTier: 'показать только то, что ставит этот уровень (base | crm_plus)',
      showLang: 'язык подписей (ru | en)',
      startPort: 'порт встроенного эмулятора',
      startPlan: 'код тарифа портала (во встроенном эмуляторе по умолчанию pro — полный уровень)',
      startTier: 'для настоящего портала: что устанавливать, base | crm_plus',
      once: 'остановить встроенный эмулятор и сервис после установки, а не оставлять их работать',
    },
  },

  errors: {
    unknownPlan: (code, known) => `неизвестный код тарифа «${code}»: шаблон знает ${known} (* означает любой код, который так начинается); или укажите --tier`,
    unknownTier: (tier, tiers) => `неизвестный уровень «${tier}»: укажите ${tiers}`,
    planTierDisagree: (plan, planTier, tier) =>
      `--plan ${plan} означает уровень ${planTier}, а --tier говорит ${tier}: укажите что-то одно (или оба, но согласованные)`,
    noTier: (tiers) => `портал не сообщил свой тариф (app.info): укажите уровень установки через --tier ${tiers} или код тарифа через --plan КОД (например, --plan pro)`,
    verifyNoTier: (tiers) => `неизвестно, какой уровень должен быть у портала (установка здесь не записана, а портал не сообщил тариф): укажите --tier ${tiers} или --plan КОД`,
    keptRefusing: (code) => `портал продолжал отклонять запросы (${code}); ничего не потеряно: запустите ту же команду позже`,
  },
};
