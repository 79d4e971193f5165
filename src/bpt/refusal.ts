// The refusal business process: ask the responsible user for the reason when it is empty, store it,
// then call the app's refusal robot (which schedules the re-call and answers with its date).
import { createHash } from 'node:crypto';
import type { Lang } from '../template/model.js';
import type { BptActivity, BptPackage } from './codec.js';

/** The activity type of an app robot inside templates: rest_ + md5("{client_id}@{CODE}"). */
export function robotActivityType(clientId: string, robotCode: string): string {
  return `rest_${createHash('md5').update(`${clientId}@${robotCode}`).digest('hex')}`;
}

const activity = (Type: string, Name: string, Properties: Record<string, unknown>, Children: BptActivity[] = []): BptActivity =>
  ({ Type, Name, Properties, Children, Activated: 'Y' });

export interface RefusalProcessOptions {
  clientId: string;
  robotCode: string;
  reasonField: string;
  lang: Lang;
}

const words = {
  ru: {
    title: 'Отказ клиента', ask: 'Укажите причину отказа', askText: 'Клиент отказался от сделки. Укажите причину отказа.',
    reason: 'Причина отказа', button: 'Сохранить', empty: 'Причина не заполнена', otherwise: 'Иначе', store: 'Записать причину',
    robot: 'Повторный звонок', waiting: 'Ожидание причины отказа',
  },
  en: {
    title: 'Customer refusal', ask: 'Give the refusal reason', askText: 'The customer refused the deal. Give the reason.',
    reason: 'Refusal reason', button: 'Save', empty: 'No reason yet', otherwise: 'Otherwise', store: 'Store the reason',
    robot: 'Re-call', waiting: 'Waiting for the refusal reason',
  },
} as const;

export function refusalProcess(o: RefusalProcessOptions): BptPackage {
  const w = words[o.lang];
  return {
    VERSION: 2,
    TEMPLATE: [
      activity('SequentialWorkflowActivity', 'Template', { Title: w.title, Permission: [] }, [
        activity('IfElseActivity', 'A10001', { Title: w.empty }, [
          activity('IfElseBranchActivity', 'A10002', { Title: w.empty, fieldcondition: [[o.reasonField, '=', '', '0']] }, [
            activity('RequestInformationActivity', 'A10003', {
              Title: w.ask, Name: w.ask, Description: w.askText,
              Users: ['{=Document:ASSIGNED_BY_ID}'],
              RequestedInformation: [{ Title: w.reason, Name: 'reason', Type: 'text', Required: '1', Multiple: '0', Options: '', Default: '' }],
              TaskButtonMessage: w.button, ShowComment: 'N', SetStatusMessage: 'Y', StatusMessage: w.waiting,
              AccessControl: 'N', DelegationType: '0', TimeoutDuration: '0', TimeoutDurationType: 's',
            }),
            activity('SetFieldActivity', 'A10004', { Title: w.store, FieldValue: { [o.reasonField]: '{=Variable:reason}' } }),
          ]),
          activity('IfElseBranchActivity', 'A10005', { Title: w.otherwise, truecondition: '1' }),
        ]),
        activity(robotActivityType(o.clientId, o.robotCode), 'A10006', { Title: w.robot, reason: `{=Document:${o.reasonField}}` }),
      ]),
    ],
    PARAMETERS: [],
    VARIABLES: { reason: { Name: w.reason, Description: '', Type: 'text', Required: '0', Multiple: '0', Options: '', Default: '' } },
    CONSTANTS: [],
    DOCUMENT_FIELDS: [],
  };
}
